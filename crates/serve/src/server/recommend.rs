//! The risk adjuster's live recommendations on `/metrics` (docs/adjuster.md#live-recommendations).

use super::{lock, metrics, AppState};

/// The live recommendations (docs/adjuster.md#live-recommendations): per asset with two prices
/// applied since the start, its EWMA volatility; per collateral reserve of a lending protocol on
/// such an asset, the haircut, LT and LTV targets (no price impact, the reserve's LT − LTV spread).
pub(super) fn render(state: &AppState, out: &mut String) {
    let a = state.config.adjuster;
    let per_year = cascade_volatility::series::SECONDS_PER_YEAR / a.update_period_seconds;
    // The live state's lock is taken before the EWMA's by the writer: never the other way here.
    let n = state.live().system().assets.len();
    let sigma: Vec<Option<f64>> = {
        let r = lock(&state.recommend);
        (0..n).map(|i| r.sigma_annual(i, per_year)).collect()
    };
    let live = state.live();
    let snap = live.system();
    for (i, s) in sigma.iter().enumerate() {
        if let Some(s) = s {
            let asset = snap.assets[i].id.as_str();
            metrics::sample(
                out,
                "cascade_recommended_volatility",
                &[("asset", asset)],
                *s,
            );
        }
    }
    for p in &snap.protocols {
        let Some(l) = p.lending() else { continue };
        for r in &l.reserves {
            let Some(s) = sigma[r.asset] else { continue };
            if !r.collateral_enabled || r.liquidation_threshold <= 0.0 {
                continue;
            }
            let (h, lt, ltv) = cascade_volatility::adjust::online::collateral_targets(
                s,
                a.days,
                a.confidence,
                0.0,
                r.liquidation_bonus,
                r.liquidation_threshold - r.ltv,
            );
            let labels = [
                ("protocol", p.id.as_str()),
                ("asset", snap.assets[r.asset].id.as_str()),
            ];
            metrics::sample(out, "cascade_recommended_haircut", &labels, h);
            metrics::sample(
                out,
                "cascade_recommended_liquidation_threshold",
                &labels,
                lt,
            );
            metrics::sample(out, "cascade_recommended_ltv", &labels, ltv);
        }
    }
}
