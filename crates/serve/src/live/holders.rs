//! Which accounts hold each asset: the accounts a price update of that asset recomputes. Lists may
//! hold accounts that no longer hold the asset (a removal only counts them); a list is compacted
//! when such entries outnumber the live ones.

use super::book::Book;

#[derive(Debug, Clone, Default)]
pub(crate) struct Holders {
    /// Per asset: accounts that hold it or held it since the last compaction, each once.
    pub lists: Vec<Vec<u32>>,
    /// Per asset: entries of the list that no longer hold it.
    stale: Vec<usize>,
}

impl Holders {
    /// The holders of every asset (price slots `0..assets`) in `book`.
    pub fn new(assets: usize, book: &Book) -> Holders {
        let mut h = Holders {
            lists: vec![Vec::new(); assets],
            stale: vec![0; assets],
        };
        for k in 0..book.accounts() {
            for i in book.slots(k) {
                let a = book.price_ix[i] as usize;
                if a < assets
                    && !book
                        .slots(k)
                        .take_while(|&j| j < i)
                        .any(|j| book.price_ix[j] as usize == a)
                {
                    h.lists[a].push(k as u32);
                }
            }
        }
        h
    }

    /// Account `k` started holding asset `a`.
    pub fn added(&mut self, a: usize, k: u32) {
        if let Some(l) = self.lists.get_mut(a) {
            l.push(k);
        }
    }

    /// An account stopped holding asset `a`.
    pub fn removed(&mut self, a: usize) {
        if let Some(s) = self.stale.get_mut(a) {
            *s += 1;
        }
    }

    /// Compacts the lists with more stale entries than live ones.
    pub fn compact(&mut self, book: &Book) {
        for a in 0..self.lists.len() {
            if self.stale[a] > 64 && 2 * self.stale[a] > self.lists[a].len() {
                let l = &mut self.lists[a];
                l.sort_unstable();
                l.dedup();
                l.retain(|&k| book.holds(k as usize, a as u32));
                self.stale[a] = 0;
            }
        }
    }
}
