//! Reading a CDP's `[[protocol]]` and its `[[protocol.vault_type]]` tables (docs/cdp.md).

use super::{listed, needs_one, own_asset, read_list, Ctx, Refs, Table};
use crate::doc::Node;
use crate::reader::{Rule, BELOW_ONE, NON_NEGATIVE, UNIT_OPEN};
use cascade_model::asset::AssetKind;
use cascade_model::protocol::{CdpParams, VaultType};

const LIQUIDATION_RATIO: Rule = Rule::new(|x| x >= 1.0, "a ratio ≥ 1 (1.45 = 145%)");

pub(super) fn parse_cdp(t: &mut Table, refs: &Refs, ctx: &mut Ctx) -> Option<CdpParams> {
    let stable = own_asset(t, "stable", AssetKind::CdpStable, refs, ctx);
    let surplus_buffer_usd = t
        .opt("surplus_buffer_usd", NON_NEGATIVE, ctx)
        .unwrap_or(0.0);
    let auction_efficiency = t.opt("auction_efficiency", UNIT_OPEN, ctx).unwrap_or(1.0);
    let zero_bid_when_illiquid = t.opt_bool("zero_bid_when_illiquid", ctx).unwrap_or(false);
    let psm = match t.get("psm") {
        None => None,
        Some(n) => {
            let mut p = Table::new(n, t.field("psm"), ctx)?;
            let asset = p
                .req_str("asset", ctx)
                .and_then(|a| refs.asset(&a, p.line_of("asset"), &p.field("asset"), ctx));
            let amount = p.req("amount", NON_NEGATIVE, ctx);
            p.finish(ctx);
            Some((asset?, amount?))
        }
    };
    let mut ok = true;
    let vault_types = read_list(t, "vault_type", &mut ok, ctx, |n, what, earlier, ctx| {
        parse_vault_type(n, what, refs, earlier, ctx)
    });
    ok &= needs_one(t, "vault_type", ok && vault_types.is_empty(), "a CDP", ctx);
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

/// One `[[protocol.vault_type]]` table; `earlier` are the CDP's vault types before it.
fn parse_vault_type(
    n: &Node,
    what: String,
    refs: &Refs,
    earlier: &[VaultType],
    ctx: &mut Ctx,
) -> Option<VaultType> {
    let ids = earlier.iter().map(|x| (x.id.as_str(), x.line));
    let (mut v, id, unique) = listed(n, what, "vault type", ids, ctx)?;
    let collateral = v
        .req_str("collateral", ctx)
        .and_then(|a| refs.asset(&a, v.line_of("collateral"), &v.field("collateral"), ctx));
    let liquidation_ratio = v.req("liquidation_ratio", LIQUIDATION_RATIO, ctx);
    let liquidation_penalty = v.opt("liquidation_penalty", BELOW_ONE, ctx).unwrap_or(0.0);
    let debt_ceiling = v.opt("debt_ceiling", NON_NEGATIVE, ctx);
    let dust = v.opt("dust", NON_NEGATIVE, ctx).unwrap_or(0.0);
    let line = v.done(unique, ctx)?;
    Some(VaultType {
        id: id?,
        collateral: collateral?,
        liquidation_ratio: liquidation_ratio?,
        liquidation_penalty,
        debt_ceiling,
        dust,
        line,
    })
}
