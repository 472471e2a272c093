use super::*;

#[test]
fn formats() {
    assert_eq!(fmt_seconds(1.5), "1.500 s");
    assert_eq!(fmt_seconds(0.0123), "12.3 ms");
    assert_eq!(fmt_seconds(0.000_25), "250 µs");
    assert_eq!(fmt_compact(25_300_000.0), "25.30M");
    assert_eq!(fmt_compact(45_600.0), "46k");
    assert_eq!(fmt_compact(2.5), "2.50");
    assert_eq!(fmt_compact(1.0), "1");
    assert_eq!(cell("|diff| / p"), "\\|diff\\| / p");
}
