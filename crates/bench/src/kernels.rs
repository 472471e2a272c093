//! Workloads of the derivatives kernels (docs/clearinghouse.md#options-and-black-76), each landing with its issue: Black-76 price and
//! Greeks, and the portfolio-margin grid ([`portfolio_margin`]).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use cascade_model::OptionType;
use cascade_protocols::options::{black76_batch, payoff_sign, Greeks};

use crate::npy::write_npy;
use crate::suite::{Measurement, Settings};
use crate::timing::measure;
use crate::BenchError;
use cascade_model::units::fmt_count;

/// Seeded option inputs: pairs (call, put) on the same terms, so put–call parity checks the output.
/// Spot 2,000; strike `U(0.5, 1.5)·spot`; rate `U(0, 0.08)`; vol `U(0.2, 1.2)`; `t_years`
/// `U(1/365, 2)`.
pub struct OptionBatch {
    pub kind: Vec<OptionType>,
    pub spot: Vec<f64>,
    pub strike: Vec<f64>,
    pub rate: Vec<f64>,
    pub vol: Vec<f64>,
    pub t_years: Vec<f64>,
}

impl OptionBatch {
    /// `n` options (rounded up to an even count), seeded.
    pub fn generate(n: usize, seed: u64) -> OptionBatch {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let pairs = n.div_ceil(2);
        let mut b = OptionBatch {
            kind: Vec::with_capacity(2 * pairs),
            spot: Vec::with_capacity(2 * pairs),
            strike: Vec::with_capacity(2 * pairs),
            rate: Vec::with_capacity(2 * pairs),
            vol: Vec::with_capacity(2 * pairs),
            t_years: Vec::with_capacity(2 * pairs),
        };
        for _ in 0..pairs {
            let spot = 2000.0;
            let strike = spot * rng.random_range(0.5..1.5);
            let rate = rng.random_range(0.0..0.08);
            let vol = rng.random_range(0.2..1.2);
            let t = rng.random_range(1.0 / 365.0..2.0);
            for kind in [OptionType::Call, OptionType::Put] {
                b.kind.push(kind);
                b.spot.push(spot);
                b.strike.push(strike);
                b.rate.push(rate);
                b.vol.push(vol);
                b.t_years.push(t);
            }
        }
        b
    }

    pub fn len(&self) -> usize {
        self.kind.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kind.is_empty()
    }
}

/// Black-76 price + Greeks over a batch of options (docs/clearinghouse.md#options-and-black-76).
pub(crate) fn black76(settings: &Settings) -> Result<Option<Measurement>, BenchError> {
    let Settings {
        runs,
        judged,
        ref emit,
        sizes,
        seed,
    } = *settings;
    let b = OptionBatch::generate(sizes.options, seed + 20);
    let n = b.len();
    let mut out = vec![Greeks::default(); n];
    let (timing, ()) = measure(runs, || {
        black76_batch(
            &b.kind, &b.spot, &b.strike, &b.rate, &b.vol, &b.t_years, &mut out,
        )
    });
    // Checks: put–call parity C − P = S − K·e^{−rT}, delta_C − delta_P = 1, equal gammas and vegas;
    // prices at least the discounted intrinsic value.
    let mut worst_parity = 0.0f64;
    for i in (0..n).step_by(2) {
        let (c, p) = (&out[i], &out[i + 1]);
        let kd = b.strike[i] * (-b.rate[i] * b.t_years[i]).exp();
        let parity = ((c.price - p.price) - (b.spot[i] - kd)).abs() / b.spot[i];
        worst_parity = worst_parity.max(parity);
        let ok = parity <= 1e-9
            && (c.delta - p.delta - 1.0).abs() <= 1e-9
            && (c.gamma - p.gamma).abs() <= 1e-12 * c.gamma.abs().max(1e-300)
            && (c.vega - p.vega).abs() <= 1e-9 * c.vega.abs().max(1.0)
            && c.price >= (b.spot[i] - kd).max(0.0) - 1e-9 * b.spot[i]
            && p.price >= (kd - b.spot[i]).max(0.0) - 1e-9 * b.spot[i];
        if !ok {
            return Err(BenchError::Check {
                workload: "black76".into(),
                message: format!(
                    "option pair {i}: call {c:?}, put {p:?} break put–call parity or bounds"
                ),
            });
        }
    }
    if let Some(dir) = &emit {
        let cols: [(&str, Vec<f64>); 11] = [
            ("kind", b.kind.iter().map(|&k| payoff_sign(k)).collect()),
            ("spot", b.spot.clone()),
            ("strike", b.strike.clone()),
            ("rate", b.rate.clone()),
            ("vol", b.vol.clone()),
            ("t_years", b.t_years.clone()),
            ("price", out.iter().map(|g| g.price).collect()),
            ("delta", out.iter().map(|g| g.delta).collect()),
            ("gamma", out.iter().map(|g| g.gamma).collect()),
            ("vega", out.iter().map(|g| g.vega).collect()),
            ("theta", out.iter().map(|g| g.theta).collect()),
        ];
        for (name, v) in cols {
            let p = dir.join(format!("black76_{name}.npy"));
            write_npy(&p, &v, &[n]).map_err(|source| BenchError::Io {
                path: p.clone(),
                source,
            })?;
        }
    }
    let per_s = n as f64 / timing.median_s;
    Ok(Some(Measurement {
        bytes_per_run: Some((n * (6 * 8 + 5 * 8)) as f64),
        target: Some("≥ 20M options/s (≥ 10× QuantLib: judged with the peers)".into()),
        target_met: judged.then_some(per_s >= 20e6),
        checks: vec![
            "put–call parity (1e-9·S), delta_C − delta_P = 1, equal gamma and vega, prices ≥ discounted intrinsic".into(),
        ],
        details: json!({"worst_parity_error_relative_to_spot": worst_parity}),
        ..Measurement::new(
            "black76",
            "Black-76 price + Greeks (delta, gamma, vega, theta)",
            format!("{} options", fmt_count(n)),
            n as f64,
            "options",
            timing,
        )
    }))
}

/// Options per account of the portfolio-margin book, and its grid (21 moves × 3 vols).
const PM_OPTIONS_PER_ACCOUNT: usize = 10;
const PM_PRICE_STEPS: u32 = 21;
const PM_VOL_SHOCK: f64 = 0.3;

/// Portfolio margin (docs/clearinghouse.md#portfolio-margin): every account's requirement over the 21 × 3 grid of a generated
/// book of portfolio-margined accounts with 10 listed options each (`cascade_gen::clearinghouse_book`),
/// collateral revalued in each scenario, at snapshot prices. Checks: every requirement finite, at
/// least the floor, IM = multiplier × MM; and the first accounts' requirement recomputed directly —
/// each option revalued by `black76_price` in each scenario, without the series table — to 1e-9.
pub(crate) fn portfolio_margin(settings: &Settings) -> Result<Option<Measurement>, BenchError> {
    use cascade_protocols::clearinghouse::margin::series_terms;
    use cascade_protocols::clearinghouse::Clearinghouse;
    use cascade_protocols::options::{black76_price, OptionSpec};

    let Settings {
        runs,
        judged,
        sizes,
        seed,
        ..
    } = *settings;
    let check = |message: String| BenchError::Check {
        workload: "portfolio_margin".into(),
        message,
    };
    let mut s =
        cascade_gen::clearinghouse_book(sizes.pm_accounts, PM_OPTIONS_PER_ACCOUNT, seed + 30);
    let Some(pi) = s.protocols.iter().position(|p| p.clearinghouse().is_some()) else {
        return Err(check("the generated book has no clearinghouse".into()));
    };
    if let cascade_model::ProtocolParams::Clearinghouse(c) = &mut s.protocols[pi].params {
        c.options.price_steps = PM_PRICE_STEPS;
        c.options.vol_shock = PM_VOL_SHOCK;
    }
    let Some(params) = s.protocols[pi].clearinghouse() else {
        return Err(check("the generated book has no clearinghouse".into()));
    };
    let ch = Clearinghouse::new(&s, pi, params);
    let prices: Vec<f64> = (0..s.assets.len()).map(|a| s.reference_price(a)).collect();
    let (timing, hs) = measure(runs, || {
        let v = ch.valuation_at(&prices);
        ch.health_all(&v)
    });
    let p = ch.params();
    let mult = p.options.initial_multiplier;
    for (k, h) in hs.iter().enumerate() {
        let ok = h.mm.is_finite()
            && h.mm >= 0.0
            && (h.im - mult * h.mm).abs() <= 1e-9 * h.im.abs().max(1.0);
        if !ok {
            return Err(check(format!("account {k}: {h:?}")));
        }
    }
    // Direct recomputation for the first accounts: loss(g) = −Σ n·(V(S(1+m), σ·vf) − V(S, σ))
    // − Σ c·p·w·m (assets priced from the underlying) − Σ s·S·m (perps), worst over the grid.
    let v = ch.valuation_at(&prices);
    let grid = &v.grid;
    let mut worst_err = 0.0f64;
    for (k, hk) in hs.iter().enumerate().take(50) {
        let b = ch.book(k);
        let mut per_root: Vec<(usize, f64)> = Vec::new();
        for g in 0..grid.len() {
            let (m, vf) = grid.point(g);
            let mut loss_by_root: Vec<(usize, f64)> = Vec::new();
            let mut add =
                |root: usize, x: f64| match loss_by_root.iter_mut().find(|(r, _)| *r == root) {
                    Some((_, l)) => *l += x,
                    None => loss_by_root.push((root, x)),
                };
            for o in b.options {
                let se = &ch.series()[o.series];
                let spot = v.option_spot[se.underlying];
                let value = |s0: f64, f: f64| {
                    let (kind, t, vol) = series_terms(se, p, 1.0, s0);
                    black76_price(&OptionSpec {
                        kind,
                        spot: s0,
                        strike: se.strike,
                        rate: p.options.rate,
                        vol: vol * f,
                        t_years: t,
                    })
                };
                add(
                    v.root[se.underlying],
                    -o.size * (value(spot * (1.0 + m), vf) - value(spot, 1.0)),
                );
            }
            for pp in b.perps {
                let u = p.markets[pp.market].underlying;
                let mark = v.marks[pp.market];
                let w = p.pnl_maintenance_weight;
                let wt = |x: f64| if x > 0.0 { w * x } else { x };
                add(
                    v.root[u],
                    -(wt(pp.size * (mark * (1.0 + m) - pp.entry_price))
                        - wt(pp.size * (mark - pp.entry_price))),
                );
            }
            for &(a, q) in b.collateral {
                let w = p.collateral_of(a).map_or(0.0, |c| c.maintenance_weight);
                add(v.root[a], -q * prices[a] * w * m);
            }
            for (root, l) in loss_by_root {
                match per_root.iter_mut().find(|(r, _)| *r == root) {
                    Some((_, worst)) => *worst = worst.max(l),
                    None => per_root.push((root, l.max(0.0))),
                }
            }
        }
        // Only roots the book's derivatives are on count (collateral alone is not margined).
        let derivative_roots: Vec<usize> = b
            .options
            .iter()
            .map(|o| v.root[ch.series()[o.series].underlying])
            .chain(
                b.perps
                    .iter()
                    .map(|pp| v.root[p.markets[pp.market].underlying]),
            )
            .collect();
        let direct: f64 = per_root
            .iter()
            .filter(|(r, _)| derivative_roots.contains(r))
            .map(|(_, l)| l.max(0.0))
            .sum();
        let gross: f64 = b
            .options
            .iter()
            .map(|o| o.size.abs() * v.option_spot[ch.series()[o.series].underlying])
            .chain(b.perps.iter().map(|pp| pp.size.abs() * v.marks[pp.market]))
            .sum();
        let expected = direct.max(p.options.floor * gross);
        let err = (hk.mm - expected).abs() / expected.max(1.0);
        worst_err = worst_err.max(err);
        if err > 1e-9 {
            return Err(check(format!(
                "account {k}: requirement {} but the direct recomputation gives {expected}",
                hk.mm
            )));
        }
    }
    let n = hs.len();
    let median = timing.median_s;
    let full_size = n >= 100_000;
    Ok(Some(Measurement {
        target: Some("≤ 1 s for 100k accounts × 10 options".into()),
        target_met: (judged && full_size).then_some(median <= 1.0),
        checks: vec![
            "every requirement finite, ≥ 0, IM = multiplier × MM; the first 50 accounts recomputed option by option without the series table (1e-9)".into(),
        ],
        details: json!({"series": ch.series().len(), "grid_points": grid.len(), "worst_recomputation_error": worst_err}),
        ..Measurement::new("portfolio_margin", "portfolio margin, 21 × 3 grid, collateral revalued", format!(
            "{} accounts × {PM_OPTIONS_PER_ACCOUNT} options, {} series, 21 × 3 grid",
            fmt_count(n),
            fmt_count(ch.series().len())
        ), n as f64, "accounts", timing)
    }))
}
