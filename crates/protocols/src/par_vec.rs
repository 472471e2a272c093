//! [`ParVec`]: a `Vec` of plain values whose copy is made on every thread.
//!
//! A run from prepared state copies every model ([`crate::ProtocolModel::boxed_clone`]): for a
//! lending pool of ten million accounts that is about 300 MB of slots and skip keys, whose copy
//! on one thread (the copy itself and a page fault per fresh 4 KiB) was a sixth of a stress run's
//! cascade time. Large buffers are copied in parallel pieces instead; the copy is the same.

use std::ops::{Deref, DerefMut};

use rayon::prelude::*;

/// Values per parallel piece of a copy; shorter buffers are copied on the calling thread.
const PIECE: usize = 1 << 16;

/// A `Vec<T>` copied in parallel pieces when cloned (module docs); otherwise a `Vec`.
#[derive(Debug, Default, PartialEq)]
pub struct ParVec<T>(pub Vec<T>);

impl<T: Copy + Send + Sync> Clone for ParVec<T> {
    fn clone(&self) -> Self {
        if self.0.len() < 2 * PIECE {
            return ParVec(self.0.clone());
        }
        let mut out = Vec::new();
        self.0
            .par_iter()
            .with_min_len(PIECE)
            .copied()
            .collect_into_vec(&mut out);
        ParVec(out)
    }
}

impl<T> Deref for ParVec<T> {
    type Target = Vec<T>;

    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T> DerefMut for ParVec<T> {
    fn deref_mut(&mut self) -> &mut Vec<T> {
        &mut self.0
    }
}

impl<T> From<Vec<T>> for ParVec<T> {
    fn from(v: Vec<T>) -> Self {
        ParVec(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_holds_the_same_values_short_or_long() {
        for len in [0, 5, 2 * PIECE - 1, 2 * PIECE, 5 * PIECE + 3] {
            let v: ParVec<u64> = (0..len as u64)
                .map(|x| x * 7 + 1)
                .collect::<Vec<_>>()
                .into();
            let c = v.clone();
            assert_eq!(c.len(), len);
            assert_eq!(c, v);
        }
    }
}
