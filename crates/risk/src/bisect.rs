//! Monte Carlo calibration (docs/calibration.md#monte-carlo-search): by bisection, the largest liquidation threshold — and the
//! largest supply — of a reserve whose `ES_α` of the protocol's loss stays within a loss budget, a
//! share of the protocol's supplied value; and the sensitivity of ES to the threshold (±5 points).
//!
//! Every evaluation runs the same paths (the same seed: common random numbers), so differences come
//! from the parameter, not from sampling. A larger threshold lets accounts run closer to insolvency and
//! a larger supply sells more into the same curves, so ES rises with both (checked on the way: a
//! non-monotone evaluation is reported, and the bisection keeps the last value inside the budget).

use serde::Serialize;

use cascade_engine::Prepared;
use cascade_model::{AssetIdx, ProtocolIdx, ProtocolParams, Side, Snapshot};

use crate::paths::PathError;
use crate::simulate::{simulate, Simulation, SimulationSpec};

/// Steps of each bisection (the interval shrinks 2¹² = 4096 times: under 0.03 points of LT).
pub const BISECTION_STEPS: usize = 12;

/// Monte Carlo calibration of one reserve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct McCalibration {
    pub protocol: String,
    pub asset: String,
    pub current_lt: f64,
    /// Loss budget, USD (budget share × the protocol's supplied value).
    pub budget_usd: f64,
    /// `ES_α` of the protocol's loss at the current parameters, USD.
    pub es_current_usd: f64,
    /// Largest LT (≤ 1/(1 + LB)) whose ES stays within the budget; `None` if even LT → 0 exceeds it.
    pub max_lt: Option<f64>,
    /// Largest supply of the asset (tokens) within the budget, scaling every account that holds it;
    /// `None` if the current supply already exceeds it.
    pub max_supply_tokens: Option<f64>,
    pub current_supply_tokens: f64,
    /// (LT, ES) at LT − 0.05, LT, LT + 0.05 (capped to the admissible range).
    pub sensitivity: Vec<(f64, f64)>,
}

/// A copy of `s` with reserve `(p, a)`'s liquidation threshold set to `lt` (its ltv capped to it), and
/// every account of `p` that holds `a` re-levered to keep its health factor: its debt is scaled by
/// `W_new / W_old`, `W = Σ c_i·p_i·LT_i` at snapshot prices — borrowers use a changed threshold as they
/// used the old one (otherwise lowering a threshold would simply liquidate today's book). Accounts whose
/// e-mode category covers `a` keep the category's threshold and are left as they are.
pub fn with_lt(s: &Snapshot, p: ProtocolIdx, a: AssetIdx, lt: f64) -> Snapshot {
    with_lt_at(s, p, a, lt, &Prepared::new(s).initial_prices)
}

/// [`with_lt`] at given USD prices (the snapshot's, issuers' prices included: [`Prepared`]), so that a
/// bisection computes them once.
pub fn with_lt_at(s: &Snapshot, p: ProtocolIdx, a: AssetIdx, lt: f64, prices: &[f64]) -> Snapshot {
    let mut t = s.clone();
    let Some(old) = s.protocols[p].lending() else {
        return t;
    };
    let Some(r0) = old.reserve_of(a) else {
        return t;
    };
    let lt0 = r0.liquidation_threshold;
    if let ProtocolParams::Lending(l) = &mut t.protocols[p].params {
        if let Some(r) = l.reserves.iter_mut().find(|r| r.asset == a) {
            r.liquidation_threshold = lt;
            r.ltv = r.ltv.min(lt);
        }
    }
    let lt_of = |x: AssetIdx| {
        old.reserve_of(x)
            .filter(|r| r.collateral_enabled)
            .map_or(0.0, |r| r.liquidation_threshold)
    };
    let n = s.accounts.len();
    let (mut w_old, mut w_new) = (vec![0.0; n], vec![0.0; n]);
    let pos = &s.positions;
    for i in 0..pos.len() {
        let acc = pos.account[i] as usize;
        if s.accounts.protocol[acc] as usize != p || pos.side[i] != Side::Collateral {
            continue;
        }
        let x = pos.asset[i] as usize;
        let in_emode = s.accounts.emode[acc]
            .and_then(|c| old.emode.get(usize::from(c)))
            .is_some_and(|c| c.assets.contains(&x));
        if in_emode {
            continue;
        }
        let v = pos.amount[i] * prices[x];
        w_old[acc] += v * lt_of(x);
        w_new[acc] += v * if x == a { lt } else { lt_of(x) };
    }
    for i in 0..pos.len() {
        let acc = pos.account[i] as usize;
        if pos.side[i] == Side::Debt && w_old[acc] > 0.0 && w_new[acc] != w_old[acc] && lt0 > 0.0 {
            t.positions.amount[i] *= w_new[acc] / w_old[acc];
        }
    }
    t
}

/// A copy of `s` in which every account of protocol `p` holding collateral `a` is scaled by `f`
/// (its collateral and debt alike, so its health factor is unchanged): the supply of `a` times `f`.
pub fn with_supply_scaled(s: &Snapshot, p: ProtocolIdx, a: AssetIdx, f: f64) -> Snapshot {
    let mut t = s.clone();
    let pos = &s.positions;
    let mut holder = vec![false; s.accounts.len()];
    for i in 0..pos.len() {
        let acc = pos.account[i] as usize;
        if s.accounts.protocol[acc] as usize == p
            && pos.asset[i] as usize == a
            && pos.side[i] == Side::Collateral
            && pos.amount[i] > 0.0
        {
            holder[acc] = true;
        }
    }
    for i in 0..pos.len() {
        if holder[pos.account[i] as usize] {
            t.positions.amount[i] *= f;
        }
    }
    t
}

/// `ES_alpha` of protocol `p`'s loss in the simulation `run` makes of `s` under `spec`.
fn protocol_es<E>(
    s: &Snapshot,
    spec: &SimulationSpec,
    p: ProtocolIdx,
    alpha: f64,
    run: &mut dyn FnMut(&Snapshot, &SimulationSpec) -> Result<Simulation, E>,
) -> Result<f64, E> {
    let sim = run(s, spec)?;
    let f = sim.protocol(p);
    Ok(f.es
        .iter()
        .find(|(x, _)| (*x - alpha).abs() < 1e-12)
        .map_or(0.0, |(_, e)| e.value))
}

/// Largest `x` in `[lo, hi]` with `ok(x)`, assuming `ok` holds below some point and fails above it.
fn bisect_max<E>(
    lo: f64,
    hi: f64,
    mut ok: impl FnMut(f64) -> Result<bool, E>,
) -> Result<Option<f64>, E> {
    if ok(hi)? {
        return Ok(Some(hi));
    }
    if !ok(lo)? {
        return Ok(None);
    }
    let (mut a, mut b) = (lo, hi);
    for _ in 0..BISECTION_STEPS {
        let m = 0.5 * (a + b);
        if ok(m)? {
            a = m;
        } else {
            b = m;
        }
    }
    Ok(Some(a))
}

/// Calibrates reserve `(p, a)`: `budget_share` of the protocol's supplied value is the loss budget for
/// its `ES_alpha`; the supply search scales holders up to `max_supply_factor` times.
pub fn calibrate_reserve(
    s: &Snapshot,
    spec: &SimulationSpec,
    p: ProtocolIdx,
    a: AssetIdx,
    alpha: f64,
    budget_share: f64,
    max_supply_factor: f64,
) -> Result<Option<McCalibration>, PathError> {
    calibrate_reserve_with(
        s,
        spec,
        (p, a),
        (alpha, budget_share, max_supply_factor),
        &mut |t: &Snapshot, sp: &SimulationSpec| simulate(t, sp, &|| {}),
    )
}

/// [`calibrate_reserve`] with every simulation made by `run` (the same simulation, made elsewhere:
/// e.g. in shards on a cluster, merged with [`Simulation::merge`]); `(alpha, budget_share,
/// max_supply_factor)` as there. The result is the same whenever `run` gives `simulate`'s paths.
pub fn calibrate_reserve_with<E: From<PathError>>(
    s: &Snapshot,
    spec: &SimulationSpec,
    (p, a): (ProtocolIdx, AssetIdx),
    (alpha, budget_share, max_supply_factor): (f64, f64, f64),
    run: &mut dyn FnMut(&Snapshot, &SimulationSpec) -> Result<Simulation, E>,
) -> Result<Option<McCalibration>, E> {
    let Some(lending) = s.protocols[p].lending() else {
        return Ok(None);
    };
    let Some(r) = lending.reserve_of(a) else {
        return Ok(None);
    };
    if !r.collateral_enabled || r.liquidation_threshold <= 0.0 {
        return Ok(None);
    }
    let mut spec = spec.clone();
    if !spec.alphas.iter().any(|x| (x - alpha).abs() < 1e-12) {
        spec.alphas.push(alpha);
    }
    // Issuer-aware prices (LP tokens and CDP stables have their real price), computed once.
    let prices = Prepared::new(s).initial_prices;
    let totals = s.totals();
    let supplied_usd: f64 = lending
        .reserves
        .iter()
        .map(|x| x.supplied.unwrap_or(0.0).max(totals[p][x.asset][0]) * prices[x.asset])
        .sum();
    let budget = budget_share * supplied_usd;
    let es_at_lt =
        |lt: f64, run: &mut dyn FnMut(&Snapshot, &SimulationSpec) -> Result<Simulation, E>| {
            protocol_es(&with_lt_at(s, p, a, lt, &prices), &spec, p, alpha, run)
        };
    let es_current = protocol_es(s, &spec, p, alpha, run)?;
    let hi = (1.0 / (1.0 + r.liquidation_bonus)).min(0.99);
    let max_lt = bisect_max::<E>(0.01, hi, |lt| Ok(es_at_lt(lt, run)? <= budget))?;
    let current_supply = totals[p][a][0];
    let max_supply_tokens = if current_supply > 0.0 {
        bisect_max::<E>(1.0, max_supply_factor, |f| {
            Ok(protocol_es(&with_supply_scaled(s, p, a, f), &spec, p, alpha, run)? <= budget)
        })?
        .map(|f| f * current_supply)
    } else {
        None
    };
    let mut sensitivity = Vec::new();
    for d in [-0.05, 0.0, 0.05] {
        let lt = (r.liquidation_threshold + d).clamp(0.01, hi);
        sensitivity.push((
            lt,
            if d == 0.0 && lt == r.liquidation_threshold {
                es_current
            } else {
                es_at_lt(lt, run)?
            },
        ));
    }
    Ok(Some(McCalibration {
        protocol: s.protocols[p].id.clone(),
        asset: s.assets[a].id.clone(),
        current_lt: r.liquidation_threshold,
        budget_usd: budget,
        es_current_usd: es_current,
        max_lt,
        max_supply_tokens,
        current_supply_tokens: current_supply,
        sensitivity,
    }))
}
