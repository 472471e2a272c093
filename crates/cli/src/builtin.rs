//! The built-in example system and scenarios, compiled into the binary so `cascade stress` works on a
//! fresh machine. Sources of every parameter: examples/README.md.

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
