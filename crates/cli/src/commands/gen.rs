//! `cascade gen`: a realistic synthetic system of any size.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::args::PositionFormat;
use crate::failure::{input, Failure};
use crate::load::{load_snapshot, SnapshotArg};
use crate::output::{check_output_dir, write_file};

/// Flags of `cascade gen`.
#[derive(Args, Debug)]
pub struct GenArgs {
    /// Number of accounts (≥ 1).
    #[arg(long)]
    accounts: usize,
    /// Random seed; the same seed gives the same system bit for bit.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output folder (created if missing): DIR/snapshot.toml and DIR/positions.parquet (or .csv).
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
    /// Position file format.
    #[arg(long, value_enum, default_value_t = PositionFormat::Parquet)]
    format: PositionFormat,
    /// Also add a derivatives clearinghouse with this many portfolio-margined accounts (a perp
    /// and options on listed series each; their draws do not change the lending book).
    #[arg(long, default_value_t = 0)]
    derivative_accounts: usize,
    /// Options per derivatives account.
    #[arg(long, default_value_t = 10)]
    options_per_account: usize,
}

pub fn run(a: &GenArgs) -> Result<(), Failure> {
    if a.accounts == 0 {
        return Err(Failure::Input(
            "error: --accounts must be at least 1".into(),
        ));
    }
    let out = &a.out_dir;
    check_output_dir("--out-dir", out)?;
    let options = cascade_gen::GenOptions {
        derivative_accounts: a.derivative_accounts,
        options_per_account: a.options_per_account,
    };
    let (base, _) = load_snapshot(&SnapshotArg { snapshot: None }).map_err(input)?;
    let t0 = std::time::Instant::now();
    let snap = cascade_gen::generate_with(&base, a.accounts, a.seed, &options).snapshot;
    let pos_name = match a.format {
        PositionFormat::Csv => "positions.csv",
        PositionFormat::Parquet => "positions.parquet",
    };
    let pos_path = out.join(pos_name);
    match a.format {
        PositionFormat::Csv => cascade_io::write::write_positions_csv(&pos_path, &snap),
        PositionFormat::Parquet => cascade_io::write::write_positions_parquet(&pos_path, &snap),
    }
    .with_context(|| format!("writing {}", pos_path.display()))?;
    let toml = cascade_io::write::snapshot_to_toml(&snap, &[pos_name], false);
    let snap_path = out.join("snapshot.toml");
    write_file(&snap_path, toml.as_bytes())?;
    eprintln!(
        "wrote {} ({} accounts, {} positions, {} perps, {} options, seed {}) in {:.2} s",
        snap_path.display(),
        snap.accounts.len(),
        snap.positions.len(),
        snap.perps.len(),
        snap.options.len(),
        a.seed,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
