//! Account ids, stored compactly: every id's text in one buffer, one end offset per account, and
//! per protocol a hash index of row numbers into that buffer — no heap allocation per account.
//!
//! Ten million ids like `0x…` (42 bytes) cost 42 + 8 bytes each here plus ≈ 5 bytes of index
//! (a `u32` per slot, one control byte, at most 7/8 full), where a `Vec<String>` with a
//! `HashMap<String, u32>` beside it held two heap strings (2 × (24 + 48)) and a 32-byte map entry.

use std::hash::BuildHasher;

use rayon::slice::ParallelSliceMut;
use std::ops::Index;

use hashbrown::hash_table::{Entry, HashTable};
use rustc_hash::FxBuildHasher;

/// The ids of the accounts, row by row, with an index per protocol.
#[derive(Debug, Clone, Default)]
pub struct AccountIds {
    /// Every id's text, one after another.
    text: String,
    /// `ends[k]`: where account `k`'s id ends in `text` (it starts where `k − 1`'s ends), bytes.
    ends: Vec<u64>,
    /// Per protocol: the rows of its accounts, hashed by id. Fx hashing: ids are not adversarial
    /// input to a risk run, and SipHash was most of the time of building a million accounts.
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

fn hash_of(id: &str) -> u64 {
    FxBuildHasher.hash_one(id)
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
        let table = self.index.get(protocol)?;
        table
            .find(hash_of(id), |&k| &self[k as usize] == id)
            .copied()
    }

    /// The row of account `id` of `protocol`: an existing one, or `next` after appending the id
    /// (the caller appends the account's other columns). Returns `(row, created)`.
    pub fn find_or_push(&mut self, protocol: usize, id: &str) -> (u32, bool) {
        debug_assert!(self.is_indexed(), "rows pending indexing");
        if self.index.len() <= protocol {
            self.index.resize_with(protocol + 1, HashTable::new);
        }
        let next = self.ends.len() as u32;
        let (text, ends) = (&self.text, &self.ends);
        let id_of = |k: u32| id_at(text, ends, k as usize);
        match self.index[protocol].entry(hash_of(id), |&k| id_of(k) == id, |&k| hash_of(id_of(k))) {
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
    /// row `k`'s protocol. Fails on the first id found twice in one protocol (the rows from the
    /// failing one's protocol on may be partly indexed: the caller starts again from its own
    /// state).
    ///
    /// Each protocol's new rows are inserted in the order of the table's buckets (by the low bits of
    /// their hashes), so the inserts walk the table forwards instead of jumping across it.
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
        if self.index.len() < n_protocols {
            self.index.resize_with(n_protocols, HashTable::new);
        }
        let mut count = vec![0usize; n_protocols];
        for &p in &protocol[from..to] {
            count[p as usize] += 1;
        }
        let (text, ends) = (&self.text, &self.ends);
        let id_of = |k: u32| id_at(text, ends, k as usize);
        for (p, table) in self.index.iter_mut().enumerate().take(n_protocols) {
            if count[p] == 0 {
                continue;
            }
            table.reserve(count[p], |&k| hash_of(id_of(k)));
            // The table's bucket count: a power of two, at least 8/7 of its capacity.
            let buckets = (table.capacity().saturating_mul(8) / 7 + 1).next_power_of_two();
            let mask = (buckets as u64).saturating_sub(1);
            let mut rows: Vec<(u64, u32)> = (from..to)
                .filter(|&k| protocol[k] as usize == p)
                .map(|k| {
                    (
                        hash_of(&text[row_start(ends, k)..ends[k] as usize]),
                        k as u32,
                    )
                })
                .collect();
            // Keys are unique (the row is part of them): the order is the same on any number of
            // threads.
            rows.par_sort_unstable_by_key(|&(h, k)| (h & mask, k));
            for (h, k) in rows {
                // The new row's text is read only when a stored row's hash tag matches (rarely):
                // in bucket order the rows themselves come in no order.
                match table.entry(h, |&j| id_of(j) == id_of(k), |&j| hash_of(id_of(j))) {
                    Entry::Occupied(e) => {
                        let (a, b) = (*e.get(), k);
                        return Err(RepeatedId {
                            first: a.min(b),
                            again: a.max(b),
                        });
                    }
                    Entry::Vacant(e) => {
                        e.insert(k);
                    }
                }
            }
        }
        self.indexed = to;
        Ok(())
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
        if self.index.len() <= protocol {
            self.index.resize_with(protocol + 1, HashTable::new);
        }
        let (text, ends) = (&self.text, &self.ends);
        self.index[protocol].reserve(n, |&k| hash_of(id_at(text, ends, k as usize)));
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
