//! Renders every kind of report page from the built-in system, to look at them in a browser:
//! `cargo run --release -p cascade-report --example report_pages -- OUT_DIR [PATHS]`.
//!
//! Writes `stress.html` (eth-crash), `stress-steth-depeg.html`, `stress-comparison.html` (eth-crash,
//! circuit breakers on vs off) and `simulate.html` (a Monte Carlo run of `PATHS` paths, 1,000 by
//! default, over 10 days with fat tails, as `cascade simulate --horizon-days 10 --dist t` would). To
//! screenshot them: `chromium --headless --screenshot=OUT.png --window-size=1280,2000 FILE.html`.

use std::path::Path;
use std::process::ExitCode;

use cascade_io::Format;
use cascade_io::{parse_scenario, snapshot_from_str};
use cascade_model::Snapshot;
use cascade_risk::paths::Dist;
use cascade_risk::simulate::{simulate, SimulationSpec};

const SYSTEM: &str = include_str!("../../../examples/builtin/system.toml");
const ETH_CRASH: &str = include_str!("../../../examples/builtin/eth-crash.toml");
const STETH_DEPEG: &str = include_str!("../../../examples/builtin/steth-depeg.toml");

fn stress(
    s: &Snapshot,
    scenario: &str,
    name: &str,
    breakers: bool,
) -> Result<cascade_engine::StressResult, String> {
    let (sc, _) = parse_scenario(scenario, Format::Toml, name, s).map_err(|e| e.to_string())?;
    let options = cascade_engine::Options {
        breakers,
        ..Default::default()
    };
    Ok(cascade_engine::run_with(s, &sc, &options))
}

fn pages(out: &Path, paths: usize) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let write = |name: &str, html: String| {
        let p = out.join(name);
        std::fs::write(&p, html).map_err(|e| format!("{}: {e}", p.display()))?;
        println!("{}", p.display());
        Ok::<(), String>(())
    };
    let (s, _) = snapshot_from_str(SYSTEM, Format::Toml, "<builtin>/system.toml")
        .map_err(|e| e.to_string())?;
    let on = stress(&s, ETH_CRASH, "<builtin>/eth-crash.toml", true)?;
    let off = stress(&s, ETH_CRASH, "<builtin>/eth-crash.toml", false)?;
    write("stress.html", cascade_report::stress_html(&s, &on))?;
    let depeg = stress(&s, STETH_DEPEG, "<builtin>/steth-depeg.toml", true)?;
    write(
        "stress-steth-depeg.html",
        cascade_report::stress_html(&s, &depeg),
    )?;
    write(
        "stress-comparison.html",
        cascade_report::stress_comparison_html(&s, &on, &off),
    )?;
    let spec = SimulationSpec {
        paths,
        horizon_days: 10.0,
        seed: 1,
        dist: Dist::StudentT { dof: 4.0 },
        jumps: Vec::new(),
        antithetic: false,
        alphas: SimulationSpec::DEFAULT_ALPHAS.to_vec(),
        breakers: true,
        max_rounds: 50,
    };
    let sim = simulate(&s, &spec, &|| ()).map_err(|e| e.to_string())?;
    write(
        "simulate.html",
        cascade_report::simulation_report_html(&s, &sim),
    )?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, paths) = match args.as_slice() {
        [out] => (out, Ok(1000)),
        [out, n] => (out, n.parse::<usize>()),
        _ => {
            eprintln!("usage: report_pages OUT_DIR [PATHS]");
            return ExitCode::from(2);
        }
    };
    let Ok(paths) = paths else {
        eprintln!("error: PATHS must be a whole number");
        return ExitCode::from(2);
    };
    match pages(Path::new(out), paths.max(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
