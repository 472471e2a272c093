//! Writing NumPy `.npy` files (format version 1.0: the magic `\x93NUMPY`, a header dictionary padded
//! so the data starts on a 64-byte boundary, then the raw little-endian values), so the Python peers
//! read cascade's reference inputs and outputs with `numpy.load` and nothing else.

use std::path::Path;

/// The bytes of a C-ordered `.npy` array of f64 with the given shape.
///
/// # Examples
/// ```
/// let b = cascade_bench::npy::npy_f64(&[1.0, 2.0], &[2]);
/// assert_eq!(&b[..6], b"\x93NUMPY");
/// assert_eq!(b.len() % 16, 0);
/// assert_eq!(&b[b.len() - 8..], &2.0f64.to_le_bytes());
/// ```
pub fn npy_f64(values: &[f64], shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape_text}, }}");
    // magic (6) + version (2) + header length (2) + header + '\n' ≡ 0 (mod 64)
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + 8 * values.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Writes `values` (C order, `shape`) to `path` as `.npy`.
pub fn write_npy(path: &Path, values: &[f64], shape: &[usize]) -> std::io::Result<()> {
    std::fs::write(path, npy_f64(values, shape))
}

#[cfg(test)]
mod tests;
