//! Position files (PARQUET) added to the built-in system (see positions_common.rs).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "positions_common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::load("positions.parquet", data));
