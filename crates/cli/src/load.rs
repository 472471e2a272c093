//! Loading the snapshot and the scenario every command starts from: a file, or the built-in system
//! and scenarios compiled into the binary.

use std::path::PathBuf;

use clap::Args;

use cascade_io::{builtin, Diagnostics, Format, LoadError};
use cascade_model::{AssetKind, Scenario, Shock, Side, Snapshot};

use crate::failure::{input, Failure};

/// The `--snapshot` flag shared by the commands that read a system.
#[derive(Args, Debug, Clone)]
pub struct SnapshotArg {
    /// Snapshot file (TOML or JSON); default: the built-in example system.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
}

/// The snapshot named by `--snapshot`, or the built-in one, with its warnings; or every problem found.
pub fn load_snapshot(arg: &SnapshotArg) -> Result<(Snapshot, Diagnostics), Diagnostics> {
    let r = match &arg.snapshot {
        Some(path) => cascade_io::load::load_snapshot(path),
        None => builtin::system(),
    };
    r.map_err(|e: LoadError| e.diagnostics)
}

/// A scenario: a file if one exists at `arg`, else a built-in name.
pub fn load_scenario(
    arg: &str,
    snapshot: &Snapshot,
) -> Result<(Scenario, Diagnostics), Diagnostics> {
    builtin::scenario_file_or_builtin(arg, snapshot)
}

pub fn print_warnings(d: &Diagnostics) {
    for w in d.warnings() {
        eprintln!("{w}");
    }
}

/// Help text of `--scenario` for the commands that run one.
pub const SCENARIO_HELP: &str = "Scenario file or built-in name (`cascade scenarios` lists them). \
Default: eth-crash on the built-in system; on a --snapshot, the generic shock: the volatile asset \
(native or governance kind) with the largest collateral value held across accounts falls 30%, \
collateral in the tokens priced from it (staking, bridged, receipt) counting toward it. \
A snapshot without volatile collateral needs --scenario. See docs/commands.md#scenarios.";

/// Name of the generic shock in results.
pub const GENERIC_SHOCK_NAME: &str = "generic-shock";
/// Price change of the generic shock's asset.
pub const GENERIC_SHOCK_PRICE_CHANGE: f64 = -0.30;

/// The scenario a command runs: `--scenario` if given; else eth-crash on the built-in system, or
/// the generic shock on a `--snapshot` (see [`SCENARIO_HELP`]).
pub fn resolve_scenario(
    scenario: Option<&str>,
    snapshot_arg: &SnapshotArg,
    snapshot: &Snapshot,
) -> Result<(Scenario, Diagnostics), Failure> {
    if let Some(arg) = scenario {
        return load_scenario(arg, snapshot).map_err(input);
    }
    if snapshot_arg.snapshot.is_none() {
        return load_scenario(builtin::SCENARIOS[0].name, snapshot).map_err(input);
    }
    match most_held_volatile(snapshot) {
        Some(asset) => {
            eprintln!(
                "note: no --scenario: the generic shock, {} {:+}% (the volatile asset most held as collateral)",
                snapshot.assets[asset].id,
                GENERIC_SHOCK_PRICE_CHANGE * 100.0
            );
            Ok((generic_shock(asset), Diagnostics::new()))
        }
        None => {
            let fit = fitting_builtins(snapshot);
            Err(Failure::Input(format!(
                "error: --snapshot {}: no volatile collateral (native or governance asset) for the generic shock; name one with --scenario FILE|NAME ({})",
                snapshot_arg
                    .snapshot
                    .as_deref()
                    .unwrap_or(std::path::Path::new(""))
                    .display(),
                if fit.is_empty() {
                    "no built-in scenario fits this snapshot".to_string()
                } else {
                    format!("built-in scenarios that fit: {}", fit.join(", "))
                }
            )))
        }
    }
}

/// The generic shock on `asset`.
pub fn generic_shock(asset: usize) -> Scenario {
    Scenario {
        name: GENERIC_SHOCK_NAME.into(),
        shocks: vec![Shock {
            asset: Some(asset),
            price_change: Some(GENERIC_SHOCK_PRICE_CHANGE),
            ..Shock::none()
        }],
        ..Scenario::baseline()
    }
}

/// The volatile exogenous asset (native or governance kind) with the largest collateral value held
/// across accounts, collateral in assets priced from it (lst, bridged, receipt) counting toward it;
/// ties go to the first listed. `None` if no account holds such collateral.
pub fn most_held_volatile(snapshot: &Snapshot) -> Option<usize> {
    let assets = &snapshot.assets;
    // Each asset's root (its exogenous underlying) and its price in units of the root's price.
    let root = |mut a: usize| -> (usize, f64) {
        let mut factor = 1.0;
        for _ in 0..=assets.len() {
            let x = &assets[a];
            match x.underlying {
                Some(u) if x.kind.needs_underlying() => {
                    factor *= x.rate * x.discount * (1.0 - x.bridge_loss);
                    a = u;
                }
                _ => break,
            }
        }
        (a, factor)
    };
    let roots: Vec<(usize, f64)> = (0..assets.len()).map(root).collect();
    let mut held = vec![0.0_f64; assets.len()];
    let p = &snapshot.positions;
    for k in 0..p.len() {
        if p.side[k] != Side::Collateral {
            continue;
        }
        let (r, factor) = roots[p.asset[k] as usize];
        let value = p.amount[k] * factor * assets[r].price.unwrap_or(0.0);
        if value.is_finite() && value > 0.0 {
            held[r] += value;
        }
    }
    let volatile = |a: usize| matches!(assets[a].kind, AssetKind::Native | AssetKind::Governance);
    (0..assets.len())
        .filter(|&a| volatile(a) && held[a] > 0.0)
        .fold(None, |best: Option<usize>, a| match best {
            Some(b) if held[b] >= held[a] => Some(b),
            _ => Some(a),
        })
}

/// The built-in scenarios that load against `snapshot` (every asset, protocol and bridge they name
/// exists in it).
pub fn fitting_builtins(snapshot: &Snapshot) -> Vec<&'static str> {
    builtin::SCENARIOS
        .iter()
        .filter(|s| cascade_io::parse_scenario(s.toml, Format::Toml, s.name, snapshot).is_ok())
        .map(|s| s.name)
        .collect()
}
