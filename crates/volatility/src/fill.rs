//! A snapshot's volatilities and correlations from price history
//! (docs/volatility.md#filling-a-snapshot).
//!
//! For each snapshot asset with a series (matched by name, exact then ASCII case-insensitive), the
//! model forecasts the next period's variance `σ²` from the last `W` returns of the series and the
//! snapshot gets the annualised `σ_annual = √(σ² · periods_per_year)` (docs/units.md: annualised
//! standard deviation of log returns over 365 days). The quantile model forecasts a quantile, not a
//! variance; its volatility is the normal one with the same quantile, `σ = q_{1−c} / z_{1−c}`.
//!
//! Correlations: for every pair of matched assets in the same file (same timestamps), the EWMA
//! correlation of their returns over the same window (whatever the volatility model — GARCH and
//! quantile regression here are univariate), appended to the snapshot as a new `[[correlation]]`
//! block, which overrides earlier blocks for those pairs (docs/monte-carlo.md#correlation).
//! Assets without a series keep their hand-set values.

use cascade_model::{Correlation, Snapshot};
use serde::Serialize;

use crate::backtest::{fit_at, normal_quantile};
use crate::ewma::Ewma;
use crate::garch;
use crate::quantile;
use crate::series::PriceSeries;
use crate::ModelError;

/// The model filling the volatilities.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VolModel {
    /// EWMA with decay `lambda`.
    Ewma { lambda: f64 },
    /// GARCH(1,1)-t fitted on the window.
    Garch,
    /// Quantile regression at level `1 − confidence` with feature window `feature_window`.
    Quantile {
        confidence: f64,
        feature_window: usize,
    },
}

impl VolModel {
    /// A short description for outputs, e.g. `ewma(lambda=0.94)`.
    pub fn describe(&self) -> String {
        match self {
            VolModel::Ewma { lambda } => format!("ewma(lambda={lambda})"),
            VolModel::Garch => "garch(1,1)-t".into(),
            VolModel::Quantile {
                confidence,
                feature_window,
            } => format!("quantile(level={:.4},k={feature_window})", 1.0 - confidence),
        }
    }
}

/// Where one asset's volatility came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolatilitySource {
    pub asset: String,
    /// The snapshot's value before filling.
    pub hand_set: f64,
    /// The value now in the snapshot.
    pub volatility: f64,
    /// `"history"` or `"hand-set (no series)"`.
    pub source: String,
    /// The model, with its parameters; empty when hand-set.
    pub model: String,
    /// The price file; empty when hand-set.
    pub file: String,
    /// Returns in the window.
    pub returns: usize,
    /// Unix seconds of the window's first and last price.
    pub from_s: Option<f64>,
    pub to_s: Option<f64>,
    /// Sampling period of the series, seconds.
    pub period_s: Option<f64>,
}

/// One correlation filled from history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorrelationSource {
    pub a: String,
    pub b: String,
    pub correlation: f64,
    pub model: String,
    pub file: String,
    pub returns: usize,
}

/// What [`fill_snapshot`] changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FillReport {
    /// One row per snapshot asset, in snapshot order.
    pub volatilities: Vec<VolatilitySource>,
    pub correlations: Vec<CorrelationSource>,
    /// Series columns that match no snapshot asset (`file: name`).
    pub unmatched_series: Vec<String>,
}

/// Fills `snapshot`'s volatilities (and correlations between assets of a same file) from `series`
/// with `model` over the last `window` returns of each (all of them when `None`). A later file wins
/// when two name the same asset.
pub fn fill_snapshot(
    snapshot: &mut Snapshot,
    series: &[PriceSeries],
    model: VolModel,
    window: Option<usize>,
) -> Result<FillReport, ModelError> {
    let mut rows: Vec<VolatilitySource> = snapshot
        .assets
        .iter()
        .map(|a| VolatilitySource {
            asset: a.id.clone(),
            hand_set: a.volatility,
            volatility: a.volatility,
            source: "hand-set (no series)".into(),
            model: String::new(),
            file: String::new(),
            returns: 0,
            from_s: None,
            to_s: None,
            period_s: None,
        })
        .collect();
    let mut correlations = Vec::new();
    let mut unmatched = Vec::new();
    for s in series {
        // (snapshot asset index, window returns) of every matched column of this file.
        let mut matched: Vec<(usize, Vec<f64>)> = Vec::new();
        for (col, name) in s.assets.iter().enumerate() {
            let idx = snapshot.asset_idx(name).or_else(|| {
                snapshot
                    .assets
                    .iter()
                    .position(|a| a.id.eq_ignore_ascii_case(name))
            });
            let Some(idx) = idx else {
                unmatched.push(format!("{}: {name}", s.source));
                continue;
            };
            let all = s.log_returns(col);
            let w = window.unwrap_or(all.len()).min(all.len());
            let start = all.len() - w;
            let returns = all[start..].to_vec();
            let prices = &s.prices[col];
            let period_var = match model {
                VolModel::Ewma { lambda } => Ewma::new(lambda)?.variance_forecast(&returns),
                VolModel::Garch => garch::fit(&returns)?.params.variance_forecast(&returns),
                VolModel::Quantile {
                    confidence,
                    feature_window,
                } => {
                    let t = all.len();
                    let b = fit_at(prices, &all, t, w, 1, feature_window, 1.0 - confidence)?;
                    let x =
                        quantile::features(prices, &all, t, feature_window).ok_or_else(|| {
                            ModelError::TooFewReturns {
                                what: "quantile model features".into(),
                                found: t,
                                needed: feature_window,
                            }
                        })?;
                    let q: f64 = x.iter().zip(&b).map(|(x, b)| x * b).sum();
                    let sigma = q / normal_quantile(1.0 - confidence);
                    // A quantile above 0 (no loss forecast) has no volatility to give.
                    sigma.max(0.0).powi(2)
                }
            };
            let vol = (period_var * s.periods_per_year()).sqrt();
            if !vol.is_finite() {
                return Err(ModelError::Parameter {
                    name: "volatility from history",
                    value: vol,
                    expected: "a finite number",
                });
            }
            snapshot.assets[idx].volatility = vol;
            rows[idx] = VolatilitySource {
                asset: snapshot.assets[idx].id.clone(),
                hand_set: rows[idx].hand_set,
                volatility: vol,
                source: "history".into(),
                model: model.describe(),
                file: s.source.clone(),
                returns: w,
                from_s: Some(s.timestamps_s[start]),
                to_s: s.timestamps_s.last().copied(),
                period_s: Some(s.period_s()),
            };
            matched.push((idx, returns));
        }
        if matched.len() >= 2 {
            let lambda = match model {
                VolModel::Ewma { lambda } => lambda,
                _ => crate::ewma::RISKMETRICS_LAMBDA,
            };
            let ewma = Ewma::new(lambda)?;
            let k = matched.len();
            let mut matrix = vec![vec![0.0; k]; k];
            for i in 0..k {
                matrix[i][i] = 1.0;
                for j in 0..i {
                    let rho = ewma.correlation_forecast(&matched[i].1, &matched[j].1);
                    matrix[i][j] = rho;
                    matrix[j][i] = rho;
                    correlations.push(CorrelationSource {
                        a: snapshot.assets[matched[j].0].id.clone(),
                        b: snapshot.assets[matched[i].0].id.clone(),
                        correlation: rho,
                        model: format!("ewma(lambda={lambda})"),
                        file: s.source.clone(),
                        returns: matched[i].1.len(),
                    });
                }
            }
            snapshot.correlations.push(Correlation {
                assets: matched.iter().map(|(i, _)| *i).collect(),
                matrix,
                line: 0,
            });
        }
    }
    Ok(FillReport {
        volatilities: rows,
        correlations,
        unmatched_series: unmatched,
    })
}

#[cfg(test)]
mod tests;
