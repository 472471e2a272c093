//! Which parameters the adjuster moves (docs/adjuster.md#levers): read from a snapshot, and written
//! back with the values in force at a given time.

use cascade_market::liquidity::impact_of_position;
use cascade_model::{ProtocolParams, Snapshot};
use serde::Serialize;

use super::{AdjustRow, InForce};
use crate::series::PriceSeries;

/// One parameter set the adjuster recommends, bound to a price column.
#[derive(Debug, Clone, PartialEq)]
pub struct Lever {
    /// The protocol id (`-` without a snapshot).
    pub protocol: String,
    /// The asset id (the series column's name without a snapshot).
    pub asset: String,
    /// Index of the series in the slice given to [`super::run`], and of the column in it.
    pub series: usize,
    pub column: usize,
    /// The price impact of the position, a share of its value: selling all of the protocol's
    /// collateral in the asset at once for a collateral reserve, buying back all of its debt in the
    /// asset for a debt reserve, 0 for a perp market and without a snapshot.
    pub impact: f64,
    pub kind: LeverKind,
}

/// What a lever is, with its parameters in force before the first rebalance.
#[derive(Debug, Clone, PartialEq)]
pub enum LeverKind {
    /// A collateral reserve of a lending protocol: LT and LTV.
    Collateral {
        /// The liquidation bonus `LB`.
        bonus: f64,
        /// LT and LTV in force; `None` without a snapshot (the first target is taken as is).
        lt: Option<f64>,
        ltv: Option<f64>,
        /// The spread `LT₀ − LTV₀` the LTV target keeps; `None` without a snapshot (no LTV).
        spread: Option<f64>,
    },
    /// A borrowable reserve with debt: the borrow factor of positions borrowing it (1 = none, as
    /// on Aave), and the borrow cap its market's liquidity allows.
    Debt {
        borrow_factor: f64,
        /// [`buyable_within_slippage_tokens`] at the smallest liquidation bonus of the protocol's
        /// collateral reserves: the debt liquidators can buy back at once and still profit.
        borrow_cap_tokens: f64,
    },
    /// A perp market of a clearinghouse: its maintenance and initial margin ratios.
    Market {
        id: String,
        /// The market's liquidation fee, a share of the closed notional.
        fee: f64,
        mmr: f64,
        imr: f64,
    },
}

impl LeverKind {
    /// `collateral`, `debt` or `market:<id>`.
    pub fn name(&self) -> String {
        match self {
            LeverKind::Collateral { .. } => "collateral".into(),
            LeverKind::Debt { .. } => "debt".into(),
            LeverKind::Market { id, .. } => format!("market:{id}"),
        }
    }

    /// The values in force before the first rebalance.
    pub fn initial(&self) -> InForce {
        match *self {
            LeverKind::Collateral { lt, ltv, .. } => InForce {
                lt,
                ltv,
                ..InForce::default()
            },
            LeverKind::Debt { borrow_factor, .. } => InForce {
                borrow_factor: Some(borrow_factor),
                ..InForce::default()
            },
            LeverKind::Market { mmr, imr, .. } => InForce {
                mmr: Some(mmr),
                imr: Some(imr),
                ..InForce::default()
            },
        }
    }
}

/// The levers of `snapshot` whose asset has a price column in `series` (matched by name, exact then
/// ASCII case-insensitive; a later file wins), in snapshot order: every collateral reserve
/// (collateral enabled, `LT > 0`), every borrowable reserve with debt, every perp market. Without a
/// snapshot, one collateral lever per column with liquidation bonus `bonus`. Also returns the
/// columns that match no snapshot asset (`file: name`).
pub fn levers_of(
    snapshot: Option<&Snapshot>,
    series: &[PriceSeries],
    bonus: f64,
) -> (Vec<Lever>, Vec<String>) {
    let Some(snap) = snapshot else {
        let levers = series
            .iter()
            .enumerate()
            .flat_map(|(f, s)| {
                s.assets.iter().enumerate().map(move |(c, name)| Lever {
                    protocol: "-".into(),
                    asset: name.clone(),
                    series: f,
                    column: c,
                    impact: 0.0,
                    kind: LeverKind::Collateral {
                        bonus,
                        lt: None,
                        ltv: None,
                        spread: None,
                    },
                })
            })
            .collect();
        return (levers, Vec::new());
    };
    // column[a]: the (series, column) of snapshot asset a.
    let mut column = vec![None; snap.assets.len()];
    let mut unmatched = Vec::new();
    for (f, s) in series.iter().enumerate() {
        for (c, name) in s.assets.iter().enumerate() {
            let idx = snap.asset_idx(name).or_else(|| {
                snap.assets
                    .iter()
                    .position(|a| a.id.eq_ignore_ascii_case(name))
            });
            match idx {
                Some(a) => column[a] = Some((f, c)),
                None => unmatched.push(format!("{}: {name}", s.source)),
            }
        }
    }
    let prepared = cascade_engine::Prepared::new(snap);
    let market = prepared.market();
    let prices = &prepared.initial_prices;
    let totals = snap.totals();
    let mut out = Vec::new();
    for (p, protocol) in snap.protocols.iter().enumerate() {
        let lever = |a: usize, impact: f64, kind: LeverKind| {
            column[a].map(|(f, c)| Lever {
                protocol: protocol.id.clone(),
                asset: snap.assets[a].id.clone(),
                series: f,
                column: c,
                impact,
                kind,
            })
        };
        match &protocol.params {
            ProtocolParams::Lending(l) => {
                for r in &l.reserves {
                    let a = r.asset;
                    if r.collateral_enabled && r.liquidation_threshold > 0.0 {
                        let impact = impact_of_position(market, a, totals[p][a][0], prices);
                        out.extend(lever(
                            a,
                            impact,
                            LeverKind::Collateral {
                                bonus: r.liquidation_bonus,
                                lt: Some(r.liquidation_threshold),
                                ltv: Some(r.ltv),
                                spread: Some(r.liquidation_threshold - r.ltv),
                            },
                        ));
                    }
                    let debt = totals[p][a][1];
                    if r.borrowable && debt > 0.0 {
                        let value = debt * prices[a];
                        let impact =
                            (market.buy_slippage_usd(a, debt, prices) / value).clamp(0.0, 1.0);
                        let impact = if impact.is_nan() { 1.0 } else { impact };
                        let min_bonus = l
                            .reserves
                            .iter()
                            .filter(|x| x.collateral_enabled && x.liquidation_threshold > 0.0)
                            .map(|x| x.liquidation_bonus)
                            .fold(f64::INFINITY, f64::min);
                        let cap = buyable_within_slippage_tokens(market, a, prices, min_bonus);
                        out.extend(lever(
                            a,
                            impact,
                            LeverKind::Debt {
                                borrow_factor: 1.0,
                                borrow_cap_tokens: cap,
                            },
                        ));
                    }
                }
            }
            ProtocolParams::Clearinghouse(c) => {
                for m in &c.markets {
                    out.extend(lever(
                        m.underlying,
                        0.0,
                        LeverKind::Market {
                            id: m.id.clone(),
                            fee: m.liquidation_fee,
                            mmr: m.mmr,
                            imr: m.imr,
                        },
                    ));
                }
            }
            _ => {}
        }
    }
    (out, unmatched)
}

/// The largest quantity of `asset` whose purchase at once on its curve as it stands costs at most
/// `max_slippage` above its value at `prices` (`buy_slippage_usd / value ≤ max_slippage`), tokens;
/// ∞ for a curve without impact up to 1e18 USD, 0 without a price or with a NaN budget. Bisection on
/// the quantity (the buy slippage share grows with it).
pub fn buyable_within_slippage_tokens(
    market: &cascade_market::price::Market,
    asset: usize,
    prices: &[f64],
    max_slippage: f64,
) -> f64 {
    let price = prices[asset];
    let within = |q: f64| market.buy_slippage_usd(asset, q, prices) / (q * price) <= max_slippage;
    cascade_market::liquidity::largest_quantity_within(price, max_slippage, within)
}

/// One parameter written into a snapshot by [`apply_in_force`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppliedChange {
    pub protocol: String,
    pub asset: String,
    /// `liquidation_threshold`, `ltv`, `borrow_cap`, `mmr`, `imr` or `borrow_factor`.
    pub field: String,
    pub before: f64,
    pub after: f64,
    /// The rebalance whose value is in force, Unix seconds.
    pub since_s: f64,
    /// Whether the snapshot holds the field (a borrow factor has none: reported only).
    pub written: bool,
}

/// Writes into `snapshot` the values in force at `at_s` — those of each lever's last rebalance at or
/// before `at_s` in `rows` — and returns what changed. Levers with no rebalance by then keep their
/// values.
pub fn apply_in_force(
    snapshot: &mut Snapshot,
    rows: &[AdjustRow],
    at_s: f64,
) -> Vec<AppliedChange> {
    let mut latest: Vec<&AdjustRow> = Vec::new();
    for r in rows.iter().filter(|r| r.timestamp_s <= at_s) {
        match latest
            .iter_mut()
            .find(|l| (&l.protocol, &l.asset, &l.lever) == (&r.protocol, &r.asset, &r.lever))
        {
            Some(l) => *l = r,
            None => latest.push(r),
        }
    }
    let mut out = Vec::new();
    for r in latest {
        let (Some(p), Some(a)) = (
            snapshot.protocol_idx(&r.protocol),
            snapshot.asset_idx(&r.asset),
        ) else {
            continue;
        };
        let mut change = |field: &str, before: f64, after: f64, written: bool| {
            out.push(AppliedChange {
                protocol: r.protocol.clone(),
                asset: r.asset.clone(),
                field: field.into(),
                before,
                after,
                since_s: r.timestamp_s,
                written,
            })
        };
        match &mut snapshot.protocols[p].params {
            ProtocolParams::Lending(l) => {
                let Some(res) = l.reserves.iter_mut().find(|x| x.asset == a) else {
                    continue;
                };
                if let (Some(lt), Some(ltv)) = (r.lt_applied, r.ltv_applied) {
                    change("liquidation_threshold", res.liquidation_threshold, lt, true);
                    change("ltv", res.ltv, ltv, true);
                    res.liquidation_threshold = lt;
                    res.ltv = ltv;
                }
                if let Some(bf) = r.borrow_factor_applied {
                    change("borrow_factor", 1.0, bf, false);
                }
                if let Some(cap) = r.borrow_cap_tokens.filter(|c| c.is_finite()) {
                    change(
                        "borrow_cap",
                        res.borrow_cap.unwrap_or(f64::INFINITY),
                        cap,
                        true,
                    );
                    res.borrow_cap = Some(cap);
                }
            }
            ProtocolParams::Clearinghouse(c) => {
                let id = r.lever.strip_prefix("market:").unwrap_or_default();
                let Some(m) = c.markets.iter_mut().find(|m| m.id == id) else {
                    continue;
                };
                if let (Some(mmr), Some(imr)) = (r.mmr_applied, r.imr_applied) {
                    change("mmr", m.mmr, mmr, true);
                    change("imr", m.imr, imr, true);
                    m.mmr = mmr;
                    m.imr = imr;
                }
            }
            _ => {}
        }
    }
    out
}
