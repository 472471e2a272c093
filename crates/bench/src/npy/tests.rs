use super::*;

#[test]
fn header_is_padded_to_64_bytes_and_names_the_shape() {
    let b = npy_f64(&[0.0; 6], &[2, 3]);
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    assert_eq!((10 + hlen) % 64, 0);
    let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
    assert!(header.contains("'shape': (2, 3)"));
    assert!(header.ends_with('\n'));
    assert_eq!(b.len(), 10 + hlen + 48);
}
