//! The built-in example system and scenarios, compiled into the binary so `cascade stress` works on a
//! fresh machine. Sources of every parameter: examples/README.md.

pub const SYSTEM_TOML: &str = include_str!("../../../examples/builtin/system.toml");
pub const SYSTEM_NAME: &str = "<builtin>/system.toml";

/// Built-in scenarios: (name, TOML). The first is the default.
pub const SCENARIOS: [(&str, &str); 4] = [
    (
        "eth-crash",
        include_str!("../../../examples/builtin/eth-crash.toml"),
    ),
    (
        "steth-depeg",
        include_str!("../../../examples/builtin/steth-depeg.toml"),
    ),
    (
        "bridge-hack",
        include_str!("../../../examples/builtin/bridge-hack.toml"),
    ),
    (
        "usdc-depeg",
        include_str!("../../../examples/builtin/usdc-depeg.toml"),
    ),
];

pub fn scenario(name: &str) -> Option<&'static str> {
    SCENARIOS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

pub fn scenario_names() -> Vec<&'static str> {
    SCENARIOS.iter().map(|(n, _)| *n).collect()
}
