//! Reading the row groups of a Parquet position file in parallel: each row group is decoded and
//! validated on its own into a chunk (its accounts, positions and CDP accounts seen without a vault
//! type), and the chunks are merged into the snapshot in row-group order.
//!
//! Only for a deferred read ([`AccountLookup::Deferred`]: the snapshot has no account yet) of a file
//! of several row groups, on more than one thread. The result must be the sequential read's, byte
//! for byte, so the merge gives up — and the caller reads the file in order as before — as soon as
//! a row group's rows raise any diagnostic (their cap, first-warning-only and cross-row checks count
//! from the file's first row), hold a derivative or a margin mode, fail to decode, or an account
//! continuing from the previous row group is given another e-mode or vault type there. A chunk's
//! first account is the previous chunk's last one when its (protocol, account) is the same: the
//! deferred read starts a new account exactly when a row's (protocol, account) differs from the
//! previous row's, so the accounts come out in the same order with the same rows.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};

use ::parquet::arrow::arrow_reader::{ArrowReaderMetadata, ParquetRecordBatchReaderBuilder};
use ::parquet::arrow::ProjectionMask;
use ::parquet::file::reader::ChunkReader;

use super::parquet::load_batches;
use super::rows::RowLoader;
use super::{AccountLookup, N_COLUMNS, ROWS_PER_ACCOUNT_GUESS};
use crate::quiet::catch_quietly;
use crate::Diagnostics;
use cascade_model::{Accounts, Positions, Snapshot};

/// What the row groups of one Parquet file are read with.
pub(super) struct Groups<'a> {
    pub(super) file: &'a str,
    pub(super) metadata: &'a ArrowReaderMetadata,
    pub(super) mask: &'a ProjectionMask,
    /// Where each column read sits in a decoded batch.
    pub(super) batch_index: &'a [Option<usize>; N_COLUMNS],
    /// Rows per decoded batch.
    pub(super) batch_rows: usize,
    /// The file's rows (bounded by its size), for reservations.
    pub(super) total_rows: usize,
}

/// One row group read on its own; account indexes are the chunk's own (from 0).
struct Chunk {
    rows: u64,
    accounts: Accounts,
    positions: Positions,
    /// CDP accounts seen in a row without a vault type while they had none: (account, row).
    missing_vault: Vec<(u32, u64)>,
}

/// Row groups each thread may read ahead of the join, besides the one it is reading.
const GROUPS_AHEAD_PER_THREAD: usize = 1;

#[cfg(test)]
thread_local! {
    /// Files this thread read by row groups in parallel (for the tests).
    pub(super) static PARALLEL_READS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Groups<'_> {
    /// Reads every row group into `s` (empty of accounts and positions) and finishes the read as
    /// [`RowLoader::finish`] does; `false` if it gave up (or the file has one row group, or there is
    /// one thread), leaving `s` and `diags` as they were.
    pub(super) fn read<T: ChunkReader + Send + 'static>(
        &self,
        reopen: &(dyn Fn() -> std::io::Result<T> + Sync),
        s: &mut Snapshot,
        diags: &mut Diagnostics,
    ) -> bool {
        let threads = rayon::current_num_threads();
        let md = self.metadata.metadata();
        let n_groups = md.num_row_groups();
        if threads < 2 || n_groups < 2 {
            return false;
        }
        // Where each row group's rows start (row counts were checked against the footer).
        let mut rows_before = Vec::with_capacity(n_groups);
        let mut total: u64 = 0;
        for rg in md.row_groups() {
            rows_before.push(total);
            total = total.saturating_add(u64::try_from(rg.num_rows()).unwrap_or(0));
        }
        let shell = s.clone();
        s.positions.reserve(self.total_rows);
        s.accounts.reserve(self.total_rows / ROWS_PER_ACCOUNT_GUESS);
        let next = AtomicUsize::new(0);
        let merged = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let window = threads * (1 + GROUPS_AHEAD_PER_THREAD);
        // The buffers of merged chunks, for the next row groups (fresh ones cost page faults).
        let spare: Mutex<Vec<(Accounts, Positions)>> = Mutex::new(Vec::new());
        let mut missing_vault = Vec::new();
        let mut rows = 0u64;
        let done = std::thread::scope(|scope| {
            let (tx, rx) = mpsc::sync_channel::<(usize, Option<Chunk>)>(threads);
            for _ in 0..threads {
                let tx = tx.clone();
                let (next, merged, stop, shell, rows_before, spare) =
                    (&next, &merged, &stop, &shell, &rows_before, &spare);
                scope.spawn(move || loop {
                    let g = next.fetch_add(1, Ordering::Relaxed);
                    if g >= n_groups {
                        break;
                    }
                    // Bounded memory: a row group starts only once those far before it are merged.
                    while g >= merged.load(Ordering::Acquire) + window {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        std::thread::sleep(std::time::Duration::from_micros(100));
                    }
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let buffers = spare.lock().ok().and_then(|mut v| v.pop());
                    let chunk = reopen().ok().and_then(|input| {
                        self.read_group(input, g, rows_before[g], shell, buffers)
                    });
                    if tx.send((g, chunk)).is_err() {
                        return;
                    }
                });
            }
            drop(tx);
            let mut waiting: BTreeMap<usize, Option<Chunk>> = BTreeMap::new();
            let mut ok = true;
            let mut k = 0;
            while ok && k < n_groups {
                let Ok((g, chunk)) = rx.recv() else {
                    ok = false;
                    break;
                };
                waiting.insert(g, chunk);
                while let Some(chunk) = waiting.remove(&k) {
                    ok = chunk.is_some_and(|mut c| {
                        rows += c.rows;
                        let joined = merge(s, &c, &mut missing_vault);
                        c.accounts.clear_keeping_capacity();
                        c.positions.clear_keeping_capacity();
                        if let Ok(mut v) = spare.lock() {
                            v.push((c.accounts, c.positions));
                        }
                        joined
                    });
                    if !ok {
                        break;
                    }
                    k += 1;
                    merged.store(k, Ordering::Release);
                }
            }
            if !ok {
                stop.store(true, Ordering::Relaxed);
            }
            drop(rx);
            ok
        });
        if !done {
            s.accounts = Default::default();
            s.positions = Default::default();
            return false;
        }
        let mut loader = RowLoader::new(self.file, s, diags, AccountLookup::Deferred);
        loader.resume(rows, missing_vault);
        loader.finish();
        #[cfg(test)]
        PARALLEL_READS.with(|n| n.set(n.get() + 1));
        true
    }

    /// Reads row group `g` (after `rows_before` rows of the file) from `input` on its own, validating
    /// its rows into a copy of `shell` (with the empty `buffers` of a merged chunk, if any); `None` if
    /// it must be read in order instead (see the module documentation).
    fn read_group<T: ChunkReader + 'static>(
        &self,
        input: T,
        g: usize,
        rows_before: u64,
        shell: &Snapshot,
        buffers: Option<(Accounts, Positions)>,
    ) -> Option<Chunk> {
        let reader = catch_quietly(|| {
            ParquetRecordBatchReaderBuilder::new_with_metadata(input, self.metadata.clone())
                .with_projection(self.mask.clone())
                .with_row_groups(vec![g])
                .with_batch_size(self.batch_rows)
                .build()
        })
        .ok()?
        .ok()?;
        let mut cs = shell.clone();
        if let Some((accounts, positions)) = buffers {
            (cs.accounts, cs.positions) = (accounts, positions);
        }
        let mut cd = Diagnostics::new();
        let mut loader = RowLoader::new(self.file, &mut cs, &mut cd, AccountLookup::Deferred);
        let rows = self.metadata.metadata().row_group(g).num_rows();
        loader.reserve(usize::try_from(rows).unwrap_or(0).min(self.total_rows));
        let batches = reader.map(|b| b.map_err(|e| e.to_string()));
        catch_quietly(|| load_batches(&mut loader, batches, self.batch_index, rows_before))
            .ok()?
            .ok()?;
        let (rows, missing_vault) = loader.into_chunk()?;
        Some(Chunk {
            rows,
            accounts: cs.accounts,
            positions: cs.positions,
            missing_vault,
        })
    }
}

/// Appends chunk `c` to `s` (accounts unindexed, as a deferred read adds them) and its CDP accounts
/// without a vault type to `missing_vault`; `false` if its first account continues the snapshot's
/// last one with another e-mode or vault type (an error the sequential read reports).
fn merge(s: &mut Snapshot, c: &Chunk, missing_vault: &mut Vec<(u32, u64)>) -> bool {
    let a = &mut s.accounts;
    let base = a.len() as u32;
    let continues = base > 0
        && !c.accounts.is_empty()
        && a.protocol[base as usize - 1] == c.accounts.protocol[0]
        && a.id[base as usize - 1] == c.accounts.id[0];
    if continues {
        let last = base as usize - 1;
        let (emode, vault_type) = (c.accounts.emode[0], c.accounts.vault_type[0]);
        let agree =
            |was: Option<u16>, now: Option<u16>| was.is_none() || now.is_none() || was == now;
        if !agree(a.emode[last], emode) || !agree(a.vault_type[last], vault_type) {
            return false;
        }
        a.emode[last] = a.emode[last].or(emode);
        a.vault_type[last] = a.vault_type[last].or(vault_type);
    }
    // Chunk account k is account `base + k` of the snapshot, one less after a continued account.
    let shift = |k: u32| match (continues, k) {
        (true, 0) => base - 1,
        (true, k) => base + k - 1,
        (false, k) => base + k,
    };
    let from = usize::from(continues).min(c.accounts.len());
    a.id.extend_unindexed(&c.accounts.id, from);
    a.protocol.extend_from_slice(&c.accounts.protocol[from..]);
    a.emode.extend_from_slice(&c.accounts.emode[from..]);
    a.vault_type
        .extend_from_slice(&c.accounts.vault_type[from..]);
    a.margin_mode
        .extend_from_slice(&c.accounts.margin_mode[from..]);
    let p = &mut s.positions;
    p.account
        .extend(c.positions.account.iter().map(|&k| shift(k)));
    p.asset.extend_from_slice(&c.positions.asset);
    p.side.extend_from_slice(&c.positions.side);
    p.amount.extend_from_slice(&c.positions.amount);
    missing_vault.extend(c.missing_vault.iter().map(|&(k, row)| (shift(k), row)));
    true
}

#[cfg(test)]
mod tests;
