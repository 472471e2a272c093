//! Flags: enumerated values, one name per concept, negative numbers, bounds, `--version`,
//! completions, help texts.

use std::path::Path;
use std::process::Command;

use crate::common::{cascade, example, stderr, stdout};

#[test]
fn enumerated_flags_list_their_values_on_a_bad_one() {
    for (args, values) in [
        (
            vec!["stress", "--breakers", "sideways"],
            "[possible values: on, off, both]",
        ),
        (
            vec!["simulate", "--breakers", "both"],
            "[possible values: on, off]",
        ),
        (
            vec!["simulate", "--dist", "cauchy"],
            "[possible values: normal, t]",
        ),
        (
            vec!["calibrate", "--dist", "cauchy"],
            "[possible values: normal, t]",
        ),
        (
            vec![
                "gen",
                "--accounts",
                "1",
                "--out-dir",
                "x",
                "--format",
                "xlsx",
            ],
            "[possible values: parquet, csv]",
        ),
        (
            vec![
                "debtrank",
                "--exposures",
                "x",
                "--equity",
                "q",
                "--variant",
                "new",
            ],
            "[possible values: original, differential]",
        ),
        (
            vec!["completions", "cmd"],
            "[possible values: bash, elvish, fish, powershell, zsh]",
        ),
    ] {
        let o = cascade(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains(values), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn old_flag_names_are_gone() {
    for (args, flag) in [
        (vec!["simulate", "--out", "x.parquet"], "--out"),
        (vec!["simulate", "--alphas", "0.9"], "--alphas"),
        (vec!["calibrate", "--alpha", "0.9"], "--alpha"),
        (vec!["calibrate", "--days", "2"], "--days"),
        (vec!["gen", "--accounts", "1", "--out", "x"], "--out"),
        (vec!["bench", "--emit", "x"], "--emit"),
    ] {
        let o = cascade(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&o).contains(&format!("unexpected argument '{flag}'")),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn negative_numbers_are_values_and_errors_name_the_flag() {
    let (l, e) = (
        example("three-banks-liabilities.csv"),
        example("three-banks-external.csv"),
    );
    let base = ["clearing", "--liabilities", &l, "--external-assets", &e];
    for extra in [vec!["--shock", "-0.5"], vec!["--shock=-0.5"]] {
        let o = cascade(&[&base[..], &extra[..]].concat());
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        assert_eq!(
            stderr(&o),
            "error: --shock = -0.5, expected a share in [0, 1]\n",
            "{extra:?}"
        );
    }
    let o = cascade(&[&base[..], &["--external-recovery", "0"]].concat());
    assert_eq!(
        stderr(&o),
        "error: --external-recovery = 0, expected a share in (0, 1]\n"
    );
    let o = cascade(&[&base[..], &["--interbank-recovery", "-1"]].concat());
    assert_eq!(
        stderr(&o),
        "error: --interbank-recovery = -1, expected a share in (0, 1]\n"
    );
    // A negative horizon is a value, refused with the flag's own message.
    let o = cascade(&["simulate", "--horizon-days", "-1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--horizon-days = -1, expected a number of days > 0"),
        "{}",
        stderr(&o)
    );
    let o = cascade(&["calibrate", "--confidence", "-0.9"]);
    assert!(
        stderr(&o).contains("--confidence = -0.9, expected a confidence level in (0.5, 1)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn threads_are_bounded_by_four_times_the_cores() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max = 4 * cores;
    for n in ["0", "100000", &(max + 1).to_string()] {
        let o = cascade(&["--threads", n, "scenarios"]);
        assert_eq!(o.status.code(), Some(2), "--threads {n}");
        assert!(
            stderr(&o).contains(&format!(
                "expected 1 to {max} (4 × the {cores} available cores)"
            )),
            "--threads {n}: {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"));
    }
    let o = cascade(&["--threads", &max.to_string(), "scenarios"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn max_rounds_zero_is_refused() {
    let o = cascade(&["simulate", "--paths", "1", "--max-rounds", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("invalid value '0' for '--max-rounds <MAX_ROUNDS>'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn version_shows_the_git_revision() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rev = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let o = cascade(&["--version"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        format!("cascade {} (git {rev})\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn completions_are_scripts_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_cascade()"),
        ("zsh", "#compdef cascade"),
        ("fish", "complete -c cascade"),
    ] {
        let o = cascade(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        assert!(script.contains(marker), "{shell}");
        // Subcommands and enumerated values are completed.
        assert!(
            script.contains("scenarios") && script.contains("differential"),
            "{shell}"
        );
    }
}

#[test]
fn help_cites_docs_never_design_or_issue_numbers() {
    let commands = [
        "",
        "validate",
        "stress",
        "simulate",
        "calibrate",
        "contagion",
        "clearing",
        "debtrank",
        "margin",
        "greeks",
        "gen",
        "bench",
        "scenarios",
        "completions",
    ];
    for c in commands {
        for flag in ["-h", "--help"] {
            let args: Vec<&str> = [c, flag].into_iter().filter(|a| !a.is_empty()).collect();
            let o = cascade(&args);
            assert_eq!(o.status.code(), Some(0), "{args:?}");
            let help = stdout(&o);
            // Help cites docs/, never the design document kept outside the repository.
            assert!(!help.contains(concat!("DES", "IGN")), "{args:?}: {help}");
            assert!(!help.to_lowercase().contains("issue"), "{args:?}: {help}");
        }
    }
    let help = stdout(&cascade(&["simulate", "--help"]));
    assert!(help.contains("docs/monte-carlo.md"), "{help}");
    assert!(help.contains("0.9 → var_90_usd"), "{help}");
}
