//! Large zero-filled buffers of plain numbers on transparent huge pages.
//!
//! A fresh buffer's every 4 KiB page costs the kernel a fault when first written (a trap, a page
//! zeroed, a mapping made): on a virtual machine about 3 µs each, so a dense 32 MB matrix filled
//! once costs about 8,000 faults, often more than filling it. [`Huge`] maps such a buffer
//! anonymously and asks Linux for transparent huge pages on it (`madvise(MADV_HUGEPAGE)`): the
//! same 32 MB then faults in sixteen 2 MiB pages. Where the system offers no huge pages (or is
//! not Linux) the advice is ignored, and below [`HUGE_MIN_BYTES`] or if the mapping fails the
//! buffer is a plain `Vec`; in every case it starts as zeros and behaves as a `[T]`. `T` is a
//! plain-old-data type ([`bytemuck::Pod`]: numbers, or `#[repr(C)]` structs of them without
//! padding), for which all-zero bytes are a value.
//!
//! Only for buffers written in full soon after they are made: a huge page is resident as a whole
//! once any byte of it is written. Each dereference checks the cast from bytes (a few
//! instructions): hot loops take the slice once, outside the loop.

use std::ops::{Deref, DerefMut};

pub use bytemuck::{Pod, Zeroable};

/// Buffers of at least this many bytes (two huge pages) are mapped on huge pages.
pub const HUGE_MIN_BYTES: usize = 4 << 20;

/// A transparent huge page on x86-64 and most arm64 kernels: mappings are whole ones.
const HUGE_PAGE_BYTES: usize = 2 << 20;

/// A zero-filled `[T]` on transparent huge pages where the system offers them (module docs).
pub struct Huge<T: Pod>(Backing<T>);

enum Backing<T> {
    /// The mapping (whole huge pages) and the bytes of it the buffer uses (from its start).
    Mapped(memmap2::MmapMut, usize),
    Heap(Vec<T>),
}

impl<T: Pod> Huge<T> {
    /// `len` values of all-zero bytes.
    pub fn zeroed(len: usize) -> Huge<T> {
        let bytes = len.saturating_mul(std::mem::size_of::<T>());
        // A page boundary suits any alignment up to 4 KiB.
        if bytes >= HUGE_MIN_BYTES && std::mem::align_of::<T>() <= 4096 {
            // An anonymous mapping starts zero-filled (and so do its huge pages).
            // Whole huge pages: Linux aligns such a mapping to a huge page and can back all of
            // it with them (a mapping of 4 MB less a little ended on 500 small pages, each a
            // fault). The tail past `bytes` is never written.
            let mapped = bytes.div_ceil(HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
            if let Ok(map) = memmap2::MmapMut::map_anon(mapped) {
                #[cfg(target_os = "linux")]
                // Advice only: without huge pages the buffer is the same, on 4 KiB pages.
                let _ = map.advise(memmap2::Advice::HugePage);
                return Huge(Backing::Mapped(map, bytes));
            }
        }
        Huge(Backing::Heap(vec![T::zeroed(); len]))
    }

    /// Whether the buffer is an anonymous mapping advised onto huge pages (not a `Vec`).
    pub fn is_mapped(&self) -> bool {
        matches!(self.0, Backing::Mapped(..))
    }
}

impl<T: Pod> Deref for Huge<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match &self.0 {
            // A mapping starts on a page boundary and holds whole values: the cast cannot fail.
            Backing::Mapped(map, bytes) => bytemuck::cast_slice(&map[..*bytes]),
            Backing::Heap(v) => v,
        }
    }
}

impl<T: Pod> DerefMut for Huge<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.0 {
            Backing::Mapped(map, bytes) => bytemuck::cast_slice_mut(&mut map[..*bytes]),
            Backing::Heap(v) => v,
        }
    }
}

impl<T: Pod> std::fmt::Debug for Huge<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Huge")
            .field("len", &self.len())
            .field("mapped", &self.is_mapped())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_buffers_start_at_zero_and_hold_what_is_written() {
        for len in [0, 3, HUGE_MIN_BYTES / 8 - 1, HUGE_MIN_BYTES / 8 + 5] {
            let mut b = Huge::<f64>::zeroed(len);
            assert_eq!(b.len(), len);
            assert_eq!(b.is_mapped(), len * 8 >= HUGE_MIN_BYTES, "len {len}");
            assert!(b.iter().all(|&x| x.to_bits() == 0));
            for (i, x) in b.iter_mut().enumerate() {
                *x = i as f64 * 0.5;
            }
            assert!(b.iter().enumerate().all(|(i, &x)| x == i as f64 * 0.5));
        }
    }
}
