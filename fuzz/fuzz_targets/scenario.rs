//! Scenario documents against the built-in system (so asset and protocol names can resolve): the first
//! byte picks TOML or JSON.
#![no_main]
use cascade_io::{parse_scenario, snapshot_from_str, Format};
use cascade_model::Snapshot;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn system() -> &'static Snapshot {
    static SYSTEM: OnceLock<Snapshot> = OnceLock::new();
    SYSTEM.get_or_init(|| {
        let text = include_str!("../../examples/builtin/system.toml");
        match snapshot_from_str(text, Format::Toml, "builtin") {
            Ok((s, _)) => s,
            Err(e) => panic!("the built-in system must load: {e:?}"),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let format = if pick & 1 == 0 { Format::Toml } else { Format::Json };
    let _ = parse_scenario(text, format, "fuzz", system());
});
