//! Flag types shared by several commands: the enumerated values (clap `ValueEnum`, so help, errors
//! and shell completions list them), the thread count and the JSON output flags.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Circuit breakers of one run: as configured, or ignored.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breakers {
    /// As the snapshot configures them.
    On,
    /// Ignored.
    Off,
}

/// Circuit breakers of `stress`: one run as configured or ignored, or both runs side by side.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerRuns {
    /// As the snapshot configures them.
    On,
    /// Ignored.
    Off,
    /// Both runs, side by side.
    Both,
}

/// Distribution of the standardised Monte Carlo shocks.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dist {
    /// Normal.
    Normal,
    /// Student-t with `--dof` degrees of freedom, scaled to unit variance.
    T,
}

impl Dist {
    /// The risk crate's distribution; `dof` must be > 2 for the Student-t (unit variance).
    pub fn with_dof(self, dof: f64) -> Result<cascade_risk::paths::Dist, String> {
        match self {
            Dist::Normal => Ok(cascade_risk::paths::Dist::Normal),
            Dist::T if dof > 2.0 && dof.is_finite() => {
                Ok(cascade_risk::paths::Dist::StudentT { dof })
            }
            Dist::T => Err(format!(
                "--dof = {dof}, expected more than 2 (unit variance)"
            )),
        }
    }
}

/// Position file format written by `gen`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PositionFormat {
    /// Apache Parquet (positions.parquet).
    Parquet,
    /// CSV (positions.csv).
    Csv,
}

/// DebtRank variant.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebtRankVariant {
    /// Battiston et al. (2012): each node propagates once, when it first becomes distressed.
    Original,
    /// Bardoscia et al. (2015): increments of stress propagate every round.
    Differential,
}

impl From<DebtRankVariant> for cascade_contagion::debtrank::Variant {
    fn from(v: DebtRankVariant) -> Self {
        match v {
            DebtRankVariant::Original => Self::Original,
            DebtRankVariant::Differential => Self::Differential,
        }
    }
}

/// Option kind of `greeks`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKindArg {
    /// A call.
    Call,
    /// A put.
    Put,
}

impl From<OptionKindArg> for cascade_model::OptionType {
    fn from(k: OptionKindArg) -> Self {
        match k {
            OptionKindArg::Call => Self::Call,
            OptionKindArg::Put => Self::Put,
        }
    }
}

/// The `--json` and `--output` flags of a command with a JSON result.
#[derive(Args, Debug, Clone)]
pub struct JsonArgs {
    /// JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON result to this file (written whole or not at all; checked before the
    /// run).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl JsonArgs {
    /// Whether the JSON text is needed (on stdout or in `--output`).
    pub fn wanted(&self) -> bool {
        self.json || self.output.is_some()
    }
}

/// At most this many worker threads per available core.
pub const THREADS_PER_CORE: usize = 4;

/// Parses `--threads`: 1 to [`THREADS_PER_CORE`] × the available cores.
pub fn parse_threads(s: &str) -> Result<usize, String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max = THREADS_PER_CORE * cores;
    let n: usize = s
        .trim()
        .parse()
        .map_err(|_| format!("found \"{s}\", expected a whole number from 1 to {max}"))?;
    if (1..=max).contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "found {n}, expected 1 to {max} ({THREADS_PER_CORE} × the {cores} available cores)"
        ))
    }
}

/// Parses a cap in `(0, 1]` (`--diversification-cap`).
pub fn parse_cap(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x > 0.0 && x <= 1.0 => Ok(x),
        _ => Err(format!("found \"{s}\", expected a number in (0, 1]")),
    }
}
