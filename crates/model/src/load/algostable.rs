//! Reading an algorithmic stablecoin's `[[protocol]]` (DESIGN §7, §14).

use super::{AssetKinds, Ctx, Refs, Table};
use crate::protocol::AlgostableParams;

/// Parses the fields of a `kind = "algostable"` protocol.
pub(super) fn parse_algostable(
    t: &mut Table,
    _refs: &Refs,
    _kinds: &AssetKinds,
    ctx: &mut Ctx,
) -> Option<AlgostableParams> {
    ctx.error(
        t.line_of("kind"),
        t.field("kind"),
        "kind \"algostable\" is not supported by this version of cascade yet",
    );
    None
}
