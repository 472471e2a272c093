//! The built-in example system and scenarios, compiled in so that `cascade stress` (and the Python
//! package) work on a fresh machine with no file. Sources of every parameter: examples/README.md.

use std::path::Path;

use cascade_model::{Scenario, Snapshot};

use crate::{Diagnostics, Format, LoadError, Location};

pub const SYSTEM_TOML: &str = include_str!("../../../examples/builtin/system.toml");
pub const SYSTEM_NAME: &str = "<builtin>/system.toml";

/// A built-in scenario.
pub struct BuiltinScenario {
    pub name: &'static str,
    /// One line for `cascade scenarios`.
    pub description: &'static str,
    pub toml: &'static str,
}

/// A built-in scenario: `examples/builtin/NAME.toml` with its one-line description.
macro_rules! builtin {
    ($name:literal, $description:literal) => {
        BuiltinScenario {
            name: $name,
            description: $description,
            toml: include_str!(concat!("../../../examples/builtin/", $name, ".toml")),
        }
    };
}

/// Built-in scenarios. The first is the default on the built-in system.
pub const SCENARIOS: [BuiltinScenario; 4] = [
    builtin!(
        "eth-crash",
        "ETH −40%, stETH at a 5% discount, every market half as deep"
    ),
    builtin!(
        "steth-depeg",
        "stETH at 0.93 ETH while ETH falls 10%, the Curve stETH/ETH pool half as deep (June 2022)"
    ),
    builtin!(
        "bridge-hack",
        "the wormhole bridge loses half of its ETH, whETH's market a quarter as deep (February 2022)"
    ),
    builtin!(
        "usdc-depeg",
        "USDC −13%, DAI following its USDC backing (March 2023)"
    ),
];

/// The built-in scenario named `name`.
pub fn scenario(name: &str) -> Option<&'static BuiltinScenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

pub fn scenario_names() -> Vec<&'static str> {
    SCENARIOS.iter().map(|s| s.name).collect()
}

/// The built-in system, with its warnings.
pub fn system() -> Result<(Snapshot, Diagnostics), LoadError> {
    crate::snapshot_from_str(SYSTEM_TOML, Format::Toml, SYSTEM_NAME)
}

/// A scenario: the file at `arg` if one exists (TOML, or JSON if it ends in `.json`), else the
/// built-in scenario of that name; checked against `snapshot`. Fails with every problem found (a
/// missing file that is not a built-in name among them, naming the built-in ones).
pub fn scenario_file_or_builtin(
    arg: &str,
    snapshot: &Snapshot,
) -> Result<(Scenario, Diagnostics), Diagnostics> {
    let file_error = |msg: String| {
        let mut d = Diagnostics::new();
        d.error(arg, Location::File, "", msg);
        d
    };
    let path = Path::new(arg);
    if !path.exists() {
        return match scenario(arg) {
            Some(builtin) => {
                let name = format!("<builtin>/{arg}.toml");
                crate::parse_scenario(builtin.toml, Format::Toml, &name, snapshot)
                    .map_err(|e| e.diagnostics)
            }
            None => Err(file_error(format!(
                "no such scenario file, and not a built-in scenario (built-in: {})",
                scenario_names().join(", ")
            ))),
        };
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| file_error(format!("cannot read: {e}")))?;
    if text.trim().is_empty() {
        return Err(file_error("the file is empty; expected a scenario".into()));
    }
    crate::parse_scenario(&text, Format::from_path(arg), arg, snapshot).map_err(|e| e.diagnostics)
}
