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
    check_samples("docs/commands.md", 11);
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
                text[s.body.clone()],
                now,
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

#[test]
fn a_sample_block_is_found_with_its_arguments() {
    let text = "a\n<!-- sample: stress --json -->\n```text\nX\n```\nb";
    let s = samples(text);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].args, "stress --json");
    assert_eq!(&text[s[0].body.clone()], "X\n");
}
