//! AMM pools (docs/amm.md#amm-pools): a two-asset pool whose reserves arbitrage keeps at the external prices,
//! and whose share, the LP token, is priced from those reserves.
//!
//! **Arbitrage.** Each time prices are re-derived ([`ProtocolModel::on_prices`]) arbitrageurs move the
//! pool along its invariant until its marginal price of asset A (the first reserve) in asset B equals
//! the external ratio `p_A/p_B`. A depegging side is bought into the pool and the other drained. The
//! invariant is the snapshot's: constant product keeps `k = x·y`, stableswap keeps `A` and `D`
//! ([`Curve::anchor`]). Arbitrage adds and removes nothing else, so the reserves are a function of the
//! price ratio alone: they are recomputed from the snapshot pool each time, which makes the call
//! idempotent and path-independent.
//!
//! **LP price** (docs/amm.md#lp-token-price): `p_LP = (x·p_A + y·p_B) / lp_supply`, reserves after arbitrage.
//!
//! Modelling decisions (documented in docs/amm.md):
//! - *Fees.* Arbitrage pays no fee and the pool earns none: the pool sits exactly at the external
//!   price (a real pool stops within a fee of it, and the fees it earns accrue to LPs). At Curve's
//!   0.04% or Uniswap's 0.3% either effect is small next to the reserves' move; `fee` is kept only on
//!   the invariant's curve, which the arbitrage does not charge.
//! - *Default LP supply.* Without `lp_supply` in the snapshot, the supply is the pool's value at
//!   snapshot prices, so one LP token is worth 1 USD there. It is captured at the first
//!   [`ProtocolModel::on_prices`] call at which both pooled assets have a positive price — the
//!   engine's first price refresh, before any shock, at snapshot prices. (Issuer-priced reserves,
//!   e.g. a CDP stable, read 0 on that refresh's first pass, which is why the capture waits for a
//!   positive price.) Until then the LP token is priced at 1 USD.
//! - *Liquidity venue.* The pool's depth is not added to the pooled assets' own sales in this version:
//!   every asset sells on its own `liquidity` curve, which should describe its whole market, this pool
//!   included. Liquidations do not trade against the pool; it follows prices through arbitrage only.
//! - *Stableswap units.* Balances are in tokens, as in Curve's plain pools: a stableswap pool is for
//!   two assets pegged 1:1 to each other (USDC/USDT, stETH/ETH).
//! - *Degenerate prices.* If exactly one pooled asset's price is 0, the pool is drained of the other
//!   (the limit of either invariant as the ratio goes to 0 or ∞): its reserve is set to 0 and the
//!   worthless side kept. Any other price that is not finite and positive leaves the reserves as
//!   they were.
//! - *Protocol default* (a scenario `protocol` + `default` shock, e.g. an exploit): `share` of both
//!   reserves is gone, and the LP price falls by that share.
//!
//! An AMM has no accounts: it liquidates nothing and its end state is empty.

use cascade_market::curve::Curve;
use cascade_model::{AmmInvariant, AmmParams, AssetIdx, PoolDepth, ProtocolKind, Snapshot};

use crate::{EndState, PriceInput, ProtocolModel, ProtocolRound, RoundCtx};

/// An AMM pool's state.
///
/// # Examples
///
/// ```
/// use cascade_io::{snapshot_from_str, Format};
/// use cascade_protocols::{amm::Amm, PriceInput, ProtocolModel};
///
/// let toml = r#"
/// name = "pool"
/// [[asset]]
/// id = "ETH"
/// kind = "native"
/// price = 2000.0
/// liquidity = { curve = "power_law", adv_usd = 1.0e9, k = 0.0, alpha = 0.5 }
/// [[asset]]
/// id = "USDC"
/// kind = "stable"
/// price = 1.0
/// liquidity = { curve = "power_law", adv_usd = 1.0e9, k = 0.0, alpha = 0.5 }
/// [[asset]]
/// id = "LP"
/// kind = "lp"
/// liquidity = { curve = "power_law", adv_usd = 1.0e9, k = 0.0, alpha = 0.5 }
/// [[protocol]]
/// id = "pool"
/// kind = "amm"
/// invariant = "constant_product"
/// lp_asset = "LP"
/// reserves = { ETH = 100.0, USDC = 200000.0 }
/// "#;
/// let (s, _) = snapshot_from_str(toml, Format::Toml, "pool.toml").unwrap();
/// let mut pool = Amm::new(&s, 0, s.protocols[0].amm().unwrap());
/// pool.on_prices(&[2000.0, 1.0, 0.0]); // snapshot prices: lp_supply = 400,000 USD
/// pool.on_prices(&[1500.0, 1.0, 1.0]); // ETH −25%: k = 2e7 kept, value 2·√(k·1500)
/// let [(_, eth), (_, usdc)] = pool.reserves();
/// assert!((eth - (2e7f64 / 1500.0).sqrt()).abs() < 1e-9);
/// assert!((usdc - (2e7f64 * 1500.0).sqrt()).abs() < 1e-6);
/// let [PriceInput::Price { usd, .. }] = pool.price_inputs(&[1500.0, 1.0, 1.0])[..] else {
///     unreachable!()
/// };
/// assert!((usd - 0.75f64.sqrt()).abs() < 1e-12); // 346,410.16 / 400,000
/// ```
#[derive(Clone)]
pub struct Amm {
    id: String,
    /// The pooled assets: A (the first reserve, the curve's base) and B (its quote).
    assets: [AssetIdx; 2],
    lp_asset: AssetIdx,
    /// The pool at the snapshot's reserves: its invariant, which arbitrage keeps.
    snapshot_pool: Curve,
    /// Reserves after the latest arbitrage, tokens of A and B, before any default.
    reserves: [f64; 2],
    /// Share of the reserves lost to a protocol default.
    lost: f64,
    /// LP tokens outstanding: the snapshot's `lp_supply`, or the captured default (module doc).
    lp_supply: Option<f64>,
}

impl Amm {
    /// The pool of protocol `protocol` of `s`, at its snapshot reserves (not yet arbitraged).
    pub fn new(s: &Snapshot, protocol: usize, params: &AmmParams) -> Amm {
        let (a, x) = params.reserves[0];
        let (b, y) = params.reserves[1];
        let snapshot_pool = match params.invariant {
            AmmInvariant::ConstantProduct => Curve::ConstantProduct(PoolDepth {
                base: x,
                quote: y,
                fee: params.fee,
            }),
            AmmInvariant::StableSwap => Curve::StableSwap {
                amplification: params.amplification,
                depth: PoolDepth {
                    base: x,
                    quote: y,
                    fee: params.fee,
                },
            },
        };
        Amm {
            id: s.protocols[protocol].id.clone(),
            assets: [a, b],
            lp_asset: params.lp_asset,
            snapshot_pool,
            reserves: [x, y],
            lost: 0.0,
            lp_supply: params.lp_supply,
        }
    }

    /// The pooled assets and their reserves after the latest arbitrage (and any default), tokens.
    pub fn reserves(&self) -> [(AssetIdx, f64); 2] {
        let keep = 1.0 - self.lost;
        [
            (self.assets[0], self.reserves[0] * keep),
            (self.assets[1], self.reserves[1] * keep),
        ]
    }

    /// LP tokens outstanding: the snapshot's `lp_supply`, or the default once captured.
    pub fn lp_supply(&self) -> Option<f64> {
        self.lp_supply
    }

    /// The reserves' value at `prices`: `x·p_A + y·p_B`, USD.
    fn value_usd(&self, prices: &[f64]) -> f64 {
        self.reserves().iter().map(|&(a, q)| q * prices[a]).sum()
    }
}

fn is_price(p: f64) -> bool {
    p > 0.0 && p.is_finite()
}

impl ProtocolModel for Amm {
    fn id(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> ProtocolKind {
        ProtocolKind::Amm
    }
    /// The reserves' value, `x·p_A + y·p_B`.
    fn tvl_usd(&self, prices: &[f64]) -> f64 {
        self.value_usd(prices)
    }
    fn liquidate(&mut self, _ctx: &RoundCtx) -> ProtocolRound {
        ProtocolRound::default()
    }
    /// An exploit taking `share` of what is left in the pool: `lost ← 1 − (1 − lost)(1 − share)`.
    fn apply_default(&mut self, share: f64) {
        self.lost = (1.0 - (1.0 - self.lost) * (1.0 - share.clamp(0.0, 1.0))).clamp(0.0, 1.0);
    }
    /// Arbitrage to `p_A/p_B` along the snapshot invariant (module doc); captures the default LP
    /// supply at the first prices where both pooled assets are priced.
    fn on_prices(&mut self, prices: &[f64]) {
        let (pa, pb) = (prices[self.assets[0]], prices[self.assets[1]]);
        match (is_price(pa), is_price(pb)) {
            (true, true) => {
                let mut pool = self.snapshot_pool.clone();
                pool.anchor(pa / pb);
                if let Curve::ConstantProduct(PoolDepth { base, quote, .. })
                | Curve::StableSwap {
                    depth: PoolDepth { base, quote, .. },
                    ..
                } = pool
                {
                    self.reserves = [base, quote];
                }
                if self.lp_supply.is_none() {
                    let v = self.value_usd(prices);
                    if is_price(v) {
                        self.lp_supply = Some(v);
                    }
                }
            }
            // A worthless A: arbitrageurs sell it all in for B.
            (false, true) if pa == 0.0 => self.reserves[1] = 0.0,
            // A worthless B: the pool is drained of A.
            (true, false) if pb == 0.0 => self.reserves[0] = 0.0,
            _ => {}
        }
    }
    /// `p_LP = (x·p_A + y·p_B) / lp_supply` (docs/amm.md#lp-token-price); 1 USD until the default supply is captured.
    fn price_inputs(&self, prices: &[f64]) -> Vec<PriceInput> {
        let usd = match self.lp_supply {
            Some(supply) => {
                let p = self.value_usd(prices) / supply;
                if p.is_finite() {
                    p
                } else {
                    0.0
                }
            }
            None => 1.0,
        };
        vec![PriceInput::Price {
            asset: self.lp_asset,
            usd,
        }]
    }
    fn end_state(&self, _prices: &[f64]) -> EndState {
        EndState::default()
    }
}
