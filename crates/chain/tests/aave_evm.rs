//! The importer against the real Aave v3 contracts (docs/import.md#proof): a local hardhat node on
//! loopback runs Aave's Test market (evm/, pinned npm versions) with 30 populated accounts; every
//! account's collateral, debt, average liquidation threshold and health factor as cascade reads
//! them must equal `Pool.getUserAccountData` at the same block. Needs node and npm (`.ci/run`
//! installs them); the first run downloads the npm packages.

use std::path::{Path, PathBuf};
use std::process::Command;

use cascade_chain::aave::{parse_address, read_market};
use cascade_chain::rpc::{Call, Rpc};
use cascade_chain::snapshot::write_market;
use cascade_chain::ChainError;
use cascade_model::Side;
use cascade_protocols::lending::LendingPool;
use serde_json::Value;

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

fn node_script(node: &Node, script: &str, env: &[(&str, &str)]) -> Value {
    let mut c = Command::new("node");
    c.arg(script)
        .current_dir(evm_dir())
        .env("EVM_OUT", node.out.path())
        .env("EVM_PORT", node.port.to_string());
    for (k, v) in env {
        c.env(k, v);
    }
    let text = run(&mut c, script);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{script}: {e}\n{text}"))
}

fn start() -> Node {
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
    node_script(&node, "populate.js", &[]);
    node
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-300)
}

#[test]
fn imported_accounts_match_the_contracts_and_faults_are_named() {
    let node = start();
    let addresses: Value = serde_json::from_str(
        &std::fs::read_to_string(node.out.path().join("addresses.json"))
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let provider = parse_address(
        addresses["aave"]["PoolAddressesProvider"]
            .as_str()
            .unwrap_or(""),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let pinned = addresses["pinnedBlock"]["number"].as_u64().unwrap_or(0);
    let users: Vec<_> = addresses["users"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|u| u["address"].as_str())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .map(|a| parse_address(a).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert!(users.len() >= 24, "{} users", users.len());
    let url = format!("http://127.0.0.1:{}", node.port);
    let rpc = Rpc::new(&url, std::time::Duration::from_secs(30));
    let block = rpc.block(Some(pinned)).unwrap_or_else(|e| panic!("{e}"));
    let market = read_market(&rpc, provider, block, &users, &mut |_, _| {})
        .unwrap_or_else(|e| panic!("{e}"));

    // The users were read through multicall requests.
    assert!(
        rpc.calls_in_multicalls() >= 2 * users.len() as u64,
        "{} calls in multicalls",
        rpc.calls_in_multicalls()
    );
    assert_eq!(rpc.multicall_refused(), None);

    // Written twice from two reads, the second with one eth_call per call: the same bytes.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    write_market(&market, &[], &a).unwrap_or_else(|e| panic!("{e}"));
    let plain = Rpc::new(&url, std::time::Duration::from_secs(30)).with_multicall(false);
    let again = read_market(&plain, provider, block, &users, &mut |_, _| {})
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plain.calls_in_multicalls(), 0);

    // A multicall with a call that returns no word (an address without code) is refused by the
    // node; its calls are made again one by one, which gives that call's empty answer (for the
    // readers to name), and multicall stays on.
    let get_pool = alloy_primitives::keccak256("getPool()")[..4].to_vec();
    let calls = [
        Call::new("getPool()", provider, get_pool.clone()),
        Call::new(
            "getPool()",
            alloy_primitives::Address::repeat_byte(0x77),
            get_pool,
        ),
    ];
    let words = rpc
        .eth_call_words(pinned, &calls)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((words[0].len(), words[1].len()), (32, 0));
    assert_eq!(rpc.multicall_refused(), None);
    write_market(&again, &[], &b).unwrap_or_else(|e| panic!("{e}"));
    for f in ["snapshot.toml", "positions.parquet"] {
        let read = |p: &Path| std::fs::read(p.join(f)).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            read(&a) == read(&b),
            "{f} differs between two imports of one block"
        );
    }
    // A second write into a non-empty folder is refused, and leaves it as it was.
    assert!(matches!(
        write_market(&market, &[], &a),
        Err(ChainError::Usage(_))
    ));

    // Every account as cascade computes it against the contracts' own figures at the block.
    let (snap, _) =
        cascade_io::load_snapshot(&a.join("snapshot.toml")).unwrap_or_else(|e| panic!("{e}"));
    let pool = LendingPool::new(&snap, 0);
    let prices: Vec<f64> = snap
        .assets
        .iter()
        .map(|x| x.price.unwrap_or(f64::NAN))
        .collect();
    let chain = node_script(&node, "account-data.js", &[("BLOCK", &pinned.to_string())]);
    // cascade's own health factor (the imported pool uses Aave v3's rule), per account, before any
    // shock: it must be the contracts' figure.
    let run = cascade_engine::run_with(
        &snap,
        &cascade_model::Scenario::baseline(),
        &cascade_engine::Options {
            accounts: true,
            ..Default::default()
        },
    );
    let mut compared = 0;
    for u in chain["users"].as_array().unwrap_or(&Vec::new()) {
        let addr =
            parse_address(u["address"].as_str().unwrap_or("")).unwrap_or_else(|e| panic!("{e}"));
        let num = |k: &str| {
            u[k].as_str()
                .unwrap_or("0")
                .parse::<f64>()
                .unwrap_or(f64::NAN)
        };
        let (coll, debt) = (num("totalCollateralBase") / 1e8, num("totalDebtBase") / 1e8);
        let (avg_lt, hf) = (
            num("currentLiquidationThreshold") / 1e4,
            num("healthFactor") / 1e18,
        );
        let k = (0..pool.accounts())
            .find(|&k| snap.accounts.id[pool.account[k] as usize] == addr.to_checksum(None));
        let Some(k) = k else {
            assert_eq!(
                coll + debt,
                0.0,
                "{addr}: positions on chain, none imported"
            );
            continue;
        };
        let (mut c_usd, mut c_lt, mut d_usd) = (0.0, 0.0, 0.0);
        for e in pool.entries_of(k) {
            let v = e.amount * prices[e.asset as usize];
            match e.side {
                Side::Collateral if e.lt > 0.0 => {
                    c_usd += v;
                    c_lt += v * e.lt;
                }
                Side::Collateral => {}
                Side::Debt => d_usd += v,
            }
        }
        let label = u["label"].as_str().unwrap_or("");
        assert!(
            close(c_usd, coll, 1e-9),
            "{label}: collateral {c_usd} vs {coll}"
        );
        assert!(close(d_usd, debt, 1e-9), "{label}: debt {d_usd} vs {debt}");
        if c_usd > 0.0 {
            // The contracts keep the average threshold in whole basis points (rounded down).
            let exact = c_lt / c_usd;
            assert_eq!(
                (exact * 1e4 + 1e-9).floor() / 1e4,
                avg_lt,
                "{label}: average LT {exact}"
            );
        }
        if d_usd > 0.0 {
            let row = run
                .accounts
                .iter()
                .find(|r| r.account == addr.to_checksum(None))
                .unwrap_or_else(|| panic!("{label}: no row"));
            let cascade_hf = row.health_before.unwrap_or(f64::INFINITY);
            assert!(
                close(cascade_hf, hf, 1e-9),
                "{label}: HF {cascade_hf} vs the contracts' {hf}"
            );
        }
        compared += 1;
    }
    assert!(compared >= 24, "{compared} accounts compared");
    let emode = snap.accounts.emode.iter().filter(|e| e.is_some()).count();
    assert!(emode >= 1, "an e-mode account is imported");

    // The Uniswap v2 pair as WETH's venue: selling 10 WETH through the imported curve leaves the price
    // the pair shows after the same swap on chain.
    v2_curve_matches_the_pair_after_a_swap(&node, &addresses, &rpc, &market, dir.path());
    // The Uniswap v3 pool the same way, both directions, each swap crossing initialized ticks; and
    // `cascade import dex` writes the same curve.
    v3_curve_matches_the_pool_after_swaps(&node, &addresses, &rpc, &market, dir.path());

    // A 20% drop of WETH, in cascade and on chain: every first-round liquidation cascade predicts is
    // executed on chain with cascade's pair and amount, and the contracts move the same amounts.
    predicted_liquidations_match_liquidation_call(&node, &a, &users);

    // Faults name the call and the address.
    let e = read_market(&rpc, users[0], block, &users, &mut |_, _| {}).unwrap_err();
    assert!(
        matches!(e, ChainError::NotTheContract { .. }) && e.is_usage(),
        "{e}"
    );
    assert!(e.to_string().contains("PoolAddressesProvider"), "{e}");
    let e = rpc.block(Some(pinned + 1_000_000)).unwrap_err();
    assert!(matches!(e, ChainError::MissingBlock { .. }), "{e}");
    let closed = Rpc::new(
        &format!("http://127.0.0.1:{}", free_port()),
        std::time::Duration::from_secs(2),
    );
    let e = closed.block(None).unwrap_err();
    assert!(
        matches!(e, ChainError::Unreachable { .. }) && !e.is_usage(),
        "{e}"
    );
}

/// Raw token units of `x` tokens with `decimals` (rounded to the nearest unit).
fn raw(x: f64, decimals: u32) -> String {
    format!("{:.0}", x * 10f64.powi(decimals as i32))
}

fn predicted_liquidations_match_liquidation_call(
    node: &Node,
    imported: &Path,
    users: &[alloy_primitives::Address],
) {
    // The imported system with no price impact (the chain's oracle does not move with sales either).
    let text = std::fs::read_to_string(imported.join("snapshot.toml"))
        .unwrap_or_else(|e| panic!("{e}"))
        .replace("k = 0.1,", "k = 0.0,");
    let path = imported.join("no-impact.toml");
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    let (snap, _) = cascade_io::load_snapshot(&path).unwrap_or_else(|e| panic!("{e}"));
    let scenario = cascade_io::parse_scenario(
        "name = \"weth-20\"\n[[shock]]\nasset = \"WETH\"\nprice_change = -0.2\n",
        cascade_io::Format::Toml,
        "weth-20.toml",
        &snap,
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .0;
    let r = cascade_engine::run_with(
        &snap,
        &scenario,
        &cascade_engine::Options {
            accounts: true,
            ..Default::default()
        },
    );
    let first: Vec<_> = r
        .accounts
        .iter()
        .filter(|a| a.first_liquidation_round == Some(1))
        .collect();
    assert!(
        first.len() >= 3,
        "{} accounts liquidated in round 1",
        first.len()
    );
    // Move the oracle as the scenario does: WETH 4000 → 3200 USD.
    let weth = r.initial_prices["WETH"];
    let new_price = format!("{:.0}", weth * 0.8 * 1e8);
    node_script(
        node,
        "set-price.js",
        &[("ASSET", "WETH"), ("PRICE", &new_price)],
    );
    // On chain, the accounts with HF < 1 are exactly those cascade liquidates in round 1.
    let chain = node_script(node, "account-data.js", &[]);
    let below: Vec<String> = chain["users"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter(|u| {
            u["healthFactor"]
                .as_str()
                .unwrap_or("0")
                .parse::<f64>()
                .unwrap_or(0.0)
                < 1e18
        })
        .filter_map(|u| u["address"].as_str().map(str::to_lowercase))
        .collect();
    let mut predicted: Vec<String> = first.iter().map(|a| a.account.to_lowercase()).collect();
    let mut below_sorted = below.clone();
    predicted.sort();
    below_sorted.sort();
    assert_eq!(
        predicted, below_sorted,
        "liquidatable accounts: cascade vs chain"
    );
    let decimals = |sym: &str| -> u32 {
        if sym == "USDC" {
            6
        } else {
            18
        }
    };
    for a in &first {
        let c = a
            .first_call
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no call", a.account));
        assert!(users.iter().any(|u| u.to_checksum(None) == a.account));
        let out = node_script(
            node,
            "liquidate.js",
            &[
                ("COLLATERAL", &c.collateral),
                ("DEBT", &c.debt),
                ("USER", &a.account),
                ("DEBT_TO_COVER", &raw(c.repaid_tokens, decimals(&c.debt))),
            ],
        );
        let num = |k: &str| {
            out[k]
                .as_str()
                .unwrap_or("nan")
                .parse::<f64>()
                .unwrap_or(f64::NAN)
        };
        let (dd, cd) = (decimals(&c.debt) as i32, decimals(&c.collateral) as i32);
        let repaid = num("debtRepaid") / 10f64.powi(dd);
        let received = num("collateralReceived") / 10f64.powi(cd);
        let fee = num("protocolFee") / 10f64.powi(cd);
        let who = &a.account;
        assert!(
            close(repaid, c.repaid_tokens, 1e-9),
            "{who}: repaid {repaid} vs cascade {}",
            c.repaid_tokens
        );
        let to_liquidator = c.seized_tokens - c.protocol_fee_tokens;
        assert!(
            close(received, to_liquidator, 1e-9),
            "{who}: to the liquidator {received} vs cascade {to_liquidator}"
        );
        assert!(
            close(fee, c.protocol_fee_tokens, 1e-9),
            "{who}: protocol fee {fee} vs cascade {}",
            c.protocol_fee_tokens
        );
    }
}

fn v2_curve_matches_the_pair_after_a_swap(
    node: &Node,
    addresses: &Value,
    rpc: &Rpc,
    market: &cascade_chain::aave::Market,
    dir: &Path,
) {
    let pair = parse_address(addresses["uniswap"]["v2"]["pair"].as_str().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}"));
    let pools = cascade_chain::dex::read_pools(rpc, market.block.number, &[pair])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(pools[0], cascade_chain::dex::DexPool::V2(_)));
    let venues = cascade_chain::snapshot::venues(market, &pools).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(venues.len(), 1);
    let out = dir.join("with-dex");
    write_market(market, &venues, &out).unwrap_or_else(|e| panic!("{e}"));
    let (snap, diags) =
        cascade_io::load_snapshot(&out.join("snapshot.toml")).unwrap_or_else(|e| panic!("{e}"));
    let weth = snap.asset_idx("WETH").unwrap_or_else(|| panic!("no WETH"));
    // WETH's curve is measured now: no assumed-curve warning for it.
    assert!(!diags
        .items
        .iter()
        .any(|d| d.field.contains("\"WETH\"") && d.field.ends_with("assumed")));
    let mut curve = cascade_market::curve::Curve::from_spec(&snap.assets[weth].liquidity.curve);
    let sold = 10.0;
    let proceeds = curve.sell(sold);
    let cascade_price = curve.spot_price();
    let on_chain = node_script(
        node,
        "swap.js",
        &[
            ("POOL", "v2"),
            ("TOKEN_IN", "WETH"),
            ("AMOUNT_IN", "10000000000000000000"),
        ],
    );
    let after = &on_chain["poolAfter"];
    let r = |k: &str| {
        after[k]
            .as_str()
            .unwrap_or("nan")
            .parse::<f64>()
            .unwrap_or(f64::NAN)
    };
    // token0 = WETH (18 decimals), token1 = USDC (6).
    let chain_price = (r("reserve1") / 1e6) / (r("reserve0") / 1e18);
    assert!(
        close(cascade_price, chain_price, 1e-9),
        "price after: cascade {cascade_price} vs chain {chain_price}"
    );
    let got = on_chain["amountOut"]
        .as_str()
        .unwrap_or("nan")
        .parse::<f64>()
        .unwrap_or(f64::NAN)
        / 1e6;
    assert!(
        close(proceeds, got, 1e-9),
        "proceeds: cascade {proceeds} vs chain {got}"
    );
}

/// A number the harness printed as a decimal string.
fn num_at(v: &Value, key: &str) -> f64 {
    v[key]
        .as_str()
        .unwrap_or("nan")
        .parse::<f64>()
        .unwrap_or(f64::NAN)
}

fn v3_curve_matches_the_pool_after_swaps(
    node: &Node,
    addresses: &Value,
    rpc: &Rpc,
    market: &cascade_chain::aave::Market,
    dir: &Path,
) {
    let pool = parse_address(addresses["uniswap"]["v3"]["pool"].as_str().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}"));
    let at = market.block.number;
    let pools = cascade_chain::dex::read_pools(rpc, at, &[pool]).unwrap_or_else(|e| panic!("{e}"));
    let cascade_chain::dex::DexPool::V3(v3) = &pools[0] else {
        panic!("the v3 pool was read as {:?}", pools[0]);
    };
    // Four positions: their eight ends are the initialized ticks.
    assert_eq!(v3.ticks.len(), 8, "{:?}", v3.ticks);
    let venues = cascade_chain::snapshot::venues(market, &pools).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.join("with-v3");
    write_market(market, &venues, &out).unwrap_or_else(|e| panic!("{e}"));
    let (snap, _) =
        cascade_io::load_snapshot(&out.join("snapshot.toml")).unwrap_or_else(|e| panic!("{e}"));
    let weth = snap.asset_idx("WETH").unwrap_or_else(|| panic!("no WETH"));
    let spec = snap.assets[weth].liquidity.curve.clone();
    assert!(matches!(spec, cascade_model::CurveSpec::Concentrated(_)));
    let mut curve = cascade_market::curve::Curve::from_spec(&spec);
    // USDC per WETH from a pool's sqrtPriceX96 (WETH 18 decimals, USDC 6).
    let weth_is_token0 = v3.token0 == market.reserves[weth].underlying;
    let usd_per_weth = |sqrt_x96: f64| {
        let p = (sqrt_x96 / 2f64.powi(96)).powi(2);
        if weth_is_token0 {
            p * 1e12
        } else {
            1.0 / (p * 1e12)
        }
    };
    let before = usd_per_weth(to_f64(v3.sqrt_price_x96));
    assert!(close(curve.spot_price(), before, 1e-12));
    // Sell 50 WETH (down through the narrow range's lower tick near 3,920), then spend 400,000
    // USDC (back up through that tick and the one near 4,080): the pool after each swap is
    // cascade's curve.
    for (token_in, amount_in, raw) in [
        ("WETH", 50.0, "50000000000000000000"),
        ("USDC", 400_000.0, "400000000000"),
    ] {
        let (got, tick_before) = {
            let (q, t) = (amount_in, curve.spot_price());
            if token_in == "WETH" {
                (curve.sell(q), t)
            } else {
                (curve.spend(q), t)
            }
        };
        let chain = node_script(
            node,
            "swap.js",
            &[("POOL", "v3"), ("TOKEN_IN", token_in), ("AMOUNT_IN", raw)],
        );
        let after = usd_per_weth(num_at(&chain["poolAfter"], "sqrtPriceX96"));
        // The swap crossed initialized ticks (the sale one, the buy the same one back and one more).
        let tick = |k: &str| chain[k]["tick"].as_i64().unwrap_or(0);
        let (lo, hi) = {
            let (a, b) = (tick("poolBefore"), tick("poolAfter"));
            (a.min(b), a.max(b))
        };
        let crossed = v3
            .ticks
            .iter()
            .filter(|(t, _)| (lo..=hi).contains(&i64::from(*t)))
            .count();
        assert!(
            crossed >= if token_in == "WETH" { 1 } else { 2 },
            "{token_in}: {crossed} ticks crossed: {chain}"
        );
        assert!(
            close(curve.spot_price(), after, 1e-9),
            "{token_in} in: price after, cascade {} vs chain {after} (before {tick_before})",
            curve.spot_price()
        );
        let decimals_out = if token_in == "WETH" { 1e6 } else { 1e18 };
        let chain_out = num_at(&chain, "amountOut") / decimals_out;
        assert!(
            close(got, chain_out, 1e-9),
            "{token_in} in: out cascade {got} vs chain {chain_out}"
        );
    }
    // `cascade import dex` at the same block writes the same WETH curve, and USDC's the other way.
    let symbols =
        cascade_chain::dex::token_symbols(rpc, at, &pools).unwrap_or_else(|e| panic!("{e}"));
    let text = cascade_chain::snapshot::dex_curves_toml(&pools, &symbols, at)
        .unwrap_or_else(|e| panic!("{e}"));
    let snapshot_text =
        std::fs::read_to_string(out.join("snapshot.toml")).unwrap_or_else(|e| panic!("{e}"));
    let weth_line = snapshot_text
        .lines()
        .find(|l| l.starts_with("liquidity = { curve = \"concentrated\""))
        .unwrap_or_else(|| panic!("{snapshot_text}"));
    assert!(text.contains(weth_line), "{text}");
    assert_eq!(text.matches("[[venue]]").count(), 2);
    assert!(text.contains("sells = \"USDC\"") && text.contains("quote_asset = \"WETH\""));
}

fn to_f64(x: alloy_primitives::U256) -> f64 {
    x.to_string().parse::<f64>().unwrap_or(f64::NAN)
}
