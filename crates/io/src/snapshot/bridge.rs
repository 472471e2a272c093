//! Reading a bridge's `[[protocol]]` (docs/bridge.md).

use super::{Ctx, Refs, Table};
use crate::reader::NON_NEGATIVE;
use cascade_model::asset::AssetKind;
use cascade_model::protocol::BridgeParams;

pub(super) fn parse_bridge(t: &mut Table, refs: &Refs, ctx: &mut Ctx) -> Option<BridgeParams> {
    let bridged_s = t.req_str("bridged", ctx);
    let underlying_s = t.req_str("underlying", ctx);
    let locked = t.req("locked", NON_NEGATIVE, ctx);
    let bridged = bridged_s
        .as_deref()
        .and_then(|b| refs.asset(b, t.line_of("bridged"), &t.field("bridged"), ctx));
    let underlying = underlying_s
        .as_deref()
        .and_then(|u| refs.asset(u, t.line_of("underlying"), &t.field("underlying"), ctx));
    if let (Some(b), Some(u)) = (&bridged_s, &underlying_s) {
        match refs.kinds.get(b) {
            Some((Some(AssetKind::Bridged), under)) if under.as_deref() == Some(u.as_str()) => {}
            Some((Some(AssetKind::Bridged), under)) => ctx.error(
                t.line_of("underlying"),
                t.field("underlying"),
                format!(
                    "= \"{u}\", but asset \"{b}\" has underlying \"{}\"",
                    under.as_deref().unwrap_or("")
                ),
            ),
            Some((Some(k), _)) => ctx.error(
                t.line_of("bridged"),
                t.field("bridged"),
                format!(
                    "asset \"{b}\" is of kind \"{}\"; expected a \"bridged\" asset",
                    k.name()
                ),
            ),
            _ => {}
        }
    }
    Some(BridgeParams {
        bridged: bridged?,
        underlying: underlying?,
        locked: locked?,
    })
}
