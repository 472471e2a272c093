//! The report of a Monte Carlo run (`cascade simulate --report`, docs/monte-carlo.md#outputs): the system
//! loss distribution with VaR and ES marked, figures per protocol with their intervals, and the worst
//! path re-run in full.

use cascade_engine::trace::fmt_usd;
use cascade_engine::{Options, StressResult};
use cascade_model::Snapshot;
use cascade_risk::metrics::Estimate;
use cascade_risk::paths::{Dist, PathError, PathModel};
use cascade_risk::simulate::{Figures, Simulation};

use crate::charts::{trim_decimals, with_unit, WIDTH};
use crate::html::{escape_html, page, section_html, Level, Section};
use crate::loss::loss_distribution_svg;
use crate::stress::{parts, run_line, PartStyle};

/// The path with the largest loss of a simulation, re-run with every detail.
#[derive(Debug, Clone, PartialEq)]
pub struct WorstPath {
    /// Its index in the simulation (its random stream).
    pub path: u64,
    /// Its loss (insolvent debt), USD, as the simulation measured it.
    pub loss_usd: f64,
    /// The full run of its scenario, named `worst path (N)`.
    pub result: StressResult,
}

/// Re-runs the path of `sim` with the largest loss (the last of equal ones) through the cascade with
/// every detail (prices, liquidations by round, trace), from the same random stream — so its figures
/// are the simulation's. `Ok(None)` when the simulation has no path.
///
/// # Errors
/// [`PathError`] when the simulation's spec no longer builds a path model on `snapshot` (a snapshot
/// other than the simulated one).
pub fn worst_path(snapshot: &Snapshot, sim: &Simulation) -> Result<Option<WorstPath>, PathError> {
    let Some(worst) = sim
        .paths
        .iter()
        .max_by(|a, b| a.loss_usd.total_cmp(&b.loss_usd))
    else {
        return Ok(None);
    };
    let spec = &sim.spec;
    let model = PathModel::new(snapshot, spec.horizon_days, spec.dist, spec.jumps.clone())?;
    let draw = model.draw(spec.seed, worst.path, spec.antithetic);
    let scenario = model.scenario(
        &draw,
        format!("worst path ({})", worst.path),
        spec.max_rounds,
    );
    let options = Options {
        breakers: spec.breakers,
        detail: true,
        ..Options::default()
    };
    Ok(Some(WorstPath {
        path: worst.path,
        loss_usd: worst.loss_usd,
        result: cascade_engine::run_with(snapshot, &scenario, &options),
    }))
}

/// A self-contained HTML report of a Monte Carlo run of `snapshot`: the system loss per path as a
/// histogram with a marker per VaR and ES level, a table of figures for the system and each protocol
/// (P(loss > 0), mean loss, VaR and ES at each level with their 95% intervals, LaR 95%), then the worst
/// path re-run in full: its summary, bad debt, price paths, liquidations by round and trace
/// ([`worst_path`]).
///
/// Every text taken from the input is escaped; the page has no script and loads nothing.
pub fn simulation_report_html(snapshot: &Snapshot, sim: &Simulation) -> String {
    let spec = &sim.spec;
    let system = sim.system();
    let var: Vec<(String, f64)> = system
        .var
        .iter()
        .map(|(a, e)| (level(*a), e.value))
        .collect();
    let es: Vec<(String, f64)> = system
        .es
        .iter()
        .map(|(a, e)| (level(*a), e.value))
        .collect();
    let losses: Vec<f64> = sim.paths.iter().map(|p| p.loss_usd).collect();
    let figures = std::iter::once(("system".to_string(), system.clone())).chain(
        sim.protocols
            .iter()
            .enumerate()
            .map(|(k, id)| (id.clone(), sim.protocol(k))),
    );
    let distribution = match spec.dist {
        Dist::Normal => "normal shocks".to_string(),
        Dist::StudentT { dof } => format!("Student-t shocks ({} degrees of freedom)", dof),
    };
    let meta = vec![
        format!(
            "Snapshot <b>{}</b> ({})",
            escape_html(&snapshot.name),
            escape_html(&snapshot.source)
        ),
        escape_html(&format!(
            "{} paths over {} day{}, {distribution}{}{}, seed {} · circuit breakers {}",
            sim.paths.len(),
            trim_decimals(spec.horizon_days),
            if spec.horizon_days == 1.0 { "" } else { "s" },
            match spec.jumps.len() {
                0 => String::new(),
                1 => ", 1 jump event".to_string(),
                n => format!(", {n} jump events"),
            },
            if spec.antithetic { ", antithetic" } else { "" },
            spec.seed,
            if spec.breakers { "on" } else { "off" },
        )),
    ];
    let mut body = vec![section_html(
        &Section::new("Loss distribution")
            .with_text(format!(
                "{} paths over {} day(s), seed {}. Loss = insolvent debt (bad debt + final shortfall), \
                 USD. Each figure has its 95% interval under it.",
                sim.paths.len(),
                trim_decimals(spec.horizon_days),
                spec.seed
            ))
            .with_svg(loss_distribution_svg(
                &losses,
                &var,
                &es,
                "System loss per path",
            ))
            .with_table(figures_table(&system, figures)),
    )];
    body.push(worst_path_html(snapshot, sim));
    page(&format!("Monte Carlo: {}", snapshot.name), &meta, &body)
}

/// `0.95` → `95%`, `0.999` → `99.9%`.
fn level(alpha: f64) -> String {
    format!("{}%", trim_decimals(100.0 * alpha))
}

/// Header and one row per (name, figures): each estimate over its interval, compact.
fn figures_table(
    system: &Figures,
    rows: impl Iterator<Item = (String, Figures)>,
) -> Vec<Vec<String>> {
    let mut header = vec![String::new(), "P(loss > 0)".into(), "mean".into()];
    for (a, _) in &system.var {
        header.push(format!("VaR {}", level(*a)));
        header.push(format!("ES {}", level(*a)));
    }
    header.push("LaR 95%".into());
    let mut out = vec![header];
    for (id, f) in rows {
        let mut row = vec![
            id,
            format!(
                "{:.2}%\n[{:.2}, {:.2}]",
                100.0 * f.p_bad_debt.value,
                100.0 * f.p_bad_debt.ci[0],
                100.0 * f.p_bad_debt.ci[1]
            ),
            compact_usd(f.mean_loss_usd),
        ];
        for ((_, v), (_, e)) in f.var.iter().zip(&f.es) {
            row.push(with_interval(v));
            row.push(with_interval(e));
        }
        row.push(with_interval(&f.lar_95));
        out.push(row);
    }
    out
}

/// `$1.23M` over `[$1.10M, $1.40M]` (two lines of one cell).
fn with_interval(e: &Estimate) -> String {
    format!(
        "{}\n[{}, {}]",
        compact_usd(e.value),
        compact_usd(e.ci[0]),
        compact_usd(e.ci[1])
    )
}

/// A USD amount in three significant digits: `$0`, `$9.50`, `$950`, `$12.3k`, `$1.23M`, `$123M`,
/// `$4.56B`, `$7.89T`; from `1e15` in scientific notation; `n/a` when not finite.
pub(crate) fn compact_usd(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".into();
    }
    let sign = if x < 0.0 { "−" } else { "" };
    let a = x.abs();
    if a == 0.0 {
        return "$0".into();
    }
    if a >= 1e15 {
        return format!("{sign}${a:.2e}");
    }
    // Round to three significant digits first, so 999,999 reads `$1.00M`, not `$1000k`.
    let digits = a.log10().floor() as i32;
    let r = {
        let m = 10f64.powi(2 - digits);
        (a * m).round() / m
    };
    let (v, unit) = with_unit(r);
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{sign}${v:.decimals$}{unit}")
}

/// The worst path's section: what it lost, then its stress report's sections under `h3` headings.
fn worst_path_html(snapshot: &Snapshot, sim: &Simulation) -> String {
    let s = Section::new("The worst path");
    let w = match worst_path(snapshot, sim) {
        Ok(Some(w)) => w,
        Ok(None) => return section_html(&s.with_text("No path was simulated.")),
        Err(e) => {
            return section_html(&s.with_text(format!("The worst path could not be re-run: {e}.")))
        }
    };
    let mut o = section_html(&s.with_text(format!(
        "Path {} lost {}; its cascade in full follows.",
        w.path,
        fmt_usd(w.loss_usd)
    )));
    // The section closes before the re-run's own sections, which follow as its subsections.
    o.push_str(&format!("<p class=\"meta\">{}</p>\n", run_line(&w.result)));
    let style = PartStyle {
        level: Level::H3,
        width: WIDTH,
        suffix: "",
    };
    for (_, html) in parts(snapshot, &w.result, style) {
        o.push_str(&html);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_amounts() {
        assert_eq!(compact_usd(0.0), "$0");
        assert_eq!(compact_usd(9.5), "$9.50");
        assert_eq!(compact_usd(950.0), "$950");
        assert_eq!(compact_usd(12_345.0), "$12.3k");
        assert_eq!(compact_usd(999_999.0), "$1.00M");
        assert_eq!(compact_usd(1_234_567.0), "$1.23M");
        assert_eq!(compact_usd(123_456_789.0), "$123M");
        assert_eq!(compact_usd(-4.561e9), "−$4.56B");
        assert_eq!(compact_usd(7.891e12), "$7.89T");
        assert_eq!(compact_usd(1.7e308), "$1.70e308");
        assert_eq!(compact_usd(f64::NAN), "n/a");
    }

    #[test]
    fn levels() {
        assert_eq!(level(0.95), "95%");
        assert_eq!(level(0.999), "99.9%");
        assert_eq!(level(0.975), "97.5%");
    }
}
