//! `cascade serve --follow-aave-v3` against the real Aave v3 contracts (docs/serve-follow.md): a
//! local hardhat node on loopback runs Aave's Test market (evm/, pinned npm versions) with 30
//! populated accounts; the service imports it, follows it, and must show a borrow, a new user's
//! supply and borrow and an oracle price change within 2 s of the transaction's receipt, with the
//! amounts the contracts report at that block; a restart on the same data folder (even one that
//! re-walks every followed block) serves the same state with no new event. Needs node and npm
//! (`.ci/run` installs them); the first run downloads the npm packages.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, U256};
use alloy_sol_types::{sol, SolCall};
use cascade_serve::config::ServeConfig;
use cascade_serve::follow::{prepare, spawn, FollowConfig, Followed, CURSOR_KEY};
use cascade_serve::server::{recover, serve, AppState};
use cascade_serve::store::Store;
use serde_json::{json, Value};

sol! {
    interface IPool {
        function supply(address asset, uint256 amount, address onBehalfOf, uint16 referralCode);
        function borrow(address asset, uint256 amount, uint256 interestRateMode, uint16 referralCode, address onBehalfOf);
        function getUserAccountData(address user) external view returns (uint256 totalCollateralBase, uint256 totalDebtBase, uint256 availableBorrowsBase, uint256 currentLiquidationThreshold, uint256 ltv, uint256 healthFactor);
    }
    interface IERC20 {
        function balanceOf(address user) external view returns (uint256);
    }
}

fn evm_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../evm")
}

/// A hardhat node on a free loopback port, populated; killed when dropped.
struct Node {
    pid: String,
    port: u16,
    out: tempfile::TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(&self.pid).status();
    }
}

fn run(cmd: &mut Command, what: &str) -> String {
    let o = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        o.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    l.local_addr().unwrap_or_else(|e| panic!("{e}")).port()
}

fn script(node: &Node, name: &str, env: &[(&str, &str)]) -> Value {
    let mut c = Command::new("node");
    c.arg(name)
        .current_dir(evm_dir())
        .env("EVM_OUT", node.out.path())
        .env("EVM_PORT", node.port.to_string());
    for (k, v) in env {
        c.env(k, v);
    }
    let text = run(&mut c, name);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}\n{text}"))
}

fn start_node() -> Node {
    run(
        Command::new("bash").arg(evm_dir().join("setup.sh")),
        "evm/setup.sh",
    );
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let pid = run(
        Command::new("bash")
            .arg(evm_dir().join("start-node.sh"))
            .arg(port.to_string())
            .arg(out.path().join("node.log"))
            .env("EVM_OUT", out.path()),
        "evm/start-node.sh",
    )
    .trim()
    .to_string();
    let node = Node { pid, port, out };
    script(&node, "populate.js", &[]);
    node
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// One JSON-RPC request to the node; its result.
fn rpc(node: &Node, method: &str, params: Value) -> Value {
    let url = format!("http://127.0.0.1:{}", node.port);
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let v: Value = agent()
        .post(&url)
        .send_json(&body)
        .unwrap_or_else(|e| panic!("{method}: {e}"))
        .body_mut()
        .read_json()
        .unwrap_or_else(|e| panic!("{method}: {e}"));
    assert!(v.get("error").is_none(), "{method}: {v}");
    v["result"].clone()
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::from("0x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn unhex(s: &str) -> Vec<u8> {
    let s = s.trim_start_matches("0x");
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

fn quantity(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap_or("").trim_start_matches("0x"), 16)
        .unwrap_or_else(|e| panic!("{v}: {e}"))
}

/// Sends a transaction from an unlocked account (hardhat mines it at once); its block number.
fn send(node: &Node, from: Address, to: Address, data: Vec<u8>) -> u64 {
    let hash = rpc(
        node,
        "eth_sendTransaction",
        json!([{"from": from.to_checksum(None), "to": to.to_checksum(None), "data": hex(&data), "gas": "0x1e8480"}]),
    );
    let receipt = rpc(node, "eth_getTransactionReceipt", json!([hash]));
    assert_eq!(quantity(&receipt["status"]), 1, "reverted: {receipt}");
    quantity(&receipt["blockNumber"])
}

fn call<C: SolCall>(node: &Node, to: Address, c: &C, block: u64) -> C::Return {
    let out = rpc(
        node,
        "eth_call",
        json!([{"to": to.to_checksum(None), "data": hex(&c.abi_encode())}, format!("0x{block:x}")]),
    );
    C::abi_decode_returns(&unhex(out.as_str().unwrap_or(""))).unwrap_or_else(|e| panic!("{e}"))
}

/// `x / 10^d` as cascade computes it (the importer's own function).
fn units(x: U256, d: u64) -> f64 {
    cascade_chain::snapshot::to_units(x, d)
}

fn addr(v: &Value) -> Address {
    v.as_str()
        .unwrap_or("")
        .parse::<Address>()
        .unwrap_or_else(|e| panic!("{v}: {e}"))
}

/// A service following the node, in-process on loopback.
struct Running {
    addr: SocketAddr,
    state: Arc<AppState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    followed_imported: bool,
    cursor: u64,
}

impl Running {
    fn get(&self, path: &str) -> Value {
        agent()
            .get(format!("http://{}{path}", self.addr))
            .call()
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .body_mut()
            .read_json()
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    }
    fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn start_service(data: &Path, fc: FollowConfig) -> Running {
    let mut store = Store::open(data).unwrap_or_else(|e| panic!("{e}"));
    let Followed {
        tracked,
        snapshot,
        cursor,
        imported,
    } = prepare(&fc, data, &mut store, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let live = recover(snapshot, &store).unwrap_or_else(|e| panic!("{e}"));
    let cfg = ServeConfig {
        data: data.to_path_buf(),
        ..ServeConfig::default()
    };
    let state = AppState::new(cfg, live, store);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let s = Arc::clone(&state);
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let _ = addr_tx.send(listener.local_addr().unwrap_or_else(|e| panic!("{e}")));
            let follower = spawn(Arc::clone(&s), fc, tracked, cursor);
            let _ = serve(s, listener, async {
                let _ = rx.await;
            })
            .await;
            follower.stop().await;
        });
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}"));
    Running {
        addr,
        state,
        stop: Some(tx),
        thread: Some(thread),
        followed_imported: imported,
        cursor,
    }
}

/// The account's tokens of `asset` on `side` as served (0 if absent; `None` if no account).
fn served_tokens(svc: &Running, account: Address, asset: &str, side: &str) -> Option<f64> {
    let v = svc.get(&format!("/v1/accounts/{}", account.to_checksum(None)));
    let views = v.as_array()?;
    let view = views.iter().find(|x| x["protocol"] == "aave-v3")?;
    Some(
        view["positions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["asset"] == asset && p["side"] == side)
            .and_then(|p| p["tokens"].as_f64())
            .unwrap_or(0.0),
    )
}

/// Waits (≤ 2 s from `since`) until `ok` holds of the service; the time it took.
fn within_2s(since: Instant, what: &str, mut ok: impl FnMut() -> bool) -> Duration {
    loop {
        if ok() {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(2),
            "{what}: not shown within 2 s of the receipt"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn a_followed_market_shows_chain_changes_within_2s_and_restarts_without_duplicates() {
    let node = start_node();
    let addrs: Value = serde_json::from_str(
        &std::fs::read_to_string(node.out.path().join("addresses.json"))
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let provider = addr(&addrs["aave"]["PoolAddressesProvider"]);
    let pool = addr(&addrs["aave"]["Pool"]);
    let reserve = |sym: &str| -> Value {
        addrs["reserves"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["symbol"] == sym)
            .cloned()
            .unwrap_or_else(|| panic!("no reserve {sym}"))
    };
    let (usdc, weth) = (reserve("USDC"), reserve("WETH"));
    let user = |i: usize| addr(&addrs["users"][i]["address"]);
    let liquidator = addr(&addrs["accounts"]["liquidator"]);

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let url = format!("http://127.0.0.1:{}", node.port);
    let mut fc = FollowConfig::new(&url, provider);
    fc.poll = Duration::from_millis(100);
    // No sweep in the first part: an account not touched keeps its last read balances (checked
    // below); the sweep has its own part at the end.
    fc.refresh_blocks = 0;
    let svc = start_service(&data, fc.clone());
    assert!(svc.followed_imported);
    let imported = svc.cursor;
    assert!(data.join("followed/snapshot.toml").is_file());
    assert!(data.join("followed/market.json").is_file());

    // The import: user 5's USDC debt is the debt token's balance at the imported block.
    let debt_at = |who: Address, r: &Value, block: u64| {
        let b = call(
            &node,
            addr(&r["variableDebtToken"]),
            &IERC20::balanceOfCall { user: who },
            block,
        );
        units(b, r["decimals"].as_u64().unwrap_or(0))
    };
    let coll_at = |who: Address, r: &Value, block: u64| {
        let b = call(
            &node,
            addr(&r["aToken"]),
            &IERC20::balanceOfCall { user: who },
            block,
        );
        units(b, r["decimals"].as_u64().unwrap_or(0))
    };
    let d5 = debt_at(user(5), &usdc, imported);
    assert!((30_000.0..30_010.0).contains(&d5), "{d5}");
    assert_eq!(served_tokens(&svc, user(5), "USDC", "debt"), Some(d5));

    // 1. User 11 (50 WETH, 50,000 USDC debt) borrows 10,000 USDC more.
    let data_borrow = IPool::borrowCall {
        asset: addr(&usdc["underlying"]),
        amount: U256::from(10_000_000_000u64),
        interestRateMode: U256::from(2u64),
        referralCode: 0,
        onBehalfOf: user(11),
    }
    .abi_encode();
    let b1 = send(&node, user(11), pool, data_borrow);
    let t1 = Instant::now();
    let want = debt_at(user(11), &usdc, b1);
    assert!((60_000.0..60_010.0).contains(&want), "{want}");
    let took = within_2s(t1, "user 11's new USDC debt", || {
        served_tokens(&svc, user(11), "USDC", "debt") == Some(want)
    });
    eprintln!("borrow shown {took:?} after its receipt");
    // The account's debt value is the contracts' totalDebtBase at the block (8 decimals of USD).
    let acct = call(
        &node,
        pool,
        &IPool::getUserAccountDataCall { user: user(11) },
        b1,
    );
    let v = svc.get(&format!("/v1/accounts/{}", user(11).to_checksum(None)));
    let served_debt = v[0]["debt_usd"].as_f64().unwrap_or(f64::NAN);
    assert!(
        rel(served_debt, units(acct.totalDebtBase, 8)) < 1e-9,
        "{served_debt} vs {}",
        acct.totalDebtBase
    );
    let served_hf = v[0]["health_factor"].as_f64().unwrap_or(f64::NAN);
    assert!(
        rel(served_hf, units(acct.healthFactor, 18)) < 1e-9,
        "{served_hf} vs {}",
        acct.healthFactor
    );

    // 2. A user the snapshot does not have (the liquidator, funded and approved) supplies 100,000
    // USDC, then borrows 5 WETH against it.
    assert_eq!(served_tokens(&svc, liquidator, "USDC", "collateral"), None);
    let supply = IPool::supplyCall {
        asset: addr(&usdc["underlying"]),
        amount: U256::from(100_000_000_000u64),
        onBehalfOf: liquidator,
        referralCode: 0,
    }
    .abi_encode();
    let b2 = send(&node, liquidator, pool, supply);
    let t2 = Instant::now();
    let want = coll_at(liquidator, &usdc, b2);
    assert!((100_000.0..100_000.01).contains(&want), "{want}");
    within_2s(t2, "the new user's USDC collateral", || {
        served_tokens(&svc, liquidator, "USDC", "collateral") == Some(want)
    });
    let borrow = IPool::borrowCall {
        asset: addr(&weth["underlying"]),
        amount: U256::from(5u64) * U256::from(10u64).pow(U256::from(18u64)),
        interestRateMode: U256::from(2u64),
        referralCode: 0,
        onBehalfOf: liquidator,
    }
    .abi_encode();
    let b3 = send(&node, liquidator, pool, borrow);
    let t3 = Instant::now();
    let want_debt = debt_at(liquidator, &weth, b3);
    assert!((5.0..5.0001).contains(&want_debt), "{want_debt}");
    within_2s(t3, "the new user's WETH debt", || {
        served_tokens(&svc, liquidator, "WETH", "debt") == Some(want_debt)
    });
    // Its collateral, re-read at the borrow's block, is the aToken balance there.
    assert_eq!(
        served_tokens(&svc, liquidator, "USDC", "collateral"),
        Some(coll_at(liquidator, &usdc, b3))
    );

    // 3. WETH's oracle price moves 4000 → 3200 (a new mock aggregator).
    let weth_price = |svc: &Running| {
        svc.get("/v1/protocols/aave-v3")["reserves"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["asset"] == "WETH")
            .and_then(|r| r["price_usd"].as_f64())
    };
    assert_eq!(weth_price(&svc), Some(4000.0));
    let before = svc.get("/v1/summary");
    let moved = script(
        &node,
        "set-price.js",
        &[("ASSET", "WETH"), ("PRICE", "320000000000")],
    );
    let t4 = Instant::now();
    assert_eq!(moved["newPrice"], "320000000000");
    within_2s(t4, "WETH at 3200", || weth_price(&svc) == Some(3200.0));
    let after = svc.get("/v1/summary");
    assert!(after["seq"].as_u64() > before["seq"].as_u64());
    assert!(
        after["collateral_usd"].as_f64() < before["collateral_usd"].as_f64(),
        "{before} {after}"
    );
    // User 11's collateral is its WETH at 3200, and its health the contracts' at the new price.
    let weth11 = served_tokens(&svc, user(11), "WETH", "collateral").unwrap_or(0.0);
    assert!((50.0..50.01).contains(&weth11), "{weth11}");
    let v = svc.get(&format!("/v1/accounts/{}", user(11).to_checksum(None)));
    let c = v[0]["collateral_usd"].as_f64().unwrap_or(f64::NAN);
    assert!(
        rel(c, weth11 * 3200.0) < 1e-12,
        "{c} vs {}",
        weth11 * 3200.0
    );
    let b4 = moved["block"]["number"].as_u64().unwrap_or(0);
    let acct = call(
        &node,
        pool,
        &IPool::getUserAccountDataCall { user: user(11) },
        b4,
    );
    // Not touched since b1: its balances are b1's (interest of the seconds since is not
    // followed, docs/serve-follow.md), so equal to the contracts' within 1e-6, not to the wei.
    let hf = v[0]["health_factor"].as_f64().unwrap_or(f64::NAN);
    assert!(
        rel(hf, units(acct.healthFactor, 18)) < 1e-6,
        "{hf} vs {}",
        acct.healthFactor
    );

    // Let the follower reach the head, then restart on the same folder.
    let head = quantity(&rpc(&node, "eth_blockNumber", json!([])));
    within_2s(Instant::now(), "the cursor at the head", || {
        svc.state
            .with_store(|s| s.meta(CURSOR_KEY))
            .ok()
            .flatten()
            .and_then(|c| c.parse::<u64>().ok())
            == Some(head)
    });
    let accounts = [user(5), user(11), liquidator];
    let snapshot_of = |svc: &Running| {
        let mut s = svc.get("/v1/summary");
        s["updated_at_ms"] = Value::Null;
        let a: Vec<Value> = accounts
            .iter()
            .map(|a| svc.get(&format!("/v1/accounts/{}", a.to_checksum(None))))
            .collect();
        (s, a)
    };
    let state_before = snapshot_of(&svc);
    let events_before = svc.state.with_store(|s| s.last_seq()).unwrap_or(-1);
    assert!(events_before > 0);
    svc.stop();

    // Rewind the saved cursor to the imported block, as if the service had died after logging the
    // blocks' events but before saving it: the restart resumes after the last block in the log
    // (the price change), re-runs nothing, and serves the same state.
    {
        let mut store = Store::open(&data).unwrap_or_else(|e| panic!("{e}"));
        store
            .set_meta(CURSOR_KEY, &imported.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let svc = start_service(&data, fc.clone());
    assert!(!svc.followed_imported);
    assert_eq!(svc.cursor, moved["block"]["number"].as_u64().unwrap_or(0));
    within_2s(Instant::now(), "the re-walk to the head", || {
        svc.state
            .with_store(|s| s.meta(CURSOR_KEY))
            .ok()
            .flatten()
            .and_then(|c| c.parse::<u64>().ok())
            == Some(head)
    });
    let m = &svc.state.metrics;
    assert_eq!(m.events_applied.load(Ordering::Relaxed), 0);
    assert_eq!(m.events_duplicate.load(Ordering::Relaxed), 0);
    assert_eq!(
        svc.state.with_store(|s| s.last_seq()).unwrap_or(-1),
        events_before
    );
    assert_eq!(snapshot_of(&svc), state_before);
    svc.stop();

    // The sweep: with every account re-read every 4 blocks, a year of interest shows on user 5's
    // USDC debt although nothing touches the account: after a year passes and 8 blocks are mined,
    // the served debt is the debt token's balance at the last block whose turn it was.
    let mut swept = fc.clone();
    swept.refresh_blocks = 4;
    let svc = start_service(&data, swept);
    let before = served_tokens(&svc, user(5), "USDC", "debt").unwrap_or(f64::NAN);
    rpc(&node, "evm_increaseTime", json!([365 * 24 * 3600]));
    // One block at a time (hardhat_mine's reserved blocks cannot be called at).
    for _ in 0..8 {
        rpc(&node, "evm_mine", json!([]));
    }
    let head = quantity(&rpc(&node, "eth_blockNumber", json!([])));
    let turn = (head - 7..=head)
        .rev()
        .find(|&n| cascade_serve::follow::swept_at(&user(5), n, 4))
        .unwrap_or_else(|| panic!("no turn of user 5 in 8 blocks"));
    let want = debt_at(user(5), &usdc, turn);
    assert!(
        want > before * 1.001,
        "a year of interest: {before} → {want}"
    );
    within_2s(
        Instant::now(),
        "user 5's debt with a year of interest",
        || served_tokens(&svc, user(5), "USDC", "debt") == Some(want),
    );
    svc.stop();

    // Another provider on the same folder is refused (a usage error), as is a log without its
    // followed market.
    let mut other = fc.clone();
    other.provider = pool;
    let mut store = Store::open(&data).unwrap_or_else(|e| panic!("{e}"));
    let e = prepare(&other, &data, &mut store, &mut |_| {})
        .err()
        .unwrap_or_else(|| panic!("another provider accepted"));
    assert!(e.is_usage() && e.to_string().contains("not"), "{e}");
    drop(store);
    std::fs::remove_dir_all(data.join("followed")).unwrap_or_else(|e| panic!("{e}"));
    let mut store = Store::open(&data).unwrap_or_else(|e| panic!("{e}"));
    let e = prepare(&fc, &data, &mut store, &mut |_| {})
        .err()
        .unwrap_or_else(|| panic!("a log without its market accepted"));
    assert!(e.is_usage() && e.to_string().contains("event log"), "{e}");
}
