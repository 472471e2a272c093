//! Soft liquidation in price bands (docs/mechanisms.md#soft-bands), after crvUSD's LLAMMA
//! (curve-stablecoin `AMM.vy`, `Controller.vy`), simplified.

use cascade_model::Side;

use super::{log_call, main_debt, marginal_slippage, profitable_share, repay_pro_rata, side_usd};
use crate::lending::liquidation::{write_off, ChunkOut};
use crate::lending::{LendingPool, Slot, Term, STATUS_CLOSED, STATUS_LIQUIDATED};
use crate::RoundCtx;

/// One collateral position spread over `N` bands: band `b` spans `[top·r^(b+1), top·r^b]`,
/// `r = (A − 1)/A`, and holds `per_band` tokens until the price crosses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bands {
    /// The asset prices are quoted in: the account's largest debt when the bands were placed
    /// (LLAMMA quotes collateral in the stablecoin it lends).
    pub debt: usize,
    /// The top edge of band 0, in tokens of `debt` per token: where soft liquidation starts.
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
    /// higher than `price`, the price when they are placed (a loan's bands lie below the price);
    /// both prices in tokens of the `debt` asset.
    pub fn new(
        tokens: f64,
        (liquidation_price, price, debt): (f64, f64, usize),
        amplification: f64,
        n: u32,
    ) -> Bands {
        let ratio = (amplification - 1.0) / amplification;
        let n = n.max(1);
        let per_band = tokens / f64::from(n);
        Bands {
            debt,
            top: (liquidation_price / ratio.powi(n as i32)).min(price),
            ratio,
            per_band,
            left: vec![per_band; n as usize],
        }
    }

    /// What the oracle price `p_o` crossed, per band from the top: `(band, tokens, AMM price)`.
    /// Band `b` (edges `hi > lo`) is converted by the share `φ_b = clamp((hi − p_o)/(hi − lo), 0, 1)`
    /// of its start, less what is already converted, at LLAMMA's price for it, `p_o³/(hi·lo)`: the
    /// band's price `√(hi·lo)` times `(p_o/√(hi·lo))³`.
    pub fn crossed(&self, p_o: f64) -> Vec<(usize, f64, f64)> {
        let mut out = Vec::new();
        for (b, left) in self.left.iter().enumerate() {
            let hi = self.top * self.ratio.powi(b as i32);
            let lo = hi * self.ratio;
            let phi = ((hi - p_o) / (hi - lo)).clamp(0.0, 1.0);
            let target = ((1.0 - phi) * self.per_band).min(*left);
            let d = left - target;
            if d > 0.0 {
                out.push((b, d, p_o * p_o * p_o / (hi * lo)));
            }
        }
        out
    }
}

/// The oracle counts as caught up with the market price within this share of it (the run then
/// stops waiting for it).
pub const ORACLE_CAUGHT_UP: f64 = 1e-3;

/// The share of the gap to the market price an exponential moving average with time constant
/// `ema_seconds` closes in one round of `round_seconds`: `1 − exp(−round_seconds / ema_seconds)`
/// (1, no smoothing, when `ema_seconds` is 0).
pub fn ema_weight(round_seconds: f64, ema_seconds: f64) -> f64 {
    if ema_seconds > 0.0 {
        1.0 - (-round_seconds / ema_seconds).exp()
    } else {
        1.0
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
    /// Each round: the AMM's oracle moves toward the market price; every band it crossed that the
    /// AMM sells under the market price is bought by arbitrageurs (repaying debt); then a position
    /// whose health at the oracle `Σ y·p_o·(1 − discount) − D` is negative is hard-liquidated.
    /// The accounts with a band that waits for the oracle to catch the market price (the run goes
    /// on while there are any).
    pub(in crate::lending) fn bands_round(&mut self, ctx: &RoundCtx, out: &mut ChunkOut) -> u64 {
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
                            let debt =
                                main_debt(es, &self.terms, before).filter(|&d| before[d] > 0.0)?;
                            liquidation_price(es, &self.terms, i, before).map(|p| {
                                let unit = before[debt];
                                let now = before[es[i].asset as usize] / unit;
                                let at = (p / unit, now, debt);
                                Bands::new(es[i].amount, at, soft.amplification, soft.bands)
                            })
                        })
                        .collect()
                })
                .collect();
        }
        // The AMM's oracle: an exponential moving average of the market price, from the price
        // before the run's first round.
        if self.mech.oracle.len() != prices.len() {
            self.mech.oracle = ctx.prev_prices.to_vec();
        }
        let w = ema_weight(self.mech_params.round_seconds, soft.oracle_ema_seconds);
        for (o, &p) in self.mech.oracle.iter_mut().zip(prices) {
            *o += w * (p - *o);
        }
        let oracle = self.mech.oracle.clone();
        let cost = self.rules.liquidator_cost_usd;
        let mut pending = 0;
        for k in 0..n {
            if self.status[k] & STATUS_CLOSED != 0 {
                continue;
            }
            let es = &mut self.slots[self.starts[k]..self.starts[k + 1]];
            let terms = &self.terms;
            let Some(main) = main_debt(es, terms, prices).filter(|&m| prices[m] > 0.0) else {
                continue;
            };
            for (i, bands) in self.mech.bands[k].iter_mut().enumerate() {
                let Some(bands) = bands else { continue };
                let a = es[i].asset as usize;
                // Prices in tokens of the bands' debt asset: the market's and the oracle's.
                let unit = prices[bands.debt];
                if unit <= 0.0 || oracle[bands.debt] <= 0.0 {
                    continue;
                }
                let (p_usd, p, p_o) = (prices[a], prices[a] / unit, oracle[a] / oracle[bands.debt]);
                if p_o > p * (1.0 + ORACLE_CAUGHT_UP)
                    && bands.left.iter().enumerate().any(|(b, &l)| {
                        let hi = bands.top * bands.ratio.powi(b as i32);
                        l > 0.0 && p * p < hi * hi * bands.ratio
                    })
                {
                    // A band the AMM will sell under the market price once the oracle is there.
                    pending += 1;
                }
                if side_usd(es, terms, Side::Debt, prices) <= 0.0 {
                    continue;
                }
                // Arbitrageurs buy from the AMM the crossed bands it sells under the market price,
                // from the top (the cheapest), and resell them on the curve: of those, the largest
                // share `x` with `x·(q·p − V) − slip(x·q) − cost > 0`, `V` their AMM price.
                let bought: Vec<(usize, f64, f64)> = bands
                    .crossed(p_o)
                    .into_iter()
                    .take_while(|&(_, _, conv)| conv < p)
                    .collect();
                let q: f64 = bought.iter().map(|x| x.1).sum();
                let value: f64 = bought.iter().map(|x| x.1 * x.2).sum::<f64>() * unit;
                if q <= 0.0 {
                    continue;
                }
                let queued = &self.mech.queued;
                let profit = |x: f64| {
                    x * (q * p_usd - value) - marginal_slippage(ctx, queued, a, x * q) - cost
                };
                let Some(x) = profitable_share(&profit) else {
                    continue;
                };
                let x = x.min(1.0);
                let (q, pay) = if x >= 1.0 {
                    (q, value)
                } else {
                    (x * q, x * value)
                };
                let repaid = repay_pro_rata(es, terms, pay, prices);
                for &(b, d, _) in &bought {
                    // A share `x` of each bought band's crossed part (all of it when x = 1).
                    bands.left[b] = if x >= 1.0 {
                        bands.left[b] - d
                    } else {
                        bands.left[b] - x * d
                    }
                    .max(0.0);
                }
                // Every band crossed: none of the position is left (no float dust either).
                es[i].amount = if bands.left.iter().all(|&x| x <= 0.0) {
                    0.0
                } else {
                    (es[i].amount - q).max(0.0)
                };
                self.mech.queued[a] += q;
                out.note((a, main), repaid / prices[main], q, prices);
                let log = self.logs.get_mut(k);
                log_call(log, ctx.round, (a, main), repaid / prices[main], q, prices);
                out.sell(a, q, main);
                let t = &mut self.tally;
                t.paid_usd += pay;
                t.costs_usd += cost;
                t.liquidated_usd += repaid;
                t.seized_usd += q * p_usd;
                t.returned_usd += pay - repaid;
                t.borrower_loss_usd += (q * p_usd - pay).max(0.0);
                if self.status[k] & STATUS_LIQUIDATED == 0 {
                    self.status[k] |= STATUS_LIQUIDATED;
                    out.accounts_liquidated += 1;
                }
            }
            // Hard liquidation when the health at the oracle is negative:
            // `Σ y·p_o·(1 − discount) < Σ d·p_o`.
            let d = side_usd(es, terms, Side::Debt, prices);
            let d_oracle = side_usd(es, terms, Side::Debt, &oracle);
            let y_oracle = side_usd(es, terms, Side::Collateral, &oracle);
            if d <= 0.0 || y_oracle * (1.0 - soft.liquidation_discount) >= d_oracle {
                continue;
            }
            let y = side_usd(es, terms, Side::Collateral, prices);
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
                        let log = self.logs.get_mut(k);
                        let repay = d * share / prices[main];
                        log_call(log, ctx.round, (a, main), repay, e.amount, prices);
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
                    out.accounts_liquidated += 1;
                }
                self.status[k] |= STATUS_LIQUIDATED | STATUS_CLOSED;
            } else if y <= 0.0 {
                write_off(es, terms, prices, out, self.logs.get_mut(k));
                self.status[k] |= STATUS_CLOSED;
            } else {
                out.accounts_unprofitable += 1;
            }
        }
        pending
    }
}
