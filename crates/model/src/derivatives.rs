//! Derivatives clearinghouses (docs/clearinghouse.md): collateral and liability weights, perp markets, the
//! options block (portfolio-margin grid and smile), and the perp and option positions of accounts.

use crate::asset::{AssetIdx, CurveSpec};

crate::named_enum! {
    /// How an account's requirements are combined (docs/clearinghouse.md).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub enum MarginMode ("margin mode") {
        /// One equity against the sum of every position's requirement.
        #[default]
        Cross = "cross",
        /// The account is one isolated position with its own collateral; its failure touches
        /// nothing else.
        Isolated = "isolated",
        /// The requirement is the worst loss of the whole portfolio over the protocol's scenario
        /// grid, collateral revalued in each scenario.
        Portfolio = "portfolio",
    }
}

crate::named_enum! {
    /// What happens to a loss the insurance fund cannot pay (docs/clearinghouse.md).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum LossMode ("loss mode") {
        /// Charged pro rata to the unrealised profit of every profitable perp position.
        #[default]
        Socialise = "socialise",
        /// Auto-deleveraging: profitable positions on the other side of the bankrupt one, ranked by
        /// profit per unit of equity, are closed at the bankruptcy price until the loss is met.
        Adl = "adl",
    }
}

/// A spot asset's weights in a clearinghouse's health: as collateral, weight = 1 − haircut in [0, 1]
/// with initial ≤ maintenance; as a liability, weight ≥ 1 with initial ≥ maintenance.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetWeight {
    pub asset: AssetIdx,
    /// Weight in initial health (what may be opened or borrowed).
    pub initial_weight: f64,
    /// Weight in maintenance health (what triggers liquidation).
    pub maintenance_weight: f64,
    pub line: u32,
}

/// A spot asset accepted as collateral, with its weights in [0, 1].
pub type CollateralWeight = AssetWeight;
/// A spot asset that may be borrowed, with its liability weights (≥ 1).
pub type LiabilityWeight = AssetWeight;

/// Where a market's oracle price comes from (docs/clearinghouse.md#oracles).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum OracleSpec {
    /// The underlying's system price at the round's start.
    #[default]
    Spot,
    /// The price on a thin venue (its own curve, anchored at the underlying's price): a trader with a
    /// budget can move it (`pump_usd` shocks), the Mango Markets attack of October 2022.
    ThinVenue { curve: CurveSpec },
    /// The underlying's system price `delay_rounds` rounds ago (a lagged or TWAP feed).
    Lagged { delay_rounds: u32 },
}

/// A perpetual-futures market.
#[derive(Debug, Clone, PartialEq)]
pub struct PerpMarket {
    pub id: String,
    pub underlying: AssetIdx,
    /// Initial margin ratio: `IM = |s|·p·imr`.
    pub imr: f64,
    /// Maintenance margin ratio: `MM = |s|·p·mmr`.
    pub mmr: f64,
    /// Share of the closed notional charged when a position is liquidated.
    pub liquidation_fee: f64,
    /// Drift-style size premium (`imf_factor`, per √token): the ratio used for a position of size `s`
    /// is `max(r, 0.8·r + imf_factor·√|s|)` for both `imr` and `mmr` (0 = none).
    pub imf_factor: f64,
    pub oracle: OracleSpec,
    pub line: u32,
}

/// The smile of one underlying: `σ(k) = atm + skew·k + curvature·k²`, `k = ln(K/F)` (docs/clearinghouse.md).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmileSpec {
    pub underlying: AssetIdx,
    pub atm: f64,
    pub skew: f64,
    pub curvature: f64,
}

/// Options: the portfolio-margin grid and the smiles.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionsParams {
    /// The grid's largest underlying move, a share (0.15 = ±15%).
    pub underlying_moves: f64,
    /// Points of the price grid from −moves to +moves (odd, ≥ 1; 7 gives −15, −10, …, +15%).
    pub price_steps: u32,
    /// Relative volatility shocks of the grid: σ·(1 − v), σ, σ·(1 + v).
    pub vol_shock: f64,
    /// The requirement's floor, a share of the gross underlying notional of the account's derivatives.
    pub floor: f64,
    /// Initial requirement / maintenance requirement for grid-margined books (1.25: maintenance is
    /// 80% of initial, as on Deribit).
    pub initial_multiplier: f64,
    /// Annual continuously-compounded rate of the forward `F = S·e^{rT}`.
    pub rate: f64,
    /// Fee on the value of an option closed by a liquidation.
    pub liquidation_fee: f64,
    pub smile: Vec<SmileSpec>,
    pub line: u32,
}

impl Default for OptionsParams {
    fn default() -> Self {
        OptionsParams {
            underlying_moves: 0.15,
            price_steps: 7,
            vol_shock: 0.30,
            floor: 0.01,
            initial_multiplier: 1.25,
            rate: 0.0,
            liquidation_fee: 0.01,
            smile: Vec::new(),
            line: 0,
        }
    }
}

impl OptionsParams {
    pub fn smile_of(&self, underlying: AssetIdx) -> Option<&SmileSpec> {
        self.smile.iter().find(|s| s.underlying == underlying)
    }
}

/// A derivatives clearinghouse (docs/clearinghouse.md; Drift / Mango / dYdX / Deribit semantics).
#[derive(Debug, Clone, PartialEq)]
pub struct ClearinghouseParams {
    pub collateral: Vec<CollateralWeight>,
    pub liabilities: Vec<LiabilityWeight>,
    pub markets: Vec<PerpMarket>,
    pub options: OptionsParams,
    pub loss_mode: LossMode,
    /// Weight of positive unrealised PnL in initial health (the Mango lesson: 1 lets paper profit back
    /// new borrowing).
    pub pnl_initial_weight: f64,
    /// Weight of positive unrealised PnL in maintenance health. Losses always count in full.
    pub pnl_maintenance_weight: f64,
    /// Share of every liquidation fee paid into the insurance fund (the rest is the liquidator's).
    pub insurance_fee_share: f64,
}

impl ClearinghouseParams {
    pub fn market_idx(&self, id: &str) -> Option<usize> {
        self.markets.iter().position(|m| m.id == id)
    }
    pub fn collateral_of(&self, asset: AssetIdx) -> Option<&CollateralWeight> {
        self.collateral.iter().find(|c| c.asset == asset)
    }
    pub fn liability_of(&self, asset: AssetIdx) -> Option<&LiabilityWeight> {
        self.liabilities.iter().find(|c| c.asset == asset)
    }
}

crate::named_enum! {
    /// Call or put.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum OptionType ("option kind") {
        Call = "call",
        Put = "put",
    }
}

/// Perp positions, one row each (struct of arrays).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PerpPositions {
    pub account: Vec<u32>,
    /// Index into the account's protocol's `markets`.
    pub market: Vec<u16>,
    /// Signed size in tokens of the underlying (> 0 long).
    pub size: Vec<f64>,
    /// USD per token.
    pub entry_price: Vec<f64>,
}

impl PerpPositions {
    pub fn len(&self) -> usize {
        self.account.len()
    }
    pub fn is_empty(&self) -> bool {
        self.account.is_empty()
    }
    pub fn push(&mut self, account: u32, market: u16, size: f64, entry_price: f64) {
        self.account.push(account);
        self.market.push(market);
        self.size.push(size);
        self.entry_price.push(entry_price);
    }
}

/// European option positions, one row each (struct of arrays).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OptionPositions {
    pub account: Vec<u32>,
    pub underlying: Vec<u32>,
    pub kind: Vec<OptionType>,
    /// USD per token.
    pub strike: Vec<f64>,
    pub expiry_days: Vec<f64>,
    /// Signed number of options on one token each (< 0 written).
    pub size: Vec<f64>,
}

impl OptionPositions {
    pub fn len(&self) -> usize {
        self.account.len()
    }
    pub fn is_empty(&self) -> bool {
        self.account.is_empty()
    }
    pub fn push(
        &mut self,
        account: u32,
        underlying: AssetIdx,
        kind: OptionType,
        strike: f64,
        expiry_days: f64,
        size: f64,
    ) {
        self.account.push(account);
        self.underlying.push(underlying as u32);
        self.kind.push(kind);
        self.strike.push(strike);
        self.expiry_days.push(expiry_days);
        self.size.push(size);
    }
}
