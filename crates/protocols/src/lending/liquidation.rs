//! One account's liquidation within a round (docs/lending.md), and what a chunk of accounts did.

use cascade_market::price::{BuyOrder, SaleOrder};
use cascade_model::{AssetIdx, LiquidationRuleSet, Side};

use super::slippage_bound::{SlippageLadder, MARGIN_SHARE, MARGIN_USD};
use super::{
    next_step_and_health, skip::key_of, v33_dust_room, Entries, LiquidationRules, Slot, Step, Term,
    MAX_CALLS_PER_ROUND, STATUS_CLOSED, STATUS_LIQUIDATED,
};
use crate::{AccountLog, BadDebt, CallRecord, LiquidationRecord, RoundCtx};

/// What one chunk of accounts did in a round.
#[derive(Debug, Default)]
pub(super) struct ChunkOut {
    pub(super) sales: Vec<SaleOrder>,
    pub(super) buys: Vec<BuyOrder>,
    pub(super) records: Vec<LiquidationRecord>,
    pub(super) bad_debt: Vec<BadDebt>,
    pub(super) accounts_liquidated: u64,
    pub(super) accounts_bad_debt: u64,
    pub(super) accounts_unprofitable: u64,
}

impl ChunkOut {
    /// One call: `repay` tokens of `debt` repaid, `seize` tokens of `coll` taken from the account, of
    /// which `fee` went to the treasury; the liquidator sells the rest.
    fn record(
        &mut self,
        (coll, debt): (AssetIdx, AssetIdx),
        repay: f64,
        seize: f64,
        fee: f64,
        prices: &[f64],
    ) {
        let (p_i, p_j) = (prices[coll], prices[debt]);
        LiquidationRecord {
            collateral: coll,
            debt,
            repaid_tokens: repay,
            seized_tokens: seize,
            repaid_usd: repay * p_j,
            seized_usd: seize * p_i,
            protocol_fee_tokens: fee,
            protocol_fee_usd: fee * p_i,
            calls: 1,
        }
        .add_to(&mut self.records);
        self.sell(coll, seize - fee, debt);
    }
    /// A sale order of `quantity` tokens of `coll` by someone who wants `debt` back, added to the
    /// round's order for that pair.
    pub(super) fn sell(&mut self, coll: AssetIdx, quantity: f64, debt: AssetIdx) {
        match self
            .sales
            .iter_mut()
            .find(|s| s.asset == coll && s.wanted == Some(debt))
        {
            Some(s) => s.quantity += quantity,
            None => self.sales.push(SaleOrder {
                asset: coll,
                quantity,
                wanted: Some(debt),
            }),
        }
    }
    /// A liquidation record (no sale): `repay` tokens of `debt` and `seize` tokens of `coll`.
    pub(super) fn note(
        &mut self,
        (coll, debt): (AssetIdx, AssetIdx),
        repay: f64,
        seize: f64,
        prices: &[f64],
    ) {
        LiquidationRecord {
            collateral: coll,
            debt,
            repaid_tokens: repay,
            seized_tokens: seize,
            repaid_usd: repay * prices[debt],
            seized_usd: seize * prices[coll],
            protocol_fee_tokens: 0.0,
            protocol_fee_usd: 0.0,
            calls: 1,
        }
        .add_to(&mut self.records);
    }
    fn buy(&mut self, asset: AssetIdx, quantity: f64) {
        match self.buys.iter_mut().find(|b| b.asset == asset) {
            Some(b) => b.quantity += quantity,
            None => self.buys.push(BuyOrder { asset, quantity }),
        }
    }
    pub(super) fn bad(&mut self, asset: AssetIdx, tokens: f64, usd: f64, accounts: u64) {
        match self.bad_debt.iter_mut().find(|b| b.asset == asset) {
            Some(b) => {
                b.tokens += tokens;
                b.usd += usd;
                b.accounts += accounts;
            }
            None => self.bad_debt.push(BadDebt {
                asset,
                tokens,
                usd,
                accounts,
            }),
        }
    }
    /// Adds `other` after `self` (order matters for bit-identical sums).
    pub(super) fn merge(&mut self, other: ChunkOut) {
        for r in other.records {
            r.add_to(&mut self.records);
        }
        for s in other.sales {
            match self
                .sales
                .iter_mut()
                .find(|x| x.asset == s.asset && x.wanted == s.wanted)
            {
                Some(x) => x.quantity += s.quantity,
                None => self.sales.push(s),
            }
        }
        for b in other.buys {
            self.buy(b.asset, b.quantity);
        }
        for b in other.bad_debt {
            self.bad(b.asset, b.tokens, b.usd, b.accounts);
        }
        self.accounts_liquidated += other.accounts_liquidated;
        self.accounts_bad_debt += other.accounts_bad_debt;
        self.accounts_unprofitable += other.accounts_unprofitable;
    }
}

/// What every account of a pool shares in a round: its rules, its table of terms and its
/// liquidation protocol fee per asset.
pub(super) struct PoolTerms<'a> {
    pub rules: &'a LiquidationRules,
    pub terms: &'a [Term],
    pub protocol_fee: &'a [f64],
    /// The round's bounds on slippage (a call certain to profit is decided without its exact one).
    pub ladder: &'a SlippageLadder,
}

/// Liquidates one account within a round (repeating while HF < 1), writing its slots in place.
pub(super) fn liquidate_account(
    entries: &mut [Slot],
    status: &mut u8,
    key: Option<(&mut f32, f64)>,
    pool: &PoolTerms,
    ctx: &RoundCtx,
    out: &mut ChunkOut,
    mut log: Option<&mut AccountLog>,
) {
    let PoolTerms {
        rules,
        terms,
        protocol_fee,
        ladder,
    } = *pool;
    // The health factor at which the account was left healthy, if it was.
    let mut healthy_at = None;
    let prices = ctx.prices;
    let mut liquidated = false;
    for _ in 0..MAX_CALLS_PER_ROUND {
        let view = Entries {
            slots: entries,
            terms,
        };
        match next_step_and_health(&view, rules, prices) {
            (Step::Healthy, hf) => {
                healthy_at = Some(hf);
                break;
            }
            (Step::BadDebt, _) => {
                write_off(entries, terms, prices, out, log.as_deref_mut());
                *status |= STATUS_CLOSED;
                break;
            }
            (
                Step::Liquidate {
                    collateral,
                    debt,
                    repay,
                    seize,
                    ..
                },
                _,
            ) => {
                let (ci, dj) = (
                    entries[collateral].asset as usize,
                    entries[debt].asset as usize,
                );
                let (p_i, p_j) = (prices[ci], prices[dj]);
                // The treasury's part of the bonus (docs/lending.md#liquidation-protocol-fee).
                let fee_of = |seized: f64| {
                    protocol_fee_tokens(
                        seized,
                        terms[entries[collateral].term as usize].lb,
                        protocol_fee[ci],
                    )
                };
                // docs/lending.md#liquidator-profitability: a liquidator acts only if the bonus beats the slippage of selling the seized
                // collateral alone at the round's start, plus its fixed cost (plus, when it must buy the
                // debt it repays, that buy's slippage).
                let profit = |share: f64| {
                    let (r, c) = (repay * share, seize * share);
                    let c = c - fee_of(c);
                    let mut slippage = ctx.market.slippage_usd(ci, c, prices);
                    if rules.buy_debt {
                        slippage += ctx.market.buy_slippage_usd(dj, r, prices);
                    }
                    (c * p_i - r * p_j) - slippage - rules.liquidator_cost_usd
                };
                // The whole call's profit, bounded by the round's slippage ladder: when the bounds
                // are clearly on one side of zero the exact slippage would say the same.
                let known = if rules.buy_debt {
                    None
                } else {
                    let c = seize - fee_of(seize);
                    ladder.bounds(ci, c, ctx).and_then(|(s_lo, s_hi)| {
                        let gain = (c * p_i - repay * p_j) - rules.liquidator_cost_usd;
                        let margin = MARGIN_USD + MARGIN_SHARE * (c * p_i);
                        if gain - s_hi > margin {
                            Some(true)
                        } else if gain - s_lo < -margin {
                            Some(false)
                        } else {
                            None
                        }
                    })
                };
                let mut share = 1.0;
                let unprofitable = match known {
                    Some(profitable) => !profitable,
                    None => profit(1.0) <= 0.0,
                };
                if unprofitable {
                    match rules
                        .buy_debt
                        .then(|| largest_profitable_share(&profit))
                        .flatten()
                    {
                        Some(x) => share = x,
                        None => {
                            if !liquidated {
                                out.accounts_unprofitable += 1;
                                if let Some(l) = log.as_deref_mut() {
                                    l.unprofitable_rounds += 1;
                                }
                            }
                            break;
                        }
                    }
                }
                if share < 1.0 && rules.rule_set == LiquidationRuleSet::AaveV33 {
                    // A partial call clears neither reserve: Aave v3.3's dust rule bounds it too.
                    let (d, c) = (entries[debt].amount, entries[collateral].amount);
                    let room = v33_dust_room(
                        (d - repay * share) * p_j,
                        (c - seize * share) * p_i,
                        repay * share * p_j,
                        seize * share * p_i,
                    );
                    if room < 1.0 {
                        share *= room;
                        if share <= 0.0 || profit(share) <= 0.0 {
                            if !liquidated {
                                out.accounts_unprofitable += 1;
                                if let Some(l) = log.as_deref_mut() {
                                    l.unprofitable_rounds += 1;
                                }
                            }
                            break;
                        }
                    }
                }
                let (repay, seize) = if share < 1.0 {
                    (repay * share, seize * share)
                } else {
                    (repay, seize)
                };
                let fee = fee_of(seize);
                entries[debt].amount = (entries[debt].amount - repay).max(0.0);
                entries[collateral].amount = (entries[collateral].amount - seize).max(0.0);
                out.record((ci, dj), repay, seize, fee, prices);
                if let Some(l) = log.as_deref_mut() {
                    let call = CallRecord {
                        collateral: ci,
                        debt: dj,
                        repaid_tokens: repay,
                        seized_tokens: seize,
                        protocol_fee_tokens: fee,
                    };
                    l.record_call(ctx.round, call, [repay * p_j, seize * p_i, fee * p_i]);
                }
                if rules.buy_debt {
                    out.buy(dj, repay);
                }
                liquidated = true;
                if rules.rule_set == LiquidationRuleSet::AaveV33
                    && !has_seizable_collateral(entries, terms, prices)
                {
                    // Aave v3.3: the call took the account's last collateral, so the rest of its
                    // debt is burned into the reserves' deficits in the same call
                    // (docs/lending.md#aave-v33-liquidations), reported as bad debt.
                    if entries
                        .iter()
                        .any(|e| terms[e.term as usize].side == Side::Debt && e.amount > 0.0)
                    {
                        write_off(entries, terms, prices, out, log.as_deref_mut());
                        *status |= STATUS_CLOSED;
                        break;
                    }
                }
                if share < 1.0 {
                    // A partial call: the account waits for the next round.
                    break;
                }
            }
        }
    }
    if liquidated {
        out.accounts_liquidated += 1;
        *status |= STATUS_LIQUIDATED;
    }
    // The account's skip key (docs/lending.md#accounts-a-round-skips), with its signature's product.
    if let Some((key, factor)) = key {
        *key = healthy_at.map_or(f32::INFINITY, |hf| key_of(factor, hf));
    }
}

/// Writes off every remaining debt of an account (docs/lending.md#bad-debt): valued at the round's
/// prices, added to the round's bad debt per asset and to the account's log.
pub(super) fn write_off(
    entries: &mut [Slot],
    terms: &[Term],
    prices: &[f64],
    out: &mut ChunkOut,
    mut log: Option<&mut AccountLog>,
) {
    for e in entries
        .iter_mut()
        .filter(|e| terms[e.term as usize].side == Side::Debt && e.amount > 0.0)
    {
        let a = e.asset as usize;
        out.bad(a, e.amount, e.amount * prices[a], 1);
        if let Some(l) = log.as_deref_mut() {
            l.bad_debt_usd += e.amount * prices[a];
        }
        e.amount = 0.0;
    }
    out.accounts_bad_debt += 1;
}

/// Whether the account still holds collateral a call could seize (an effective threshold above 0,
/// a positive amount and a positive price): Aave v3.3's "collateral left" in base currency.
fn has_seizable_collateral(entries: &[Slot], terms: &[Term], prices: &[f64]) -> bool {
    entries.iter().any(|e| {
        let t = terms[e.term as usize];
        t.side == Side::Collateral && t.lt > 0.0 && e.amount > 0.0 && prices[e.asset as usize] > 0.0
    })
}

/// Steps of the searches for the largest profitable share of a liquidation call.
const SHARE_SEARCH_STEPS: usize = 100;

/// The largest share `x ∈ (0, 1)` of a liquidation call whose profit `f(x)` (bonus − slippages −
/// cost) is positive, when the whole call does not profit; `None` if no share does. The bonus is
/// linear in `x` and the slippages convex, so `f` is concave: a golden-section search finds its
/// maximum, then bisection between the maximum and 1 finds the largest `x` with `f(x) > 0`.
pub(super) fn largest_profitable_share(f: &dyn Fn(f64) -> f64) -> Option<f64> {
    let g = 0.5 * (5f64.sqrt() - 1.0);
    let (mut a, mut b) = (0.0_f64, 1.0_f64);
    for _ in 0..SHARE_SEARCH_STEPS {
        let (x1, x2) = (b - g * (b - a), a + g * (b - a));
        if f(x1) < f(x2) {
            a = x1;
        } else {
            b = x2;
        }
        if b - a <= f64::EPSILON {
            break;
        }
    }
    let top = 0.5 * (a + b);
    if f(top).is_nan() || f(top) <= 0.0 {
        return None;
    }
    let (mut lo, mut hi) = (top, 1.0_f64);
    for _ in 0..SHARE_SEARCH_STEPS {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if f(mid) > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(lo)
}

/// The liquidation protocol fee on `seized` tokens of collateral with effective bonus `bonus`, tokens:
/// `fee_share · (seized − seized/(1 + bonus))`, the treasury's share of the bonus part (Aave v3's
/// `bonusCollateral.percentMul(liquidationProtocolFee)`; docs/lending.md#liquidation-protocol-fee).
pub fn protocol_fee_tokens(seized: f64, bonus: f64, fee_share: f64) -> f64 {
    if fee_share > 0.0 {
        fee_share * (seized - seized / (1.0 + bonus))
    } else {
        0.0
    }
}
