//! What the two position-file targets share: a position file (named `name`, so its extension picks the
//! reader) added to the built-in system. Any bytes must give accounts or diagnostics, never a panic
//! (and, for Parquet, no panic text on stderr) or a hang.
use cascade_io::{load_positions, snapshot_from_str, Diagnostics, Format};
use cascade_model::Snapshot;
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

/// The file the inputs are written to, in a temporary folder kept for the whole run.
fn file(name: &str) -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    static FILE: OnceLock<std::path::PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = DIR.get_or_init(|| match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => panic!("no temporary folder: {e}"),
        });
        dir.path().join(name)
    })
}

/// Loads `data` as the position file `name` into a copy of the built-in system.
pub fn load(name: &str, data: &[u8]) {
    let path = file(name);
    if std::fs::write(path, data).is_err() {
        return;
    }
    let mut snapshot = system().clone();
    let mut diags = Diagnostics::new();
    load_positions(path, &mut snapshot, &mut diags);
}
