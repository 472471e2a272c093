//! Test support shared by cascade's crates (a dev-dependency only): parsing fixture systems and
//! comparing snapshots.
#![forbid(unsafe_code)]

pub mod system;

use cascade_io::{snapshot_from_str, Format};
use cascade_model::{ProtocolParams, Snapshot};

/// Parses a TOML snapshot, panicking with every finding and the text if it does not load.
pub fn parse(text: &str) -> Snapshot {
    match snapshot_from_str(text, Format::Toml, "test.toml") {
        Ok((s, _)) => s,
        Err(e) => panic!("{e}\n--- text ---\n{text}"),
    }
}

/// The snapshot without what depends on where it was read from (file name, line numbers).
pub fn normalized(mut s: Snapshot) -> Snapshot {
    s.source.clear();
    for a in &mut s.assets {
        a.line = 0;
    }
    for c in &mut s.correlations {
        c.line = 0;
    }
    for p in &mut s.protocols {
        p.line = 0;
        match &mut p.params {
            ProtocolParams::Lending(l) => {
                for r in &mut l.reserves {
                    r.line = 0;
                }
                for e in &mut l.emode {
                    e.line = 0;
                }
            }
            ProtocolParams::Cdp(c) => {
                for v in &mut c.vault_types {
                    v.line = 0;
                }
            }
            ProtocolParams::Clearinghouse(c) => {
                c.collateral.iter_mut().for_each(|w| w.line = 0);
                c.liabilities.iter_mut().for_each(|w| w.line = 0);
                c.markets.iter_mut().for_each(|m| m.line = 0);
                c.options.line = 0;
            }
            ProtocolParams::Bridge(_) | ProtocolParams::Amm(_) | ProtocolParams::Algostable(_) => {}
        }
    }
    s
}
