//! Lending pools with Aave v3 semantics (docs/lending.md#lending-pools).
//!
//! Accounts are stored flat: one [`Slot`] of 16 bytes per (account, asset, side), the slots of an
//! account adjacent. Each slot's side and effective liquidation threshold and bonus are resolved once
//! at build time (e-mode and isolation mode included) into a [`Term`] of the pool's small table of
//! distinct terms, so a round is a scan over plain numbers at half the bytes a full [`Entry`] takes.
//!
//! Modelling decisions (documented in docs/lending.md):
//! - A liquidation step is evaluated at the full close-factor amount; if the liquidator would not profit
//!   from it, the account is left open for this round (no search for a smaller, profitable amount).
//! - E-mode: an account in category `c` uses `c`'s LT and LB for collateral assets in `c`, the
//!   reserve's own for the others.
//! - Isolation mode: an account holding an asset that has a `debt_ceiling` as collateral counts only
//!   that asset (Aave v3: isolated collateral is the account's only collateral).
//! - `liquidation_rules = "aave-v3.3"`: the close factor on the account's total debt, 100% when the
//!   pair's collateral or debt position is under $2,000, a call cut to leave $1,000 of each reserve
//!   when it would leave less (the contract's `MUST_NOT_LEAVE_DUST`), and the debt left by the call
//!   that takes the last collateral written off in that call (the reserve deficit), as bad debt.
//! - Bad debt is debt left on an account with no seizable collateral; it is written off the account
//!   (valued at that round's prices) so it is counted once, and the account is closed.
//! - `liquidators_buy_debt` (default false): the liquidator buys the debt tokens it repays on the
//!   debt asset's curve in step (3) (a [`BuyOrder`](cascade_market::price::BuyOrder)), moving
//!   that price for the next round, and its profitability check adds that buy's slippage, alone at
//!   the round's start curve, to the sale slippage. A call that would not profit at the full close-factor amount then repays the largest
//!   amount that still profits (the bonus and the slippages are proportional and convex in it), and
//!   the account waits for the next round: one such partial call per account per round, as the
//!   many small liquidations of the CRV position on Aave v2 (22 Nov 2022).

use rayon::prelude::*;

use cascade_model::{
    AssetIdx, AssetKind, Breakers, HealthFactorRule, LiquidationMechanism, MechanismParams,
    ProtocolKind, Side, Snapshot,
};

mod entries;
mod liquidation;
mod mechanism;
mod skip;
mod slippage_bound;
mod step;
#[cfg(test)]
mod tests;

pub use entries::{Entries, EntriesIter, Entry, Positions, Slot, Term, TermTable};
use step::health_sums;
pub(crate) use step::next_step_and_health;
pub use step::{
    capped_borrowing_power, health_factor, health_factor_by, health_factor_with, next_step,
    v33_dust_room, v33_max_repay, weighted_collateral_and_debt, LiquidationRules, Step,
    MIN_BASE_MAX_CLOSE_FACTOR_USD, MIN_LEFTOVER_USD,
};

use std::sync::Arc;

pub use liquidation::protocol_fee_tokens;
use liquidation::{liquidate_account, ChunkOut, PoolTerms};
use mechanism::MechState;
pub use mechanism::{MechanismFigures, Tally};
use skip::{key_of, skippable, HealthyBound, Signatures};

use crate::par_vec::ParVec;
use crate::pool_rows::{PoolRows, SnapshotRows};

use crate::{
    AccountLog, AccountResult, EndState, LossOutcome, PriceInput, ProtocolModel, ProtocolRound,
    RoundCtx,
};

/// Accounts per parallel work unit. Fixed, so that sums are added in the same order whatever the
/// thread count (results are bit-identical with 1 or N threads).
pub const CHUNK: usize = 1024;
/// Liquidation calls on one account in one round at most (a 50% close factor halves the debt each
/// call; 64 calls leave 2⁻⁶⁴ of it).
pub const MAX_CALLS_PER_ROUND: u32 = 64;

const STATUS_LIQUIDATED: u8 = 1;
const STATUS_CLOSED: u8 = 2;

/// Where a pool's slots come from, in slot order.
enum RowOrder<'a> {
    /// The positions rows `lo..hi`, in order: the snapshot's rows are sorted by account and the
    /// pool's accounts are consecutive (as loaded from one position file).
    Range(usize, usize),
    /// The pool's rows as [`PoolRows`] finds them: sorted by account (as generated: accounts take
    /// turns among the pools), each account's rows in turn are its slots; mapped, in any order,
    /// each goes to its account's next slot (a counting sort by account).
    Rows(PoolRows<'a>),
}

/// The pool's accounts (snapshot indices, in order), where each one's slots start, and where the
/// slots come from. Every order gives the same slots: an account's rows in row order.
fn layout<'a>(
    s: &Snapshot,
    protocol: usize,
    index: &'a SnapshotRows,
) -> (Vec<u32>, Vec<usize>, RowOrder<'a>) {
    let account = index.accounts(protocol).to_vec();
    let consecutive = account
        .first()
        .zip(account.last())
        .is_none_or(|(&a, &b)| (b - a) as usize + 1 == account.len());
    let rows = index.rows(s, protocol);
    let mut starts = vec![0usize; account.len() + 1];
    if let PoolRows::Sorted(row_start) = rows {
        for (l, &a) in account.iter().enumerate() {
            let a = a as usize;
            starts[l + 1] = starts[l] + (row_start[a + 1] - row_start[a]) as usize;
        }
        if consecutive {
            let first = account.first().map_or(0, |&a| a as usize);
            let (lo, hi) = (
                row_start[first] as usize,
                row_start[first + account.len()] as usize,
            );
            return (account, starts, RowOrder::Range(lo, hi));
        }
        return (account, starts, RowOrder::Rows(rows));
    }
    rows.each(&s.positions.account, &account, |l, _| starts[l + 1] += 1);
    for k in 1..starts.len() {
        starts[k] += starts[k - 1];
    }
    (account, starts, RowOrder::Rows(rows))
}

/// A lending pool and its accounts.
#[derive(Clone)]
pub struct LendingPool {
    id: String,
    rules: LiquidationRules,
    /// Liquidation protocol fee per asset (share of the bonus; docs/lending.md#liquidation-protocol-fee).
    protocol_fee: Vec<f64>,
    /// Per account, when recording (empty otherwise).
    logs: Vec<AccountLog>,
    /// Snapshot index of each account. Shared with the copies a run makes: it never changes.
    pub account: Arc<[u32]>,
    /// `starts[k]..starts[k+1]` are account k's slots (shared, as `account`).
    pub starts: Arc<[usize]>,
    /// Every account's positions, account after account.
    pub slots: ParVec<Slot>,
    /// The distinct sides and effective parameters the slots point to (shared, as `account`).
    pub terms: Arc<[Term]>,
    status: Vec<u8>,
    /// Supplied tokens per reserve asset (passive suppliers included), for TVL and receipt recovery.
    supplied: Vec<(AssetIdx, f64)>,
    /// Insurance fund balances, tokens per asset (docs/losses.md#insurance-funds).
    insurance_fund: Vec<(AssetIdx, f64)>,
    /// Bad debt no fund covered, tokens per reserve asset (socialised to that reserve's suppliers).
    uncovered_tokens: Vec<(AssetIdx, f64)>,
    /// Receipt tokens this pool issued: (receipt asset, underlying reserve asset).
    receipts: Vec<(AssetIdx, AssetIdx)>,
    /// Share of its obligations lost in a scenario default.
    default_share: f64,
    breakers: Breakers,
    /// Assets the pool has a reserve for (the breakers watch their prices).
    reserve_assets: Vec<AssetIdx>,
    /// Which accounts a round can skip (exact health-factor rule only; empty until the first round
    /// or [`ProtocolModel::prime`]).
    bound: HealthyBound,
    /// Each account's signature (the assets it holds on each side), for the skip bound.
    signatures: Signatures,
    /// Whether rounds skip accounts (always, but for the tests that check skipping changes nothing).
    skipping: bool,
    /// Whether calls certain to profit or lose are decided on the round's slippage bounds (always,
    /// but for the test that checks they change nothing).
    bounding: bool,
    /// How unhealthy accounts are liquidated (docs/mechanisms.md).
    mechanism: LiquidationMechanism,
    mech_params: MechanismParams,
    /// What the mechanism keeps across rounds (auctions, bands, inventory).
    mech: MechState,
    /// The run's liquidation figures (docs/mechanisms.md#metrics).
    tally: Tally,
}

impl LendingPool {
    /// The pool of protocol `protocol` of `s` (which must be a lending protocol).
    pub fn new(s: &Snapshot, protocol: usize) -> LendingPool {
        LendingPool::with_rows(s, protocol, &SnapshotRows::new(s))
    }

    /// [`LendingPool::new`], with the snapshot's accounts and rows found once for all its models.
    pub(crate) fn with_rows(s: &Snapshot, protocol: usize, index: &SnapshotRows) -> LendingPool {
        let p = &s.protocols[protocol];
        let params = p
            .lending()
            .expect("build_models dispatches lending protocols only");
        let pos = &s.positions;
        let (account, starts, order) = layout(s, protocol, index);
        let n_slots = *starts.last().unwrap_or(&0);
        // Per-asset reserve parameters.
        let n_assets = s.assets.len();
        let mut lt = vec![0.0; n_assets];
        let mut lb = vec![0.0; n_assets];
        let mut isolated = vec![false; n_assets];
        let mut protocol_fee = vec![0.0; n_assets];
        for r in &params.reserves {
            if r.collateral_enabled {
                lt[r.asset] = r.liquidation_threshold;
            }
            lb[r.asset] = r.liquidation_bonus;
            protocol_fee[r.asset] = r.liquidation_protocol_fee;
            isolated[r.asset] = r.debt_ceiling_usd.is_some();
        }
        // The terms: each asset's own as collateral and as debt, each e-mode category's, and each of
        // those with the threshold zeroed (collateral beside an isolated asset).
        let mut terms = TermTable::default();
        // Each collateral asset's diversification cap (1 = none; docs/lending.md#diversification-cap).
        let cap: Vec<f64> = (0..n_assets)
            .map(|a| params.diversification_cap_of(a))
            .collect();
        let own: Vec<[u32; 2]> = (0..n_assets)
            .map(|a| {
                [
                    terms.id_capped(Side::Collateral, lt[a], lb[a], cap[a]),
                    terms.id(Side::Debt, lt[a], lb[a]),
                ]
            })
            .collect();
        // Per category, the term of each of its assets (the same one unless their caps differ).
        let emode_term: Vec<Vec<(usize, u32)>> = params
            .emode
            .iter()
            .map(|c| {
                c.assets
                    .iter()
                    .map(|&a| {
                        let t = terms.id_capped(
                            Side::Collateral,
                            c.liquidation_threshold,
                            c.liquidation_bonus,
                            cap[a],
                        );
                        (a, t)
                    })
                    .collect()
            })
            .collect();
        let zeroed: Vec<u32> = (0..terms.len() as u32)
            .map(|t| {
                let t = terms.get(t);
                terms.id_capped(Side::Collateral, 0.0, t.lb, t.cap)
            })
            .collect();
        // Collateral tokens held per asset, added in row order (as `Snapshot::totals` adds them).
        let mut held = vec![0.0; n_assets];
        let mut slot_of = |r: usize| {
            let a = pos.asset[r] as usize;
            if pos.side[r] == Side::Collateral {
                held[a] += pos.amount[r];
            }
            Slot {
                amount: pos.amount[r],
                asset: a as u32,
                term: own[a][(pos.side[r] == Side::Debt) as usize],
            }
        };
        // Rows that come in slot order are pushed (each slot's memory written once); others go
        // to their account's next slot.
        let mut slots = Vec::with_capacity(n_slots);
        match &order {
            RowOrder::Range(lo, hi) => slots.extend((*lo..*hi).map(slot_of)),
            // Sorted by account, the pool's rows come in slot order.
            RowOrder::Rows(rows @ PoolRows::Sorted(_)) => {
                rows.each(&pos.account, &account, |_, r| slots.push(slot_of(r)));
            }
            RowOrder::Rows(rows) => {
                let blank = Slot {
                    amount: 0.0,
                    asset: 0,
                    term: 0,
                };
                slots.resize(n_slots, blank);
                let mut fill = starts[..account.len()].to_vec();
                rows.each(&pos.account, &account, |l, r| {
                    slots[fill[l]] = slot_of(r);
                    fill[l] += 1;
                });
            }
        }
        // E-mode and isolation overrides.
        let is_collateral = |t: u32| terms.get(t).side == Side::Collateral;
        for (l, &acc) in account.iter().enumerate() {
            let es = &mut slots[starts[l]..starts[l + 1]];
            if let Some(c) = s.accounts.emode[acc as usize] {
                if let Some(cat) = emode_term.get(c as usize) {
                    for e in es.iter_mut().filter(|e| is_collateral(e.term)) {
                        if let Some(&(_, t)) = cat.iter().find(|(a, _)| *a == e.asset as usize) {
                            e.term = t;
                        }
                    }
                }
            }
            let iso = es
                .iter()
                .find(|e| is_collateral(e.term) && e.amount > 0.0 && isolated[e.asset as usize])
                .map(|e| e.asset);
            if let Some(iso) = iso {
                for e in es
                    .iter_mut()
                    .filter(|e| is_collateral(e.term) && e.asset != iso)
                {
                    e.term = zeroed[e.term as usize];
                }
            }
        }
        let terms: Arc<[Term]> = terms.into_terms().into();
        let signatures = Signatures::new(&slots, &terms, &starts, n_assets);
        let supplied = params
            .reserves
            .iter()
            .map(|r| {
                let held = held[r.asset];
                (r.asset, r.supplied.map_or(held, |x| x.max(held)))
            })
            .collect();
        let status = vec![0u8; account.len()];
        let receipts = s
            .assets
            .iter()
            .enumerate()
            .filter(|(_, a)| a.kind == AssetKind::Receipt && a.issuer == Some(protocol))
            .filter_map(|(i, a)| a.underlying.map(|u| (i, u)))
            .collect();
        LendingPool {
            id: p.id.clone(),
            rules: LiquidationRules::of(params),
            protocol_fee,
            logs: Vec::new(),
            account: account.into(),
            starts: starts.into(),
            slots: slots.into(),
            terms,
            status,
            supplied,
            insurance_fund: p.insurance_fund.clone(),
            uncovered_tokens: Vec::new(),
            receipts,
            default_share: 0.0,
            breakers: p.breakers,
            reserve_assets: params.reserves.iter().map(|r| r.asset).collect(),
            bound: HealthyBound::default(),
            signatures,
            skipping: true,
            bounding: true,
            mechanism: params.liquidation_mechanism,
            mech_params: params.mechanism,
            mech: MechState::default(),
            tally: Tally::default(),
        }
    }

    /// Whether a breaker pauses this round: one of the pool's reserve assets fell by more than
    /// `pause_liquidations_on_drop` from the previous round's start to this one's.
    fn breaker_trips(&self, ctx: &RoundCtx) -> bool {
        let Some(x) = self.breakers.pause_liquidations_on_drop else {
            return false;
        };
        self.reserve_assets.iter().any(|&a| {
            let (before, now) = (ctx.prev_prices[a], ctx.prices[a]);
            before > 0.0 && now / before - 1.0 < -x
        })
    }

    /// Whether new borrowing is frozen this round: one of the pool's reserve assets moved (either way)
    /// by more than `freeze_borrowing_on_deviation` in the previous round. Reported only: the cascade
    /// opens no new loans.
    fn borrowing_freezes(&self, ctx: &RoundCtx) -> bool {
        let Some(x) = self.breakers.freeze_borrowing_on_deviation else {
            return false;
        };
        self.reserve_assets.iter().any(|&a| {
            let (before, now) = (ctx.prev_prices[a], ctx.prices[a]);
            before > 0.0 && (now / before - 1.0).abs() > x
        })
    }

    pub fn accounts(&self) -> usize {
        self.account.len()
    }

    /// Positions of local account `k`.
    pub fn entries_of(&self, k: usize) -> Entries<'_> {
        Entries {
            slots: &self.slots[self.starts[k]..self.starts[k + 1]],
            terms: &self.terms,
        }
    }

    /// Whether rounds may skip accounts (docs/lending.md#accounts-a-round-skips).
    fn skips(&self) -> bool {
        self.skipping
            && self.rules.health_factor_rule == HealthFactorRule::Exact
            && self.mechanism == LiquidationMechanism::FixedBonus
    }

    /// Splits slots, status, logs and skip keys into the fixed chunks of [`CHUNK`] accounts (logs
    /// and keys empty where not kept).
    fn chunks_mut(&mut self) -> Vec<Chunk<'_>> {
        let n = self.account.len();
        let mut out = Vec::with_capacity(n.div_ceil(CHUNK));
        let mut rest_e: &mut [Slot] = &mut self.slots;
        let mut rest_s: &mut [u8] = &mut self.status;
        let recording = !self.logs.is_empty();
        let mut rest_l: &mut [AccountLog] = &mut self.logs;
        let keyed = self.bound.key.len() == n;
        let mut rest_k: &mut [f32] = &mut self.bound.key;
        let mut consumed = 0usize;
        let mut a = 0;
        while a < n {
            let b = (a + CHUNK).min(n);
            let len = self.starts[b] - consumed;
            let (e, re) = std::mem::take(&mut rest_e).split_at_mut(len);
            let (st, rs) = std::mem::take(&mut rest_s).split_at_mut(b - a);
            let (lg, rl) =
                std::mem::take(&mut rest_l).split_at_mut(if recording { b - a } else { 0 });
            let (ky, rk) = std::mem::take(&mut rest_k).split_at_mut(if keyed { b - a } else { 0 });
            out.push(Chunk {
                first: a,
                slots: e,
                starts: &self.starts[a..=b],
                status: st,
                logs: lg,
                keys: ky,
            });
            rest_e = re;
            rest_s = rs;
            rest_l = rl;
            rest_k = rk;
            consumed = self.starts[b];
            a = b;
        }
        out
    }
}

/// A chunk of [`CHUNK`] accounts, as one parallel work unit gets it.
struct Chunk<'a> {
    /// The pool's index of the chunk's first account.
    first: usize,
    slots: &'a mut [Slot],
    /// Where each account's slots start, the chunk's first start included (and the end).
    starts: &'a [usize],
    status: &'a mut [u8],
    /// Per account when recording, else empty.
    logs: &'a mut [AccountLog],
    /// Per account when the round may skip accounts, else empty.
    keys: &'a mut [f32],
}

impl ProtocolModel for LendingPool {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> ProtocolKind {
        ProtocolKind::Lending
    }

    fn tvl_usd(&self, prices: &[f64]) -> f64 {
        self.supplied.iter().map(|&(a, q)| q * prices[a]).sum()
    }

    fn liquidate(&mut self, ctx: &RoundCtx) -> ProtocolRound {
        // Before the breakers: the products follow every round's prices, paused ones included.
        if self.skips() {
            self.bound
                .advance(ctx.prices, &self.signatures, self.account.len());
        }
        let borrowing_frozen = ctx.breakers && self.borrowing_freezes(ctx);
        if ctx.breakers && self.breaker_trips(ctx) {
            // Paused, not dropped: count what waits for a later round.
            let deferred = (0..self.account.len())
                .filter(|&k| {
                    self.status[k] & STATUS_CLOSED == 0
                        && health_factor_with(
                            self.rules.health_factor_rule,
                            &self.entries_of(k),
                            ctx.prices,
                        ) < 1.0
                })
                .count() as u64;
            return ProtocolRound {
                paused: true,
                deferred,
                borrowing_frozen,
                ..Default::default()
            };
        }
        if self.mechanism != LiquidationMechanism::FixedBonus {
            let total = self.liquidate_mechanism(ctx);
            return ProtocolRound {
                sales: total.sales,
                buys: total.buys,
                liquidations: total.records,
                accounts_liquidated: total.accounts_liquidated,
                accounts_bad_debt: total.accounts_bad_debt,
                bad_debt: total.bad_debt,
                accounts_unprofitable: total.accounts_unprofitable,
                paused: false,
                // Open auctions keep the run going (docs/mechanisms.md#rounds-and-time).
                deferred: self.open_auctions() + self.mech.waiting,
                borrowing_frozen,
                notes: Vec::new(),
            };
        }
        let rules = self.rules;
        // A copy (one number per asset), as the chunks borrow the pool mutably.
        let protocol_fee = self.protocol_fee.clone();
        let terms = Arc::clone(&self.terms);
        let ladder =
            slippage_bound::SlippageLadder::new(if self.bounding { protocol_fee.len() } else { 0 });
        let pool = PoolTerms {
            rules: &rules,
            terms: &terms,
            protocol_fee: &protocol_fee,
            ladder: &ladder,
        };
        let factor = std::mem::take(&mut self.bound.factor);
        let signatures = self.signatures.clone();
        let outs: Vec<ChunkOut> = self
            .chunks_mut()
            .into_par_iter()
            .map(|c| {
                let mut out = ChunkOut::default();
                let base = c.starts[0];
                for k in 0..c.status.len() {
                    if c.status[k] & STATUS_CLOSED != 0 {
                        continue;
                    }
                    let key = c.keys.get_mut(k).map(|x| {
                        let g = factor[signatures.of(c.first + k)];
                        (x, g)
                    });
                    if key.as_ref().is_some_and(|(x, g)| skippable(**x, *g)) {
                        continue;
                    }
                    let es = &mut c.slots[c.starts[k] - base..c.starts[k + 1] - base];
                    let log = c.logs.get_mut(k);
                    liquidate_account(es, &mut c.status[k], key, &pool, ctx, &mut out, log);
                }
                out
            })
            .collect();
        self.bound.factor = factor;
        let mut total = ChunkOut::default();
        for o in outs {
            total.merge(o);
        }
        self.tally_fixed_bonus(&total);
        ProtocolRound {
            sales: total.sales,
            buys: total.buys,
            liquidations: total.records,
            accounts_liquidated: total.accounts_liquidated,
            accounts_bad_debt: total.accounts_bad_debt,
            bad_debt: total.bad_debt,
            accounts_unprofitable: total.accounts_unprofitable,
            paused: false,
            deferred: 0,
            borrowing_frozen,
            notes: Vec::new(),
        }
    }

    /// Pays the round's bad debt from the insurance fund, valued at the round's prices: the fund pays
    /// `min(bad debt, fund value)`, each balance drawn pro rata; the rest is socialised to the
    /// suppliers of each reserve in proportion to that reserve's share of the bad debt. The fund's tokens
    /// are handed over at value, not sold (no fire-sale of the fund in this version).
    fn absorb_losses(&mut self, round: &ProtocolRound, prices: &[f64]) -> LossOutcome {
        let bad = round.bad_debt_usd();
        if bad <= 0.0 {
            return LossOutcome::default();
        }
        let fund = self.insurance_fund_usd(prices);
        let paid = bad.min(fund);
        if paid > 0.0 {
            let keep = 1.0 - paid / fund;
            for (_, q) in &mut self.insurance_fund {
                *q *= keep;
            }
        }
        let uncovered_share = 1.0 - paid / bad;
        for b in &round.bad_debt {
            let t = b.tokens * uncovered_share;
            match self
                .uncovered_tokens
                .iter_mut()
                .find(|(a, _)| *a == b.asset)
            {
                Some((_, x)) => *x += t,
                None => self.uncovered_tokens.push((b.asset, t)),
            }
        }
        LossOutcome {
            insurance_used_usd: paid,
            uncovered_usd: bad - paid,
            winners_paid_usd: 0.0,
        }
    }

    /// Sales are the liquidators' own: the pool only counts their proceeds and slippage
    /// (docs/mechanisms.md#metrics).
    fn settle(
        &mut self,
        fills: &[crate::ProtocolFill],
        _buys: &[crate::ProtocolBuyFill],
        prices: &[f64],
    ) -> crate::Settlement {
        self.tally_fills(fills, prices);
        crate::Settlement::default()
    }

    fn mechanism_figures(&self, prices: &[f64]) -> Option<MechanismFigures> {
        Some(self.figures(prices))
    }

    fn insurance_fund_usd(&self, prices: &[f64]) -> f64 {
        self.insurance_fund
            .iter()
            .map(|&(a, q)| q * prices[a])
            .sum()
    }

    fn apply_default(&mut self, share: f64) {
        self.default_share =
            (1.0 - (1.0 - self.default_share) * (1.0 - share.clamp(0.0, 1.0))).clamp(0.0, 1.0);
    }

    /// Each receipt token's recovery: `(1 − default) · (1 − uncovered_tokens_U / supplied_tokens_U)`,
    /// floored at 0 (docs/assets.md#receipt-tokens; in tokens of the underlying, so it does not move with its price).
    fn price_inputs(&self, _prices: &[f64]) -> Vec<PriceInput> {
        self.receipts
            .iter()
            .map(|&(asset, u)| {
                let lost = self
                    .uncovered_tokens
                    .iter()
                    .find(|(a, _)| *a == u)
                    .map_or(0.0, |x| x.1);
                let supplied = self
                    .supplied
                    .iter()
                    .find(|(a, _)| *a == u)
                    .map_or(0.0, |x| x.1);
                let socialised = if supplied > 0.0 {
                    (1.0 - lost / supplied).max(0.0)
                } else if lost > 0.0 {
                    0.0
                } else {
                    1.0
                };
                PriceInput::Recovery {
                    asset,
                    recovery: (1.0 - self.default_share) * socialised,
                }
            })
            .collect()
    }

    /// Every account's skip key at the prices before any shock, so that a run's first round skips
    /// too (docs/lending.md#accounts-a-round-skips); the copies each run makes start from it.
    fn prime(&mut self, prices: &[f64]) {
        if !self.skips() {
            return;
        }
        let n = self.account.len();
        self.bound.start(prices, &self.signatures, n);
        let rules = self.rules;
        let pool = &*self;
        let keys: Vec<f32> = (0..n)
            .into_par_iter()
            .with_min_len(CHUNK)
            .map(
                |k| match next_step_and_health(&pool.entries_of(k), &rules, prices) {
                    (Step::Healthy, hf) if pool.status[k] & STATUS_CLOSED == 0 => key_of(1.0, hf),
                    _ => f32::INFINITY,
                },
            )
            .collect();
        self.bound.key = keys.into();
    }

    fn record_accounts(&mut self) {
        self.logs = vec![AccountLog::default(); self.account.len()];
    }

    fn account_results(&self, prices: &[f64]) -> Vec<AccountResult> {
        (0..self.account.len())
            .map(|k| AccountResult {
                account: self.account[k],
                health: health_factor_with(
                    self.rules.health_factor_rule,
                    &self.entries_of(k),
                    prices,
                ),
                log: self.logs.get(k).copied().unwrap_or_default(),
            })
            .collect()
    }

    fn end_state(&self, prices: &[f64]) -> EndState {
        let n = self.account.len();
        let rule = self.rules.health_factor_rule;
        // Accounts certainly at HF ≥ 1 at these prices are not read (docs/lending.md#accounts-a-round-skips).
        let factor = self
            .skips()
            .then(|| self.bound.factor_at(prices, &self.signatures, n))
            .flatten();
        // Each underwater account's shortfall, found in parallel chunks and added in account
        // order (the same sum whatever the thread count).
        let shortfalls: Vec<Vec<f64>> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|chunk| {
                let mut out = Vec::new();
                for k in chunk * CHUNK..((chunk + 1) * CHUNK).min(n) {
                    if self.status[k] & STATUS_CLOSED != 0 {
                        continue;
                    }
                    let certain = factor
                        .as_ref()
                        .is_some_and(|g| skippable(self.bound.key[k], g[self.signatures.of(k)]));
                    if certain {
                        continue;
                    }
                    let (w, c, d) = health_sums(&self.entries_of(k), prices);
                    if d > 0.0 && health_factor_by(rule, w, c, d) < 1.0 {
                        out.push((d - c).max(0.0));
                    }
                }
                out
            })
            .collect();
        let mut st = EndState {
            accounts_liquidated: self
                .status
                .iter()
                .filter(|&&x| x & STATUS_LIQUIDATED != 0)
                .count() as u64,
            ..EndState::default()
        };
        for x in shortfalls.into_iter().flatten() {
            st.accounts_underwater += 1;
            st.shortfall_usd += x;
        }
        st
    }
}
