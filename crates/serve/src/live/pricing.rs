//! Every asset's USD price, derived as the engine derives its round-0 prices (docs/assets.md#the-price-of-an-asset):
//! exogenous kinds take the price of their latest update; derived kinds follow their underlying, and
//! issued kinds (lp, cdp_stable, algostable) the state of the protocol that issues them.
//!
//! ```text
//! exogenous (native, governance, stable, rwa)   p = the latest price
//! lst                                           p = p_U · rate · discount
//! receipt                                       p = p_U · rate · recovery        (recovery 1: no losses live)
//! bridged                                       p = p_U · (1 − bridge_loss)
//! lp, cdp_stable, algostable                    p = what the issuing protocol's model says at the other prices
//! ```
//!
//! As in `cascade_engine::Prepared::new`, the issuers' inputs are refreshed [`PRICE_PASSES`] times
//! (an issuer may price from an asset another issuer prices), then every price is derived once more.
//! There is no market impact live: nothing is sold, so every curve sits at its anchor.

use cascade_model::{AssetKind, Protocol, ProtocolParams, Snapshot};
use cascade_protocols::{
    algostable::Algostable, amm::Amm, bridge::Bridge, cdp::Cdp, lending::LendingPool, PriceInput,
    ProtocolModel,
};

/// Refreshes of the issuers' price inputs, as the engine makes them before round 1.
pub const PRICE_PASSES: usize = 3;

/// The derived prices and the models of the protocols that issue priced assets.
pub(crate) struct Pricing {
    kind: Vec<AssetKind>,
    underlying: Vec<Option<usize>>,
    rate: Vec<f64>,
    discount: Vec<f64>,
    /// Exogenous kinds: the latest price; issued kinds: the issuer's latest input.
    pub(crate) base: Vec<f64>,
    recovery: Vec<f64>,
    bridge_loss: Vec<f64>,
    /// Underlyings before the assets derived from them.
    order: Vec<usize>,
    models: Vec<Box<dyn ProtocolModel>>,
    /// USD per token of every asset, then [`Pricing::par`] (1: a CDP's debt at par) and
    /// [`Pricing::zero`] (0: what counts for nothing).
    pub(crate) prices: Vec<f64>,
}

impl Clone for Pricing {
    fn clone(&self) -> Self {
        Pricing {
            kind: self.kind.clone(),
            underlying: self.underlying.clone(),
            rate: self.rate.clone(),
            discount: self.discount.clone(),
            base: self.base.clone(),
            recovery: self.recovery.clone(),
            bridge_loss: self.bridge_loss.clone(),
            order: self.order.clone(),
            models: self.models.iter().map(|m| m.boxed_clone()).collect(),
            prices: self.prices.clone(),
        }
    }
}

impl Pricing {
    /// The pricing of `s`'s assets, with `protocols` as the issuers (the snapshot's own, their
    /// default LP supplies resolved: see [`resolve_lp_supply`]). Indices must have been checked.
    pub(crate) fn new(s: &Snapshot, protocols: &[Protocol]) -> Pricing {
        let n = s.assets.len();
        let underlying: Vec<Option<usize>> = s.assets.iter().map(|a| a.underlying).collect();
        // The issuers are built from a snapshot without accounts: only their parameters price.
        let issuers = Snapshot {
            assets: s.assets.clone(),
            protocols: protocols.to_vec(),
            ..Default::default()
        };
        let models = protocols
            .iter()
            .enumerate()
            .filter_map(|(i, p)| -> Option<Box<dyn ProtocolModel>> {
                match &p.params {
                    ProtocolParams::Lending(_) => Some(Box::new(LendingPool::new(&issuers, i))),
                    ProtocolParams::Bridge(b) => Some(Box::new(Bridge::new(&issuers, i, b))),
                    ProtocolParams::Amm(a) => Some(Box::new(Amm::new(&issuers, i, a))),
                    ProtocolParams::Cdp(c) => Some(Box::new(Cdp::new(&issuers, i, c))),
                    ProtocolParams::Algostable(a) => {
                        Some(Box::new(Algostable::new(&issuers, i, a)))
                    }
                    // A clearinghouse issues no priced asset.
                    ProtocolParams::Clearinghouse(_) => None,
                }
            })
            .collect();
        let mut p = Pricing {
            kind: s.assets.iter().map(|a| a.kind).collect(),
            rate: s.assets.iter().map(|a| a.rate).collect(),
            discount: s.assets.iter().map(|a| a.discount).collect(),
            base: s.assets.iter().map(|a| a.price.unwrap_or(0.0)).collect(),
            recovery: vec![1.0; n],
            bridge_loss: s.assets.iter().map(|a| a.bridge_loss).collect(),
            order: cascade_market::price::topo_order(underlying.len(), |a| underlying[a]),
            underlying,
            models,
            prices: vec![0.0; n + 2],
        };
        p.prices[n] = 1.0;
        p.derive();
        p
    }

    /// Number of assets.
    pub(crate) fn assets(&self) -> usize {
        self.kind.len()
    }

    /// The price slot of "1 USD per token" (a CDP's debt, owed at par).
    pub(crate) fn par(&self) -> usize {
        self.kind.len()
    }

    /// The price slot of "worth nothing" (a CDP debt in another asset than its stable, which the
    /// engine ignores).
    pub(crate) fn zero(&self) -> usize {
        self.kind.len() + 1
    }

    /// Sets the exogenous price of `asset` (the caller checked its kind).
    pub(crate) fn set(&mut self, asset: usize, usd: f64) -> bool {
        match self.base.get_mut(asset) {
            Some(b) if *b != usd => {
                *b = usd;
                true
            }
            _ => false,
        }
    }

    /// docs/assets.md's formula price of every asset from `base` and the issuers' inputs (no
    /// market impact), in dependency order; writes the first `assets()` slots of `out`.
    fn formula_all(&self, out: &mut [f64]) {
        for &a in &self.order {
            let pu = self.underlying[a].map_or(0.0, |u| out[u]);
            out[a] = match self.kind[a] {
                AssetKind::Native | AssetKind::Governance | AssetKind::Stable | AssetKind::Rwa => {
                    self.base[a]
                }
                AssetKind::Lst => pu * self.rate[a] * self.discount[a],
                AssetKind::Receipt => pu * self.rate[a] * self.recovery[a],
                AssetKind::Bridged => pu * (1.0 - self.bridge_loss[a]),
                AssetKind::Lp | AssetKind::CdpStable | AssetKind::Algostable => self.base[a],
            };
        }
    }

    /// Re-derives every price: [`PRICE_PASSES`] refreshes of the issuers' inputs, then the formula.
    pub(crate) fn derive(&mut self) {
        let n = self.assets();
        let mut p = vec![0.0; n];
        if self.models.is_empty() {
            self.formula_all(&mut p);
        } else {
            for _ in 0..PRICE_PASSES {
                self.formula_all(&mut p);
                for m in self.models.iter_mut() {
                    m.on_prices(&p);
                }
                for m in &self.models {
                    for input in m.price_inputs(&p) {
                        match input {
                            PriceInput::Recovery { asset, recovery } => {
                                if let Some(x) = self.recovery.get_mut(asset) {
                                    *x = recovery;
                                }
                            }
                            PriceInput::BridgeLoss { asset, loss } => {
                                if let Some(x) = self.bridge_loss.get_mut(asset) {
                                    *x = loss;
                                }
                            }
                            PriceInput::Price { asset, usd } => {
                                if let Some(x) = self.base.get_mut(asset) {
                                    *x = usd;
                                }
                            }
                        }
                    }
                }
            }
            self.formula_all(&mut p);
        }
        self.prices[..n].copy_from_slice(&p);
    }

    /// Whether asset `a`'s price is its underlying's times a constant live (lst, receipt, bridged):
    /// such an asset moves with its underlying in a ladder's drop.
    pub(crate) fn follows_underlying(&self, a: usize) -> Option<usize> {
        match self.kind.get(a) {
            Some(AssetKind::Lst | AssetKind::Receipt | AssetKind::Bridged) => self.underlying[a],
            _ => None,
        }
    }
}

/// `protocols` with every AMM's default LP supply made explicit: without `lp_supply` the engine
/// takes the pool's value at the snapshot's prices, so that an LP token is worth 1 USD there
/// (docs/amm.md#lp-token-price). Live, prices move; the supply must not, so it is captured once,
/// at the snapshot's prices, and written into the protocol (and into [`crate::live::Live::snapshot`]).
pub(crate) fn resolve_lp_supply(s: &Snapshot) -> Vec<Protocol> {
    let mut protocols = s.protocols.clone();
    let open: Vec<usize> = protocols
        .iter()
        .enumerate()
        .filter(|(_, p)| p.amm().is_some_and(|a| a.lp_supply.is_none()))
        .map(|(i, _)| i)
        .collect();
    if open.is_empty() {
        return protocols;
    }
    // With a supply of 1 token the LP price is the pool's value.
    let mut probe = protocols.clone();
    for &i in &open {
        if let ProtocolParams::Amm(a) = &mut probe[i].params {
            a.lp_supply = Some(1.0);
        }
    }
    let pricing = Pricing::new(s, &probe);
    for &i in &open {
        if let ProtocolParams::Amm(a) = &mut protocols[i].params {
            let value = pricing.prices.get(a.lp_asset).copied().unwrap_or(0.0);
            if value.is_finite() && value > 0.0 {
                a.lp_supply = Some(value);
            }
        }
    }
    protocols
}
