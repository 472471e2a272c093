//! Stress scenarios (docs/cascade.md, docs/formats.md).

use crate::asset::AssetIdx;

/// One shock applied at round 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Shock {
    /// The asset shocked; `None` for a shock to every curve (liquidity only).
    pub asset: Option<AssetIdx>,
    /// Relative price change: −0.40 multiplies the price by 0.60.
    pub price_change: Option<f64>,
    /// Sets an lst's market discount (0.93 = trades at 93% of its redemption value).
    pub discount: Option<f64>,
    /// Multiplies curve depth (0.5 halves it).
    pub liquidity_multiplier: Option<f64>,
    /// A bridge exploit: `loss` of the bridge's locked underlying is gone.
    pub bridge: Option<usize>,
    /// Share of the locked underlying removed, in [0, 1].
    pub loss: Option<f64>,
    /// A protocol default: `default` of what the protocol owes is lost (a lending pool's receipt
    /// tokens recover `1 − default`; a bridge loses `default` of its locked underlying).
    pub protocol: Option<usize>,
    pub default: Option<f64>,
    /// With `protocol` (an algorithmic stablecoin): USD of the stable whose holders want to redeem
    /// (the outflow of docs/algostable.md).
    pub redemptions_usd: Option<f64>,
    /// With `protocol` (a clearinghouse): every market's oracle reports the price of this many rounds
    /// ago (with `market`: that market's only).
    pub oracle_delay_rounds: Option<u32>,
    /// With `asset`: relative change of the asset's implied volatility (0.5 = ×1.5).
    pub vol_change: Option<f64>,
    /// A market of `protocol`, by id (oracle shocks).
    pub market: Option<String>,
    /// With `protocol` + `market` (a thin-venue oracle): USD spent buying the underlying on the oracle's
    /// venue at round 0 (a manipulation).
    pub pump_usd: Option<f64>,
    /// Rounds the pumped venue price holds before arbitrage restores it (0: it is seen at round 0 only).
    pub pump_rounds: Option<u32>,
    /// With `protocol` + `account` (a clearinghouse): the account borrows this asset up to its initial
    /// margin at the round-0 oracle prices and withdraws it (the attack that follows a pump).
    pub account: Option<String>,
    pub borrow: Option<AssetIdx>,
    pub line: u32,
}

impl Shock {
    /// A shock that changes nothing (a base for struct-update syntax).
    pub fn none() -> Shock {
        Shock {
            asset: None,
            price_change: None,
            discount: None,
            liquidity_multiplier: None,
            bridge: None,
            loss: None,
            protocol: None,
            default: None,
            redemptions_usd: None,
            oracle_delay_rounds: None,
            vol_change: None,
            market: None,
            pump_usd: None,
            pump_rounds: None,
            account: None,
            borrow: None,
            line: 0,
        }
    }
}

/// A stress scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    /// Stop after this many rounds even without a fixed point (50).
    pub max_rounds: u32,
    /// A round in which no price moves by more than this relative amount, and nothing is liquidated,
    /// is a fixed point (1e-9).
    pub tolerance: f64,
    /// Share of the gap to its pre-sale price that a curve's price recovers between rounds (0).
    pub recovery_rate: f64,
    /// A CDP stablecoin trades at `min(1, backing)` instead of holding its peg (docs/assets.md).
    pub peg_follows_backing: bool,
    pub shocks: Vec<Shock>,
}

impl Scenario {
    pub const DEFAULT_MAX_ROUNDS: u32 = 50;
    pub const DEFAULT_TOLERANCE: f64 = 1e-9;

    /// A scenario with no shocks: the snapshot as it is, run to its own fixed point.
    pub fn baseline() -> Scenario {
        Scenario {
            name: "baseline".into(),
            max_rounds: Self::DEFAULT_MAX_ROUNDS,
            tolerance: Self::DEFAULT_TOLERANCE,
            recovery_rate: 0.0,
            peg_follows_backing: false,
            shocks: Vec::new(),
        }
    }
}
