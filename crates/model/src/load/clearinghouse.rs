//! Reading a clearinghouse's `[[protocol]]` (DESIGN §6, §14).

use super::{AssetKinds, Ctx, Refs, Table};
use crate::derivatives::ClearinghouseParams;

/// Parses the fields of a `kind = "clearinghouse"` protocol.
pub(super) fn parse_clearinghouse(
    t: &mut Table,
    _refs: &Refs,
    _kinds: &AssetKinds,
    ctx: &mut Ctx,
) -> Option<ClearinghouseParams> {
    ctx.error(
        t.line_of("kind"),
        t.field("kind"),
        "kind \"algostable\" is not supported by this version of cascade yet",
    );
    None
}
