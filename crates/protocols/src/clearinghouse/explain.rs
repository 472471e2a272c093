//! Why an account needs the margin it needs (`cascade margin --account ID`): every leg's value and
//! requirement, every option's Greeks, the account's net Greeks per underlying, and the scenario grid
//! with the scenario that binds and each leg's part of its loss.

use cascade_model::{AssetIdx, MarginMode, OptionType};

use super::margin::{
    option_requirement, scenario_loss, series_greeks, series_terms, size_adjusted_ratio, Book,
    Health, Valuation,
};
use super::Clearinghouse;

/// A leg of a book: what a line of the explanation is about.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Leg {
    Collateral(AssetIdx),
    Liability(AssetIdx),
    /// Index into the book's perps.
    Perp(usize),
    /// Index into the book's options.
    Option(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpotLine {
    pub asset: AssetIdx,
    pub tokens: f64,
    pub price_usd: f64,
    pub initial_weight: f64,
    pub maintenance_weight: f64,
    pub value_usd: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PerpLine {
    pub market: String,
    pub underlying: AssetIdx,
    pub size: f64,
    pub entry_price: f64,
    pub mark: f64,
    pub pnl_usd: f64,
    pub notional_usd: f64,
    /// Ratios after the size premium.
    pub imr: f64,
    pub mmr: f64,
    pub im_usd: f64,
    pub mm_usd: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OptionLine {
    pub underlying: AssetIdx,
    pub kind: OptionType,
    pub strike: f64,
    pub expiry_days: f64,
    pub size: f64,
    pub spot: f64,
    /// Implied volatility from the smile at this strike.
    pub vol: f64,
    /// Position value `n·V`, USD.
    pub value_usd: f64,
    /// Position Greeks: `n·∂V/∂S` (tokens), `n·∂²V/∂S²`, `n·∂V/∂σ` (USD per unit vol), `n·θ` (USD/year).
    pub delta: f64,
    pub gamma: f64,
    pub vega: f64,
    pub theta: f64,
    /// The position's own worst grid loss (a written option at least the floor), USD.
    pub requirement_usd: f64,
}

/// Net Greeks of an account on one underlying: perps count `size` to delta, spot legs priced from
/// the underlying count their token exposure.
#[derive(Debug, Clone, PartialEq)]
pub struct NetGreeks {
    pub underlying: AssetIdx,
    pub delta: f64,
    pub gamma: f64,
    pub vega: f64,
    pub theta: f64,
}

/// The scenario grid on one underlying.
#[derive(Debug, Clone, PartialEq)]
pub struct GridLine {
    pub underlying: AssetIdx,
    /// (move, volatility factor, loss USD) per scenario.
    pub losses: Vec<(f64, f64, f64)>,
    /// The worst scenario: (move, volatility factor, loss USD).
    pub worst: (f64, f64, f64),
    /// Each leg's part of the worst scenario's loss, USD (they sum to it).
    pub contributions: Vec<(Leg, f64)>,
}

/// The whole explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub account: String,
    pub mode: MarginMode,
    pub health: Health,
    pub collateral: Vec<SpotLine>,
    pub liabilities: Vec<SpotLine>,
    pub perps: Vec<PerpLine>,
    pub options: Vec<OptionLine>,
    pub greeks: Vec<NetGreeks>,
    pub grid: Vec<GridLine>,
}

impl Clearinghouse {
    /// Explains local account `k` at valuation `v`.
    pub fn explain(&self, k: usize, v: &Valuation) -> Explanation {
        let book = self.book(k);
        let params = &self.params;
        let health = super::margin::health(&book, params, &self.series, v);
        let spot = |list: &[(AssetIdx, f64)], liability: bool| -> Vec<SpotLine> {
            list.iter()
                .map(|&(a, q)| {
                    let (wi, wm) = if liability {
                        params
                            .liability_of(a)
                            .map_or((1.0, 1.0), |w| (w.initial_weight, w.maintenance_weight))
                    } else {
                        params
                            .collateral_of(a)
                            .map_or((0.0, 0.0), |w| (w.initial_weight, w.maintenance_weight))
                    };
                    SpotLine {
                        asset: a,
                        tokens: q,
                        price_usd: v.prices[a],
                        initial_weight: wi,
                        maintenance_weight: wm,
                        value_usd: q * v.prices[a],
                    }
                })
                .collect()
        };
        let perps = book
            .perps
            .iter()
            .map(|p| {
                let m = &params.markets[p.market];
                let mark = v.marks[p.market];
                let notional = p.size.abs() * mark;
                let imr = size_adjusted_ratio(m.imr, m.imf_factor, p.size);
                let mmr = size_adjusted_ratio(m.mmr, m.imf_factor, p.size);
                PerpLine {
                    market: m.id.clone(),
                    underlying: m.underlying,
                    size: p.size,
                    entry_price: p.entry_price,
                    mark,
                    pnl_usd: p.size * (mark - p.entry_price),
                    notional_usd: notional,
                    imr,
                    mmr,
                    im_usd: notional * imr,
                    mm_usd: notional * mmr,
                }
            })
            .collect();
        let options: Vec<OptionLine> = book
            .options
            .iter()
            .map(|o| {
                let s = &self.series[o.series];
                let spot = v.option_spot[s.underlying];
                let vm = self.vol_mult[s.underlying];
                let (_, _, vol) = series_terms(s, params, vm, spot);
                let g = series_greeks(s, params, vm, spot);
                OptionLine {
                    underlying: s.underlying,
                    kind: s.kind,
                    strike: s.strike,
                    expiry_days: s.expiry_days,
                    size: o.size,
                    spot,
                    vol,
                    value_usd: o.size * v.values[o.series],
                    delta: o.size * g.delta,
                    gamma: o.size * g.gamma,
                    vega: o.size * g.vega,
                    theta: o.size * g.theta,
                    requirement_usd: option_requirement(o, &self.series, v, params),
                }
            })
            .collect();
        let underlyings = super::margin::book_underlyings(&book, params, &self.series, v);
        let greeks = underlyings
            .iter()
            .map(|&u| net_greeks(&book, self, v, &options, u))
            .collect();
        let grid = underlyings
            .iter()
            .map(|&u| grid_line(&book, self, v, u))
            .collect();
        Explanation {
            account: self.names[k].clone(),
            mode: book.mode,
            health,
            collateral: spot(book.collateral, false),
            liabilities: spot(book.liabilities, true),
            perps,
            options,
            greeks,
            grid,
        }
    }
}

fn net_greeks(
    book: &Book,
    ch: &Clearinghouse,
    v: &Valuation,
    options: &[OptionLine],
    u: AssetIdx,
) -> NetGreeks {
    let mut g = NetGreeks {
        underlying: u,
        delta: 0.0,
        gamma: 0.0,
        vega: 0.0,
        theta: 0.0,
    };
    let pu = v.prices[u];
    for &(a, q) in book.collateral {
        if v.root[a] == u && pu > 0.0 {
            g.delta += q * v.prices[a] / pu;
        }
    }
    for &(a, q) in book.liabilities {
        if v.root[a] == u && pu > 0.0 {
            g.delta -= q * v.prices[a] / pu;
        }
    }
    for p in book.perps {
        if v.root[ch.params.markets[p.market].underlying] == u {
            g.delta += p.size;
        }
    }
    for o in options {
        if v.root[o.underlying] == u {
            g.delta += o.delta;
            g.gamma += o.gamma;
            g.vega += o.vega;
            g.theta += o.theta;
        }
    }
    g
}

fn grid_line(book: &Book, ch: &Clearinghouse, v: &Valuation, u: AssetIdx) -> GridLine {
    let params = &ch.params;
    let mut losses = Vec::with_capacity(v.grid.len());
    let mut worst = (0.0, 1.0, f64::NEG_INFINITY);
    let mut worst_g = 0;
    for g in 0..v.grid.len() {
        let l = scenario_loss(book, params, &ch.series, v, u, g);
        let (m, vf) = v.grid.point(g);
        losses.push((m, vf, l));
        if l > worst.2 {
            worst = (m, vf, l);
            worst_g = g;
        }
    }
    // Each leg alone, at the worst scenario: the loss is a sum over legs.
    let mut contributions = Vec::new();
    let empty_spot: &[(AssetIdx, f64)] = &[];
    for (i, c) in book.collateral.iter().enumerate() {
        let one = Book {
            collateral: std::slice::from_ref(c),
            liabilities: empty_spot,
            perps: &[],
            options: &[],
            ..*book
        };
        if v.root[c.0] == u {
            contributions.push((
                Leg::Collateral(book.collateral[i].0),
                scenario_loss(&one, params, &ch.series, v, u, worst_g),
            ));
        }
    }
    for l in book.liabilities.iter() {
        let one = Book {
            collateral: empty_spot,
            liabilities: std::slice::from_ref(l),
            perps: &[],
            options: &[],
            ..*book
        };
        if v.root[l.0] == u {
            contributions.push((
                Leg::Liability(l.0),
                scenario_loss(&one, params, &ch.series, v, u, worst_g),
            ));
        }
    }
    for (i, p) in book.perps.iter().enumerate() {
        let one = Book {
            collateral: empty_spot,
            liabilities: empty_spot,
            perps: std::slice::from_ref(p),
            options: &[],
            ..*book
        };
        if v.root[params.markets[p.market].underlying] == u {
            contributions.push((
                Leg::Perp(i),
                scenario_loss(&one, params, &ch.series, v, u, worst_g),
            ));
        }
    }
    for (i, o) in book.options.iter().enumerate() {
        let one = Book {
            collateral: empty_spot,
            liabilities: empty_spot,
            perps: &[],
            options: std::slice::from_ref(o),
            ..*book
        };
        if v.root[ch.series[o.series].underlying] == u {
            contributions.push((
                Leg::Option(i),
                scenario_loss(&one, params, &ch.series, v, u, worst_g),
            ));
        }
    }
    GridLine {
        underlying: u,
        losses,
        worst,
        contributions,
    }
}
