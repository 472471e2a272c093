//! One module per command: its flags (clap `Args`) and its `run`.

pub mod adjust;
pub mod backtest;
pub mod bench;
pub mod calibrate;
pub mod clearing;
pub mod compare;
pub mod completions;
pub mod contagion;
pub mod debtrank;
pub mod gen;
pub mod greeks;
pub mod import;
pub mod margin;
pub mod scenarios;
pub mod serve;
pub mod serve_follow;
pub mod simulate;
pub mod stress;
pub mod validate;
