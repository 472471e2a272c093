//! How amounts are written for people — the trace, the terminal tables and the reports all use
//! these, so one amount reads the same everywhere (see docs/units.md).
//!
//! - [`fmt_usd`]: USD with three significant figures and a unit above $1,000: `$12.34`, `$7.89k`,
//!   `$4.56M`, `$1.23B`, `$1.23T`.
//! - [`fmt_tokens`]: a token quantity, grouped by thousands: `12,040`, `9.39`, `0.0500`.
//! - [`fmt_count`]: a whole count, grouped by thousands: `1,234,567`.
//! - [`fmt_change`]: a signed percentage change between two values: `−6.1%`, `+0.3%`.
//!
//! Negative amounts take the minus sign `−` (U+2212), never `-`; an amount that rounds to zero
//! takes no sign (a change keeps its direction: `−0.0%`). Not-a-number is written `n/a`, infinities `∞` (`$∞`, `−$∞`).

#[cfg(test)]
mod tests;

/// The minus sign of every formatted amount (U+2212, not the hyphen-minus).
pub const MINUS: char = '−';

/// What a value that is not a number is written as.
pub const NOT_A_NUMBER: &str = "n/a";

/// The units of [`fmt_usd`] above $1,000, smallest first: each is 1,000 times the one before.
const USD_UNITS: [(f64, &str); 4] = [(1e3, "k"), (1e6, "M"), (1e9, "B"), (1e12, "T")];

/// A USD amount, to the cent below $1,000 and with two decimals of the largest unit it reaches
/// above (k = 10³, M = 10⁶, B = 10⁹, T = 10¹²):
///
/// | amount | written |
/// |---|---|
/// | `|x| < 1,000` | `$12.34`, `$999.99` |
/// | `1,000 ≤ |x| < 10⁶` | `$7.89k`, `$123.46k` |
/// | `10⁶ ≤ |x| < 10⁹` | `$4.56M` |
/// | `10⁹ ≤ |x| < 10¹²` | `$1.23B` |
/// | `|x| ≥ 10¹²` | `$1.23T`, `$4567.00T` |
///
/// The unit is chosen after rounding, so `999.999` is `$1.00k`, not `$1000.00`. Negative amounts
/// are `−$4.56M`; NaN is `n/a`, infinities `$∞` and `−$∞`.
///
/// # Examples
/// ```
/// use cascade_model::units::fmt_usd;
/// assert_eq!(fmt_usd(12.345), "$12.35");
/// assert_eq!(fmt_usd(7_890.0), "$7.89k");
/// assert_eq!(fmt_usd(-4_560_000.0), "−$4.56M");
/// assert_eq!(fmt_usd(1.234e9), "$1.23B");
/// ```
pub fn fmt_usd(x: f64) -> String {
    signed(x, "$", usd_magnitude)
}

/// `a` (finite, ≥ 0) with two decimals of the largest unit of [`USD_UNITS`] the rounded amount
/// reaches, or of plain dollars.
fn usd_magnitude(a: f64) -> String {
    let mut unit = USD_UNITS.iter().rposition(|&(scale, _)| a >= scale);
    loop {
        let text = match unit {
            Some(u) => format!("{:.2}", a / USD_UNITS[u].0),
            None => format!("{a:.2}"),
        };
        // Rounding may carry into the next unit: 999.999 → "1000.00" → 1.00k.
        let next = unit.map_or(0, |u| u + 1);
        if text.starts_with("1000.") && next < USD_UNITS.len() {
            unit = Some(next);
            continue;
        }
        return match unit {
            Some(u) => format!("{text}{}", USD_UNITS[u].1),
            None => text,
        };
    }
}

/// A quantity of tokens, grouped by thousands, its decimals following its size: none from 100 up
/// (`12,040`), two from 1 (`9.39`), four below 1 (`0.0500`). The decimals are chosen after
/// rounding (`99.999` is `100`). Negative quantities are `−12,040`; NaN is `n/a`, infinities `∞`
/// and `−∞`.
///
/// # Examples
/// ```
/// use cascade_model::units::fmt_tokens;
/// assert_eq!(fmt_tokens(12_040.4), "12,040");
/// assert_eq!(fmt_tokens(9.394_736), "9.39");
/// assert_eq!(fmt_tokens(-0.05), "−0.0500");
/// ```
pub fn fmt_tokens(x: f64) -> String {
    signed(x, "", tokens_magnitude)
}

/// `a` (finite, ≥ 0) with the decimals of its rounded size, grouped by thousands.
fn tokens_magnitude(a: f64) -> String {
    let decimals = |v: f64| {
        if v >= 100.0 {
            0
        } else if v >= 1.0 {
            2
        } else {
            4
        }
    };
    let d = decimals(a);
    let mut text = format!("{a:.d$}");
    // Rounding may carry into the next size: 99.999 → "100.00" → 100.
    let carried = text.parse::<f64>().map_or(d, decimals);
    if carried != d {
        text = format!("{a:.carried$}");
    }
    group_thousands(&text)
}

/// `x` as `prefix` and `magnitude(|x|)`, the minus sign in front when `x` is negative and its
/// magnitude is not written as zero; NaN is `n/a`, an infinite `x` is `prefix∞` (signed).
fn signed(x: f64, prefix: &str, magnitude: fn(f64) -> String) -> String {
    if x.is_nan() {
        return NOT_A_NUMBER.into();
    }
    let a = x.abs();
    let text = if a.is_infinite() {
        "∞".to_string()
    } else {
        magnitude(a)
    };
    if x < 0.0 && !is_zero_text(&text) {
        format!("{MINUS}{prefix}{text}")
    } else {
        format!("{prefix}{text}")
    }
}

/// A whole count grouped by thousands: `1,234,567`.
///
/// # Examples
/// ```
/// use cascade_model::units::fmt_count;
/// assert_eq!(fmt_count(1_234_567), "1,234,567");
/// assert_eq!(fmt_count(999), "999");
/// ```
pub fn fmt_count(n: usize) -> String {
    group_thousands(&n.to_string())
}

/// The change from `from` to `to` in percent, one decimal, always signed with the change's own
/// sign: `−6.1%`, `+0.3%`; a fall smaller than 0.05% is `−0.0%` (the direction is kept), no change
/// `+0.0%`. `n/a` when `from` is not positive or either value is not a finite number.
///
/// # Examples
/// ```
/// use cascade_model::units::fmt_change;
/// assert_eq!(fmt_change(1900.0, 1819.7264), "−4.2%");
/// assert_eq!(fmt_change(100.0, 100.3), "+0.3%");
/// assert_eq!(fmt_change(0.0, 1.0), "n/a");
/// ```
pub fn fmt_change(from: f64, to: f64) -> String {
    let c = (to / from - 1.0) * 100.0;
    if !(from > 0.0 && c.is_finite()) {
        return NOT_A_NUMBER.into();
    }
    if c < 0.0 {
        format!("{MINUS}{:.1}%", -c)
    } else {
        format!("+{c:.1}%")
    }
}

/// Whether a formatted magnitude is zero (only zeros, separators and a decimal point).
fn is_zero_text(s: &str) -> bool {
    s.chars().all(|c| matches!(c, '0' | '.' | ','))
}

/// `12345.50` → `12,345.50`: commas between groups of three digits of the integer part.
fn group_thousands(s: &str) -> String {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut out = String::with_capacity(s.len() + int.len() / 3);
    for (k, ch) in int.chars().enumerate() {
        if k > 0 && (int.len() - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}
