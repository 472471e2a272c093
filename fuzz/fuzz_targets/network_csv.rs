//! Network CSV files (liabilities, external assets, exposures, equity): the first byte picks the file
//! kind, the rest is the file. Any bytes must give a network or an error, never a panic or a hang.
#![no_main]
use cascade_contagion::network::NetworkBuilder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut b = NetworkBuilder::new();
    let read = match pick % 4 {
        0 => b.read_liabilities_from("fuzz.csv", rest),
        1 => b.read_external_assets_from("fuzz.csv", rest),
        2 => b.read_exposures_from("fuzz.csv", rest),
        _ => b.read_equity_from("fuzz.csv", rest),
    };
    if read.is_ok() {
        let _ = b.build();
    }
});
