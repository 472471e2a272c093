//! Contagion analytics of a snapshot (docs/contagion.md#contagion-analytics): the exposure graph between protocols, contagion
//! coefficients by bisection over the cascade, recursive-leverage loops, and concentration.

use serde::Serialize;

use cascade_engine::{run_prepared, Options, Prepared};
use cascade_market::liquidity::liquidity_within_slippage_usd;
use cascade_model::{AssetIdx, AssetKind, ProtocolParams, Scenario, Shock, Side, Snapshot};

/// One edge of the exposure graph: `from` holds or accepts as collateral `usd` of what `to` owes or
/// backs (`kind`: `receipt`, `stablecoin`, `lp`, `bridged`), or the two share collateral
/// (`shared_collateral`: Σ over assets of the smaller of their two holdings, USD; listed once per pair).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub kind: String,
    pub asset: String,
    pub usd: f64,
}

/// Collateral value per (protocol, asset) at snapshot prices.
fn collateral_usd(s: &Snapshot, prices: &[f64]) -> Vec<Vec<f64>> {
    let t = s.totals();
    t.iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(a, x)| x[0] * prices[a])
                .collect()
        })
        .collect()
}

/// The protocol that issues or backs asset `a`, and how.
fn issuer(s: &Snapshot, a: AssetIdx) -> Option<(usize, &'static str)> {
    let asset = &s.assets[a];
    if let (AssetKind::Receipt, Some(p)) = (asset.kind, asset.issuer) {
        return Some((p, "receipt"));
    }
    s.protocols
        .iter()
        .enumerate()
        .find_map(|(p, x)| match &x.params {
            ProtocolParams::Cdp(c) if c.stable == a => Some((p, "stablecoin")),
            ProtocolParams::Amm(m) if m.lp_asset == a => Some((p, "lp")),
            ProtocolParams::Bridge(b) if b.bridged == a => Some((p, "bridged")),
            _ => None,
        })
}

/// The exposure graph of a snapshot, at snapshot prices.
/// `prepared` is `s` made ready to run ([`Prepared::new`]), built once by the caller: its prices
/// include the issuers' (LP tokens, CDP stables).
pub fn exposure_graph(s: &Snapshot, prepared: &Prepared) -> Vec<Edge> {
    let prices = &prepared.initial_prices;
    let held = collateral_usd(s, prices);
    let mut edges = Vec::new();
    for (p, row) in held.iter().enumerate() {
        for (a, &usd) in row.iter().enumerate() {
            if usd <= 0.0 {
                continue;
            }
            if let Some((q, kind)) = issuer(s, a) {
                if q != p {
                    edges.push(Edge {
                        from: s.protocols[p].id.clone(),
                        to: s.protocols[q].id.clone(),
                        kind: kind.into(),
                        asset: s.assets[a].id.clone(),
                        usd,
                    });
                }
            }
        }
    }
    for p in 0..held.len() {
        for q in (p + 1)..held.len() {
            for (a, (x, y)) in held[p].iter().zip(&held[q]).enumerate() {
                let overlap = x.min(*y);
                if overlap > 0.0 {
                    edges.push(Edge {
                        from: s.protocols[p].id.clone(),
                        to: s.protocols[q].id.clone(),
                        kind: "shared_collateral".into(),
                        asset: s.assets[a].id.clone(),
                        usd: overlap,
                    });
                }
            }
        }
    }
    edges
}

/// The graph as a CSV edge list: a `from,to,kind,asset,usd` header, then one row per edge (fields
/// with a comma, quote or newline quoted; `usd` written in full precision).
pub fn to_edge_csv(edges: &[Edge]) -> String {
    let q = |x: &str| {
        if x.contains([',', '"', '\n']) {
            format!("\"{}\"", x.replace('"', "\"\""))
        } else {
            x.to_string()
        }
    };
    let mut csv = String::from("from,to,kind,asset,usd\n");
    for e in edges {
        csv.push_str(&format!(
            "{},{},{},{},{:?}\n",
            q(&e.from),
            q(&e.to),
            q(&e.kind),
            q(&e.asset),
            e.usd
        ));
    }
    csv
}

/// The graph as Graphviz DOT (claims as solid edges, shared collateral as dashed undirected ones).
pub fn to_dot(s: &Snapshot, edges: &[Edge]) -> String {
    let q = |x: &str| format!("\"{}\"", x.replace('\\', "\\\\").replace('"', "\\\""));
    let mut o = String::from("digraph exposures {\n  rankdir=LR;\n");
    for p in &s.protocols {
        o.push_str(&format!(
            "  {} [shape=box, label={}];\n",
            q(&p.id),
            q(&format!("{} ({})", p.id, p.kind.name()))
        ));
    }
    for e in edges {
        let style = if e.kind == "shared_collateral" {
            ", style=dashed, dir=none"
        } else {
            ""
        };
        o.push_str(&format!(
            "  {} -> {} [label={}{style}];\n",
            q(&e.from),
            q(&e.to),
            q(&format!("{} {} ${:.0}", e.kind, e.asset, e.usd))
        ));
    }
    o.push_str("}\n");
    o
}

/// Contagion coefficient of asset `asset` on protocol `protocol` (docs/contagion.md#contagion-coefficients).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coefficient {
    pub asset: String,
    pub protocol: String,
    /// Smallest price drop of the asset (0.3 = −30%) at which the protocol realises bad debt; `None`
    /// if it does not even at a 99% drop.
    pub threshold_drop: Option<f64>,
    /// Slope of the protocol's bad debt beyond that point: USD per percentage point of further drop
    /// (measured over the next 5 points).
    pub slope_usd_per_pct: Option<f64>,
    /// Round in which the first bad debt is realised at the threshold.
    pub rounds_to_insolvency: Option<u32>,
}

/// Bisection steps: the threshold is located to 0.99/2¹⁴ ≈ 0.006 percentage points.
pub const COEFFICIENT_STEPS: usize = 14;
const MAX_DROP: f64 = 0.99;

/// The contagion coefficient matrix: for each priced (non-derived) asset that some account holds or
/// owes, and each protocol, by bisection over the cascade (a drop of that asset alone, everything else
/// as in the snapshot).
pub fn contagion_coefficients(s: &Snapshot, prepared: &Prepared) -> Vec<Coefficient> {
    let options = Options {
        breakers: true,
        detail: true,
        ..Options::default()
    };
    let run = |a: AssetIdx, drop: f64| {
        let sc = Scenario {
            name: format!("{} −{:.2}%", s.assets[a].id, drop * 100.0),
            shocks: vec![Shock {
                asset: Some(a),
                price_change: Some(-drop),
                ..Shock::none()
            }],
            ..Scenario::baseline()
        };
        run_prepared(prepared, s, &sc, &options)
    };
    let used: Vec<bool> = (0..s.assets.len())
        .map(|a| s.positions.asset.iter().any(|&x| x as usize == a))
        .collect();
    let lending_like: Vec<usize> = (0..s.protocols.len())
        .filter(|&p| {
            matches!(
                s.protocols[p].params,
                ProtocolParams::Lending(_)
                    | ProtocolParams::Cdp(_)
                    | ProtocolParams::Clearinghouse(_)
            )
        })
        .collect();
    let mut out = Vec::new();
    for (a, &is_used) in used.iter().enumerate() {
        if !is_used || !s.assets[a].kind.is_exogenous() {
            continue;
        }
        let at_max = run(a, MAX_DROP);
        for &p in &lending_like {
            // Insolvent debt: bad debt plus shortfall left on open accounts (a deeply underwater
            // account may be left unliquidated when no liquidator profits; docs/contagion.md).
            let bad = |r: &cascade_engine::StressResult| {
                r.protocols[p].bad_debt_usd + r.protocols[p].shortfall_usd
            };
            let mut c = Coefficient {
                asset: s.assets[a].id.clone(),
                protocol: s.protocols[p].id.clone(),
                threshold_drop: None,
                slope_usd_per_pct: None,
                rounds_to_insolvency: None,
            };
            if bad(&at_max) > 0.0 {
                let (mut lo, mut hi) = (0.0, MAX_DROP);
                if bad(&run(a, 0.0)) > 0.0 {
                    hi = 0.0;
                } else {
                    for _ in 0..COEFFICIENT_STEPS {
                        let m = 0.5 * (lo + hi);
                        if bad(&run(a, m)) > 0.0 {
                            hi = m;
                        } else {
                            lo = m;
                        }
                    }
                }
                let at = run(a, hi);
                let further = run(a, (hi + 0.05).min(MAX_DROP));
                let span = ((hi + 0.05).min(MAX_DROP) - hi) * 100.0;
                c.threshold_drop = Some(hi);
                c.slope_usd_per_pct = (span > 0.0).then(|| (bad(&further) - bad(&at)) / span);
                c.rounds_to_insolvency = at
                    .rounds
                    .iter()
                    .find(|r| r.bad_debt.iter().any(|b| b.protocol == s.protocols[p].id))
                    .map(|r| r.round);
            }
            out.push(c);
        }
    }
    out
}

/// Concentration of one collateral asset across all holders (docs/contagion.md#concentration).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Concentration {
    pub asset: String,
    pub collateral_usd: f64,
    pub holders: usize,
    /// Herfindahl–Hirschman index of the holders' shares (1 = one holder).
    pub hhi: f64,
    /// Share held by the ten largest holders.
    pub top10_share: f64,
    /// Value sellable within 2% slippage on the asset's curve ÷ collateral value (> 1: the market could
    /// absorb all of it within 2%).
    pub liquidity_coefficient: f64,
}

/// Concentration of every asset held as collateral.
pub fn concentration(s: &Snapshot, prepared: &Prepared) -> Vec<Concentration> {
    let (market, prices) = (prepared.market(), &prepared.initial_prices);
    let n_assets = s.assets.len();
    let mut by_asset: Vec<Vec<f64>> = vec![Vec::new(); n_assets];
    let mut holding: Vec<std::collections::HashMap<u32, f64>> = vec![Default::default(); n_assets];
    let pos = &s.positions;
    for i in 0..pos.len() {
        if pos.side[i] == Side::Collateral && pos.amount[i] > 0.0 {
            *holding[pos.asset[i] as usize]
                .entry(pos.account[i])
                .or_insert(0.0) += pos.amount[i];
        }
    }
    for a in 0..n_assets {
        let mut v: Vec<f64> = holding[a].values().map(|q| q * prices[a]).collect();
        v.sort_by(|x, y| y.total_cmp(x));
        by_asset[a] = v;
    }
    (0..n_assets)
        .filter(|&a| !by_asset[a].is_empty())
        .map(|a| {
            let v = &by_asset[a];
            let total: f64 = v.iter().sum();
            let hhi = if total > 0.0 {
                v.iter().map(|x| (x / total).powi(2)).sum()
            } else {
                0.0
            };
            let top10 = if total > 0.0 {
                v.iter().take(10).sum::<f64>() / total
            } else {
                0.0
            };
            let sellable = liquidity_within_slippage_usd(market, a, prices, 0.02);
            Concentration {
                asset: s.assets[a].id.clone(),
                collateral_usd: total,
                holders: v.len(),
                hhi,
                top10_share: top10,
                liquidity_coefficient: if total > 0.0 { sellable / total } else { 0.0 },
            }
        })
        .collect()
}

/// The family of an asset for recursive collateralization: the root of its `underlying` chain (stETH,
/// whETH → ETH; aUSDC → USDC), with every USD stable (stable, cdp_stable) in one family "USD".
fn family(s: &Snapshot, a: AssetIdx) -> String {
    let a = s.root_asset(a);
    match s.assets[a].kind {
        AssetKind::Stable | AssetKind::CdpStable => "USD".into(),
        _ => s.assets[a].id.clone(),
    }
}

/// Looped positions of one (collateral, debt) pair (docs/contagion.md#leverage-loops: supply stETH, borrow ETH).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoopPair {
    pub collateral: String,
    pub debt: String,
    /// Through a receipt token of another protocol (a loop across protocols).
    pub cross_protocol: bool,
    pub accounts: usize,
    pub collateral_usd: f64,
    pub debt_usd: f64,
    /// Largest account leverage (collateral value / equity) in the pair.
    pub max_leverage: f64,
}

/// One looped account: its largest looped pair and its leverage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoopedAccount {
    pub account: String,
    pub protocol: String,
    pub collateral: String,
    pub debt: String,
    pub collateral_usd: f64,
    pub debt_usd: f64,
    /// Collateral value / equity (all of the account's collateral and debt).
    pub leverage: f64,
}

/// Looped accounts listed, the largest by collateral value first.
pub const MAX_LISTED_ACCOUNTS: usize = 100;

/// Recursive collateralization of a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Loops {
    pub pairs: Vec<LoopPair>,
    /// The largest looped accounts (at most [`MAX_LISTED_ACCOUNTS`]).
    pub accounts: Vec<LoopedAccount>,
    /// Accounts with at least one loop.
    pub looped_accounts: usize,
    /// Share of the scenario's system bad debt that the looped accounts account for: bad debt minus bad
    /// debt of the same run without their positions, over bad debt (`None` without bad debt).
    pub looped_bad_debt_share: Option<f64>,
}

/// Loops per account: a collateral and a debt of the same family. Leverage = collateral value / equity.
pub fn loops(s: &Snapshot, prepared: &Prepared, scenario: &Scenario) -> Loops {
    let prices = &prepared.initial_prices;
    let fam: Vec<String> = (0..s.assets.len()).map(|a| family(s, a)).collect();
    let n = s.accounts.len();
    let mut coll: Vec<Vec<(AssetIdx, f64)>> = vec![Vec::new(); n];
    let mut debt: Vec<Vec<(AssetIdx, f64)>> = vec![Vec::new(); n];
    let pos = &s.positions;
    for i in 0..pos.len() {
        let (acc, a) = (pos.account[i] as usize, pos.asset[i] as usize);
        let v = pos.amount[i] * prices[a];
        match pos.side[i] {
            Side::Collateral => coll[acc].push((a, v)),
            Side::Debt => debt[acc].push((a, v)),
        }
    }
    let mut pairs: Vec<LoopPair> = Vec::new();
    let mut listed: Vec<LoopedAccount> = Vec::new();
    let mut looped = vec![false; n];
    for acc in 0..n {
        let (c_total, d_total): (f64, f64) = (
            coll[acc].iter().map(|x| x.1).sum(),
            debt[acc].iter().map(|x| x.1).sum(),
        );
        let equity = c_total - d_total;
        for &(c, cv) in &coll[acc] {
            for &(d, dv) in &debt[acc] {
                if fam[c] != fam[d] || cv <= 0.0 || dv <= 0.0 {
                    continue;
                }
                let p = s.accounts.protocol[acc] as usize;
                let lev = if equity > 0.0 {
                    c_total / equity
                } else {
                    f64::INFINITY
                };
                match listed.iter_mut().find(|x| {
                    looped[acc]
                        && x.account == s.accounts.id[acc]
                        && x.protocol == s.protocols[p].id
                }) {
                    Some(x) if cv > x.collateral_usd => {
                        x.collateral = s.assets[c].id.clone();
                        x.debt = s.assets[d].id.clone();
                        x.collateral_usd = cv;
                        x.debt_usd = dv;
                    }
                    Some(_) => {}
                    None => listed.push(LoopedAccount {
                        account: s.accounts.id[acc].to_string(),
                        protocol: s.protocols[p].id.clone(),
                        collateral: s.assets[c].id.clone(),
                        debt: s.assets[d].id.clone(),
                        collateral_usd: cv,
                        debt_usd: dv,
                        leverage: lev,
                    }),
                }
                looped[acc] = true;
                let cross = s.assets[c].kind == AssetKind::Receipt
                    && s.assets[c].issuer.is_some_and(|q| q != p);
                let leverage = if equity > 0.0 {
                    c_total / equity
                } else {
                    f64::INFINITY
                };
                let key = (s.assets[c].id.clone(), s.assets[d].id.clone(), cross);
                match pairs
                    .iter_mut()
                    .find(|x| (x.collateral.clone(), x.debt.clone(), x.cross_protocol) == key)
                {
                    Some(x) => {
                        x.accounts += 1;
                        x.collateral_usd += cv;
                        x.debt_usd += dv;
                        x.max_leverage = x.max_leverage.max(leverage);
                    }
                    None => pairs.push(LoopPair {
                        collateral: key.0,
                        debt: key.1,
                        cross_protocol: cross,
                        accounts: 1,
                        collateral_usd: cv,
                        debt_usd: dv,
                        max_leverage: leverage,
                    }),
                }
            }
        }
    }
    let options = Options {
        breakers: true,
        detail: false,
        ..Options::default()
    };
    let with = run_prepared(prepared, s, scenario, &options)
        .system
        .bad_debt_usd;
    let looped_bad_debt_share = (with > 0.0).then(|| {
        let mut t = s.clone();
        for i in 0..t.positions.len() {
            if looped[t.positions.account[i] as usize] {
                t.positions.amount[i] = 0.0;
            }
        }
        let without = cascade_engine::run_with(&t, scenario, &options)
            .system
            .bad_debt_usd;
        ((with - without) / with).clamp(0.0, 1.0)
    });
    listed.sort_by(|a, b| {
        b.collateral_usd
            .total_cmp(&a.collateral_usd)
            .then(a.account.cmp(&b.account))
    });
    listed.truncate(MAX_LISTED_ACCOUNTS);
    Loops {
        pairs,
        accounts: listed,
        looped_accounts: looped.iter().filter(|x| **x).count(),
        looped_bad_debt_share,
    }
}

/// DebtRank of a snapshot's protocols (docs/contagion.md#debtrank-of-a-snapshot): the network of the exposure graph's claims
/// (`from` is the creditor, `to` the debtor), each protocol's **equity** its first-loss buffer
/// (insurance fund or surplus buffer) at snapshot prices, its **weight** its TVL. A claim larger than
/// the buffer in front of a protocol's users transmits full distress — a conservative reading: in
/// DeFi the capital that stands before suppliers is that buffer, not the supplied value. Each
/// protocol's DebtRank is that of its full distress alone (`variant` as in
/// [`crate::debtrank::Variant`]).
pub fn snapshot_debtrank(
    s: &Snapshot,
    prepared: &Prepared,
    variant: crate::debtrank::Variant,
) -> Vec<(String, f64)> {
    use crate::debtrank::{each_node_alone, DebtRankOptions};
    use crate::network::NetworkBuilder;
    let prices = &prepared.initial_prices;
    let mut b = NetworkBuilder::new();
    let ids: Vec<usize> = s.protocols.iter().map(|p| b.node(&p.id)).collect();
    for e in exposure_graph(s, prepared)
        .iter()
        .filter(|e| e.kind != "shared_collateral")
    {
        let (Some(c), Some(d)) = (s.protocol_idx(&e.from), s.protocol_idx(&e.to)) else {
            continue;
        };
        if b.add_exposure(ids[c], ids[d], e.usd).is_err() {
            return Vec::new();
        }
    }
    for (k, p) in s.protocols.iter().enumerate() {
        let buffer: f64 = match &p.params {
            ProtocolParams::Cdp(c) => c.surplus_buffer_usd,
            _ => p.insurance_fund.iter().map(|&(a, q)| q * prices[a]).sum(),
        };
        let weight = prepared.tvl_usd()[k];
        if b.set_equity(ids[k], buffer.max(0.0), Some(weight.max(0.0)))
            .is_err()
        {
            return Vec::new();
        }
    }
    let net = b.build();
    match each_node_alone(&net, &DebtRankOptions::new(variant)) {
        Ok(runs) => net
            .names
            .iter()
            .cloned()
            .zip(runs.iter().map(|r| r.debtrank))
            .collect(),
        Err(_) => net.names.iter().map(|n| (n.clone(), f64::NAN)).collect(),
    }
}
