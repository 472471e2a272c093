//! Bad input: every problem is reported, each with file, line and field.

use cascade_io::{parse_scenario, snapshot_from_str};
use cascade_io::{Diagnostic, Format, Location, Severity};
use cascade_model::Snapshot;

const GOOD: &str = r#"name = "ok"
[[asset]]
id = "ETH"
kind = "native"
price = 2000.0
liquidity = { curve = "power_law", adv_usd = 1.0e8, k = 1.0, alpha = 0.5 }
[[asset]]
id = "USDC"
kind = "stable"
price = 1.0
liquidity = { curve = "power_law", adv_usd = 1.0e9, k = 1.0, alpha = 0.5 }
[[protocol]]
id = "lend"
kind = "lending"
[[protocol.reserve]]
asset = "ETH"
ltv = 0.80
liquidation_threshold = 0.825
liquidation_bonus = 0.05
[[protocol.reserve]]
asset = "USDC"
ltv = 0.80
liquidation_threshold = 0.85
liquidation_bonus = 0.05
[[account]]
id = "alice"
protocol = "lend"
collateral = { ETH = 10.0 }
debt = { USDC = 12000.0 }
"#;

fn errors(text: &str) -> Vec<Diagnostic> {
    match snapshot_from_str(text, Format::Toml, "s.toml") {
        Ok(_) => Vec::new(),
        Err(e) => e
            .diagnostics
            .items
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .collect(),
    }
}

fn has(errs: &[Diagnostic], line: u32, field: &str, msg: &str) -> bool {
    errs.iter().any(|d| {
        d.location == Location::Line(line)
            && d.field.contains(field)
            && d.message().contains(msg)
            && d.file == "s.toml"
    })
}

fn good() -> Snapshot {
    snapshot_from_str(GOOD, Format::Toml, "s.toml")
        .unwrap_or_else(|e| panic!("{e}"))
        .0
}

#[test]
fn the_good_snapshot_loads() {
    let s = good();
    assert_eq!(s.assets.len(), 2);
    assert_eq!(s.accounts.len(), 1);
    assert_eq!(s.positions.len(), 2);
    assert_eq!(s.positions.amount, vec![10.0, 12000.0]);
}

#[test]
fn every_problem_is_reported_with_its_line() {
    // Five independent problems in one file: all five are reported, not only the first.
    let bad = GOOD
        .replace("price = 2000.0", "price = -5.0") // line 5
        .replace(
            "ltv = 0.80\nliquidation_threshold = 0.825",
            "ltv = 0.90\nliquidation_threshold = 0.825",
        ) // line 17
        .replace(
            "liquidation_threshold = 0.85",
            "liquidation_threshold = 1.7",
        ) // line 23
        .replace(
            "collateral = { ETH = 10.0 }",
            "collateral = { ETH = -10.0 }",
        ) // line 28
        .replace(
            "protocol = \"lend\"\ncollateral",
            "protocol = \"lend\"\nemode_typo = 1\ncollateral",
        );
    let e = errors(&bad);
    assert!(
        has(&e, 5, "asset \"ETH\".price", "= -5, expected a number ≥ 0"),
        "{e:#?}"
    );
    assert!(
        has(
            &e,
            17,
            "reserve 1 (\"ETH\").ltv",
            "expected ltv ≤ liquidation_threshold"
        ),
        "{e:#?}"
    );
    assert!(
        has(
            &e,
            23,
            "liquidation_threshold",
            "= 1.7, expected a number in (0, 1]"
        ),
        "{e:#?}"
    );
    assert!(
        has(&e, 28, "account \"alice\".emode_typo", "unknown field"),
        "{e:#?}"
    );
    assert!(
        has(
            &e,
            29,
            "account \"alice\".collateral.ETH",
            "= -10, expected a finite number ≥ 0 (tokens)"
        ),
        "{e:#?}"
    );
    let shown = e[0].to_string();
    assert!(shown.starts_with("error: s.toml:"), "{shown}");
}

#[test]
fn unknown_and_duplicate_ids() {
    let dup = GOOD.replace("id = \"USDC\"", "id = \"ETH\"");
    let e = errors(&dup);
    assert!(
        has(&e, 8, "asset \"ETH\".id", "duplicate id; first on line 3"),
        "{e:#?}"
    );
    let unknown = GOOD.replace("debt = { USDC = 12000.0 }", "debt = { USDT = 12000.0 }");
    let e = errors(&unknown);
    assert!(has(&e, 29, "debt.USDT", "unknown asset \"USDT\""), "{e:#?}");
    let unknown_protocol = GOOD.replace("protocol = \"lend\"", "protocol = \"lnd\"");
    let e = errors(&unknown_protocol);
    assert!(
        has(
            &e,
            27,
            "account \"alice\".protocol",
            "unknown protocol \"lnd\""
        ),
        "{e:#?}"
    );
    let dup_acc = format!(
        "{GOOD}[[account]]\nid = \"alice\"\nprotocol = \"lend\"\ncollateral = {{ ETH = 1.0 }}\n"
    );
    let e = errors(&dup_acc);
    assert!(
        e.iter()
            .any(|d| d.message().contains("duplicate account id")),
        "{e:#?}"
    );
}

#[test]
fn non_finite_and_wrong_types() {
    let e = errors(&GOOD.replace("price = 2000.0", "price = nan"));
    assert!(has(&e, 5, "price", "expected a finite number"), "{e:#?}");
    let e = errors(&GOOD.replace("price = 2000.0", "price = inf"));
    assert!(has(&e, 5, "price", "expected a finite number"), "{e:#?}");
    let e = errors(&GOOD.replace("price = 2000.0", "price = \"2000\""));
    assert!(
        has(&e, 5, "price", "found a string, expected a number"),
        "{e:#?}"
    );
    let e = errors(&GOOD.replace(
        "liquidation_bonus = 0.05\n[[protocol.reserve]]",
        "liquidation_bonus = 0.25\n[[protocol.reserve]]",
    ));
    assert!(
        e.iter()
            .any(|d| d.message().contains("the bonus could not be paid")),
        "{e:#?}"
    );
    let e = errors(&GOOD.replace(
        "kind = \"lending\"",
        "kind = \"lending\"\nliquidation_rules = \"aave-v3.4\"",
    ));
    assert!(
        has(
            &e,
            15,
            "liquidation_rules",
            "= \"aave-v3.4\", expected \"aave-v3\" or \"aave-v3.3\""
        ),
        "{e:#?}"
    );
    let e = errors(&GOOD.replace(
        "kind = \"lending\"",
        "kind = \"lending\"\nliquidation_mechanism = \"auction\"",
    ));
    assert!(
        has(
            &e,
            15,
            "liquidation_mechanism",
            "= \"auction\", expected one of: fixed-bonus, dutch-auction, soft-bands, absorb"
        ),
        "{e:#?}"
    );
    let e = errors(&GOOD.replace(
        "kind = \"lending\"",
        "kind = \"lending\"\nmechanism = { bands = 3, cut = 1.5, tail = 1, colour = 2 }",
    ));
    assert!(
        has(&e, 15, "mechanism.bands", "a whole number in [4, 50]"),
        "{e:#?}"
    );
    assert!(has(&e, 15, "mechanism.cut", "a number in (0, 1]"), "{e:#?}");
    assert!(has(&e, 15, "mechanism.colour", "unknown"), "{e:#?}");
    assert_eq!(e.len(), 3, "{e:#?}");
    let e = errors(&GOOD.replace(
        "kind = \"lending\"",
        "kind = \"lending\"\nliquidation_rules = 3.3",
    ));
    assert!(has(&e, 15, "liquidation_rules", "found a number"), "{e:#?}");
    let e = errors(&GOOD.replace(
        "kind = \"lending\"",
        "kind = \"lending\"\ndiversification_cap = 0.0",
    ));
    assert!(
        has(&e, 15, "diversification_cap", "expected a number in (0, 1]"),
        "{e:#?}"
    );
    let e = errors(&GOOD.replace("kind = \"native\"", "kind = \"nativ\""));
    assert!(
        has(
            &e,
            4,
            "kind",
            "= \"nativ\", expected one of: native, governance"
        ),
        "{e:#?}"
    );
}

#[test]
fn derived_assets_need_an_underlying_and_no_cycles() {
    let lst = "[[asset]]\nid = \"stETH\"\nkind = \"lst\"\nliquidity = { curve = \"power_law\", adv_usd = 1.0e8, k = 1.0, alpha = 0.5 }\n";
    let e = errors(&GOOD.replacen("[[protocol]]", &format!("{lst}[[protocol]]"), 1));
    assert!(
        e.iter()
            .any(|d| d.field == "asset \"stETH\".underlying" && d.message().contains("missing")),
        "{e:#?}"
    );
    let missing = lst.replace("kind = \"lst\"", "kind = \"lst\"\nunderlying = \"WETH\"");
    let e = errors(&GOOD.replacen("[[protocol]]", &format!("{missing}[[protocol]]"), 1));
    assert!(
        e.iter()
            .any(|d| d.message().contains("unknown asset \"WETH\"")),
        "{e:#?}"
    );
    // A → B → A through underlyings.
    let cyc = "[[asset]]\nid = \"A\"\nkind = \"lst\"\nunderlying = \"B\"\nliquidity = { curve = \"power_law\", adv_usd = 1.0, k = 1.0, alpha = 0.5 }\n\
               [[asset]]\nid = \"B\"\nkind = \"bridged\"\nunderlying = \"A\"\nliquidity = { curve = \"power_law\", adv_usd = 1.0, k = 1.0, alpha = 0.5 }\n";
    let e = errors(&GOOD.replacen("[[protocol]]", &format!("{cyc}[[protocol]]"), 1));
    let cycles: Vec<_> = e.iter().filter(|d| d.message().contains("cycle")).collect();
    assert_eq!(cycles.len(), 1, "{e:#?}");
    assert!(cycles[0].message().contains("A → B → A"), "{e:#?}");
    // A derived asset with a price is refused (it is priced from its underlying).
    let priced = lst.replace(
        "kind = \"lst\"",
        "kind = \"lst\"\nunderlying = \"ETH\"\nprice = 1.0",
    );
    let e = errors(&GOOD.replacen("[[protocol]]", &format!("{priced}[[protocol]]"), 1));
    assert!(
        e.iter()
            .any(|d| d.field.ends_with(".price") && d.message().contains("priced from other state")),
        "{e:#?}"
    );
}

#[test]
fn empty_and_syntactically_broken_files() {
    let e = errors("");
    assert!(
        e.iter().any(|d| d.message().contains("no assets defined")),
        "{e:#?}"
    );
    let e = errors("name = \"x\"\n[[asset]\n");
    assert_eq!(e[0].location, Location::Line(2));
    assert!(e[0].message().starts_with("invalid TOML"));
    let e = match snapshot_from_str("{\"asset\": [}", Format::Json, "s.json") {
        Err(e) => e.diagnostics.items,
        Ok(_) => panic!("broken JSON loaded"),
    };
    assert!(e[0].message().starts_with("invalid JSON"), "{e:#?}");
}

#[test]
fn json_is_the_same_structure() {
    let json = r#"{
  "name": "j",
  "asset": [
    {"id": "ETH", "kind": "native", "price": 2000.0,
     "liquidity": {"curve": "power_law", "adv_usd": 1e8, "k": 1.0, "alpha": 0.5}},
    {"id": "USDC", "kind": "stable", "price": 1.0,
     "liquidity": {"curve": "power_law", "adv_usd": 1e9, "k": 1.0, "alpha": 0.5}}
  ],
  "protocol": [{"id": "lend", "kind": "lending", "reserve": [
    {"asset": "ETH", "ltv": 0.8, "liquidation_threshold": 0.825, "liquidation_bonus": 0.05},
    {"asset": "USDC", "ltv": 0.8, "liquidation_threshold": 1.85, "liquidation_bonus": 0.05}]}]
}"#;
    let e = match snapshot_from_str(json, Format::Json, "s.json") {
        Err(e) => e.diagnostics.items,
        Ok(_) => panic!("LT 1.85 accepted"),
    };
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!(e[0].location, Location::Line(11));
    let fixed = json.replace("1.85", "0.85");
    let (s, _) =
        snapshot_from_str(&fixed, Format::Json, "s.json").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.protocols[0].lending().map(|l| l.reserves.len()), Some(2));
}

#[test]
fn scenario_errors_name_the_line() {
    let s = good();
    let bad = "name = \"x\"\n[[shock]]\nasset = \"BTC\"\nprice_change = -0.4\n[[shock]]\nasset = \"ETH\"\nprice_change = -1.5\n";
    let e = match parse_scenario(bad, Format::Toml, "sc.toml", &s) {
        Err(e) => e.diagnostics.items,
        Ok(_) => panic!("bad scenario accepted"),
    };
    assert!(
        e.iter()
            .any(|d| d.location == Location::Line(3)
                && d.message().contains("unknown asset \"BTC\"")),
        "{e:#?}"
    );
    assert!(
        e.iter()
            .any(|d| d.location == Location::Line(7) && d.field == "shock 2.price_change"),
        "{e:#?}"
    );
    // One error for a shock of an unknown asset: its other fields are not reported as unknown.
    let e = match parse_scenario(
        "[[shock]]\nasset = \"stETH\"\ndiscount = 0.95\nliquidity_multiplier = 0.5\n",
        Format::Toml,
        "sc.toml",
        &s,
    ) {
        Err(e) => e.diagnostics.items,
        Ok(_) => panic!("bad scenario accepted"),
    };
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(e[0].message().contains("unknown asset \"stETH\""), "{e:#?}");
    let e = match parse_scenario(
        "[[shock]]\nasset = \"ETH\"\ndiscount = 0.9\n",
        Format::Toml,
        "sc.toml",
        &s,
    ) {
        Err(e) => e.diagnostics.items,
        Ok(_) => panic!("discount on a native asset accepted"),
    };
    assert!(e[0].message().contains("not an lst"), "{e:#?}");
}

#[test]
fn isolation_debt_ceiling_and_caps_are_warnings() {
    // ETH made isolated with a $10,000 ceiling while alice owes 12,000 USDC against it; supply cap 5 ETH
    // against her 10.
    let text = GOOD.replace(
        "liquidation_bonus = 0.05\n[[protocol.reserve]]\nasset = \"USDC\"",
        "liquidation_bonus = 0.05\ndebt_ceiling = 10000.0\nsupply_cap = 5.0\n[[protocol.reserve]]\nasset = \"USDC\"",
    );
    let (_, d) = snapshot_from_str(&text, Format::Toml, "s.toml").unwrap_or_else(|e| panic!("{e}"));
    let w: Vec<_> = d.warnings().collect();
    assert_eq!(w.len(), 2, "{w:#?}");
    assert!(
        w.iter().any(|x| x.field.ends_with(".debt_ceiling")
            && x.message()
                .contains("owe $12000, above the debt ceiling of $10000")),
        "{w:#?}"
    );
    assert!(
        w.iter()
            .any(|x| x.field.ends_with(".supply_cap") && x.location == Location::Line(15)),
        "{w:#?}"
    );
}

/// Bad CDP, AMM, receipt and bridge input: each gives an error naming its line and field.
#[test]
fn systemic_channel_bad_input() {
    let with = |extra_assets: &str, extra_protocols: &str| {
        let text = GOOD.replacen(
            "[[protocol]]",
            &format!("{extra_assets}{extra_protocols}[[protocol]]"),
            1,
        );
        errors(&text)
    };
    // A CDP without a stable asset.
    let e = with("", "[[protocol]]\nid = \"maker\"\nkind = \"cdp\"\n[[protocol.vault_type]]\nid = \"ETH-A\"\ncollateral = \"ETH\"\nliquidation_ratio = 1.45\n");
    assert!(
        e.iter()
            .any(|d| d.field == "protocol \"maker\".stable" && d.message().starts_with("missing")),
        "{e:#?}"
    );
    // A CDP whose stable is not a cdp_stable.
    let e = with("", "[[protocol]]\nid = \"maker\"\nkind = \"cdp\"\nstable = \"USDC\"\n[[protocol.vault_type]]\nid = \"ETH-A\"\ncollateral = \"ETH\"\nliquidation_ratio = 1.45\n");
    assert!(
        e.iter().any(|d| d
            .message()
            .contains("is of kind \"stable\"; expected a \"cdp_stable\" asset")),
        "{e:#?}"
    );
    // A pool with a non-positive reserve.
    let lp = "[[asset]]\nid = \"LP\"\nkind = \"lp\"\nliquidity = { curve = \"power_law\", adv_usd = 1.0e6, k = 1.0, alpha = 0.5 }\n";
    let e = with(lp, "[[protocol]]\nid = \"pool\"\nkind = \"amm\"\ninvariant = \"constant_product\"\nlp_asset = \"LP\"\nreserves = { ETH = 0.0, USDC = 1.0e6 }\n");
    assert!(
        e.iter().any(|d| d.field == "protocol \"pool\".reserves.ETH"
            && d.message().contains("expected a reserve > 0")),
        "{e:#?}"
    );
    // An lp asset no pool issues.
    let e = with(lp, "");
    assert!(
        e.iter()
            .any(|d| d.message().contains("no protocol issues it")),
        "{e:#?}"
    );
    // A bridged asset's loss outside [0, 1].
    let wh = "[[asset]]\nid = \"whETH\"\nkind = \"bridged\"\nunderlying = \"ETH\"\nbridge_loss = 1.5\nliquidity = { curve = \"power_law\", adv_usd = 1.0e6, k = 1.0, alpha = 0.5 }\n";
    let e = with(wh, "");
    assert!(
        e.iter().any(|d| d.field == "asset \"whETH\".bridge_loss"
            && d.message().contains("expected a number in [0, 1]")),
        "{e:#?}"
    );
    // A receipt token whose issuer is not a lending pool.
    let bridge = "[[protocol]]\nid = \"wormhole\"\nkind = \"bridge\"\nbridged = \"whETH\"\nunderlying = \"ETH\"\nlocked = 10.0\n";
    let rc = "[[asset]]\nid = \"rX\"\nkind = \"receipt\"\nunderlying = \"USDC\"\nissuer = \"wormhole\"\nliquidity = { curve = \"power_law\", adv_usd = 1.0e6, k = 1.0, alpha = 0.5 }\n";
    let e = with(
        &format!("{}{rc}", wh.replace("bridge_loss = 1.5\n", "")),
        bridge,
    );
    assert!(
        e.iter().any(|d| d.field == "asset \"rX\".issuer"
            && d.message()
                .contains("a receipt token is issued by a lending protocol")),
        "{e:#?}"
    );
}

#[test]
fn scenario_bridge_loss_outside_unit_interval() {
    let text = GOOD.replacen(
        "[[protocol]]",
        "[[asset]]\nid = \"whETH\"\nkind = \"bridged\"\nunderlying = \"ETH\"\nliquidity = { curve = \"power_law\", adv_usd = 1.0e6, k = 1.0, alpha = 0.5 }\n[[protocol]]\nid = \"wormhole\"\nkind = \"bridge\"\nbridged = \"whETH\"\nunderlying = \"ETH\"\nlocked = 10.0\n[[protocol]]",
        1,
    );
    let (s, _) = snapshot_from_str(&text, Format::Toml, "s.toml").unwrap_or_else(|e| panic!("{e}"));
    let e = match parse_scenario(
        "[[shock]]\nbridge = \"wormhole\"\nloss = 1.2\n",
        Format::Toml,
        "sc.toml",
        &s,
    ) {
        Err(e) => e.diagnostics.items,
        Ok(_) => panic!("loss 1.2 accepted"),
    };
    assert!(
        e.iter().any(|d| d.location == Location::Line(3)
            && d.field == "shock 1.loss"
            && d.message().contains("expected a number in [0, 1]")),
        "{e:#?}"
    );
    let e = match parse_scenario(
        "[[shock]]\nbridge = \"lend\"\nloss = 0.2\n",
        Format::Toml,
        "sc.toml",
        &s,
    ) {
        Err(e) => e.diagnostics.items,
        Ok(_) => panic!("a lending pool accepted as a bridge"),
    };
    assert!(
        e.iter().any(|d| d.message().contains("is not a bridge")),
        "{e:#?}"
    );
}

#[test]
fn a_vaults_collateral_outside_its_type_is_a_warning() {
    let text = GOOD.replacen(
        "[[protocol]]",
        "[[asset]]\nid = \"DAI\"\nkind = \"cdp_stable\"\nliquidity = { curve = \"power_law\", adv_usd = 1.0e8, k = 1.0, alpha = 0.5 }\n\
         [[protocol]]\nid = \"maker\"\nkind = \"cdp\"\nstable = \"DAI\"\n[[protocol.vault_type]]\nid = \"ETH-A\"\ncollateral = \"ETH\"\nliquidation_ratio = 1.45\n\
         [[protocol.vault_type]]\nid = \"USDC-A\"\ncollateral = \"USDC\"\nliquidation_ratio = 1.01\n[[protocol]]",
        1,
    ) + "[[account]]\nid = \"v\"\nprotocol = \"maker\"\nvault_type = \"ETH-A\"\ncollateral = { ETH = 10.0, USDC = 500.0 }\ndebt = { DAI = 5000.0 }\n";
    let (s, d) = snapshot_from_str(&text, Format::Toml, "s.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.accounts.vault_type[1], Some(0));
    let w: Vec<_> = d.warnings().collect();
    assert_eq!(w.len(), 1, "{w:#?}");
    assert!(
        w[0].message()
            .contains("hold \"USDC\", which counts for nothing: the type's collateral is \"ETH\""),
        "{w:#?}"
    );
    // A missing vault type is an error.
    let e = errors(&text.replace("vault_type = \"ETH-A\"\n", ""));
    assert!(
        e.iter()
            .any(|x| x.field == "account \"v\".vault_type"
                && x.message().contains("needs a vault_type")),
        "{e:#?}"
    );
}

#[test]
fn pool_venue_errors() {
    // USDC sells into "pool", which holds ETH and USDC; then a pool that does not hold it; then a
    // lending protocol named as a pool; then both coins selling into each other (a quote cycle).
    let lp = "[[asset]]\nid = \"LP\"\nkind = \"lp\"\nliquidity = { curve = \"power_law\", adv_usd = 1.0e6, k = 1.0, alpha = 0.5 }\n";
    let pool = "[[protocol]]\nid = \"pool\"\nkind = \"amm\"\ninvariant = \"constant_product\"\nlp_asset = \"LP\"\nreserves = { ETH = 100.0, USDC = 2.0e5 }\n";
    let venue = |t: &str, asset_curve_of: &str| {
        t.replacen(
            asset_curve_of,
            "liquidity = { curve = \"amm\", pool = \"pool\" }",
            1,
        )
    };
    let base = GOOD.replacen("[[protocol]]", &format!("{lp}{pool}[[protocol]]"), 1);
    let usdc_curve = "liquidity = { curve = \"power_law\", adv_usd = 1.0e9, k = 1.0, alpha = 0.5 }";
    let (s, _) = snapshot_from_str(&venue(&base, usdc_curve), Format::Toml, "s.toml")
        .unwrap_or_else(|e| panic!("{e}"));
    let usdc = s.asset_idx("USDC").unwrap_or(0);
    assert_eq!(s.assets[usdc].liquidity.quote_asset, s.asset_idx("ETH"));
    assert_eq!(
        s.assets[usdc].liquidity.curve,
        cascade_model::CurveSpec::ConstantProduct(cascade_model::PoolDepth {
            base: 2.0e5,
            quote: 100.0,
            fee: 0.0
        })
    );
    let e = errors(&venue(
        &base.replace(
            "reserves = { ETH = 100.0, USDC = 2.0e5 }",
            "reserves = { ETH = 100.0, LP = 5.0 }",
        ),
        usdc_curve,
    ));
    assert!(
        e.iter()
            .any(|d| d.message().contains("pool \"pool\" does not hold \"USDC\"")),
        "{e:#?}"
    );
    let e = errors(&venue(&base, usdc_curve).replace("pool = \"pool\" }", "pool = \"lend\" }"));
    assert!(
        e.iter()
            .any(|d| d.message().contains("protocol \"lend\" is not an amm pool")),
        "{e:#?}"
    );
    let eth_curve = "liquidity = { curve = \"power_law\", adv_usd = 1.0e8, k = 1.0, alpha = 0.5 }";
    let e = errors(&venue(&venue(&base, usdc_curve), eth_curve));
    assert!(e.iter().any(|d| d.message().contains("cycle")), "{e:#?}");
}

/// An algorithmic stablecoin "terra" issuing UST against LUNA (docs/algostable.md, docs/formats.md).
const ALGO: &str = r#"name = "algo"
[[asset]]
id = "LUNA"
kind = "governance"
price = 80.0
liquidity = { curve = "power_law", adv_usd = 1.0e9, k = 1.0, alpha = 0.5 }
[[asset]]
id = "UST"
kind = "algostable"
liquidity = { curve = "power_law", adv_usd = 1.0e9, k = 0.0, alpha = 0.5 }
[[asset]]
id = "stLUNA"
kind = "lst"
underlying = "LUNA"
liquidity = { curve = "power_law", adv_usd = 1.0e9, k = 1.0, alpha = 0.5 }
[[protocol]]
id = "terra"
kind = "algostable"
stable = "UST"
absorber = "LUNA"
redemption_cap_usd_per_round = 2.93e8
panic_backing = 1.0
floor = 0.0
stable_supply = 1.8e10
absorber_supply = 3.5e8
"#;

#[test]
fn an_algostable_loads() {
    let (s, _) = snapshot_from_str(ALGO, Format::Toml, "s.toml").unwrap_or_else(|e| panic!("{e}"));
    let a = s.protocols[0]
        .algostable()
        .unwrap_or_else(|| panic!("not an algostable"));
    assert_eq!(
        (a.stable, a.absorber),
        (
            s.asset_idx("UST").unwrap_or(9),
            s.asset_idx("LUNA").unwrap_or(9)
        )
    );
    assert_eq!(a.redemption_cap_usd_per_round, 2.93e8);
    assert_eq!((a.panic_backing, a.floor), (1.0, 0.0));
    assert_eq!((a.stable_supply, a.absorber_supply), (1.8e10, 3.5e8));
    // panic_backing and floor default to 1 and 0.
    let text = ALGO
        .replace("panic_backing = 1.0\n", "")
        .replace("floor = 0.0\n", "");
    let (s, _) = snapshot_from_str(&text, Format::Toml, "s.toml").unwrap_or_else(|e| panic!("{e}"));
    let a = s.protocols[0]
        .algostable()
        .unwrap_or_else(|| panic!("not an algostable"));
    assert_eq!((a.panic_backing, a.floor), (1.0, 0.0));
}

#[test]
fn algostable_bad_fields() {
    // The protocol's table starts on line 16 of ALGO, its fields on lines 17–25.
    let bad = |from: &str, to: &str| {
        let t = ALGO.replace(from, to);
        assert_ne!(t, ALGO, "{from}");
        errors(&t)
    };
    let e = bad(
        "redemption_cap_usd_per_round = 2.93e8",
        "redemption_cap_usd_per_round = -1.0",
    );
    assert!(
        has(
            &e,
            21,
            "protocol \"terra\".redemption_cap_usd_per_round",
            "= -1, expected a number ≥ 0"
        ),
        "{e:#?}"
    );
    let e = bad("floor = 0.0", "floor = 1.5");
    assert!(
        has(
            &e,
            23,
            "protocol \"terra\".floor",
            "= 1.5, expected a number in [0, 1]"
        ),
        "{e:#?}"
    );
    let e = bad("floor = 0.0", "floor = -0.1");
    assert!(
        has(
            &e,
            23,
            "protocol \"terra\".floor",
            "expected a number in [0, 1]"
        ),
        "{e:#?}"
    );
    let e = bad("panic_backing = 1.0", "panic_backing = 0.0");
    assert!(
        has(
            &e,
            22,
            "protocol \"terra\".panic_backing",
            "expected a number > 0"
        ),
        "{e:#?}"
    );
    let e = bad("stable_supply = 1.8e10", "stable_supply = -5.0");
    assert!(
        has(
            &e,
            24,
            "protocol \"terra\".stable_supply",
            "expected a number ≥ 0"
        ),
        "{e:#?}"
    );
    let e = bad("absorber_supply = 3.5e8", "absorber_supply = 0.0");
    assert!(
        has(
            &e,
            25,
            "protocol \"terra\".absorber_supply",
            "expected a number > 0"
        ),
        "{e:#?}"
    );
    let e = bad("absorber_supply = 3.5e8\n", "");
    assert!(
        has(&e, 16, "protocol \"terra\".absorber_supply", "missing"),
        "{e:#?}"
    );
    // Unknown and wrong-kind assets.
    let e = bad("stable = \"UST\"", "stable = \"USTC\"");
    assert!(
        has(
            &e,
            19,
            "protocol \"terra\".stable",
            "unknown asset \"USTC\""
        ),
        "{e:#?}"
    );
    let e = bad("absorber = \"LUNA\"", "absorber = \"LUNC\"");
    assert!(
        has(
            &e,
            20,
            "protocol \"terra\".absorber",
            "unknown asset \"LUNC\""
        ),
        "{e:#?}"
    );
    let e = bad("stable = \"UST\"", "stable = \"LUNA\"");
    assert!(
        has(
            &e,
            19,
            "protocol \"terra\".stable",
            "asset \"LUNA\" is of kind \"governance\"; expected a \"algostable\" asset"
        ),
        "{e:#?}"
    );
    let e = bad("absorber = \"LUNA\"", "absorber = \"stLUNA\"");
    assert!(
        has(
            &e,
            20,
            "protocol \"terra\".absorber",
            "asset \"stLUNA\" is of kind \"lst\"; the absorber must be an exogenous asset"
        ),
        "{e:#?}"
    );
    let e = bad("absorber = \"LUNA\"", "absorber = \"UST\"");
    assert!(
        has(&e, 20, "protocol \"terra\".absorber", "kind \"algostable\""),
        "{e:#?}"
    );
}

#[test]
fn an_algostable_asset_needs_exactly_one_issuer() {
    // No issuer: the protocol is gone (UST's table on line 7).
    let alone = &ALGO[..ALGO.find("[[protocol]]").unwrap_or(ALGO.len())];
    let e = errors(alone);
    assert!(
        has(
            &e,
            7,
            "asset \"UST\".kind",
            "no protocol issues it; a \"algostable\" asset must be an algostable protocol's stable"
        ),
        "{e:#?}"
    );
    // Two issuers.
    let proto = &ALGO[ALGO.find("[[protocol]]").unwrap_or(0)..];
    let twice = format!(
        "{ALGO}{}",
        proto.replace("id = \"terra\"", "id = \"terra2\"")
    );
    let e = errors(&twice);
    assert!(
        has(
            &e,
            7,
            "asset \"UST\".kind",
            "2 protocols issue it; expected one"
        ),
        "{e:#?}"
    );
}

#[test]
fn redemptions_need_an_algostable() {
    let (s, _) = snapshot_from_str(ALGO, Format::Toml, "s.toml").unwrap_or_else(|e| panic!("{e}"));
    let sc = parse_scenario(
        "[[shock]]\nprotocol = \"terra\"\nredemptions_usd = 2.0e9\n",
        Format::Toml,
        "sc.toml",
        &s,
    );
    let sc = sc.unwrap_or_else(|e| panic!("{e}")).0;
    assert_eq!(sc.shocks[0].redemptions_usd, Some(2.0e9));
    assert_eq!(sc.shocks[0].protocol, Some(0));
}

/// A debt of 1.7e308 ETH at 2000 USD is worth more than any f64; it is refused at load,
/// naming the line and field, while 1.5e308 USDC at 1 USD is a (huge) finite amount and loads.
#[test]
fn amounts_not_finite_in_usd_are_refused() {
    let bad = GOOD.replace("debt = { USDC = 12000.0 }", "debt = { ETH = 1.7e308 }");
    let e = errors(&bad);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(
        has(
            &e,
            29,
            "account \"alice\".debt.ETH",
            "= 1.7e308 tokens at 2000 USD each is not a finite USD value"
        ),
        "{e:#?}"
    );
    let fine = GOOD.replace("debt = { USDC = 12000.0 }", "debt = { USDC = 1.5e308 }");
    assert!(errors(&fine).is_empty());
}

/// A protocol's holdings are checked the same way: an insurance fund of 1e308 ETH at 2000 USD is
/// refused (1e308 USDC at 1 USD is not), and so is a reserve supply of 1e306 ETH (2e309 USD).
#[test]
fn protocol_amounts_not_finite_in_usd_are_refused() {
    let bad = GOOD
        .replace(
            "kind = \"lending\"\n",
            "kind = \"lending\"\ninsurance_fund = { ETH = 1e308, USDC = 1e308 }\n",
        )
        .replace(
            "asset = \"ETH\"\nltv = 0.80",
            "asset = \"ETH\"\nsupplied = 1e306\nltv = 0.80",
        );
    let e = errors(&bad);
    let fields: Vec<&str> = e.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "protocol \"lend\".insurance_fund.ETH",
            "protocol \"lend\" reserve \"ETH\".supplied"
        ],
        "{e:#?}"
    );
    assert!(e[0]
        .message()
        .starts_with("= 1e308 tokens at 2000 USD each"));
}

#[test]
fn an_assumed_liquidity_curve_loads_with_a_warning() {
    let text = "name = \"a\"\n[[asset]]\nid = \"ETH\"\nkind = \"native\"\nprice = 2000.0\n\
                liquidity = { curve = \"power_law\", adv_usd = 1e6, k = 0.1, alpha = 0.5, assumed = true }\n";
    let (s, d) = snapshot_from_str(text, Format::Toml, "s.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.assets.len(), 1);
    assert_eq!(d.items.len(), 1, "{d:?}");
    assert!(
        has(&d.items, 6, "assumed", "an assumed curve, not measured"),
        "{d:?}"
    );
    // `assumed = false` is a measured curve: no warning.
    let (_, d) = snapshot_from_str(&text.replace("true", "false"), Format::Toml, "s.toml")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(d.items.is_empty(), "{d:?}");
}

#[test]
fn concentrated_curves_load_write_back_and_name_bad_ranges() {
    let eth_curve = "liquidity = { curve = \"power_law\", adv_usd = 1.0e8, k = 1.0, alpha = 0.5 }";
    let with = |curve: &str| GOOD.replacen(eth_curve, curve, 1);
    let good = "liquidity = { curve = \"concentrated\", price = 2000.0, fee = 0.003, ranges = [[1000.0, 4000.0, 5.0e4], [1900.0, 2100.0, 2.0e5]], quote_asset = \"USDC\" }";
    let (s, _) =
        snapshot_from_str(&with(good), Format::Toml, "s.toml").unwrap_or_else(|e| panic!("{e}"));
    let eth = s.asset_idx("ETH").unwrap_or(0);
    let cascade_model::CurveSpec::Concentrated(c) = &s.assets[eth].liquidity.curve else {
        panic!("{:?}", s.assets[eth].liquidity.curve);
    };
    assert_eq!((c.price, c.fee, c.ranges.len()), (2000.0, 0.003, 2));
    assert_eq!(
        c.ranges[1],
        cascade_model::LiquidityRange {
            lower: 1900.0,
            upper: 2100.0,
            liquidity: 2.0e5
        }
    );
    // Written back and read again: the same curve.
    let text = cascade_io::write::snapshot_to_toml(&s, &[], true);
    let (again, _) =
        snapshot_from_str(&text, Format::Toml, "s.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(again.assets[eth].liquidity, s.assets[eth].liquidity);
    // Bad ranges, each named with its index, on the asset's line (line 6).
    let e = errors(&with(
        &good.replace("[1000.0, 4000.0, 5.0e4]", "[4000.0, 1000.0, 5.0e4]"),
    ));
    assert!(has(&e, 6, "ranges[0]", "above the lower price"), "{e:#?}");
    let e = errors(&with(
        &good.replace("[1900.0, 2100.0, 2.0e5]", "[1900.0, 2100.0, -1.0]"),
    ));
    assert!(has(&e, 6, "ranges[1]", "liquidity ≥ 0"), "{e:#?}");
    let e = errors(&with(
        &good.replace("[1900.0, 2100.0, 2.0e5]", "[1900.0, 2100.0]"),
    ));
    assert!(
        has(&e, 6, "ranges[1]", "[lower, upper, liquidity]"),
        "{e:#?}"
    );
    let e = errors(&with(
        "liquidity = { curve = \"concentrated\", price = 2000.0, ranges = [[1.0, 2.0, 0.0]] }",
    ));
    assert!(has(&e, 6, "ranges", "no range has liquidity"), "{e:#?}");
    let e = errors(&with(
        "liquidity = { curve = \"concentrated\", price = 2000.0 }",
    ));
    assert!(has(&e, 6, "ranges", "missing"), "{e:#?}");
    let e = errors(&with(
        "liquidity = { curve = \"concentrated\", price = -1.0, ranges = [[1.0, 2.0, 1.0]] }",
    ));
    assert!(has(&e, 6, "price", ""), "{e:#?}");
}
