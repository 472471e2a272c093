//! `cascade scenarios`: the built-in scenarios, one line each; with `--snapshot`, the ones that fit
//! it and the shock `stress` and `contagion` apply without `--scenario`.

use clap::Args;

use crate::failure::{input, Failure};
use crate::load::{
    fitting_builtins, load_snapshot, most_held_volatile, SnapshotArg, GENERIC_SHOCK_PRICE_CHANGE,
};
use crate::output::print;
use cascade_io::builtin;

/// Flags of `cascade scenarios`.
#[derive(Args, Debug)]
pub struct ScenariosArgs {
    /// Only the scenarios that fit this snapshot (every asset, protocol and bridge they name exists
    /// in it), and the default shock on it.
    #[arg(long, value_name = "FILE")]
    snapshot: Option<std::path::PathBuf>,
}

pub fn run(a: &ScenariosArgs) -> Result<(), Failure> {
    let width = builtin::SCENARIOS
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(0);
    let line = |name: &str, description: &str| format!("{name:<width$}  {description}\n");
    let mut text = String::new();
    match &a.snapshot {
        None => {
            for s in &builtin::SCENARIOS {
                text.push_str(&line(s.name, s.description));
            }
            text.push_str(&format!(
                "\nDefault: {} on the built-in system; on a --snapshot, the generic shock (the volatile asset most held as collateral {:+}%).\n",
                builtin::SCENARIOS[0].name,
                GENERIC_SHOCK_PRICE_CHANGE * 100.0
            ));
        }
        Some(path) => {
            let arg = SnapshotArg {
                snapshot: Some(path.clone()),
            };
            let (snap, _) = load_snapshot(&arg).map_err(input)?;
            let fit = fitting_builtins(&snap);
            for s in builtin::SCENARIOS.iter().filter(|s| fit.contains(&s.name)) {
                text.push_str(&line(s.name, s.description));
            }
            if fit.is_empty() {
                text.push_str("(no built-in scenario fits this snapshot)\n");
            }
            text.push_str(&match most_held_volatile(&snap) {
                Some(asset) => format!(
                    "\nDefault on this snapshot: the generic shock, {} {:+}%.\n",
                    snap.assets[asset].id,
                    GENERIC_SHOCK_PRICE_CHANGE * 100.0
                ),
                None => "\nDefault on this snapshot: none (no volatile collateral); name a --scenario.\n".into(),
            });
        }
    }
    print(&text)
}
