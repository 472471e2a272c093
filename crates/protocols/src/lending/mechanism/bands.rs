//! Soft liquidation in price bands (docs/mechanisms.md#soft-bands), after crvUSD's LLAMMA
//! (curve-stablecoin `AMM.vy`, `Controller.vy`), simplified.

use cascade_model::Side;

use super::{main_debt, marginal_slippage, profitable_share, repay_pro_rata, side_usd};
use crate::lending::liquidation::{write_off, ChunkOut};
use crate::lending::{LendingPool, Slot, Term, STATUS_CLOSED, STATUS_LIQUIDATED};
use crate::RoundCtx;

/// One collateral position spread over `N` bands: band `b` spans `[top·r^(b+1), top·r^b]`,
/// `r = (A − 1)/A`, and holds `per_band` tokens until the price crosses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bands {
    /// The top edge of band 0, USD: where soft liquidation starts.
    pub top: f64,
    /// `r = (A − 1)/A`.
    pub ratio: f64,
    /// Tokens each band held at the start.
    pub per_band: f64,
    /// Tokens each band holds now.
    pub left: Vec<f64>,
}

impl Bands {
    /// The bands of a collateral position of `tokens` whose last band ends at the account's
    /// liquidation price `p_liq` (HF = 1, the other positions held): `top = p_liq / r^N`, but no
    /// higher than `price`, the price when they are placed (a loan's bands lie below the price).
    pub fn new(
        tokens: f64,
        liquidation_price: f64,
        price: f64,
        amplification: f64,
        n: u32,
    ) -> Bands {
        let ratio = (amplification - 1.0) / amplification;
        let n = n.max(1);
        let per_band = tokens / f64::from(n);
        Bands {
            top: (liquidation_price / ratio.powi(n as i32)).min(price),
            ratio,
            per_band,
            left: vec![per_band; n as usize],
        }
    }

    /// Tokens to convert at price `p`, and their value at the bands' prices, USD: band `b` is
    /// converted by the share `φ_b = clamp((hi − p)/(hi − lo), 0, 1)` of its start, at its price
    /// `√(hi·lo)`; what is already converted is not converted again.
    pub fn crossed(&self, p: f64) -> (f64, f64, Vec<f64>) {
        let mut tokens = 0.0;
        let mut value = 0.0;
        let mut targets = self.left.clone();
        for (b, left) in self.left.iter().enumerate() {
            let hi = self.top * self.ratio.powi(b as i32);
            let lo = hi * self.ratio;
            let phi = ((hi - p) / (hi - lo)).clamp(0.0, 1.0);
            let target = ((1.0 - phi) * self.per_band).min(*left);
            let d = left - target;
            if d > 0.0 {
                tokens += d;
                value += d * (hi * lo).sqrt();
                targets[b] = target;
            }
        }
        (tokens, value, targets)
    }
}

/// The price of `slot`'s asset at which the account's health factor is 1, the other positions
/// held: `p_liq = (D − W_rest) / (c·LT)`; `None` if no fall of this price alone makes it liquidatable.
fn liquidation_price(es: &[Slot], terms: &[Term], slot: usize, prices: &[f64]) -> Option<f64> {
    let d = side_usd(es, terms, Side::Debt, prices);
    let e = es[slot];
    let t = terms[e.term as usize];
    if d <= 0.0 || t.side != Side::Collateral || t.lt <= 0.0 || e.amount <= 0.0 {
        return None;
    }
    let rest: f64 = es
        .iter()
        .enumerate()
        .filter(|&(i, x)| i != slot && terms[x.term as usize].side == Side::Collateral)
        .map(|(_, x)| x.amount * prices[x.asset as usize] * terms[x.term as usize].lt)
        .sum();
    let p = (d - rest) / (e.amount * t.lt);
    (p > 0.0).then_some(p)
}

impl LendingPool {
    /// Each round: every band the oracle price crossed is converted to the debt asset (repaying
    /// debt), then a position whose health `Σ y·p·(1 − discount) − D` is negative is hard-liquidated.
    pub(in crate::lending) fn bands_round(&mut self, ctx: &RoundCtx, out: &mut ChunkOut) {
        let prices = ctx.prices;
        let soft = self.mech_params.soft;
        let n = self.account.len();
        if self.mech.bands.len() != n {
            // Placed at the prices before the run's first round (before any shock).
            let before = ctx.prev_prices;
            self.mech.bands = (0..n)
                .map(|k| {
                    let es = &self.slots[self.starts[k]..self.starts[k + 1]];
                    (0..es.len())
                        .map(|i| {
                            liquidation_price(es, &self.terms, i, before).map(|p| {
                                let now = before[es[i].asset as usize];
                                Bands::new(es[i].amount, p, now, soft.amplification, soft.bands)
                            })
                        })
                        .collect()
                })
                .collect();
        }
        let cost = self.rules.liquidator_cost_usd;
        for k in 0..n {
            if self.status[k] & STATUS_CLOSED != 0 {
                continue;
            }
            let es = &mut self.slots[self.starts[k]..self.starts[k + 1]];
            let terms = &self.terms;
            let Some(main) = main_debt(es, terms, prices) else {
                continue;
            };
            for (i, bands) in self.mech.bands[k].iter_mut().enumerate() {
                let Some(bands) = bands else { continue };
                let a = es[i].asset as usize;
                let p = prices[a];
                let (q, value, targets) = bands.crossed(p);
                if q <= 0.0 || side_usd(es, terms, Side::Debt, prices) <= 0.0 {
                    continue;
                }
                // The AMM's price leads the oracle by about a band (LLAMMA quotes `p_o³/p_up²`):
                // arbitrageurs buy at `conv = r·min(band price, p)` and take the largest share `x`
                // of the crossed tokens whose resale beats it: `x·q·(p − conv) − slip(x·q) − cost > 0`.
                let conv = bands.ratio * (value / q).min(p);
                let queued = &self.mech.queued;
                let profit =
                    |x: f64| x * q * (p - conv) - marginal_slippage(ctx, queued, a, x * q) - cost;
                let Some(x) = profitable_share(&profit) else {
                    out.accounts_unprofitable += 1;
                    continue;
                };
                let q = if x >= 1.0 { q } else { x * q };
                let pay = q * conv;
                let repaid = repay_pro_rata(es, terms, pay, prices);
                if x >= 1.0 {
                    bands.left = targets;
                } else {
                    // A share `x` of each band's crossed part.
                    for (left, target) in bands.left.iter_mut().zip(&targets) {
                        *left -= x * (*left - target);
                    }
                }
                // Every band crossed: none of the position is left (no float dust either).
                es[i].amount = if bands.left.iter().all(|&x| x <= 0.0) {
                    0.0
                } else {
                    (es[i].amount - q).max(0.0)
                };
                self.mech.queued[a] += q;
                out.note((a, main), repaid / prices[main], q, prices);
                out.sell(a, q, main);
                let t = &mut self.tally;
                t.paid_usd += pay;
                t.costs_usd += cost;
                t.liquidated_usd += repaid;
                t.seized_usd += q * p;
                t.returned_usd += pay - repaid;
                t.borrower_loss_usd += (q * p - pay).max(0.0);
                if self.status[k] & STATUS_LIQUIDATED == 0 {
                    self.status[k] |= STATUS_LIQUIDATED;
                    t.accounts += 1;
                    out.accounts_liquidated += 1;
                }
            }
            // Hard liquidation when the health is negative: `Σ y·p·(1 − discount) < D`.
            let d = side_usd(es, terms, Side::Debt, prices);
            let y = side_usd(es, terms, Side::Collateral, prices);
            if d <= 0.0 || y * (1.0 - soft.liquidation_discount) >= d {
                continue;
            }
            let slip: f64 = es
                .iter()
                .filter(|e| terms[e.term as usize].side == Side::Collateral && e.amount > 0.0)
                .map(|e| marginal_slippage(ctx, &self.mech.queued, e.asset as usize, e.amount))
                .sum();
            if y - slip - cost - d > 0.0 {
                // The liquidator repays the whole debt and takes all the collateral.
                for e in es.iter_mut() {
                    let a = e.asset as usize;
                    if terms[e.term as usize].side == Side::Collateral && e.amount > 0.0 {
                        let share = e.amount * prices[a] / y;
                        out.note((a, main), d * share / prices[main], e.amount, prices);
                        out.sell(a, e.amount, main);
                        self.mech.queued[a] += e.amount;
                    }
                    e.amount = 0.0;
                }
                let t = &mut self.tally;
                t.paid_usd += d;
                t.costs_usd += cost;
                t.liquidated_usd += d;
                t.seized_usd += y;
                t.borrower_loss_usd += (y - d).max(0.0);
                if self.status[k] & STATUS_LIQUIDATED == 0 {
                    t.accounts += 1;
                    out.accounts_liquidated += 1;
                }
                self.status[k] |= STATUS_LIQUIDATED | STATUS_CLOSED;
            } else if y <= 0.0 {
                write_off(es, terms, prices, out, None);
                self.status[k] |= STATUS_CLOSED;
            } else {
                out.accounts_unprofitable += 1;
            }
        }
    }
}
