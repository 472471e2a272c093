//! Sparse matrices in compressed sparse row form.

use super::{NetworkError, EXPECTED_AMOUNT};

/// A sparse matrix in compressed sparse row form: row `i` holds the columns `cols[row_ptr[i]..
/// row_ptr[i + 1]]` (strictly increasing) with their values. Explicit zeros are not stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Csr {
    n_rows: usize,
    n_cols: usize,
    row_ptr: Vec<usize>,
    cols: Vec<usize>,
    vals: Vec<f64>,
}

impl Csr {
    /// The `n_rows × n_cols` zero matrix.
    pub fn zeros(n_rows: usize, n_cols: usize) -> Self {
        Csr {
            n_rows,
            n_cols,
            row_ptr: vec![0; n_rows + 1],
            cols: Vec::new(),
            vals: Vec::new(),
        }
    }

    /// Builds from `(row, col, value)` triplets; duplicates add up and zero sums are dropped.
    /// Every value must be finite and ≥ 0 and every index in range.
    ///
    /// # Examples
    /// ```
    /// use cascade_contagion::network::Csr;
    /// let m = Csr::from_triplets(2, 2, &[(0, 1, 1.0), (0, 1, 2.0), (1, 0, 0.5)]).unwrap();
    /// assert_eq!(m.get(0, 1), 3.0);
    /// assert_eq!(m.nnz(), 2);
    /// ```
    pub fn from_triplets(
        n_rows: usize,
        n_cols: usize,
        triplets: &[(usize, usize, f64)],
    ) -> Result<Self, NetworkError> {
        for (k, &(i, j, v)) in triplets.iter().enumerate() {
            if i >= n_rows || j >= n_cols {
                return Err(NetworkError::Value {
                    what: format!("triplet {k} index"),
                    found: format!("({i}, {j})"),
                    expected: format!("row < {n_rows} and column < {n_cols}"),
                });
            }
            if !(v.is_finite() && v >= 0.0) {
                return Err(NetworkError::Value {
                    what: format!("triplet {k} ({i}, {j}) value"),
                    found: v.to_string(),
                    expected: EXPECTED_AMOUNT.into(),
                });
            }
        }
        Ok(Self::from_valid_triplets(n_rows, n_cols, triplets))
    }

    /// Counting sort by row, sort each row by column, merge duplicates.
    pub(super) fn from_valid_triplets(
        n_rows: usize,
        n_cols: usize,
        triplets: &[(usize, usize, f64)],
    ) -> Self {
        let mut counts = vec![0usize; n_rows + 1];
        for &(i, _, _) in triplets {
            counts[i + 1] += 1;
        }
        for i in 0..n_rows {
            counts[i + 1] += counts[i];
        }
        let mut next = counts.clone();
        let mut entries = vec![(0usize, 0.0f64); triplets.len()];
        for &(i, j, v) in triplets {
            entries[next[i]] = (j, v);
            next[i] += 1;
        }
        let mut row_ptr = Vec::with_capacity(n_rows + 1);
        let mut cols = Vec::with_capacity(triplets.len());
        let mut vals = Vec::with_capacity(triplets.len());
        row_ptr.push(0);
        for i in 0..n_rows {
            let row = &mut entries[counts[i]..counts[i + 1]];
            row.sort_unstable_by_key(|&(j, _)| j);
            let mut k = 0;
            while k < row.len() {
                let j = row[k].0;
                let mut sum = 0.0;
                while k < row.len() && row[k].0 == j {
                    sum += row[k].1;
                    k += 1;
                }
                if sum != 0.0 {
                    cols.push(j);
                    vals.push(sum);
                }
            }
            row_ptr.push(cols.len());
        }
        Csr {
            n_rows,
            n_cols,
            row_ptr,
            cols,
            vals,
        }
    }

    /// Builds from dense rows (all of the same length; values finite and ≥ 0).
    pub fn from_dense(rows: &[Vec<f64>]) -> Result<Self, NetworkError> {
        let n_cols = rows.first().map_or(0, Vec::len);
        let mut triplets = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            if row.len() != n_cols {
                return Err(NetworkError::Value {
                    what: format!("dense row {i} length"),
                    found: row.len().to_string(),
                    expected: n_cols.to_string(),
                });
            }
            triplets.extend(row.iter().enumerate().map(|(j, &v)| (i, j, v)));
        }
        Self::from_triplets(rows.len(), n_cols, &triplets)
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// Number of stored (non-zero) entries.
    pub fn nnz(&self) -> usize {
        self.vals.len()
    }

    /// The columns and values of row `i` (empty if `i` is out of range).
    #[inline]
    pub fn row(&self, i: usize) -> (&[usize], &[f64]) {
        if i >= self.n_rows {
            return (&[], &[]);
        }
        let r = self.row_ptr[i]..self.row_ptr[i + 1];
        (&self.cols[r.clone()], &self.vals[r])
    }

    /// Entry `(i, j)`, 0 when absent or out of range.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        let (cols, vals) = self.row(i);
        cols.binary_search(&j).map_or(0.0, |k| vals[k])
    }

    /// Row sums `Σ_j m_ij`.
    pub fn row_sums(&self) -> Vec<f64> {
        (0..self.n_rows)
            .map(|i| self.row(i).1.iter().sum())
            .collect()
    }

    /// The row-pointer array (`n_rows + 1` offsets).
    pub fn row_ptr(&self) -> &[usize] {
        &self.row_ptr
    }

    /// The column index of every stored entry, row by row.
    pub fn cols(&self) -> &[usize] {
        &self.cols
    }

    /// The value of every stored entry, row by row.
    pub fn vals(&self) -> &[f64] {
        &self.vals
    }

    /// The transpose, with each entry's value replaced by `f(row, col, value)` (indices of `self`).
    pub fn transpose_map(&self, mut f: impl FnMut(usize, usize, f64) -> f64) -> Csr {
        let mut counts = vec![0usize; self.n_cols + 1];
        for &j in &self.cols {
            counts[j + 1] += 1;
        }
        for j in 0..self.n_cols {
            counts[j + 1] += counts[j];
        }
        let mut next = counts.clone();
        let mut cols = vec![0usize; self.nnz()];
        let mut vals = vec![0.0f64; self.nnz()];
        // Rows are visited in increasing order, so each transposed row comes out sorted.
        for i in 0..self.n_rows {
            let (rc, rv) = self.row(i);
            for (&j, &v) in rc.iter().zip(rv) {
                cols[next[j]] = i;
                vals[next[j]] = f(i, j, v);
                next[j] += 1;
            }
        }
        Csr {
            n_rows: self.n_cols,
            n_cols: self.n_rows,
            row_ptr: counts,
            cols,
            vals,
        }
    }

    /// The transpose.
    pub fn transpose(&self) -> Csr {
        self.transpose_map(|_, _, v| v)
    }

    /// The dense form (for small matrices and tests).
    pub fn to_dense(&self) -> Vec<Vec<f64>> {
        (0..self.n_rows)
            .map(|i| (0..self.n_cols).map(|j| self.get(i, j)).collect())
            .collect()
    }
}
