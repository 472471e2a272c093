//! Reading `[[account]]` tables: positions, e-mode, vault type and a clearinghouse account's
//! derivatives (docs/formats.md).

use super::{clearinghouse, Refs};
use crate::doc::Node;
use crate::reader::{Ctx, Table};
use cascade_model::derivatives::{MarginMode, OptionType};
use cascade_model::snapshot::{Side, Snapshot};

/// The checks of an account that need no protocol parameters (used when some protocol could not be read).
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
                format!("unknown protocol \"{p}\"; expected one of the [[protocol]] ids"),
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
            if refs.asset(&a, l, &f, ctx).is_some() && amount < 0.0 {
                ctx.error(l, f, format!("= {amount}, expected an amount ≥ 0 tokens"));
            }
        }
    }
    t.finish(ctx);
}

pub(super) fn parse_account(n: &Node, index: usize, s: &mut Snapshot, ctx: &mut Ctx) {
    let Some(mut t) = Table::new(n, format!("account {}", index + 1), ctx) else {
        return;
    };
    let id = t.req_str("id", ctx);
    if let Some(id) = &id {
        t.what = format!("account \"{id}\"");
    }
    let proto_s = t.req_str("protocol", ctx);
    let protocol = proto_s.as_deref().and_then(|p| {
        let r = s.protocol_idx(p);
        if r.is_none() {
            ctx.error(
                t.line_of("protocol"),
                t.field("protocol"),
                format!("unknown protocol \"{p}\"; expected one of the [[protocol]] ids"),
            );
        }
        r
    });
    let emode_s = t.opt_str("emode", ctx);
    let vault_s = t.opt_str("vault_type", ctx);
    let vault_line = t.line_of("vault_type");
    let field_v = t.field("vault_type");
    let collateral = t.amounts("collateral", ctx);
    let debt = t.amounts("debt", ctx);
    let derivatives = parse_account_derivatives(&mut t, protocol, s, ctx);
    let line = t.line;
    let field_c = t.field("collateral");
    let field_d = t.field("debt");
    let field_e = t.field("emode");
    let emode_line = t.line_of("emode");
    t.finish(ctx);
    let (Some(id), Some(protocol)) = (id, protocol) else {
        return;
    };
    let emode = match &emode_s {
        None => None,
        Some(e) => match resolve_emode(s, protocol, e) {
            Ok(i) => Some(i),
            Err(msg) => {
                ctx.error(emode_line, field_e, msg);
                return;
            }
        },
    };
    let vault_type = match resolve_vault_type(s, protocol, vault_s.as_deref()) {
        Ok(v) => v,
        Err(msg) => {
            ctx.error(vault_line, field_v, msg);
            return;
        }
    };
    if s.accounts.find(protocol, &id).is_some() {
        ctx.error(
            line,
            format!("account \"{id}\""),
            format!(
                "duplicate account id in protocol \"{}\"",
                s.protocols[protocol].id
            ),
        );
        return;
    }
    let Some(derivatives) = derivatives else {
        return;
    };
    let acc = s.accounts.get_or_insert(protocol, &id);
    s.accounts.emode[acc as usize] = emode;
    s.accounts.vault_type[acc as usize] = vault_type;
    s.accounts.margin_mode[acc as usize] = derivatives.margin_mode;
    for (m, size, entry) in derivatives.perps {
        s.perps.push(acc, m, size, entry);
    }
    for (u, kind, strike, expiry, size) in derivatives.options {
        s.options.push(acc, u, kind, strike, expiry, size);
    }
    for (side, entries, field) in [
        (Side::Collateral, collateral, &field_c),
        (Side::Debt, debt, &field_d),
    ] {
        for (a, amount, l) in entries {
            let f = format!("{field}.{a}");
            let Some(ai) = s.asset_idx(&a) else {
                ctx.error(
                    l,
                    f,
                    format!("unknown asset \"{a}\"; expected one of the [[asset]] ids"),
                );
                continue;
            };
            if amount < 0.0 {
                ctx.error(l, f, format!("= {amount}, expected an amount ≥ 0 tokens"));
                continue;
            }
            match s.check_position(protocol, ai, side) {
                Err(msg) => ctx.error(l, f, msg),
                Ok(w) => {
                    if let Some(w) = w {
                        ctx.warning(l, f, w);
                    }
                    s.positions.push(acc, ai, side, amount);
                }
            }
        }
    }
}

/// An account's margin mode and derivatives, as read.
struct AccountDerivatives {
    margin_mode: MarginMode,
    perps: Vec<(u16, f64, f64)>,
    options: Vec<(usize, OptionType, f64, f64, f64)>,
}

/// Reads `margin_mode`, `perps` and `options` of an account: only a clearinghouse's accounts have them,
/// and an isolated account holds one derivative position (its own collateral backs only it). `None`
/// after an error.
fn parse_account_derivatives(
    t: &mut Table,
    protocol: Option<usize>,
    s: &Snapshot,
    ctx: &mut Ctx,
) -> Option<AccountDerivatives> {
    let mode_s = t.opt_str("margin_mode", ctx);
    let perp_nodes = t.arr("perps", ctx);
    let option_nodes = t.arr("options", ctx);
    let protocol = protocol?;
    let p = &s.protocols[protocol];
    let Some(ch) = p.clearinghouse() else {
        for key in ["margin_mode", "perps", "options"] {
            if t.has(key) {
                ctx.error(
                    t.line_of(key),
                    t.field(key),
                    format!(
                        "protocol \"{}\" is of kind \"{}\"; only a clearinghouse's accounts have {key}",
                        p.id,
                        p.kind.name()
                    ),
                );
            }
        }
        return (!["margin_mode", "perps", "options"].iter().any(|k| t.has(k))).then_some(
            AccountDerivatives {
                margin_mode: MarginMode::Cross,
                perps: Vec::new(),
                options: Vec::new(),
            },
        );
    };
    let mut ok = true;
    let margin_mode = match &mode_s {
        None => MarginMode::Cross,
        Some(m) => match MarginMode::parse(m) {
            Some(x) => x,
            None => {
                ctx.error(
                    t.line_of("margin_mode"),
                    t.field("margin_mode"),
                    format!("= \"{m}\", expected one of: cross, isolated, portfolio"),
                );
                ok = false;
                MarginMode::Cross
            }
        },
    };
    let mut perps = Vec::new();
    for (i, n) in perp_nodes.iter().enumerate() {
        match clearinghouse::parse_perp(
            n,
            &format!("{}[{}]", t.field("perps"), i + 1),
            ch,
            &p.id,
            ctx,
        ) {
            Some(x) => perps.push(x),
            None => ok = false,
        }
    }
    let mut options = Vec::new();
    let asset_of = |a: &str| s.asset_idx(a);
    for (i, n) in option_nodes.iter().enumerate() {
        match clearinghouse::parse_option(
            n,
            &format!("{}[{}]", t.field("options"), i + 1),
            ch,
            &p.id,
            &asset_of,
            ctx,
        ) {
            Some(x) => options.push(x),
            None => ok = false,
        }
    }
    if margin_mode == MarginMode::Isolated && perps.len() + options.len() > 1 {
        ctx.error(
            t.line,
            t.what.clone(),
            format!(
                "an isolated account holds one position, found {}; put each isolated position in its own account",
                perps.len() + options.len()
            ),
        );
        ok = false;
    }
    ok.then_some(AccountDerivatives {
        margin_mode,
        perps,
        options,
    })
}

/// The vault type of an account of `protocol`: required for a CDP's accounts, refused for others.
pub fn resolve_vault_type(
    s: &Snapshot,
    protocol: usize,
    id: Option<&str>,
) -> Result<Option<u16>, String> {
    let p = &s.protocols[protocol];
    match (p.cdp(), id) {
        (Some(c), Some(id)) => c
            .vault_types
            .iter()
            .position(|v| v.id == id)
            .map(|i| Some(i as u16))
            .ok_or_else(|| format!("unknown vault type \"{id}\" in protocol \"{}\"", p.id)),
        (Some(_), None) => Err(format!(
            "missing; an account of CDP \"{}\" needs a vault_type",
            p.id
        )),
        (None, Some(_)) => Err(format!(
            "protocol \"{}\" is not a CDP: it has no vault types",
            p.id
        )),
        (None, None) => Ok(None),
    }
}

/// The index of e-mode category `id` in lending protocol `protocol`.
pub fn resolve_emode(s: &Snapshot, protocol: usize, id: &str) -> Result<u16, String> {
    let p = &s.protocols[protocol];
    match p.lending() {
        Some(l) => l
            .emode
            .iter()
            .position(|c| c.id == id)
            .map(|i| i as u16)
            .ok_or_else(|| format!("unknown e-mode category \"{id}\" in protocol \"{}\"", p.id)),
        None => Err(format!("protocol \"{}\" has no e-mode", p.id)),
    }
}
