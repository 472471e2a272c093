//! Snapshot documents: the first byte picks TOML or JSON, the rest is the document. Any input must give
//! a snapshot or diagnostics, never a panic or a hang.
#![no_main]
use cascade_io::{snapshot_from_str, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let format = if pick & 1 == 0 { Format::Toml } else { Format::Json };
    let _ = snapshot_from_str(text, format, "fuzz");
});
