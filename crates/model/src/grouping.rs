//! Grouping many rows by a small key, in parallel and with the same result on any number of
//! threads: a counting sort run by fixed blocks of rows.

use std::ops::Range;

use rayon::prelude::*;

/// Rows per block. Fixed, so the blocks are the same on any number of threads (the sort is stable
/// whatever they are).
const BLOCK_ROWS: usize = 1 << 16;

/// The values of `rows`, grouped by key and in row order within each group: `key_and_value(k)` is
/// row `k`'s key (below `n_keys`) and value. Each block of rows counts its keys, the counts give
/// each block its place in every group, and the blocks put their values there, all in parallel.
/// `key_and_value` is called twice per row (to count, then to place): nothing is kept between the
/// two passes, as fresh memory costs more (page faults) than computing a key again.
///
/// # Panics
/// If a key is `n_keys` or more (a caller's bug: keys come from the caller's own tables).
pub fn group_by_key<T: Copy + Default + Send + Sync>(
    rows: Range<usize>,
    n_keys: usize,
    key_and_value: impl Fn(usize) -> (usize, T) + Sync,
) -> Vec<Vec<T>> {
    let blocks: Vec<Range<usize>> = rows
        .clone()
        .step_by(BLOCK_ROWS)
        .map(|start| start..(start + BLOCK_ROWS).min(rows.end))
        .collect();
    let counts: Vec<Vec<usize>> = blocks
        .par_iter()
        .map(|block| {
            let mut count = vec![0usize; n_keys];
            for k in block.clone() {
                count[key_and_value(k).0] += 1;
            }
            count
        })
        .collect();
    let mut groups: Vec<Vec<T>> = (0..n_keys)
        .map(|key| vec![T::default(); counts.iter().map(|c| c[key]).sum()])
        .collect();
    // Each block's part of each group, split off the groups in block order.
    let mut parts: Vec<Vec<&mut [T]>> = counts.iter().map(|_| Vec::new()).collect();
    for (key, group) in groups.iter_mut().enumerate() {
        let mut rest = group.as_mut_slice();
        for (b, count) in counts.iter().enumerate() {
            let (part, tail) = std::mem::take(&mut rest).split_at_mut(count[key]);
            parts[b].push(part);
            rest = tail;
        }
    }
    blocks
        .par_iter()
        .zip(parts.par_iter_mut())
        .for_each(|(block, parts)| {
            let mut fill = vec![0usize; parts.len()];
            for k in block.clone() {
                let (key, value) = key_and_value(k);
                parts[key][fill[key]] = value;
                fill[key] += 1;
            }
        });
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_out_grouped_by_key_in_row_order_on_any_number_of_threads() {
        // 200,003 rows (four blocks, the last one short), key = row mod 7 but for every 1000th
        // row, which goes to key 6; key 2 is left empty by moving its rows to key 3.
        let n = 200_003;
        let key = |k: usize| match (k % 1000, k % 7) {
            (0, _) => 6,
            (_, 2) => 3,
            (_, m) => m,
        };
        let expected: Vec<Vec<u32>> = (0..7)
            .map(|g| (10..n).filter(|&k| key(k) == g).map(|k| k as u32).collect())
            .collect();
        assert!(expected[2].is_empty() && !expected[6].is_empty());
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let got = pool.install(|| group_by_key(10..n, 7, |k| (key(k), k as u32)));
            assert_eq!(got, expected);
        }
        assert_eq!(
            group_by_key(5..5, 3, |k| (0, k)),
            vec![Vec::<usize>::new(); 3]
        );
    }
}
