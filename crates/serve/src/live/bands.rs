//! Where each account's histogram bin is kept current (docs/serve-live.md#what-a-price-update-recomputes):
//! per pair of coordinates, the accounts keyed by the ends of their band ([`super::coords`]), so
//! that a move of the pair's angle from `θ0` to `θ1` finds exactly the accounts whose band it
//! leaves; per coordinate, the accounts checked at every move of it (more than two coordinates, or
//! too close to an edge for a band).
//!
//! Every keying of an account has a generation; an entry is live while its generation is the
//! account's. Re-keyed entries go to a small unsorted buffer, merged into the sorted rest when the
//! buffer or the dead entries grow.

/// Sorted keys with an unsorted buffer: `(key, account, generation)`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Keys {
    main: Vec<(f64, u32, u32)>,
    buf: Vec<(f64, u32, u32)>,
    /// Entries of `main` and `buf` known dead (approximate: for merging).
    dead: usize,
}

/// Buffered entries beyond which a list is merged: this share of the sorted ones (small, since every
/// move scans the buffer), and at least [`MIN_MERGE`] (dead ones: half the sorted ones).
const MERGE_SHARE: usize = 16;
const MIN_MERGE: usize = 1024;

impl Keys {
    pub fn push(&mut self, key: f64, k: u32, gen: u32) {
        self.buf.push((key, k, gen));
    }

    pub fn died(&mut self) {
        self.dead += 1;
    }

    /// Calls `f` with every entry whose key is in `(a, b]` (`up`) or `[a, b)` (not `up`).
    pub fn range(&self, a: f64, b: f64, up: bool, mut f: impl FnMut(u32, u32)) {
        let inside = |x: f64| if up { a < x && x <= b } else { a <= x && x < b };
        let (from, to) = if up {
            (
                self.main.partition_point(|e| e.0 <= a),
                self.main.partition_point(|e| e.0 <= b),
            )
        } else {
            (
                self.main.partition_point(|e| e.0 < a),
                self.main.partition_point(|e| e.0 < b),
            )
        };
        for e in &self.main[from..to.max(from)] {
            f(e.1, e.2);
        }
        for e in &self.buf {
            if inside(e.0) {
                f(e.1, e.2);
            }
        }
    }

    /// Merges the buffer into the sorted entries if it is due (or `force`). The buffer's dead
    /// entries are dropped; the sorted ones are checked (a lookup per entry) only when many are
    /// known dead or when forced — otherwise they stay until then, skipped by the callers of
    /// [`Keys::range`], which check generations anyway.
    pub fn merge(&mut self, live: impl Fn(u32, u32) -> bool, force: bool) {
        let due_buf = self.buf.len() > MIN_MERGE.max(self.main.len() / MERGE_SHARE);
        let due_dead = self.dead > MIN_MERGE.max(self.main.len() / 2);
        if !(due_buf || due_dead || (force && !self.buf.is_empty())) {
            return;
        }
        let check = due_dead || force;
        let mut buf = std::mem::take(&mut self.buf);
        buf.retain(|e| live(e.1, e.2));
        buf.sort_unstable_by(cmp);
        if check {
            self.main.retain(|e| live(e.1, e.2));
        }
        // In place, from the back: the sorted entries grow by the buffer's (their capacity kept
        // from merge to merge, so a merge touches no fresh memory), and on equal keys the sorted
        // entry stays first, as a forward merge keeps it.
        let old = self.main.len();
        self.main.resize(old + buf.len(), (0.0, 0, 0));
        let (mut i, mut w) = (old, old + buf.len());
        for &b in buf.iter().rev() {
            while i > 0 && cmp(&self.main[i - 1], &b).is_gt() {
                w -= 1;
                self.main[w] = self.main[i - 1];
                i -= 1;
            }
            w -= 1;
            self.main[w] = b;
        }
        buf.clear();
        self.buf = buf;
        if check {
            self.dead = 0;
        }
    }
}

fn cmp(a: &(f64, u32, u32), b: &(f64, u32, u32)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

/// The banded accounts of one pair of coordinates `(r, s)`: keyed by their band's lower end
/// (reached when `θ` falls) and upper end (when it rises); `theta` is the angle the bands were
/// last brought to.
#[derive(Debug, Clone, Default)]
pub(crate) struct PairBands {
    pub theta: f64,
    pub lo: Keys,
    pub hi: Keys,
}

/// The accounts checked at every move of one coordinate: `(account, generation)`.
#[derive(Debug, Clone, Default)]
pub(crate) struct BruteList {
    pub list: Vec<(u32, u32)>,
    dead: usize,
}

impl BruteList {
    pub fn push(&mut self, k: u32, gen: u32) {
        self.list.push((k, gen));
    }

    pub fn died(&mut self) {
        self.dead += 1;
    }

    /// Drops the dead entries if they are many.
    pub fn compact(&mut self, live: impl Fn(u32, u32) -> bool) {
        if self.dead > MIN_MERGE && 2 * self.dead > self.list.len() {
            self.list.retain(|e| live(e.0, e.1));
            self.dead = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift64).
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn merges_keep_every_live_entry_sorted_and_ranges_find_exactly_the_live_ones() {
        const ACCOUNTS: usize = 500;
        let mut gen = vec![0u32; ACCOUNTS];
        let mut key_of: Vec<Option<f64>> = vec![None; ACCOUNTS];
        let mut keys = Keys::default();
        let mut state = 0x9e37_79b9_7f4a_7c15;
        for step in 0..20_000 {
            // Re-key one account: its previous entry dies.
            let k = (next(&mut state) % ACCOUNTS as u64) as usize;
            if key_of[k].is_some() {
                keys.died();
            }
            gen[k] += 1;
            let key = (next(&mut state) % 2_000) as f64 / 8.0;
            key_of[k] = Some(key);
            keys.push(key, k as u32, gen[k]);
            let live = |a: u32, g: u32| gen[a as usize] == g;
            keys.merge(live, step % 4_999 == 0);
            assert!(keys.main.windows(2).all(|w| cmp(&w[0], &w[1]).is_le()));
            if step % 97 == 0 {
                let a = (next(&mut state) % 2_000) as f64 / 8.0;
                let b = a + (next(&mut state) % 400) as f64 / 8.0;
                for up in [true, false] {
                    let mut found = Vec::new();
                    keys.range(a, b, up, |acc, g| {
                        if live(acc, g) {
                            found.push(acc);
                        }
                    });
                    found.sort_unstable();
                    let want: Vec<u32> = (0..ACCOUNTS)
                        .filter(|&acc| {
                            key_of[acc].is_some_and(|x| {
                                if up {
                                    a < x && x <= b
                                } else {
                                    a <= x && x < b
                                }
                            })
                        })
                        .map(|acc| acc as u32)
                        .collect();
                    assert_eq!(found, want, "step {step}, ({a}, {b}), up {up}");
                }
            }
        }
        // A forced merge leaves the live entries only: one per account keyed, in order.
        let live = |a: u32, g: u32| gen[a as usize] == g;
        keys.merge(live, true);
        assert!(keys.buf.is_empty());
        assert_eq!(keys.main.len(), key_of.iter().flatten().count());
        assert!(keys.main.iter().all(|e| live(e.1, e.2)));
    }
}
