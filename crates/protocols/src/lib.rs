//! cascade's protocols layer (docs/architecture.md#layers): one module per protocol kind, each valuing its own
//! accounts and liquidating them by its own rules behind the one [`ProtocolModel`] interface that the
//! engine drives round by round.
// No unsafe code, but for the vector kernels of Black-76 (`options::simd`) and of the health scan
// (`health::simd`): calls into functions compiled for CPU features detected at run time, vector
// loads and stores; those two modules alone allow it.
#![deny(unsafe_code)]

pub mod algostable;
pub mod amm;
pub mod bridge;
pub mod cdp;
pub mod clearinghouse;
pub mod health;
pub mod lending;
pub mod options;
mod par_vec;
mod pool_rows;
pub use par_vec::ParVec;
#[cfg(test)]
mod tests;

use cascade_market::price::{BuyOrder, Market, SaleOrder};
use cascade_model::{AssetIdx, ProtocolKind, ProtocolParams, Scenario, Snapshot};

/// What a protocol sees in step (2) of a round.
pub struct RoundCtx<'a> {
    /// 1-based round number.
    pub round: u32,
    /// Oracle prices: every asset's USD price at the start of the round.
    pub prices: &'a [f64],
    /// Curves as they stand at the start of the round (for liquidator profitability).
    pub market: &'a Market,
    /// Prices at the start of the previous round (before the shocks, for round 1): the circuit
    /// breakers' one-round move is `prices / prev_prices − 1`.
    pub prev_prices: &'a [f64],
    /// Whether circuit breakers act (`--breakers off` runs without them).
    pub breakers: bool,
}

/// What a protocol's state gives to the price of an asset it issues (docs/assets.md#issuers-re-price-their-assets).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PriceInput {
    /// A receipt token's `recovery`: `1 − uncovered_loss / reserve_supplied_value`.
    Recovery { asset: AssetIdx, recovery: f64 },
    /// A bridged asset's `bridge_loss`: the share of the locked underlying that is gone.
    BridgeLoss { asset: AssetIdx, loss: f64 },
    /// The USD price of an asset the protocol issues and prices from its own state (an AMM's LP token,
    /// a CDP's stablecoin), before market impact and shocks.
    Price { asset: AssetIdx, usd: f64 },
}

/// Bad debt realised when a protocol settles against its proceeds (a CDP auction's shortfall).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Settlement {
    pub bad_debt: Vec<BadDebt>,
    /// Accounts (vaults) whose settlement left bad debt.
    pub accounts_bad_debt: u64,
}

/// A protocol's part of the round's sales of one asset (step 3): all sales of an asset go through its
/// curve together, and each seller receives proceeds in proportion to the quantity it sold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProtocolFill {
    pub asset: AssetIdx,
    /// Tokens this protocol sold.
    pub quantity: f64,
    /// Its share of the proceeds, USD at the round's start prices.
    pub proceeds_usd: f64,
}

/// A protocol's part of the round's buys of one asset (step 3): all trades of an asset go through
/// its curve together ([`Market::execute_orders`]), and each buyer gets the filled tokens and pays the
/// cost in proportion to the quantity it ordered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProtocolBuyFill {
    pub asset: AssetIdx,
    /// Tokens this protocol's buyers received.
    pub quantity: f64,
    /// Their share of the cost, USD at the round's start prices.
    pub cost_usd: f64,
}

/// How a round's bad debt was paid (docs/losses.md#reported-figures).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LossOutcome {
    /// Paid by the protocol's insurance fund, USD at the round's prices.
    pub insurance_used_usd: f64,
    /// Left to the suppliers (socialised), USD.
    pub uncovered_usd: f64,
    /// A clearinghouse's winners' part: taken from profitable positions (socialised loss or
    /// auto-deleveraging), USD. `bad debt = insurance_used + winners_paid + uncovered`.
    pub winners_paid_usd: f64,
}

/// One liquidation call on one account, in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CallRecord {
    pub collateral: AssetIdx,
    pub debt: AssetIdx,
    /// Tokens of `debt` repaid.
    pub repaid_tokens: f64,
    /// Tokens of `collateral` taken from the account (the liquidator's part and the protocol fee).
    pub seized_tokens: f64,
    /// Tokens of `collateral` kept by the protocol's treasury.
    pub protocol_fee_tokens: f64,
}

/// What a run did to one account, recorded when asked ([`ProtocolModel::record_accounts`]); USD at
/// each call's round prices.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AccountLog {
    pub liquidated_debt_usd: f64,
    pub seized_collateral_usd: f64,
    pub protocol_fee_usd: f64,
    pub bad_debt_usd: f64,
    /// Round of the first liquidation call (0: never liquidated).
    pub first_round: u32,
    /// Rounds in which the account was liquidatable but no liquidator would act.
    pub unprofitable_rounds: u32,
    /// The first call.
    pub first_call: Option<CallRecord>,
}

impl AccountLog {
    /// Records one call in round `round`: its amounts in USD (`[repaid, seized, fee]`) add up; the
    /// first call is kept.
    pub fn record_call(&mut self, round: u32, call: CallRecord, [repaid, seized, fee]: [f64; 3]) {
        self.liquidated_debt_usd += repaid;
        self.seized_collateral_usd += seized;
        self.protocol_fee_usd += fee;
        if self.first_round == 0 {
            self.first_round = round;
            self.first_call = Some(call);
        }
    }
}

/// One account's state and log at given prices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccountResult {
    /// Snapshot index of the account.
    pub account: u32,
    /// Health factor (lending; ∞ without debt) at the prices asked.
    pub health: f64,
    pub log: AccountLog,
}

/// Liquidations of one (collateral, debt) pair in one round, summed over accounts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LiquidationRecord {
    pub collateral: AssetIdx,
    pub debt: AssetIdx,
    /// Debt repaid, tokens of `debt`.
    pub repaid_tokens: f64,
    /// Collateral seized, tokens of `collateral`.
    pub seized_tokens: f64,
    pub repaid_usd: f64,
    pub seized_usd: f64,
    /// Of the seized collateral, what went to the protocol's treasury (the liquidation protocol fee),
    /// tokens of `collateral`; the liquidator received `seized_tokens − protocol_fee_tokens`.
    pub protocol_fee_tokens: f64,
    pub protocol_fee_usd: f64,
    /// Liquidation calls.
    pub calls: u64,
}

impl LiquidationRecord {
    /// Adds this record's calls to `records`, which sum liquidations per (collateral, debt) pair
    /// in the order the pairs first appear: the pair's tokens, USD and calls grow by this record's.
    pub fn add_to(&self, records: &mut Vec<LiquidationRecord>) {
        let i = match records
            .iter()
            .position(|r| r.collateral == self.collateral && r.debt == self.debt)
        {
            Some(i) => i,
            None => {
                records.push(LiquidationRecord {
                    collateral: self.collateral,
                    debt: self.debt,
                    ..LiquidationRecord::default()
                });
                records.len() - 1
            }
        };
        let r = &mut records[i];
        r.repaid_tokens += self.repaid_tokens;
        r.seized_tokens += self.seized_tokens;
        r.repaid_usd += self.repaid_usd;
        r.seized_usd += self.seized_usd;
        r.protocol_fee_tokens += self.protocol_fee_tokens;
        r.protocol_fee_usd += self.protocol_fee_usd;
        r.calls += self.calls;
    }
}

/// Debt written off in one asset.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BadDebt {
    pub asset: AssetIdx,
    pub tokens: f64,
    /// Valued at the round's prices.
    pub usd: f64,
    /// Accounts that left debt in this asset.
    pub accounts: u64,
}

/// What a protocol did in one round.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProtocolRound {
    /// Collateral its liquidators sell this round.
    pub sales: Vec<SaleOrder>,
    /// Tokens its liquidators (or its own closing of positions) buy this round, e.g. the debt a
    /// lending liquidator repays when `liquidators_buy_debt` is set.
    pub buys: Vec<BuyOrder>,
    pub liquidations: Vec<LiquidationRecord>,
    /// Accounts liquidated at least once this round.
    pub accounts_liquidated: u64,
    /// Accounts newly left with debt and no collateral.
    pub accounts_bad_debt: u64,
    /// A circuit breaker paused this round's liquidations.
    pub paused: bool,
    /// Liquidatable accounts whose liquidation a breaker deferred to a later round.
    pub deferred: u64,
    /// A breaker froze new borrowing this round (an oracle moved more than its threshold).
    pub borrowing_frozen: bool,
    pub bad_debt: Vec<BadDebt>,
    /// Liquidatable accounts no liquidator would touch (bonus ≤ slippage + cost).
    pub accounts_unprofitable: u64,
    /// Events the figures do not show (an oracle pumped, an account borrowing against it, a
    /// redemption run), for the contagion trace.
    pub notes: Vec<String>,
}

impl ProtocolRound {
    pub fn bad_debt_usd(&self) -> f64 {
        self.bad_debt.iter().map(|b| b.usd).sum()
    }
    pub fn repaid_usd(&self) -> f64 {
        self.liquidations.iter().map(|l| l.repaid_usd).sum()
    }
    pub fn seized_usd(&self) -> f64 {
        self.liquidations.iter().map(|l| l.seized_usd).sum()
    }
}

/// A protocol's state at the end of a run, at the final prices.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EndState {
    /// Σ over open accounts with HF < 1 of max(0, debt value − collateral value), USD. Excludes debt
    /// already written off as bad debt.
    pub shortfall_usd: f64,
    /// Open accounts with HF < 1.
    pub accounts_underwater: u64,
    /// Accounts liquidated at least once during the run.
    pub accounts_liquidated: u64,
}

/// A copy of a protocol's whole state behind the trait (the Monte Carlo runs every path from one
/// prepared state); every [`ProtocolModel`] that is `Clone` has it.
pub trait BoxedClone {
    fn boxed_clone(&self) -> Box<dyn ProtocolModel>;
}

impl<T: ProtocolModel + Clone + 'static> BoxedClone for T {
    fn boxed_clone(&self) -> Box<dyn ProtocolModel> {
        Box::new(self.clone())
    }
}

/// The interface every protocol kind implements (lending now; CDP, clearinghouse, AMM, algorithmic
/// stablecoin and bridge with their issues). The engine calls, each round, `liquidate` at the round's
/// oracle prices, routes the sales through the market, then hands realised losses back with
/// `absorb_losses`.
pub trait ProtocolModel: Send + Sync + BoxedClone {
    fn id(&self) -> &str;
    fn kind(&self) -> ProtocolKind;
    /// Total value supplied to the protocol at `prices`, USD (the base of "share of TVL").
    fn tvl_usd(&self, prices: &[f64]) -> f64;
    /// Step (2): find liquidatable accounts and liquidate them by the protocol's rules.
    fn liquidate(&mut self, ctx: &RoundCtx) -> ProtocolRound;
    /// Step (4): pay the round's realised bad debt from the protocol's insurance fund (valued at the
    /// round's prices), the rest socialised to suppliers. The default has no fund.
    fn absorb_losses(&mut self, round: &ProtocolRound, _prices: &[f64]) -> LossOutcome {
        LossOutcome {
            insurance_used_usd: 0.0,
            uncovered_usd: round.bad_debt_usd(),
            winners_paid_usd: 0.0,
        }
    }
    /// The insurance fund's value at `prices`, USD.
    fn insurance_fund_usd(&self, _prices: &[f64]) -> f64 {
        0.0
    }
    /// Round 0: the scenario's settings that concern the protocol (e.g. `peg_follows_backing`).
    fn configure(&mut self, _scenario: &Scenario) {}
    /// A scenario default of the protocol: `share` of what it owes is lost.
    fn apply_default(&mut self, _share: f64) {}
    /// What the protocol's state gives to the prices of the assets it issues, at `prices`.
    fn price_inputs(&self, _prices: &[f64]) -> Vec<PriceInput> {
        Vec::new()
    }
    /// Called whenever prices are re-derived (round 0 and the end of every round): an AMM pool is
    /// arbitraged to them here.
    fn on_prices(&mut self, _prices: &[f64]) {}
    /// After step (3): the proceeds of what the protocol sold and the cost of what it bought this
    /// round. Returns bad debt realised from them (a CDP auction's shortfall), which joins the
    /// round's bad debt before step (4).
    fn settle(
        &mut self,
        _fills: &[ProtocolFill],
        _buys: &[ProtocolBuyFill],
        _prices: &[f64],
    ) -> Settlement {
        Settlement::default()
    }
    /// State at the end of the run.
    fn end_state(&self, prices: &[f64]) -> EndState;

    /// Starts recording what happens to each account (off by default: it costs memory per
    /// account). Kinds without per-account results ignore it.
    fn record_accounts(&mut self) {}

    /// Told the prices before any shock once the model is built (the engine's prepared state), to
    /// precompute what every run starting from there can reuse. Nothing by default.
    fn prime(&mut self, _prices: &[f64]) {}

    /// Each account's health at `prices` and its log so far (empty for kinds without per-account
    /// results).
    fn account_results(&self, _prices: &[f64]) -> Vec<AccountResult> {
        Vec::new()
    }

    /// A lending pool's liquidation figures over the run at `prices` (docs/mechanisms.md#metrics);
    /// `None` for other protocols.
    fn mechanism_figures(&self, _prices: &[f64]) -> Option<lending::MechanismFigures> {
        None
    }
}

/// Builds the model of every protocol of a snapshot, in snapshot order.
pub fn build_models(s: &Snapshot) -> Vec<Box<dyn ProtocolModel>> {
    use rayon::prelude::*;
    // Each model is built from the snapshot alone: in parallel, collected in protocol order.
    let index = pool_rows::SnapshotRows::new(s);
    let index = &index;
    s.protocols
        .par_iter()
        .enumerate()
        .map(|(i, p)| match &p.params {
            ProtocolParams::Bridge(b) => {
                Box::new(bridge::Bridge::new(s, i, b)) as Box<dyn ProtocolModel>
            }
            ProtocolParams::Lending(_) => {
                Box::new(lending::LendingPool::with_rows(s, i, index)) as Box<dyn ProtocolModel>
            }
            ProtocolParams::Cdp(c) => {
                Box::new(cdp::Cdp::with_rows(s, i, c, index)) as Box<dyn ProtocolModel>
            }
            ProtocolParams::Amm(a) => Box::new(amm::Amm::new(s, i, a)) as Box<dyn ProtocolModel>,
            ProtocolParams::Clearinghouse(c) => {
                Box::new(clearinghouse::Clearinghouse::new(s, i, c)) as Box<dyn ProtocolModel>
            }
            ProtocolParams::Algostable(a) => {
                Box::new(algostable::Algostable::new(s, i, a)) as Box<dyn ProtocolModel>
            }
        })
        .collect()
}
