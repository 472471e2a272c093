//! Network CSV files (liabilities, external assets, exposures, equity): the first byte picks the file
//! kind, the rest is the file. Any bytes must give a network or an error, never a panic or a hang.
#![no_main]
use cascade_io::network::{NetworkFile, NetworkTables};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let kind = match pick % 4 {
        0 => NetworkFile::Liabilities,
        1 => NetworkFile::ExternalAssets,
        2 => NetworkFile::Exposures,
        _ => NetworkFile::Equity,
    };
    let mut t = NetworkTables::new();
    if t.read_from(kind, "fuzz.csv", rest).is_ok() {
        let _ = cascade_contagion::network::Network::try_from(t);
    }
});
