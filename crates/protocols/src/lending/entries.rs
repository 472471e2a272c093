//! How a lending pool stores its accounts' positions: 16-byte [`Slot`]s pointing into a small
//! table of distinct [`Term`]s, read back one [`Entry`] at a time through [`Positions`].

use cascade_model::Side;

/// One position of an account, with its effective risk parameters (the value a [`Slot`] and its
/// [`Term`] stand for).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    pub asset: u32,
    pub side: Side,
    /// Effective liquidation threshold (0 = not collateral).
    pub lt: f64,
    /// Effective liquidation bonus of this collateral.
    pub lb: f64,
    /// Tokens.
    pub amount: f64,
    /// The largest share of the account's borrowing power this collateral asset may provide
    /// (docs/lending.md#diversification-cap); 1 = no cap.
    pub cap: f64,
}

/// A position as a pool stores it (16 bytes): its tokens, its asset and the index of its [`Term`]
/// in the pool's table.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
pub struct Slot {
    /// Tokens.
    pub amount: f64,
    pub asset: u32,
    /// Index into the pool's terms.
    pub term: u32,
}

/// The side and effective risk parameters that many positions share: a pool has one per distinct
/// (side, LT, LB, cap) — a few per reserve and e-mode category, whatever the number of accounts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Term {
    pub side: Side,
    /// Effective liquidation threshold (0 = not collateral).
    pub lt: f64,
    /// Effective liquidation bonus.
    pub lb: f64,
    /// The asset's diversification cap (1 = none).
    pub cap: f64,
}

/// An account's positions, read one [`Entry`] at a time: a plain slice of entries, or a pool's
/// compact [`Entries`].
pub trait Positions {
    /// Number of positions.
    fn entry_count(&self) -> usize;
    /// Position `k < entry_count()`.
    fn entry(&self, k: usize) -> Entry;
}

/// Entries held as entries: a slice, a `Vec` or an array of them.
impl<T: AsRef<[Entry]> + ?Sized> Positions for T {
    #[inline]
    fn entry_count(&self) -> usize {
        self.as_ref().len()
    }
    #[inline]
    fn entry(&self, k: usize) -> Entry {
        self.as_ref()[k]
    }
}

/// One account's slots with the pool's terms.
#[derive(Debug, Clone, Copy)]
pub struct Entries<'a> {
    pub slots: &'a [Slot],
    pub terms: &'a [Term],
}

impl<'a> Entries<'a> {
    /// Number of positions.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The positions as [`Entry`] values.
    pub fn iter(&self) -> EntriesIter<'a> {
        EntriesIter {
            slots: self.slots.iter(),
            terms: self.terms,
        }
    }
}

impl<'a> IntoIterator for Entries<'a> {
    type Item = Entry;
    type IntoIter = EntriesIter<'a>;
    fn into_iter(self) -> EntriesIter<'a> {
        self.iter()
    }
}

/// Iterator over an account's positions as [`Entry`] values.
#[derive(Debug, Clone)]
pub struct EntriesIter<'a> {
    slots: std::slice::Iter<'a, Slot>,
    terms: &'a [Term],
}

impl Iterator for EntriesIter<'_> {
    type Item = Entry;
    fn next(&mut self) -> Option<Entry> {
        self.slots.next().map(|s| entry_of(s, self.terms))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.slots.size_hint()
    }
}

impl ExactSizeIterator for EntriesIter<'_> {}

impl Positions for Entries<'_> {
    #[inline]
    fn entry_count(&self) -> usize {
        self.slots.len()
    }
    #[inline]
    fn entry(&self, k: usize) -> Entry {
        entry_of(&self.slots[k], self.terms)
    }
}

#[inline]
fn entry_of(s: &Slot, terms: &[Term]) -> Entry {
    let t = terms[s.term as usize];
    Entry {
        asset: s.asset,
        side: t.side,
        lt: t.lt,
        lb: t.lb,
        amount: s.amount,
        cap: t.cap,
    }
}

/// Builds a table of distinct terms: `id(side, lt, lb)` returns the index of that term, adding it
/// on first use (compared bit for bit, so the stored numbers are exactly those given).
#[derive(Debug, Default)]
pub struct TermTable {
    terms: Vec<Term>,
    index: std::collections::HashMap<(bool, u64, u64, u64), u32>,
}

impl TermTable {
    /// Index of the term `(side, lt, lb)` without a diversification cap.
    pub fn id(&mut self, side: Side, lt: f64, lb: f64) -> u32 {
        self.id_capped(side, lt, lb, 1.0)
    }

    /// Index of the term `(side, lt, lb, cap)`.
    pub fn id_capped(&mut self, side: Side, lt: f64, lb: f64, cap: f64) -> u32 {
        let key = (
            side == Side::Debt,
            lt.to_bits(),
            lb.to_bits(),
            cap.to_bits(),
        );
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.terms.len() as u32;
        self.terms.push(Term { side, lt, lb, cap });
        self.index.insert(key, i);
        i
    }

    /// Number of distinct terms.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The term at `id`.
    pub fn get(&self, id: u32) -> Term {
        self.terms[id as usize]
    }

    pub fn into_terms(self) -> Vec<Term> {
        self.terms
    }

    /// Slots and terms for a list of entries (tests and tools that build entries by hand).
    pub fn compact(entries: &[Entry]) -> (Vec<Slot>, Vec<Term>) {
        let mut t = TermTable::default();
        let slots = entries
            .iter()
            .map(|e| Slot {
                amount: e.amount,
                asset: e.asset,
                term: t.id_capped(e.side, e.lt, e.lb, e.cap),
            })
            .collect();
        (slots, t.into_terms())
    }
}
