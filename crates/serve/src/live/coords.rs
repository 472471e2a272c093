//! Price coordinates and the price bands within which an account keeps its histogram bin
//! (docs/serve-live.md#what-a-price-update-recomputes).
//!
//! **Coordinates.** Every asset whose price is its underlying's times a constant (lst, receipt,
//! bridged) moves with that underlying; following the chain up gives its root. The roots' prices,
//! plus the constant "par" (1 USD, a CDP's debt), are the coordinates of the price space: asset
//! `a`'s price is `x_root(a) · m_a` with a multiplier `m_a` fixed live.
//!
//! **Coefficients.** Per coordinate `f` an account has weighted collateral `W_f = Σ c·m·w`,
//! collateral `C_f = Σ c·m` (where `w > 0`) and debt `D_f = Σ d·m`, in units of the coordinate, so
//! that at prices `x` its sums are `W = Σ W_f·x_f` etc. With one or two coordinates `r`, `s` the
//! exact health factor depends on the angle `θ = atan2(x_r, x_s)` alone,
//!
//! ```text
//! HF(θ) = (W_r·sin θ + W_s·cos θ) / (D_r·sin θ + D_s·cos θ)
//! ```
//!
//! monotone in `θ`: it crosses a level `E` where `α_r·sin θ + α_s·cos θ = 0`, `α_f = W_f − E·D_f`.
//! The **band** of an account is the interval of `θ` in which its bin cannot change: bounded by the
//! crossings of its bin's edges, shrunk by a relative `EDGE_MARGIN` (and, under the aave-v3 rule,
//! by the rule's at most one basis point of average threshold) and by a bound on the rounding of
//! the coefficients. It does not depend on any price, so no other price update invalidates it.

use cascade_model::Side;

use super::agg::{HF_BIN_EDGES, NO_BIN, NO_DEBT_BIN};
use super::book::Book;

/// Relative margin kept between a band's health factors and its bin's edges.
pub const EDGE_MARGIN: f64 = 1e-8;
/// Relative bound on the rounding of an account's coefficients (generous for any slab size).
const COEFF_ROUNDING: f64 = 1e-12;
/// Absolute bound on the rounding of an angle.
const ANGLE_ROUNDING: f64 = 1e-12;
/// "No coordinate" (the zero price slot).
pub const NO_COORD: u32 = u32::MAX;

/// Which assets move together in a ladder's drop.
#[derive(Debug, Clone, Default)]
pub(crate) struct Family {
    n: usize,
    /// `member[y·n + a]`: asset `a`'s price is asset `y`'s times a constant.
    member: Vec<bool>,
    /// Per asset `a`: the assets whose family holds `a` (`a` first, then its underlyings).
    pub ancestors: Vec<Vec<u32>>,
    /// Per asset `y`: the assets of its family.
    pub members: Vec<Vec<u32>>,
}

impl Family {
    /// Families from `follows(a)`: the underlying whose price `a`'s is a constant multiple of.
    pub fn new(n: usize, follows: impl Fn(usize) -> Option<usize>) -> Family {
        let mut f = Family {
            n,
            member: vec![false; n * n],
            ancestors: vec![Vec::new(); n],
            members: vec![Vec::new(); n],
        };
        for a in 0..n {
            let mut y = a;
            for _ in 0..=n {
                if f.member[y * n + a] {
                    break; // a cycle (which the loader rejects)
                }
                f.member[y * n + a] = true;
                f.ancestors[a].push(y as u32);
                f.members[y].push(a as u32);
                match follows(y) {
                    Some(u) if u < n => y = u,
                    _ => break,
                }
            }
        }
        f
    }

    /// Whether price slot `a` is in asset `y`'s family (the par and zero slots are in none).
    #[inline]
    pub fn contains(&self, y: usize, a: usize) -> bool {
        a < self.n && self.member[y * self.n + a]
    }
}

/// The coordinate of every price slot and its multiplier.
#[derive(Debug, Clone)]
pub(crate) struct Coords {
    /// Assets; coordinate `n` is par.
    n: usize,
    /// Per price slot (`n + 2`): its coordinate (`NO_COORD` for the zero slot).
    pub of: Vec<u32>,
    /// Per price slot: price / its coordinate's price, at the last rebuild.
    pub mult: Vec<f64>,
}

impl Coords {
    pub fn new(family: &Family, n: usize) -> Coords {
        let mut of: Vec<u32> = (0..n)
            .map(|a| family.ancestors[a].last().copied().unwrap_or(a as u32))
            .collect();
        of.push(n as u32);
        of.push(NO_COORD);
        let mut mult = vec![1.0; n + 2];
        mult[n + 1] = 0.0;
        Coords { n, of, mult }
    }

    /// Number of coordinates (assets, then par; non-roots are never used).
    pub fn count(&self) -> usize {
        self.n + 1
    }

    /// Coordinate `c`'s price.
    #[inline]
    pub fn price(&self, prices: &[f64], c: usize) -> f64 {
        if c == self.n {
            1.0
        } else {
            prices[c]
        }
    }

    /// Whether every coordinate's price is finite and positive (the bands' premise).
    pub fn usable(&self, prices: &[f64]) -> bool {
        (0..self.n)
            .filter(|&a| self.of[a] as usize == a)
            .all(|a| prices[a].is_finite() && prices[a] > 0.0)
    }

    /// Sets the multipliers from `prices` (coordinates usable).
    pub fn set_multipliers(&mut self, prices: &[f64]) {
        for a in 0..self.n {
            let r = self.of[a] as usize;
            self.mult[a] = prices[a] / prices[r];
        }
    }

    /// Whether the multipliers still hold at `prices` (to 1e-12 relative).
    pub fn multipliers_hold(&self, prices: &[f64]) -> bool {
        (0..self.n).all(|a| {
            let r = self.of[a] as usize;
            let expect = prices[r] * self.mult[a];
            (prices[a] - expect).abs() <= 1e-12 * prices[a].abs().max(expect.abs())
        })
    }

    /// Per coordinate: a root asset or par (the others are never used).
    pub fn roots(&self) -> Vec<bool> {
        (0..self.count())
            .map(|c| c == self.n || self.of[c] as usize == c)
            .collect()
    }

    /// Every coordinate's price (non-roots: their own, unused).
    pub fn prices(&self, prices: &[f64]) -> Vec<f64> {
        (0..self.count()).map(|c| self.price(prices, c)).collect()
    }

    /// The angle of coordinates `r < s`... any two: `atan2(x_r, x_s)`.
    #[inline]
    pub fn angle(&self, prices: &[f64], r: usize, s: usize) -> f64 {
        self.price(prices, r).atan2(self.price(prices, s))
    }
}

/// One coordinate's coefficients (module doc).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Coef {
    pub coord: u32,
    pub w: f64,
    pub c: f64,
    pub d: f64,
}

/// An account's coordinates: none, one, two (by coordinate order), or more.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Shape {
    Few(usize, [Coef; 2]),
    Many,
}

/// Account `k`'s positions that its health depends on, one term per slot in slot order: the
/// coordinate and the slot's `(w, c, d)` in coordinate units (weighted collateral, collateral with a
/// positive weight, debt). Slots of no coordinate and collateral of weight 0 give none.
fn terms<'a>(
    book: &'a Book,
    coords: &'a Coords,
    k: usize,
) -> impl Iterator<Item = (u32, f64, f64, f64)> + 'a {
    book.slots(k).filter_map(move |i| {
        let slot = book.price_ix[i] as usize;
        let coord = coords.of[slot];
        if coord == NO_COORD {
            return None;
        }
        let x = book.amount[i] * coords.mult[slot];
        match book.side[i] {
            Side::Collateral if book.weight[i] > 0.0 => Some((coord, x * book.weight[i], x, 0.0)),
            Side::Collateral => None,
            Side::Debt => Some((coord, 0.0, 0.0, x)),
        }
    })
}

impl Coef {
    fn add(&mut self, w: f64, c: f64, d: f64) {
        self.w += w;
        self.c += c;
        self.d += d;
    }
}

/// Account `k`'s coefficients for every coordinate it has, in the order met.
pub(crate) fn coefs(book: &Book, coords: &Coords, k: usize) -> Vec<Coef> {
    let mut v: Vec<Coef> = Vec::with_capacity(4);
    for (coord, w, c, d) in terms(book, coords, k) {
        let at = match v.iter().position(|e| e.coord == coord) {
            Some(j) => j,
            None => {
                v.push(Coef {
                    coord,
                    ..Default::default()
                });
                v.len() - 1
            }
        };
        v[at].add(w, c, d);
    }
    v
}

/// Account `k`'s coefficients per coordinate.
pub(crate) fn shape(book: &Book, coords: &Coords, k: usize) -> Shape {
    let mut v = [Coef::default(); 2];
    let mut n = 0usize;
    for (coord, w, c, d) in terms(book, coords, k) {
        let at = match v[..n].iter().position(|e| e.coord == coord) {
            Some(j) => j,
            None if n < 2 => {
                v[n].coord = coord;
                n += 1;
                n - 1
            }
            None => return Shape::Many,
        };
        v[at].add(w, c, d);
    }
    if n == 2 && v[0].coord > v[1].coord {
        v.swap(0, 1);
    }
    Shape::Few(n, v)
}

/// Where an account's bin is kept current.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Keying {
    /// No price moves its bin (no debt, untracked, or its health does not depend on prices).
    Static,
    /// Its bin holds while the angle of coordinates `(r, s)` stays in `(lo, hi)` (±∞: unbounded).
    Band { r: u32, s: u32, lo: f64, hi: f64 },
    /// Checked at every move of one of its coordinates.
    Brute,
}

/// The sign of `α = w − e·d`, or `None` if rounding could flip it.
fn sign(w: f64, d: f64, e: f64) -> Option<(f64, f64)> {
    let a = w - e * d;
    let err = COEFF_ROUNDING * (w + e * d);
    (a.abs() > err && a.is_finite()).then_some((a, err))
}

/// The band of `θ` where `HF(θ) ≥ e` (`ge`) or `HF(θ) < e` (`!ge`), as `(lo, hi)`, conservative;
/// `None` if empty or uncertain.
fn side_of(a: Coef, b: Coef, e: f64, ge: bool) -> Option<(f64, f64)> {
    // a is the sin (r) coordinate, b the cos (s) one; g(θ) = α_r sin θ + α_s cos θ, HF ≥ e ⇔ g ≥ 0.
    let (ar, er) = sign(a.w, a.d, e)?;
    let (as_, es) = sign(b.w, b.d, e)?;
    let all = (f64::NEG_INFINITY, f64::INFINITY);
    if (ar > 0.0) == (as_ > 0.0) {
        // g keeps its sign on (0, π/2).
        return ((ar > 0.0) == ge).then_some(all);
    }
    let err = (er + es) / ar.hypot(as_) + ANGLE_ROUNDING;
    let theta = as_.abs().atan2(ar.abs());
    if !(err < 1e-3 && theta.is_finite()) {
        return None;
    }
    // Increasing g (α_r > 0): HF ≥ e above θ*.
    let above = (ar > 0.0) == ge;
    Some(if above {
        (theta + err, f64::INFINITY)
    } else {
        (f64::NEG_INFINITY, theta - err)
    })
}

/// How account `k`, in bin `bin` at angle... (module doc): `eta` is the rule's relative slack below
/// the exact health factor (0 for the exact rule); `theta(r, s)` the current angle of a pair.
pub(crate) fn keying(shape: Shape, bin: u8, eta: f64, theta: impl Fn(u32, u32) -> f64) -> Keying {
    if bin == NO_BIN || bin == NO_DEBT_BIN {
        // Untracked, empty or without debt: no price changes that.
        return Keying::Static;
    }
    let Shape::Few(n, v) = shape else {
        return Keying::Brute;
    };
    // One coordinate: the second is a zero stand-in (HF does not depend on θ).
    let (a, b, r, s) = match n {
        2 => (v[0], v[1], v[0].coord, v[1].coord),
        1 => (v[0], Coef::default(), v[0].coord, v[0].coord),
        _ => return Keying::Static, // debt without coordinates: only the zero slot
    };
    let b_ix = bin as usize;
    let lower = (b_ix > 0).then(|| HF_BIN_EDGES[b_ix - 1] * (1.0 + EDGE_MARGIN) / (1.0 - eta));
    let upper = HF_BIN_EDGES.get(b_ix).map(|&e| e * (1.0 - EDGE_MARGIN));
    let all = (f64::NEG_INFINITY, f64::INFINITY);
    // Single coordinate: HF = W/D whatever the prices; a level is either always met or never.
    let band = |e: f64, ge: bool| -> Option<(f64, f64)> {
        if !e.is_finite() {
            return None;
        }
        if n == 1 {
            sign(a.w, a.d, e).and_then(|(x, _)| ((x > 0.0) == ge).then_some(all))
        } else {
            side_of(a, b, e, ge)
        }
    };
    let lo_band = match lower {
        Some(e) => band(e, true),
        None => Some(all),
    };
    let hi_band = match upper {
        Some(e) => band(e, false),
        None => Some(all),
    };
    let (Some(l), Some(h)) = (lo_band, hi_band) else {
        return Keying::Brute;
    };
    let (lo, hi) = (l.0.max(h.0), l.1.min(h.1));
    if lo >= hi {
        return Keying::Brute;
    }
    if lo == f64::NEG_INFINITY && hi == f64::INFINITY {
        return Keying::Static;
    }
    let t = theta(r, s);
    if lo < t && t < hi {
        Keying::Band { r, s, lo, hi }
    } else {
        Keying::Brute
    }
}

/// The liquidation ratio of a two-coordinate account under the exact rule: if a drop of `r`
/// (with `s` held) can make it liquidatable, `Some((r, s, ρ))` with `HF ≥ 1 ⇔ x_r / x_s ≥ ρ`
/// (`α_r = W_r − D_r > 0 > α_s`, `ρ = −α_s/α_r`); likewise for `s`.
pub(crate) fn liquidation_ratio(shape: Shape) -> Option<(Coef, Coef, f64)> {
    let Shape::Few(2, v) = shape else {
        return None;
    };
    for (y, o) in [(v[0], v[1]), (v[1], v[0])] {
        let (ay, ao) = (y.w - y.d, o.w - o.d);
        if ay > 0.0 && ao < 0.0 {
            let rho = -ao / ay;
            if rho.is_finite() && rho > 0.0 {
                return Some((y, o, rho));
            }
        }
    }
    None
}
