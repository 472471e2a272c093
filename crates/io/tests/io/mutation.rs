//! Loaders never panic: random bytes, single-line edits, and a byte-mutation property over every
//! input kind (snapshot TOML and JSON, scenarios, position CSV and Parquet, network and option CSVs).

use std::fs;

use cascade_io::load_snapshot;
use proptest::prelude::*;

use crate::files::{load_with_csv, small_with, HEADER, SMALL};

/// Applies one edit to line `line % n` of `text`.
fn edit(text: &str, line: usize, op: u8, x: f64, s: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let i = line % lines.len();
    match op % 4 {
        0 => {
            lines.remove(i);
        }
        1 => {
            let l = lines[i].clone();
            lines.insert(i, l);
        }
        2 => {
            let l = &lines[i];
            if let Some(start) = l.find(|c: char| c.is_ascii_digit()) {
                let end = l[start..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || "._+-".contains(c)))
                    .map_or(l.len(), |e| start + e);
                let num = if x.is_nan() {
                    "nan".to_string()
                } else if x.is_infinite() {
                    if x > 0.0 { "inf" } else { "-inf" }.to_string()
                } else {
                    format!("{x:?}")
                };
                lines[i] = format!("{}{num}{}", &l[..start], &l[end..]);
            }
        }
        _ => {
            let l = &lines[i];
            if let Some(a) = l.find('"') {
                if let Some(b) = l[a + 1..].find('"') {
                    lines[i] = format!("{}{s}{}", &l[..=a], &l[a + 1 + b..]);
                }
            }
        }
    }
    lines.join("\n") + "\n"
}

const VALID_CSV: &str = "protocol,account,asset,side,amount,emode\nlend,carol,ETH,collateral,2.0,eth\nlend,carol,USDC,debt,100.0,eth\n";

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(-1.0),
        Just(-0.0),
        Just(1e308),
        Just(f64::INFINITY),
        -10.0..10.0f64,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), ext in 0usize..4) {
        let ext = ["toml", "json", "csv", "parquet"][ext];
        let dir = tempfile::tempdir().unwrap();
        // As the snapshot itself…
        let p = dir.path().join(format!("s.{ext}"));
        fs::write(&p, &bytes).unwrap();
        let _ = load_snapshot(&p);
        // …and as a position file of a valid snapshot.
        if ext == "csv" || ext == "parquet" {
            let snap = dir.path().join("snap.toml");
            fs::write(&snap, small_with(&[&format!("s.{ext}")], SMALL)).unwrap();
            let _ = load_snapshot(&snap);
        }
    }

    #[test]
    fn random_csv_like_text_never_panics(text in "[a-zA-Z0-9,\" \\n.\\-é]{0,200}") {
        let csv = format!("{HEADER}{text}");
        let _ = load_with_csv(SMALL, &csv);
    }

    #[test]
    fn single_line_edits_never_panic(
        line in any::<usize>(),
        op in any::<u8>(),
        x in any_f64(),
        s in prop_oneof![Just(String::new()), "[a-zA-Z0-9_. ]{0,8}", any::<String>()],
    ) {
        let text = edit(&small_with(&["pos.csv"], SMALL), line, op, x, &s);
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("pos.csv"), VALID_CSV).unwrap();
        let p = dir.path().join("snap.toml");
        fs::write(&p, &text).unwrap();
        match load_snapshot(&p) {
            Ok((snap, _)) => prop_assert!(snap.positions.len() >= 2),
            Err(e) => prop_assert!(e.diagnostics.has_errors()),
        }
    }
}

#[test]
fn the_unedited_fuzz_base_loads() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("pos.csv"), VALID_CSV).unwrap();
    let p = dir.path().join("snap.toml");
    fs::write(&p, small_with(&["pos.csv"], SMALL)).unwrap();
    let (s, d) = load_snapshot(&p).unwrap_or_else(|e| panic!("{e}"));
    assert!(d.is_empty(), "{d}");
    assert_eq!(s.positions.len(), 6);
}
