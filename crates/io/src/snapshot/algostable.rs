//! Reading an algorithmic stablecoin's `[[protocol]]` (docs/algostable.md, docs/formats.md).
//!
//! ```toml
//! [[protocol]]
//! id = "terra"
//! kind = "algostable"
//! stable = "UST"                          # an `algostable` asset
//! absorber = "LUNA"                       # an exogenous asset (native, governance, stable, rwa)
//! redemption_cap_usd_per_round = 2.93e8   # ≥ 0
//! panic_backing = 1.0                     # > 0; default 1
//! floor = 0.0                             # in [0, 1]; default 0
//! stable_supply = 1.8e10                  # stable tokens outstanding, ≥ 0
//! absorber_supply = 3.5e8                 # absorber tokens outstanding, > 0
//! ```

use super::{own_asset, Ctx, Refs, Table};
use crate::reader::{NON_NEGATIVE, POSITIVE, UNIT};
use cascade_model::asset::AssetKind;
use cascade_model::protocol::AlgostableParams;

/// Parses the fields of a `kind = "algostable"` protocol. The stable must be an `algostable` asset
/// and the absorber an exogenous one (its price is the market's, which the model reads to mint); a
/// negative cap or supply, a floor outside [0, 1] or a non-positive `panic_backing` are errors.
pub(super) fn parse_algostable(
    t: &mut Table,
    refs: &Refs,
    ctx: &mut Ctx,
) -> Option<AlgostableParams> {
    let stable = own_asset(t, "stable", AssetKind::Algostable, refs, ctx);
    let absorber = absorber(t, refs, ctx);
    let cap = t.req("redemption_cap_usd_per_round", NON_NEGATIVE, ctx);
    let panic_backing = t.opt("panic_backing", POSITIVE, ctx);
    let panic_ok = panic_backing.is_some() || !t.has("panic_backing");
    let floor = t.opt("floor", UNIT, ctx);
    let floor_ok = floor.is_some() || !t.has("floor");
    let stable_supply = t.req("stable_supply", NON_NEGATIVE, ctx);
    let absorber_supply = t.req("absorber_supply", POSITIVE, ctx);
    if !(panic_ok && floor_ok) {
        return None;
    }
    Some(AlgostableParams {
        stable: stable?,
        absorber: absorber?,
        redemption_cap_usd_per_round: cap?,
        panic_backing: panic_backing.unwrap_or(1.0),
        floor: floor.unwrap_or(0.0),
        stable_supply: stable_supply?,
        absorber_supply: absorber_supply?,
    })
}

/// The `absorber` field: a known asset of an exogenous kind.
fn absorber(t: &mut Table, refs: &Refs, ctx: &mut Ctx) -> Option<usize> {
    let key = "absorber";
    let id = t.req_str(key, ctx)?;
    let idx = refs.asset(&id, t.line_of(key), &t.field(key), ctx)?;
    match refs.kinds.get(&id) {
        Some((Some(k), _)) if !k.is_exogenous() => {
            ctx.error(
                t.line_of(key),
                t.field(key),
                format!(
                    "asset \"{id}\" is of kind \"{}\"; the absorber must be an exogenous asset \
                     (native, governance, stable or rwa): its market price sets what is minted",
                    k.name()
                ),
            );
            None
        }
        _ => Some(idx),
    }
}
