//! Account ids, stored compactly: every id's text in one buffer, one end offset per account, and
//! per protocol a hash index of row numbers into that buffer — no heap allocation per account.
//!
//! Ten million ids like `0x…` (42 bytes) cost 42 + 8 bytes each here plus ≈ 5 bytes of index
//! (a `u32` per slot, one control byte, at most 7/8 full), where a `Vec<String>` with a
//! `HashMap<String, u32>` beside it held two heap strings (2 × (24 + 48)) and a 32-byte map entry.
//!
//! Each protocol's index is split into [`SHARDS`] tables by bits of the id's hash that neither
//! picks a table's bucket nor its tag, so that the rows of a deferred read are indexed on every
//! thread at once, each table by one thread, and the tables come out the same on any number.

use std::hash::BuildHasher;

use rayon::prelude::*;
use std::ops::Index;

use crate::grouping::group_by_key;

use hashbrown::hash_table::{Entry, HashTable};
use rustc_hash::FxBuildHasher;

/// The ids of the accounts, row by row, with an index per protocol.
#[derive(Debug, Clone, Default)]
pub struct AccountIds {
    /// Every id's text, one after another.
    text: String,
    /// `ends[k]`: where account `k`'s id ends in `text` (it starts where `k − 1`'s ends), bytes.
    ends: Vec<u64>,
    /// Per protocol, [`SHARDS`] tables of the rows of its accounts, hashed by id: protocol `p`'s
    /// shard `k` is `index[p · SHARDS + k]`. Fx hashing: ids are not adversarial input to a risk
    /// run, and SipHash was most of the time of building a million accounts.
    index: Vec<HashTable<u32>>,
    /// Rows `indexed..len()` were appended by [`AccountIds::push_unindexed`] and are not in the
    /// index yet ([`AccountIds::index_pending`] adds them).
    indexed: usize,
}

/// An id that [`AccountIds::index_pending`] found twice in one protocol: the rows of both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepeatedId {
    pub first: u32,
    pub again: u32,
}

/// Tables per protocol in the index.
pub const SHARDS: usize = 16;

fn hash_of(id: &str) -> u64 {
    FxBuildHasher.hash_one(id)
}

/// The shard of an id's hash: bits 40 – 43. A table picks its bucket by the low bits of the hash
/// (a table of 2⁴⁰ buckets is out of reach) and its tag by the top 7; sharding on either would
/// make the tables' tags or buckets collide more.
fn shard_of(hash: u64) -> usize {
    ((hash >> 40) as usize) & (SHARDS - 1)
}

/// Where protocol `protocol`'s table for `hash` is in the index.
fn table_of(protocol: usize, hash: u64) -> usize {
    protocol * SHARDS + shard_of(hash)
}

impl AccountIds {
    /// Number of accounts.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The id of account `k`, if there is one.
    pub fn get(&self, k: usize) -> Option<&str> {
        let end = usize::try_from(*self.ends.get(k)?).ok()?;
        let start = match k {
            0 => 0,
            _ => usize::try_from(self.ends[k - 1]).ok()?,
        };
        self.text.get(start..end)
    }

    /// The ids in row order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(|k| &self[k])
    }

    /// The row of account `id` of `protocol`, if it has one (among the indexed rows).
    pub fn find(&self, protocol: usize, id: &str) -> Option<u32> {
        debug_assert_eq!(self.indexed, self.len(), "rows pending indexing");
        let h = hash_of(id);
        let table = self.index.get(table_of(protocol, h))?;
        table.find(h, |&k| &self[k as usize] == id).copied()
    }

    /// The row of account `id` of `protocol`: an existing one, or `next` after appending the id
    /// (the caller appends the account's other columns). Returns `(row, created)`.
    pub fn find_or_push(&mut self, protocol: usize, id: &str) -> (u32, bool) {
        debug_assert!(self.is_indexed(), "rows pending indexing");
        self.cover(protocol + 1);
        let next = self.ends.len() as u32;
        let (text, ends) = (&self.text, &self.ends);
        let id_of = |k: u32| id_at(text, ends, k as usize);
        let h = hash_of(id);
        match self.index[table_of(protocol, h)].entry(
            h,
            |&k| id_of(k) == id,
            |&k| hash_of(id_of(k)),
        ) {
            Entry::Occupied(e) => (*e.get(), false),
            Entry::Vacant(e) => {
                e.insert(next);
                self.text.push_str(id);
                self.ends.push(self.text.len() as u64);
                self.indexed = self.ends.len();
                (next, true)
            }
        }
    }

    /// Whether every row is in the index (no [`AccountIds::push_unindexed`] row waits).
    pub fn is_indexed(&self) -> bool {
        self.indexed == self.len()
    }

    /// Appends `id` as a new row without looking it up or indexing it: for a loader that reads
    /// each account's rows together and indexes them all at the end with
    /// [`AccountIds::index_pending`] (one probe of a large index per account costs a cache miss;
    /// indexing many at once in the table's own order does not).
    pub fn push_unindexed(&mut self, id: &str) -> u32 {
        let row = self.ends.len() as u32;
        self.text.push_str(id);
        self.ends.push(self.text.len() as u64);
        row
    }

    /// Appends the rows `from..` of `other` as [`AccountIds::push_unindexed`] would, one by one, but
    /// copying their text at once.
    pub fn extend_unindexed(&mut self, other: &AccountIds, from: usize) {
        let Some(rest) = other.ends.get(from..) else {
            return;
        };
        let start = row_start(&other.ends, from);
        let Some(text) = other.text.get(start..) else {
            return;
        };
        // Row k of `other` ends at ends[k] there, and at ends[k] − start + (this text's length) here.
        let shift = self.text.len() as u64;
        self.text.push_str(text);
        self.ends
            .extend(rest.iter().map(|&e| e - start as u64 + shift));
    }

    /// Adds the rows appended by [`AccountIds::push_unindexed`] to the index, `protocol[k]` being
    /// row `k`'s protocol. Fails on an id found twice in one protocol: the first such table's (in
    /// index order) first repeat, the same on any number of threads (tables other than the failing
    /// one may be partly indexed: the caller starts again from its own state).
    ///
    /// The new rows' hashes are computed in row order and sorted by table (a counting sort, by
    /// blocks of rows in parallel); then the tables are filled in parallel, each by one thread in
    /// row order. A table holds a sixteenth of a protocol's accounts, a few MB at ten million, so
    /// its inserts stay within the caches.
    pub fn index_pending(&mut self, protocol: &[u32]) -> Result<(), RepeatedId> {
        let (from, to) = (self.indexed, self.len());
        if from == to {
            return Ok(());
        }
        let n_protocols = protocol[from..to]
            .iter()
            .map(|&p| p as usize + 1)
            .max()
            .unwrap_or(0);
        self.cover(n_protocols);
        let (text, ends) = (&self.text, &self.ends);
        let id_of = |k: u32| id_at(text, ends, k as usize);
        let by_table = group_by_key(from..to, self.index.len(), |k| {
            let h = hash_of(id_of(k as u32));
            (table_of(protocol[k] as usize, h), (h, k as u32))
        });
        let repeats: Vec<Option<RepeatedId>> = self
            .index
            .par_iter_mut()
            .zip(by_table.par_iter())
            .map(|(table, new)| {
                if new.is_empty() {
                    return None;
                }
                table.reserve(new.len(), |&k| hash_of(id_of(k)));
                for &(h, k) in new.iter() {
                    match table.entry(h, |&j| id_of(j) == id_of(k), |&j| hash_of(id_of(j))) {
                        Entry::Occupied(e) => {
                            let (a, b) = (*e.get(), k);
                            return Some(RepeatedId {
                                first: a.min(b),
                                again: a.max(b),
                            });
                        }
                        Entry::Vacant(e) => {
                            e.insert(k);
                        }
                    }
                }
                None
            })
            .collect();
        if let Some(r) = repeats.into_iter().flatten().next() {
            return Err(r);
        }
        self.indexed = to;
        Ok(())
    }

    /// Makes the index hold the tables of protocols `0..n_protocols` at least.
    fn cover(&mut self, n_protocols: usize) {
        if self.index.len() < n_protocols * SHARDS {
            self.index.resize_with(n_protocols * SHARDS, HashTable::new);
        }
    }

    /// Forgets every row and the index.
    pub fn clear(&mut self) {
        *self = AccountIds::default();
    }

    /// Forgets every row and the index, keeping the memory of the rows for the next ones (a buffer
    /// reused, instead of fresh pages faulted in again).
    pub fn clear_keeping_capacity(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.index.clear();
        self.indexed = 0;
    }

    /// Reserves room for `n` more accounts (rows and, at a guess of `bytes` each, their text).
    pub fn reserve(&mut self, n: usize, bytes: usize) {
        self.ends.reserve(n);
        self.text.reserve(n.saturating_mul(bytes));
    }

    /// Reserves room for `n` more accounts of `protocol` in its index.
    pub fn reserve_for(&mut self, protocol: usize, n: usize) {
        self.cover(protocol + 1);
        let (text, ends) = (&self.text, &self.ends);
        // Each table's share, with room for the spread of a hash's shard (≈ √(n / SHARDS)).
        let share = n / SHARDS + n / (SHARDS * 8) + 16;
        for table in &mut self.index[protocol * SHARDS..(protocol + 1) * SHARDS] {
            table.reserve(share, |&k| hash_of(id_at(text, ends, k as usize)));
        }
    }
}

/// Account `k`'s id in `text` delimited by `ends` (`k` a row of the index: always in range).
fn id_at<'a>(text: &'a str, ends: &[u64], k: usize) -> &'a str {
    &text[row_start(ends, k)..ends[k] as usize]
}

/// Where row `k`'s id starts in the text.
fn row_start(ends: &[u64], k: usize) -> usize {
    if k == 0 {
        0
    } else {
        ends[k - 1] as usize
    }
}

impl Index<usize> for AccountIds {
    type Output = str;

    /// The id of account `k`.
    ///
    /// # Panics
    /// If `k` is not an account (a caller's bug: rows come from the snapshot itself).
    fn index(&self, k: usize) -> &str {
        id_at(&self.text, &self.ends, k)
    }
}

/// Two id lists are equal when they hold the same ids in the same rows (the index follows).
impl PartialEq for AccountIds {
    fn eq(&self, other: &Self) -> bool {
        self.ends == other.ends && self.text == other.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_ids_are_the_rows_pushed_one_by_one() {
        let mut other = AccountIds::default();
        for id in ["0xa", "0xbb", "", "0xdddd"] {
            other.push_unindexed(id);
        }
        let mut ids = AccountIds::default();
        ids.push_unindexed("first");
        ids.extend_unindexed(&other, 1);
        // "first" then rows 1.. of other: "0xbb", "", "0xdddd"; text "first0xbb0xdddd" ends at
        // 5, 9, 9, 15.
        assert_eq!(ids.ends, [5, 9, 9, 15]);
        assert_eq!(
            ids.iter().collect::<Vec<_>>(),
            ["first", "0xbb", "", "0xdddd"]
        );
        ids.extend_unindexed(&other, 4);
        ids.extend_unindexed(&other, 9);
        assert_eq!(ids.len(), 4);
        assert_eq!(ids.index_pending(&[0, 0, 0, 0]), Ok(()));
        assert_eq!(ids.find(0, "0xdddd"), Some(3));
    }

    #[test]
    fn cleared_ids_keep_their_memory_and_start_again_from_row_0() {
        let mut ids = AccountIds::default();
        ids.push_unindexed("0xaaaa");
        ids.push_unindexed("0xbbbb");
        let text_bytes = ids.text.capacity();
        ids.clear_keeping_capacity();
        assert!(ids.is_empty() && ids.is_indexed());
        assert!(ids.text.capacity() >= text_bytes);
        // The old rows are gone from the index too: "0xbbbb" is new again, at row 0.
        assert_eq!(ids.find_or_push(0, "0xbbbb"), (0, true));
        assert_eq!(ids.get(0), Some("0xbbbb"));
        assert_eq!(ids.get(1), None);
    }

    #[test]
    fn ids_are_found_in_their_protocol_only_and_kept_in_row_order() {
        let mut ids = AccountIds::default();
        assert_eq!(ids.find_or_push(0, "alice"), (0, true));
        assert_eq!(ids.find_or_push(1, "alice"), (1, true));
        assert_eq!(ids.find_or_push(0, "bob"), (2, true));
        assert_eq!(ids.find_or_push(0, "alice"), (0, false));
        assert_eq!(ids.find_or_push(3, ""), (3, true));
        assert_eq!(ids.find(1, "alice"), Some(1));
        assert_eq!(ids.find(1, "bob"), None);
        assert_eq!(ids.find(2, "alice"), None);
        assert_eq!(ids.find(9, "alice"), None);
        assert_eq!(ids.find(3, ""), Some(3));
        assert_eq!(
            ids.iter().collect::<Vec<_>>(),
            ["alice", "alice", "bob", ""]
        );
        assert_eq!(&ids[2], "bob");
        assert_eq!(ids.get(3), Some(""));
        assert_eq!(ids.get(4), None);
    }

    #[test]
    fn rows_pushed_unindexed_are_found_once_indexed_and_repeats_are_caught() {
        let mut ids = AccountIds::default();
        assert_eq!(ids.find_or_push(0, "old"), (0, true));
        let mut protocol = vec![0u32];
        for k in 0..5_000u32 {
            let p = k % 3;
            assert_eq!(ids.push_unindexed(&format!("acc-{k}")), k + 1);
            protocol.push(p);
        }
        // The same id in two protocols is two accounts.
        assert_eq!(ids.push_unindexed("old"), 5_001);
        protocol.push(2);
        assert!(!ids.is_indexed());
        assert_eq!(ids.index_pending(&protocol), Ok(()));
        assert!(ids.is_indexed());
        for k in 0..5_000u32 {
            assert_eq!(ids.find((k % 3) as usize, &format!("acc-{k}")), Some(k + 1));
            assert_eq!(ids.find(((k + 1) % 3) as usize, &format!("acc-{k}")), None);
        }
        assert_eq!(ids.find(0, "old"), Some(0));
        assert_eq!(ids.find(2, "old"), Some(5_001));
        // Rows pushed after are looked up as before.
        assert_eq!(ids.find_or_push(1, "acc-1"), (2, false));
        assert_eq!(ids.find_or_push(1, "new"), (5_002, true));
        protocol.push(1);
        // An id pushed twice in one protocol (rows 5_003 and 5_005), or again after it was indexed.
        for (id, p) in [("a", 1), ("b", 1), ("a", 1)] {
            ids.push_unindexed(id);
            protocol.push(p);
        }
        assert_eq!(
            ids.index_pending(&protocol),
            Err(RepeatedId {
                first: 5_003,
                again: 5_005
            })
        );
        let mut ids2 = AccountIds::default();
        assert_eq!(ids2.find_or_push(0, "x"), (0, true));
        ids2.push_unindexed("x");
        assert_eq!(
            ids2.index_pending(&[0, 0]),
            Err(RepeatedId { first: 0, again: 1 })
        );
    }

    #[test]
    fn the_repeat_reported_is_the_first_tables_on_any_number_of_threads() {
        // Two protocols of 20,000 new rows each; protocol 1 repeats one id, protocol 0 two ids
        // whose tables differ: the repeat reported is the one in the lowest table of the index
        // (protocol 0's, and of those the lower shard), whatever the thread count.
        let mut ids = AccountIds::default();
        let mut protocol = Vec::new();
        for k in 0..40_000u32 {
            ids.push_unindexed(&format!("0x{k:040x}"));
            protocol.push(k % 2);
        }
        let id = |k: u32| format!("0x{k:040x}");
        // Rows 0 and 2 are protocol 0's; find two of its ids in different shards.
        let shard = |k: u32| shard_of(hash_of(&id(k)));
        let a = 0u32;
        let b = (1..20_000u32)
            .map(|i| 2 * i)
            .find(|&k| shard(k) != shard(a))
            .unwrap_or(2);
        let again = [(id(a), 0u32), (id(b), 0), (id(1), 1)];
        for (text, p) in &again {
            ids.push_unindexed(text);
            protocol.push(*p);
        }
        let expected = if shard(a) < shard(b) {
            RepeatedId {
                first: a,
                again: 40_000,
            }
        } else {
            RepeatedId {
                first: b,
                again: 40_001,
            }
        };
        for threads in [1, 2, 3] {
            let mut copy = ids.clone();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            assert_eq!(
                pool.install(|| copy.index_pending(&protocol)),
                Err(expected)
            );
        }
        // Without the repeats every row is found, in its own protocol only, on 1 or 2 threads.
        for threads in [1, 2] {
            let mut copy = ids.clone();
            copy.ends.truncate(40_000);
            copy.text.truncate(copy.ends[39_999] as usize);
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            assert_eq!(
                pool.install(|| copy.index_pending(&protocol[..40_000])),
                Ok(())
            );
            for k in (0..40_000u32).step_by(97) {
                assert_eq!(copy.find((k % 2) as usize, &id(k)), Some(k));
                assert_eq!(copy.find(((k + 1) % 2) as usize, &id(k)), None);
            }
        }
    }

    #[test]
    fn the_index_survives_growth_past_its_reservation() {
        let mut ids = AccountIds::default();
        ids.reserve_for(0, 4);
        for k in 0..10_000u32 {
            assert_eq!(ids.find_or_push(0, &format!("acc-{k}")), (k, true));
        }
        ids.reserve_for(0, 100_000);
        for k in (0..10_000u32).rev() {
            assert_eq!(ids.find(0, &format!("acc-{k}")), Some(k));
        }
        assert_eq!(ids.find(0, "acc-10000"), None);
    }
}
