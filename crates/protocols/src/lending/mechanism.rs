//! Liquidation mechanisms other than the fixed bonus (docs/mechanisms.md): a Dutch auction
//! (Maker's Clipper), soft liquidation in price bands (crvUSD's LLAMMA) and absorb with a
//! discounted resale (Compound III), and the figures every mechanism is compared on.
//!
//! These run one account after another (no parallel chunks) and keep state across rounds, so a
//! pool using one never skips accounts (docs/lending.md#accounts-a-round-skips).

use cascade_model::{LiquidationMechanism, MechanismParams, Side};

use super::liquidation::{largest_profitable_share, ChunkOut};
use super::{LendingPool, Slot, Term, STATUS_CLOSED, STATUS_LIQUIDATED};
use crate::{AccountLog, CallRecord, ProtocolFill, RoundCtx};

mod bands;
mod dutch;
#[cfg(test)]
mod tests;

pub(super) use bands::Bands;
pub(super) use dutch::Auction;

/// What a pool's liquidations did over a run, USD at each event's round prices
/// (docs/mechanisms.md#metrics).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Tally {
    /// Debt repaid by liquidators, bidders or conversions, or erased by an absorb.
    pub liquidated_usd: f64,
    /// Collateral taken from borrowers, at the oracle price when taken.
    pub seized_usd: f64,
    /// Collateral given back to borrowers (an auction's leftover lots, an absorb's credit above the
    /// debt, a conversion's proceeds above the debt).
    pub returned_usd: f64,
    /// What liquidators, bidders, arbitrageurs and storefront buyers paid for what they took.
    pub paid_usd: f64,
    /// Their fixed costs (`liquidator_cost_usd` per call, take, conversion or purchase).
    pub costs_usd: f64,
    /// Their sales' proceeds on the liquidity curves (from the engine's fills).
    pub proceeds_usd: f64,
    /// Those sales' slippage: value at the round's oracle price minus proceeds.
    pub slippage_usd: f64,
    /// Borrowers' losses beyond the debt taken off them: Σ max(0, collateral out − returned − debt removed).
    pub borrower_loss_usd: f64,
    /// The protocol's take: Aave's liquidation protocol fee, Maker's penalty paid.
    pub protocol_revenue_usd: f64,
}

/// A pool's figures for a mechanism comparison (docs/mechanisms.md#metrics).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MechanismFigures {
    pub mechanism: LiquidationMechanism,
    pub tally: Tally,
    /// Debt of accounts whose auction is still open at the end, USD at the final prices.
    pub open_debt_usd: f64,
    /// Collateral still in open auctions' lots, USD at the final prices.
    pub open_lots_usd: f64,
    /// Σ over open auctions of `min(debt, lots)`, USD at the final prices: what an open auction's
    /// lots still cover of its account's debt. The pool's end shortfall counts such an account's
    /// whole debt (its collateral left it for the lots); a comparison takes this off.
    pub open_lots_cover_usd: f64,
    /// An absorbing protocol's unsold collateral, USD at the final prices.
    pub inventory_usd: f64,
}

impl MechanismFigures {
    /// Liquidators' profit: proceeds − paid − fixed costs, USD.
    pub fn liquidator_profit_usd(&self) -> f64 {
        self.tally.proceeds_usd - self.tally.paid_usd - self.tally.costs_usd
    }
}

/// State a mechanism keeps across rounds.
#[derive(Debug, Clone, Default)]
pub(super) struct MechState {
    /// Per account, its open auction (dutch-auction; empty otherwise).
    pub auctions: Vec<Option<Auction>>,
    /// Per account, per slot, the bands of that collateral (soft-bands; empty until the first round).
    pub bands: Vec<Vec<Option<Bands>>>,
    /// The absorbing protocol's collateral for sale: (asset, asset wanted back, tokens).
    pub inventory: Vec<(usize, usize, f64)>,
    /// Tokens of each asset the round's earlier takes already ordered sold (reset every round).
    pub queued: Vec<f64>,
    /// The soft bands' oracle price per asset, USD (an exponential moving average).
    pub oracle: Vec<f64>,
    /// Accounts waiting for the mechanism in a later round (open auctions, bands the oracle has
    /// yet to reach): the run goes on while there are any.
    pub waiting: u64,
}

/// The slippage of selling `q` more tokens of `a` after the `queued[a]` the round's earlier takes
/// ordered, on the round-start curve: `slip(queued + q) − slip(queued)`, USD. Each bidder, buyer
/// or arbitrageur of a mechanism sees the pool's earlier orders of the round
/// (docs/mechanisms.md#slippage-and-profitability).
pub(super) fn marginal_slippage(ctx: &RoundCtx, queued: &[f64], a: usize, q: f64) -> f64 {
    let before = queued.get(a).copied().unwrap_or(0.0);
    if before <= 0.0 {
        return ctx.market.slippage_usd(a, q, ctx.prices);
    }
    ctx.market.slippage_usd(a, before + q, ctx.prices)
        - ctx.market.slippage_usd(a, before, ctx.prices)
}

/// USD value of an account's positions on `side` at `prices`.
pub(super) fn side_usd(es: &[Slot], terms: &[Term], side: Side, prices: &[f64]) -> f64 {
    es.iter()
        .filter(|e| terms[e.term as usize].side == side)
        .map(|e| e.amount * prices[e.asset as usize])
        .sum()
}

/// The asset of the account's largest debt (USD), if any: the asset its collateral is sold for.
pub(super) fn main_debt(es: &[Slot], terms: &[Term], prices: &[f64]) -> Option<usize> {
    es.iter()
        .filter(|e| terms[e.term as usize].side == Side::Debt && e.amount > 0.0)
        .map(|e| (e.asset as usize, e.amount * prices[e.asset as usize]))
        .fold(None, |best: Option<(usize, f64)>, x| match best {
            Some(b) if b.1 >= x.1 => Some(b),
            _ => Some(x),
        })
        .map(|x| x.0)
}

/// Repays `usd` of the account's debt, every debt position by the same share
/// (`d_j ← d_j·(1 − f)`, `f = min(1, usd / Σ d·p)`); the USD repaid.
pub(super) fn repay_pro_rata(es: &mut [Slot], terms: &[Term], usd: f64, prices: &[f64]) -> f64 {
    let total = side_usd(es, terms, Side::Debt, prices);
    if total <= 0.0 || usd <= 0.0 {
        return 0.0;
    }
    let f = (usd / total).min(1.0);
    for e in es
        .iter_mut()
        .filter(|e| terms[e.term as usize].side == Side::Debt)
    {
        e.amount = if f >= 1.0 { 0.0 } else { e.amount * (1.0 - f) };
    }
    f * total
}

/// Adds a call (`repay` tokens of `debt` repaid, `seize` tokens of `coll` taken) to an account's
/// log, when accounts are recorded (docs/formats.md#per-account-results).
pub(super) fn log_call(
    log: Option<&mut AccountLog>,
    round: u32,
    (coll, debt): (usize, usize),
    repay: f64,
    seize: f64,
    prices: &[f64],
) {
    if let Some(l) = log {
        let call = CallRecord {
            collateral: coll,
            debt,
            repaid_tokens: repay,
            seized_tokens: seize,
            protocol_fee_tokens: 0.0,
        };
        l.record_call(
            round,
            call,
            [repay * prices[debt], seize * prices[coll], 0.0],
        );
    }
}

/// The largest share `x ∈ (0, 1]` of a trade whose profit `f(x)` is positive (1 if the whole
/// trade profits), `None` if none does.
pub(super) fn profitable_share(f: &dyn Fn(f64) -> f64) -> Option<f64> {
    if f(1.0) > 0.0 {
        Some(1.0)
    } else {
        largest_profitable_share(f)
    }
}

impl LendingPool {
    /// One round under a mechanism other than the fixed bonus (docs/mechanisms.md).
    pub(super) fn liquidate_mechanism(&mut self, ctx: &RoundCtx) -> ChunkOut {
        let mut out = ChunkOut::default();
        self.mech.queued = vec![0.0; ctx.prices.len()];
        match self.mechanism {
            LiquidationMechanism::FixedBonus => {}
            LiquidationMechanism::Absorb => self.absorb_round(ctx, &mut out),
            LiquidationMechanism::DutchAuction => self.auction_round(ctx, &mut out),
            LiquidationMechanism::SoftBands => self.mech.waiting = self.bands_round(ctx, &mut out),
        }
        out
    }

    /// Adds a fixed-bonus round's calls to the tally: each call's repaid debt is what the
    /// liquidator paid, its seized collateral less the repaid debt the borrower's loss.
    pub(super) fn tally_fixed_bonus(&mut self, out: &ChunkOut) {
        let t = &mut self.tally;
        for r in &out.records {
            t.liquidated_usd += r.repaid_usd;
            t.seized_usd += r.seized_usd;
            t.paid_usd += r.repaid_usd;
            t.protocol_revenue_usd += r.protocol_fee_usd;
            t.borrower_loss_usd += (r.seized_usd - r.repaid_usd).max(0.0);
            t.costs_usd += r.calls as f64 * self.rules.liquidator_cost_usd;
        }
    }

    /// The liquidators' share of the round's sales: their proceeds and slippage.
    pub(super) fn tally_fills(&mut self, fills: &[ProtocolFill], prices: &[f64]) {
        for f in fills {
            self.tally.proceeds_usd += f.proceeds_usd;
            self.tally.slippage_usd += f.quantity * prices[f.asset] - f.proceeds_usd;
        }
    }

    /// The pool's figures at `prices` (the run's final prices).
    pub(super) fn figures(&self, prices: &[f64]) -> MechanismFigures {
        let mut open_debt_usd = 0.0;
        let mut open_lots_usd = 0.0;
        let mut open_lots_cover_usd = 0.0;
        for (k, a) in self.mech.auctions.iter().enumerate() {
            if let Some(a) = a {
                let es = &self.slots[self.starts[k]..self.starts[k + 1]];
                let debt = side_usd(es, &self.terms, Side::Debt, prices);
                let lots = a
                    .lots
                    .iter()
                    .map(|l| l.tokens * prices[l.asset])
                    .sum::<f64>();
                open_debt_usd += debt;
                open_lots_usd += lots;
                open_lots_cover_usd += debt.min(lots);
            }
        }
        MechanismFigures {
            mechanism: self.mechanism,
            tally: self.tally,
            open_debt_usd,
            open_lots_usd,
            open_lots_cover_usd,
            inventory_usd: self
                .mech
                .inventory
                .iter()
                .map(|&(a, _, q)| q * prices[a])
                .sum(),
        }
    }

    /// docs/mechanisms.md#absorb: every account with HF < 1 is absorbed whole, then storefront
    /// buyers take what they profit from of the protocol's collateral.
    fn absorb_round(&mut self, ctx: &RoundCtx, out: &mut ChunkOut) {
        let prices = ctx.prices;
        let MechanismParams { absorb, .. } = self.mech_params;
        let lf = absorb.liquidation_factor;
        for k in 0..self.account.len() {
            if self.status[k] & STATUS_CLOSED != 0 {
                continue;
            }
            let es = &mut self.slots[self.starts[k]..self.starts[k + 1]];
            let hf = super::health_factor_with(
                self.rules.health_factor_rule,
                &super::Entries {
                    slots: es,
                    terms: &self.terms,
                },
                prices,
            );
            if hf >= 1.0 {
                continue;
            }
            let Some(main) = main_debt(es, &self.terms, prices).filter(|&m| prices[m] > 0.0) else {
                continue;
            };
            let log = (self.logs.get_mut(k), ctx.round);
            let (d, v) = absorb_account(es, &self.terms, main, prices, out, &mut self.mech, log);
            // Credited `K = LF·V`; the borrower keeps `max(K − D, 0)`.
            let credit = lf * v;
            let kept = (credit - d).max(0.0);
            // The protocol erased `D` and paid out `kept`: `max(D, K)` against collateral whose
            // storefront value is `V·(1 − SF·(1 − LF))`; a shortfall is booked as bad debt.
            let storefront = v * storefront_factor(lf, absorb.store_front_price_factor);
            let loss = d.max(credit) - storefront;
            if loss > 0.0 {
                out.bad(main, loss / prices[main], loss, 1);
                out.accounts_bad_debt += 1;
            }
            let t = &mut self.tally;
            t.liquidated_usd += d;
            t.seized_usd += v;
            t.returned_usd += kept;
            t.borrower_loss_usd += (v - d.max(credit)).max(0.0);
            out.accounts_liquidated += 1;
            self.status[k] |= STATUS_LIQUIDATED | STATUS_CLOSED;
        }
        self.storefront_sales(ctx, out);
    }

    /// Storefront buyers: of each lot of the inventory, the largest quantity `q` whose discount
    /// beats the slippage of reselling it and the fixed cost, `q·(p − s) − slip(q) − cost > 0`,
    /// bought at `s = p·(1 − SF·(1 − LF))` and sold on the curve.
    fn storefront_sales(&mut self, ctx: &RoundCtx, out: &mut ChunkOut) {
        let prices = ctx.prices;
        let absorb = self.mech_params.absorb;
        let factor = storefront_factor(absorb.liquidation_factor, absorb.store_front_price_factor);
        let cost = self.rules.liquidator_cost_usd;
        for i in 0..self.mech.inventory.len() {
            let (a, wanted, q) = self.mech.inventory[i];
            let p = prices[a];
            if q <= 0.0 || p <= 0.0 {
                continue;
            }
            let s = p * factor;
            let queued = &self.mech.queued;
            let profit = |x: f64| x * q * (p - s) - marginal_slippage(ctx, queued, a, x * q) - cost;
            let Some(x) = profitable_share(&profit) else {
                continue;
            };
            let bought = if x >= 1.0 { q } else { x * q };
            self.mech.inventory[i].2 = if x >= 1.0 { 0.0 } else { q - bought };
            out.sell(a, bought, wanted);
            self.mech.queued[a] += bought;
            self.tally.paid_usd += bought * s;
            self.tally.costs_usd += cost;
        }
        self.mech.inventory.retain(|l| l.2 > 0.0);
    }
}

/// The storefront price over the oracle price, `1 − SF·(1 − LF)` (Comet's `quoteCollateral`).
pub(super) fn storefront_factor(liquidation_factor: f64, store_front_price_factor: f64) -> f64 {
    1.0 - store_front_price_factor * (1.0 - liquidation_factor)
}

/// Moves an account's collateral to the protocol's inventory and erases its debt; `(D, V)`, its
/// debt and collateral value in USD. Each collateral position is recorded with its share of the
/// debt, in tokens of the main debt asset.
fn absorb_account(
    es: &mut [Slot],
    terms: &[Term],
    main: usize,
    prices: &[f64],
    out: &mut ChunkOut,
    mech: &mut MechState,
    (mut log, round): (Option<&mut AccountLog>, u32),
) -> (f64, f64) {
    let d = side_usd(es, terms, Side::Debt, prices);
    let v = side_usd(es, terms, Side::Collateral, prices);
    for e in es.iter_mut() {
        let a = e.asset as usize;
        if terms[e.term as usize].side == Side::Debt {
            e.amount = 0.0;
            continue;
        }
        if e.amount <= 0.0 {
            continue;
        }
        let share = if v > 0.0 {
            e.amount * prices[a] / v
        } else {
            0.0
        };
        out.note((a, main), d * share / prices[main], e.amount, prices);
        let repay = d * share / prices[main];
        log_call(
            log.as_deref_mut(),
            round,
            (a, main),
            repay,
            e.amount,
            prices,
        );
        match mech.inventory.iter_mut().find(|l| l.0 == a && l.1 == main) {
            Some(l) => l.2 += e.amount,
            None => mech.inventory.push((a, main, e.amount)),
        }
        e.amount = 0.0;
    }
    (d, v)
}
