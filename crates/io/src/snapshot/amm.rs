//! Reading an AMM pool's `[[protocol]]` and making the pool the liquidity venue of the assets that
//! sell into it (docs/amm.md).

use super::{own_asset, Ctx, Refs, Table};
use crate::problem::Problem;
use crate::reader::{BELOW_ONE, POSITIVE};
use cascade_model::asset::{Asset, AssetKind, CurveSpec, PoolDepth};
use cascade_model::protocol::{AmmInvariant, AmmParams, Protocol};

/// Fills in the curve of every asset that sells into an AMM pool: the pool's invariant, its reserve of
/// the asset as `base`, its reserve of the other coin as `quote`, and that coin as the quote asset —
/// the pool is the asset's liquidity venue (docs/amm.md).
pub(super) fn resolve_pool_venues(assets: &mut [Asset], protocols: &[Protocol], ctx: &mut Ctx) {
    for (i, a) in assets.iter_mut().enumerate() {
        let Some(p) = a.liquidity.pool else { continue };
        let field = format!("asset \"{}\".liquidity.pool", a.id);
        let Some(m) = protocols.get(p).and_then(|x| x.amm()) else {
            let id = protocols.get(p).map_or("?", |x| x.id.as_str());
            ctx.error(
                a.line,
                field,
                format!("protocol \"{id}\" is not an amm pool"),
            );
            continue;
        };
        let own = m.reserves.iter().find(|(x, _)| *x == i);
        let other = m.reserves.iter().find(|(x, _)| *x != i);
        let (Some(&(_, base)), Some(&(q, quote))) = (own, other) else {
            ctx.error(
                a.line,
                field,
                format!("pool \"{}\" does not hold \"{}\"", protocols[p].id, a.id),
            );
            continue;
        };
        a.liquidity.curve = match m.invariant {
            AmmInvariant::ConstantProduct => CurveSpec::ConstantProduct(PoolDepth {
                base,
                quote,
                fee: m.fee,
            }),
            AmmInvariant::StableSwap => CurveSpec::StableSwap {
                amplification: m.amplification,
                depth: PoolDepth {
                    base,
                    quote,
                    fee: m.fee,
                },
            },
        };
        a.liquidity.quote_asset = Some(q);
    }
}

pub(super) fn parse_amm(t: &mut Table, refs: &Refs, ctx: &mut Ctx) -> Option<AmmParams> {
    let invariant = t.req_choice::<AmmInvariant>("invariant", ctx);
    let amplification = match invariant {
        Some(AmmInvariant::StableSwap) => t.req("amplification", POSITIVE, ctx),
        _ => t.opt("amplification", POSITIVE, ctx).or(Some(0.0)),
    };
    let fee = t.opt("fee", BELOW_ONE, ctx).unwrap_or(0.0);
    let lp_asset = own_asset(t, "lp_asset", AssetKind::Lp, refs, ctx);
    let lp_supply = t.opt("lp_supply", POSITIVE, ctx);
    let mut reserves = Vec::new();
    let mut ok = true;
    for (a, amount, line) in t.amounts("reserves", ctx) {
        let field = format!("{}.{a}", t.field("reserves"));
        match refs.asset(&a, line, &field, ctx) {
            Some(ai) if amount > 0.0 => reserves.push((ai, amount)),
            Some(_) => {
                ctx.error(
                    line,
                    field,
                    Problem::out_of_range(amount, "a reserve > 0 tokens"),
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    if ok && reserves.len() != 2 {
        ctx.error(
            t.line_of("reserves"),
            t.field("reserves"),
            format!(
                "{} pooled assets; expected two (e.g. {{ USDC = 4.0e8, USDT = 4.0e8 }})",
                reserves.len()
            ),
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    Some(AmmParams {
        invariant: invariant?,
        amplification: amplification?,
        fee,
        lp_asset: lp_asset?,
        reserves,
        lp_supply,
    })
}
