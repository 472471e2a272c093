//! `cascade greeks`: the Black-76 value and Greeks of one option given by flags, or of many given as
//! the rows of a CSV file (docs/commands.md#greeks). Three steps: clap parses the flags, [`validate`] turns
//! them (or the file) into checked [`OptionSpec`]s, naming the flag or `file:line: column` of any
//! bad input (exit 2), and [`run`] values and prints them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;

use cascade_protocols::options::{black76, Greeks, OptionError, OptionSpec};

use cascade_io::options::{found, read_options, FieldProblem};
use serde::Serialize;

use crate::args::{JsonArgs, OptionKindArg};
use crate::failure::{input, Failure};
use crate::output::{check_output_path, emit, to_json};

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
    #[arg(long, value_enum, required_unless_present = "file")]
    kind: Option<OptionKindArg>,
    /// Value many options: a CSV with a header naming the columns spot, strike, rate, vol,
    /// expiry_years, kind in any order (rate optional, 0 when missing or empty).
    #[arg(long, value_name = "F.csv", conflicts_with_all = ["spot", "strike", "rate", "vol", "expiry_years", "kind"])]
    file: Option<PathBuf>,
    /// JSON (`--json` on stdout, `--output FILE`): `{"price","delta","gamma","vega","theta"}`, or
    /// an array of such objects (after the inputs) for `--file`.
    #[command(flatten)]
    out: JsonArgs,
}

/// What `cascade greeks` values: one option from flags, or the rows of a file.
enum Request {
    One(OptionSpec),
    Many(Vec<OptionSpec>),
}

/// Values the options and prints the table or the JSON.
pub fn run(a: &GreeksArgs) -> Result<(), Failure> {
    if let Some(path) = &a.out.output {
        check_output_path("--output", path)?;
    }
    let request = validate(a)?;
    match request {
        Request::One(spec) => {
            let g = black76(&spec);
            emit(
                &a.out,
                || to_json(&GreeksRow::new(None, &g)),
                || one_table(&spec, &g),
            )
        }
        Request::Many(specs) => {
            let g = value_all(&specs);
            emit(
                &a.out,
                || {
                    let rows: Vec<GreeksRow> = specs
                        .iter()
                        .zip(&g)
                        .map(|(s, g)| GreeksRow::new(Some(s), g))
                        .collect();
                    to_json(&rows)
                },
                || many_table(&specs, &g),
            )
        }
    }
}

/// The checked options, or a message naming the flag (`--vol = -0.2, expected ≥ 0`) or the
/// file, line and column (`book.csv:3: vol: found -0.2, expected ≥ 0`) at fault.
fn validate(a: &GreeksArgs) -> Result<Request, Failure> {
    if let Some(path) = &a.file {
        return read_csv(path).map(Request::Many);
    }
    let usage = |m: String| Failure::Input(format!("error: {m}"));
    // clap makes every flag but --rate required without --file.
    let (Some(spot), Some(strike), Some(vol), Some(t), Some(kind)) =
        (a.spot, a.strike, a.vol, a.expiry_years, a.kind)
    else {
        return Err(usage(
            "expected --spot, --strike, --vol, --expiry-years and --kind, or --file".into(),
        ));
    };
    OptionSpec::new(kind.into(), spot, strike, a.rate.unwrap_or(0.0), vol, t)
        .map(Request::One)
        .map_err(|e| {
            usage(format!(
                "--{} = {}, expected {}",
                e.field().replace('_', "-"),
                e.found(),
                e.expected()
            ))
        })
}

/// Reads the option book at `path` (docs/formats.md#option-books) into checked options; every bad
/// row is reported, each naming its line and column.
fn read_csv(path: &Path) -> Result<Vec<OptionSpec>, Failure> {
    read_options(path, |r| {
        OptionSpec::new(r.kind, r.spot, r.strike, r.rate, r.vol, r.expiry_years).map_err(
            |e: OptionError| FieldProblem {
                field: e.field().to_string(),
                problem: found(e.found().to_string(), e.expected()),
            },
        )
    })
    .map_err(|e| input(e.diagnostics))
}

/// Every option's value and Greeks with the scalar kernel ([`black76`]), one after another: the
/// same digits on every machine, which the vector kernel of `black76_batch` (within 1e-12 of it,
/// docs/clearinghouse.md) does not promise across CPUs. A file of a million options takes tens of
/// milliseconds this way, less than reading it.
fn value_all(specs: &[OptionSpec]) -> Vec<Greeks> {
    specs.iter().map(black76).collect()
}

/// An option's inputs, as written beside its value in `--file` JSON.
#[derive(Serialize)]
struct Inputs {
    kind: &'static str,
    spot: f64,
    strike: f64,
    rate: f64,
    vol: f64,
    expiry_years: f64,
}

/// `{"price","delta","gamma","vega","theta"}`, after the inputs for `--file`.
#[derive(Serialize)]
struct GreeksRow {
    #[serde(flatten)]
    inputs: Option<Inputs>,
    price: f64,
    delta: f64,
    gamma: f64,
    vega: f64,
    theta: f64,
}

impl GreeksRow {
    fn new(spec: Option<&OptionSpec>, g: &Greeks) -> Self {
        GreeksRow {
            inputs: spec.map(|s| Inputs {
                kind: s.kind.name(),
                spot: s.spot,
                strike: s.strike,
                rate: s.rate,
                vol: s.vol,
                expiry_years: s.t_years,
            }),
            price: g.price,
            delta: g.delta,
            gamma: g.gamma,
            vega: g.vega,
            theta: g.theta,
        }
    }
}

fn one_table(s: &OptionSpec, g: &Greeks) -> String {
    let mut o = String::new();
    let (kind, forward) = (s.kind.name(), s.forward());
    let (spot, strike, rate, vol, t) = (s.spot, s.strike, s.rate, s.vol, s.t_years);
    let _ = writeln!(
        o,
        "Black-76 {kind}: S = {spot}, K = {strike}, r = {rate}, σ = {vol}, T = {t} years (forward {forward:.6})\n"
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
