//! Price series read from CSV (docs/formats.md#price-series): a timestamp column and one price
//! column per asset, in one of three layouts recognised by the header.
//!
//! - **generic** `timestamp,ASSET1,ASSET2,…`: timestamps in Unix seconds, prices in any one quote
//!   unit (USD usually), every cell filled;
//! - **symbol/timestamp/USD_price** (the layout of bhemen/aave-data's `usd_prices/*.csv`): one asset,
//!   named by the `symbol` column, timestamps in Unix milliseconds;
//! - **bid/ask** (the layout of Risk DAO's simulation-env `data_unified_*.csv`): `timestamp_x` in Unix
//!   microseconds, `ask_price` and `bid_price`; the price is the mid `(ask + bid)/2` and the asset
//!   is named by the pair of the `<venue>_<pair>_liquidation_long` column (`ethusdt` → `ETH`).
//!
//! Rows must have strictly increasing timestamps and positive finite prices. Every error names the
//! file, the line (1-based, the header being line 1) and, for a bad cell, the column.

use std::path::Path;

use serde::Serialize;

/// Seconds in the 365-day year every annualised figure uses (docs/units.md).
pub const SECONDS_PER_YEAR: f64 = 365.0 * 86_400.0;

/// A problem reading a price file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeriesError {
    /// The file could not be opened or read.
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    /// The CSV itself is malformed (a row with the wrong number of fields, bad UTF-8, …).
    #[error("{file}:{line}: {message}")]
    Csv {
        file: String,
        line: u64,
        message: String,
    },
    /// A cell that is not what its column needs.
    #[error("{file}:{line}: column {column} (\"{name}\"): found \"{found}\", expected {expected}")]
    Cell {
        file: String,
        line: u64,
        column: usize,
        name: String,
        found: String,
        expected: &'static str,
    },
    /// Timestamps not strictly increasing.
    #[error("{file}:{line}: timestamp {found} is not after the previous row's {previous}, expected strictly increasing timestamps")]
    Order {
        file: String,
        line: u64,
        found: f64,
        previous: f64,
    },
    /// The header matches none of the layouts, or the file is too short.
    #[error("{file}: {message}")]
    Format { file: String, message: String },
}

/// Which layout a file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesFormat {
    /// `timestamp,ASSET1,…` with Unix seconds.
    Generic,
    /// `symbol,timestamp,USD_price` with Unix milliseconds.
    SymbolUsdPrice,
    /// `timestamp_x,ask_price,bid_price,…` with Unix microseconds; the mid price.
    BidAsk,
}

/// Prices of one or more assets on common timestamps.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceSeries {
    /// The file it was read from, as given.
    pub source: String,
    pub format: SeriesFormat,
    /// Unix seconds, strictly increasing.
    pub timestamps_s: Vec<f64>,
    /// Asset names, in column order.
    pub assets: Vec<String>,
    /// `prices[a][i]`: asset `a`'s price at `timestamps_s[i]`, > 0.
    pub prices: Vec<Vec<f64>>,
}

impl PriceSeries {
    /// The column of asset `name` (exact match first, then ASCII case-insensitive).
    pub fn asset_index(&self, name: &str) -> Option<usize> {
        self.assets.iter().position(|a| a == name).or_else(|| {
            self.assets
                .iter()
                .position(|a| a.eq_ignore_ascii_case(name))
        })
    }

    /// Log returns `r_i = ln(P_{i+1}/P_i)` of asset column `a`, one fewer than the prices.
    pub fn log_returns(&self, a: usize) -> Vec<f64> {
        log_returns(&self.prices[a])
    }

    /// The sampling period in seconds: the median of the gaps between consecutive timestamps (robust
    /// to the odd missing hour). 0 for fewer than two rows.
    pub fn period_s(&self) -> f64 {
        let mut gaps: Vec<f64> = self.timestamps_s.windows(2).map(|w| w[1] - w[0]).collect();
        if gaps.is_empty() {
            return 0.0;
        }
        gaps.sort_by(f64::total_cmp);
        gaps[gaps.len() / 2]
    }

    /// Periods per 365-day year, `SECONDS_PER_YEAR / period_s`: the factor a one-period variance is
    /// multiplied by to annualise it (8,760 for hourly data).
    pub fn periods_per_year(&self) -> f64 {
        SECONDS_PER_YEAR / self.period_s()
    }
}

/// `r_i = ln(P_{i+1}/P_i)` for consecutive prices.
pub fn log_returns(prices: &[f64]) -> Vec<f64> {
    prices.windows(2).map(|w| (w[1] / w[0]).ln()).collect()
}

/// Reads a price file in any of the three layouts.
pub fn read_prices(path: &Path) -> Result<PriceSeries, SeriesError> {
    let file = path.display().to_string();
    let text = std::fs::read(path).map_err(|source| SeriesError::Io {
        file: file.clone(),
        source,
    })?;
    parse_prices(&text, &file)
}

/// Parses the bytes of a price file; `file` names it in errors.
///
/// # Examples
/// ```
/// use cascade_volatility::series::parse_prices;
/// let s = parse_prices(b"timestamp,ETH\n0,100\n3600,110\n", "p.csv").unwrap();
/// assert_eq!(s.assets, ["ETH"]);
/// assert_eq!(s.periods_per_year(), 8760.0);
/// let e = parse_prices(b"timestamp,ETH\n0,100\n3600,0\n", "p.csv").unwrap_err();
/// assert_eq!(e.to_string(), "p.csv:3: column 2 (\"ETH\"): found \"0\", expected a price > 0");
/// ```
pub fn parse_prices(bytes: &[u8], file: &str) -> Result<PriceSeries, SeriesError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let csv_err = |e: csv::Error| SeriesError::Csv {
        file: file.to_string(),
        line: e.position().map_or(0, |p| p.line()),
        message: e.to_string(),
    };
    let header: Vec<String> = rdr
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(str::to_string)
        .collect();
    let layout = Layout::detect(&header).ok_or_else(|| SeriesError::Format {
        file: file.to_string(),
        message: format!(
            "header \"{}\", expected \"timestamp,ASSET1,…\", \"symbol,timestamp,USD_price\" or \"timestamp_x,ask_price,bid_price,…\"",
            header.join(",")
        ),
    })?;
    let mut out = PriceSeries {
        source: file.to_string(),
        format: layout.format,
        timestamps_s: Vec::new(),
        assets: layout.assets.clone(),
        prices: vec![Vec::new(); layout.assets.len()],
    };
    let mut symbol: Option<String> = None;
    for rec in rdr.records() {
        let rec = rec.map_err(csv_err)?;
        let line = rec.position().map_or(0, |p| p.line());
        let cell = |c: usize, expected: &'static str| -> Result<f64, SeriesError> {
            let raw = rec.get(c).unwrap_or("");
            match raw.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(SeriesError::Cell {
                    file: file.to_string(),
                    line,
                    column: c + 1,
                    name: header[c].clone(),
                    found: raw.to_string(),
                    expected,
                }),
            }
        };
        let positive = |c: usize| -> Result<f64, SeriesError> {
            let v = cell(c, "a price > 0")?;
            if v > 0.0 {
                Ok(v)
            } else {
                Err(SeriesError::Cell {
                    file: file.to_string(),
                    line,
                    column: c + 1,
                    name: header[c].clone(),
                    found: rec.get(c).unwrap_or("").to_string(),
                    expected: "a price > 0",
                })
            }
        };
        let t = cell(layout.time_col, "a finite timestamp")? * layout.time_scale;
        if let Some(&prev) = out.timestamps_s.last() {
            if t <= prev {
                return Err(SeriesError::Order {
                    file: file.to_string(),
                    line,
                    found: t,
                    previous: prev,
                });
            }
        }
        match layout.format {
            SeriesFormat::Generic => {
                for (a, col) in out.prices.iter_mut().enumerate() {
                    col.push(positive(a + 1)?);
                }
            }
            SeriesFormat::SymbolUsdPrice => {
                let s = rec.get(0).unwrap_or("");
                match &symbol {
                    None => symbol = Some(s.to_string()),
                    Some(first) if first != s => {
                        return Err(SeriesError::Cell {
                            file: file.to_string(),
                            line,
                            column: 1,
                            name: header[0].clone(),
                            found: s.to_string(),
                            expected: "the same symbol on every row (one asset per file)",
                        })
                    }
                    Some(_) => {}
                }
                out.prices[0].push(positive(2)?);
            }
            SeriesFormat::BidAsk => {
                let ask = positive(layout.ask_col)?;
                let bid = positive(layout.bid_col)?;
                out.prices[0].push(0.5 * (ask + bid));
            }
        }
        out.timestamps_s.push(t);
    }
    if let Some(s) = symbol {
        out.assets = vec![s];
    }
    if out.timestamps_s.len() < 2 {
        return Err(SeriesError::Format {
            file: file.to_string(),
            message: format!(
                "{} data row(s), expected at least 2 (one return)",
                out.timestamps_s.len()
            ),
        });
    }
    Ok(out)
}

/// What the header says about the columns.
struct Layout {
    format: SeriesFormat,
    assets: Vec<String>,
    time_col: usize,
    /// Multiplier from the file's timestamp unit to seconds.
    time_scale: f64,
    ask_col: usize,
    bid_col: usize,
}

impl Layout {
    fn detect(h: &[String]) -> Option<Layout> {
        let col = |name: &str| h.iter().position(|c| c == name);
        if h.len() == 3 && h[0] == "symbol" && h[1] == "timestamp" && h[2] == "USD_price" {
            return Some(Layout {
                format: SeriesFormat::SymbolUsdPrice,
                assets: vec![String::new()],
                time_col: 1,
                time_scale: 1e-3,
                ask_col: 0,
                bid_col: 0,
            });
        }
        if h.first().map(String::as_str) == Some("timestamp_x") {
            let (ask_col, bid_col) = (col("ask_price")?, col("bid_price")?);
            let pair = h
                .iter()
                .find_map(|c| {
                    c.strip_suffix("_liquidation_long")
                        .and_then(|s| s.rsplit('_').next())
                })
                .map(|p| {
                    let p = p.to_ascii_uppercase();
                    ["USDT", "USDC", "USD"]
                        .iter()
                        .find_map(|q| p.strip_suffix(q).filter(|b| !b.is_empty()))
                        .map_or(p.clone(), str::to_string)
                })
                .unwrap_or_else(|| "ASSET".to_string());
            return Some(Layout {
                format: SeriesFormat::BidAsk,
                assets: vec![pair],
                time_col: 0,
                time_scale: 1e-6,
                ask_col,
                bid_col,
            });
        }
        if h.len() >= 2 && h[0] == "timestamp" && h[1..].iter().all(|c| !c.is_empty()) {
            return Some(Layout {
                format: SeriesFormat::Generic,
                assets: h[1..].to_vec(),
                time_col: 0,
                time_scale: 1.0,
                ask_col: 0,
                bid_col: 0,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests;
