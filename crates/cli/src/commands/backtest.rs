//! `cascade backtest`: rolling-window VaR backtests of the volatility models on a price file
//! (docs/volatility.md#backtests).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::Serialize;

use cascade_volatility::backtest::{self, BacktestSpec, ModelBacktest, ModelKind};
use cascade_volatility::series::{read_prices, SeriesFormat};

use crate::args::JsonArgs;
use crate::failure::Failure;
use crate::output::{check_output_path, emit, to_json};
use crate::table;

/// A model of `--models`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelArg {
    /// EWMA variance (RiskMetrics), normal quantile.
    Ewma,
    /// GARCH(1,1) with Student-t innovations, maximum likelihood.
    Garch,
    /// Linear quantile regression on realised volatility and drawdown.
    Quantile,
}

impl From<ModelArg> for ModelKind {
    fn from(m: ModelArg) -> Self {
        match m {
            ModelArg::Ewma => ModelKind::Ewma,
            ModelArg::Garch => ModelKind::Garch,
            ModelArg::Quantile => ModelKind::Quantile,
        }
    }
}

/// Flags of `cascade backtest` (docs/volatility.md#backtests).
#[derive(Args, Debug)]
pub struct BacktestArgs {
    /// Price file: `timestamp,ASSET1,…` (Unix seconds), `symbol,timestamp,USD_price` (ms) or
    /// `timestamp_x,ask_price,bid_price,…` (µs, mid price) — docs/formats.md#price-series.
    #[arg(long, value_name = "FILE")]
    prices: PathBuf,
    /// Backtest only this asset column (default: every asset of the file).
    #[arg(long)]
    asset: Option<String>,
    /// VaR confidence c, in (0.5, 1): the models forecast the 1 − c quantile of the log return.
    #[arg(long, default_value_t = 0.99, allow_negative_numbers = true)]
    confidence: f64,
    /// Rolling window W, in returns (periods of the file), ≥ 50.
    #[arg(long, default_value_t = 1000)]
    window: usize,
    /// Horizon H, in periods (≥ 1): forecasts are of the sum of the next H log returns, at every H-th
    /// period (non-overlapping).
    #[arg(long, default_value_t = 1)]
    horizon: usize,
    /// Models, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "ewma,garch,quantile"
    )]
    models: Vec<ModelArg>,
    /// EWMA decay λ, in (0, 1).
    #[arg(long, default_value_t = cascade_volatility::ewma::RISKMETRICS_LAMBDA)]
    lambda: f64,
    /// GARCH and quantile regression are refitted every this many forecasts (≥ 1).
    #[arg(long, default_value_t = 250)]
    refit: usize,
    /// Feature window k of the quantile model (realised volatility and drawdown), periods (≥ 1).
    #[arg(long, default_value_t = cascade_volatility::quantile::DEFAULT_FEATURE_WINDOW)]
    feature_window: usize,
    #[command(flatten)]
    out: JsonArgs,
}

/// One asset's backtest, as written to JSON.
#[derive(Serialize)]
pub struct AssetBacktest {
    pub asset: String,
    pub returns: usize,
    pub period_s: f64,
    pub from_s: f64,
    pub to_s: f64,
    pub models: Vec<ModelBacktest>,
}

/// The whole result, as written to JSON.
#[derive(Serialize)]
pub struct BacktestResult {
    pub file: String,
    pub format: SeriesFormat,
    pub settings: BacktestSpec,
    pub assets: Vec<AssetBacktest>,
}

/// The checked settings.
fn validate(a: &BacktestArgs) -> Result<BacktestSpec, String> {
    if !(a.confidence > 0.5 && a.confidence < 1.0) {
        return Err(format!(
            "--confidence = {}, expected a confidence level in (0.5, 1)",
            a.confidence
        ));
    }
    if !(a.lambda > 0.0 && a.lambda < 1.0) {
        return Err(format!(
            "--lambda = {}, expected a decay in (0, 1)",
            a.lambda
        ));
    }
    if a.window < cascade_volatility::garch::MIN_FIT_RETURNS {
        return Err(format!(
            "--window = {}, expected at least {} returns",
            a.window,
            cascade_volatility::garch::MIN_FIT_RETURNS
        ));
    }
    if a.horizon == 0 || a.refit == 0 || a.feature_window == 0 {
        return Err("--horizon, --refit and --feature-window must be ≥ 1".into());
    }
    if a.feature_window + a.horizon + 10 > a.window {
        return Err(format!(
            "--feature-window {} + --horizon {} leave fewer than 10 regression rows in --window {}",
            a.feature_window, a.horizon, a.window
        ));
    }
    Ok(BacktestSpec {
        confidence: a.confidence,
        window: a.window,
        horizon: a.horizon,
        refit_every: a.refit,
        lambda: a.lambda,
        feature_window: a.feature_window,
    })
}

pub fn run(a: &BacktestArgs) -> Result<(), Failure> {
    let bad = |m: String| Failure::Input(format!("error: {m}"));
    if let Some(path) = &a.out.output {
        check_output_path("--output", path)?;
    }
    let spec = validate(a).map_err(bad)?;
    let series = read_prices(&a.prices).map_err(|e| bad(e.to_string()))?;
    let columns: Vec<usize> = match &a.asset {
        Some(name) => vec![series.asset_index(name).ok_or_else(|| {
            bad(format!(
                "--asset {name}: not in {} (its assets: {})",
                series.source,
                series.assets.join(", ")
            ))
        })?],
        None => (0..series.assets.len()).collect(),
    };
    let mut models: Vec<ModelKind> = Vec::new();
    for m in &a.models {
        let k = ModelKind::from(*m);
        if !models.contains(&k) {
            models.push(k);
        }
    }
    let mut assets = Vec::new();
    for c in columns {
        let prices = &series.prices[c];
        let r = backtest::run(prices, &spec, &models)
            .map_err(|e| bad(format!("{}: {}: {e}", series.source, series.assets[c])))?;
        assets.push(AssetBacktest {
            asset: series.assets[c].clone(),
            returns: prices.len() - 1,
            period_s: series.period_s(),
            from_s: series.timestamps_s[0],
            to_s: series.timestamps_s[series.timestamps_s.len() - 1],
            models: r,
        });
    }
    let result = BacktestResult {
        file: series.source.clone(),
        format: series.format,
        settings: spec,
        assets,
    };
    emit(
        &a.out,
        || to_json(&result),
        || table::backtest_table(&result),
    )
}
