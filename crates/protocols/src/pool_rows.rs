//! How a protocol's model finds the position rows of its accounts, in row order: along the rows
//! when the snapshot's rows are sorted by account (as loaded or generated), walking its accounts
//! beside them; otherwise through a map from every snapshot account to the model's own. The walk
//! touches no fresh memory; the map is one `u32` per snapshot account.

/// The model's accounts (snapshot indices, ascending) against the snapshot's rows.
pub(crate) enum PoolRows {
    /// The rows are sorted by account: the accounts are walked along them.
    Sorted,
    /// The rows are in any order: `local[a]` is snapshot account `a`'s index among the model's
    /// accounts (`u32::MAX` if not one of them).
    Mapped(Vec<u32>),
}

impl PoolRows {
    /// How to find the rows of `accounts` (snapshot indices, ascending) among rows whose accounts
    /// are `rows_account`, in a snapshot of `n_accounts` accounts.
    pub(crate) fn new(rows_account: &[u32], accounts: &[u32], n_accounts: usize) -> PoolRows {
        if rows_account.windows(2).all(|w| w[0] <= w[1]) {
            return PoolRows::Sorted;
        }
        let mut local = vec![u32::MAX; n_accounts];
        for (l, &a) in accounts.iter().enumerate() {
            local[a as usize] = l as u32;
        }
        PoolRows::Mapped(local)
    }

    /// Calls `f(l, r)` for each row `r` whose account is `accounts[l]`, in row order (`accounts`
    /// and `rows_account` as given to [`PoolRows::new`]).
    pub(crate) fn each(
        &self,
        rows_account: &[u32],
        accounts: &[u32],
        mut f: impl FnMut(usize, usize),
    ) {
        match self {
            PoolRows::Sorted => {
                let mut l = 0;
                for (r, &a) in rows_account.iter().enumerate() {
                    while accounts.get(l).is_some_and(|&x| x < a) {
                        l += 1;
                    }
                    if accounts.get(l) == Some(&a) {
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
