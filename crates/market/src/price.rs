//! The market state the engine moves round by round: each asset's price (docs/assets.md#the-price-of-an-asset) and its venue,
//! the liquidity curve its sales go through (docs/liquidity.md#liquidity-curves-and-price-impact).
//!
//! Prices are `p_a = formula_a · impact_a`, where `formula_a` is docs/assets.md#the-price-of-an-asset's price of the asset's kind
//! and `impact_a` is what fire sales have done to it: the ratio of its curve's marginal price now to
//! the marginal price it was anchored at after the round-0 shocks (1 until something is sold).
//!
//! Curves are anchored at the asset's post-shock price: every curve is moved along its own invariant to
//! that price before round 1 (what arbitrage would do), so only its depth — not the price it was
//! written at — matters. A stableswap trades in *par units*: one token is `par` units of the curve's
//! base, `par` being the asset's redemption value in quote units (an lst's `p_U·rate`, a stable's peg),
//! so the pool's marginal price is the asset's discount to par (0.93 = 7% depegged).

use serde::Serialize;

use cascade_model::{AssetIdx, AssetKind, Scenario, Snapshot};

use crate::curve::{Curve, Quoter};

/// Where one asset is sold.
#[derive(Debug, Clone, PartialEq)]
pub struct Venue {
    pub curve: Curve,
    /// The asset the curve pays in; `None` = USD.
    pub quote: Option<AssetIdx>,
    /// Curve base units per token (1 except for stableswaps, see the module doc).
    pub par: f64,
    /// The curve's marginal price right after the round-0 shocks.
    pub anchor_spot: f64,
}

/// Per-asset pricing inputs that shocks and losses change.
#[derive(Debug, Clone, PartialEq)]
pub struct PricingState {
    /// Exogenous kinds: USD price after shocks (before market impact).
    pub base_price: Vec<f64>,
    /// Lst market discount `m` (1 at par).
    pub discount: Vec<f64>,
    /// Receipt tokens: `1 − uncovered_loss / reserve_supplied_value` of the issuing reserve.
    pub recovery: Vec<f64>,
    /// Bridged assets: share of the locked underlying that is gone.
    pub bridge_loss: Vec<f64>,
    /// Derived kinds: product of `(1 + price_change)` shocks.
    pub shock_factor: Vec<f64>,
}

/// What the sales of one asset in one round did. Serialized without the asset's index: a report
/// names the asset (see `cascade_engine::report::Traded`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SaleFill {
    #[serde(skip)]
    pub asset: AssetIdx,
    /// Tokens sold.
    pub quantity: f64,
    /// Proceeds in USD at the round's start price of the quote asset.
    pub proceeds_usd: f64,
    /// Value at the round's start price minus proceeds, USD.
    pub slippage_usd: f64,
    /// The asset's price before and after the sale (USD), all else held.
    pub price_before: f64,
    pub price_after: f64,
}

/// A sale order: `quantity` tokens of `asset`, sold by a liquidator who wants `wanted` back (the
/// debt asset it repaid). Proceeds paid in a quote asset other than `wanted` are sold on in turn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SaleOrder {
    pub asset: AssetIdx,
    pub quantity: f64,
    pub wanted: Option<AssetIdx>,
}

/// A buy order: `quantity` tokens of `asset`, bought with USD on the asset's curve (a liquidator
/// buying the debt it repays, a clearinghouse closing a short). On a venue quoted in another asset
/// the buyer pays in that asset, valued at its round-start price (the quote asset is not bought first).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BuyOrder {
    pub asset: AssetIdx,
    pub quantity: f64,
}

/// What the buys of one asset in one round did, serialized like [`SaleFill`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuyFill {
    #[serde(skip)]
    pub asset: AssetIdx,
    /// Tokens bought (less than ordered only when the pool could not deliver, see
    /// [`Market::execute_orders`]).
    pub quantity: f64,
    /// Paid, USD at the round's start price of the quote asset.
    pub cost_usd: f64,
    /// `cost_usd − quantity·price_before`, never negative.
    pub slippage_usd: f64,
    /// The asset's price before and after the round's trades on its curve (USD), all else held.
    pub price_before: f64,
    pub price_after: f64,
}

/// A pool may be bought down to this share of its base balance at most in one round (a constant
/// product or stableswap cannot be emptied: the cost would be infinite).
pub const MAX_BUY_SHARE: f64 = 0.99;

/// Every asset's price state and venue.
#[derive(Debug, Clone)]
pub struct Market {
    pub kinds: Vec<AssetKind>,
    pub underlying: Vec<Option<AssetIdx>>,
    pub rate: Vec<f64>,
    pub state: PricingState,
    pub venues: Vec<Venue>,
    /// Underlyings before the assets derived from them.
    pub price_order: Vec<AssetIdx>,
    /// An asset before the asset its curve pays in, so onward sales land in the same round.
    pub sale_order: Vec<AssetIdx>,
    /// Pegs of stable kinds (USD).
    pub peg: Vec<f64>,
    /// Each venue's curve prepared for quoting at its current state (refreshed whenever a curve moves).
    quoters: Vec<Quoter>,
}

/// Assets ordered so that every asset comes after the ones `dep` points to (the snapshot rejects cycles;
/// a cycle here would leave the remaining assets in snapshot order).
pub fn topo_order(n: usize, dep: impl Fn(usize) -> Option<usize>) -> Vec<usize> {
    let depth = |mut a: usize| {
        let mut d = 0;
        while let Some(u) = dep(a) {
            a = u;
            d += 1;
            if d > n {
                break;
            }
        }
        d
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&a| (depth(a), a));
    order
}

impl Market {
    /// The market of a snapshot before any shock.
    pub fn new(s: &Snapshot) -> Market {
        let n = s.assets.len();
        let kinds: Vec<AssetKind> = s.assets.iter().map(|a| a.kind).collect();
        let underlying: Vec<Option<AssetIdx>> = s.assets.iter().map(|a| a.underlying).collect();
        let state = PricingState {
            base_price: s.assets.iter().map(|a| a.price.unwrap_or(0.0)).collect(),
            discount: s.assets.iter().map(|a| a.discount).collect(),
            recovery: vec![1.0; n],
            bridge_loss: s.assets.iter().map(|a| a.bridge_loss).collect(),
            shock_factor: vec![1.0; n],
        };
        let venues = s
            .assets
            .iter()
            .map(|a| Venue {
                curve: Curve::from_spec(&a.liquidity.curve),
                quote: a.liquidity.quote_asset,
                par: 1.0,
                anchor_spot: 1.0,
            })
            .collect();
        let price_order = topo_order(n, |a| underlying[a]);
        let quote: Vec<Option<usize>> = s.assets.iter().map(|a| a.liquidity.quote_asset).collect();
        // Sales flow from an asset to its quote asset: deeper chains first.
        let mut sale_order = topo_order(n, |a| quote[a]);
        sale_order.reverse();
        let peg = s
            .assets
            .iter()
            .map(|a| {
                if a.kind == AssetKind::Stable {
                    1.0
                } else {
                    a.price.unwrap_or(1.0)
                }
            })
            .collect();
        let mut m = Market {
            kinds,
            underlying,
            rate: s.assets.iter().map(|a| a.rate).collect(),
            state,
            venues,
            price_order,
            sale_order,
            peg,
            quoters: Vec::new(),
        };
        let p = m.prices_without_impact();
        m.anchor_all(&p);
        m
    }

    /// Re-prepares every venue's quoter after curves moved.
    fn refresh_quoters(&mut self) {
        self.quoters = self.venues.iter().map(|v| Quoter::new(&v.curve)).collect();
    }

    /// docs/assets.md#the-price-of-an-asset's price of every asset before market impact, USD.
    fn prices_without_impact(&self) -> Vec<f64> {
        let mut p = vec![0.0; self.kinds.len()];
        for &a in &self.price_order {
            p[a] = self.formula_price(a, &p);
        }
        p
    }

    fn formula_price(&self, a: AssetIdx, p: &[f64]) -> f64 {
        let st = &self.state;
        let pu = self.underlying[a].map(|u| p[u]).unwrap_or(0.0);
        match self.kinds[a] {
            AssetKind::Native | AssetKind::Governance | AssetKind::Stable | AssetKind::Rwa => {
                st.base_price[a]
            }
            AssetKind::Lst => pu * self.rate[a] * st.discount[a] * st.shock_factor[a],
            AssetKind::Receipt => pu * self.rate[a] * st.recovery[a] * st.shock_factor[a],
            AssetKind::Bridged => pu * (1.0 - st.bridge_loss[a]) * st.shock_factor[a],
            // Not yet supported by the loader.
            AssetKind::Lp | AssetKind::CdpStable | AssetKind::Algostable => {
                st.base_price[a] * st.shock_factor[a]
            }
        }
    }

    /// The asset's redemption value (no discount, no impact), USD: the par of its stableswap.
    fn par_value(&self, a: AssetIdx, p: &[f64]) -> f64 {
        let pu = self.underlying[a].map(|u| p[u]).unwrap_or(0.0);
        match self.kinds[a] {
            AssetKind::Lst | AssetKind::Receipt => pu * self.rate[a],
            AssetKind::Bridged => pu,
            AssetKind::Stable => self.peg[a],
            _ => p[a],
        }
    }

    /// The market impact factor of asset `a`: curve marginal price now / at the anchor.
    pub fn impact(&self, a: AssetIdx) -> f64 {
        let r = self.quoters[a].spot_price() / self.venues[a].anchor_spot;
        if r.is_finite() && r > 0.0 {
            r
        } else {
            1.0
        }
    }

    /// Every asset's USD price now (docs/assets.md#the-price-of-an-asset formula × market impact), derived in dependency order.
    pub fn prices(&self) -> Vec<f64> {
        let mut p = vec![0.0; self.kinds.len()];
        for &a in &self.price_order {
            p[a] = self.formula_price(a, &p) * self.impact(a);
        }
        p
    }

    /// Price of the quote of asset `a`'s venue (1 for USD).
    fn quote_price(&self, a: AssetIdx, p: &[f64]) -> f64 {
        self.venues[a].quote.map(|q| p[q]).unwrap_or(1.0)
    }

    /// Moves every curve along its invariant to the current prices (the anchors of §3).
    fn anchor_all(&mut self, p: &[f64]) {
        for a in 0..self.kinds.len() {
            let qp = self.quote_price(a, p);
            let rel = p[a] / qp;
            if matches!(self.venues[a].curve, Curve::StableSwap { .. }) {
                let par = self.par_value(a, p) / qp;
                let v = &mut self.venues[a];
                v.par = if par.is_finite() && par > 0.0 {
                    par
                } else {
                    1.0
                };
                let target = rel / v.par;
                v.curve.anchor(if target.is_finite() && target > 0.0 {
                    target
                } else {
                    1.0
                });
            } else {
                let v = &mut self.venues[a];
                v.par = 1.0;
                v.curve.anchor(if rel.is_finite() && rel > 0.0 {
                    rel
                } else {
                    1.0
                });
            }
            let v = &mut self.venues[a];
            v.anchor_spot = v.curve.spot_price();
        }
        self.refresh_quoters();
    }

    /// Round 0 (docs/cascade.md#round-0-the-shocks): price changes, lst discounts and liquidity multipliers; then every curve is
    /// re-anchored at the shocked prices.
    pub fn apply_shocks(&mut self, scenario: &Scenario) {
        for sh in &scenario.shocks {
            match sh.asset {
                Some(a) => {
                    if let Some(pc) = sh.price_change {
                        if self.kinds[a].is_exogenous() {
                            self.state.base_price[a] *= 1.0 + pc;
                        } else {
                            self.state.shock_factor[a] *= 1.0 + pc;
                        }
                    }
                    if let Some(d) = sh.discount {
                        self.state.discount[a] = d;
                    }
                    if let Some(m) = sh.liquidity_multiplier {
                        self.venues[a].curve.scale_depth(m);
                    }
                }
                None => {
                    if let Some(m) = sh.liquidity_multiplier {
                        for v in &mut self.venues {
                            v.curve.scale_depth(m);
                        }
                    }
                }
            }
        }
        let p = self.prices_without_impact();
        self.anchor_all(&p);
    }

    /// Re-anchors every curve at the current prices (without impact). The engine calls it once more at
    /// round 0 after the issuers (AMM pools, CDPs, bridges) have priced their assets at the shocked
    /// prices, so that those assets' curves are anchored where they really trade.
    pub fn reanchor(&mut self) {
        let p = self.prices_without_impact();
        self.anchor_all(&p);
    }

    /// USD slippage of selling `quantity` of `a` alone at the current curve state: value at the marginal
    /// price minus proceeds, with proceeds in a quote asset valued at `prices`.
    pub fn slippage_usd(&self, a: AssetIdx, quantity: f64, prices: &[f64]) -> f64 {
        self.quoters[a].slippage(quantity * self.venues[a].par) * self.quote_price(a, prices)
    }

    /// USD slippage of buying `quantity` of `a` alone at the current curve state: cost minus value at
    /// the marginal price, the cost in a quote asset valued at `prices` (infinite if the curve
    /// cannot deliver it).
    pub fn buy_slippage_usd(&self, a: AssetIdx, quantity: f64, prices: &[f64]) -> f64 {
        self.quoters[a].buy_slippage(quantity * self.venues[a].par) * self.quote_price(a, prices)
    }

    /// Proceeds, in the venue's quote units, of selling `quantity` of `a` now (no state change).
    pub fn quote_proceeds(&self, a: AssetIdx, quantity: f64) -> f64 {
        self.quoters[a].proceeds(quantity * self.venues[a].par)
    }

    /// Step (3) of a round with sales only: [`Market::execute_orders`] without buys.
    pub fn execute_sales(&mut self, orders: &[SaleOrder], prices: &[f64]) -> Vec<SaleFill> {
        self.execute_orders(orders, &[], prices).0
    }

    /// Step (3) of a round (docs/liquidity.md#a-rounds-trades): all trades of an asset go through its curve together, per
    /// asset in `sale_order` (an asset before the asset its curve pays in). `prices` are the round's
    /// start prices (used to value proceeds, costs and slippage).
    ///
    /// Per asset, with `S` tokens to sell and `B` to buy this round:
    /// - the two sides first cross each other at the pre-trade price: `m = min(S, B)` tokens change
    ///   hands at `p_a` (in the venue's quote units, `p_a / p_quote`), with no slippage;
    /// - only the net, `S − B` sold or `B − S` bought, goes through the curve ([`Curve::sell`] or
    ///   [`Curve::buy`]); a net buy is capped at [`MAX_BUY_SHARE`] of what the curve can deliver;
    /// - each seller receives, and each buyer pays, in proportion to its quantity: sellers share
    ///   `m·p_a + curve proceeds`, buyers share `m·p_a + curve cost`, so the side that went through the
    ///   curve bears the slippage and the other side trades at `p_a`.
    ///
    /// Sale proceeds paid in a quote asset the seller does not want are sold on that asset's curve in
    /// the same round (the quote asset comes later in `sale_order`). Returns one [`SaleFill`] per asset
    /// sold and one [`BuyFill`] per asset bought, in `sale_order`.
    ///
    /// [`Curve::sell`]: crate::curve::Curve::sell
    /// [`Curve::buy`]: crate::curve::Curve::buy
    pub fn execute_orders(
        &mut self,
        sales: &[SaleOrder],
        buys: &[BuyOrder],
        prices: &[f64],
    ) -> (Vec<SaleFill>, Vec<BuyFill>) {
        let n = self.kinds.len();
        // pending[a] = list of (wanted, qty), aggregated by wanted.
        let mut pending: Vec<Vec<(Option<AssetIdx>, f64)>> = vec![Vec::new(); n];
        for o in sales {
            if o.quantity > 0.0 && o.quantity.is_finite() {
                add_pending(&mut pending[o.asset], o.wanted, o.quantity);
            }
        }
        let mut to_buy = vec![0.0; n];
        for b in buys {
            if b.quantity > 0.0 && b.quantity.is_finite() {
                to_buy[b.asset] += b.quantity;
            }
        }
        let mut fills = Vec::new();
        let mut buy_fills = Vec::new();
        for idx in 0..self.sale_order.len() {
            let a = self.sale_order[idx];
            let bought = to_buy[a];
            if pending[a].is_empty() && bought <= 0.0 {
                continue;
            }
            let groups = std::mem::take(&mut pending[a]);
            let sold: f64 = groups.iter().map(|(_, q)| q).sum();
            let price_before = prices[a];
            let qp = self.quote_price(a, prices);
            // The crossing price in quote units.
            let cross = if qp > 0.0 { price_before / qp } else { 0.0 };
            let matched = sold.min(bought);
            let v = &mut self.venues[a];
            let spot_before = v.curve.spot_price();
            // Sales alone (no buys) compute exactly as before buys existed.
            let crossed = if matched > 0.0 { matched * cross } else { 0.0 };
            let (mut proceeds_quote, mut cost_quote, mut bought_filled) =
                (crossed, crossed, bought);
            if sold > bought {
                proceeds_quote += v.curve.sell((sold - bought) * v.par);
            } else if bought > sold {
                let want = (bought - sold) * v.par;
                let net = want.min(MAX_BUY_SHARE * v.curve.max_buy_tokens());
                let cost = v.curve.buy(net);
                if cost.is_finite() && net > 0.0 {
                    cost_quote += cost;
                    bought_filled = sold + net / v.par;
                } else {
                    bought_filled = matched;
                }
            }
            let quote = v.quote;
            let price_after = price_before * v.curve.spot_price() / spot_before;
            if sold > 0.0 {
                fills.push(SaleFill {
                    asset: a,
                    quantity: sold,
                    proceeds_usd: proceeds_quote * qp,
                    slippage_usd: (sold * prices[a] - proceeds_quote * qp).max(0.0),
                    price_before,
                    price_after,
                });
            }
            if bought > 0.0 {
                buy_fills.push(BuyFill {
                    asset: a,
                    quantity: bought_filled,
                    cost_usd: cost_quote * qp,
                    slippage_usd: (cost_quote * qp - bought_filled * prices[a]).max(0.0),
                    price_before,
                    price_after,
                });
            }
            if let Some(q) = quote {
                for (wanted, qty) in groups {
                    if wanted != Some(q) {
                        add_pending(&mut pending[q], wanted, proceeds_quote * qty / sold);
                    }
                }
            }
        }
        self.refresh_quoters();
        (fills, buy_fills)
    }

    /// Between rounds each curve's price recovers `rate` of the gap to its anchor (docs/liquidity.md#recovery-between-rounds's
    /// `recovery_rate`; 0 = depth consumed stays consumed), from either side: a price that buys
    /// pushed above its anchor falls back by the same share.
    pub fn recover(&mut self, rate: f64) {
        if rate <= 0.0 {
            return;
        }
        for v in &mut self.venues {
            let spot = v.curve.spot_price();
            if spot != v.anchor_spot && spot.is_finite() {
                v.curve.move_to_price(spot + rate * (v.anchor_spot - spot));
            }
        }
        self.refresh_quoters();
    }
}

fn add_pending(list: &mut Vec<(Option<AssetIdx>, f64)>, wanted: Option<AssetIdx>, q: f64) {
    match list.iter_mut().find(|(w, _)| *w == wanted) {
        Some((_, x)) => *x += q,
        None => list.push((wanted, q)),
    }
}

#[cfg(test)]
mod tests;
