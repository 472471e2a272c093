//! The liquidation-mechanism lab (docs/mechanisms.md#comparing-mechanisms): one snapshot and
//! scenario run once per mechanism, the chosen lending pools switched to it, their figures side by
//! side.

use std::collections::BTreeMap;

use cascade_model::{LiquidationMechanism, ProtocolParams, Scenario, Snapshot};
use serde::Serialize;

use crate::{run_with_figures, Options, StressResult};

/// Every figure of one mechanism comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MechanismComparison {
    pub snapshot: String,
    pub scenario: String,
    /// The lending pools switched, by id.
    pub protocols: Vec<String>,
    pub runs: Vec<MechanismRun>,
}

/// One run: every chosen pool under `mechanism`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MechanismRun {
    pub mechanism: String,
    pub rounds: u32,
    pub fixed_point: bool,
    /// The chosen pools together.
    pub total: MechanismRow,
    pub by_protocol: Vec<MechanismRow>,
    /// Per asset, the fire sale's price impact: `1 − final / after shock` (0.1 = the price ended
    /// 10% below where the shock left it).
    pub price_impact: BTreeMap<String, f64>,
    /// The largest of `price_impact`, with its asset.
    pub worst_price_impact: f64,
    pub worst_price_impact_asset: String,
}

/// One pool's (or the chosen pools') figures under a mechanism, USD (docs/mechanisms.md#metrics).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct MechanismRow {
    pub protocol: String,
    /// What the pools are owed and will not get back: `bad_debt_usd + shortfall_usd`.
    pub insolvent_usd: f64,
    /// Bad debt booked (written off) during the run.
    pub bad_debt_usd: f64,
    /// Debt of accounts still underwater at the end beyond what they (and, for an open auction,
    /// its lots) hold, at final prices: losses not yet booked — accounts no liquidator would
    /// touch, auctions still running.
    pub shortfall_usd: f64,
    /// The debt of auctions still open at the end (at final prices), and their lots' value.
    pub open_auction_debt_usd: f64,
    pub open_auction_lots_usd: f64,
    /// Bad debt the insurance fund (reserves) did not cover.
    pub uncovered_usd: f64,
    /// Debt repaid by liquidators, bidders and conversions, or erased by absorbs.
    pub liquidated_usd: f64,
    /// Collateral taken from borrowers, at the oracle price when taken.
    pub seized_usd: f64,
    /// The liquidators' sales' slippage on the curves.
    pub slippage_usd: f64,
    /// Proceeds − paid − fixed costs.
    pub liquidator_profit_usd: f64,
    /// Σ max(0, collateral out − returned − debt removed).
    pub borrower_loss_usd: f64,
    /// The protocol's fee or penalty income.
    pub protocol_revenue_usd: f64,
    /// An absorbing protocol's unsold collateral at the end (at final prices).
    pub inventory_usd: f64,
    /// Accounts liquidated at least once (each counted once).
    pub accounts_liquidated: u64,
}

/// A figure of a [`MechanismRow`]: its label and how to read it, USD.
pub type RowFigure = (&'static str, fn(&MechanismRow) -> f64);

impl MechanismRow {
    /// The figures a comparison shows, in order (docs/mechanisms.md#metrics).
    pub const FIGURES: [RowFigure; 9] = [
        ("insolvent debt", |r| r.insolvent_usd),
        ("bad debt", |r| r.bad_debt_usd),
        ("shortfall at end", |r| r.shortfall_usd),
        ("uncovered", |r| r.uncovered_usd),
        ("liquidated", |r| r.liquidated_usd),
        ("slippage", |r| r.slippage_usd),
        ("liquidator profit", |r| r.liquidator_profit_usd),
        ("borrower losses", |r| r.borrower_loss_usd),
        ("protocol revenue", |r| r.protocol_revenue_usd),
    ];

    fn add(&mut self, o: &MechanismRow) {
        self.insolvent_usd += o.insolvent_usd;
        self.bad_debt_usd += o.bad_debt_usd;
        self.shortfall_usd += o.shortfall_usd;
        self.open_auction_debt_usd += o.open_auction_debt_usd;
        self.open_auction_lots_usd += o.open_auction_lots_usd;
        self.uncovered_usd += o.uncovered_usd;
        self.liquidated_usd += o.liquidated_usd;
        self.seized_usd += o.seized_usd;
        self.slippage_usd += o.slippage_usd;
        self.liquidator_profit_usd += o.liquidator_profit_usd;
        self.borrower_loss_usd += o.borrower_loss_usd;
        self.protocol_revenue_usd += o.protocol_revenue_usd;
        self.inventory_usd += o.inventory_usd;
        self.accounts_liquidated += o.accounts_liquidated;
    }
}

/// Runs `scenario` on `snapshot` once per mechanism of `mechanisms`, with the lending pools of
/// `protocols` (snapshot indices; they must be lending protocols) switched to it and everything else
/// as the snapshot has it.
pub fn compare_mechanisms(
    snapshot: &Snapshot,
    scenario: &Scenario,
    mechanisms: &[LiquidationMechanism],
    protocols: &[usize],
    options: &Options,
) -> MechanismComparison {
    let runs = mechanisms
        .iter()
        .map(|&m| {
            let mut s = snapshot.clone();
            for &i in protocols {
                if let ProtocolParams::Lending(l) = &mut s.protocols[i].params {
                    l.liquidation_mechanism = m;
                }
            }
            let (r, figures) = run_with_figures(&s, scenario, options);
            mechanism_run(m, &r, &figures, protocols)
        })
        .collect();
    MechanismComparison {
        snapshot: snapshot.name.clone(),
        scenario: scenario.name.clone(),
        protocols: protocols
            .iter()
            .map(|&i| snapshot.protocols[i].id.clone())
            .collect(),
        runs,
    }
}

fn mechanism_run(
    m: LiquidationMechanism,
    r: &StressResult,
    figures: &[Option<crate::MechanismFigures>],
    protocols: &[usize],
) -> MechanismRun {
    let by_protocol: Vec<MechanismRow> = protocols
        .iter()
        .filter_map(|&i| {
            let (p, f) = (r.protocols.get(i)?, figures.get(i).copied().flatten()?);
            let t = f.tally;
            let shortfall = (p.shortfall_usd - f.open_lots_cover_usd).max(0.0);
            Some(MechanismRow {
                protocol: p.id.clone(),
                insolvent_usd: p.bad_debt_usd + shortfall,
                bad_debt_usd: p.bad_debt_usd,
                shortfall_usd: shortfall,
                open_auction_debt_usd: f.open_debt_usd,
                open_auction_lots_usd: f.open_lots_usd,
                uncovered_usd: p.uncovered_usd,
                liquidated_usd: t.liquidated_usd,
                seized_usd: t.seized_usd,
                slippage_usd: t.slippage_usd,
                liquidator_profit_usd: f.liquidator_profit_usd(),
                borrower_loss_usd: t.borrower_loss_usd,
                protocol_revenue_usd: t.protocol_revenue_usd,
                inventory_usd: f.inventory_usd,
                accounts_liquidated: p.accounts_liquidated,
            })
        })
        .collect();
    let mut total = MechanismRow {
        protocol: "total".into(),
        ..MechanismRow::default()
    };
    for row in &by_protocol {
        total.add(row);
    }
    let shocked = r.rounds.first().map(|x| &x.prices);
    let price_impact: BTreeMap<String, f64> = r
        .final_prices
        .iter()
        .filter_map(|(a, &fin)| {
            let after = *shocked?.get(a)?;
            (after > 0.0).then(|| (a.clone(), 1.0 - fin / after))
        })
        .collect();
    let (worst_asset, worst) =
        price_impact
            .iter()
            .fold((String::new(), 0.0), |(wa, w), (a, &x)| {
                if x > w {
                    (a.clone(), x)
                } else {
                    (wa, w)
                }
            });
    MechanismRun {
        mechanism: m.name().to_string(),
        rounds: r.system.rounds,
        fixed_point: r.system.fixed_point,
        total,
        by_protocol,
        price_impact,
        worst_price_impact: worst,
        worst_price_impact_asset: worst_asset,
    }
}
