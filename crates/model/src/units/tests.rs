use super::*;

#[test]
fn usd_cut_offs() {
    // Below $1,000: to the cent.
    assert_eq!(fmt_usd(0.0), "$0.00");
    assert_eq!(fmt_usd(0.5), "$0.50");
    assert_eq!(fmt_usd(12.345_1), "$12.35");
    assert_eq!(fmt_usd(950.0), "$950.00");
    assert_eq!(fmt_usd(999.99), "$999.99");
    // Thousands: 7,890 / 1e3 = 7.89; 123,456 / 1e3 = 123.456 → 123.46.
    assert_eq!(fmt_usd(1_000.0), "$1.00k");
    assert_eq!(fmt_usd(7_890.0), "$7.89k");
    assert_eq!(fmt_usd(8_137.5), "$8.14k");
    assert_eq!(fmt_usd(123_456.0), "$123.46k");
    // Millions, billions, trillions.
    assert_eq!(fmt_usd(1_480_000.0), "$1.48M");
    assert_eq!(fmt_usd(4_560_000.0), "$4.56M");
    assert_eq!(fmt_usd(1.234e9), "$1.23B");
    assert_eq!(fmt_usd(2.5e12), "$2.50T");
    // Past the largest unit the figure grows: 4.567e15 / 1e12 = 4567.
    assert_eq!(fmt_usd(4.567e15), "$4567.00T");
}

#[test]
fn usd_unit_follows_the_rounded_amount() {
    // 999.999 rounds to 1000.00: written in the next unit.
    assert_eq!(fmt_usd(999.999), "$1.00k");
    assert_eq!(fmt_usd(999_996.0), "$1.00M");
    assert_eq!(fmt_usd(999_995_000.0 + 1.0), "$1.00B");
    // 999.994 still rounds to 999.99.
    assert_eq!(fmt_usd(999.994), "$999.99");
}

#[test]
fn usd_signs_and_non_finite_values() {
    assert_eq!(fmt_usd(-2.5e9), "−$2.50B");
    assert_eq!(fmt_usd(-12.0), "−$12.00");
    // Rounds to zero: no sign, whichever zero it is.
    assert_eq!(fmt_usd(-0.001), "$0.00");
    assert_eq!(fmt_usd(-0.0), "$0.00");
    assert_eq!(fmt_usd(f64::NAN), "n/a");
    assert_eq!(fmt_usd(f64::INFINITY), "$∞");
    assert_eq!(fmt_usd(f64::NEG_INFINITY), "−$∞");
}

#[test]
fn token_quantities() {
    assert_eq!(fmt_tokens(12_040.4), "12,040");
    assert_eq!(fmt_tokens(1_234_567.8), "1,234,568");
    assert_eq!(fmt_tokens(100.0), "100");
    assert_eq!(fmt_tokens(9.394_736), "9.39");
    assert_eq!(fmt_tokens(1.0), "1.00");
    assert_eq!(fmt_tokens(0.05), "0.0500");
    // Rounding carries into the next size: 99.999 → 100 (no decimals), 0.99999 → 1.00.
    assert_eq!(fmt_tokens(99.999), "100");
    assert_eq!(fmt_tokens(0.999_99), "1.00");
    assert_eq!(fmt_tokens(-12_040.4), "−12,040");
    assert_eq!(fmt_tokens(-0.000_01), "0.0000");
    assert_eq!(fmt_tokens(f64::NAN), "n/a");
    assert_eq!(fmt_tokens(f64::NEG_INFINITY), "−∞");
}

#[test]
fn counts_are_grouped_by_thousands() {
    assert_eq!(fmt_count(0), "0");
    assert_eq!(fmt_count(999), "999");
    assert_eq!(fmt_count(1_000), "1,000");
    assert_eq!(fmt_count(1_234_567), "1,234,567");
}

#[test]
fn changes_in_percent() {
    // 1819.7264 / 1900 − 1 = −0.04225 → −4.2%.
    assert_eq!(fmt_change(1900.0, 1819.7264), "−4.2%");
    assert_eq!(fmt_change(100.0, 100.3), "+0.3%");
    assert_eq!(fmt_change(100.0, 100.0), "+0.0%");
    // −0.01% rounds to zero but keeps its direction.
    assert_eq!(fmt_change(100.0, 99.99), "−0.0%");
    assert_eq!(fmt_change(0.0, 1.0), "n/a");
    assert_eq!(fmt_change(-1.0, 1.0), "n/a");
    assert_eq!(fmt_change(1.0, f64::NAN), "n/a");
}
