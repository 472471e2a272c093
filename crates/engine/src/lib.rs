//! cascade's engine layer (docs/cascade.md#the-cascade): the round-based cascade across all protocols.
//!
//! Round 0: bridge exploits and protocol defaults, then the price shocks; the issuers (lending pools
//! for receipt tokens, bridges, AMM pools for LP tokens, CDPs for their stables) price their assets
//! from their state, and every curve is anchored at the shocked prices. Each round then:
//! (1) the prices derived at the end of the previous round are the round's oracle prices;
//! (2) every protocol, in snapshot order, liquidates at those prices (circuit breakers may defer);
//! (3) all sales and buys of an asset go through its curve together, in a fixed asset order (sales
//! and buys of the same asset cross first at the round's price, only the net moves the curve), and
//! each seller or buyer settles against its share of the proceeds or cost (a CDP auction's shortfall
//! is bad debt);
//! (4) bad debt goes to the protocol's insurance fund or surplus buffer, the rest to its suppliers
//! (receipt tokens lose recovery) or the stable's backing; issuers re-price their assets;
//! (5) the run stops at a fixed point — a round with no liquidation, no deferred liquidation, and no
//! price moved by more than `tolerance` (relative) — or at `max_rounds`. The same inputs give the same
//! output bit for bit, whatever the thread count.
#![forbid(unsafe_code)]

mod mechanisms;
mod report;
pub mod trace;

use std::collections::BTreeMap;

use cascade_market::price::{BuyFill, Market, SaleFill};
use cascade_model::{Scenario, Snapshot};
pub use cascade_protocols::lending::{MechanismFigures, Tally};
use cascade_protocols::{
    build_models, AccountResult, LossOutcome, PriceInput, ProtocolBuyFill, ProtocolFill,
    ProtocolModel, ProtocolRound, RoundCtx,
};

pub use mechanisms::{
    compare_mechanisms, MechanismComparison, MechanismRow, MechanismRun, RowFigure,
};
pub use report::*;

/// How a run is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Whether the protocols' circuit breakers act (docs/breakers.md#breakers-on-and-off); `false` runs as if none were set.
    pub breakers: bool,
    /// Whether to keep the per-round reports and the trace (a Monte Carlo path needs only totals).
    pub detail: bool,
    /// Whether to report every account (`StressResult::accounts`; docs/formats.md#per-account-results).
    pub accounts: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            breakers: true,
            detail: true,
            accounts: false,
        }
    }
}

/// A snapshot made ready to run: its market and protocol models built once, to be copied for every
/// run (the Monte Carlo runs thousands of paths from one snapshot).
pub struct Prepared {
    market: Market,
    models: Vec<Box<dyn ProtocolModel>>,
    /// USD prices before any shock.
    pub initial_prices: Vec<f64>,
    tvl: Vec<f64>,
    fund0: Vec<f64>,
}

impl Prepared {
    /// Builds the market and the protocol models of `snapshot`, issuers' prices included.
    pub fn new(snapshot: &Snapshot) -> Prepared {
        Prepared::build(snapshot, true)
    }

    /// [`Prepared::new`] for a single run, which uses it up: the lending pools' skip keys are not
    /// computed ahead (`ProtocolModel::prime`), the first round finding every account's health
    /// instead — one pass over the accounts rather than two. The run's results are the same
    /// (docs/lending.md#accounts-a-round-skips).
    fn for_one_run(snapshot: &Snapshot) -> Prepared {
        Prepared::build(snapshot, false)
    }

    fn build(snapshot: &Snapshot, prime: bool) -> Prepared {
        let mut market = Market::new(snapshot);
        let mut models = build_models(snapshot);
        refresh_issued_prices(&mut market, &mut models);
        let initial_prices = market.prices();
        if prime {
            for m in models.iter_mut() {
                m.prime(&initial_prices);
            }
        }
        let tvl = models.iter().map(|m| m.tvl_usd(&initial_prices)).collect();
        let fund0 = models
            .iter()
            .map(|m| m.insurance_fund_usd(&initial_prices))
            .collect();
        Prepared {
            market,
            models,
            initial_prices,
            tvl,
            fund0,
        }
    }

    /// The market before any shock, issuers' prices included (curves as the snapshot has them).
    pub fn market(&self) -> &Market {
        &self.market
    }

    /// Each protocol's TVL before any shock, USD, in snapshot order.
    pub fn tvl_usd(&self) -> &[f64] {
        &self.tvl
    }
}

/// Runs one stress scenario on a snapshot, circuit breakers on.
pub fn run(snapshot: &Snapshot, scenario: &Scenario) -> StressResult {
    run_with(snapshot, scenario, &Options::default())
}

/// Passes of issuer pricing per refresh: an issued asset's price may depend on another issued asset
/// (an LP token of a pool holding a CDP stable), so inputs are re-derived until that chain settles.
const PRICE_PASSES: usize = 3;

/// Re-derives what the protocols' states give to the prices of the assets they issue (receipt
/// recovery, bridge losses, LP and CDP-stable prices), letting each protocol see the prices first
/// (an AMM is arbitraged to them).
fn refresh_issued_prices(market: &mut Market, models: &mut [Box<dyn ProtocolModel>]) {
    for _ in 0..PRICE_PASSES {
        let p = market.prices();
        for m in models.iter_mut() {
            m.on_prices(&p);
        }
        let inputs: Vec<PriceInput> = models.iter().flat_map(|m| m.price_inputs(&p)).collect();
        for input in inputs {
            match input {
                PriceInput::Recovery { asset, recovery } => market.state.recovery[asset] = recovery,
                PriceInput::BridgeLoss { asset, loss } => market.state.bridge_loss[asset] = loss,
                PriceInput::Price { asset, usd } => market.state.base_price[asset] = usd,
            }
        }
    }
}

/// Each protocol's part of the round's sales: per asset, its quantity (from its own orders) and the
/// same share of the proceeds.
fn protocol_fills(outcomes: &[ProtocolRound], fills: &[SaleFill]) -> Vec<Vec<ProtocolFill>> {
    outcomes
        .iter()
        .map(|o| {
            fills
                .iter()
                .filter_map(|f| {
                    let q: f64 = o
                        .sales
                        .iter()
                        .filter(|x| x.asset == f.asset)
                        .map(|x| x.quantity)
                        .sum();
                    (q > 0.0 && f.quantity > 0.0).then(|| ProtocolFill {
                        asset: f.asset,
                        quantity: q,
                        proceeds_usd: f.proceeds_usd * q / f.quantity,
                    })
                })
                .collect()
        })
        .collect()
}

/// Each protocol's part of the round's buys: per asset, the same share of the filled tokens and of
/// the cost as its share of the quantity ordered.
fn protocol_buy_fills(outcomes: &[ProtocolRound], fills: &[BuyFill]) -> Vec<Vec<ProtocolBuyFill>> {
    // Everything ordered of each filled asset, across protocols (once per fill, not per protocol).
    let ordered: Vec<f64> = fills
        .iter()
        .map(|f| {
            outcomes
                .iter()
                .flat_map(|o| o.buys.iter())
                .filter(|b| b.asset == f.asset && b.quantity > 0.0 && b.quantity.is_finite())
                .map(|b| b.quantity)
                .sum()
        })
        .collect();
    outcomes
        .iter()
        .map(|o| {
            fills
                .iter()
                .zip(&ordered)
                .filter_map(|(f, &total)| {
                    let q: f64 = o
                        .buys
                        .iter()
                        .filter(|x| {
                            x.asset == f.asset && x.quantity > 0.0 && x.quantity.is_finite()
                        })
                        .map(|x| x.quantity)
                        .sum();
                    (q > 0.0 && total > 0.0).then(|| ProtocolBuyFill {
                        asset: f.asset,
                        quantity: f.quantity * q / total,
                        cost_usd: f.cost_usd * q / total,
                    })
                })
                .collect()
        })
        .collect()
}

/// Runs one stress scenario on a snapshot.
pub fn run_with(snapshot: &Snapshot, scenario: &Scenario, options: &Options) -> StressResult {
    run_owned(Prepared::for_one_run(snapshot), snapshot, scenario, options)
}

/// Runs one stress scenario from a prepared snapshot that the run uses up: its models are run in
/// place instead of copied (a copy of ten million accounts' positions costs more than a round).
pub fn run_owned(
    prepared: Prepared,
    snapshot: &Snapshot,
    scenario: &Scenario,
    options: &Options,
) -> StressResult {
    run_owned_with_figures(prepared, snapshot, scenario, options).0
}

/// Runs one stress scenario and reports, beside the result, each protocol's liquidation figures
/// (`None` but for lending pools; docs/mechanisms.md#metrics).
pub fn run_with_figures(
    snapshot: &Snapshot,
    scenario: &Scenario,
    options: &Options,
) -> (StressResult, Vec<Option<MechanismFigures>>) {
    run_owned_with_figures(Prepared::for_one_run(snapshot), snapshot, scenario, options)
}

/// [`run_owned`], with each protocol's liquidation figures.
fn run_owned_with_figures(
    prepared: Prepared,
    snapshot: &Snapshot,
    scenario: &Scenario,
    options: &Options,
) -> (StressResult, Vec<Option<MechanismFigures>>) {
    let Prepared {
        market,
        models,
        initial_prices,
        tvl,
        fund0,
    } = prepared;
    let base = Base {
        initial_prices,
        tvl: &tvl,
        fund0: &fund0,
    };
    run_from(market, models, base, snapshot, scenario, options)
}

/// Runs one stress scenario from a prepared snapshot (which is copied, not changed).
pub fn run_prepared(
    prepared: &Prepared,
    snapshot: &Snapshot,
    scenario: &Scenario,
    options: &Options,
) -> StressResult {
    let market = prepared.market.clone();
    let models: Vec<Box<dyn ProtocolModel>> =
        prepared.models.iter().map(|m| m.boxed_clone()).collect();
    let base = Base {
        initial_prices: prepared.initial_prices.clone(),
        tvl: &prepared.tvl,
        fund0: &prepared.fund0,
    };
    run_from(market, models, base, snapshot, scenario, options).0
}

/// What a run needs of the prepared state besides the market and the models.
struct Base<'a> {
    initial_prices: Vec<f64>,
    tvl: &'a [f64],
    fund0: &'a [f64],
}

/// Runs one stress scenario from a market and models of their own (docs/cascade.md).
fn run_from(
    mut market: Market,
    mut models: Vec<Box<dyn ProtocolModel>>,
    base: Base,
    snapshot: &Snapshot,
    scenario: &Scenario,
    options: &Options,
) -> (StressResult, Vec<Option<MechanismFigures>>) {
    let Base {
        initial_prices,
        tvl,
        fund0,
    } = base;
    // Health before any shock, per account, when every account is reported.
    let health_before: Vec<Vec<AccountResult>> = if options.accounts {
        models
            .iter_mut()
            .map(|m| {
                m.record_accounts();
                m.account_results(&initial_prices)
            })
            .collect()
    } else {
        Vec::new()
    };
    // Round 0: bridge exploits and protocol defaults, then price shocks (which re-anchor the curves).
    for sh in &scenario.shocks {
        if let (Some(b), Some(loss)) = (sh.bridge, sh.loss) {
            models[b].apply_default(loss);
        }
        if let (Some(p), Some(d)) = (sh.protocol, sh.default) {
            models[p].apply_default(d);
        }
    }
    for m in models.iter_mut() {
        m.configure(scenario);
    }
    refresh_issued_prices(&mut market, &mut models);
    market.apply_shocks(scenario);
    refresh_issued_prices(&mut market, &mut models);
    market.reanchor();
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
        buys: Vec::new(),
        liquidations: Vec::new(),
        bad_debt: Vec::new(),
        bad_debt_usd: 0.0,
        losses: Vec::new(),
        paused: Vec::new(),
        borrowing_frozen: Vec::new(),
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
            prev_prices: &prev_prices,
            breakers: options.breakers,
        };
        let mut outcomes: Vec<ProtocolRound> =
            models.iter_mut().map(|m| m.liquidate(&ctx)).collect();
        // (3) sales and buys, aggregated per asset across protocols.
        let orders: Vec<_> = outcomes
            .iter()
            .flat_map(|o| o.sales.iter().copied())
            .collect();
        let buy_orders: Vec<_> = outcomes
            .iter()
            .flat_map(|o| o.buys.iter().copied())
            .collect();
        let (fills, buy_fills): (Vec<SaleFill>, Vec<BuyFill>) =
            market.execute_orders(&orders, &buy_orders, &prices);
        // (3b) sellers and buyers settle against their proceeds and costs (a CDP auction's shortfall
        // is bad debt).
        let settled = protocol_fills(&outcomes, &fills);
        let settled_buys = protocol_buy_fills(&outcomes, &buy_fills);
        for (((m, o), f), b) in models
            .iter_mut()
            .zip(outcomes.iter_mut())
            .zip(&settled)
            .zip(&settled_buys)
        {
            let st = m.settle(f, b, &prices);
            o.bad_debt.extend(st.bad_debt);
            o.accounts_bad_debt += st.accounts_bad_debt;
        }
        // (4) losses: insurance funds, then suppliers; receipt tokens reprice.
        let losses: Vec<LossOutcome> = models
            .iter_mut()
            .zip(&outcomes)
            .map(|(m, o)| m.absorb_losses(o, &prices))
            .collect();
        for (k, (o, l)) in outcomes.iter().zip(&losses).enumerate() {
            per_protocol[k].add(o, l);
        }
        market.recover(scenario.recovery_rate);
        refresh_issued_prices(&mut market, &mut models);
        let next = market.prices();
        let report = options.detail.then(|| {
            let report = round_report(
                round, &names, &prices, &models, &outcomes, &losses, &fills, &buy_fills, snapshot,
            );
            for (m, o) in models.iter().zip(&outcomes) {
                for n in &o.notes {
                    trace.push(format!("round {round}: {}: {n}", m.id()));
                }
            }
            trace.extend(trace::round_lines(
                snapshot,
                &report,
                &prev_prices,
                &prices,
                &next,
            ));
            report
        });
        let any_liquidation = outcomes
            .iter()
            .any(|o| !o.liquidations.is_empty() || !o.bad_debt.is_empty());
        let any_deferred = outcomes.iter().any(|o| o.deferred > 0);
        let max_move = prices
            .iter()
            .zip(&next)
            .map(|(a, b)| if *a > 0.0 { ((b - a) / a).abs() } else { 0.0 })
            .fold(0.0, f64::max);
        rounds.extend(report);
        prev_prices = prices;
        prices = next;
        if !any_liquidation && !any_deferred && max_move <= scenario.tolerance {
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
            let funds = (fund0[k], m.insurance_fund_usd(&final_prices));
            per_protocol[k].summary(m.as_ref(), end, tvl[k], funds)
        })
        .collect();
    let system = SystemSummary::of(&protocols, executed, fixed_point);
    trace.push(trace::final_line(&system, fixed_point, executed));
    let accounts = account_reports(snapshot, &models, &health_before, &final_prices);
    let figures = models
        .iter()
        .map(|m| m.mechanism_figures(&final_prices))
        .collect();
    let result = StressResult {
        snapshot: snapshot.name.clone(),
        scenario: scenario.name.clone(),
        breakers: options.breakers,
        system,
        protocols,
        initial_prices: price_map(&names, &initial_prices),
        final_prices: price_map(&names, &final_prices),
        rounds,
        trace,
        baseline: None,
        incremental: None,
        accounts,
    };
    (result, figures)
}

/// Runs `scenario` and the same snapshot with no shock (the scenario's round settings, no shocks), and
/// reports the baseline's figures and the scenario's increment beside the totals — so bad debt that
/// already sits in a snapshot is not blamed on the scenario (docs/losses.md#baseline-and-incremental).
pub fn run_with_baseline(
    snapshot: &Snapshot,
    scenario: &Scenario,
    options: &Options,
) -> StressResult {
    let prepared = Prepared::new(snapshot);
    let mut r = run_prepared(&prepared, snapshot, scenario, options);
    let calm = Scenario {
        name: "baseline".into(),
        shocks: Vec::new(),
        ..scenario.clone()
    };
    let quiet = Options {
        detail: false,
        accounts: false,
        ..*options
    };
    let base = Figures::of(&run_owned(prepared, snapshot, &calm, &quiet));
    r.incremental = Some(Figures::of(&r).minus(&base));
    r.baseline = Some(base);
    r
}

/// One row per account of the protocols that report accounts, in protocol then account order.
fn account_reports(
    snapshot: &Snapshot,
    models: &[Box<dyn ProtocolModel>],
    before: &[Vec<AccountResult>],
    final_prices: &[f64],
) -> Vec<AccountReport> {
    let asset = |a: usize| snapshot.assets[a].id.clone();
    let mut out = Vec::new();
    for (m, before) in models.iter().zip(before) {
        for (b, r) in before.iter().zip(m.account_results(final_prices)) {
            let l = r.log;
            out.push(AccountReport {
                protocol: m.id().to_string(),
                account: snapshot.accounts.id[r.account as usize].to_string(),
                health_before: finite_or_none(b.health),
                health_after: finite_or_none(r.health),
                liquidated_debt_usd: l.liquidated_debt_usd,
                seized_collateral_usd: l.seized_collateral_usd,
                protocol_fee_usd: l.protocol_fee_usd,
                bad_debt_usd: l.bad_debt_usd,
                first_liquidation_round: (l.first_round > 0).then_some(l.first_round),
                unprofitable_rounds: l.unprofitable_rounds,
                first_call: l.first_call.map(|c| FirstCall {
                    collateral: asset(c.collateral),
                    debt: asset(c.debt),
                    repaid_tokens: c.repaid_tokens,
                    seized_tokens: c.seized_tokens,
                    protocol_fee_tokens: c.protocol_fee_tokens,
                }),
            });
        }
    }
    out
}

/// `None` for an infinite health factor (no debt): JSON has no infinity.
fn finite_or_none(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn price_map(names: &[&str], p: &[f64]) -> BTreeMap<String, f64> {
    names
        .iter()
        .zip(p)
        .map(|(n, v)| (n.to_string(), *v))
        .collect()
}

/// `f(protocol id, its item)` for every protocol, in protocol order, where it gives something.
fn by_protocol<'a, T, U>(
    models: &[Box<dyn ProtocolModel>],
    items: &'a [T],
    mut f: impl FnMut(&str, &'a T) -> Option<U>,
) -> Vec<U> {
    models
        .iter()
        .zip(items)
        .filter_map(|(m, item)| f(m.id(), item))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn round_report(
    round: u32,
    names: &[&str],
    prices: &[f64],
    models: &[Box<dyn ProtocolModel>],
    outcomes: &[ProtocolRound],
    losses: &[LossOutcome],
    fills: &[SaleFill],
    buy_fills: &[BuyFill],
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
                protocol_fee_tokens: l.protocol_fee_tokens,
                protocol_fee_usd: l.protocol_fee_usd,
                calls: l.calls,
            });
        }
        for b in &o.bad_debt {
            bad_debt.push(BadDebtReport {
                protocol: m.id().to_string(),
                asset: asset(b.asset),
                tokens: b.tokens,
                usd: b.usd,
                accounts: b.accounts,
            });
        }
    }
    let sales = fills
        .iter()
        .map(|f| Traded::new(asset(f.asset), f))
        .collect();
    let buys = buy_fills
        .iter()
        .map(|f| Traded::new(asset(f.asset), f))
        .collect();
    let bad_debt_usd = bad_debt.iter().map(|b: &BadDebtReport| b.usd).sum();
    let with_accounts: Vec<(&LossOutcome, u64)> = losses
        .iter()
        .zip(outcomes)
        .map(|(l, o)| (l, o.accounts_bad_debt))
        .collect();
    let losses = by_protocol(models, &with_accounts, |protocol, &(l, accounts)| {
        (l.insurance_used_usd > 0.0 || l.uncovered_usd > 0.0 || l.winners_paid_usd > 0.0).then(
            || LossReport {
                protocol: protocol.to_string(),
                accounts_bad_debt: accounts,
                insurance_used_usd: l.insurance_used_usd,
                uncovered_usd: l.uncovered_usd,
                winners_paid_usd: l.winners_paid_usd,
            },
        )
    });
    let paused = by_protocol(models, outcomes, |protocol, o| {
        o.paused.then(|| PausedReport {
            protocol: protocol.to_string(),
            deferred_accounts: o.deferred,
        })
    });
    let borrowing_frozen = by_protocol(models, outcomes, |protocol, o| {
        o.borrowing_frozen.then(|| protocol.to_string())
    });
    RoundReport {
        round,
        prices: price_map(names, prices),
        sales,
        buys,
        liquidations,
        bad_debt,
        bad_debt_usd,
        losses,
        paused,
        borrowing_frozen,
    }
}
