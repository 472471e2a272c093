use super::*;

/// One round by hand: 18B UST, 350M LUNA at $80, cap 293M, 2B pending.
/// backing before = 80·3.5e8/1.8e10 = 28/18 = 1.555…; r = 2.93e8; minted = 2.93e8/80 =
/// 3,662,500 LUNA; s' = 1.7707e10, n' = 353,662,500; at an unchanged $80 the backing after is
/// 80·353,662,500/1.7707e10 = 28.293e9/17.707e9 = 1.59784…; at $60 after the sale it is
/// 60·353,662,500/1.7707e10 = 21.2197…e9/17.707e9 = 1.19838….
#[test]
fn one_round_by_hand() {
    let (s, n, p) = (1.8e10, 3.5e8, 80.0);
    assert!((backing(p, n, s) - 1.555_555_555_555_555_6).abs() < 1e-12);
    let r = redeem(2.0e9, 2.93e8, s, p);
    assert_eq!(r.redeemed_usd, 2.93e8);
    assert_eq!(r.minted_tokens, 3_662_500.0);
    let (s2, n2) = (s - r.redeemed_usd, n + r.minted_tokens);
    assert_eq!((s2, n2), (1.7707e10, 353_662_500.0));
    assert!((backing(80.0, n2, s2) - 28.293e9 / 17.707e9).abs() < 1e-12);
    assert!((backing(60.0, n2, s2) - 21.219_75e9 / 17.707e9).abs() < 1e-12);
}

#[test]
fn redemption_is_capped_by_pending_cap_and_supply() {
    assert_eq!(redeem(5.0, 10.0, 100.0, 2.0).redeemed_usd, 5.0);
    assert_eq!(redeem(50.0, 10.0, 100.0, 2.0).redeemed_usd, 10.0);
    assert_eq!(redeem(50.0, 10.0, 4.0, 2.0).redeemed_usd, 4.0);
    assert_eq!(redeem(50.0, 10.0, 4.0, 2.0).minted_tokens, 2.0);
    assert_eq!(redeem(50.0, 10.0, 100.0, 0.0).minted_tokens, 0.0);
    assert_eq!(redeem(50.0, 10.0, 100.0, 0.0).redeemed_usd, 0.0);
    assert_eq!(redeem(0.0, 10.0, 100.0, 2.0).redeemed_usd, 0.0);
}

#[test]
fn price_is_par_above_panic_backing_and_backing_below() {
    assert_eq!(stable_price(1.0, 1.0, 0.0), 1.0);
    assert_eq!(stable_price(0.999, 1.0, 0.0), 0.999);
    assert_eq!(stable_price(0.2, 1.0, 0.3), 0.3);
    assert_eq!(stable_price(1.2, 1.3, 0.0), 1.0);
    assert_eq!(stable_price(f64::INFINITY, 1.0, 0.0), 1.0);
}
