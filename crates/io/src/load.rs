//! Loading a snapshot from its file and the CSV/Parquet position files it names (docs/formats.md).
//!
//! Every problem is reported as a [`Diagnostic`](crate::Diagnostic) naming the file, the line
//! (snapshot) or 1-based data row (position file), and the field or column; loading goes on after a
//! problem so that one run reports them all.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use crate::positions::load_positions;
use crate::problem::Problem;
use crate::scenario::parse_scenario;
use crate::snapshot::{check_loaded, parse_snapshot};
use crate::{Diagnostics, Format, LoadError, Location};
use cascade_model::{Scenario, Snapshot};

/// The text of the file at `path` (`file` as it is named in messages): an error if it cannot be
/// read, is empty, or is not UTF-8. `expected` says what the file should be.
pub(crate) fn read_text(path: &Path, file: &str, expected: &str) -> Result<String, Diagnostics> {
    let mut diags = Diagnostics::new();
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            diags.error(
                file,
                Location::File,
                "",
                Problem::Unreadable {
                    detail: e.to_string(),
                },
            );
            return Err(diags);
        }
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        diags.error(
            file,
            Location::File,
            "",
            Problem::EmptyFile {
                expected: expected.to_string(),
            },
        );
        return Err(diags);
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..valid]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        diags.error(
            file,
            Location::Line(u32::try_from(line).unwrap_or(u32::MAX)),
            "",
            Problem::WrongType {
                found: format!("bytes that are not UTF-8 (at byte {valid})"),
                expected: format!("UTF-8 text: {expected}"),
            },
        );
        diags
    })
}

/// Loads the scenario at `path` (TOML, or JSON if it ends in `.json`) against the snapshot it will
/// run on. Fails with every problem found.
pub fn load_scenario(
    path: &Path,
    snapshot: &Snapshot,
) -> Result<(Scenario, Diagnostics), LoadError> {
    let file = path.display().to_string();
    let text = read_text(
        path,
        &file,
        "a scenario in TOML (or JSON if the name ends in .json)",
    )
    .map_err(|diagnostics| LoadError { diagnostics })?;
    parse_scenario(&text, Format::from_path(&file), &file, snapshot)
}

/// Loads the snapshot at `path` (TOML, or JSON if it ends in `.json`) and every position file it names
/// (paths relative to the snapshot's folder), then runs the checks that need all positions.
///
/// Fails if any error was found, with every finding; on success the warnings come with the snapshot.
/// [`Snapshot::source`] is `path` as given.
pub fn load_snapshot(path: &Path) -> Result<(Snapshot, Diagnostics), LoadError> {
    let file = path.display().to_string();
    let fail = |diags: Diagnostics| Err(LoadError { diagnostics: diags });
    let text = match read_text(
        path,
        &file,
        "a snapshot in TOML (or JSON if the name ends in .json)",
    ) {
        Ok(t) => t,
        Err(d) => return fail(d),
    };
    let mut diags = Diagnostics::new();
    let Some(doc) = parse_snapshot(&text, Format::from_path(&file), &file, &mut diags) else {
        if !diags.has_errors() {
            diags.error(&file, Location::File, "", "the snapshot could not be read");
        }
        return fail(diags);
    };
    let mut snapshot = doc.snapshot;
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut seen = HashSet::new();
    for (rel, line) in &doc.position_files {
        let loc = Location::Line(*line);
        if rel.trim().is_empty() {
            diags.error(
                &file,
                loc,
                "positions",
                "empty path; expected a position file path",
            );
            continue;
        }
        let p = dir.join(rel);
        if !seen.insert(p.clone()) {
            diags.error(
                &file,
                loc,
                "positions",
                format!("\"{rel}\" is listed twice; its positions would be counted twice"),
            );
            continue;
        }
        match fs::metadata(&p) {
            Ok(m) if m.is_file() => load_positions(&p, &mut snapshot, &mut diags),
            Ok(_) => diags.error(
                &file,
                loc,
                "positions",
                format!(
                    "\"{}\" is not a file; expected a CSV or Parquet position file",
                    p.display()
                ),
            ),
            Err(e) => diags.error(
                &file,
                loc,
                "positions",
                format!("position file \"{}\" cannot be read: {e}", p.display()),
            ),
        }
    }
    if diags.has_errors() {
        return fail(diags);
    }
    check_loaded(&snapshot, &mut diags);
    if diags.has_errors() {
        return fail(diags);
    }
    Ok((snapshot, diags))
}
