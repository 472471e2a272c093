//! cascade's engine layer (DESIGN §10): the round-based cascade across all protocols.
//!
//! Round 0 applies the scenario's shocks and anchors every curve at the shocked prices. Each round then:
//! (1) derives prices — these are the round's oracle prices; (2) every protocol, in snapshot order,
//! liquidates at those prices; (3) all sales of an asset go through its curve together, in a fixed asset
//! order; (4) realised bad debt goes to the protocol's own buffers; (5) the run stops at a fixed point
//! (a round with no liquidation whose sales moved no price by more than `tolerance`, relative) or at
//! `max_rounds`. The same inputs give the same output bit for bit, whatever the thread count.
#![forbid(unsafe_code)]

mod report;
pub mod trace;

use std::collections::BTreeMap;

use cascade_market::price::{Market, SaleFill};
use cascade_model::{Scenario, Snapshot};
use cascade_protocols::{build_models, ProtocolModel, ProtocolRound, RoundCtx};

pub use report::*;

/// Runs one stress scenario on a snapshot.
pub fn run(snapshot: &Snapshot, scenario: &Scenario) -> StressResult {
    let mut market = Market::new(snapshot);
    let initial_prices = market.prices();
    let mut models = build_models(snapshot);
    let tvl: Vec<f64> = models.iter().map(|m| m.tvl_usd(&initial_prices)).collect();
    market.apply_shocks(scenario);
    let shocked_prices = market.prices();
    let names: Vec<&str> = snapshot.assets.iter().map(|a| a.id.as_str()).collect();
    let mut trace = vec![trace::shock_line(
        snapshot,
        scenario,
        &initial_prices,
        &shocked_prices,
    )];
    let mut rounds = vec![RoundReport {
        round: 0,
        prices: price_map(&names, &shocked_prices),
        sales: Vec::new(),
        liquidations: Vec::new(),
        bad_debt: Vec::new(),
        bad_debt_usd: 0.0,
    }];
    let mut per_protocol: Vec<ProtocolTotals> = vec![ProtocolTotals::default(); models.len()];
    let mut prices = shocked_prices.clone();
    let mut fixed_point = false;
    let mut executed = 0;
    let mut prev_prices = initial_prices.clone();
    for round in 1..=scenario.max_rounds {
        executed = round;
        // (2) liquidations at the round's oracle prices.
        let ctx = RoundCtx {
            round,
            prices: &prices,
            market: &market,
        };
        let outcomes: Vec<ProtocolRound> = models.iter_mut().map(|m| m.liquidate(&ctx)).collect();
        // (3) sales, aggregated per asset across protocols.
        let orders: Vec<_> = outcomes
            .iter()
            .flat_map(|o| o.sales.iter().copied())
            .collect();
        let fills: Vec<SaleFill> = market.execute_sales(&orders, &prices);
        // (4) losses.
        for (k, (m, o)) in models.iter_mut().zip(&outcomes).enumerate() {
            let bad = o.bad_debt_usd();
            let paid = if bad > 0.0 {
                m.absorb_losses(bad, &prices)
            } else {
                0.0
            };
            per_protocol[k].add(o, paid);
        }
        market.recover(scenario.recovery_rate);
        let next = market.prices();
        let report = round_report(round, &names, &prices, &models, &outcomes, &fills, snapshot);
        trace.extend(trace::round_lines(
            snapshot,
            &report,
            &prev_prices,
            &prices,
            &next,
        ));
        let any_liquidation = outcomes
            .iter()
            .any(|o| !o.liquidations.is_empty() || !o.bad_debt.is_empty());
        let max_move = prices
            .iter()
            .zip(&next)
            .map(|(a, b)| if *a > 0.0 { ((b - a) / a).abs() } else { 0.0 })
            .fold(0.0, f64::max);
        rounds.push(report);
        prev_prices = prices;
        prices = next;
        if !any_liquidation && max_move <= scenario.tolerance {
            fixed_point = true;
            break;
        }
    }
    let final_prices = prices;
    let protocols: Vec<ProtocolSummary> = models
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let end = m.end_state(&final_prices);
            per_protocol[k].summary(m.as_ref(), end, tvl[k])
        })
        .collect();
    let system = SystemSummary::of(&protocols, executed, fixed_point);
    trace.push(trace::final_line(&system, fixed_point, executed));
    StressResult {
        snapshot: snapshot.name.clone(),
        scenario: scenario.name.clone(),
        system,
        protocols,
        initial_prices: price_map(&names, &initial_prices),
        final_prices: price_map(&names, &final_prices),
        rounds,
        trace,
    }
}

fn price_map(names: &[&str], p: &[f64]) -> BTreeMap<String, f64> {
    names
        .iter()
        .zip(p)
        .map(|(n, v)| (n.to_string(), *v))
        .collect()
}

fn round_report(
    round: u32,
    names: &[&str],
    prices: &[f64],
    models: &[Box<dyn ProtocolModel>],
    outcomes: &[ProtocolRound],
    fills: &[SaleFill],
    s: &Snapshot,
) -> RoundReport {
    let asset = |a: usize| s.assets[a].id.clone();
    let mut liquidations = Vec::new();
    let mut bad_debt = Vec::new();
    for (m, o) in models.iter().zip(outcomes) {
        for l in &o.liquidations {
            liquidations.push(LiquidationReport {
                protocol: m.id().to_string(),
                collateral: asset(l.collateral),
                debt: asset(l.debt),
                seized_tokens: l.seized_tokens,
                seized_usd: l.seized_usd,
                repaid_tokens: l.repaid_tokens,
                repaid_usd: l.repaid_usd,
                calls: l.calls,
            });
        }
        for b in &o.bad_debt {
            bad_debt.push(BadDebtReport {
                protocol: m.id().to_string(),
                asset: asset(b.asset),
                tokens: b.tokens,
                usd: b.usd,
                accounts: o.accounts_bad_debt,
            });
        }
    }
    let sales = fills
        .iter()
        .map(|f| SaleReport {
            asset: asset(f.asset),
            quantity: f.quantity,
            proceeds_usd: f.proceeds_usd,
            slippage_usd: f.slippage_usd,
            price_before: f.price_before,
            price_after: f.price_after,
        })
        .collect();
    let bad_debt_usd = bad_debt.iter().map(|b: &BadDebtReport| b.usd).sum();
    RoundReport {
        round,
        prices: price_map(names, prices),
        sales,
        liquidations,
        bad_debt,
        bad_debt_usd,
    }
}
