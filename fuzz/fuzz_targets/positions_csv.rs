//! Position files (CSV) added to the built-in system: any bytes must give accounts or
//! diagnostics, never a panic (and, for Parquet, no panic text on stderr) or a hang.
#![no_main]
use cascade_io::{load_positions, snapshot_from_str, Diagnostics, Format};
use cascade_model::Snapshot;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn system() -> &'static Snapshot {
    static SYSTEM: OnceLock<Snapshot> = OnceLock::new();
    SYSTEM.get_or_init(|| {
        let text = include_str!("../../examples/builtin/system.toml");
        match snapshot_from_str(text, Format::Toml, "builtin") {
            Ok((s, _)) => s,
            Err(e) => panic!("the built-in system must load: {e:?}"),
        }
    })
}

fn file() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    static FILE: OnceLock<std::path::PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = DIR.get_or_init(|| match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("no temporary folder: {e}"),
        });
        dir.path().join("positions.csv")
    })
}

fuzz_target!(|data: &[u8]| {
    if std::fs::write(file(), data).is_err() {
        return;
    }
    let mut snapshot = system().clone();
    let mut diags = Diagnostics::new();
    load_positions(file(), &mut snapshot, &mut diags);
});
