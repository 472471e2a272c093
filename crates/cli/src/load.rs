//! Loading the snapshot and the scenario every command starts from: a file, or the built-in system
//! and scenarios compiled into the binary.

use std::path::{Path, PathBuf};

use clap::Args;

use cascade_io::{Diagnostics, Format, LoadError, Location};
use cascade_model::{Scenario, Snapshot};

use crate::builtin;

/// The `--snapshot` flag shared by the commands that read a system.
#[derive(Args, Debug, Clone)]
pub struct SnapshotArg {
    /// Snapshot file (TOML or JSON); default: the built-in example system.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
}

/// The snapshot named by `--snapshot`, or the built-in one, with its warnings; or every problem found.
pub fn load_snapshot(arg: &SnapshotArg) -> Result<(Snapshot, Diagnostics), Diagnostics> {
    let r = match &arg.snapshot {
        Some(path) => cascade_io::load::load_snapshot(path),
        None => {
            cascade_io::snapshot_from_str(builtin::SYSTEM_TOML, Format::Toml, builtin::SYSTEM_NAME)
        }
    };
    r.map_err(|e: LoadError| e.diagnostics)
}

/// A scenario: a file if one exists at `arg`, else a built-in name.
pub fn load_scenario(
    arg: &str,
    snapshot: &Snapshot,
) -> Result<(Scenario, Diagnostics), Diagnostics> {
    let file_error = |msg: String| {
        let mut d = Diagnostics::new();
        d.error(arg, Location::File, "", msg);
        d
    };
    let path = Path::new(arg);
    if !path.exists() {
        return match builtin::scenario(arg) {
            Some(text) => {
                let name = format!("<builtin>/{arg}.toml");
                cascade_io::parse_scenario(text, Format::Toml, &name, snapshot)
                    .map_err(|e| e.diagnostics)
            }
            None => Err(file_error(format!(
                "no such scenario file, and not a built-in scenario (built-in: {})",
                builtin::scenario_names().join(", ")
            ))),
        };
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| file_error(format!("cannot read: {e}")))?;
    if text.trim().is_empty() {
        return Err(file_error("the file is empty; expected a scenario".into()));
    }
    cascade_io::parse_scenario(&text, Format::from_path(arg), arg, snapshot)
        .map_err(|e| e.diagnostics)
}

pub fn print_warnings(d: &Diagnostics) {
    for w in d.warnings() {
        eprintln!("{w}");
    }
}
