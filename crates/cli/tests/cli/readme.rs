//! The sample outputs in README.md and docs/commands.md are the binary's: each block after a
//! `<!-- sample: ARGS -->` line is compared with the output of `cascade ARGS`, run from the workspace
//! root. After a deliberate change, `CASCADE_BLESS=1 cargo test -p cascade-cli --test cli readme`
//! rewrites the blocks.

use std::path::PathBuf;
use std::process::Command;

const MARK: &str = "<!-- sample: ";

/// One sample: the arguments, and the byte range of its code block's body in the README.
struct Sample {
    args: String,
    body: std::ops::Range<usize>,
}

/// Every sample of `text`, in order; panics on a malformed one (a sample without a fenced block).
fn samples(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(MARK) {
        let start = from + at + MARK.len();
        let end = start
            + text[start..]
                .find(" -->")
                .unwrap_or_else(|| panic!("unclosed sample"));
        let args = text[start..end].to_string();
        let fence = end
            + text[end..]
                .find("```")
                .unwrap_or_else(|| panic!("no block for {args}"));
        let body_start = fence + text[fence..].find('\n').unwrap_or_else(|| panic!("{args}")) + 1;
        let body_end = body_start
            + text[body_start..]
                .find("```")
                .unwrap_or_else(|| panic!("unclosed block for {args}"));
        out.push(Sample {
            args,
            body: body_start..body_end,
        });
        from = body_end;
    }
    out
}

fn run(root: &PathBuf, args: &str) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_cascade"))
        .args(args.split_whitespace())
        .current_dir(root)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("running cascade {args}: {e}"));
    assert_eq!(
        o.status.code(),
        Some(0),
        "cascade {args}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn readme_samples_are_the_binarys_output() {
    check_samples("README.md", 2);
}

#[test]
fn readme_docs_command_flags_are_the_binarys_help() {
    check_samples("docs/commands.md", 12);
}

fn check_samples(file: &str, at_least: usize) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let found = samples(&text);
    assert!(
        found.len() >= at_least,
        "{file} shows at least {at_least} samples"
    );
    let bless = std::env::var_os("CASCADE_BLESS").is_some();
    let mut blessed = String::new();
    let mut last = 0;
    for s in &found {
        let now = run(&root, &s.args);
        if bless {
            blessed.push_str(&text[last..s.body.start]);
            blessed.push_str(&now);
            last = s.body.end;
        } else {
            assert_eq!(
                without_run_time(&text[s.body.clone()]),
                without_run_time(&now),
                "{file}: the sample of `cascade {}` drifted from the binary (CASCADE_BLESS=1 rewrites it)",
                s.args
            );
        }
    }
    if bless {
        blessed.push_str(&text[last..]);
        std::fs::write(&path, blessed).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// `text` with a run time printed as `(0.1 s)` at the end of a line replaced by `(… s)`: the one
/// figure of a sample that varies between runs.
fn without_run_time(text: &str) -> String {
    text.lines()
        .map(|l| match l.rfind(" (") {
            Some(i) if l.ends_with(" s)") && l[i + 2..l.len() - 3].parse::<f64>().is_ok() => {
                format!("{} (… s)\n", &l[..i])
            }
            _ => format!("{l}\n"),
        })
        .collect()
}

#[test]
fn a_run_time_is_masked_and_nothing_else() {
    assert_eq!(
        without_run_time("a, seed 3 (0.1 s)\nb (x s)\n"),
        "a, seed 3 (… s)\nb (x s)\n"
    );
}

#[test]
fn a_sample_block_is_found_with_its_arguments() {
    let text = "a\n<!-- sample: stress --json -->\n```text\nX\n```\nb";
    let s = samples(text);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].args, "stress --json");
    assert_eq!(&text[s[0].body.clone()], "X\n");
}

/// The counts examples/README.md gives for the built-in system are the ones `cascade validate` reads.
#[test]
fn readme_examples_counts_match_the_builtin_system() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text =
        std::fs::read_to_string(root.join("examples/README.md")).unwrap_or_else(|e| panic!("{e}"));
    let row = text
        .lines()
        .find(|l| l.starts_with("| `builtin/system.toml`"))
        .unwrap_or_else(|| panic!("no row for the built-in system"));
    let summary = run(&root, "validate");
    for what in ["assets", "protocols", "accounts"] {
        let n = |s: &str| {
            let at = s
                .find(&format!(" {what}"))
                .unwrap_or_else(|| panic!("no count of {what} in {s}"));
            s[..at]
                .rsplit(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap_or("")
                .to_string()
        };
        assert_eq!(
            n(row),
            n(&summary),
            "{what}: examples/README.md vs cascade validate"
        );
    }
}
