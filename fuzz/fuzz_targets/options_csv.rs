//! Option books (`cascade greeks --file`): any bytes must give options or every problem of the file,
//! never a panic or a hang. Rows are judged as the CLI judges them (a priced option).
#![no_main]
use cascade_io::options::{found, read_options_from, FieldProblem};
use cascade_protocols::options::OptionSpec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = read_options_from("fuzz.csv", text, |r| {
        OptionSpec::new(r.kind, r.spot, r.strike, r.rate, r.vol, r.expiry_years).map_err(|e| {
            FieldProblem {
                field: e.field().to_string(),
                problem: found(e.found().to_string(), e.expected()),
            }
        })
    });
});
