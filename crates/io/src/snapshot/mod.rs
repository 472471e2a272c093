//! Reading snapshots from TOML/JSON text (docs/formats.md), reporting every problem found: this
//! module reads the top level and the ids, one sibling module per section reads the rest.
//!
//! Unknown fields are errors: a misspelt `liquidation_treshold` silently taking a default would be a
//! wrong risk figure, which is worse than a refused file.

use std::collections::HashMap;

use crate::diag::{Diagnostics, LoadError, Location};
use crate::doc::{Format, Node, Value};
use crate::problem::{NameKind, Problem};
use crate::reader::{str_of, wrong_type, Ctx, Rule, Table, NON_NEGATIVE};
use cascade_model::asset::AssetKind;
use cascade_model::protocol::{Breakers, Protocol, ProtocolKind, ProtocolParams};
use cascade_model::snapshot::Snapshot;

mod accounts;
mod algostable;
mod amm;
mod assets;
mod bridge;
mod cdp;
mod clearinghouse;
mod cross_checks;
mod lending;

use accounts::{lint_account, parse_account};
use assets::{asset_kinds, parse_asset, parse_correlation, parse_liquidity, AssetKinds};
pub use cross_checks::check_loaded;
use cross_checks::{check_cycles, check_issuers, check_protocol_amounts};

const BREAKER_SHARE: Rule = Rule::new(|x| x > 0.0 && x < 1.0, "a share in (0, 1)");

/// A snapshot read from its main file, with the position files it names still to be loaded.
#[derive(Debug)]
pub struct SnapshotDoc {
    pub snapshot: Snapshot,
    /// Position files named by `positions = [...]`, as written (relative to the snapshot's folder).
    pub position_files: Vec<(String, u32)>,
}

/// Parses a snapshot document. Problems go to `diags`; `None` only if the text could not be parsed
/// at all or the ids it defines are unusable.
pub fn parse_snapshot(
    text: &str,
    format: Format,
    file: &str,
    diags: &mut Diagnostics,
) -> Option<SnapshotDoc> {
    let (root, mut ctx) = Ctx::parse(text, format, file, diags)?;
    let (mut top, name) = Table::named_top(&root, &mut ctx)?;
    let mut position_files = Vec::new();
    if let Some(n) = top.get("positions") {
        match &n.value {
            Value::Arr(items) => {
                for it in items {
                    if let Some(s) = str_of(it, "positions", &mut ctx) {
                        position_files.push((s, it.line));
                    }
                }
            }
            Value::Str(s) => position_files.push((s.clone(), n.line)),
            other => ctx.error(
                n.line,
                "positions",
                wrong_type(other, "an array of file paths"),
            ),
        }
    }
    let asset_nodes = top.arr("asset", &mut ctx);
    let corr_nodes = top.arr("correlation", &mut ctx);
    let protocol_nodes = top.arr("protocol", &mut ctx);
    let account_nodes = top.arr("account", &mut ctx);
    top.finish(&mut ctx);
    if asset_nodes.is_empty() {
        ctx.error(
            root.line,
            "asset",
            Problem::MissingField {
                hint: "no assets defined; expected at least one [[asset]]".into(),
            },
        );
    }

    // Pass 1: ids, so that references may point forward.
    let asset_ids = collect_ids(asset_nodes, "asset", &mut ctx);
    let protocol_ids = collect_ids(protocol_nodes, "protocol", &mut ctx);
    let protocol_kinds: HashMap<String, Option<ProtocolKind>> = protocol_nodes
        .iter()
        .filter_map(|n| match &n.value {
            Value::Obj(e) => {
                let id = e
                    .iter()
                    .find(|(k, _)| k == "id")
                    .and_then(|(_, v)| match &v.value {
                        Value::Str(s) => Some(s.clone()),
                        _ => None,
                    })?;
                let kind = e
                    .iter()
                    .find(|(k, _)| k == "kind")
                    .and_then(|(_, v)| match &v.value {
                        Value::Str(s) => s.parse::<ProtocolKind>().ok(),
                        _ => None,
                    });
                Some((id, kind))
            }
            _ => None,
        })
        .collect();
    let kinds_of_assets = asset_kinds(asset_nodes);
    let refs = Refs {
        kinds: &kinds_of_assets,
        assets: &asset_ids,
        protocols: &protocol_ids,
    };

    let mut assets = Vec::new();
    for (i, n) in asset_nodes.iter().enumerate() {
        if let Some(a) = parse_asset(n, i, &refs, &protocol_kinds, &mut ctx) {
            assets.push(a);
        }
    }
    let mut protocols = Vec::new();
    for (i, n) in protocol_nodes.iter().enumerate() {
        if let Some(p) = parse_protocol(n, i, &refs, &mut ctx) {
            protocols.push(p);
        }
    }
    let mut correlations = Vec::new();
    for (i, n) in corr_nodes.iter().enumerate() {
        if let Some(c) = parse_correlation(n, i, &refs, &mut ctx) {
            correlations.push(c);
        }
    }
    // Indices in `refs` are positions in the files; they match `assets`/`protocols` only if every
    // item parsed. If some did not, the errors are already recorded and the snapshot is not used.
    if assets.len() != asset_nodes.len() || protocols.len() != protocol_nodes.len() {
        // Still report what is wrong with the accounts themselves.
        for (i, n) in account_nodes.iter().enumerate() {
            lint_account(n, i, &refs, &mut ctx);
        }
        return None;
    }
    amm::resolve_pool_venues(&mut assets, &protocols, &mut ctx);
    check_cycles(&assets, &mut ctx);
    check_issuers(&assets, &protocols, &mut ctx);
    let mut snapshot = Snapshot {
        name,
        source: file.to_string(),
        assets,
        correlations,
        protocols,
        ..Default::default()
    };
    let prices = crate::record::reference_prices(&snapshot);
    check_protocol_amounts(&snapshot, &prices, &mut ctx);
    for (i, n) in account_nodes.iter().enumerate() {
        parse_account(n, i, &mut snapshot, &prices, &mut ctx);
    }
    Some(SnapshotDoc {
        snapshot,
        position_files,
    })
}

pub(crate) struct Refs<'a> {
    /// Asset id → (kind, underlying id), read in pass 1.
    pub(super) kinds: &'a AssetKinds,
    pub(super) assets: &'a HashMap<String, usize>,
    pub(super) protocols: &'a HashMap<String, usize>,
}

impl Refs<'_> {
    /// The protocol ids in file order.
    pub(super) fn protocol_ids(&self) -> impl Iterator<Item = &str> {
        let mut ids: Vec<(&str, usize)> = self
            .protocols
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        ids.sort_unstable_by_key(|x| x.1);
        ids.into_iter().map(|x| x.0)
    }

    pub(super) fn asset(&self, id: &str, line: u32, field: &str, ctx: &mut Ctx) -> Option<usize> {
        let r = self.assets.get(id).copied();
        if r.is_none() {
            ctx.error(
                line,
                field,
                Problem::unknown(NameKind::Asset, id, "expected one of the [[asset]] ids"),
            );
        }
        r
    }
}

fn collect_ids(nodes: &[Node], what: &str, ctx: &mut Ctx) -> HashMap<String, usize> {
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut first_line: HashMap<String, u32> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        let Value::Obj(e) = &n.value else { continue };
        let Some((_, idn)) = e.iter().find(|(k, _)| k == "id") else {
            continue;
        };
        let Value::Str(id) = &idn.value else { continue };
        if let Some(l) = first_line.get(id) {
            ctx.error(
                idn.line,
                format!("{what} \"{id}\".id"),
                Problem::Duplicate {
                    what: "id".into(),
                    first: Some(Location::Line(*l)),
                },
            );
        } else {
            first_line.insert(id.clone(), idn.line);
            ids.insert(id.clone(), i);
        }
    }
    ids
}

fn parse_protocol(n: &Node, index: usize, refs: &Refs, ctx: &mut Ctx) -> Option<Protocol> {
    let (mut t, id) = Table::identified(n, "protocol", index, ctx)?;
    let kind = t.req_choice::<ProtocolKind>("kind", ctx);
    let mut insurance_fund = Vec::new();
    for (a, amount, line) in t.amounts("insurance_fund", ctx) {
        let field = format!("{}.{a}", t.field("insurance_fund"));
        if let Some(ai) = refs.asset(&a, line, &field, ctx) {
            if amount < 0.0 {
                ctx.error(
                    line,
                    field,
                    Problem::out_of_range(amount, NON_NEGATIVE.expected),
                );
            } else {
                insurance_fund.push((ai, amount));
            }
        }
    }
    let breakers = parse_breakers(&mut t, ctx);
    let params = match kind {
        Some(ProtocolKind::Lending) => {
            lending::parse_lending(&mut t, refs, ctx).map(ProtocolParams::Lending)
        }
        Some(ProtocolKind::Bridge) => {
            bridge::parse_bridge(&mut t, refs, ctx).map(ProtocolParams::Bridge)
        }
        Some(ProtocolKind::Cdp) => cdp::parse_cdp(&mut t, refs, ctx).map(ProtocolParams::Cdp),
        Some(ProtocolKind::Amm) => amm::parse_amm(&mut t, refs, ctx).map(ProtocolParams::Amm),
        Some(ProtocolKind::Clearinghouse) => {
            clearinghouse::parse_clearinghouse(&mut t, refs, ctx).map(ProtocolParams::Clearinghouse)
        }
        Some(ProtocolKind::Algostable) => {
            algostable::parse_algostable(&mut t, refs, ctx).map(ProtocolParams::Algostable)
        }
        None => None,
    };
    let line = t.line;
    t.finish(ctx);
    Some(Protocol {
        id: id?,
        kind: kind?,
        insurance_fund,
        breakers,
        params: params?,
        line,
    })
}

fn parse_breakers(t: &mut Table, ctx: &mut Ctx) -> Breakers {
    let Some(n) = t.get("breakers") else {
        return Breakers::default();
    };
    let Some(mut b) = Table::new(n, t.field("breakers"), ctx) else {
        return Breakers::default();
    };
    let out = Breakers {
        pause_liquidations_on_drop: b.opt("pause_liquidations_on_drop", BREAKER_SHARE, ctx),
        freeze_borrowing_on_deviation: b.opt("freeze_borrowing_on_deviation", BREAKER_SHARE, ctx),
    };
    b.finish(ctx);
    out
}

/// Checks that `key` names an asset of kind `kind` (an issuer's own asset).
pub(super) fn own_asset(
    t: &mut Table,
    key: &'static str,
    kind: AssetKind,
    refs: &Refs,
    ctx: &mut Ctx,
) -> Option<usize> {
    let id = t.req_str(key, ctx)?;
    let idx = refs.asset(&id, t.line_of(key), &t.field(key), ctx)?;
    match refs.kinds.get(&id) {
        Some((Some(k), _)) if *k != kind => {
            ctx.error(
                t.line_of(key),
                t.field(key),
                wrong_kind(&id, *k, kind.name()),
            );
            None
        }
        _ => Some(idx),
    }
}

/// Reads a whole snapshot from text that names no position files (or whose position files are
/// loaded by the caller). Fails with every problem found.
pub fn snapshot_from_str(
    text: &str,
    format: Format,
    file: &str,
) -> Result<(Snapshot, Diagnostics), LoadError> {
    let mut diags = Diagnostics::new();
    let parsed = parse_snapshot(text, format, file, &mut diags);
    match parsed {
        Some(doc) if !diags.has_errors() => {
            if !doc.position_files.is_empty() {
                diags.error(file, Location::Line(doc.position_files[0].1), "positions", "position files cannot be loaded from a string; load the snapshot from its file");
                return Err(LoadError { diagnostics: diags });
            }
            check_loaded(&doc.snapshot, &mut diags);
            Ok((doc.snapshot, diags))
        }
        _ => {
            if !diags.has_errors() {
                diags.error(file, Location::File, "", "the snapshot could not be read");
            }
            Err(LoadError { diagnostics: diags })
        }
    }
}

/// Reads every table of the array `key` of `t` with `parse`, given the table, its name in messages
/// (`protocol "p" key N`) and the items read before it; `ok` becomes `false` if one could not be
/// read.
pub(super) fn read_list<T>(
    t: &mut Table,
    key: &'static str,
    ok: &mut bool,
    ctx: &mut Ctx,
    mut parse: impl FnMut(&Node, String, &[T], &mut Ctx) -> Option<T>,
) -> Vec<T> {
    let mut out = Vec::new();
    let what = t.what.clone();
    for (i, n) in t.arr(key, ctx).iter().enumerate() {
        match parse(n, format!("{what} {key} {}", i + 1), &out, ctx) {
            Some(x) => out.push(x),
            None => *ok = false,
        }
    }
    out
}

/// `false`, with an error, if `missing`: `who` (a protocol kind) needs at least one `[[protocol.key]]`.
pub(super) fn needs_one(t: &Table, key: &str, missing: bool, who: &str, ctx: &mut Ctx) -> bool {
    if missing {
        let hint = format!("{who} needs at least one [[protocol.{key}]]");
        ctx.error(t.line, t.field(key), Problem::MissingField { hint });
    }
    !missing
}

/// The table `n` of a list (named `what` in messages), its `id`, and whether the id is unique: one
/// of the `earlier` (id, line) items of the list having it is an error naming it a `kind`.
pub(super) fn listed<'n, 'e>(
    n: &'n Node,
    what: String,
    kind: &str,
    mut earlier: impl Iterator<Item = (&'e str, u32)>,
    ctx: &mut Ctx,
) -> Option<(Table<'n>, Option<String>, bool)> {
    let mut t = Table::new(n, what, ctx)?;
    let id = t.req_str("id", ctx);
    let first = id
        .as_deref()
        .and_then(|id| earlier.find(|(x, _)| *x == id))
        .map(|(_, line)| line);
    if let (Some(id), Some(first)) = (&id, first) {
        let what = format!("{kind} \"{id}\"");
        let first = Some(Location::Line(first));
        ctx.error(
            t.line_of("id"),
            t.field("id"),
            Problem::Duplicate { what, first },
        );
    }
    Some((t, id, first.is_none()))
}

/// The problem of asset `id` being of kind `found` where a `expected` asset is needed.
pub(super) fn wrong_kind(id: &str, found: AssetKind, expected: &str) -> Problem {
    Problem::WrongKind {
        what: NameKind::Asset,
        name: id.to_string(),
        found: found.to_string(),
        expected: format!("a \"{expected}\" asset"),
    }
}
