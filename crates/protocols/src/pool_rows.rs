//! How a protocol's model finds its accounts and their position rows, in row order.
//!
//! [`SnapshotRows`] finds, once for every model of a snapshot, each protocol's accounts and — when
//! the snapshot's rows are sorted by account (as loaded or generated) — where each account's rows
//! start: one pass over the accounts and one over the rows, where each model used to make its own
//! passes over all of them (a pool of 15% of the accounts went through every row twice). A model
//! then reads only its own accounts' rows. Rows in any other order are found through a map from
//! every snapshot account to the model's own, one `u32` per snapshot account, made by the model.

use cascade_model::Snapshot;

/// Each protocol's accounts and where each account's rows start, found once per snapshot (module
/// docs).
pub(crate) struct SnapshotRows {
    /// Per protocol, its accounts (snapshot indices, ascending).
    accounts: Vec<Vec<u32>>,
    /// Rows sorted by account: account `a`'s rows are `row_start[a]..row_start[a + 1]` (`None`
    /// for rows in another order, or more than `u32::MAX` of them).
    row_start: Option<Vec<u32>>,
}

impl SnapshotRows {
    /// Finds them: the accounts and the rows on two threads.
    pub(crate) fn new(s: &Snapshot) -> SnapshotRows {
        let rows = &s.positions.account;
        let n = s.accounts.len();
        let (accounts, row_start) = rayon::join(
            || {
                // Counted first, so that no list grows by copies.
                let mut count = vec![0usize; s.protocols.len()];
                for &p in &s.accounts.protocol {
                    if let Some(c) = count.get_mut(p as usize) {
                        *c += 1;
                    }
                }
                let mut by: Vec<Vec<u32>> = count.iter().map(|&c| Vec::with_capacity(c)).collect();
                for (a, &p) in s.accounts.protocol.iter().enumerate() {
                    if let Some(v) = by.get_mut(p as usize) {
                        v.push(a as u32);
                    }
                }
                by
            },
            || {
                let sorted = u32::try_from(rows.len()).is_ok()
                    && rows.last().is_none_or(|&a| (a as usize) < n)
                    && rows.windows(2).all(|w| w[0] <= w[1]);
                sorted.then(|| {
                    // `row_start[a]`: the first row whose account is `a` or later. Each account's
                    // first row is the last written going backwards; an account without rows
                    // then takes the next one's start (without a branch on either).
                    let mut row_start = vec![u32::MAX; n + 1];
                    row_start[n] = rows.len() as u32;
                    for (r, &a) in rows.iter().enumerate().rev() {
                        row_start[a as usize] = r as u32;
                    }
                    for a in (0..n).rev() {
                        row_start[a] = row_start[a].min(row_start[a + 1]);
                    }
                    row_start
                })
            },
        );
        SnapshotRows {
            accounts,
            row_start,
        }
    }

    /// Protocol `protocol`'s accounts (snapshot indices, ascending).
    pub(crate) fn accounts(&self, protocol: usize) -> &[u32] {
        self.accounts.get(protocol).map_or(&[], Vec::as_slice)
    }

    /// How to find the rows of protocol `protocol`'s accounts.
    pub(crate) fn rows(&self, s: &Snapshot, protocol: usize) -> PoolRows<'_> {
        match &self.row_start {
            Some(starts) => PoolRows::Sorted(starts),
            None => {
                let mut local = vec![u32::MAX; s.accounts.len()];
                for (l, &a) in self.accounts(protocol).iter().enumerate() {
                    local[a as usize] = l as u32;
                }
                PoolRows::Mapped(local)
            }
        }
    }
}

/// A model's accounts (snapshot indices, ascending) against the snapshot's rows.
pub(crate) enum PoolRows<'a> {
    /// The rows are sorted by account: account `a`'s rows are `starts[a]..starts[a + 1]`
    /// ([`SnapshotRows`]).
    Sorted(&'a [u32]),
    /// The rows are in any order: `local[a]` is snapshot account `a`'s index among the model's
    /// accounts (`u32::MAX` if not one of them).
    Mapped(Vec<u32>),
}

impl PoolRows<'_> {
    /// Calls `f(l, r)` for each row `r` whose account is `accounts[l]`, in row order (`accounts`
    /// as [`SnapshotRows::accounts`] gives them; `rows_account` the snapshot's rows' accounts).
    pub(crate) fn each(
        &self,
        rows_account: &[u32],
        accounts: &[u32],
        mut f: impl FnMut(usize, usize),
    ) {
        match self {
            // The accounts ascending and each one's rows in order: the rows in row order.
            PoolRows::Sorted(starts) => {
                for (l, &a) in accounts.iter().enumerate() {
                    let a = a as usize;
                    for r in starts[a] as usize..starts[a + 1] as usize {
                        f(l, r);
                    }
                }
            }
            PoolRows::Mapped(local) => {
                for (r, &a) in rows_account.iter().enumerate() {
                    let l = local[a as usize];
                    if l != u32::MAX {
                        f(l as usize, r);
                    }
                }
            }
        }
    }
}
