//! `cascade import aave-v3`: bad arguments and network faults, without a chain (the proof against the
//! real contracts is crates/chain/tests/aave_evm.rs).

use crate::common::{cascade, stderr};

#[test]
fn bad_arguments_are_usage_errors_and_an_unreachable_endpoint_a_runtime_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let users = dir.path().join("users.txt");
    std::fs::write(
        &users,
        "# users\n0x0000000000000000000000000000000000000001\nnot-an-address\n0x12\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("out");
    let args = |provider: &str, users: &str| {
        vec![
            "import".to_string(),
            "aave-v3".into(),
            "--rpc".into(),
            "http://127.0.0.1:9".into(),
            "--pool-addresses-provider".into(),
            provider.into(),
            "--users".into(),
            users.into(),
            "--out-dir".into(),
            out.to_string_lossy().into_owned(),
            "--timeout".into(),
            "1".into(),
        ]
    };
    let run = |a: Vec<String>| cascade(&a.iter().map(String::as_str).collect::<Vec<_>>());
    let provider = "0x0000000000000000000000000000000000000002";
    // Every bad line of the users file, with its line number.
    let o = run(args(provider, &users.to_string_lossy()));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("users.txt:3: \"not-an-address\" is not an address"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("users.txt:4:"), "{}", stderr(&o));
    // A malformed provider address.
    let o = run(args("0xzz", &users.to_string_lossy()));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--pool-addresses-provider"),
        "{}",
        stderr(&o)
    );
    // An output folder that is not empty: refused before any request.
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(out.join("keep"), "x").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&users, "0x0000000000000000000000000000000000000001\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let o = run(args(provider, &users.to_string_lossy()));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("exists and is not empty"),
        "{}",
        stderr(&o)
    );
    // Nothing listens on port 9: a network fault (exit 1) naming the URL and the call; no output.
    std::fs::remove_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));
    let o = run(args(provider, &users.to_string_lossy()));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot reach http://127.0.0.1:9"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("eth_getBlockByNumber"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists(), "no output folder after a failed import");
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

#[test]
fn import_dex_checks_its_arguments_and_writes_nothing_on_a_fault() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("dex.toml");
    let out_s = out.to_string_lossy().into_owned();
    let pool = "0x0000000000000000000000000000000000000003";
    let run = |pool: &str, out: &str| {
        cascade(&[
            "import",
            "dex",
            "--rpc",
            "http://127.0.0.1:9",
            "--pool",
            pool,
            "--out",
            out,
            "--timeout",
            "1",
        ])
    };
    // A malformed pool address, and an output in a missing folder: usage errors (exit 2).
    let o = run("0x12", &out_s);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--pool"), "{}", stderr(&o));
    let missing = dir.path().join("no/such/dir/dex.toml");
    let o = run(pool, &missing.to_string_lossy());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--out"), "{}", stderr(&o));
    // No pool at all.
    let o = cascade(&[
        "import",
        "dex",
        "--rpc",
        "http://127.0.0.1:9",
        "--out",
        &out_s,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Nothing listens on port 9: a network fault (exit 1), and no file.
    let o = run(pool, &out_s);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot reach http://127.0.0.1:9"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}
