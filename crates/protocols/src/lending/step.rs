//! One account's formulas: the health factor and the next liquidation call, under Aave v3's
//! rules or v3.3's (docs/lending.md#health-factor, docs/lending.md#liquidation-call).

use cascade_model::{HealthFactorRule, LendingParams, LiquidationRuleSet, Side};

use super::Positions;

/// A pool's close-factor rule and liquidator cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiquidationRules {
    /// Share of the largest debt one call may repay while `HF > full_below_hf` (Aave v3.3: share
    /// of the account's total debt, docs/lending.md#aave-v33-liquidations).
    pub close_factor: f64,
    pub full_below_hf: f64,
    /// Share at or below `full_below_hf` (Aave v3 only; Aave v3.3 repays the whole reserve debt).
    pub full_close_factor: f64,
    /// Liquidator's fixed cost per call, USD.
    pub liquidator_cost_usd: f64,
    /// Liquidators buy the debt they repay on its curve (see the module doc).
    pub buy_debt: bool,
    /// How the health factor is computed.
    pub health_factor_rule: HealthFactorRule,
    /// Aave v3's or v3.3's liquidation rules (docs/lending.md#aave-v33-liquidations).
    pub rule_set: LiquidationRuleSet,
}

/// Aave v3.3's `MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD`, USD: below this value of the collateral
/// reserve or of the debt reserve involved, a call may repay the whole reserve debt
/// (docs/lending.md#aave-v33-liquidations).
pub const MIN_BASE_MAX_CLOSE_FACTOR_USD: f64 = 2_000.0;
/// Aave v3.3's `MIN_LEFTOVER_BASE`, USD: a call that clears neither the debt reserve nor the
/// collateral reserve must leave at least this much of each (docs/lending.md#aave-v33-liquidations).
pub const MIN_LEFTOVER_USD: f64 = MIN_BASE_MAX_CLOSE_FACTOR_USD / 2.0;

impl LiquidationRules {
    pub fn of(p: &LendingParams) -> Self {
        LiquidationRules {
            close_factor: p.close_factor,
            full_below_hf: p.close_factor_full_below_hf,
            full_close_factor: p.full_close_factor,
            liquidator_cost_usd: p.liquidator_cost_usd,
            buy_debt: p.liquidators_buy_debt,
            health_factor_rule: p.health_factor_rule,
            rule_set: p.liquidation_rules,
        }
    }
}

/// Health factor `HF = Σ_i c_i·p_i·LT_i / Σ_j d_j·p_j` (docs/lending.md#health-factor), the numerator
/// being [`capped_borrowing_power`] under a diversification cap; `f64::INFINITY` without debt.
pub fn health_factor<P: Positions + ?Sized>(entries: &P, prices: &[f64]) -> f64 {
    health_factor_with(HealthFactorRule::Exact, entries, prices)
}

/// The health factor under `rule` from the sums `weighted = Σ c·p·LT`, `collateral = Σ c·p` (over
/// collateral with LT > 0) and `debt = Σ d·p`, USD; `f64::INFINITY` without debt. Aave v3 keeps the
/// average threshold `weighted / collateral` in whole basis points, rounded down (a 1e-9 bp guard
/// absorbs the floating-point error of an exact integer), then `HF = collateral · avgLT / debt`.
pub fn health_factor_by(rule: HealthFactorRule, weighted: f64, collateral: f64, debt: f64) -> f64 {
    if debt <= 0.0 {
        return f64::INFINITY;
    }
    match rule {
        HealthFactorRule::Exact => weighted / debt,
        HealthFactorRule::AaveV3 if collateral > 0.0 => {
            let avg_bps = (10_000.0 * weighted / collateral + 1e-9).floor();
            collateral * avg_bps / 10_000.0 / debt
        }
        HealthFactorRule::AaveV3 => 0.0,
    }
}

/// An account's health factor under `rule` at `prices`.
pub fn health_factor_with<P: Positions + ?Sized>(
    rule: HealthFactorRule,
    entries: &P,
    prices: &[f64],
) -> f64 {
    let (w, c, d) = health_sums(entries, prices);
    health_factor_by(rule, w, c, d)
}

/// An account's `(B, Σ c·p, Σ d·p)` over collateral with LT > 0 and debt, USD, added in position
/// order: `B = Σ c·p·LT`, or under a diversification cap [`capped_borrowing_power`].
pub(super) fn health_sums<P: Positions + ?Sized>(entries: &P, prices: &[f64]) -> (f64, f64, f64) {
    let (mut w, mut c, mut d) = (0.0, 0.0, 0.0);
    let mut capped = false;
    for k in 0..entries.entry_count() {
        let e = entries.entry(k);
        let v = e.amount * prices[e.asset as usize];
        match e.side {
            Side::Collateral if e.lt > 0.0 => {
                w += v * e.lt;
                c += v;
                capped |= e.cap < 1.0;
            }
            Side::Collateral => {}
            Side::Debt => d += v,
        }
    }
    if capped {
        w = capped_borrowing_power(entries, prices);
    }
    (w, c, d)
}

/// (B, Σ d_j·p_j), USD: the borrowing power `B = Σ c_i·p_i·LT_i` (or, under a diversification
/// cap, [`capped_borrowing_power`]) and the debt.
pub fn weighted_collateral_and_debt<P: Positions + ?Sized>(
    entries: &P,
    prices: &[f64],
) -> (f64, f64) {
    let (w, _, d) = health_sums(entries, prices);
    (w, d)
}

/// The borrowing power of an account whose collateral assets are under diversification caps
/// (docs/lending.md#diversification-cap), USD: the largest `B ≥ 0` with
///
/// ```text
/// B = Σ_a min(b_a, s_a·B),    b_a = Σ c·p·LT over the account's collateral in asset a
/// ```
///
/// `s_a` being asset `a`'s cap (1 = none): no asset provides more than `s_a` of the borrowing power
/// it is part of, and what it holds beyond that counts for nothing. Without a binding cap `B = Σ b_a`.
/// The right side is concave and piecewise linear in `B`; with the assets in decreasing order of
/// `t_a = b_a/s_a` (the `B` below which `a`'s cap binds) and the first `k` capped,
/// `B = Σ_{uncapped} b_a / (1 − Σ_{capped} s_a)`, which holds for the first `k` whose `B` is at
/// least the largest uncapped `t_a`. When no `k` gives one (e.g. a single asset with `s < 1`) the
/// borrowing power is 0: the account must hold a mix.
pub fn capped_borrowing_power<P: Positions + ?Sized>(entries: &P, prices: &[f64]) -> f64 {
    // (b_a, s_a) per collateral asset, on the stack for up to 8 assets.
    let mut stack = [(0.0_f64, 1.0_f64, 0_u32); 8];
    let mut heap = Vec::new();
    let mut n = 0;
    // The uncapped sum, in position order (as `health_sums` adds it).
    let mut total = 0.0;
    for k in 0..entries.entry_count() {
        let e = entries.entry(k);
        if e.side != Side::Collateral || e.lt <= 0.0 {
            continue;
        }
        let b = e.amount * prices[e.asset as usize] * e.lt;
        total += b;
        let held = if heap.is_empty() {
            &mut stack[..n]
        } else {
            &mut heap[..]
        };
        if let Some(x) = held.iter_mut().find(|x| x.2 == e.asset) {
            x.0 += b;
            continue;
        }
        if heap.is_empty() && n < stack.len() {
            stack[n] = (b, e.cap, e.asset);
        } else {
            if heap.is_empty() {
                heap.extend_from_slice(&stack[..n]);
            }
            heap.push((b, e.cap, e.asset));
        }
        n += 1;
    }
    let assets = if heap.is_empty() {
        &mut stack[..n]
    } else {
        &mut heap[..]
    };
    if assets.iter().all(|x| x.0 <= x.1 * total) {
        // No cap binds: the plain sum, bit for bit.
        return total;
    }
    water_fill(assets)
}

/// [`capped_borrowing_power`] of per-asset `(b_a, s_a, asset)`, sorted here in place.
fn water_fill(assets: &mut [(f64, f64, u32)]) -> f64 {
    let threshold = |x: &(f64, f64, u32)| x.0 / x.1;
    // Decreasing threshold; ties by asset so the order (and the sums) never depend on input order.
    assets.sort_unstable_by(|x, y| threshold(y).total_cmp(&threshold(x)).then(x.2.cmp(&y.2)));
    let mut capped_share = 0.0;
    for k in 0..=assets.len() {
        if capped_share >= 1.0 {
            break;
        }
        let uncapped: f64 = assets[k..].iter().map(|x| x.0).sum();
        let b = uncapped / (1.0 - capped_share);
        let lowest = assets.get(k).map_or(0.0, threshold);
        if b >= lowest {
            return b;
        }
        if let Some(x) = assets.get(k) {
            capped_share += x.1;
        }
    }
    0.0
}

/// The next liquidation call on an account, as docs/lending.md#liquidation-call decides it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// HF ≥ 1 (or no debt): nothing to do.
    Healthy,
    /// HF < 1 and no seizable collateral left: the remaining debt is bad debt.
    BadDebt,
    /// Repay `repay` tokens of entry `debt`, seize `seize` tokens of entry `collateral`.
    Liquidate {
        collateral: usize,
        debt: usize,
        repay: f64,
        seize: f64,
        capped: bool,
        health_factor: f64,
    },
}

/// Decides the next call: the debt with the largest USD value, the collateral with the largest USD
/// value; repay `Δ = CF·d_j` (CF = `close_factor` if HF > `full_below_hf`, else `full_close_factor`) and
/// seize `Δ·p_j·(1+LB_i)/p_i`, capped at `c_i` with `Δ` reduced to match.
/// Under Aave v3.3's rules `Δ` is [`v33_max_repay`] instead, and a call that clears neither reserve
/// is cut by [`v33_dust_room`] to leave [`MIN_LEFTOVER_USD`] of each.
pub fn next_step<P: Positions + ?Sized>(
    entries: &P,
    rules: &LiquidationRules,
    prices: &[f64],
) -> Step {
    next_step_and_health(entries, rules, prices).0
}

/// [`next_step`] and the health factor it found (∞ without debt).
pub(crate) fn next_step_and_health<P: Positions + ?Sized>(
    entries: &P,
    rules: &LiquidationRules,
    prices: &[f64],
) -> (Step, f64) {
    let mut debt_value = 0.0;
    let mut weighted = 0.0;
    let mut collateral_value = 0.0;
    let mut best_debt: Option<(usize, f64)> = None;
    let mut best_coll: Option<(usize, f64)> = None;
    let mut capped = false;
    for k in 0..entries.entry_count() {
        let e = entries.entry(k);
        let p = prices[e.asset as usize];
        let v = e.amount * p;
        match e.side {
            Side::Debt => {
                debt_value += v;
                if e.amount > 0.0 && best_debt.is_none_or(|(_, bv)| v > bv) {
                    best_debt = Some((k, v));
                }
            }
            Side::Collateral => {
                weighted += v * e.lt;
                if e.lt > 0.0 {
                    collateral_value += v;
                    capped |= e.cap < 1.0;
                }
                if e.lt > 0.0 && e.amount > 0.0 && p > 0.0 && best_coll.is_none_or(|(_, bv)| v > bv)
                {
                    best_coll = Some((k, v));
                }
            }
        }
    }
    let Some((j, _)) = best_debt else {
        return (Step::Healthy, f64::INFINITY);
    };
    if debt_value <= 0.0 {
        return (Step::Healthy, f64::INFINITY);
    }
    if capped {
        weighted = capped_borrowing_power(entries, prices);
    }
    let hf = health_factor_by(
        rules.health_factor_rule,
        weighted,
        collateral_value,
        debt_value,
    );
    if hf >= 1.0 {
        return (Step::Healthy, hf);
    }
    let Some((i, _)) = best_coll else {
        return (Step::BadDebt, hf);
    };
    let (c, d) = (entries.entry(i), entries.entry(j));
    let (p_i, p_j) = (prices[c.asset as usize], prices[d.asset as usize]);
    let mut repay = match rules.rule_set {
        LiquidationRuleSet::AaveV3 => {
            // As the contracts compare it: the close factor while HF > the threshold, the full
            // one at or below.
            let cf = if hf > rules.full_below_hf {
                rules.close_factor
            } else {
                rules.full_close_factor
            };
            cf * d.amount
        }
        LiquidationRuleSet::AaveV33 => {
            v33_max_repay(c.amount * p_i, d.amount, p_j, debt_value, hf, rules)
        }
    };
    let mut seize = repay * p_j * (1.0 + c.lb) / p_i;
    let mut capped = false;
    if seize >= c.amount {
        seize = c.amount;
        repay = (c.amount * p_i / (p_j * (1.0 + c.lb))).min(d.amount);
        capped = true;
    }
    if rules.rule_set == LiquidationRuleSet::AaveV33 && repay < d.amount && !capped {
        // The dust rule: a call that clears neither reserve must leave MIN_LEFTOVER_USD of both;
        // the liquidator repays less instead (docs/lending.md#aave-v33-liquidations).
        let room = v33_dust_room(
            (d.amount - repay) * p_j,
            (c.amount - seize) * p_i,
            repay * p_j,
            seize * p_i,
        );
        if room < 1.0 {
            repay *= room;
            seize *= room;
        }
    }
    let step = Step::Liquidate {
        collateral: i,
        debt: j,
        repay,
        seize,
        capped,
        health_factor: hf,
    };
    (step, hf)
}

/// Aave v3.3's largest repayable amount of the debt reserve, tokens (docs/lending.md#aave-v33-liquidations):
/// the whole reserve debt `d_j`, unless the collateral reserve's value `coll_usd` and the debt
/// reserve's value `d_j·p_j` are both at least [`MIN_BASE_MAX_CLOSE_FACTOR_USD`] and
/// `HF > full_below_hf`; then `min(d_j, CF · total_debt_usd / p_j)`, the close factor `CF`
/// applying to the account's total debt.
pub fn v33_max_repay(
    coll_usd: f64,
    d_j: f64,
    p_j: f64,
    total_debt_usd: f64,
    hf: f64,
    rules: &LiquidationRules,
) -> f64 {
    let debt_usd = d_j * p_j;
    let partial = coll_usd >= MIN_BASE_MAX_CLOSE_FACTOR_USD
        && debt_usd >= MIN_BASE_MAX_CLOSE_FACTOR_USD
        && hf > rules.full_below_hf;
    if !partial {
        return d_j;
    }
    let cap_usd = rules.close_factor * total_debt_usd;
    if debt_usd > cap_usd {
        cap_usd / p_j
    } else {
        d_j
    }
}

/// The largest share (≤ 1) of a call repaying `repay_usd` and seizing `seize_usd` that leaves at
/// least [`MIN_LEFTOVER_USD`] of debt and of collateral in the reserves involved, given that the
/// whole call would leave `debt_left_usd` and `coll_left_usd` (Aave v3.3's dust rule, for a call
/// that clears neither reserve). 1 when the whole call leaves enough; never below 0.
pub fn v33_dust_room(
    debt_left_usd: f64,
    coll_left_usd: f64,
    repay_usd: f64,
    seize_usd: f64,
) -> f64 {
    let mut room = 1.0_f64;
    if debt_left_usd < MIN_LEFTOVER_USD {
        room = room.min((debt_left_usd + repay_usd - MIN_LEFTOVER_USD) / repay_usd);
    }
    if coll_left_usd < MIN_LEFTOVER_USD {
        room = room.min((coll_left_usd + seize_usd - MIN_LEFTOVER_USD) / seize_usd);
    }
    room.max(0.0)
}
