//! Reading a lending pool's `[[protocol]]`: its reserves and e-mode categories (docs/lending.md).

use super::{listed, needs_one, read_list, Refs};
use crate::diag::Location;
use crate::doc::Node;
use crate::problem::Problem;
use crate::reader::{str_of, Ctx, Rule, Table, BELOW_ONE, NON_NEGATIVE, POSITIVE, UNIT, UNIT_OPEN};
use cascade_model::protocol::{
    EModeCategory, HealthFactorRule, LendingParams, LiquidationMechanism, LiquidationRuleSet,
    MechanismParams, Reserve,
};

pub(super) fn parse_lending(t: &mut Table, refs: &Refs, ctx: &mut Ctx) -> Option<LendingParams> {
    let close_factor = t.opt("close_factor", UNIT_OPEN, ctx).unwrap_or(0.5);
    let close_factor_full_below_hf = t
        .opt("close_factor_full_below_hf", UNIT_OPEN, ctx)
        .unwrap_or(0.95);
    let full_close_factor = t.opt("full_close_factor", UNIT_OPEN, ctx).unwrap_or(1.0);
    let liquidator_cost_usd = t
        .opt("liquidator_cost_usd", NON_NEGATIVE, ctx)
        .unwrap_or(LendingParams::DEFAULT_LIQUIDATOR_COST_USD);
    let liquidators_buy_debt = t.opt_bool("liquidators_buy_debt", ctx).unwrap_or(false);
    let health_factor_rule = if t.has("health_factor") {
        t.req_choice::<HealthFactorRule>("health_factor", ctx)
            .unwrap_or_default()
    } else {
        HealthFactorRule::default()
    };
    let liquidation_rules = if t.has("liquidation_rules") {
        t.req_choice::<LiquidationRuleSet>("liquidation_rules", ctx)
            .unwrap_or_default()
    } else {
        LiquidationRuleSet::default()
    };
    let diversification_cap = t.opt("diversification_cap", UNIT_OPEN, ctx);
    let liquidation_mechanism = if t.has("liquidation_mechanism") {
        t.req_choice::<LiquidationMechanism>("liquidation_mechanism", ctx)
            .unwrap_or_default()
    } else {
        LiquidationMechanism::default()
    };
    let mechanism = match t.get("mechanism") {
        Some(n) => parse_mechanism(n, &t.field("mechanism"), ctx).unwrap_or_default(),
        None => MechanismParams::default(),
    };
    let mut ok = true;
    let reserves = read_list(t, "reserve", &mut ok, ctx, |n, what, earlier, ctx| {
        parse_reserve(n, &what, refs, ctx).and_then(|r| unique_reserve(r, &what, earlier, ctx))
    });
    let emode = read_list(t, "emode", &mut ok, ctx, |n, what, earlier, ctx| {
        parse_emode(n, what, refs, &reserves, earlier, ctx)
    });
    ok &= needs_one(
        t,
        "reserve",
        ok && reserves.is_empty(),
        "a lending protocol",
        ctx,
    );
    if !ok {
        return None;
    }
    Some(LendingParams {
        close_factor,
        close_factor_full_below_hf,
        full_close_factor,
        liquidator_cost_usd,
        liquidators_buy_debt,
        health_factor_rule,
        liquidation_rules,
        diversification_cap,
        liquidation_mechanism,
        mechanism,
        reserves,
        emode,
    })
}

/// A number above 1 (a starting-price buffer, a penalty factor).
const ABOVE_ONE: Rule = Rule::new(|x| x >= 1.0, "a number ≥ 1");
/// A band count crvUSD accepts (4 to 50).
const BAND_COUNT: Rule = Rule::new(
    |x| x.fract() == 0.0 && (4.0..=50.0).contains(&x),
    "a whole number in [4, 50]",
);
/// An amplification above 1 (band edges in the ratio `(A − 1)/A`).
const AMPLIFICATION: Rule = Rule::new(|x| x > 1.0, "a number > 1");

/// A pool's `mechanism = { … }` table (docs/mechanisms.md#parameters): every key optional, the
/// defaults of [`MechanismParams::default`] otherwise.
fn parse_mechanism(n: &Node, what: &str, ctx: &mut Ctx) -> Option<MechanismParams> {
    let mut m = Table::new(n, what, ctx)?;
    let d = MechanismParams::default();
    let mut p = d;
    p.round_seconds = m
        .opt("round_seconds", POSITIVE, ctx)
        .unwrap_or(d.round_seconds);
    p.dutch.buf = m.opt("buf", ABOVE_ONE, ctx).unwrap_or(d.dutch.buf);
    p.dutch.tail_seconds = m.opt("tail", POSITIVE, ctx).unwrap_or(d.dutch.tail_seconds);
    p.dutch.cusp = m.opt("cusp", UNIT_OPEN, ctx).unwrap_or(d.dutch.cusp);
    p.dutch.chop = m.opt("chop", ABOVE_ONE, ctx).unwrap_or(d.dutch.chop);
    p.dutch.cut = m.opt("cut", UNIT_OPEN, ctx).unwrap_or(d.dutch.cut);
    p.dutch.step_seconds = m.opt("step", POSITIVE, ctx).unwrap_or(d.dutch.step_seconds);
    p.soft.amplification = m
        .opt("amplification", AMPLIFICATION, ctx)
        .unwrap_or(d.soft.amplification);
    p.soft.bands = m
        .opt("bands", BAND_COUNT, ctx)
        .map_or(d.soft.bands, |x| x as u32);
    p.soft.liquidation_discount = m
        .opt("liquidation_discount", BELOW_ONE, ctx)
        .unwrap_or(d.soft.liquidation_discount);
    p.soft.oracle_ema_seconds = m
        .opt("oracle_ema_seconds", NON_NEGATIVE, ctx)
        .unwrap_or(d.soft.oracle_ema_seconds);
    p.absorb.liquidation_factor = m
        .opt("liquidation_factor", UNIT_OPEN, ctx)
        .unwrap_or(d.absorb.liquidation_factor);
    p.absorb.store_front_price_factor = m
        .opt("store_front_price_factor", UNIT, ctx)
        .unwrap_or(d.absorb.store_front_price_factor);
    m.finish(ctx);
    Some(p)
}

/// `r` unless an `earlier` reserve of the pool has its asset (then an error at `what`).
fn unique_reserve(r: Reserve, what: &str, earlier: &[Reserve], ctx: &mut Ctx) -> Option<Reserve> {
    let Some(prev) = earlier.iter().find(|p| p.asset == r.asset) else {
        return Some(r);
    };
    let first = Some(Location::Line(prev.line));
    let what_dup = "reserve for this asset".to_string();
    ctx.error(
        r.line,
        what,
        Problem::Duplicate {
            what: what_dup,
            first,
        },
    );
    None
}

/// Aave v3's own rules: `ltv ≤ LT` and `LT·(1 + LB) ≤ 1` (otherwise a liquidation cannot pay its bonus).
pub(super) fn check_risk_params(ltv: f64, lt: f64, lb: f64, t: &Table, ctx: &mut Ctx) {
    let what = &t.what;
    if ltv > lt {
        ctx.error(t.line_of("ltv"), format!("{what}.ltv"), format!("= {ltv} is above liquidation_threshold = {lt}; expected ltv ≤ liquidation_threshold"));
    }
    if lt * (1.0 + lb) > 1.0 + 1e-12 {
        ctx.error(
            t.line_of("liquidation_threshold"),
            format!("{what}.liquidation_threshold"),
            format!("liquidation_threshold × (1 + liquidation_bonus) = {:.4} > 1; the bonus could not be paid from the collateral", lt * (1.0 + lb)),
        );
    }
}

pub(super) fn parse_reserve(n: &Node, what: &str, refs: &Refs, ctx: &mut Ctx) -> Option<Reserve> {
    let mut t = Table::new(n, what, ctx)?;
    let asset_s = t.req_str("asset", ctx);
    let asset = asset_s
        .as_deref()
        .and_then(|a| refs.asset(a, t.line_of("asset"), &t.field("asset"), ctx));
    if let Some(a) = &asset_s {
        t.what = format!("{what} (\"{a}\")");
    }
    let collateral_enabled = t.opt_bool("collateral_enabled", ctx).unwrap_or(true);
    let ltv = t.req("ltv", UNIT, ctx);
    // A reserve that is not collateral may have a threshold of 0.
    let lt_rule = if collateral_enabled { UNIT_OPEN } else { UNIT };
    let lt = t.req("liquidation_threshold", lt_rule, ctx);
    let lb = t.req("liquidation_bonus", BELOW_ONE, ctx);
    let liquidation_protocol_fee = t.opt("liquidation_protocol_fee", UNIT, ctx).unwrap_or(0.0);
    let reserve_factor = t.opt("reserve_factor", BELOW_ONE, ctx).unwrap_or(0.0);
    let supply_cap = t.opt("supply_cap", NON_NEGATIVE, ctx);
    let borrow_cap = t.opt("borrow_cap", NON_NEGATIVE, ctx);
    let borrowable = t.opt_bool("borrowable", ctx).unwrap_or(true);
    let debt_ceiling_usd = t.opt("debt_ceiling", NON_NEGATIVE, ctx);
    let supplied = t.opt("supplied", NON_NEGATIVE, ctx);
    let diversification_cap = t.opt("diversification_cap", UNIT_OPEN, ctx);
    if let (Some(ltv), Some(lt), Some(lb)) = (ltv, lt, lb) {
        check_risk_params(ltv, lt, lb, &t, ctx);
    }
    let line = t.line;
    t.finish(ctx);
    Some(Reserve {
        asset: asset?,
        ltv: ltv?,
        liquidation_threshold: lt?,
        liquidation_bonus: lb?,
        liquidation_protocol_fee,
        reserve_factor,
        supply_cap,
        borrow_cap,
        collateral_enabled,
        borrowable,
        debt_ceiling_usd,
        supplied,
        diversification_cap,
        line,
    })
}

/// One `[[protocol.emode]]` table of a pool with `reserves`; `earlier` are its categories before it.
fn parse_emode(
    n: &Node,
    what: String,
    refs: &Refs,
    reserves: &[Reserve],
    earlier: &[EModeCategory],
    ctx: &mut Ctx,
) -> Option<EModeCategory> {
    let ids = earlier.iter().map(|c| (c.id.as_str(), c.line));
    let (mut e, id, unique) = listed(n, what, "e-mode category", ids, ctx)?;
    let ltv = e.req("ltv", UNIT, ctx);
    let lt = e.req("liquidation_threshold", UNIT_OPEN, ctx);
    let lb = e.req("liquidation_bonus", BELOW_ONE, ctx);
    let mut assets = Vec::new();
    for an in e.arr("assets", ctx) {
        if let Some(s) = str_of(an, &e.field("assets"), ctx) {
            match refs.asset(&s, an.line, &e.field("assets"), ctx) {
                Some(a) if reserves.iter().any(|r| r.asset == a) => assets.push(a),
                Some(_) => ctx.error(
                    an.line,
                    e.field("assets"),
                    format!("\"{s}\" has no reserve in this protocol"),
                ),
                None => {}
            }
        }
    }
    if let (Some(ltv), Some(lt), Some(lb)) = (ltv, lt, lb) {
        check_risk_params(ltv, lt, lb, &e, ctx);
    }
    let line = e.done(unique, ctx)?;
    Some(EModeCategory {
        id: id?,
        assets,
        ltv: ltv?,
        liquidation_threshold: lt?,
        liquidation_bonus: lb?,
        line,
    })
}
