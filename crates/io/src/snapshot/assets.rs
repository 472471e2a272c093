//! Reading `[[asset]]` tables, their liquidity curves and `[[correlation]]` blocks (docs/assets.md,
//! docs/liquidity.md).

use std::collections::HashMap;

use super::Refs;
use crate::doc::{Node, Value};
use crate::problem::{NameKind, Problem};
use crate::reader::{
    missing, num_of, str_of, wrong_type, Ctx, Table, BELOW_ONE, NON_NEGATIVE, POSITIVE, UNIT,
};
use cascade_model::asset::{
    Asset, AssetKind, ConcentratedSpec, CurveSpec, Liquidity, LiquidityRange, PoolDepth,
};
use cascade_model::protocol::ProtocolKind;
use cascade_model::snapshot::Correlation;
use std::sync::Arc;

pub(super) fn parse_asset(
    n: &Node,
    index: usize,
    refs: &Refs,
    protocol_kinds: &HashMap<String, Option<ProtocolKind>>,
    ctx: &mut Ctx,
) -> Option<Asset> {
    let (mut t, id) = Table::identified(n, "asset", index, ctx)?;
    let kind = t.req_choice::<AssetKind>("kind", ctx);
    // A price of 0 is a real price (a drained market's collateral is worthless): loaded, with a
    // warning (docs/formats.md#assets).
    let price = t.opt("price", NON_NEGATIVE, ctx);
    if price == Some(0.0) {
        ctx.warning(
            t.line_of("price"),
            t.field("price"),
            "= 0: the asset is worthless (as collateral it counts for nothing, and cannot be seized)",
        );
    }
    let volatility = t.opt("volatility", NON_NEGATIVE, ctx).unwrap_or(0.0);
    let underlying_s = t.opt_str("underlying", ctx);
    let rate = t.opt("rate", POSITIVE, ctx).unwrap_or(1.0);
    let discount = t.opt("discount", POSITIVE, ctx).unwrap_or(1.0);
    let issuer_s = t.opt_str("issuer", ctx);
    let bridge_loss = t.opt("bridge_loss", UNIT, ctx).unwrap_or(0.0);
    let liquidity = match t.get("liquidity") {
        Some(ln) => parse_liquidity(ln, &t.field("liquidity"), refs, ctx),
        None => {
            ctx.error(t.line, t.field("liquidity"), missing("expected a liquidity curve, e.g. { curve = \"power_law\", adv_usd = 1e8, k = 1.0, alpha = 0.5 }"));
            None
        }
    };
    let mut ok = id.is_some() && kind.is_some() && liquidity.is_some();
    let mut underlying = None;
    let mut issuer = None;
    if let Some(kind) = kind {
        if kind.is_exogenous() {
            if price.is_none() && t.get("price").is_none() {
                ctx.error(
                    t.line,
                    t.field("price"),
                    missing(format!(
                        "kind \"{kind}\" takes its USD price from the snapshot"
                    )),
                );
                ok = false;
            }
            if underlying_s.is_some() {
                ctx.error(
                    t.line_of("underlying"),
                    t.field("underlying"),
                    format!("kind \"{}\" has no underlying", kind.name()),
                );
            }
        } else if t.get("price").is_some() {
            ctx.error(
                t.line_of("price"),
                t.field("price"),
                format!(
                    "kind \"{}\" is priced from other state; remove the price",
                    kind.name()
                ),
            );
        }
        if kind.needs_underlying() {
            match &underlying_s {
                Some(u) => {
                    underlying =
                        refs.asset(u, t.line_of("underlying"), &t.field("underlying"), ctx);
                    ok &= underlying.is_some();
                }
                None => {
                    ctx.error(
                        t.line,
                        t.field("underlying"),
                        missing(format!(
                            "kind \"{kind}\" is priced from an underlying asset"
                        )),
                    );
                    ok = false;
                }
            }
        }
        if t.get("discount").is_some() && kind != AssetKind::Lst {
            ctx.error(
                t.line_of("discount"),
                t.field("discount"),
                "only an lst has a market discount",
            );
        }
        if t.get("bridge_loss").is_some() && kind != AssetKind::Bridged {
            ctx.error(
                t.line_of("bridge_loss"),
                t.field("bridge_loss"),
                "only a bridged asset has a bridge_loss",
            );
        }
        if let Some(is) = &issuer_s {
            if kind != AssetKind::Receipt {
                ctx.error(
                    t.line_of("issuer"),
                    t.field("issuer"),
                    "only a receipt token has an issuer",
                );
            } else {
                match protocol_kinds.get(is) {
                    None => ctx.error(t.line_of("issuer"), t.field("issuer"), Problem::unknown(NameKind::Protocol, is, "expected one of the [[protocol]] ids")),
                    Some(Some(ProtocolKind::Lending)) | Some(None) => issuer = refs.protocols.get(is).copied(),
                    Some(Some(k)) => ctx.error(
                        t.line_of("issuer"),
                        t.field("issuer"),
                        Problem::WrongKind {
                            what: NameKind::Protocol,
                            name: is.clone(),
                            found: k.to_string(),
                            expected: "a lending protocol: a receipt token is issued by a lending protocol".into(),
                        },
                    ),
                }
            }
        }
    }
    let line = t.done(ok, ctx)?;
    Some(Asset {
        id: id?,
        kind: kind?,
        price,
        volatility,
        underlying,
        rate,
        discount,
        issuer,
        bridge_loss,
        liquidity: liquidity?,
        line,
    })
}

pub(super) fn parse_liquidity(
    n: &Node,
    what: &str,
    refs: &Refs,
    ctx: &mut Ctx,
) -> Option<Liquidity> {
    let mut t = Table::new(n, what, ctx)?;
    let curve = t.req_str("curve", ctx);
    if t.opt_bool("assumed", ctx) == Some(true) {
        ctx.warning(
            t.line_of("assumed"),
            t.field("assumed"),
            "an assumed curve, not measured: fire-sale prices of this asset are illustrative (docs/import.md#liquidity)",
        );
    }
    let quote_asset = t.opt_str("quote_asset", ctx);
    let quote_idx = match &quote_asset {
        Some(q) if q == "USD" => None,
        Some(q) => Some(refs.asset(q, t.line_of("quote_asset"), &t.field("quote_asset"), ctx)?),
        None => None,
    };
    if curve.as_deref() == Some("amm") {
        // The pool's invariant and depth are filled in once protocols are read (`resolve_pool_venues`).
        let pool = t.req_str("pool", ctx).and_then(|p| {
            let r = refs.protocols.get(&p).copied();
            if r.is_none() {
                ctx.error(
                    t.line_of("pool"),
                    t.field("pool"),
                    Problem::unknown(
                        NameKind::Protocol,
                        &p,
                        "expected the id of an amm [[protocol]]",
                    ),
                );
            }
            r
        });
        if quote_asset.is_some() {
            ctx.error(
                t.line_of("quote_asset"),
                t.field("quote_asset"),
                "a pool venue pays in the pool's other coin; remove quote_asset",
            );
        }
        t.finish(ctx);
        return Some(Liquidity {
            curve: CurveSpec::PowerLaw {
                adv_usd: 1.0,
                k: 0.0,
                alpha: 1.0,
            },
            quote_asset: None,
            pool: Some(pool?),
        });
    }
    let spec = match curve.as_deref() {
        Some(pool @ ("constant_product" | "stableswap")) => {
            // A stableswap is a constant product with an amplification.
            let amplification =
                (pool == "stableswap").then(|| t.req("amplification", POSITIVE, ctx));
            let base = t.req("base", POSITIVE, ctx);
            let quote = t.req("quote", POSITIVE, ctx);
            let fee = t.opt("fee", BELOW_ONE, ctx).unwrap_or(0.0);
            let (base, quote) = (base?, quote?);
            Some(match amplification {
                None => CurveSpec::ConstantProduct(PoolDepth { base, quote, fee }),
                Some(a) => CurveSpec::StableSwap {
                    amplification: a?,
                    depth: PoolDepth { base, quote, fee },
                },
            })
        }
        Some("power_law") => {
            let adv_usd = t.req("adv_usd", POSITIVE, ctx);
            let k = t.req("k", NON_NEGATIVE, ctx);
            let alpha = t.req("alpha", POSITIVE, ctx);
            Some(CurveSpec::PowerLaw {
                adv_usd: adv_usd?,
                k: k?,
                alpha: alpha?,
            })
        }
        Some("concentrated") => parse_concentrated(&mut t, ctx),
        Some(other) => {
            ctx.error(
                t.line_of("curve"),
                t.field("curve"),
                Problem::bad_text(
                    other,
                    "one of: constant_product, stableswap, power_law, concentrated, amm",
                ),
            );
            None
        }
        None => None,
    };
    t.finish(ctx);
    Some(Liquidity {
        curve: spec?,
        quote_asset: quote_idx,
        pool: None,
    })
}

/// A concentrated-liquidity curve (docs/liquidity.md#concentrated-liquidity): `price`, `fee` and
/// `ranges = [[lower, upper, liquidity], …]`, prices in quote per base token, `0 < lower < upper`,
/// liquidity ≥ 0; at least one range with liquidity.
fn parse_concentrated(t: &mut Table, ctx: &mut Ctx) -> Option<CurveSpec> {
    let price = t.req("price", POSITIVE, ctx);
    let fee = t.opt("fee", BELOW_ONE, ctx).unwrap_or(0.0);
    let line = t.line_of("ranges");
    let field = t.field("ranges");
    if !t.has("ranges") {
        ctx.error(
            t.line_of("curve"),
            field.clone(),
            missing("a list of [lower, upper, liquidity] price ranges"),
        );
    }
    let mut ranges = Vec::new();
    let mut ok = true;
    for (i, r) in t.arr("ranges", ctx).iter().enumerate() {
        let at = format!("{field}[{i}]");
        let nums: Option<Vec<f64>> = match &r.value {
            Value::Arr(xs) if xs.len() == 3 => xs
                .iter()
                .enumerate()
                .map(|(j, x)| num_of(x, &format!("{at}[{j}]"), ctx))
                .collect(),
            other => {
                ctx.error(
                    r.line,
                    at.clone(),
                    wrong_type(other, "[lower, upper, liquidity]"),
                );
                None
            }
        };
        let Some(v) = nums else {
            ok = false;
            continue;
        };
        let (lower, upper, liquidity) = (v[0], v[1], v[2]);
        if !(lower > 0.0 && upper > lower) {
            ctx.error(
                r.line,
                at,
                Problem::out_of_range(
                    upper,
                    format!("an upper price above the lower price {lower} > 0"),
                ),
            );
            ok = false;
        } else if liquidity < 0.0 {
            ctx.error(
                r.line,
                at,
                Problem::out_of_range(liquidity, "a liquidity ≥ 0"),
            );
            ok = false;
        } else {
            ranges.push(LiquidityRange {
                lower,
                upper,
                liquidity,
            });
        }
    }
    if ok && t.has("ranges") && !ranges.iter().any(|r| r.liquidity > 0.0) {
        ctx.error(line, field, "no range has liquidity: the pool cannot trade");
        ok = false;
    }
    Some(CurveSpec::Concentrated(Arc::new(ConcentratedSpec {
        price: price?,
        fee,
        ranges: ok.then_some(ranges)?,
    })))
}

/// Asset id → (kind, underlying id), read in pass 1 so protocols can check the assets they name.
pub(super) type AssetKinds = HashMap<String, (Option<AssetKind>, Option<String>)>;

pub(super) fn asset_kinds(nodes: &[Node]) -> AssetKinds {
    let field = |e: &[(String, Node)], key: &str| -> Option<String> {
        e.iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| match &v.value {
                Value::Str(s) => Some(s.clone()),
                _ => None,
            })
    };
    nodes
        .iter()
        .filter_map(|n| match &n.value {
            Value::Obj(e) => {
                let id = field(e, "id")?;
                Some((
                    id,
                    (
                        field(e, "kind").and_then(|k| k.parse::<AssetKind>().ok()),
                        field(e, "underlying"),
                    ),
                ))
            }
            _ => None,
        })
        .collect()
}

pub(super) fn parse_correlation(
    n: &Node,
    index: usize,
    refs: &Refs,
    ctx: &mut Ctx,
) -> Option<Correlation> {
    let mut t = Table::new(n, format!("correlation {}", index + 1), ctx)?;
    let mut assets = Vec::new();
    let mut ok = true;
    for an in t.arr("assets", ctx) {
        match str_of(an, &t.field("assets"), ctx)
            .and_then(|s| refs.asset(&s, an.line, &t.field("assets"), ctx))
        {
            Some(a) => assets.push(a),
            None => ok = false,
        }
    }
    let mut matrix = Vec::new();
    for rn in t.arr("matrix", ctx) {
        let Value::Arr(cells) = &rn.value else {
            ctx.error(
                rn.line,
                t.field("matrix"),
                wrong_type(&rn.value, "an array of rows"),
            );
            ok = false;
            continue;
        };
        let row: Vec<f64> = cells
            .iter()
            .filter_map(|c| crate::reader::num_of(c, &t.field("matrix"), ctx))
            .collect();
        ok &= row.len() == cells.len();
        matrix.push(row);
    }
    let k = assets.len();
    let line = t.line_of("matrix");
    if ok {
        if matrix.len() != k || matrix.iter().any(|r| r.len() != k) {
            ctx.error(
                line,
                t.field("matrix"),
                format!("expected a {k}×{k} matrix for {k} assets"),
            );
            ok = false;
        } else {
            for (i, row) in matrix.iter().enumerate() {
                if (row[i] - 1.0).abs() > 1e-9 {
                    ctx.error(
                        line,
                        t.field("matrix"),
                        format!("diagonal entry [{i}][{i}] = {}, expected 1", row[i]),
                    );
                    ok = false;
                }
                for (j, &v) in row.iter().enumerate() {
                    if !(-1.0..=1.0).contains(&v) {
                        ctx.error(
                            line,
                            t.field("matrix"),
                            format!("entry [{i}][{j}] = {v}, expected a number in [-1, 1]"),
                        );
                        ok = false;
                    } else if (v - matrix[j][i]).abs() > 1e-9 {
                        ctx.error(line, t.field("matrix"), format!("entry [{i}][{j}] = {v} differs from [{j}][{i}] = {}; expected a symmetric matrix", matrix[j][i]));
                        ok = false;
                    }
                }
            }
        }
    }
    t.finish(ctx);
    ok.then_some(Correlation {
        assets,
        matrix,
        line: t_line(n),
    })
}

pub(super) fn t_line(n: &Node) -> u32 {
    n.line
}
