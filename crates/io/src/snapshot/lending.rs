//! Reading a lending pool's `[[protocol]]`: its reserves and e-mode categories (docs/lending.md).

use super::{Refs, NON_NEGATIVE, UNIT};
use crate::diag::Location;
use crate::doc::Node;
use crate::problem::Problem;
use crate::reader::{str_of, Ctx, Table};
use cascade_model::protocol::{EModeCategory, LendingParams, Reserve};

pub(super) fn parse_lending(t: &mut Table, refs: &Refs, ctx: &mut Ctx) -> Option<LendingParams> {
    let unit_open = |x: f64| x > 0.0 && x <= 1.0;
    let close_factor = t
        .num_in("close_factor", false, unit_open, "a number in (0, 1]", ctx)
        .unwrap_or(0.5);
    let close_factor_full_below_hf = t
        .num_in(
            "close_factor_full_below_hf",
            false,
            unit_open,
            "a number in (0, 1]",
            ctx,
        )
        .unwrap_or(0.95);
    let full_close_factor = t
        .num_in(
            "full_close_factor",
            false,
            unit_open,
            "a number in (0, 1]",
            ctx,
        )
        .unwrap_or(1.0);
    let liquidator_cost_usd = t
        .num_in(
            "liquidator_cost_usd",
            false,
            |x| x >= 0.0,
            NON_NEGATIVE,
            ctx,
        )
        .unwrap_or(0.0);
    let liquidators_buy_debt = t.opt_bool("liquidators_buy_debt", ctx).unwrap_or(false);
    let mut reserves: Vec<Reserve> = Vec::new();
    let mut ok = true;
    for (i, rn) in t.arr("reserve", ctx).iter().enumerate() {
        match parse_reserve(rn, &format!("{} reserve {}", t.what, i + 1), refs, ctx) {
            Some(r) => {
                if let Some(prev) = reserves.iter().find(|p| p.asset == r.asset) {
                    ctx.error(
                        r.line,
                        format!("{} reserve {}", t.what, i + 1),
                        Problem::Duplicate {
                            what: "reserve for this asset".into(),
                            first: Some(Location::Line(prev.line)),
                        },
                    );
                    ok = false;
                } else {
                    reserves.push(r);
                }
            }
            None => ok = false,
        }
    }
    let mut emode = Vec::new();
    for (i, en) in t.arr("emode", ctx).iter().enumerate() {
        let what = format!("{} emode {}", t.what, i + 1);
        let Some(mut e) = Table::new(en, what, ctx) else {
            ok = false;
            continue;
        };
        let id = e.req_str("id", ctx);
        if let Some(prev) = id
            .as_ref()
            .and_then(|id| emode.iter().find(|c: &&EModeCategory| &c.id == id))
        {
            ctx.error(
                e.line_of("id"),
                e.field("id"),
                Problem::Duplicate {
                    what: format!("e-mode category \"{}\"", prev.id),
                    first: Some(Location::Line(prev.line)),
                },
            );
            ok = false;
        }
        let ltv = e.num_in("ltv", true, |x| (0.0..=1.0).contains(&x), UNIT, ctx);
        let lt = e.num_in(
            "liquidation_threshold",
            true,
            unit_open,
            "a number in (0, 1]",
            ctx,
        );
        let lb = e.num_in(
            "liquidation_bonus",
            true,
            |x| (0.0..1.0).contains(&x),
            "a number in [0, 1)",
            ctx,
        );
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
        let line = e.line;
        e.finish(ctx);
        match (id, ltv, lt, lb) {
            (Some(id), Some(ltv), Some(liquidation_threshold), Some(liquidation_bonus)) => emode
                .push(EModeCategory {
                    id,
                    ltv,
                    liquidation_threshold,
                    liquidation_bonus,
                    assets,
                    line,
                }),
            _ => ok = false,
        }
    }
    if reserves.is_empty() && ok {
        ctx.error(
            t.line,
            t.field("reserve"),
            "a lending protocol needs at least one [[protocol.reserve]]",
        );
    }
    if !ok {
        return None;
    }
    Some(LendingParams {
        close_factor,
        close_factor_full_below_hf,
        full_close_factor,
        liquidator_cost_usd,
        liquidators_buy_debt,
        reserves,
        emode,
    })
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
    let ltv = t.num_in("ltv", true, |x| (0.0..=1.0).contains(&x), UNIT, ctx);
    let lt_ok = |x: f64| {
        if collateral_enabled {
            x > 0.0 && x <= 1.0
        } else {
            (0.0..=1.0).contains(&x)
        }
    };
    let lt_expected = if collateral_enabled {
        "a number in (0, 1]"
    } else {
        UNIT
    };
    let lt = t.num_in("liquidation_threshold", true, lt_ok, lt_expected, ctx);
    let lb = t.num_in(
        "liquidation_bonus",
        true,
        |x| (0.0..1.0).contains(&x),
        "a number in [0, 1)",
        ctx,
    );
    let reserve_factor = t
        .num_in(
            "reserve_factor",
            false,
            |x| (0.0..1.0).contains(&x),
            "a number in [0, 1)",
            ctx,
        )
        .unwrap_or(0.0);
    let supply_cap = t.num_in("supply_cap", false, |x| x >= 0.0, NON_NEGATIVE, ctx);
    let borrow_cap = t.num_in("borrow_cap", false, |x| x >= 0.0, NON_NEGATIVE, ctx);
    let borrowable = t.opt_bool("borrowable", ctx).unwrap_or(true);
    let debt_ceiling_usd = t.num_in("debt_ceiling", false, |x| x >= 0.0, NON_NEGATIVE, ctx);
    let supplied = t.num_in("supplied", false, |x| x >= 0.0, NON_NEGATIVE, ctx);
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
        reserve_factor,
        supply_cap,
        borrow_cap,
        collateral_enabled,
        borrowable,
        debt_ceiling_usd,
        supplied,
        line,
    })
}
