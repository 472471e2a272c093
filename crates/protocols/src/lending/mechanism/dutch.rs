//! The Dutch auction (docs/mechanisms.md#dutch-auction), after Maker's `Clipper` (dss `clip.sol`)
//! and its `StairstepExponentialDecrease` price curve (dss `abaci.sol`).

use cascade_model::Side;

use super::{log_call, main_debt, marginal_slippage, profitable_share, repay_pro_rata, side_usd};
use crate::lending::liquidation::{write_off, ChunkOut};
use crate::lending::{Entries, LendingPool, STATUS_CLOSED, STATUS_LIQUIDATED};
use crate::RoundCtx;

/// One collateral position of an account in auction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lot {
    /// The account's slot it came from (leftovers go back there).
    pub slot: usize,
    pub asset: usize,
    /// Tokens left for sale.
    pub tokens: f64,
    /// The starting price `top = buf × oracle` at the (re)start, USD.
    pub top: f64,
}

/// An account's open auction.
#[derive(Debug, Clone, PartialEq)]
pub struct Auction {
    pub lots: Vec<Lot>,
    /// The round it (re)started at: `t = (round − start)·round_seconds`.
    pub start: u32,
    /// The asset bidders' resales are for (the account's largest debt at the kick).
    pub debt_asset: usize,
    /// The penalty part of the tab still unpaid, USD: `(chop − 1)·D` at the kick.
    pub penalty_usd: f64,
    /// Collateral value that left the borrower at the kick, USD.
    pub out_usd: f64,
    /// The debt at the kick, USD.
    pub debt_usd: f64,
}

/// The auction price's share of `top` after `t` seconds: `cut^⌊t / step⌋`.
pub fn decay(cut: f64, step_seconds: f64, t: f64) -> f64 {
    cut.powf((t / step_seconds).floor())
}

/// A tiny USD amount under which a tab counts as paid (float dust).
const PAID_USD: f64 = 1e-9;

impl LendingPool {
    /// Each round: every account with HF < 1 not yet in auction is kicked (its collateral leaves it
    /// into lots at `top = buf·p`); every open auction is reset if `t > tail` or
    /// `price/top < cusp`, then each lot may be taken at `top·cut^⌊t/step⌋`.
    pub(in crate::lending) fn auction_round(&mut self, ctx: &RoundCtx, out: &mut ChunkOut) {
        let prices = ctx.prices;
        let n = self.account.len();
        if self.mech.auctions.len() != n {
            self.mech.auctions = vec![None; n];
        }
        let dutch = self.mech_params.dutch;
        let round_seconds = self.mech_params.round_seconds;
        let cost = self.rules.liquidator_cost_usd;
        for k in 0..n {
            if self.status[k] & STATUS_CLOSED != 0 {
                continue;
            }
            let es = &mut self.slots[self.starts[k]..self.starts[k + 1]];
            let terms = &self.terms;
            if self.mech.auctions[k].is_none() {
                let hf = super::super::health_factor_with(
                    self.rules.health_factor_rule,
                    &Entries { slots: es, terms },
                    prices,
                );
                let Some(main) =
                    main_debt(es, terms, prices).filter(|&m| hf < 1.0 && prices[m] > 0.0)
                else {
                    continue;
                };
                let d = side_usd(es, terms, Side::Debt, prices);
                let mut lots = Vec::new();
                let mut out_usd = 0.0;
                for (i, e) in es.iter_mut().enumerate() {
                    if terms[e.term as usize].side == Side::Collateral && e.amount > 0.0 {
                        let a = e.asset as usize;
                        out_usd += e.amount * prices[a];
                        lots.push(Lot {
                            slot: i,
                            asset: a,
                            tokens: e.amount,
                            top: dutch.buf * prices[a],
                        });
                        e.amount = 0.0;
                    }
                }
                self.mech.auctions[k] = Some(Auction {
                    lots,
                    start: ctx.round,
                    debt_asset: main,
                    penalty_usd: (dutch.chop - 1.0) * d,
                    out_usd,
                    debt_usd: d,
                });
                self.tally.seized_usd += out_usd;
                out.accounts_liquidated += 1;
                self.status[k] |= STATUS_LIQUIDATED;
            }
            let Some(a) = self.mech.auctions[k].as_mut() else {
                continue;
            };
            // Reset (Clipper's `redo`) after `tail` seconds or below `cusp·top`.
            let t = f64::from(ctx.round - a.start) * round_seconds;
            if t > dutch.tail_seconds || decay(dutch.cut, dutch.step_seconds, t) < dutch.cusp {
                a.start = ctx.round;
                for l in &mut a.lots {
                    l.top = dutch.buf * prices[l.asset];
                }
            }
            let t = f64::from(ctx.round - a.start) * round_seconds;
            let factor = decay(dutch.cut, dutch.step_seconds, t);
            let main = a.debt_asset;
            let mut taken = false;
            for l in &mut a.lots {
                let owed = side_usd(es, terms, Side::Debt, prices) + a.penalty_usd;
                let p = prices[l.asset];
                let price = l.top * factor;
                if owed <= PAID_USD
                    || l.tokens <= 0.0
                    || price <= 0.0
                    || price >= p
                    || prices[main] <= 0.0
                {
                    continue;
                }
                // A bidder takes up to the tab's worth, `q ≤ min(lot, owed/price)`, as far as
                // reselling on the curve beats the price: `q·(p − price) − slip(q) − cost > 0`.
                let most = l.tokens.min(owed / price);
                let queued = &self.mech.queued;
                let profit = |x: f64| {
                    x * most * (p - price)
                        - marginal_slippage(ctx, queued, l.asset, x * most)
                        - cost
                };
                let Some(x) = profitable_share(&profit) else {
                    continue;
                };
                let q = if x >= 1.0 { most } else { x * most };
                let pay = q * price;
                // The proceeds pay the debt first, then the penalty.
                let debt_paid = repay_pro_rata(es, terms, pay, prices);
                let penalty = (pay - debt_paid).min(a.penalty_usd).max(0.0);
                a.penalty_usd -= penalty;
                l.tokens = if q >= l.tokens { 0.0 } else { l.tokens - q };
                out.note((l.asset, main), debt_paid / prices[main], q, prices);
                let log = self.logs.get_mut(k);
                log_call(
                    log,
                    ctx.round,
                    (l.asset, main),
                    debt_paid / prices[main],
                    q,
                    prices,
                );
                out.sell(l.asset, q, main);
                self.mech.queued[l.asset] += q;
                let t = &mut self.tally;
                t.paid_usd += pay;
                t.costs_usd += cost;
                t.liquidated_usd += debt_paid;
                t.protocol_revenue_usd += penalty;
                taken = true;
            }
            if !taken {
                out.accounts_unprofitable += 1;
            }
            let debt_left = side_usd(es, terms, Side::Debt, prices);
            let lots_left = a.lots.iter().any(|l| l.tokens > 0.0);
            if debt_left + a.penalty_usd <= PAID_USD {
                // Tab paid: the leftover lots go back to the borrower.
                let mut returned = 0.0;
                for l in &a.lots {
                    es[l.slot].amount += l.tokens;
                    returned += l.tokens * prices[l.asset];
                }
                self.tally.returned_usd += returned;
                self.tally.borrower_loss_usd += (a.out_usd - returned - a.debt_usd).max(0.0);
                self.mech.auctions[k] = None;
            } else if !lots_left {
                // Collateral gone, tab open: the debt left is bad debt (the penalty is forgone).
                if debt_left > 0.0 {
                    write_off(es, terms, prices, out, self.logs.get_mut(k));
                }
                self.tally.borrower_loss_usd += (a.out_usd - a.debt_usd).max(0.0);
                self.mech.auctions[k] = None;
                self.status[k] |= STATUS_CLOSED;
            }
        }
    }

    /// Open auctions: the engine runs on while any is open (they are counted as deferred).
    pub(in crate::lending) fn open_auctions(&self) -> u64 {
        self.mech.auctions.iter().filter(|a| a.is_some()).count() as u64
    }
}
