//! End-to-end tests of the `cascade` binary, one module per topic: exit codes, JSON keys, errors,
//! output files, threads; `golden` compares every command's output byte for byte.

mod adjust;
mod bench;
mod clearing;
mod common;
mod compare;
mod contagion;
mod corrupt_parquet;
mod debtrank;
mod flags;
mod frontier;
mod gen;
mod golden;
mod greeks;
mod import;
mod margin;
mod output;
mod readme;
mod scenarios;
mod serve;
mod serve_follow;
mod simulate;
mod stress;
mod validate;
mod volatility;
