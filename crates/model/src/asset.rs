//! Assets (docs/assets.md) and their liquidity curves' parameters (docs/liquidity.md).

/// Index of an asset in [`crate::Snapshot::assets`].
pub type AssetIdx = usize;

crate::named_enum! {
    /// What an asset is, which decides how its price is found (docs/assets.md).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum AssetKind ("asset kind") {
        /// Exogenous: the chain's native coin (ETH).
        Native = "native",
        /// Exogenous: a governance token (AAVE).
        Governance = "governance",
        /// Exogenous: a fiat-backed stablecoin, peg 1 USD.
        Stable = "stable",
        /// Exogenous: a tokenized real-world asset (T-bills).
        Rwa = "rwa",
        /// Derived: liquid staking token, `p = p_U · rate · discount`.
        Lst = "lst",
        /// Derived: share of a lending reserve, `p = p_U · rate · recovery`.
        Receipt = "receipt",
        /// Derived: AMM pool share.
        Lp = "lp",
        /// Derived: bridged underlying, `p = p_U · (1 − bridge_loss)`.
        Bridged = "bridged",
        /// Derived: stablecoin issued by a CDP protocol.
        CdpStable = "cdp_stable",
        /// Derived: algorithmic stablecoin.
        Algostable = "algostable",
    }
}

impl AssetKind {
    /// Exogenous kinds take their price from the snapshot or scenario.
    pub fn is_exogenous(self) -> bool {
        matches!(
            self,
            AssetKind::Native | AssetKind::Governance | AssetKind::Stable | AssetKind::Rwa
        )
    }

    /// Kinds whose price comes from an `underlying` asset.
    pub fn needs_underlying(self) -> bool {
        matches!(
            self,
            AssetKind::Lst | AssetKind::Receipt | AssetKind::Bridged
        )
    }
}

/// The balances and fee of a two-coin pool (constant product or stableswap): `base` tokens of the asset
/// sold, `quote` tokens of what it is sold for (USD unless the liquidity names a `quote_asset`), and the
/// fee, a fraction of the input kept by the pool.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolDepth {
    /// Tokens of the asset sold.
    pub base: f64,
    /// Tokens (or USD) of the quote.
    pub quote: f64,
    /// Fraction of each input kept by the pool, in [0, 1).
    pub fee: f64,
}

impl PoolDepth {
    /// The same pool with both balances times `m` (its price `quote/base` unchanged, the fee kept):
    /// a scenario's or a generator's depth scaling (docs/liquidity.md#depth-scaling).
    pub fn scaled(self, m: f64) -> PoolDepth {
        PoolDepth {
            base: self.base * m,
            quote: self.quote * m,
            fee: self.fee,
        }
    }
}

/// Liquidity `L` on one price range of a concentrated-liquidity pool: `L` is constant for prices
/// (quote per base token) in `[lower, upper)`, in units of `√(base tokens · quote tokens)`, so that
/// on the range the pool holds `L·(1/√p − 1/√upper)` base and `L·(√p − √lower)` quote at price `p`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiquidityRange {
    pub lower: f64,
    pub upper: f64,
    pub liquidity: f64,
}

/// A concentrated-liquidity pool (Uniswap v3, docs/liquidity.md#concentrated-liquidity): its price
/// now (quote per base token), its fee (a fraction of each input, not added to the liquidity) and
/// its liquidity by price range; overlapping ranges add up, prices outside every range have none.
#[derive(Debug, Clone, PartialEq)]
pub struct ConcentratedSpec {
    pub price: f64,
    pub fee: f64,
    pub ranges: Vec<LiquidityRange>,
}

impl ConcentratedSpec {
    /// The same pool with every range's liquidity times `m` (prices and fee unchanged): depth
    /// scaling (docs/liquidity.md#depth-scaling).
    pub fn scaled(&self, m: f64) -> ConcentratedSpec {
        ConcentratedSpec {
            price: self.price,
            fee: self.fee,
            ranges: self
                .ranges
                .iter()
                .map(|r| LiquidityRange {
                    liquidity: r.liquidity * m,
                    ..*r
                })
                .collect(),
        }
    }
}

/// The shape of an asset's market depth (docs/liquidity.md).
#[derive(Debug, Clone, PartialEq)]
pub enum CurveSpec {
    /// `x·y = k` with a fee kept by the pool.
    ConstantProduct(PoolDepth),
    /// Curve's two-coin invariant with amplification `A`.
    StableSwap {
        amplification: f64,
        depth: PoolDepth,
    },
    /// `p(V) = p_ref·(1 − k·(V/adv_usd)^alpha)`, `V` the value sold since round 0 at `p_ref`.
    PowerLaw { adv_usd: f64, k: f64, alpha: f64 },
    /// Uniswap v3's concentrated liquidity; shared, since a tick profile can be long.
    Concentrated(std::sync::Arc<ConcentratedSpec>),
}

impl CurveSpec {
    /// The curve with its depth times `m` (docs/liquidity.md#depth-scaling): a pool's balances or
    /// liquidity, a power law's `adv_usd`; prices, fees and shapes unchanged.
    pub fn scaled(&self, m: f64) -> CurveSpec {
        match self {
            CurveSpec::ConstantProduct(depth) => CurveSpec::ConstantProduct(depth.scaled(m)),
            &CurveSpec::StableSwap {
                amplification,
                depth,
            } => CurveSpec::StableSwap {
                amplification,
                depth: depth.scaled(m),
            },
            &CurveSpec::PowerLaw { adv_usd, k, alpha } => CurveSpec::PowerLaw {
                adv_usd: adv_usd * m,
                k,
                alpha,
            },
            CurveSpec::Concentrated(c) => CurveSpec::Concentrated(std::sync::Arc::new(c.scaled(m))),
        }
    }
}

/// Where an asset is sold: its curve and the asset the curve pays in (`None` = USD).
#[derive(Debug, Clone, PartialEq)]
pub struct Liquidity {
    pub curve: CurveSpec,
    pub quote_asset: Option<AssetIdx>,
    /// `Some(protocol)` when the asset sells into an AMM pool (`{ curve = "amm", pool = "…" }`): then
    /// `curve` and `quote_asset` are the pool's invariant, depth and other coin, filled in by the loader.
    pub pool: Option<usize>,
}

/// One asset of a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Asset {
    pub id: String,
    pub kind: AssetKind,
    /// USD per token, exogenous kinds only.
    pub price: Option<f64>,
    /// Annualised volatility of log returns.
    pub volatility: f64,
    /// The asset a derived asset is priced from.
    pub underlying: Option<AssetIdx>,
    /// Redemption rate in underlying per token (lst, receipt); 1 by default.
    pub rate: f64,
    /// Market discount of an lst, 1 at par.
    pub discount: f64,
    /// The lending protocol whose reserve issued a receipt token, if named.
    pub issuer: Option<usize>,
    /// Share of a bridged asset's locked underlying that is gone, in [0, 1].
    pub bridge_loss: f64,
    pub liquidity: Liquidity,
    /// Line of the asset's table in its file.
    pub line: u32,
}
