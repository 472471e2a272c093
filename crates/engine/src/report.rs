//! The result of a stress run, serialised as `cascade stress --json` (docs/formats.md#stress-json; keys are stable).

use std::collections::BTreeMap;

use serde::Serialize;

use cascade_market::price::{BuyFill, SaleFill};
use cascade_protocols::{EndState, LossOutcome, ProtocolModel, ProtocolRound};

/// Everything one stress run produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StressResult {
    pub snapshot: String,
    pub scenario: String,
    /// Whether circuit breakers acted in this run.
    pub breakers: bool,
    pub system: SystemSummary,
    pub protocols: Vec<ProtocolSummary>,
    /// USD per token before the shocks.
    pub initial_prices: BTreeMap<String, f64>,
    /// USD per token at the end of the run.
    pub final_prices: BTreeMap<String, f64>,
    /// Round 0 (the shocks) then one entry per round run.
    pub rounds: Vec<RoundReport>,
    /// What caused what, in words.
    pub trace: Vec<String>,
    /// The same snapshot run with no shock, and the scenario's part of the totals
    /// (docs/losses.md#baseline-and-incremental); present when the run was made with
    /// [`crate::run_with_baseline`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Figures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incremental: Option<Figures>,
    /// One row per account of the lending pools, when asked for (`Options::accounts`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountReport>,
}

/// The loss figures of a run, for the system and per protocol: a baseline's, or the scenario's part
/// (its totals less the baseline's).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub bad_debt_usd: f64,
    pub uncovered_usd: f64,
    pub shortfall_usd: f64,
    pub liquidated_debt_usd: f64,
    pub seized_collateral_usd: f64,
    /// Signed for `incremental` (accounts the scenario added).
    pub accounts_liquidated: i64,
    pub protocols: Vec<ProtocolFigures>,
}

/// One protocol's loss figures (see [`Figures`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProtocolFigures {
    pub id: String,
    pub bad_debt_usd: f64,
    pub uncovered_usd: f64,
    pub shortfall_usd: f64,
    pub liquidated_debt_usd: f64,
}

impl Figures {
    /// The figures of a run.
    pub fn of(r: &StressResult) -> Figures {
        let s = &r.system;
        Figures {
            bad_debt_usd: s.bad_debt_usd,
            uncovered_usd: s.uncovered_usd,
            shortfall_usd: s.shortfall_usd,
            liquidated_debt_usd: s.liquidated_debt_usd,
            seized_collateral_usd: s.seized_collateral_usd,
            accounts_liquidated: s.accounts_liquidated as i64,
            protocols: r
                .protocols
                .iter()
                .map(|p| ProtocolFigures {
                    id: p.id.clone(),
                    bad_debt_usd: p.bad_debt_usd,
                    uncovered_usd: p.uncovered_usd,
                    shortfall_usd: p.shortfall_usd,
                    liquidated_debt_usd: p.liquidated_debt_usd,
                })
                .collect(),
        }
    }

    /// `self − base`, figure by figure (protocols matched by position: both runs have the same).
    pub fn minus(&self, base: &Figures) -> Figures {
        Figures {
            bad_debt_usd: self.bad_debt_usd - base.bad_debt_usd,
            uncovered_usd: self.uncovered_usd - base.uncovered_usd,
            shortfall_usd: self.shortfall_usd - base.shortfall_usd,
            liquidated_debt_usd: self.liquidated_debt_usd - base.liquidated_debt_usd,
            seized_collateral_usd: self.seized_collateral_usd - base.seized_collateral_usd,
            accounts_liquidated: self.accounts_liquidated - base.accounts_liquidated,
            protocols: self
                .protocols
                .iter()
                .zip(&base.protocols)
                .map(|(p, b)| ProtocolFigures {
                    id: p.id.clone(),
                    bad_debt_usd: p.bad_debt_usd - b.bad_debt_usd,
                    uncovered_usd: p.uncovered_usd - b.uncovered_usd,
                    shortfall_usd: p.shortfall_usd - b.shortfall_usd,
                    liquidated_debt_usd: p.liquidated_debt_usd - b.liquidated_debt_usd,
                })
                .collect(),
        }
    }
}

/// What a run did to one account (docs/formats.md#per-account-results).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountReport {
    pub protocol: String,
    pub account: String,
    /// Health factor before the shocks and at the end (at final prices); `None` without debt.
    pub health_before: Option<f64>,
    pub health_after: Option<f64>,
    /// USD at each call's round prices.
    pub liquidated_debt_usd: f64,
    pub seized_collateral_usd: f64,
    pub protocol_fee_usd: f64,
    pub bad_debt_usd: f64,
    pub first_liquidation_round: Option<u32>,
    /// Rounds in which the account was liquidatable but no liquidator would act.
    pub unprofitable_rounds: u32,
    /// The first liquidation call, in tokens.
    pub first_call: Option<FirstCall>,
}

/// A liquidation call on one account, in tokens.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FirstCall {
    pub collateral: String,
    pub debt: String,
    pub repaid_tokens: f64,
    /// Taken from the account: the liquidator's part plus the protocol fee.
    pub seized_tokens: f64,
    pub protocol_fee_tokens: f64,
}

/// System totals (sums over protocols).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemSummary {
    /// Gross: what accounts left unpaid, before any insurance fund paid.
    pub bad_debt_usd: f64,
    /// Bad debt no insurance fund (nor a clearinghouse's winners) covered.
    pub uncovered_usd: f64,
    pub insurance_used_usd: f64,
    /// Taken from clearinghouses' profitable positions (socialised loss or auto-deleveraging).
    pub winners_paid_usd: f64,
    /// Open accounts with HF < 1 at the end: debt value above collateral value (not yet realised).
    pub shortfall_usd: f64,
    pub liquidated_debt_usd: f64,
    pub seized_collateral_usd: f64,
    pub accounts_liquidated: u64,
    pub accounts_underwater: u64,
    /// Rounds run (round 0, the shocks, not counted).
    pub rounds: u32,
    /// Whether the run stopped at a fixed point rather than at `max_rounds`.
    pub fixed_point: bool,
    /// Total supplied value before the shocks, USD.
    pub tvl_usd: f64,
    /// `bad_debt_usd / tvl_usd`.
    pub bad_debt_share_of_tvl: f64,
}

impl SystemSummary {
    pub fn of(p: &[ProtocolSummary], rounds: u32, fixed_point: bool) -> SystemSummary {
        let sum = |f: fn(&ProtocolSummary) -> f64| p.iter().map(f).sum::<f64>();
        let bad = sum(|x| x.bad_debt_usd);
        let tvl = sum(|x| x.tvl_usd);
        SystemSummary {
            bad_debt_usd: bad,
            uncovered_usd: sum(|x| x.uncovered_usd),
            insurance_used_usd: sum(|x| x.insurance_used_usd),
            winners_paid_usd: sum(|x| x.winners_paid_usd),
            shortfall_usd: sum(|x| x.shortfall_usd),
            liquidated_debt_usd: sum(|x| x.liquidated_debt_usd),
            seized_collateral_usd: sum(|x| x.seized_collateral_usd),
            accounts_liquidated: p.iter().map(|x| x.accounts_liquidated).sum(),
            accounts_underwater: p.iter().map(|x| x.accounts_underwater).sum(),
            rounds,
            fixed_point,
            tvl_usd: tvl,
            bad_debt_share_of_tvl: if tvl > 0.0 { bad / tvl } else { 0.0 },
        }
    }
}

/// One protocol's totals over the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProtocolSummary {
    pub id: String,
    pub kind: String,
    pub bad_debt_usd: f64,
    pub uncovered_usd: f64,
    pub insurance_used_usd: f64,
    /// Taken from a clearinghouse's profitable positions (socialised loss or auto-deleveraging).
    pub winners_paid_usd: f64,
    /// `insurance_used_usd / bad_debt_usd` (1 when there is no bad debt).
    pub insurance_coverage: f64,
    pub shortfall_usd: f64,
    pub liquidated_debt_usd: f64,
    pub seized_collateral_usd: f64,
    pub accounts_liquidated: u64,
    pub accounts_bad_debt: u64,
    pub accounts_underwater: u64,
    /// Liquidatable account-rounds no liquidator would take (bonus ≤ slippage + cost).
    pub unprofitable_account_rounds: u64,
    pub tvl_usd: f64,
    pub bad_debt_share_of_tvl: f64,
    /// Insurance fund value before the shocks and at the end (at final prices), USD: the difference is
    /// what it paid plus what the stress did to its own tokens' prices.
    pub insurance_fund_initial_usd: f64,
    pub insurance_fund_final_usd: f64,
    /// Rounds in which a circuit breaker paused the protocol's liquidations.
    pub paused_rounds: u64,
    /// Liquidatable account-rounds deferred by a breaker.
    pub deferred_account_rounds: u64,
    /// Rounds in which a breaker froze new borrowing.
    pub borrowing_frozen_rounds: u64,
}

/// Running totals of one protocol.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProtocolTotals {
    bad_debt_usd: f64,
    insurance_used_usd: f64,
    liquidated_debt_usd: f64,
    seized_collateral_usd: f64,
    accounts_bad_debt: u64,
    unprofitable: u64,
    uncovered_usd: f64,
    winners_paid_usd: f64,
    paused_rounds: u64,
    deferred: u64,
    frozen_rounds: u64,
}

impl ProtocolTotals {
    pub(crate) fn add(&mut self, o: &ProtocolRound, loss: &LossOutcome) {
        self.bad_debt_usd += o.bad_debt_usd();
        self.insurance_used_usd += loss.insurance_used_usd;
        self.uncovered_usd += loss.uncovered_usd;
        self.winners_paid_usd += loss.winners_paid_usd;
        self.paused_rounds += u64::from(o.paused);
        self.deferred += o.deferred;
        self.frozen_rounds += u64::from(o.borrowing_frozen);
        self.liquidated_debt_usd += o.repaid_usd();
        self.seized_collateral_usd += o.seized_usd();
        self.accounts_bad_debt += o.accounts_bad_debt;
        self.unprofitable += o.accounts_unprofitable;
    }

    pub(crate) fn summary(
        &self,
        m: &dyn ProtocolModel,
        end: EndState,
        tvl: f64,
        funds: (f64, f64),
    ) -> ProtocolSummary {
        ProtocolSummary {
            id: m.id().to_string(),
            kind: m.kind().name().to_string(),
            bad_debt_usd: self.bad_debt_usd,
            uncovered_usd: self.uncovered_usd,
            insurance_used_usd: self.insurance_used_usd,
            winners_paid_usd: self.winners_paid_usd,
            insurance_coverage: if self.bad_debt_usd > 0.0 {
                self.insurance_used_usd / self.bad_debt_usd
            } else {
                1.0
            },
            shortfall_usd: end.shortfall_usd,
            liquidated_debt_usd: self.liquidated_debt_usd,
            seized_collateral_usd: self.seized_collateral_usd,
            accounts_liquidated: end.accounts_liquidated,
            accounts_bad_debt: self.accounts_bad_debt,
            accounts_underwater: end.accounts_underwater,
            unprofitable_account_rounds: self.unprofitable,
            tvl_usd: tvl,
            bad_debt_share_of_tvl: if tvl > 0.0 {
                self.bad_debt_usd / tvl
            } else {
                0.0
            },
            insurance_fund_initial_usd: funds.0,
            insurance_fund_final_usd: funds.1,
            paused_rounds: self.paused_rounds,
            deferred_account_rounds: self.deferred,
            borrowing_frozen_rounds: self.frozen_rounds,
        }
    }
}

/// One round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundReport {
    pub round: u32,
    /// The round's oracle prices (USD), at which its liquidations happened.
    pub prices: BTreeMap<String, f64>,
    pub sales: Vec<SaleReport>,
    /// Buys through the curves (liquidators buying the debt they repay, …), one per asset.
    pub buys: Vec<BuyReport>,
    pub liquidations: Vec<LiquidationReport>,
    pub bad_debt: Vec<BadDebtReport>,
    pub bad_debt_usd: f64,
    /// How each protocol's bad debt of the round was paid.
    pub losses: Vec<LossReport>,
    /// Protocols whose liquidations a circuit breaker paused this round.
    pub paused: Vec<PausedReport>,
    /// Protocols whose breaker froze new borrowing this round (reported; no figure changes).
    pub borrowing_frozen: Vec<String>,
}

/// How one protocol's bad debt of one round was paid (docs/losses.md#reported-figures).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LossReport {
    pub protocol: String,
    /// Accounts that left bad debt in the protocol this round (an account owing several assets
    /// counts once).
    pub accounts_bad_debt: u64,
    pub insurance_used_usd: f64,
    /// Socialised to the suppliers of the reserves that took the bad debt.
    pub uncovered_usd: f64,
    /// Taken from a clearinghouse's profitable positions.
    pub winners_paid_usd: f64,
}

/// A protocol whose liquidations a circuit breaker paused in a round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PausedReport {
    pub protocol: String,
    /// Liquidatable accounts deferred to a later round.
    pub deferred_accounts: u64,
}

/// What one round's trades of one asset did ([`SaleFill`] or [`BuyFill`]), the asset named: in JSON
/// the fill's fields follow `asset` at the same level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Traded<F> {
    pub asset: String,
    #[serde(flatten)]
    pub fill: F,
}

impl<F: Clone> Traded<F> {
    /// `fill` under the asset's name.
    pub fn new(asset: String, fill: &F) -> Traded<F> {
        Traded {
            asset,
            fill: fill.clone(),
        }
    }
}

/// All sales of one asset in one round.
pub type SaleReport = Traded<SaleFill>;

/// All buys of one asset in one round (after crossing with the round's sales of it, see
/// `Market::execute_orders`).
pub type BuyReport = Traded<BuyFill>;

/// Liquidations of one protocol, collateral and debt asset in one round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiquidationReport {
    pub protocol: String,
    pub collateral: String,
    pub debt: String,
    pub seized_tokens: f64,
    pub seized_usd: f64,
    pub repaid_tokens: f64,
    pub repaid_usd: f64,
    /// Of the seized collateral, the liquidation protocol fee kept by the treasury (not sold).
    pub protocol_fee_tokens: f64,
    pub protocol_fee_usd: f64,
    pub calls: u64,
}

/// Bad debt realised in one round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadDebtReport {
    pub protocol: String,
    pub asset: String,
    pub tokens: f64,
    pub usd: f64,
    /// Accounts of the protocol left with bad debt this round.
    pub accounts: u64,
}
