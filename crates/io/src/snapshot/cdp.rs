//! Reading a CDP's `[[protocol]]` and its `[[protocol.vault_type]]` tables (docs/cdp.md).

use super::{own_asset, AssetKinds, Ctx, Refs, Table, NON_NEGATIVE};
use crate::problem::Problem;
use cascade_model::asset::AssetKind;
use cascade_model::protocol::{CdpParams, VaultType};

pub(super) fn parse_cdp(
    t: &mut Table,
    refs: &Refs,
    kinds: &AssetKinds,
    ctx: &mut Ctx,
) -> Option<CdpParams> {
    let stable = own_asset(t, "stable", AssetKind::CdpStable, refs, kinds, ctx);
    let surplus_buffer_usd = t
        .num_in("surplus_buffer_usd", false, |x| x >= 0.0, NON_NEGATIVE, ctx)
        .unwrap_or(0.0);
    let auction_efficiency = t
        .num_in(
            "auction_efficiency",
            false,
            |x| x > 0.0 && x <= 1.0,
            "a number in (0, 1]",
            ctx,
        )
        .unwrap_or(1.0);
    let zero_bid_when_illiquid = t.opt_bool("zero_bid_when_illiquid", ctx).unwrap_or(false);
    let psm = match t.get("psm") {
        None => None,
        Some(n) => {
            let mut p = Table::new(n, t.field("psm"), ctx)?;
            let asset = p
                .req_str("asset", ctx)
                .and_then(|a| refs.asset(&a, p.line_of("asset"), &p.field("asset"), ctx));
            let amount = p.num_in("amount", true, |x| x >= 0.0, NON_NEGATIVE, ctx);
            p.finish(ctx);
            Some((asset?, amount?))
        }
    };
    let mut vault_types: Vec<VaultType> = Vec::new();
    let mut ok = true;
    for (i, vn) in t.arr("vault_type", ctx).iter().enumerate() {
        let Some(mut v) = Table::new(vn, format!("{} vault_type {}", t.what, i + 1), ctx) else {
            ok = false;
            continue;
        };
        let id = v.req_str("id", ctx);
        let collateral = v
            .req_str("collateral", ctx)
            .and_then(|a| refs.asset(&a, v.line_of("collateral"), &v.field("collateral"), ctx));
        let liquidation_ratio = v.num_in(
            "liquidation_ratio",
            true,
            |x| x >= 1.0,
            "a ratio ≥ 1 (1.45 = 145%)",
            ctx,
        );
        let liquidation_penalty = v
            .num_in(
                "liquidation_penalty",
                false,
                |x| (0.0..1.0).contains(&x),
                "a number in [0, 1)",
                ctx,
            )
            .unwrap_or(0.0);
        let debt_ceiling = v.num_in("debt_ceiling", false, |x| x >= 0.0, NON_NEGATIVE, ctx);
        let dust = v
            .num_in("dust", false, |x| x >= 0.0, NON_NEGATIVE, ctx)
            .unwrap_or(0.0);
        let line = v.line;
        if let Some(id) = &id {
            if vault_types.iter().any(|x| &x.id == id) {
                ctx.error(
                    v.line_of("id"),
                    v.field("id"),
                    Problem::Duplicate {
                        what: format!("vault type \"{id}\""),
                        first: None,
                    },
                );
                ok = false;
            }
        }
        v.finish(ctx);
        match (id, collateral, liquidation_ratio) {
            (Some(id), Some(collateral), Some(liquidation_ratio)) => vault_types.push(VaultType {
                id,
                collateral,
                liquidation_ratio,
                liquidation_penalty,
                debt_ceiling,
                dust,
                line,
            }),
            _ => ok = false,
        }
    }
    if vault_types.is_empty() && ok {
        ctx.error(
            t.line,
            t.field("vault_type"),
            "a CDP needs at least one [[protocol.vault_type]]",
        );
        ok = false;
    }
    if !ok {
        return None;
    }
    Some(CdpParams {
        stable: stable?,
        surplus_buffer_usd,
        auction_efficiency,
        zero_bid_when_illiquid,
        psm,
        vault_types,
    })
}
