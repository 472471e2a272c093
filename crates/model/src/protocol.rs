//! Protocols and their risk parameters (docs/lending.md, docs/cdp.md, docs/amm.md, docs/bridge.md, docs/algostable.md, docs/clearinghouse.md).

use crate::asset::AssetIdx;
pub use crate::derivatives::ClearinghouseParams;

/// Index of a protocol in [`crate::Snapshot::protocols`].
pub type ProtocolIdx = usize;

crate::named_enum! {
    /// The kind of a protocol, which decides its parameters and its accounts' rules.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ProtocolKind ("protocol kind") {
        Lending = "lending", Cdp = "cdp", Clearinghouse = "clearinghouse",
        Amm = "amm", Algostable = "algostable", Bridge = "bridge",
    }
}

crate::named_enum! {
    /// How a lending pool computes an account's health factor (docs/lending.md#health-factor).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum HealthFactorRule ("health factor rule") {
        /// `Σ c·p·LT / Σ d·p`, exactly.
        #[default]
        Exact = "exact",
        /// As Aave v3's contracts: the value-weighted average threshold is kept in whole basis
        /// points, rounded down, then `HF = Σ c·p · avgLT / Σ d·p`.
        AaveV3 = "aave-v3",
    }
}

crate::named_enum! {
    /// Which version of Aave v3's `LiquidationLogic` decides a lending pool's liquidation calls
    /// (docs/lending.md#close-factor, docs/lending.md#aave-v33-liquidations).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum LiquidationRuleSet ("liquidation rules") {
        /// Aave v3.0–v3.2: the close factor applies to the largest debt reserve.
        #[default]
        AaveV3 = "aave-v3",
        /// Aave v3.3: the close factor applies to the account's total debt, 100% for positions
        /// under $2,000, no leftover under $1,000, and debt left without collateral booked as a
        /// reserve deficit.
        AaveV33 = "aave-v3.3",
    }
}

crate::named_enum! {
    /// How a lending pool liquidates an unhealthy account (docs/mechanisms.md).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum LiquidationMechanism ("liquidation mechanism") {
        /// Aave's: a liquidator repays up to the close factor and seizes collateral with a fixed bonus.
        #[default]
        FixedBonus = "fixed-bonus",
        /// Maker's Clipper: the whole account goes to a descending-price auction.
        DutchAuction = "dutch-auction",
        /// crvUSD's LLAMMA: collateral converted gradually through price bands as the price falls.
        SoftBands = "soft-bands",
        /// Compound III's: the protocol absorbs the account and sells its collateral at a discount.
        Absorb = "absorb",
    }
}

/// A Dutch auction's parameters (Maker's `Clipper` and `StairstepExponentialDecrease`;
/// docs/mechanisms.md#dutch-auction). Defaults: Maker's ETH-A settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DutchAuctionParams {
    /// `buf`: the starting price over the oracle price (1.2 = 120%).
    pub buf: f64,
    /// `tail`: seconds after which an auction is reset.
    pub tail_seconds: f64,
    /// `cusp`: the share of the starting price below which an auction is reset.
    pub cusp: f64,
    /// `chop`: the tab over the debt (1.13 = a 13% penalty).
    pub chop: f64,
    /// `cut`: the price multiplier per step of the stairstep decay.
    pub cut: f64,
    /// `step`: seconds between two price cuts.
    pub step_seconds: f64,
}

impl Default for DutchAuctionParams {
    fn default() -> Self {
        DutchAuctionParams {
            buf: 1.2,
            tail_seconds: 8400.0,
            cusp: 0.4,
            chop: 1.13,
            cut: 0.99,
            step_seconds: 90.0,
        }
    }
}

/// Soft liquidation in price bands (crvUSD's LLAMMA, simplified; docs/mechanisms.md#soft-bands).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoftBandsParams {
    /// The amplification `A`: adjacent band edges are in the ratio `(A − 1)/A`.
    pub amplification: f64,
    /// Bands each account's collateral is spread over `N` (crvUSD allows 4 to 50).
    pub bands: u32,
    /// The discount on collateral in the hard-liquidation health (crvUSD's `liquidation_discount`).
    pub liquidation_discount: f64,
    /// Time constant of the AMM oracle's exponential moving average, seconds (0: the market price).
    pub oracle_ema_seconds: f64,
}

impl Default for SoftBandsParams {
    fn default() -> Self {
        SoftBandsParams {
            amplification: 100.0,
            bands: 10,
            liquidation_discount: 0.06,
            oracle_ema_seconds: 866.0,
        }
    }
}

/// Absorb and discounted resale (Compound III's Comet; docs/mechanisms.md#absorb).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AbsorbParams {
    /// `liquidationFactor`: the share of an absorbed account's collateral value credited to it.
    pub liquidation_factor: f64,
    /// `storeFrontPriceFactor`: the share of `1 − liquidationFactor` given to buyers as a discount.
    pub store_front_price_factor: f64,
}

impl Default for AbsorbParams {
    fn default() -> Self {
        AbsorbParams {
            liquidation_factor: 0.95,
            store_front_price_factor: 0.5,
        }
    }
}

/// A lending pool's liquidation mechanism and each mechanism's parameters (docs/mechanisms.md).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MechanismParams {
    /// Wall-clock seconds of one cascade round, for the auctions' clocks.
    pub round_seconds: f64,
    pub dutch: DutchAuctionParams,
    pub soft: SoftBandsParams,
    pub absorb: AbsorbParams,
}

impl MechanismParams {
    /// The default round length, seconds (docs/mechanisms.md#rounds-and-time).
    pub const DEFAULT_ROUND_SECONDS: f64 = 300.0;
}

impl Default for MechanismParams {
    fn default() -> Self {
        MechanismParams {
            round_seconds: Self::DEFAULT_ROUND_SECONDS,
            dutch: DutchAuctionParams::default(),
            soft: SoftBandsParams::default(),
            absorb: AbsorbParams::default(),
        }
    }
}

/// One reserve of a lending pool (Aave v3 semantics, docs/lending.md). Ratios are fractions (0.825 = 82.5%).
#[derive(Debug, Clone, PartialEq)]
pub struct Reserve {
    pub asset: AssetIdx,
    /// Loan-to-value: borrowing power per USD of collateral.
    pub ltv: f64,
    /// Liquidation threshold `LT`: the collateral weight in the health factor.
    pub liquidation_threshold: f64,
    /// Liquidation bonus `LB`: the liquidator seizes `(1 + LB)` USD of collateral per USD repaid.
    pub liquidation_bonus: f64,
    /// Liquidation protocol fee: the share of the bonus part of seized collateral that goes to the
    /// protocol's treasury instead of the liquidator (Aave v3; docs/lending.md#liquidation-protocol-fee).
    pub liquidation_protocol_fee: f64,
    pub reserve_factor: f64,
    /// Supply cap in tokens.
    pub supply_cap: Option<f64>,
    /// Borrow cap in tokens.
    pub borrow_cap: Option<f64>,
    pub collateral_enabled: bool,
    pub borrowable: bool,
    /// Isolation mode: the USD debt ceiling of accounts using this asset as collateral.
    pub debt_ceiling_usd: Option<f64>,
    /// Tokens supplied to the reserve in all (passive suppliers included); defaults to the sum of
    /// the snapshot's collateral in this asset.
    pub supplied: Option<f64>,
    /// This reserve's own diversification cap, overriding the protocol's
    /// ([`LendingParams::diversification_cap`]); `Some(1.0)` exempts the asset.
    pub diversification_cap: Option<f64>,
    pub line: u32,
}

/// An efficiency-mode category (Aave v3 e-mode): its own ltv / LT / LB for correlated assets.
#[derive(Debug, Clone, PartialEq)]
pub struct EModeCategory {
    pub id: String,
    pub ltv: f64,
    pub liquidation_threshold: f64,
    pub liquidation_bonus: f64,
    /// Assets in the category.
    pub assets: Vec<AssetIdx>,
    pub line: u32,
}

/// A lending pool's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct LendingParams {
    /// Share of the largest debt a liquidation may repay while `HF ≥ close_factor_full_below_hf` (0.5).
    pub close_factor: f64,
    /// Below this health factor the whole debt may be repaid (0.95).
    pub close_factor_full_below_hf: f64,
    /// The close factor below `close_factor_full_below_hf` (1.0).
    pub full_close_factor: f64,
    /// A liquidator's fixed cost per liquidation, USD (gas etc.); default
    /// [`LendingParams::DEFAULT_LIQUIDATOR_COST_USD`].
    pub liquidator_cost_usd: f64,
    /// Liquidators buy the debt tokens they repay on the debt asset's curve (moving its price), and
    /// count that buy's slippage in their profitability check (docs/lending.md; default false).
    pub liquidators_buy_debt: bool,
    /// How the health factor is computed (`health_factor = "exact" | "aave-v3"`; default exact).
    pub health_factor_rule: HealthFactorRule,
    /// Which liquidation rules apply (`liquidation_rules = "aave-v3" | "aave-v3.3"`; default aave-v3).
    pub liquidation_rules: LiquidationRuleSet,
    /// The largest share `s ∈ (0, 1]` of an account's borrowing power that any one collateral asset
    /// may provide (`diversification_cap`; none by default): the excess gives no borrowing power
    /// (docs/lending.md#diversification-cap). A reserve may set its own.
    pub diversification_cap: Option<f64>,
    /// How unhealthy accounts are liquidated (`liquidation_mechanism`; default fixed-bonus).
    pub liquidation_mechanism: LiquidationMechanism,
    /// The mechanisms' parameters (`[protocol.mechanism]`; defaults from docs/mechanisms.md).
    pub mechanism: MechanismParams,
    pub reserves: Vec<Reserve>,
    pub emode: Vec<EModeCategory>,
}

impl LendingParams {
    /// The default liquidator cost per call, USD: a mainnet `liquidationCall` and the swap of what it
    /// seized take about 330,000 gas; at 10 gwei and $3,000 per ETH that is ≈ $10
    /// (docs/lending.md#liquidator-profitability). Dust is then not liquidated for nothing.
    pub const DEFAULT_LIQUIDATOR_COST_USD: f64 = 10.0;
}

impl LendingParams {
    pub fn reserve_of(&self, asset: AssetIdx) -> Option<&Reserve> {
        self.reserves.iter().find(|r| r.asset == asset)
    }

    /// The diversification cap of collateral `asset`: its reserve's, else the protocol's, else 1
    /// (no cap).
    pub fn diversification_cap_of(&self, asset: AssetIdx) -> f64 {
        self.reserve_of(asset)
            .and_then(|r| r.diversification_cap)
            .or(self.diversification_cap)
            .unwrap_or(1.0)
    }

    /// Whether any collateral of this pool is under a diversification cap below 1.
    pub fn has_diversification_cap(&self) -> bool {
        self.diversification_cap.is_some_and(|s| s < 1.0)
            || self
                .reserves
                .iter()
                .any(|r| r.diversification_cap.is_some_and(|s| s < 1.0))
    }
}

/// Kind-specific parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum ProtocolParams {
    Lending(LendingParams),
    Bridge(BridgeParams),
    Cdp(CdpParams),
    Amm(AmmParams),
    Clearinghouse(ClearinghouseParams),
    Algostable(AlgostableParams),
}

/// An algorithmic stablecoin (docs/algostable.md, Terra/UST semantics): holders redeem 1 `stable` for 1 USD of
/// newly minted `absorber`, up to a per-round cap; the minted absorber is sold on its curve;
/// `backing = absorber market cap / stable supply`; below `panic_backing` the stable trades at
/// `max(floor, backing)`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlgostableParams {
    /// The `algostable` asset issued.
    pub stable: AssetIdx,
    /// The absorber (governance) token minted on redemption.
    pub absorber: AssetIdx,
    /// Most stable tokens (valued at 1 USD) redeemed per round.
    pub redemption_cap_usd_per_round: f64,
    pub panic_backing: f64,
    /// Lowest price of the stable in a panic, USD.
    pub floor: f64,
    /// Stable tokens outstanding.
    pub stable_supply: f64,
    /// Absorber tokens outstanding.
    pub absorber_supply: f64,
}

/// A CDP stablecoin issuer (docs/cdp.md, MakerDAO semantics).
#[derive(Debug, Clone, PartialEq)]
pub struct CdpParams {
    /// The `cdp_stable` asset it issues (debt is valued at 1 USD).
    pub stable: AssetIdx,
    /// First buffer against auction shortfalls, USD.
    pub surplus_buffer_usd: f64,
    /// Share of an auction's curve proceeds that reaches the protocol (keepers' cut, delays).
    pub auction_efficiency: f64,
    /// When a curve cannot absorb an auction's sale, the collateral goes for nothing (Black Thursday).
    pub zero_bid_when_illiquid: bool,
    /// Peg-stability reserve: tokens of another stable held as backing.
    pub psm: Option<(AssetIdx, f64)>,
    pub vault_types: Vec<VaultType>,
}

/// One vault type (an "ilk") of a CDP.
#[derive(Debug, Clone, PartialEq)]
pub struct VaultType {
    pub id: String,
    pub collateral: AssetIdx,
    /// Minimum collateral ratio `c·p/d` (1.45 = 145%).
    pub liquidation_ratio: f64,
    /// Penalty on top of the debt in an auction (0.13 = 13%).
    pub liquidation_penalty: f64,
    /// Maximum stable debt of the type, USD.
    pub debt_ceiling: Option<f64>,
    /// Minimum debt of a vault, USD.
    pub dust: f64,
    pub line: u32,
}

crate::named_enum! {
    /// The invariant of an AMM pool.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum AmmInvariant ("pool invariant") {
        ConstantProduct = "constant_product",
        StableSwap = "stableswap",
    }
}

/// An AMM pool (docs/amm.md): a liquidity venue whose share, the `lp_asset`, may be collateral.
#[derive(Debug, Clone, PartialEq)]
pub struct AmmParams {
    pub invariant: AmmInvariant,
    /// Stableswap amplification `A` (ignored by constant product).
    pub amplification: f64,
    pub fee: f64,
    pub lp_asset: AssetIdx,
    /// Tokens of each pooled asset (two for now).
    pub reserves: Vec<(AssetIdx, f64)>,
    /// LP tokens outstanding; default: so that one LP token is worth 1 USD at snapshot prices.
    pub lp_supply: Option<f64>,
}

/// A bridge (docs/bridge.md): `locked` tokens of `underlying` back the `bridged` asset; an exploit removes
/// a share of them and the bridged asset reprices, `p = p_U·(1 − bridge_loss)`.
#[derive(Debug, Clone, PartialEq)]
pub struct BridgeParams {
    pub bridged: AssetIdx,
    pub underlying: AssetIdx,
    /// Tokens of the underlying locked in the bridge.
    pub locked: f64,
}

/// Circuit breakers (docs/breakers.md). Paused liquidations are deferred, not dropped.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Breakers {
    /// Pause the protocol's liquidations for a round when one of its assets' price fell by more than
    /// this share in the previous round (0.2 = a 20% one-round fall).
    pub pause_liquidations_on_drop: Option<f64>,
    /// Freeze new borrowing when an asset's price moves by more than this share in one round (reported;
    /// the cascade opens no new loans, so it changes no figure).
    pub freeze_borrowing_on_deviation: Option<f64>,
}

/// One protocol of a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Protocol {
    pub id: String,
    pub kind: ProtocolKind,
    /// Insurance fund balances, tokens per asset.
    pub insurance_fund: Vec<(AssetIdx, f64)>,
    pub breakers: Breakers,
    pub params: ProtocolParams,
    pub line: u32,
}

impl Protocol {
    pub fn cdp(&self) -> Option<&CdpParams> {
        match &self.params {
            ProtocolParams::Cdp(c) => Some(c),
            _ => None,
        }
    }

    pub fn amm(&self) -> Option<&AmmParams> {
        match &self.params {
            ProtocolParams::Amm(a) => Some(a),
            _ => None,
        }
    }

    pub fn clearinghouse(&self) -> Option<&ClearinghouseParams> {
        match &self.params {
            ProtocolParams::Clearinghouse(c) => Some(c),
            _ => None,
        }
    }

    pub fn algostable(&self) -> Option<&AlgostableParams> {
        match &self.params {
            ProtocolParams::Algostable(a) => Some(a),
            _ => None,
        }
    }

    pub fn lending(&self) -> Option<&LendingParams> {
        match &self.params {
            ProtocolParams::Lending(l) => Some(l),
            _ => None,
        }
    }
}
