//! `cascade serve --follow-aave-v3`: usage errors exit 2 before anything is read or started; an
//! endpoint that cannot be reached at the first start exits 1 and leaves no followed market
//! (docs/serve-follow.md). The following itself is proved in crates/serve/tests/follow_evm.rs.

use crate::common::{cascade, example_path, stderr};

const PROVIDER: &str = "0x2f39d218133AFaB8F2B819B1066c7E434Ad94E9e";

#[test]
fn follow_usage_errors_exit_2_and_an_unreachable_endpoint_exits_1() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let data = data.to_str().unwrap_or_default();
    let snapshot = example_path("worked/snapshot.toml");
    for (args, says) in [
        (
            vec![
                "--snapshot",
                snapshot.as_str(),
                "--follow-aave-v3",
                "http://127.0.0.1:9",
                PROVIDER,
            ],
            "--snapshot",
        ),
        (
            vec!["--follow-aave-v3", "http://127.0.0.1:9", "0x12"],
            "ADDR",
        ),
        (
            vec!["--follow-aave-v3", "ftp://127.0.0.1:9", PROVIDER],
            "RPC",
        ),
        (
            vec!["--follow-aave-v3", "http://127.0.0.1:9"],
            "--follow-aave-v3",
        ),
        (vec!["--follow-from-block", "5"], "--follow-aave-v3"),
    ] {
        let mut all = vec!["serve", "--data", data, "--listen", "127.0.0.1:0"];
        all.extend(args.iter().copied());
        let o = cascade(&all);
        assert_eq!(o.status.code(), Some(2), "{all:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{all:?}: {}", stderr(&o));
    }
    // Nothing listens on port 9 of loopback: the import at the first start fails (after the
    // client's retries), the service does not start, and no followed market is left behind.
    let o = cascade(&[
        "serve",
        "--data",
        data,
        "--listen",
        "127.0.0.1:0",
        "--follow-aave-v3",
        "http://127.0.0.1:9",
        PROVIDER,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("127.0.0.1:9"), "{}", stderr(&o));
    assert!(!dir.path().join("data/followed").exists());
}
