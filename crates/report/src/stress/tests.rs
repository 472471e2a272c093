use super::*;

#[test]
fn price_digits_keep_small_moves_visible() {
    assert_eq!(price_digits(2000.0), "2,000.00");
    assert_eq!(price_digits(0.9987), "0.9987");
    assert_eq!(price_digits(0.00012346), "0.0001235");
    assert_eq!(price_digits(f64::NAN), "n/a");
}

#[test]
fn trace_is_escaped() {
    let h = trace_html(&["round 1: <x> & \"y\"".to_string()], Level::H2, "");
    assert!(h.contains("<li>round 1: &lt;x&gt; &amp; &quot;y&quot;</li>"));
}
