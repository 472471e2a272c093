//! How the dashboard writes numbers and times. USD and token amounts are the CLI's
//! (`cascade_model::units`); the page script formats live values the same way.

pub use cascade_model::units::{fmt_tokens, fmt_usd};
pub use cascade_report::escape_html as esc;

/// A fraction as a percentage with `decimals` decimals (`0.0606` → `6.06%`); `n/a` when not finite.
pub fn fmt_pct(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{:.*}%", decimals, x * 100.0)
    } else {
        "n/a".to_string()
    }
}

/// A price in USD, exact enough to reconcile by hand: grouped by thousands with two decimals
/// (`$1,878.79`), four below $1 (`$0.9998`), six below a cent; `n/a` when not finite.
pub fn fmt_price(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".to_string();
    }
    let a = x.abs();
    let decimals = if a >= 1.0 || a == 0.0 {
        2
    } else if a >= 0.01 {
        4
    } else {
        6
    };
    let text = format!("{a:.decimals$}");
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let grouped = fmt_count(int.parse::<u64>().unwrap_or(0));
    let sign = if x < 0.0 { "−" } else { "" };
    if frac.is_empty() {
        format!("{sign}${grouped}")
    } else {
        format!("{sign}${grouped}.{frac}")
    }
}

/// A count grouped by thousands (`1,000,000`).
pub fn fmt_count(n: u64) -> String {
    let s = n.to_string();
    let mut o = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            o.push(',');
        }
        o.push(c);
    }
    o
}

/// A health factor with three decimals; `∞` without debt (`None`).
pub fn fmt_hf(h: Option<f64>) -> String {
    match h {
        Some(x) if x.is_finite() => format!("{x:.3}"),
        _ => "∞".to_string(),
    }
}

/// Percent-encodes every byte but the unreserved ones (`A–Z a–z 0–9 - _ . ~`), for a name put in a
/// URL's path or query.
pub fn urlencode(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                o.push(b as char)
            }
            _ => o.push_str(&format!("%{b:02X}")),
        }
    }
    o
}

/// Milliseconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC`; `—` for 0 (nothing yet) or a
/// time before the epoch.
pub fn fmt_time_ms(ms: i64) -> String {
    if ms <= 0 {
        return "—".to_string();
    }
    let secs = ms / 1000;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_utc() {
        assert_eq!(fmt_time_ms(0), "—");
        assert_eq!(fmt_time_ms(1_000), "1970-01-01 00:00:01 UTC");
        // 2000-02-29 12:34:56 UTC = 951,827,696 s.
        assert_eq!(fmt_time_ms(951_827_696_000), "2000-02-29 12:34:56 UTC");
        // 2026-12-07 04:41:09 UTC = 1,796,618,469 s.
        assert_eq!(fmt_time_ms(1_796_618_469_123), "2026-12-07 04:41:09 UTC");
    }

    #[test]
    fn prices_to_the_cent() {
        assert_eq!(fmt_price(1_878.787_878), "$1,878.79");
        assert_eq!(fmt_price(60_000.0), "$60,000.00");
        assert_eq!(fmt_price(0.999_8), "$0.9998");
        assert_eq!(fmt_price(0.000_123_4), "$0.000123");
        assert_eq!(fmt_price(0.0), "$0.00");
        assert_eq!(fmt_price(-2.5), "−$2.50");
        assert_eq!(fmt_price(f64::NAN), "n/a");
    }

    #[test]
    fn names_in_urls() {
        assert_eq!(urlencode("aave-v3"), "aave-v3");
        assert_eq!(urlencode("a b/c?d&é"), "a%20b%2Fc%3Fd%26%C3%A9");
    }

    #[test]
    fn counts_and_percentages() {
        assert_eq!(fmt_count(0), "0");
        assert_eq!(fmt_count(999), "999");
        assert_eq!(fmt_count(1_000), "1,000");
        assert_eq!(fmt_count(1_234_567), "1,234,567");
        assert_eq!(fmt_pct(0.0606, 2), "6.06%");
        assert_eq!(fmt_pct(f64::NAN, 1), "n/a");
        assert_eq!(fmt_hf(None), "∞");
        assert_eq!(fmt_hf(Some(1.0645)), "1.065");
    }
}
