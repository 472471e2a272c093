//! Reading a clearinghouse's `[[protocol]]` (DESIGN §6, §14) and the derivatives of its accounts.

use super::{parse_liquidity, AssetKinds, Ctx, Refs, Table, NON_NEGATIVE, POSITIVE};
use crate::doc::{Node, Value};
use cascade_model::derivatives::{
    AssetWeight, ClearinghouseParams, LossMode, OptionType, OptionsParams, OracleSpec, PerpMarket,
    SmileSpec,
};

const WEIGHT: &str = "a weight in [0, 1] (1 − haircut)";
const LIABILITY_WEIGHT: &str = "a liability weight ≥ 1";

/// Parses the fields of a `kind = "clearinghouse"` protocol.
pub(super) fn parse_clearinghouse(
    t: &mut Table,
    refs: &Refs,
    _kinds: &AssetKinds,
    ctx: &mut Ctx,
) -> Option<ClearinghouseParams> {
    let mut ok = true;
    let collateral = weights(t, "collateral", refs, ctx, &mut ok);
    let liabilities = weights(t, "liabilities", refs, ctx, &mut ok);
    let loss_mode = match t.get("loss_mode") {
        None => Some(LossMode::Socialise),
        Some(_) => t.req_choice(
            "loss_mode",
            &[("socialise", LossMode::Socialise), ("adl", LossMode::Adl)],
            ctx,
        ),
    };
    let unit = |x: f64| (0.0..=1.0).contains(&x);
    let pnl_initial_weight = t
        .num_in("pnl_initial_weight", false, unit, WEIGHT, ctx)
        .unwrap_or(1.0);
    let pnl_maintenance_weight = t
        .num_in("pnl_maintenance_weight", false, unit, WEIGHT, ctx)
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
        .num_in("insurance_fee_share", false, unit, "a share in [0, 1]", ctx)
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
    let (range, expected): (fn(f64) -> bool, &str) = if liability {
        (|x| x >= 1.0 && x.is_finite(), LIABILITY_WEIGHT)
    } else {
        (|x| (0.0..=1.0).contains(&x), WEIGHT)
    };
    let what = t.field(key);
    let mut out: Vec<AssetWeight> = Vec::new();
    for (i, n) in t.arr(key, ctx).iter().enumerate() {
        let Some(mut w) = Table::new(n, format!("{what}[{}]", i + 1), ctx) else {
            *ok = false;
            continue;
        };
        let asset = w
            .req_str("asset", ctx)
            .and_then(|a| refs.asset(&a, w.line_of("asset"), &w.field("asset"), ctx));
        let initial = w.num_in("initial_weight", true, range, expected, ctx);
        let maintenance = w.num_in("maintenance_weight", true, range, expected, ctx);
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
                    ctx.error(line, what.clone(), "the same asset is listed twice");
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
    let ratio = |x: f64| x > 0.0 && x <= 1.0;
    let imr = m.num_in("imr", true, ratio, "a ratio in (0, 1]", ctx);
    let mmr = m.num_in("mmr", true, ratio, "a ratio in (0, 1]", ctx);
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
    let liquidation_fee = m
        .num_in(
            "liquidation_fee",
            false,
            |x| (0.0..1.0).contains(&x),
            "a share in [0, 1)",
            ctx,
        )
        .unwrap_or(0.0);
    let imf_factor = m
        .num_in("imf_factor", false, |x| x >= 0.0, NON_NEGATIVE, ctx)
        .unwrap_or(0.0);
    let oracle = match m.get("oracle") {
        None => Some(OracleSpec::Spot),
        Some(on) => parse_oracle(on, &m.field("oracle"), refs, ctx),
    };
    let line = m.line;
    m.finish(ctx);
    if !ok {
        return None;
    }
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
    let kind = o.req_choice(
        "kind",
        &[("spot", 0u8), ("thin_venue", 1u8), ("lagged", 2u8)],
        ctx,
    );
    let out = match kind {
        Some(0) => Some(OracleSpec::Spot),
        Some(1) => match o.get("curve") {
            None => {
                ctx.error(
                    o.line,
                    o.field("curve"),
                    "missing; a thin-venue oracle needs its venue's curve, e.g. { curve = \"constant_product\", base = 1.2e8, quote = 4.6e6, fee = 0.003 }",
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
        Some(_) => o
            .num_in(
                "delay_rounds",
                true,
                |x| x >= 0.0 && x.fract() == 0.0 && x <= 1e6,
                "a whole number of rounds ≥ 0",
                ctx,
            )
            .map(|d| OracleSpec::Lagged {
                delay_rounds: d as u32,
            }),
    };
    o.finish(ctx);
    out
}

fn parse_options(n: &Node, what: &str, refs: &Refs, ctx: &mut Ctx) -> Option<OptionsParams> {
    let mut o = Table::new(n, what, ctx)?;
    let d = OptionsParams::default();
    let underlying_moves = o
        .num_in(
            "underlying_moves",
            false,
            |x| x > 0.0 && x < 1.0,
            "a share in (0, 1) (0.15 = ±15%)",
            ctx,
        )
        .unwrap_or(d.underlying_moves);
    let price_steps = o
        .num_in(
            "price_steps",
            false,
            |x| x >= 1.0 && x.fract() == 0.0 && x % 2.0 == 1.0 && x <= 1001.0,
            "an odd whole number in [1, 1001] (the grid includes 0)",
            ctx,
        )
        .map_or(d.price_steps, |x| x as u32);
    let vol_shock = o
        .num_in(
            "vol_shock",
            false,
            |x| (0.0..1.0).contains(&x),
            "a relative shock in [0, 1)",
            ctx,
        )
        .unwrap_or(d.vol_shock);
    let floor = o
        .num_in(
            "floor",
            false,
            |x| (0.0..=1.0).contains(&x),
            "a share in [0, 1]",
            ctx,
        )
        .unwrap_or(d.floor);
    let initial_multiplier = o
        .num_in(
            "initial_multiplier",
            false,
            |x| x >= 1.0,
            "a number ≥ 1",
            ctx,
        )
        .unwrap_or(d.initial_multiplier);
    let rate = o
        .num_in(
            "rate",
            false,
            |x| x.abs() < 1.0,
            "an annual rate in (−1, 1)",
            ctx,
        )
        .unwrap_or(d.rate);
    let liquidation_fee = o
        .num_in(
            "liquidation_fee",
            false,
            |x| (0.0..1.0).contains(&x),
            "a share in [0, 1)",
            ctx,
        )
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
    let atm = s.num_in(
        "atm",
        true,
        |x| x > 0.0 && x < 20.0,
        "an annualised volatility > 0 (0.7 = 70%)",
        ctx,
    );
    let skew = s.opt_num("skew", ctx).unwrap_or(0.0);
    let curvature = s
        .num_in("curvature", false, |x| x >= 0.0, NON_NEGATIVE, ctx)
        .unwrap_or(0.0);
    s.finish(ctx);
    Some(SmileSpec {
        underlying,
        atm: atm?,
        skew,
        curvature,
    })
}

/// One `perps = [{ market, size, entry_price }]` entry of an account of clearinghouse `ch`.
pub(super) fn parse_perp(
    n: &Node,
    what: &str,
    ch: &ClearinghouseParams,
    protocol_id: &str,
    ctx: &mut Ctx,
) -> Option<(u16, f64, f64)> {
    let mut p = Table::new(n, what, ctx)?;
    let market = p.req_str("market", ctx).and_then(|m| {
        let r = ch.market_idx(&m);
        if r.is_none() {
            let known: Vec<&str> = ch.markets.iter().map(|x| x.id.as_str()).collect();
            ctx.error(
                p.line_of("market"),
                p.field("market"),
                format!(
                    "unknown market \"{m}\" in protocol \"{protocol_id}\"; expected one of: {}",
                    known.join(", ")
                ),
            );
        }
        r
    });
    let size = p.req_num("size", ctx);
    let entry_price = p.num_in("entry_price", true, |x| x > 0.0, POSITIVE, ctx);
    p.finish(ctx);
    Some((market? as u16, size?, entry_price?))
}

/// One `options = [{ underlying, kind, strike, expiry_days, size }]` entry.
pub(super) fn parse_option(
    n: &Node,
    what: &str,
    ch: &ClearinghouseParams,
    protocol_id: &str,
    refs_asset: &dyn Fn(&str) -> Option<usize>,
    ctx: &mut Ctx,
) -> Option<(usize, OptionType, f64, f64, f64)> {
    let mut o = Table::new(n, what, ctx)?;
    let underlying = o.req_str("underlying", ctx).and_then(|u| {
        let line = o.line_of("underlying");
        let field = o.field("underlying");
        match refs_asset(&u) {
            None => {
                ctx.error(line, field, format!("unknown underlying \"{u}\"; expected one of the [[asset]] ids"));
                None
            }
            Some(a) if ch.options.smile_of(a).is_none() => {
                ctx.error(
                    line,
                    field,
                    format!("\"{u}\" has no volatility smile in protocol \"{protocol_id}\"; add it to [protocol.options] smile"),
                );
                None
            }
            Some(a) => Some(a),
        }
    });
    let kind = o.req_choice(
        "kind",
        &[("call", OptionType::Call), ("put", OptionType::Put)],
        ctx,
    );
    let strike = o.num_in("strike", true, |x| x > 0.0, "a strike > 0 USD", ctx);
    let expiry_days = o.num_in("expiry_days", true, |x| x > 0.0, "an expiry > 0 days", ctx);
    let size = o.req_num("size", ctx);
    o.finish(ctx);
    Some((underlying?, kind?, strike?, expiry_days?, size?))
}
