//! Margin of a derivatives account (docs/clearinghouse.md#initial-and-maintenance-margin), as pure functions over one account's book and one set
//! of prices: health in cross, isolated and portfolio margin, the scenario grid, and the series table
//! that values each listed option once per grid point instead of once per position.
//!
//! Quantities: token amounts in tokens, prices in USD per token, values and requirements in USD.
//!
//! * Weighted collateral `C = Σ c_i·p_i·w_i` (`w` the initial or maintenance asset weight); weighted
//!   liabilities `L = Σ d_j·p_j·lw_j` (`lw ≥ 1`).
//! * Perp PnL `PnL_k = s_k·(mark_k − entry_k)`; a profit counts at the PnL weight, a loss in full:
//!   `pnl_w = Σ_k (PnL_k > 0 ? w_pnl·PnL_k : PnL_k)`.
//! * Options are valued by Black-76 with the smile: `O = Σ_j n_j·V_j`.
//! * Equity `E = cash + C − L + pnl_w + O`; health `H = E − requirement` (initial: `E_I − IM`,
//!   maintenance: `E_M − MM`). An account is liquidated when `H_M < 0`.
//! * Cross and isolated: `MM = Σ_k |s_k|·mark_k·mmr_k(s_k) + Σ_j R_j`, `IM = Σ_k |s_k|·mark_k·imr_k(s_k) +
//!   m·Σ_j R_j`, where `R_j` is option position j's own worst loss over the grid (a written option at
//!   least `floor·|n_j|·S`) and `m` the options' initial multiplier. The size premium is Drift's:
//!   `r(s) = min(1, max(r, 0.8·r + imf·√|s|))`.
//! * Portfolio: for each underlying u, the worst over the grid (u's price × (1 + move), its implied
//!   volatilities × (1 + shock)) of the fall in maintenance equity, every asset priced from u (u itself,
//!   an lst, receipt or bridged asset on it) revalued in the scenario — so collateral that falls with
//!   the position it backs (stETH behind written ETH puts) raises the requirement. `MM = max(floor ·
//!   gross notional, Σ_u worst_u)`, `IM = m·MM`.

use cascade_model::{AssetIdx, ClearinghouseParams, MarginMode, OptionType};

use crate::options::{black76, black76_price, OptionSpec, Smile};

/// Days per year (docs/units.md#time: a 365-day year).
pub const DAYS_PER_YEAR: f64 = 365.0;
/// Share of a ratio that Drift's size premium keeps before adding `imf·√|s|`.
pub const SIZE_PREMIUM_BASE_SHARE: f64 = 0.8;

/// A listed option series: positions on the same series share one valuation per grid point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Series {
    pub underlying: AssetIdx,
    pub kind: OptionType,
    /// USD per token.
    pub strike: f64,
    pub expiry_days: f64,
}

/// One perp position of a book.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerpPos {
    pub market: usize,
    /// Signed size, tokens of the underlying.
    pub size: f64,
    /// USD per token.
    pub entry_price: f64,
}

/// One option position of a book: `size` options of series `series` (< 0 written).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptPos {
    pub series: usize,
    pub size: f64,
}

/// One account's book.
#[derive(Debug, Clone, Copy)]
pub struct Book<'a> {
    pub mode: MarginMode,
    /// Spot deposits, tokens per asset.
    pub collateral: &'a [(AssetIdx, f64)],
    /// Spot borrows, tokens per asset.
    pub liabilities: &'a [(AssetIdx, f64)],
    /// Settled USD (realised PnL, fees, liquidation proceeds).
    pub cash: f64,
    pub perps: &'a [PerpPos],
    pub options: &'a [OptPos],
}

/// The scenario grid of portfolio margin (docs/clearinghouse.md#portfolio-margin): price moves × volatility shocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Relative moves of the underlying, e.g. −0.15, −0.10, …, +0.15.
    pub moves: Vec<f64>,
    /// Volatility factors `1 − v, 1, 1 + v` (only `1` when `v = 0`).
    pub vol_factors: Vec<f64>,
}

impl Grid {
    /// `price_steps` moves evenly spaced over `[−underlying_moves, +underlying_moves]`, times the
    /// volatility factors.
    pub fn new(underlying_moves: f64, price_steps: u32, vol_shock: f64) -> Grid {
        let n = price_steps.max(1) as usize;
        let moves = if n == 1 {
            vec![0.0]
        } else {
            (0..n)
                .map(|i| -underlying_moves + 2.0 * underlying_moves * i as f64 / (n - 1) as f64)
                .collect()
        };
        let vol_factors = if vol_shock > 0.0 {
            vec![1.0 - vol_shock, 1.0, 1.0 + vol_shock]
        } else {
            vec![1.0]
        };
        Grid { moves, vol_factors }
    }
    /// Number of scenarios.
    pub fn len(&self) -> usize {
        self.moves.len() * self.vol_factors.len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Scenario `g` as (move, volatility factor).
    pub fn point(&self, g: usize) -> (f64, f64) {
        let nv = self.vol_factors.len();
        (self.moves[g / nv], self.vol_factors[g % nv])
    }
}

/// What one round's prices give every account: marks, option spots and volatilities, and each
/// series' value at the base point and at every grid point.
#[derive(Debug, Clone)]
pub struct Valuation {
    /// System USD prices (collateral and liabilities).
    pub prices: Vec<f64>,
    /// Oracle mark per market.
    pub marks: Vec<f64>,
    /// The underlying price options see, per asset (a market's oracle where one exists).
    pub option_spot: Vec<f64>,
    /// The asset every asset's price derives from (itself when exogenous): the grid's revaluation key.
    pub root: Vec<AssetIdx>,
    pub grid: Grid,
    /// `values[j]` = series j's value per option at the base point.
    pub values: Vec<f64>,
    /// `grid_values[j·G + g]` = series j's value at grid point g.
    pub grid_values: Vec<f64>,
}

/// The per-asset smile used for `underlying`, with the scenario's volatility multiplier applied.
pub fn smile_of(params: &ClearinghouseParams, underlying: AssetIdx, vol_mult: f64) -> Smile {
    match params.options.smile_of(underlying) {
        Some(s) => Smile {
            atm: s.atm * vol_mult,
            skew: s.skew * vol_mult,
            curvature: s.curvature * vol_mult,
        },
        None => Smile::flat(0.0),
    }
}

/// Series `s`'s Black-76 terms at spot `spot`: its kind, years to expiry `T`, and the smile's
/// volatility at its strike, `σ(ln(K/F))` with `F = S·e^{rT}` (the scenario's multiplier applied).
pub fn series_terms(
    s: &Series,
    params: &ClearinghouseParams,
    vol_mult: f64,
    spot: f64,
) -> (OptionType, f64, f64) {
    let t = s.expiry_days / DAYS_PER_YEAR;
    let fwd = spot * (params.options.rate * t).exp();
    let vol = smile_of(params, s.underlying, vol_mult).vol(s.strike, fwd);
    (s.kind, t, vol)
}

/// Series j's value per option at spot `spot` and volatility factor `vf`: Black-76 on the forward
/// `F = S·e^{rT}` with the smile's `σ(ln(K/F))·vf`.
pub fn series_value(
    s: &Series,
    params: &ClearinghouseParams,
    vol_mult: f64,
    spot: f64,
    vf: f64,
) -> f64 {
    let (kind, t, vol) = series_terms(s, params, vol_mult, spot);
    black76_price(&OptionSpec {
        kind,
        spot,
        strike: s.strike,
        rate: params.options.rate,
        vol: vol * vf,
        t_years: t,
    })
}

/// Series j's Greeks per option at the base point (for explanations).
pub fn series_greeks(
    s: &Series,
    params: &ClearinghouseParams,
    vol_mult: f64,
    spot: f64,
) -> crate::options::Greeks {
    let (kind, t, vol) = series_terms(s, params, vol_mult, spot);
    match OptionSpec::new(kind, spot, s.strike, params.options.rate, vol, t) {
        Ok(spec) => black76(&spec),
        Err(_) => crate::options::Greeks::default(),
    }
}

impl Valuation {
    /// Values every series at the base point and on the grid.
    pub fn new(
        params: &ClearinghouseParams,
        prices: Vec<f64>,
        marks: Vec<f64>,
        option_spot: Vec<f64>,
        root: Vec<AssetIdx>,
        vol_mult: &[f64],
        series: &[Series],
    ) -> Valuation {
        let o = &params.options;
        let grid = Grid::new(o.underlying_moves, o.price_steps, o.vol_shock);
        let g = grid.len();
        let mut values = Vec::with_capacity(series.len());
        let mut grid_values = Vec::with_capacity(series.len() * g);
        for s in series {
            let spot = option_spot[s.underlying];
            let vm = vol_mult[s.underlying];
            values.push(series_value(s, params, vm, spot, 1.0));
            for k in 0..g {
                let (m, vf) = grid.point(k);
                grid_values.push(series_value(s, params, vm, spot * (1.0 + m), vf));
            }
        }
        Valuation {
            prices,
            marks,
            option_spot,
            root,
            grid,
            values,
            grid_values,
        }
    }
}

/// The ratio `r` for a position of `size` tokens with Drift's size premium:
/// `min(1, max(r, 0.8·r + imf·√|size|))`, or `r` when `imf = 0`.
pub fn size_adjusted_ratio(r: f64, imf_factor: f64, size: f64) -> f64 {
    if imf_factor > 0.0 {
        r.max(SIZE_PREMIUM_BASE_SHARE * r + imf_factor * size.abs().sqrt())
            .min(1.0)
    } else {
        r
    }
}

/// An account's margin at one set of prices.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Health {
    /// `cash + C_I − L_I + pnl_I + O`, USD.
    pub equity_initial: f64,
    /// `cash + C_M − L_M + pnl_M + O`, USD.
    pub equity_maintenance: f64,
    /// Initial requirement, USD.
    pub im: f64,
    /// Maintenance requirement, USD.
    pub mm: f64,
    /// Unweighted value: `cash + Σc·p − Σd·p + ΣPnL + O`, USD (what is left if everything closes at
    /// the marks).
    pub net_value: f64,
    /// Σ unrealised perp PnL at the marks, USD.
    pub unrealised_pnl: f64,
    /// Σ option values, USD.
    pub options_value: f64,
    /// Portfolio margin: the binding scenario (underlying, move, volatility factor).
    pub binding: Option<(AssetIdx, f64, f64)>,
}

impl Health {
    /// Maintenance health `E_M − MM`; below 0 the account is liquidated.
    pub fn maintenance(&self) -> f64 {
        self.equity_maintenance - self.mm
    }
    /// Margin ratio `E_M / MM`: below 1 exactly when [`Health::maintenance`] is negative. With no
    /// requirement (`MM = 0`) it is ∞ for `E_M ≥ 0` and 0 below.
    pub fn margin_ratio(&self) -> f64 {
        if self.mm > 0.0 {
            self.equity_maintenance / self.mm
        } else if self.equity_maintenance >= 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    }
    /// Initial health `E_I − IM`: what may still be opened or borrowed, USD of weighted value.
    pub fn initial(&self) -> f64 {
        self.equity_initial - self.im
    }
}

fn pnl_weighted(pnl: f64, w: f64) -> f64 {
    if pnl > 0.0 {
        w * pnl
    } else {
        pnl
    }
}

/// Option position j's standalone requirement: its worst loss over the grid, a written option at
/// least `floor·|n|·S`.
pub fn option_requirement(
    p: &OptPos,
    series: &[Series],
    v: &Valuation,
    params: &ClearinghouseParams,
) -> f64 {
    let g = v.grid.len();
    let base = v.values[p.series];
    let row = &v.grid_values[p.series * g..(p.series + 1) * g];
    let worst = row.iter().map(|x| -p.size * (x - base)).fold(0.0, f64::max);
    if p.size < 0.0 {
        let spot = v.option_spot[series[p.series].underlying];
        worst.max(params.options.floor * p.size.abs() * spot)
    } else {
        worst
    }
}

/// The margin of `book` at valuation `v` (the formulas are in the module's documentation).
pub fn health(
    book: &Book,
    params: &ClearinghouseParams,
    series: &[Series],
    v: &Valuation,
) -> Health {
    let p = &v.prices;
    let mut h = Health {
        equity_initial: book.cash,
        equity_maintenance: book.cash,
        net_value: book.cash,
        ..Health::default()
    };
    for &(a, q) in book.collateral {
        let usd = q * p[a];
        h.net_value += usd;
        if let Some(w) = params.collateral_of(a) {
            h.equity_initial += usd * w.initial_weight;
            h.equity_maintenance += usd * w.maintenance_weight;
        }
    }
    for &(a, q) in book.liabilities {
        let usd = q * p[a];
        h.net_value -= usd;
        let (wi, wm) = params
            .liability_of(a)
            .map_or((1.0, 1.0), |w| (w.initial_weight, w.maintenance_weight));
        h.equity_initial -= usd * wi;
        h.equity_maintenance -= usd * wm;
    }
    let mut gross = 0.0;
    let (mut perp_im, mut perp_mm) = (0.0, 0.0);
    for k in book.perps {
        let m = &params.markets[k.market];
        let mark = v.marks[k.market];
        let pnl = k.size * (mark - k.entry_price);
        h.unrealised_pnl += pnl;
        h.equity_initial += pnl_weighted(pnl, params.pnl_initial_weight);
        h.equity_maintenance += pnl_weighted(pnl, params.pnl_maintenance_weight);
        let notional = k.size.abs() * mark;
        gross += notional;
        perp_im += notional * size_adjusted_ratio(m.imr, m.imf_factor, k.size);
        perp_mm += notional * size_adjusted_ratio(m.mmr, m.imf_factor, k.size);
    }
    let mut opt_req = 0.0;
    for o in book.options {
        let val = o.size * v.values[o.series];
        h.options_value += val;
        gross += o.size.abs() * v.option_spot[series[o.series].underlying];
        if book.mode != MarginMode::Portfolio {
            opt_req += option_requirement(o, series, v, params);
        }
    }
    h.net_value += h.unrealised_pnl + h.options_value;
    h.equity_initial += h.options_value;
    h.equity_maintenance += h.options_value;
    let mult = params.options.initial_multiplier;
    match book.mode {
        MarginMode::Cross | MarginMode::Isolated => {
            h.mm = perp_mm + opt_req;
            h.im = perp_im + mult * opt_req;
        }
        MarginMode::Portfolio => {
            let (worst, binding) = portfolio_requirement(book, params, series, v);
            h.mm = worst.max(params.options.floor * gross);
            h.binding = binding;
            h.im = mult * h.mm;
        }
    }
    h
}

/// The underlyings a book's derivatives are on (their price roots), in first-seen order.
pub fn book_underlyings(
    book: &Book,
    params: &ClearinghouseParams,
    series: &[Series],
    v: &Valuation,
) -> Vec<AssetIdx> {
    let mut us: Vec<AssetIdx> = Vec::new();
    let roots = book
        .perps
        .iter()
        .map(|k| v.root[params.markets[k.market].underlying])
        .chain(
            book.options
                .iter()
                .map(|o| v.root[series[o.series].underlying]),
        );
    for u in roots {
        if !us.contains(&u) {
            us.push(u);
        }
    }
    us
}

/// The fall in maintenance equity of `book` in grid scenario `g` on underlying root `u` (USD; > 0 is a
/// loss).
pub fn scenario_loss(
    book: &Book,
    params: &ClearinghouseParams,
    series: &[Series],
    v: &Valuation,
    u: AssetIdx,
    g: usize,
) -> f64 {
    let (m, _) = v.grid.point(g);
    let gl = v.grid.len();
    let p = &v.prices;
    let mut delta = 0.0;
    for &(a, q) in book.collateral {
        if v.root[a] == u {
            let w = params
                .collateral_of(a)
                .map_or(0.0, |w| w.maintenance_weight);
            delta += q * p[a] * w * m;
        }
    }
    for &(a, q) in book.liabilities {
        if v.root[a] == u {
            let w = params.liability_of(a).map_or(1.0, |w| w.maintenance_weight);
            delta -= q * p[a] * w * m;
        }
    }
    let wp = params.pnl_maintenance_weight;
    for k in book.perps {
        if v.root[params.markets[k.market].underlying] == u {
            let mark = v.marks[k.market];
            let now = k.size * (mark - k.entry_price);
            let then = k.size * (mark * (1.0 + m) - k.entry_price);
            delta += pnl_weighted(then, wp) - pnl_weighted(now, wp);
        }
    }
    for o in book.options {
        if v.root[series[o.series].underlying] == u {
            delta += o.size * (v.grid_values[o.series * gl + g] - v.values[o.series]);
        }
    }
    -delta
}

/// Portfolio margin's requirement before the floor: `Σ_u max(0, max_g loss_u(g))`, and the scenario
/// that binds (the largest single-underlying loss).
pub fn portfolio_requirement(
    book: &Book,
    params: &ClearinghouseParams,
    series: &[Series],
    v: &Valuation,
) -> (f64, Option<(AssetIdx, f64, f64)>) {
    let mut total = 0.0;
    let mut binding: Option<(AssetIdx, f64, f64)> = None;
    let mut binding_loss = 0.0;
    for u in book_underlyings(book, params, series, v) {
        let mut worst = 0.0;
        let mut at = None;
        for g in 0..v.grid.len() {
            let l = scenario_loss(book, params, series, v, u, g);
            if l > worst {
                worst = l;
                at = Some(g);
            }
        }
        total += worst;
        if let Some(g) = at {
            if worst > binding_loss {
                binding_loss = worst;
                let (m, vf) = v.grid.point(g);
                binding = Some((u, m, vf));
            }
        }
    }
    (total, binding)
}
