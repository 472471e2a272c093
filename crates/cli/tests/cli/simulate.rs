//! `cascade simulate`: JSON keys, thread independence, bad arguments.

use crate::common::{cascade, json, stderr};

#[test]
fn simulate_json_keys_threads_and_bad_arguments() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("paths.parquet");
    let args = [
        "simulate",
        "--paths",
        "300",
        "--horizon-days",
        "7",
        "--seed",
        "5",
        "--dist",
        "t",
        "--dof",
        "4",
        "--json",
    ];
    let one = cascade(
        &[
            &["--threads", "1"],
            &args[..],
            &["--per-path", out.to_str().unwrap_or("")],
        ]
        .concat(),
    );
    assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
    let two = cascade(&[&["--threads", "2"], &args[..]].concat());
    assert_eq!(one.stdout, two.stdout);
    let v = json(&one);
    for k in [
        "var_95_usd",
        "var_99_usd",
        "es_95_usd",
        "es_99_usd",
        "lar_95_usd",
        "p_bad_debt",
        "var_99_usd_ci",
        "es_99_usd_ci",
    ] {
        assert!(v["system"].get(k).is_some(), "system.{k}");
        assert!(v["protocols"][0].get(k).is_some(), "protocols[0].{k}");
    }
    assert_eq!(v["paths"], 300);
    assert!(std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0) > 0);
    // Bad arguments: exit 2, nothing written.
    let bad = dir.path().join("bad.parquet");
    for a in [
        vec!["simulate", "--paths", "0"],
        vec!["simulate", "--dist", "t", "--dof", "2"],
        vec!["simulate", "--jump", "NOPE=0.1:-0.2"],
        vec!["simulate", "--jump", "stETH=1.5:-0.2"],
        vec!["simulate", "--confidence", "0.95,1.2"],
    ] {
        let o = cascade(&[&a[..], &["--per-path", bad.to_str().unwrap_or("")]].concat());
        assert_eq!(o.status.code(), Some(2), "{a:?}: {}", stderr(&o));
    }
    assert!(!bad.exists());
}

#[test]
fn confidence_keys_are_stable_for_any_level() {
    let o = cascade(&[
        "simulate",
        "--paths",
        "50",
        "--confidence",
        "0.9,0.975,0.99",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    for k in [
        "var_90_usd",
        "var_975_usd",
        "var_99_usd",
        "es_90_usd",
        "es_975_usd",
        "var_90_usd_ci",
    ] {
        assert!(v["system"].get(k).is_some(), "system.{k}: {}", v["system"]);
    }
    assert!(v["system"].get("var_9_usd").is_none());
}

#[test]
fn per_path_parquet_has_typed_columns_with_plain_names() {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{UInt32Type, UInt64Type};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("paths.parquet");
    let o = cascade(&[
        "simulate",
        "--paths",
        "40",
        "--per-path",
        &path.to_string_lossy(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap_or_else(|e| panic!("{e}"));
    let schema = builder.schema().clone();
    let field = |name: &str| {
        schema
            .field_with_name(name)
            .map(|f| f.data_type().to_string())
            .unwrap_or_else(|_| format!("no column {name} in {schema:?}"))
    };
    assert_eq!(field("path"), "UInt64");
    assert_eq!(field("rounds"), "UInt32");
    for name in [
        "loss_usd",
        "bad_debt_usd",
        "liquidated_debt_usd",
        "loss_usd_aave_v3",
        "log_return_ETH",
    ] {
        assert_eq!(field(name), "Float64", "{name}");
    }
    for f in schema.fields() {
        assert!(
            f.name()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "column {}",
            f.name()
        );
    }
    let batches: Vec<_> = builder
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}"));
    let paths: Vec<u64> = batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<UInt64Type>().values().to_vec())
        .collect();
    assert_eq!(paths, (0..40).collect::<Vec<u64>>());
    let rounds_at = schema.index_of("rounds").unwrap_or(0);
    assert!(batches.iter().all(|b| b
        .column(rounds_at)
        .as_primitive::<UInt32Type>()
        .values()
        .iter()
        .all(|&r| r <= 50)));
}
