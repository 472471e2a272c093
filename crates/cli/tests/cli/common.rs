//! Helpers shared by the end-to-end tests: run the binary, read its output.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `cascade ARGS`.
pub fn cascade(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running cascade: {e}"))
}

/// The standard output, as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The standard error, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The standard output, parsed as JSON.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

/// A file of `examples/networks/`.
pub fn example(name: &str) -> String {
    example_path(&format!("networks/{name}"))
}

/// A file of `examples/` (`worked/snapshot.toml`).
pub fn example_path(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
        .to_string_lossy()
        .into_owned()
}
