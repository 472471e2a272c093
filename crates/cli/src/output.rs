//! Everything a command writes: JSON text (pretty, without `-0.0`), output paths checked before a
//! run, files written whole or not at all.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::failure::Failure;

/// `value` as pretty JSON, with every `-0.0` written `0.0` (a zero has no sign in a result), and
/// no trailing newline. The one serialiser of every JSON the commands print or write.
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<String> {
    let text = serde_json::to_string_pretty(value).context("serialising the result")?;
    Ok(without_negative_zero(&text))
}

/// JSON text with each number token `-0.0` (outside strings) replaced by `0.0`.
pub fn without_negative_zero(json: &str) -> String {
    const NEG_ZERO: &str = "-0.0";
    let bytes = json.as_bytes();
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b'-' && json[i..].starts_with(NEG_ZERO) {
            let end = i + NEG_ZERO.len();
            let number_ends = bytes
                .get(end)
                .is_none_or(|c| !(c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E')));
            if number_ends {
                out.push_str(&json[copied..i]);
                out.push_str("0.0");
                copied = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&json[copied..]);
    out
}

/// Checks that a file can be written at `path` before a (possibly long) run: its folder exists and
/// takes new files, and `path` is not a folder. A usage error (exit 2) naming the flag and the
/// user's path otherwise.
pub fn check_output_path(flag: &str, path: &Path) -> Result<(), Failure> {
    cascade_io::write::check_output_path(path)
        .map_err(|e| Failure::Input(format!("error: {flag} {e}")))
}

/// Checks that `dir` exists or can be created, and takes new files (usage error otherwise).
pub fn check_output_dir(flag: &str, dir: &Path) -> Result<(), Failure> {
    let bad = |why: String| Failure::Input(format!("error: {flag} {}: {why}", dir.display()));
    if dir.exists() && !dir.is_dir() {
        return Err(bad("is a file, expected a folder".into()));
    }
    std::fs::create_dir_all(dir).map_err(|e| bad(format!("cannot create the folder: {e}")))?;
    // A temporary file is created and removed in it.
    cascade_io::write::check_output_path(&dir.join("probe"))
        .map_err(|e| bad(format!("cannot create files in it ({e})")))
}

/// Writes `bytes` to `path` whole or not at all.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    // The error names the file: no context to add.
    cascade_io::write::write_atomic(path, bytes).map_err(|e| Failure::Runtime(e.into()))
}

/// Prints `text` on stdout.
pub fn print(text: &str) -> Result<(), Failure> {
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("writing to stdout")?;
    Ok(())
}

/// The usual end of a command with a JSON result: the JSON into `--output` if given, then the JSON
/// (with `--json`) or the table on stdout. `json` is only called when needed.
pub fn emit(
    args: &crate::args::JsonArgs,
    json: impl FnOnce() -> anyhow::Result<String>,
    table: impl FnOnce() -> String,
) -> Result<(), Failure> {
    let text = if args.wanted() { Some(json()?) } else { None };
    if let (Some(path), Some(text)) = (&args.output, &text) {
        write_file(path, format!("{text}\n").as_bytes())?;
    }
    match text {
        Some(text) if args.json => print(&format!("{text}\n")),
        _ => print(&table()),
    }
}

#[cfg(test)]
mod tests;
