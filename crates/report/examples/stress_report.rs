//! Writes the HTML report of one stress run:
//! `cargo run -p cascade-report --example stress_report -- SNAPSHOT.toml SCENARIO.toml OUT.html`.

use std::process::ExitCode;

use cascade_io::Format;
use cascade_io::{parse_scenario, snapshot_from_str};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [snapshot, scenario, out] = args.as_slice() else {
        eprintln!("usage: stress_report SNAPSHOT.toml SCENARIO.toml OUT.html");
        return ExitCode::from(2);
    };
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"));
    let result = (|| -> Result<(), String> {
        let (s, _) = snapshot_from_str(&read(snapshot)?, Format::Toml, snapshot)
            .map_err(|e| e.to_string())?;
        let (sc, _) = parse_scenario(&read(scenario)?, Format::Toml, scenario, &s)
            .map_err(|e| e.to_string())?;
        let r = cascade_engine::run(&s, &sc);
        std::fs::write(out, cascade_report::stress_html(&s, &r)).map_err(|e| format!("{out}: {e}"))
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
