//! Reading `[[account]]` tables (docs/formats.md#accounts): this module only reads an account's
//! keys and says where each sits; [`crate::record`] judges them, as it judges position-file rows.

use super::Refs;
use crate::doc::Node;
use crate::problem::Problem;
use crate::reader::{Ctx, Table};
use crate::record::{self, Holding, Item, Judge, Part, AMOUNT};
use cascade_model::derivatives::{MarginMode, OptionType};
use cascade_model::snapshot::{Side, Snapshot};

/// The checks of an account that need no protocol parameters (used when some protocol could not be
/// read).
pub(super) fn lint_account(n: &Node, index: usize, refs: &Refs, ctx: &mut Ctx) {
    let Some(mut t) = Table::new(n, format!("account {}", index + 1), ctx) else {
        return;
    };
    if let Some(id) = t.req_str("id", ctx) {
        t.what = format!("account \"{id}\"");
    }
    if let Some(p) = t.req_str("protocol", ctx) {
        if !refs.protocols.contains_key(&p) {
            ctx.error(
                t.line_of("protocol"),
                t.field("protocol"),
                record::unknown_protocol(refs.protocol_ids(), &p),
            );
        }
    }
    let _ = t.opt_str("emode", ctx);
    let _ = t.opt_str("vault_type", ctx);
    let _ = t.opt_str("margin_mode", ctx);
    let _ = t.arr("perps", ctx);
    let _ = t.arr("options", ctx);
    for key in ["collateral", "debt"] {
        for (a, amount, l) in t.amounts(key, ctx) {
            let f = format!("{}.{a}", t.field(key));
            if refs.asset(&a, l, &f, ctx).is_some() {
                if let Err(p) = AMOUNT.check(amount) {
                    ctx.error(l, f, p);
                }
            }
        }
    }
    t.finish(ctx);
}

/// Where the parts of one position entry sit: each part's line and field.
struct Places {
    /// The entry's own line and field, for parts it has no key of its own for.
    line: u32,
    field: String,
    keys: Vec<(Part, u32, String)>,
}

impl Places {
    fn of(&self, part: Part) -> (u32, String) {
        self.keys
            .iter()
            .find(|(p, _, _)| *p == part)
            .map_or((self.line, self.field.clone()), |(_, l, f)| (*l, f.clone()))
    }
}

/// One position entry as read, with owned names (the record borrows them).
enum Entry {
    Spot(String, Side, f64),
    Perp(String, f64, f64),
    Option(String, OptionType, f64, f64, f64),
}

impl Entry {
    fn holding(&self) -> Holding<'_> {
        match self {
            Entry::Spot(asset, side, amount) => Holding::Spot {
                asset: Some(asset),
                side: Some(*side),
                amount: *amount,
            },
            Entry::Perp(market, size, entry_price) => Holding::Perp {
                market,
                size: *size,
                entry_price: *entry_price,
            },
            Entry::Option(underlying, kind, strike, expiry_days, size) => Holding::Option {
                underlying: Some(underlying),
                kind: *kind,
                strike: *strike,
                expiry_days: *expiry_days,
                size: *size,
            },
        }
    }
}

/// An optional string key with its line and field.
fn keyed(t: &mut Table, key: &'static str, ctx: &mut Ctx) -> Option<(String, u32, String)> {
    let v = t.opt_str(key, ctx)?;
    Some((v, t.line_of(key), t.field(key)))
}

/// Reads account table `n` (the `index`-th) and adds the account to `s` if it is valid; `prices` are
/// the snapshot's reference prices ([`record::reference_prices`]).
pub(super) fn parse_account(
    n: &Node,
    index: usize,
    s: &mut Snapshot,
    prices: &[f64],
    ctx: &mut Ctx,
) {
    let Some((mut t, id)) = Table::identified(n, "account", index, ctx) else {
        return;
    };
    let protocol = t.req_str("protocol", ctx).and_then(|p| {
        let r = s.protocol_idx(&p);
        if r.is_none() {
            let ids = s.protocols.iter().map(|x| x.id.as_str());
            ctx.error(
                t.line_of("protocol"),
                t.field("protocol"),
                record::unknown_protocol(ids, &p),
            );
        }
        r
    });
    let emode = keyed(&mut t, "emode", ctx);
    let vault = keyed(&mut t, "vault_type", ctx);
    let mode = keyed(&mut t, "margin_mode", ctx);
    let mut entries: Vec<(Entry, Places)> = Vec::new();
    for (key, side) in [("collateral", Side::Collateral), ("debt", Side::Debt)] {
        for (a, amount, line) in t.amounts(key, ctx) {
            let field = format!("{}.{a}", t.field(key));
            let places = Places {
                line,
                field,
                keys: Vec::new(),
            };
            entries.push((Entry::Spot(a, side, amount), places));
        }
    }
    let mut complete = true;
    for (i, n) in t.arr("perps", ctx).iter().enumerate() {
        match read_perp(n, &format!("{}[{}]", t.field("perps"), i + 1), ctx) {
            Some(e) => entries.push(e),
            None => complete = false,
        }
    }
    for (i, n) in t.arr("options", ctx).iter().enumerate() {
        match read_option(n, &format!("{}[{}]", t.field("options"), i + 1), ctx) {
            Some(e) => entries.push(e),
            None => complete = false,
        }
    }
    let (line, what) = (t.line, t.what.clone());
    t.finish(ctx);
    let (Some(id), Some(protocol)) = (id, protocol) else {
        return;
    };
    let cells = account_cells(s, protocol, &id, line, &what, [emode, vault, mode], ctx);
    if s.accounts.find(protocol, &id).is_some() {
        ctx.error(
            line,
            format!("account \"{id}\""),
            Problem::Duplicate {
                what: format!("account id in protocol \"{}\"", s.protocols[protocol].id),
                first: None,
            },
        );
        return;
    }
    let mut items = Vec::new();
    let asset_of = |a: &str| s.asset_idx(a);
    let judge = Judge {
        s,
        asset_of: &asset_of,
        prices,
    };
    let mut spot_check = |p, a, sd| s.check_position(p, a, sd);
    for (entry, places) in &entries {
        let mut report = |part: Part, problem: Problem| {
            let (l, f) = places.of(part);
            ctx.error(l, f, problem);
        };
        match judge.check_holding(protocol, &entry.holding(), &mut spot_check, &mut report) {
            Some((item, warning)) => {
                if let Some(w) = warning {
                    let (l, f) = places.of(Part::Asset);
                    ctx.warning(l, f, Problem::PositionWarning(w));
                }
                items.push(item);
            }
            None => complete = false,
        }
    }
    let held = entries
        .iter()
        .filter(|(e, _)| !matches!(e, Entry::Spot(..)))
        .count();
    if cells.margin_mode == Some(MarginMode::Isolated) && held > 1 {
        ctx.error(
            line,
            what,
            record::isolated_holds_more(s, protocol, &id, held),
        );
        return;
    }
    let Some(cells) = cells.valid.then_some(cells) else {
        return;
    };
    if !complete {
        return;
    }
    let acc = s.accounts.get_or_insert(protocol, &id);
    s.accounts.emode[acc as usize] = cells.emode;
    s.accounts.vault_type[acc as usize] = cells.vault_type;
    s.accounts.margin_mode[acc as usize] = cells.margin_mode.unwrap_or_default();
    for item in items {
        match item {
            Item::Spot(a, side, x) => s.positions.push(acc, a, side, x),
            Item::Perp(m, size, entry) => s.perps.push(acc, m, size, entry),
            Item::Option(u, kind, strike, expiry, size) => {
                s.options.push(acc, u, kind, strike, expiry, size)
            }
        }
    }
}

/// The account-level cells of an account, resolved.
struct AccountCells {
    emode: Option<u16>,
    vault_type: Option<u16>,
    margin_mode: Option<MarginMode>,
    /// No cell had a problem.
    valid: bool,
}

/// Resolves `emode`, `vault_type` and `margin_mode` (each with its line and field) of account `id`
/// of `protocol`: a CDP's account needs a vault type, others may not have one.
fn account_cells(
    s: &Snapshot,
    protocol: usize,
    id: &str,
    line: u32,
    what: &str,
    [emode, vault, mode]: [Option<(String, u32, String)>; 3],
    ctx: &mut Ctx,
) -> AccountCells {
    let mut valid = true;
    let mut resolve = |cell: Option<(String, u32, String)>,
                       f: &dyn Fn(&str) -> Result<u16, Problem>,
                       ctx: &mut Ctx| {
        let (v, l, field) = cell?;
        f(&v)
            .map_err(|p| {
                ctx.error(l, field, p);
                valid = false;
            })
            .ok()
    };
    let emode = resolve(emode, &|v| record::resolve_emode(s, protocol, v), ctx);
    let vault_given = vault.is_some();
    let vault_type = resolve(vault, &|v| record::resolve_vault_type(s, protocol, v), ctx);
    if !vault_given && s.protocols[protocol].cdp().is_some() {
        ctx.error(
            line,
            format!("{what}.vault_type"),
            record::missing_vault_type(s, protocol, id),
        );
        valid = false;
    }
    let margin_mode = mode.and_then(|(v, l, field)| {
        record::resolve_margin_mode(s, protocol, &v)
            .map_err(|p| {
                ctx.error(l, field, p);
                valid = false;
            })
            .ok()
    });
    AccountCells {
        emode,
        vault_type,
        margin_mode,
        valid,
    }
}

/// The keys of a perp or option entry, with their lines and fields.
fn places(t: &Table, keys: &[(Part, &str)]) -> Places {
    Places {
        line: t.line,
        field: t.what.clone(),
        keys: keys
            .iter()
            .map(|&(part, k)| (part, t.line_of(k), t.field(k)))
            .collect(),
    }
}

/// The key of each part of a perp entry.
const PERP_KEYS: [(Part, &str); 3] = [
    (Part::Market, "market"),
    (Part::Size, "size"),
    (Part::EntryPrice, "entry_price"),
];

/// The key of each part of an option entry.
const OPTION_KEYS: [(Part, &str); 4] = [
    (Part::Asset, "underlying"),
    (Part::Strike, "strike"),
    (Part::ExpiryDays, "expiry_days"),
    (Part::Size, "size"),
];

/// One `perps = [{ market, size, entry_price }]` entry, read (judged by [`record::check_holding`]).
fn read_perp(n: &Node, what: &str, ctx: &mut Ctx) -> Option<(Entry, Places)> {
    let mut p = Table::new(n, what, ctx)?;
    let market = p.req_str("market", ctx);
    let size = p.req_num("size", ctx);
    let entry_price = p.req_num("entry_price", ctx);
    let places = places(&p, &PERP_KEYS);
    p.finish(ctx);
    Some((Entry::Perp(market?, size?, entry_price?), places))
}

/// One `options = [{ underlying, kind, strike, expiry_days, size }]` entry, read.
fn read_option(n: &Node, what: &str, ctx: &mut Ctx) -> Option<(Entry, Places)> {
    let mut o = Table::new(n, what, ctx)?;
    let underlying = o.req_str("underlying", ctx);
    let kind = o.req_choice::<OptionType>("kind", ctx);
    let strike = o.req_num("strike", ctx);
    let expiry_days = o.req_num("expiry_days", ctx);
    let size = o.req_num("size", ctx);
    let places = places(&o, &OPTION_KEYS);
    o.finish(ctx);
    Some((
        Entry::Option(underlying?, kind?, strike?, expiry_days?, size?),
        places,
    ))
}
