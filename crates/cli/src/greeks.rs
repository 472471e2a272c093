//! `cascade greeks`: the Black-76 value and Greeks of one option given by flags, or of many given as
//! the rows of a CSV file (DESIGN §6, §15). Three steps: clap parses the flags, [`validate`] turns
//! them (or the file) into checked [`OptionSpec`]s, naming the flag or `file:line: column` of any
//! bad input (exit 2), and [`run`] values and prints them.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use cascade_protocols::options::{
    black76, black76_batch, Greeks, OptionError, OptionKind, OptionSpec,
};

use crate::Failure;

/// Flags of `cascade greeks`.
#[derive(Args, Debug)]
pub struct GreeksArgs {
    /// Spot price S of the underlying, USD per token (> 0).
    #[arg(long, allow_negative_numbers = true, required_unless_present = "file")]
    spot: Option<f64>,
    /// Strike K, USD per token (> 0).
    #[arg(long, allow_negative_numbers = true, required_unless_present = "file")]
    strike: Option<f64>,
    /// Interest rate r, annual, continuously compounded [default: 0].
    #[arg(long, allow_negative_numbers = true)]
    rate: Option<f64>,
    /// Volatility σ, annual (0.2 = 20%; ≥ 0).
    #[arg(long, allow_negative_numbers = true, required_unless_present = "file")]
    vol: Option<f64>,
    /// Time to expiry T in years (> 0).
    #[arg(
        long,
        value_name = "T",
        allow_negative_numbers = true,
        required_unless_present = "file"
    )]
    expiry_years: Option<f64>,
    /// Option kind.
    #[arg(long, value_name = "call|put", required_unless_present = "file")]
    kind: Option<String>,
    /// Value many options: a CSV with a header naming the columns spot, strike, rate, vol,
    /// expiry_years, kind in any order (rate optional, 0 when missing or empty).
    #[arg(long, value_name = "F.csv", conflicts_with_all = ["spot", "strike", "rate", "vol", "expiry_years", "kind"])]
    file: Option<PathBuf>,
    /// JSON on stdout instead of the table: `{"price","delta","gamma","vega","theta"}`, or an array
    /// of such objects (with the inputs) for `--file`.
    #[arg(long)]
    json: bool,
}

/// What `cascade greeks` values: one option from flags, or the rows of a file.
enum Request {
    One(OptionSpec),
    Many(Vec<OptionSpec>),
}

/// Values the options and prints the table or the JSON.
pub fn run(a: &GreeksArgs) -> Result<(), Failure> {
    let request = match &a.file {
        Some(path) => Request::Many(read_csv(path)?),
        None => validate(a).map_err(|m| Failure::Input(format!("error: {m}")))?,
    };
    let text = match request {
        Request::One(spec) => {
            let g = black76(&spec);
            if a.json {
                format!("{}\n", greeks_json(None, &g))
            } else {
                one_table(&spec, &g)
            }
        }
        Request::Many(specs) => {
            let g = value_all(&specs);
            if a.json {
                many_json(&specs, &g)
            } else {
                many_table(&specs, &g)
            }
        }
    };
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .context("writing to stdout")?;
    Ok(())
}

/// The checked options, or a message naming the flag (`--vol = -0.2, expected ≥ 0`) or the
/// file, line and column (`book.csv:3: vol: found -0.2, expected ≥ 0`) at fault.
fn validate(a: &GreeksArgs) -> Result<Request, String> {
    // clap makes every flag but --rate required without --file.
    let (Some(spot), Some(strike), Some(vol), Some(t), Some(kind)) =
        (a.spot, a.strike, a.vol, a.expiry_years, a.kind.as_deref())
    else {
        return Err(
            "expected --spot, --strike, --vol, --expiry-years and --kind, or --file".into(),
        );
    };
    let kind = OptionKind::parse(kind)
        .ok_or_else(|| format!("--kind = \"{kind}\", expected call or put"))?;
    OptionSpec::new(kind, spot, strike, a.rate.unwrap_or(0.0), vol, t)
        .map(Request::One)
        .map_err(|e| {
            format!(
                "--{} = {}, expected {}",
                e.field().replace('_', "-"),
                e.found(),
                e.expected()
            )
        })
}

/// Reads the options of `path` (`cascade_io::options`): every bad row is reported, each naming the
/// file, line and column.
fn read_csv(path: &Path) -> Result<Vec<OptionSpec>, Failure> {
    cascade_io::options::read_options(path, |r| {
        let kind = OptionKind::from(r.kind);
        OptionSpec::new(kind, r.spot, r.strike, r.rate, r.vol, r.expiry_years).map_err(
            |e: OptionError| cascade_io::options::FieldProblem {
                field: e.field().to_string(),
                problem: cascade_io::options::found(e.found().to_string(), e.expected()),
            },
        )
    })
    .map_err(|e| Failure::Input(e.diagnostics.to_string()))
}

/// Every option's value and Greeks with `black76_batch` (in parallel, on columns).
fn value_all(specs: &[OptionSpec]) -> Vec<Greeks> {
    let col = |f: fn(&OptionSpec) -> f64| specs.iter().map(f).collect::<Vec<f64>>();
    let kind: Vec<OptionKind> = specs.iter().map(|s| s.kind).collect();
    let mut out = vec![Greeks::default(); specs.len()];
    black76_batch(
        &kind,
        &col(|s| s.spot),
        &col(|s| s.strike),
        &col(|s| s.rate),
        &col(|s| s.vol),
        &col(|s| s.t_years),
        &mut out,
    );
    out
}

/// A JSON number (`null` if not finite, which validated inputs never give).
fn num(x: f64) -> String {
    serde_json::to_string(&x).unwrap_or_else(|_| "null".into())
}

/// `{"price":…,"delta":…,"gamma":…,"vega":…,"theta":…}`, after the inputs when `spec` is given.
fn greeks_json(spec: Option<&OptionSpec>, g: &Greeks) -> String {
    let mut o = String::from("{");
    if let Some(s) = spec {
        let _ = write!(
            o,
            "\"kind\":\"{}\",\"spot\":{},\"strike\":{},\"rate\":{},\"vol\":{},\"expiry_years\":{},",
            s.kind.name(),
            num(s.spot),
            num(s.strike),
            num(s.rate),
            num(s.vol),
            num(s.t_years)
        );
    }
    let _ = write!(
        o,
        "\"price\":{},\"delta\":{},\"gamma\":{},\"vega\":{},\"theta\":{}}}",
        num(g.price),
        num(g.delta),
        num(g.gamma),
        num(g.vega),
        num(g.theta)
    );
    o
}

fn many_json(specs: &[OptionSpec], g: &[Greeks]) -> String {
    let rows: Vec<String> = specs
        .iter()
        .zip(g)
        .map(|(s, g)| format!("  {}", greeks_json(Some(s), g)))
        .collect();
    format!("[\n{}\n]\n", rows.join(",\n"))
}

fn one_table(s: &OptionSpec, g: &Greeks) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Black-76 {}: S = {}, K = {}, r = {}, σ = {}, T = {} years (forward {:.6})\n",
        s.kind.name(),
        s.spot,
        s.strike,
        s.rate,
        s.vol,
        s.t_years,
        s.forward()
    );
    let _ = writeln!(o, "price  {:>16.10}", g.price);
    let _ = writeln!(o, "delta  {:>16.10}", g.delta);
    let _ = writeln!(o, "gamma  {:>16.10}", g.gamma);
    let _ = writeln!(
        o,
        "vega   {:>16.10}  per unit of vol ({:.6} per vol point)",
        g.vega,
        g.vega / 100.0
    );
    let _ = writeln!(
        o,
        "theta  {:>16.10}  per year ({:.6} per calendar day)",
        g.theta,
        g.theta / 365.0
    );
    o
}

fn many_table(specs: &[OptionSpec], g: &[Greeks]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "Black-76 value and Greeks of {} option(s); vega per unit of vol, theta per year\n",
        specs.len()
    );
    let _ = writeln!(
        o,
        "{:>5} {:<4} {:>12} {:>12} {:>8} {:>8} {:>10} {:>15} {:>13} {:>13} {:>13} {:>13}",
        "#",
        "kind",
        "spot",
        "strike",
        "rate",
        "vol",
        "T (y)",
        "price",
        "delta",
        "gamma",
        "vega",
        "theta"
    );
    for (i, (s, g)) in specs.iter().zip(g).enumerate() {
        let _ = writeln!(
            o,
            "{:>5} {:<4} {:>12} {:>12} {:>8} {:>8} {:>10.6} {:>15.10} {:>13.10} {:>13.10} {:>13.6} {:>13.6}",
            i + 1,
            s.kind.name(),
            s.spot,
            s.strike,
            s.rate,
            s.vol,
            s.t_years,
            g.price,
            g.delta,
            g.gamma,
            g.vega,
            g.theta
        );
    }
    o
}
