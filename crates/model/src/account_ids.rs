//! Account ids, stored compactly: every id's text in one buffer, one end offset per account, and
//! per protocol a hash index of row numbers into that buffer — no heap allocation per account.
//!
//! Ten million ids like `0x…` (42 bytes) cost 42 + 8 bytes each here plus ≈ 5 bytes of index
//! (a `u32` per slot, one control byte, at most 7/8 full), where a `Vec<String>` with a
//! `HashMap<String, u32>` beside it held two heap strings (2 × (24 + 48)) and a 32-byte map entry.

use std::hash::BuildHasher;
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

    /// The row of account `id` of `protocol`, if it has one.
    pub fn find(&self, protocol: usize, id: &str) -> Option<u32> {
        let table = self.index.get(protocol)?;
        table
            .find(hash_of(id), |&k| &self[k as usize] == id)
            .copied()
    }

    /// The row of account `id` of `protocol`: an existing one, or `next` after appending the id
    /// (the caller appends the account's other columns). Returns `(row, created)`.
    pub fn find_or_push(&mut self, protocol: usize, id: &str) -> (u32, bool) {
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
                (next, true)
            }
        }
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
    let end = ends[k] as usize;
    let start = if k == 0 { 0 } else { ends[k - 1] as usize };
    &text[start..end]
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
