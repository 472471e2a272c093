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
        let mut buf: Vec<_> = std::mem::take(&mut self.buf)
            .into_iter()
            .filter(|e| live(e.1, e.2))
            .collect();
        buf.sort_unstable_by(cmp);
        let old = std::mem::take(&mut self.main);
        let mut out = Vec::with_capacity(old.len() + buf.len());
        let (mut i, mut j) = (0, 0);
        while i < old.len() || j < buf.len() {
            if j >= buf.len() || (i < old.len() && cmp(&old[i], &buf[j]).is_le()) {
                let e = old[i];
                i += 1;
                if !check || live(e.1, e.2) {
                    out.push(e);
                }
            } else {
                out.push(buf[j]);
                j += 1;
            }
        }
        self.main = out;
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
