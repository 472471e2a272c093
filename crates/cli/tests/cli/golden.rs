//! Golden outputs: every command on every example, replay and built-in scenario, compared byte for
//! byte with the files in `tests/golden/` (cases listed in `tests/golden/cases.txt`). A refactor must
//! leave them unchanged; a deliberate change regenerates them with `CASCADE_BLESS=1` and says so.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// One case: its name, the commands to run in order, and the files of `{tmp}` to compare.
struct Case {
    name: String,
    commands: Vec<Vec<String>>,
    files: Vec<String>,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(golden_dir().join("cases.txt"))
        .unwrap_or_else(|e| panic!("reading cases.txt: {e}"));
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("cases.txt: no name in {line:?}"));
        let (commands, files) = match rest.split_once("=>") {
            Some((c, f)) => (c, f.split_whitespace().map(str::to_string).collect()),
            None => (rest, Vec::new()),
        };
        let commands = commands
            .split(";;")
            .map(|c| c.split_whitespace().map(str::to_string).collect())
            .collect();
        out.push(Case {
            name: name.trim().to_string(),
            commands,
            files,
        });
    }
    out
}

/// Runs a case; returns (golden file name, bytes produced) pairs.
fn run(case: &Case) -> Vec<(String, Vec<u8>)> {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let tmp_s = tmp.path().to_string_lossy().into_owned();
    let mut last = Vec::new();
    for cmd in &case.commands {
        let args: Vec<String> = cmd.iter().map(|a| a.replace("{tmp}", &tmp_s)).collect();
        let o = Command::new(env!("CARGO_BIN_EXE_cascade"))
            .args(&args)
            .current_dir(workspace_root())
            .env_remove("RAYON_NUM_THREADS")
            .output()
            .unwrap_or_else(|e| panic!("running cascade: {e}"));
        assert!(
            o.status.success(),
            "golden case {}: `cascade {}` exited {:?}: {}",
            case.name,
            args.join(" "),
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        );
        last = o.stdout;
    }
    let mut produced = vec![(format!("{}.json", case.name), last)];
    for f in &case.files {
        let bytes = std::fs::read(tmp.path().join(f))
            .unwrap_or_else(|e| panic!("golden case {}: reading {f}: {e}", case.name));
        produced.push((format!("{}.{f}", case.name), bytes));
    }
    produced
}

/// The first line where two outputs differ, for the failure message.
fn first_difference(want: &[u8], got: &[u8]) -> String {
    let (w, g) = (String::from_utf8_lossy(want), String::from_utf8_lossy(got));
    for (i, (a, b)) in w.lines().zip(g.lines()).enumerate() {
        if a != b {
            return format!("line {}: golden {a:?}, now {b:?}", i + 1);
        }
    }
    format!(
        "one is a prefix of the other ({} vs {} lines)",
        w.lines().count(),
        g.lines().count()
    )
}

#[test]
fn every_command_matches_its_golden_output() {
    let bless = std::env::var_os("CASCADE_BLESS").is_some();
    let mut failures = Vec::new();
    let cases = cases();
    assert!(cases.len() >= 40, "cases.txt lists {} cases", cases.len());
    for case in &cases {
        for (file, bytes) in run(case) {
            let path = golden_dir().join(&file);
            if bless {
                std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("writing {file}: {e}"));
                continue;
            }
            match std::fs::read(&path) {
                Ok(want) if want == bytes => {}
                Ok(want) => failures.push(format!("{file}: {}", first_difference(&want, &bytes))),
                Err(e) => failures.push(format!("{file}: no golden file ({e})")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden output(s) changed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
