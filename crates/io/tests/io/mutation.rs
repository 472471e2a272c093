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
    assert!(crate::unexpected(&d).is_empty(), "{d}");
    assert_eq!(s.positions.len(), 6);
}

// ---------------------------------------------------------------------------------------------
// Byte mutations of every input kind (the suite's guard beside the cargo-fuzz targets)

/// A mutation: at a position (taken modulo the length), change, insert or delete a byte.
type Op = (u8, usize, u8);

fn mutate(base: &[u8], ops: &[Op]) -> Vec<u8> {
    let mut b = base.to_vec();
    for &(op, at, byte) in ops {
        let at = if b.is_empty() { 0 } else { at % b.len() };
        match op % 4 {
            0 if !b.is_empty() => b[at] = byte,
            1 => b.insert(at, byte),
            2 if !b.is_empty() => {
                b.remove(at);
            }
            // Cut everything from `at` on.
            _ => b.truncate(at),
        }
    }
    b
}

/// Runs `check` on 200 mutations of `base` (the same 200 on every run); `check` returns the error
/// count of a refused input (`None` if it loaded), and a refused input must come with an error.
fn mutations(name: &str, base: &[u8], check: impl Fn(&[u8]) -> Option<usize>) {
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    assert_eq!(check(base), None, "{name}: the unmutated input must load");
    let config = Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let ops = proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..6);
    runner
        .run(&ops, |ops| {
            let bytes = mutate(base, &ops);
            if let Some(errors) = check(&bytes) {
                prop_assert!(errors > 0, "refused without an error");
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
}

/// The error count of a failed load, `None` if it loaded.
fn refused<T>(r: Result<T, cascade_io::LoadError>) -> Option<usize> {
    r.err().map(|e| e.diagnostics.error_count())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SNAPSHOT_JSON: &str = r#"{"name": "j", "asset": [{"id": "USDC", "kind": "stable", "price": 1,
  "liquidity": {"curve": "power_law", "adv_usd": 1e9, "k": 1, "alpha": 0.5}}],
  "protocol": [{"id": "p", "kind": "lending", "reserve": [{"asset": "USDC", "ltv": 0.5,
  "liquidation_threshold": 0.6, "liquidation_bonus": 0.05}]}],
  "account": [{"id": "a", "protocol": "p", "collateral": {"USDC": 10}}]}"#;

const SCENARIO: &str = "name = \"crash\"\nmax_rounds = 5\n[[shock]]\nasset = \"ETH\"\nprice_change = -0.4\n[[shock]]\nasset = \"USDC\"\nliquidity_multiplier = 0.5\n";

#[test]
fn snapshot_and_scenario_mutations_never_panic() {
    use cascade_io::{parse_scenario, snapshot_from_str, Format};
    mutations("snapshot TOML", SMALL.as_bytes(), |b| {
        refused(snapshot_from_str(&text(b), Format::Toml, "s.toml"))
    });
    mutations("snapshot JSON", SNAPSHOT_JSON.as_bytes(), |b| {
        refused(snapshot_from_str(&text(b), Format::Json, "s.json"))
    });
    let snapshot = cascade_testkit::parse(SMALL);
    mutations("scenario", SCENARIO.as_bytes(), |b| {
        refused(parse_scenario(&text(b), Format::Toml, "sc.toml", &snapshot))
    });
}

#[test]
fn position_file_mutations_never_panic() {
    use cascade_io::{read_positions, Diagnostics};
    let base = cascade_testkit::parse(SMALL);
    let check = |file: &'static str| {
        let base = base.clone();
        move |b: &[u8]| {
            let mut s = base.clone();
            let mut d = Diagnostics::new();
            read_positions(file, b.to_vec(), &mut s, &mut d);
            d.has_errors().then(|| d.error_count())
        }
    };
    mutations("positions CSV", VALID_CSV.as_bytes(), check("pos.csv"));
    mutations(
        "positions Parquet",
        &crate::parquet::small_parquet(40),
        check("pos.parquet"),
    );
}

#[test]
fn network_and_option_file_mutations_never_panic() {
    use cascade_io::network::{NetworkFile, NetworkTables};
    use cascade_io::options::read_options_from;
    type Read = fn(&mut NetworkTables, &[u8]) -> Result<(), cascade_io::LoadError>;
    let readers: [(&str, &str, Read); 5] = [
        (
            "sparse liabilities",
            "debtor,creditor,amount\nA,B,4\nB,C,3\nC,A,2\n",
            |t, b| t.read_from(NetworkFile::Liabilities, "L.csv", b),
        ),
        (
            "dense liabilities",
            ",A,B,C\nA,0,4,0\nB,0,0,3\nC,2,0,0\n",
            |t, b| t.read_from(NetworkFile::Liabilities, "L.csv", b),
        ),
        (
            "external assets",
            "node,external_assets,external_liabilities\nA,20,17\nB,20,18\n",
            |t, b| t.read_from(NetworkFile::ExternalAssets, "E.csv", b),
        ),
        (
            "exposures",
            "creditor,debtor,amount\nB,A,4\nC,A,3\n",
            |t, b| t.read_from(NetworkFile::Exposures, "X.csv", b),
        ),
        ("equity", "node,equity,weight\nA,10,2\nB,10,1\n", |t, b| {
            t.read_from(NetworkFile::Equity, "Q.csv", b)
        }),
    ];
    for (name, base, read) in readers {
        mutations(name, base.as_bytes(), |b| {
            refused(read(&mut NetworkTables::new(), b))
        });
    }
    let book = "spot,strike,rate,vol,expiry_years,kind\n42,40,0.1,0.2,0.5,call\n2000,1800,0.05,0.9,1.0,put\n";
    mutations("option book", book.as_bytes(), |b| {
        refused(read_options_from("book.csv", &text(b), |r| Ok(*r)))
    });
}
