//! Reading a clearinghouse's `[[protocol]]` (docs/clearinghouse.md): weights, perp markets and the
//! options block.

use super::{parse_liquidity, Ctx, Refs, Table};
use crate::doc::{Node, Value};
use crate::problem::Problem;
use crate::reader::missing;
use crate::reader::{Rule, NON_NEGATIVE, ROUNDS, SHARE};
use cascade_model::derivatives::{
    AssetWeight, ClearinghouseParams, LossMode, OptionsParams, OracleSpec, PerpMarket, SmileSpec,
};

const PNL_WEIGHT: Rule = Rule::new(|x| (0.0..=1.0).contains(&x), WEIGHT);
const COLLATERAL_WEIGHT: Rule = PNL_WEIGHT;
const LIABILITY_WEIGHT: Rule = Rule::new(|x| x >= 1.0, "a liability weight ≥ 1");
const SHARE_CLOSED: Rule = Rule::new(|x| (0.0..=1.0).contains(&x), "a share in [0, 1]");
const RATIO: Rule = Rule::new(|x| x > 0.0 && x <= 1.0, "a ratio in (0, 1]");
const UNDERLYING_MOVES: Rule = Rule::new(|x| x > 0.0 && x < 1.0, "a share in (0, 1) (0.15 = ±15%)");
const PRICE_STEPS: Rule = Rule::new(
    |x| x >= 1.0 && x.fract() == 0.0 && x % 2.0 == 1.0 && x <= 1001.0,
    "an odd whole number in [1, 1001] (the grid includes 0)",
);
const VOL_SHOCK: Rule = Rule::new(|x| (0.0..1.0).contains(&x), "a relative shock in [0, 1)");
const INITIAL_MULTIPLIER: Rule = Rule::new(|x| x >= 1.0, "a number ≥ 1");
const RATE: Rule = Rule::new(|x| x.abs() < 1.0, "an annual rate in (−1, 1)");
const ATM: Rule = Rule::new(
    |x| x > 0.0 && x < 20.0,
    "an annualised volatility > 0 (0.7 = 70%)",
);

cascade_model::named_enum! {
    /// Where a market's oracle price comes from, as named in `oracle = { kind = … }`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum OracleKind ("oracle kind") {
        Spot = "spot",
        ThinVenue = "thin_venue",
        Lagged = "lagged",
    }
}

const WEIGHT: &str = "a weight in [0, 1] (1 − haircut)";

/// Parses the fields of a `kind = "clearinghouse"` protocol.
pub(super) fn parse_clearinghouse(
    t: &mut Table,
    refs: &Refs,
    ctx: &mut Ctx,
) -> Option<ClearinghouseParams> {
    let mut ok = true;
    let collateral = weights(t, "collateral", refs, ctx, &mut ok);
    let liabilities = weights(t, "liabilities", refs, ctx, &mut ok);
    let loss_mode = match t.get("loss_mode") {
        None => Some(LossMode::Socialise),
        Some(_) => t.req_choice::<LossMode>("loss_mode", ctx),
    };
    let pnl_initial_weight = t.opt("pnl_initial_weight", PNL_WEIGHT, ctx).unwrap_or(1.0);
    let pnl_maintenance_weight = t
        .opt("pnl_maintenance_weight", PNL_WEIGHT, ctx)
        .unwrap_or(1.0);
    if pnl_initial_weight > pnl_maintenance_weight {
        ctx.error(
            t.line_of("pnl_initial_weight"),
            t.field("pnl_initial_weight"),
            format!("= {pnl_initial_weight}, expected ≤ pnl_maintenance_weight = {pnl_maintenance_weight} (initial health is the stricter)"),
        );
        ok = false;
    }
    let insurance_fee_share = t
        .opt("insurance_fee_share", SHARE_CLOSED, ctx)
        .unwrap_or(0.5);
    let mut markets: Vec<PerpMarket> = Vec::new();
    let what = t.what.clone();
    for (i, n) in t.arr("market", ctx).iter().enumerate() {
        match parse_market(n, &format!("{what} market {}", i + 1), refs, ctx) {
            Some(m) => {
                if markets.iter().any(|x| x.id == m.id) {
                    ctx.error(
                        m.line,
                        format!("{what} market \"{}\".id", m.id),
                        "duplicate market id",
                    );
                    ok = false;
                } else {
                    markets.push(m);
                }
            }
            None => ok = false,
        }
    }
    let options = match t.get("options") {
        None => Some(OptionsParams::default()),
        Some(n) => parse_options(n, &t.field("options"), refs, ctx),
    };
    if !ok {
        return None;
    }
    Some(ClearinghouseParams {
        collateral,
        liabilities,
        markets,
        options: options?,
        loss_mode: loss_mode?,
        pnl_initial_weight,
        pnl_maintenance_weight,
        insurance_fee_share,
    })
}

/// `[{ asset, initial_weight, maintenance_weight }, …]` under `key`: collateral weights in [0, 1] with
/// initial ≤ maintenance, or liability weights ≥ 1 with initial ≥ maintenance.
fn weights(
    t: &mut Table,
    key: &'static str,
    refs: &Refs,
    ctx: &mut Ctx,
    ok: &mut bool,
) -> Vec<AssetWeight> {
    let liability = key == "liabilities";
    let rule = if liability {
        LIABILITY_WEIGHT
    } else {
        COLLATERAL_WEIGHT
    };
    let what = t.field(key);
    let mut out: Vec<AssetWeight> = Vec::new();
    for (i, n) in t.arr(key, ctx).iter().enumerate() {
        let Some(mut w) = Table::new(n, format!("{what}[{}]", i + 1), ctx) else {
            *ok = false;
            continue;
        };
        let name = w.req_str("asset", ctx);
        let asset = name
            .as_deref()
            .and_then(|a| refs.asset(a, w.line_of("asset"), &w.field("asset"), ctx));
        let initial = w.req("initial_weight", rule, ctx);
        let maintenance = w.req("maintenance_weight", rule, ctx);
        let line = w.line;
        if let (Some(i), Some(m)) = (initial, maintenance) {
            let wrong = if liability { i < m } else { i > m };
            if wrong {
                ctx.error(
                    w.line_of("initial_weight"),
                    w.field("initial_weight"),
                    format!(
                        "= {i}, expected {} maintenance_weight = {m} (initial health is the stricter)",
                        if liability { "≥" } else { "≤" }
                    ),
                );
                *ok = false;
            }
        }
        w.finish(ctx);
        match (asset, initial, maintenance) {
            (Some(a), Some(i), Some(m)) => {
                if out.iter().any(|x| x.asset == a) {
                    ctx.error(
                        line,
                        what.clone(),
                        Problem::Duplicate {
                            what: format!("asset \"{}\"", name.as_deref().unwrap_or("")),
                            first: None,
                        },
                    );
                    *ok = false;
                } else {
                    out.push(AssetWeight {
                        asset: a,
                        initial_weight: i,
                        maintenance_weight: m,
                        line,
                    });
                }
            }
            _ => *ok = false,
        }
    }
    out
}

fn parse_market(n: &Node, what: &str, refs: &Refs, ctx: &mut Ctx) -> Option<PerpMarket> {
    let mut m = Table::new(n, what, ctx)?;
    let id = m.req_str("id", ctx);
    if let Some(id) = &id {
        m.what = format!(
            "{} market \"{id}\"",
            what.rsplit_once(" market").map_or(what, |x| x.0)
        );
    }
    let underlying = m
        .req_str("underlying", ctx)
        .and_then(|a| refs.asset(&a, m.line_of("underlying"), &m.field("underlying"), ctx));
    let imr = m.req("imr", RATIO, ctx);
    let mmr = m.req("mmr", RATIO, ctx);
    let mut ok = true;
    if let (Some(i), Some(mm)) = (imr, mmr) {
        if mm > i {
            ctx.error(
                m.line_of("mmr"),
                m.field("mmr"),
                format!("= {mm}, expected ≤ imr = {i}"),
            );
            ok = false;
        }
    }
    let liquidation_fee = m.opt("liquidation_fee", SHARE, ctx).unwrap_or(0.0);
    let imf_factor = m.opt("imf_factor", NON_NEGATIVE, ctx).unwrap_or(0.0);
    let oracle = match m.get("oracle") {
        None => Some(OracleSpec::Spot),
        Some(on) => parse_oracle(on, &m.field("oracle"), refs, ctx),
    };
    let line = m.done(ok, ctx)?;
    Some(PerpMarket {
        id: id?,
        underlying: underlying?,
        imr: imr?,
        mmr: mmr?,
        liquidation_fee,
        imf_factor,
        oracle: oracle?,
        line,
    })
}

/// `{ kind = "spot" }`, `{ kind = "thin_venue", curve = { curve = "constant_product", … } }` or
/// `{ kind = "lagged", delay_rounds = N }`.
fn parse_oracle(n: &Node, what: &str, refs: &Refs, ctx: &mut Ctx) -> Option<OracleSpec> {
    let mut o = Table::new(n, what, ctx)?;
    let kind = o.req_choice::<OracleKind>("kind", ctx);
    let out = match kind {
        Some(OracleKind::Spot) => Some(OracleSpec::Spot),
        Some(OracleKind::ThinVenue) => match o.get("curve") {
            None => {
                ctx.error(
                    o.line,
                    o.field("curve"),
                    missing("a thin-venue oracle needs its venue's curve, e.g. { curve = \"constant_product\", base = 1.2e8, quote = 4.6e6, fee = 0.003 }"),
                );
                None
            }
            Some(cn) => {
                let l = parse_liquidity(cn, &o.field("curve"), refs, ctx)?;
                if l.quote_asset.is_some() || l.pool.is_some() {
                    ctx.error(
                        o.line_of("curve"),
                        o.field("curve"),
                        "a thin venue quotes in USD: no quote_asset or pool",
                    );
                    None
                } else {
                    Some(OracleSpec::ThinVenue { curve: l.curve })
                }
            }
        },
        None => None,
        Some(OracleKind::Lagged) => {
            o.req("delay_rounds", ROUNDS, ctx)
                .map(|d| OracleSpec::Lagged {
                    delay_rounds: d as u32,
                })
        }
    };
    o.finish(ctx);
    out
}

fn parse_options(n: &Node, what: &str, refs: &Refs, ctx: &mut Ctx) -> Option<OptionsParams> {
    let mut o = Table::new(n, what, ctx)?;
    let d = OptionsParams::default();
    let underlying_moves = o
        .opt("underlying_moves", UNDERLYING_MOVES, ctx)
        .unwrap_or(d.underlying_moves);
    let price_steps = o
        .opt("price_steps", PRICE_STEPS, ctx)
        .map_or(d.price_steps, |x| x as u32);
    let vol_shock = o.opt("vol_shock", VOL_SHOCK, ctx).unwrap_or(d.vol_shock);
    let floor = o.opt("floor", SHARE_CLOSED, ctx).unwrap_or(d.floor);
    let initial_multiplier = o
        .opt("initial_multiplier", INITIAL_MULTIPLIER, ctx)
        .unwrap_or(d.initial_multiplier);
    let rate = o.opt("rate", RATE, ctx).unwrap_or(d.rate);
    let liquidation_fee = o
        .opt("liquidation_fee", SHARE, ctx)
        .unwrap_or(d.liquidation_fee);
    let mut smile = Vec::new();
    let mut ok = true;
    if let Some(sn) = o.get("smile") {
        let field = o.field("smile");
        match &sn.value {
            Value::Obj(entries) => {
                for (a, v) in entries {
                    let f = format!("{field}.{a}");
                    let Some(ai) = refs.asset(a, v.line, &f, ctx) else {
                        ok = false;
                        continue;
                    };
                    match parse_smile(v, &f, ai, ctx) {
                        Some(s) => smile.push(s),
                        None => ok = false,
                    }
                }
            }
            other => {
                ctx.error(
                    sn.line,
                    field,
                    format!(
                        "found {}, expected a table of underlying = {{ atm, skew, curvature }}",
                        other.type_name()
                    ),
                );
                ok = false;
            }
        }
    }
    let line = o.line;
    o.finish(ctx);
    ok.then_some(OptionsParams {
        underlying_moves,
        price_steps,
        vol_shock,
        floor,
        initial_multiplier,
        rate,
        liquidation_fee,
        smile,
        line,
    })
}

fn parse_smile(n: &Node, what: &str, underlying: usize, ctx: &mut Ctx) -> Option<SmileSpec> {
    let mut s = Table::new(n, what, ctx)?;
    let atm = s.req("atm", ATM, ctx);
    let skew = s.opt_num("skew", ctx).unwrap_or(0.0);
    let curvature = s.opt("curvature", NON_NEGATIVE, ctx).unwrap_or(0.0);
    s.finish(ctx);
    Some(SmileSpec {
        underlying,
        atm: atm?,
        skew,
        curvature,
    })
}
