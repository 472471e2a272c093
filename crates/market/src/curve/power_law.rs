//! Power-law market impact (docs/liquidity.md): `p(V) = p_ref·max(0.01, 1 − k·(V/adv)^alpha)` on the sale
//! side, its mirror `p_ref·(1 + k·(|V|/adv)^alpha)` on the buy side, and their integrals.

use super::{is_positive, Trade};

/// A power-law price never falls below this share of `p_ref` (docs/liquidity.md#power-law).
pub const POWER_LAW_FLOOR: f64 = 0.01;

/// `∫_u^{u+len} k·(w/adv)^alpha dw = k·adv/(1+alpha)·(((u+len)/adv)^(1+alpha) − (u/adv)^(1+alpha))`
/// for `u ≥ 0`, written without cancellation for short moves.
fn impact_integral(adv: f64, k: f64, alpha: f64, u: f64, len: f64) -> f64 {
    if !is_positive(len) {
        return 0.0;
    }
    let u = u.max(0.0);
    let s = |v: f64| k * (v / adv).powf(alpha);
    let m = u + len;
    let v_s_diff = if u > 0.0 && len < u {
        u * s(u) * ((1.0 + alpha) * (len / u).ln_1p()).exp_m1()
    } else {
        m * s(m) - u * s(u)
    };
    (v_s_diff / (1.0 + alpha)).max(0.0)
}

/// The shape of a power law, in value units (quote value at `p_ref`).
#[derive(Debug, Clone, Copy)]
pub(super) enum PowerLaw {
    /// `k = 0` (or infinite depth): every unit sells at `p_ref`.
    NoImpact,
    /// No depth (invalid parameters): every unit sells at the floor.
    Floor,
    /// `1 − k·(v/adv)^alpha` down to the floor, reached at `v* = floor_start` (may be infinite).
    Impact {
        adv: f64,
        k: f64,
        alpha: f64,
        floor_start: f64,
    },
}

impl PowerLaw {
    pub(super) fn new(adv: f64, k: f64, alpha: f64) -> PowerLaw {
        if !(adv > 0.0 && alpha > 0.0 && alpha.is_finite()) || k.is_nan() {
            return PowerLaw::Floor;
        }
        if !is_positive(k) || adv.is_infinite() {
            return PowerLaw::NoImpact;
        }
        let floor_start = adv * ((1.0 - POWER_LAW_FLOOR) / k).powf(1.0 / alpha);
        PowerLaw::Impact {
            adv,
            k,
            alpha,
            floor_start,
        }
    }

    /// `p(V)/p_ref = max(0.01, 1 − k·(V/adv)^alpha)` for `V ≥ 0`, `1 + k·(|V|/adv)^alpha` for `V < 0`
    /// (the buy side, see [`Curve::buy`]).
    pub(super) fn relative_price(&self, v: f64) -> f64 {
        match *self {
            PowerLaw::NoImpact => 1.0,
            PowerLaw::Floor => POWER_LAW_FLOOR,
            PowerLaw::Impact {
                adv,
                k,
                alpha,
                floor_start,
            } => {
                if v >= floor_start {
                    POWER_LAW_FLOOR
                } else if v > 0.0 {
                    (1.0 - k * (v / adv).powf(alpha)).max(POWER_LAW_FLOOR)
                } else if v < 0.0 {
                    1.0 + k * (-v / adv).powf(alpha)
                } else {
                    1.0
                }
            }
        }
    }

    /// The `V` at which `p(V)/p_ref = r`, with `r` clamped to `≥ 0.01`:
    /// `V = adv·((1 − r)/k)^(1/alpha)` for `r ≤ 1`, `V = −adv·((r − 1)/k)^(1/alpha)` above (the buy
    /// side); at the floor `v*`, or `current` if it is already past `v*`.
    /// `None` when no finite `V` exists (no impact, or a floor beyond f64 range).
    pub(super) fn value_at_relative_price(&self, r: f64, current: f64) -> Option<f64> {
        match *self {
            PowerLaw::NoImpact | PowerLaw::Floor => None,
            PowerLaw::Impact {
                adv,
                k,
                alpha,
                floor_start,
            } => {
                let v = if r > 1.0 {
                    -adv * ((r - 1.0) / k).powf(1.0 / alpha)
                } else if r == 1.0 {
                    0.0
                } else if r <= POWER_LAW_FLOOR {
                    if current >= floor_start {
                        current
                    } else {
                        floor_start
                    }
                } else {
                    adv * ((1.0 - r) / k).powf(1.0 / alpha)
                };
                v.is_finite().then_some(v)
            }
        }
    }

    /// A trade of `q` tokens at reference price `p_ref` (> 0) from state `sold`: a sale gives
    /// [`PowerLaw::proceeds`] and moves `sold += q·p_ref`; a buy costs [`PowerLaw::buy_cost`] down to
    /// `sold − q·p_ref` and moves there (unchanged, infinite, when it cannot be bought).
    pub(super) fn trade(&self, side: Trade, p_ref: f64, sold: &mut f64, q: f64) -> f64 {
        match side {
            Trade::Sell => {
                let out = self.proceeds(*sold, q, p_ref);
                *sold += q * p_ref;
                out
            }
            Trade::Buy => {
                let b = *sold - q * p_ref;
                let cost = self.buy_cost(*sold, b, q, p_ref);
                if !cost.is_finite() {
                    return f64::INFINITY;
                }
                *sold = b;
                cost
            }
        }
    }

    /// Cost of buying `q` tokens at reference price `p_ref`, the state moving from `a` down to `b`
    /// (`b = a − q·p_ref`): the part above 0 is the sale of that part from `max(b, 0)` (so the two
    /// cancel), the part below 0 is `len + ∫_{|min(a,0)|}^{|b|} k·(w/adv)^alpha dw`. No depth
    /// (invalid parameters): infinite.
    fn buy_cost(&self, a: f64, b: f64, q: f64, p_ref: f64) -> f64 {
        match *self {
            PowerLaw::Floor => f64::INFINITY,
            PowerLaw::NoImpact => q * p_ref,
            PowerLaw::Impact { adv, k, alpha, .. } => {
                let mut cost = 0.0;
                if a > 0.0 {
                    let lo = b.max(0.0);
                    let q_pos = if b >= 0.0 { q } else { a / p_ref };
                    cost += self.proceeds(lo, q_pos, p_ref);
                }
                if b < 0.0 {
                    let from = (-a).max(0.0);
                    let len = -b - from;
                    cost += len + impact_integral(adv, k, alpha, from, len);
                }
                cost
            }
        }
    }

    /// Proceeds of selling `q` tokens at reference price `p_ref` from state `V = a`:
    /// `∫_a^b max(0.01, 1 − k·(v/adv)^alpha) dv`, `b = a + q·p_ref` (docs/liquidity.md#power-law). The part at the
    /// floor is computed per token (`0.01·p_ref` each), so a sale whose value `q·p_ref` overflows f64
    /// still gets finite proceeds when they are representable.
    fn proceeds(&self, a: f64, q: f64, p_ref: f64) -> f64 {
        if !(q > 0.0 && p_ref > 0.0) {
            return 0.0;
        }
        if a < 0.0 {
            if let PowerLaw::Impact { adv, k, alpha, .. } = *self {
                // Back up the buy side first: ∫ (1 + k·(|v|/adv)^alpha) dv from a to min(b, 0).
                let len = q * p_ref;
                let neg = len.min(-a);
                let value = neg + impact_integral(adv, k, alpha, -a - neg, neg);
                if len <= -a {
                    return value;
                }
                return value + self.proceeds(0.0, (q - neg / p_ref).max(0.0), p_ref);
            }
        }
        let len = q * p_ref;
        let floor_price = POWER_LAW_FLOOR * p_ref;
        match *self {
            PowerLaw::NoImpact => len,
            PowerLaw::Floor => q * floor_price,
            PowerLaw::Impact {
                adv,
                k,
                alpha,
                floor_start,
            } => {
                let a = a.max(0.0);
                if a >= floor_start {
                    return q * floor_price;
                }
                // Above the floor from a to m = min(b, v*), then at the floor.
                let above = len.min(floor_start - a);
                let s = |v: f64| k * (v / adv).powf(alpha); // impact k·(v/adv)^alpha
                let m = a + above;
                // ∫_a^m k·(v/adv)^alpha dv = (m·s(m) − a·s(a))/(1+alpha).
                let v_s_diff = if a > 0.0 && above < a {
                    // Short move: a·s(a)·((m/a)^(1+alpha) − 1), no cancellation.
                    a * s(a) * ((1.0 + alpha) * (above / a).ln_1p()).exp_m1()
                } else {
                    // m ≥ 2a: the difference loses at most a bounded factor.
                    m * s(m) - a * s(a)
                };
                let impact = (v_s_diff / (1.0 + alpha)).clamp(0.0, above);
                let floor_tokens = if above < len { q - above / p_ref } else { 0.0 };
                (above - impact) + floor_tokens.max(0.0) * floor_price
            }
        }
    }
}
