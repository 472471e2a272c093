//! Reading snapshots and scenarios from TOML/JSON text (DESIGN §14), reporting every problem found.
//!
//! Unknown fields are errors: a misspelt `liquidation_treshold` silently taking a default would be a
//! wrong risk figure, which is worse than a refused file.

use std::collections::{HashMap, HashSet};

use crate::diag::{Diagnostics, LoadError, Location};
use crate::doc::{self, Format, Node, Value};
use crate::reader::{str_of, Ctx, Table};
use cascade_model::asset::{Asset, AssetKind, CurveSpec, Liquidity};
use cascade_model::derivatives::{MarginMode, OptionType};
use cascade_model::protocol::{
    AmmInvariant, AmmParams, Breakers, BridgeParams, CdpParams, EModeCategory, LendingParams,
    Protocol, ProtocolKind, ProtocolParams, Reserve, VaultType,
};
use cascade_model::scenario::{Scenario, Shock};
use cascade_model::snapshot::{Correlation, Side, Snapshot};

const UNIT: &str = "a number in [0, 1]";

mod algostable;
mod clearinghouse;

const POSITIVE: &str = "a number > 0";
const NON_NEGATIVE: &str = "a number ≥ 0";

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
    let root = doc::parse(text, format, file, diags)?;
    let mut ctx = Ctx { file, diags };
    let mut top = Table::new(&root, "", &mut ctx)?;
    let name = top
        .opt_str("name", &mut ctx)
        .unwrap_or_else(|| "unnamed".into());
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
                format!(
                    "found {}, expected an array of file paths",
                    other.type_name()
                ),
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
            "no assets defined; expected at least one [[asset]]",
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
                        Value::Str(s) => ProtocolKind::parse(s),
                        _ => None,
                    });
                Some((id, kind))
            }
            _ => None,
        })
        .collect();
    let kinds_of_assets = asset_kinds(asset_nodes);
    let refs = Refs {
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
        if let Some(p) = parse_protocol(n, i, &refs, &kinds_of_assets, &mut ctx) {
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
    resolve_pool_venues(&mut assets, &protocols, &mut ctx);
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
    for (i, n) in account_nodes.iter().enumerate() {
        parse_account(n, i, &mut snapshot, &mut ctx);
    }
    Some(SnapshotDoc {
        snapshot,
        position_files,
    })
}

struct Refs<'a> {
    assets: &'a HashMap<String, usize>,
    protocols: &'a HashMap<String, usize>,
}

impl Refs<'_> {
    fn asset(&self, id: &str, line: u32, field: &str, ctx: &mut Ctx) -> Option<usize> {
        let r = self.assets.get(id).copied();
        if r.is_none() {
            ctx.error(
                line,
                field,
                format!("unknown asset \"{id}\"; expected one of the [[asset]] ids"),
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
                format!("duplicate id; first defined on line {l}"),
            );
        } else {
            first_line.insert(id.clone(), idn.line);
            ids.insert(id.clone(), i);
        }
    }
    ids
}

fn parse_asset(
    n: &Node,
    index: usize,
    refs: &Refs,
    protocol_kinds: &HashMap<String, Option<ProtocolKind>>,
    ctx: &mut Ctx,
) -> Option<Asset> {
    let mut t = Table::new(n, format!("asset {}", index + 1), ctx)?;
    let id = t.req_str("id", ctx);
    if let Some(id) = &id {
        t.what = format!("asset \"{id}\"");
    }
    let kind = t.req_choice("kind", &AssetKind::ALL, ctx);
    let price = t.num_in("price", false, |x| x > 0.0, POSITIVE, ctx);
    let volatility = t
        .num_in("volatility", false, |x| x >= 0.0, NON_NEGATIVE, ctx)
        .unwrap_or(0.0);
    let underlying_s = t.opt_str("underlying", ctx);
    let rate = t
        .num_in("rate", false, |x| x > 0.0, POSITIVE, ctx)
        .unwrap_or(1.0);
    let discount = t
        .num_in("discount", false, |x| x > 0.0, POSITIVE, ctx)
        .unwrap_or(1.0);
    let issuer_s = t.opt_str("issuer", ctx);
    let bridge_loss = t
        .num_in(
            "bridge_loss",
            false,
            |x| (0.0..=1.0).contains(&x),
            UNIT,
            ctx,
        )
        .unwrap_or(0.0);
    let liquidity = match t.get("liquidity") {
        Some(ln) => parse_liquidity(ln, &t.field("liquidity"), refs, ctx),
        None => {
            ctx.error(t.line, t.field("liquidity"), "missing; expected a liquidity curve, e.g. { curve = \"power_law\", adv_usd = 1e8, k = 1.0, alpha = 0.5 }");
            None
        }
    };
    let mut ok = id.is_some() && kind.is_some() && liquidity.is_some();
    let mut underlying = None;
    let mut issuer = None;
    if let Some(kind) = kind {
        if kind.is_exogenous() {
            if price.is_none() && t.get("price").is_none() {
                ctx.error(
                    t.line,
                    t.field("price"),
                    format!(
                        "missing; kind \"{}\" takes its USD price from the snapshot",
                        kind.name()
                    ),
                );
                ok = false;
            }
            if underlying_s.is_some() {
                ctx.error(
                    t.line_of("underlying"),
                    t.field("underlying"),
                    format!("kind \"{}\" has no underlying", kind.name()),
                );
            }
        } else if t.get("price").is_some() {
            ctx.error(
                t.line_of("price"),
                t.field("price"),
                format!(
                    "kind \"{}\" is priced from other state; remove the price",
                    kind.name()
                ),
            );
        }
        if kind.needs_underlying() {
            match &underlying_s {
                Some(u) => {
                    underlying =
                        refs.asset(u, t.line_of("underlying"), &t.field("underlying"), ctx);
                    ok &= underlying.is_some();
                }
                None => {
                    ctx.error(
                        t.line,
                        t.field("underlying"),
                        format!(
                            "missing; kind \"{}\" is priced from an underlying asset",
                            kind.name()
                        ),
                    );
                    ok = false;
                }
            }
        }
        if t.get("discount").is_some() && kind != AssetKind::Lst {
            ctx.error(
                t.line_of("discount"),
                t.field("discount"),
                "only an lst has a market discount",
            );
        }
        if t.get("bridge_loss").is_some() && kind != AssetKind::Bridged {
            ctx.error(
                t.line_of("bridge_loss"),
                t.field("bridge_loss"),
                "only a bridged asset has a bridge_loss",
            );
        }
        if let Some(is) = &issuer_s {
            if kind != AssetKind::Receipt {
                ctx.error(
                    t.line_of("issuer"),
                    t.field("issuer"),
                    "only a receipt token has an issuer",
                );
            } else {
                match protocol_kinds.get(is) {
                    None => ctx.error(t.line_of("issuer"), t.field("issuer"), format!("unknown protocol \"{is}\"; expected one of the [[protocol]] ids")),
                    Some(Some(ProtocolKind::Lending)) | Some(None) => issuer = refs.protocols.get(is).copied(),
                    Some(Some(k)) => ctx.error(
                        t.line_of("issuer"),
                        t.field("issuer"),
                        format!("protocol \"{is}\" is of kind \"{}\"; a receipt token is issued by a lending protocol", k.name()),
                    ),
                }
            }
        }
    }
    let line = t.line;
    t.finish(ctx);
    if !ok {
        return None;
    }
    Some(Asset {
        id: id?,
        kind: kind?,
        price,
        volatility,
        underlying,
        rate,
        discount,
        issuer,
        bridge_loss,
        liquidity: liquidity?,
        line,
    })
}

fn parse_liquidity(n: &Node, what: &str, refs: &Refs, ctx: &mut Ctx) -> Option<Liquidity> {
    let mut t = Table::new(n, what, ctx)?;
    let curve = t.req_str("curve", ctx);
    let quote_asset = t.opt_str("quote_asset", ctx);
    let quote_idx = match &quote_asset {
        Some(q) if q == "USD" => None,
        Some(q) => Some(refs.asset(q, t.line_of("quote_asset"), &t.field("quote_asset"), ctx)?),
        None => None,
    };
    let fee_ok = |x: f64| (0.0..1.0).contains(&x);
    if curve.as_deref() == Some("amm") {
        // The pool's invariant and depth are filled in once protocols are read (`resolve_pool_venues`).
        let pool = t.req_str("pool", ctx).and_then(|p| {
            let r = refs.protocols.get(&p).copied();
            if r.is_none() {
                ctx.error(
                    t.line_of("pool"),
                    t.field("pool"),
                    format!("unknown protocol \"{p}\"; expected the id of an amm [[protocol]]"),
                );
            }
            r
        });
        if quote_asset.is_some() {
            ctx.error(
                t.line_of("quote_asset"),
                t.field("quote_asset"),
                "a pool venue pays in the pool's other coin; remove quote_asset",
            );
        }
        t.finish(ctx);
        return Some(Liquidity {
            curve: CurveSpec::PowerLaw {
                adv_usd: 1.0,
                k: 0.0,
                alpha: 1.0,
            },
            quote_asset: None,
            pool: Some(pool?),
        });
    }
    let spec = match curve.as_deref() {
        Some("constant_product") => {
            let base = t.num_in("base", true, |x| x > 0.0, POSITIVE, ctx);
            let quote = t.num_in("quote", true, |x| x > 0.0, POSITIVE, ctx);
            let fee = t
                .num_in("fee", false, fee_ok, "a number in [0, 1)", ctx)
                .unwrap_or(0.0);
            Some(CurveSpec::ConstantProduct {
                base: base?,
                quote: quote?,
                fee,
            })
        }
        Some("stableswap") => {
            let amplification = t.num_in("amplification", true, |x| x > 0.0, POSITIVE, ctx);
            let base = t.num_in("base", true, |x| x > 0.0, POSITIVE, ctx);
            let quote = t.num_in("quote", true, |x| x > 0.0, POSITIVE, ctx);
            let fee = t
                .num_in("fee", false, fee_ok, "a number in [0, 1)", ctx)
                .unwrap_or(0.0);
            Some(CurveSpec::StableSwap {
                amplification: amplification?,
                base: base?,
                quote: quote?,
                fee,
            })
        }
        Some("power_law") => {
            let adv_usd = t.num_in("adv_usd", true, |x| x > 0.0, POSITIVE, ctx);
            let k = t.num_in("k", true, |x| x >= 0.0, NON_NEGATIVE, ctx);
            let alpha = t.num_in("alpha", true, |x| x > 0.0, POSITIVE, ctx);
            Some(CurveSpec::PowerLaw {
                adv_usd: adv_usd?,
                k: k?,
                alpha: alpha?,
            })
        }
        Some(other) => {
            ctx.error(
                t.line_of("curve"),
                t.field("curve"),
                format!(
                    "= \"{other}\", expected one of: constant_product, stableswap, power_law, amm"
                ),
            );
            None
        }
        None => None,
    };
    t.finish(ctx);
    Some(Liquidity {
        curve: spec?,
        quote_asset: quote_idx,
        pool: None,
    })
}

/// Fills in the curve of every asset that sells into an AMM pool: the pool's invariant, its reserve of
/// the asset as `base`, its reserve of the other coin as `quote`, and that coin as the quote asset —
/// the pool is the asset's liquidity venue (DESIGN §7).
fn resolve_pool_venues(assets: &mut [Asset], protocols: &[Protocol], ctx: &mut Ctx) {
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
            AmmInvariant::ConstantProduct => CurveSpec::ConstantProduct {
                base,
                quote,
                fee: m.fee,
            },
            AmmInvariant::StableSwap => CurveSpec::StableSwap {
                amplification: m.amplification,
                base,
                quote,
                fee: m.fee,
            },
        };
        a.liquidity.quote_asset = Some(q);
    }
}

/// Asset id → (kind, underlying id), read in pass 1 so protocols can check the assets they name.
type AssetKinds = HashMap<String, (Option<AssetKind>, Option<String>)>;

fn asset_kinds(nodes: &[Node]) -> AssetKinds {
    let field = |e: &[(String, Node)], key: &str| -> Option<String> {
        e.iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| match &v.value {
                Value::Str(s) => Some(s.clone()),
                _ => None,
            })
    };
    nodes
        .iter()
        .filter_map(|n| match &n.value {
            Value::Obj(e) => {
                let id = field(e, "id")?;
                Some((
                    id,
                    (
                        field(e, "kind").and_then(|k| AssetKind::parse(&k)),
                        field(e, "underlying"),
                    ),
                ))
            }
            _ => None,
        })
        .collect()
}

fn parse_protocol(
    n: &Node,
    index: usize,
    refs: &Refs,
    asset_kinds: &AssetKinds,
    ctx: &mut Ctx,
) -> Option<Protocol> {
    let mut t = Table::new(n, format!("protocol {}", index + 1), ctx)?;
    let id = t.req_str("id", ctx);
    if let Some(id) = &id {
        t.what = format!("protocol \"{id}\"");
    }
    let kind = t.req_choice("kind", &ProtocolKind::ALL, ctx);
    let mut insurance_fund = Vec::new();
    for (a, amount, line) in t.amounts("insurance_fund", ctx) {
        let field = format!("{}.{a}", t.field("insurance_fund"));
        if let Some(ai) = refs.asset(&a, line, &field, ctx) {
            if amount < 0.0 {
                ctx.error(line, field, format!("= {amount}, expected {NON_NEGATIVE}"));
            } else {
                insurance_fund.push((ai, amount));
            }
        }
    }
    let breakers = parse_breakers(&mut t, ctx);
    let params = match kind {
        Some(ProtocolKind::Lending) => {
            parse_lending(&mut t, refs, ctx).map(ProtocolParams::Lending)
        }
        Some(ProtocolKind::Bridge) => {
            parse_bridge(&mut t, refs, asset_kinds, ctx).map(ProtocolParams::Bridge)
        }
        Some(ProtocolKind::Cdp) => {
            parse_cdp(&mut t, refs, asset_kinds, ctx).map(ProtocolParams::Cdp)
        }
        Some(ProtocolKind::Amm) => {
            parse_amm(&mut t, refs, asset_kinds, ctx).map(ProtocolParams::Amm)
        }
        Some(ProtocolKind::Clearinghouse) => {
            clearinghouse::parse_clearinghouse(&mut t, refs, asset_kinds, ctx)
                .map(ProtocolParams::Clearinghouse)
        }
        Some(ProtocolKind::Algostable) => {
            algostable::parse_algostable(&mut t, refs, asset_kinds, ctx)
                .map(ProtocolParams::Algostable)
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
    let share = |x: f64| x > 0.0 && x < 1.0;
    let out = Breakers {
        pause_liquidations_on_drop: b.num_in(
            "pause_liquidations_on_drop",
            false,
            share,
            "a share in (0, 1)",
            ctx,
        ),
        freeze_borrowing_on_deviation: b.num_in(
            "freeze_borrowing_on_deviation",
            false,
            share,
            "a share in (0, 1)",
            ctx,
        ),
    };
    b.finish(ctx);
    out
}

fn parse_bridge(
    t: &mut Table,
    refs: &Refs,
    kinds: &AssetKinds,
    ctx: &mut Ctx,
) -> Option<BridgeParams> {
    let bridged_s = t.req_str("bridged", ctx);
    let underlying_s = t.req_str("underlying", ctx);
    let locked = t.num_in("locked", true, |x| x >= 0.0, NON_NEGATIVE, ctx);
    let bridged = bridged_s
        .as_deref()
        .and_then(|b| refs.asset(b, t.line_of("bridged"), &t.field("bridged"), ctx));
    let underlying = underlying_s
        .as_deref()
        .and_then(|u| refs.asset(u, t.line_of("underlying"), &t.field("underlying"), ctx));
    if let (Some(b), Some(u)) = (&bridged_s, &underlying_s) {
        match kinds.get(b) {
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

/// Checks that `key` names an asset of kind `kind` (an issuer's own asset).
fn own_asset(
    t: &mut Table,
    key: &'static str,
    kind: AssetKind,
    refs: &Refs,
    kinds: &AssetKinds,
    ctx: &mut Ctx,
) -> Option<usize> {
    let id = t.req_str(key, ctx)?;
    let idx = refs.asset(&id, t.line_of(key), &t.field(key), ctx)?;
    match kinds.get(&id) {
        Some((Some(k), _)) if *k != kind => {
            ctx.error(
                t.line_of(key),
                t.field(key),
                format!(
                    "asset \"{id}\" is of kind \"{}\"; expected a \"{}\" asset",
                    k.name(),
                    kind.name()
                ),
            );
            None
        }
        _ => Some(idx),
    }
}

fn parse_cdp(t: &mut Table, refs: &Refs, kinds: &AssetKinds, ctx: &mut Ctx) -> Option<CdpParams> {
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
                    format!("duplicate vault type \"{id}\""),
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

fn parse_amm(t: &mut Table, refs: &Refs, kinds: &AssetKinds, ctx: &mut Ctx) -> Option<AmmParams> {
    let invariant = t.req_choice(
        "invariant",
        &[
            ("constant_product", AmmInvariant::ConstantProduct),
            ("stableswap", AmmInvariant::StableSwap),
        ],
        ctx,
    );
    let amplification = match invariant {
        Some(AmmInvariant::StableSwap) => {
            t.num_in("amplification", true, |x| x > 0.0, POSITIVE, ctx)
        }
        _ => t
            .num_in("amplification", false, |x| x > 0.0, POSITIVE, ctx)
            .or(Some(0.0)),
    };
    let fee = t
        .num_in(
            "fee",
            false,
            |x| (0.0..1.0).contains(&x),
            "a number in [0, 1)",
            ctx,
        )
        .unwrap_or(0.0);
    let lp_asset = own_asset(t, "lp_asset", AssetKind::Lp, refs, kinds, ctx);
    let lp_supply = t.num_in("lp_supply", false, |x| x > 0.0, POSITIVE, ctx);
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
                    format!("= {amount}, expected a reserve > 0 tokens"),
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

fn parse_lending(t: &mut Table, refs: &Refs, ctx: &mut Ctx) -> Option<LendingParams> {
    let unit_open = |x: f64| x > 0.0 && x <= 1.0;
    let close_factor = t
        .num_in("close_factor", false, unit_open, "a number in (0, 1]", ctx)
        .unwrap_or(0.5);
    let close_factor_full_below_hf = t
        .num_in(
            "close_factor_full_below_hf",
            false,
            unit_open,
            "a number in (0, 1]",
            ctx,
        )
        .unwrap_or(0.95);
    let full_close_factor = t
        .num_in(
            "full_close_factor",
            false,
            unit_open,
            "a number in (0, 1]",
            ctx,
        )
        .unwrap_or(1.0);
    let liquidator_cost_usd = t
        .num_in(
            "liquidator_cost_usd",
            false,
            |x| x >= 0.0,
            NON_NEGATIVE,
            ctx,
        )
        .unwrap_or(0.0);
    let liquidators_buy_debt = t.opt_bool("liquidators_buy_debt", ctx).unwrap_or(false);
    let mut reserves: Vec<Reserve> = Vec::new();
    let mut ok = true;
    for (i, rn) in t.arr("reserve", ctx).iter().enumerate() {
        match parse_reserve(rn, &format!("{} reserve {}", t.what, i + 1), refs, ctx) {
            Some(r) => {
                if let Some(prev) = reserves.iter().find(|p| p.asset == r.asset) {
                    ctx.error(
                        r.line,
                        format!("{} reserve {}", t.what, i + 1),
                        format!(
                            "duplicate reserve for this asset; first on line {}",
                            prev.line
                        ),
                    );
                    ok = false;
                } else {
                    reserves.push(r);
                }
            }
            None => ok = false,
        }
    }
    let mut emode = Vec::new();
    for (i, en) in t.arr("emode", ctx).iter().enumerate() {
        let what = format!("{} emode {}", t.what, i + 1);
        let Some(mut e) = Table::new(en, what, ctx) else {
            ok = false;
            continue;
        };
        let id = e.req_str("id", ctx);
        let ltv = e.num_in("ltv", true, |x| (0.0..=1.0).contains(&x), UNIT, ctx);
        let lt = e.num_in(
            "liquidation_threshold",
            true,
            unit_open,
            "a number in (0, 1]",
            ctx,
        );
        let lb = e.num_in(
            "liquidation_bonus",
            true,
            |x| (0.0..1.0).contains(&x),
            "a number in [0, 1)",
            ctx,
        );
        let mut assets = Vec::new();
        for an in e.arr("assets", ctx) {
            if let Some(s) = str_of(an, &e.field("assets"), ctx) {
                match refs.asset(&s, an.line, &e.field("assets"), ctx) {
                    Some(a) if reserves.iter().any(|r| r.asset == a) => assets.push(a),
                    Some(_) => ctx.error(
                        an.line,
                        e.field("assets"),
                        format!("\"{s}\" has no reserve in this protocol"),
                    ),
                    None => {}
                }
            }
        }
        if let (Some(ltv), Some(lt), Some(lb)) = (ltv, lt, lb) {
            check_risk_params(ltv, lt, lb, &e, ctx);
        }
        let line = e.line;
        e.finish(ctx);
        match (id, ltv, lt, lb) {
            (Some(id), Some(ltv), Some(liquidation_threshold), Some(liquidation_bonus)) => emode
                .push(EModeCategory {
                    id,
                    ltv,
                    liquidation_threshold,
                    liquidation_bonus,
                    assets,
                    line,
                }),
            _ => ok = false,
        }
    }
    if reserves.is_empty() && ok {
        ctx.error(
            t.line,
            t.field("reserve"),
            "a lending protocol needs at least one [[protocol.reserve]]",
        );
    }
    if !ok {
        return None;
    }
    Some(LendingParams {
        close_factor,
        close_factor_full_below_hf,
        full_close_factor,
        liquidator_cost_usd,
        liquidators_buy_debt,
        reserves,
        emode,
    })
}

/// Aave v3's own rules: `ltv ≤ LT` and `LT·(1 + LB) ≤ 1` (otherwise a liquidation cannot pay its bonus).
fn check_risk_params(ltv: f64, lt: f64, lb: f64, t: &Table, ctx: &mut Ctx) {
    let what = &t.what;
    if ltv > lt {
        ctx.error(t.line_of("ltv"), format!("{what}.ltv"), format!("= {ltv} is above liquidation_threshold = {lt}; expected ltv ≤ liquidation_threshold"));
    }
    if lt * (1.0 + lb) > 1.0 + 1e-12 {
        ctx.error(
            t.line_of("liquidation_threshold"),
            format!("{what}.liquidation_threshold"),
            format!("liquidation_threshold × (1 + liquidation_bonus) = {:.4} > 1; the bonus could not be paid from the collateral", lt * (1.0 + lb)),
        );
    }
}

fn parse_reserve(n: &Node, what: &str, refs: &Refs, ctx: &mut Ctx) -> Option<Reserve> {
    let mut t = Table::new(n, what, ctx)?;
    let asset_s = t.req_str("asset", ctx);
    let asset = asset_s
        .as_deref()
        .and_then(|a| refs.asset(a, t.line_of("asset"), &t.field("asset"), ctx));
    if let Some(a) = &asset_s {
        t.what = format!("{what} (\"{a}\")");
    }
    let collateral_enabled = t.opt_bool("collateral_enabled", ctx).unwrap_or(true);
    let ltv = t.num_in("ltv", true, |x| (0.0..=1.0).contains(&x), UNIT, ctx);
    let lt_ok = |x: f64| {
        if collateral_enabled {
            x > 0.0 && x <= 1.0
        } else {
            (0.0..=1.0).contains(&x)
        }
    };
    let lt_expected = if collateral_enabled {
        "a number in (0, 1]"
    } else {
        UNIT
    };
    let lt = t.num_in("liquidation_threshold", true, lt_ok, lt_expected, ctx);
    let lb = t.num_in(
        "liquidation_bonus",
        true,
        |x| (0.0..1.0).contains(&x),
        "a number in [0, 1)",
        ctx,
    );
    let reserve_factor = t
        .num_in(
            "reserve_factor",
            false,
            |x| (0.0..1.0).contains(&x),
            "a number in [0, 1)",
            ctx,
        )
        .unwrap_or(0.0);
    let supply_cap = t.num_in("supply_cap", false, |x| x >= 0.0, NON_NEGATIVE, ctx);
    let borrow_cap = t.num_in("borrow_cap", false, |x| x >= 0.0, NON_NEGATIVE, ctx);
    let borrowable = t.opt_bool("borrowable", ctx).unwrap_or(true);
    let debt_ceiling_usd = t.num_in("debt_ceiling", false, |x| x >= 0.0, NON_NEGATIVE, ctx);
    let supplied = t.num_in("supplied", false, |x| x >= 0.0, NON_NEGATIVE, ctx);
    if let (Some(ltv), Some(lt), Some(lb)) = (ltv, lt, lb) {
        check_risk_params(ltv, lt, lb, &t, ctx);
    }
    let line = t.line;
    t.finish(ctx);
    Some(Reserve {
        asset: asset?,
        ltv: ltv?,
        liquidation_threshold: lt?,
        liquidation_bonus: lb?,
        reserve_factor,
        supply_cap,
        borrow_cap,
        collateral_enabled,
        borrowable,
        debt_ceiling_usd,
        supplied,
        line,
    })
}

fn parse_correlation(n: &Node, index: usize, refs: &Refs, ctx: &mut Ctx) -> Option<Correlation> {
    let mut t = Table::new(n, format!("correlation {}", index + 1), ctx)?;
    let mut assets = Vec::new();
    let mut ok = true;
    for an in t.arr("assets", ctx) {
        match str_of(an, &t.field("assets"), ctx)
            .and_then(|s| refs.asset(&s, an.line, &t.field("assets"), ctx))
        {
            Some(a) => assets.push(a),
            None => ok = false,
        }
    }
    let mut matrix = Vec::new();
    for rn in t.arr("matrix", ctx) {
        let Value::Arr(cells) = &rn.value else {
            ctx.error(
                rn.line,
                t.field("matrix"),
                format!("found {}, expected an array of rows", rn.value.type_name()),
            );
            ok = false;
            continue;
        };
        let row: Vec<f64> = cells
            .iter()
            .filter_map(|c| crate::reader::num_of(c, &t.field("matrix"), ctx))
            .collect();
        ok &= row.len() == cells.len();
        matrix.push(row);
    }
    let k = assets.len();
    let line = t.line_of("matrix");
    if ok {
        if matrix.len() != k || matrix.iter().any(|r| r.len() != k) {
            ctx.error(
                line,
                t.field("matrix"),
                format!("expected a {k}×{k} matrix for {k} assets"),
            );
            ok = false;
        } else {
            for (i, row) in matrix.iter().enumerate() {
                if (row[i] - 1.0).abs() > 1e-9 {
                    ctx.error(
                        line,
                        t.field("matrix"),
                        format!("diagonal entry [{i}][{i}] = {}, expected 1", row[i]),
                    );
                    ok = false;
                }
                for (j, &v) in row.iter().enumerate() {
                    if !(-1.0..=1.0).contains(&v) {
                        ctx.error(
                            line,
                            t.field("matrix"),
                            format!("entry [{i}][{j}] = {v}, expected a number in [-1, 1]"),
                        );
                        ok = false;
                    } else if (v - matrix[j][i]).abs() > 1e-9 {
                        ctx.error(line, t.field("matrix"), format!("entry [{i}][{j}] = {v} differs from [{j}][{i}] = {}; expected a symmetric matrix", matrix[j][i]));
                        ok = false;
                    }
                }
            }
        }
    }
    t.finish(ctx);
    ok.then_some(Correlation {
        assets,
        matrix,
        line: t_line(n),
    })
}

fn t_line(n: &Node) -> u32 {
    n.line
}

/// Every `lp` asset is some AMM pool's `lp_asset`, every `cdp_stable` some CDP's `stable`, every
/// `algostable` some algostable protocol's `stable` (their prices come from the issuer's state), each
/// issued once.
fn check_issuers(assets: &[Asset], protocols: &[Protocol], ctx: &mut Ctx) {
    for (i, a) in assets.iter().enumerate() {
        let issuers = protocols
            .iter()
            .filter(|p| {
                p.amm().is_some_and(|m| m.lp_asset == i)
                    || p.cdp().is_some_and(|c| c.stable == i)
                    || p.algostable().is_some_and(|g| g.stable == i)
            })
            .count();
        let what = match a.kind {
            AssetKind::Lp => "an AMM pool's lp_asset",
            AssetKind::CdpStable => "a CDP's stable",
            AssetKind::Algostable => "an algostable protocol's stable",
            _ => continue,
        };
        if issuers == 0 {
            ctx.error(
                a.line,
                format!("asset \"{}\".kind", a.id),
                format!(
                    "no protocol issues it; a \"{}\" asset must be {what}",
                    a.kind.name()
                ),
            );
        } else if issuers > 1 {
            ctx.error(
                a.line,
                format!("asset \"{}\".kind", a.id),
                format!("{issuers} protocols issue it; expected one"),
            );
        }
    }
}

/// Rejects cycles among derived assets (through `underlying` and through a curve's `quote_asset`).
fn check_cycles(assets: &[Asset], ctx: &mut Ctx) {
    let deps = |a: &Asset| -> Vec<usize> {
        a.underlying
            .into_iter()
            .chain(a.liquidity.quote_asset)
            .collect()
    };
    // 0 = unvisited, 1 = on stack, 2 = done
    let mut state = vec![0u8; assets.len()];
    let mut reported = HashSet::new();
    for start in 0..assets.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let d = deps(&assets[node]);
            if *next < d.len() {
                let child = d[*next];
                *next += 1;
                match state[child] {
                    0 => {
                        state[child] = 1;
                        stack.push((child, 0));
                    }
                    1 => {
                        let pos = stack.iter().position(|(n, _)| *n == child).unwrap_or(0);
                        let cycle: Vec<&str> = stack[pos..]
                            .iter()
                            .map(|(n, _)| assets[*n].id.as_str())
                            .collect();
                        let key: Vec<usize> = {
                            let mut k: Vec<usize> = stack[pos..].iter().map(|(n, _)| *n).collect();
                            k.sort_unstable();
                            k
                        };
                        if reported.insert(key) {
                            ctx.error(
                                assets[child].line,
                                format!("asset \"{}\"", assets[child].id),
                                format!(
                                    "derived assets form a cycle: {} → {}",
                                    cycle.join(" → "),
                                    assets[child].id
                                ),
                            );
                        }
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
}

/// The checks of an account that need no protocol parameters (used when some protocol could not be read).
fn lint_account(n: &Node, index: usize, refs: &Refs, ctx: &mut Ctx) {
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

fn parse_account(n: &Node, index: usize, s: &mut Snapshot, ctx: &mut Ctx) {
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

/// Checks that need every position loaded: isolation debt ceilings, caps, e-mode debt membership.
pub fn check_loaded(s: &Snapshot, diags: &mut Diagnostics) {
    let file = s.source.as_str();
    let totals = s.totals();
    for (pi, p) in s.protocols.iter().enumerate() {
        let Some(l) = p.lending() else { continue };
        for r in &l.reserves {
            let a = &s.assets[r.asset];
            let [supplied, borrowed] = totals[pi][r.asset];
            if let Some(cap) = r.supply_cap {
                if supplied > cap {
                    diags.warning(
                        file,
                        Location::Line(r.line),
                        format!("protocol \"{}\" reserve \"{}\".supply_cap", p.id, a.id),
                        format!("accounts supply {supplied} tokens, above the cap of {cap}"),
                    );
                }
            }
            if let Some(cap) = r.borrow_cap {
                if borrowed > cap {
                    diags.warning(
                        file,
                        Location::Line(r.line),
                        format!("protocol \"{}\" reserve \"{}\".borrow_cap", p.id, a.id),
                        format!("accounts borrow {borrowed} tokens, above the cap of {cap}"),
                    );
                }
            }
        }
        check_isolation_ceilings(s, pi, l, diags);
    }
    check_vault_collateral(s, diags);
}

/// A CDP vault's collateral in an asset other than its vault type's counts for nothing: a warning per
/// (protocol, vault type, asset).
fn check_vault_collateral(s: &Snapshot, diags: &mut Diagnostics) {
    let pos = &s.positions;
    let mut seen: Vec<(usize, u16, usize)> = Vec::new();
    for i in 0..pos.len() {
        let acc = pos.account[i] as usize;
        let p = s.accounts.protocol[acc] as usize;
        let (Some(c), Some(v), Side::Collateral) = (
            s.protocols[p].cdp(),
            s.accounts.vault_type[acc],
            pos.side[i],
        ) else {
            continue;
        };
        let a = pos.asset[i] as usize;
        let Some(vt) = c.vault_types.get(usize::from(v)) else {
            continue;
        };
        if vt.collateral != a && !seen.contains(&(p, v, a)) {
            seen.push((p, v, a));
            diags.warning(
                &s.source,
                Location::Line(vt.line),
                format!("protocol \"{}\" vault_type \"{}\"", s.protocols[p].id, vt.id),
                format!(
                    "vaults of this type hold \"{}\", which counts for nothing: the type's collateral is \"{}\" (e.g. account \"{}\")",
                    s.assets[a].id, s.assets[vt.collateral].id, s.accounts.id[acc]
                ),
            );
        }
    }
}

/// Isolation mode: the USD debt of accounts whose collateral is an isolated asset, at snapshot prices,
/// against that asset's `debt_ceiling` (a warning: governance may have lowered a ceiling below what is
/// already borrowed).
fn check_isolation_ceilings(s: &Snapshot, pi: usize, l: &LendingParams, diags: &mut Diagnostics) {
    let ceiling: Vec<Option<f64>> = (0..s.assets.len())
        .map(|a| l.reserve_of(a).and_then(|r| r.debt_ceiling_usd))
        .collect();
    if ceiling.iter().all(Option::is_none) {
        return;
    }
    let pos = &s.positions;
    let mut iso_of: Vec<Option<usize>> = vec![None; s.accounts.len()];
    for i in 0..pos.len() {
        let (acc, a) = (pos.account[i] as usize, pos.asset[i] as usize);
        if s.accounts.protocol[acc] as usize == pi
            && pos.side[i] == Side::Collateral
            && pos.amount[i] > 0.0
            && ceiling[a].is_some()
            && iso_of[acc].is_none()
        {
            iso_of[acc] = Some(a);
        }
    }
    let mut debt_usd = vec![0.0; s.assets.len()];
    for i in 0..pos.len() {
        if let (Some(iso), Side::Debt) = (iso_of[pos.account[i] as usize], pos.side[i]) {
            debt_usd[iso] += pos.amount[i] * s.reference_price(pos.asset[i] as usize);
        }
    }
    for (a, c) in ceiling.iter().enumerate() {
        if let Some(c) = c {
            if debt_usd[a] > *c {
                let line = l.reserve_of(a).map_or(0, |r| r.line);
                diags.warning(
                    &s.source,
                    Location::Line(line),
                    format!(
                        "protocol \"{}\" reserve \"{}\".debt_ceiling",
                        s.protocols[pi].id, s.assets[a].id
                    ),
                    format!(
                        "isolated accounts owe ${:.0}, above the debt ceiling of ${c:.0}",
                        debt_usd[a]
                    ),
                );
            }
        }
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

/// Parses a scenario against the snapshot it will run on (asset ids are resolved).
pub fn parse_scenario(
    text: &str,
    format: Format,
    file: &str,
    snapshot: &Snapshot,
) -> Result<(Scenario, Diagnostics), LoadError> {
    let mut diags = Diagnostics::new();
    let scenario = parse_scenario_inner(text, format, file, snapshot, &mut diags);
    match scenario {
        Some(s) if !diags.has_errors() => Ok((s, diags)),
        _ => {
            if !diags.has_errors() {
                diags.error(file, Location::File, "", "the scenario could not be read");
            }
            Err(LoadError { diagnostics: diags })
        }
    }
}

fn parse_scenario_inner(
    text: &str,
    format: Format,
    file: &str,
    snapshot: &Snapshot,
    diags: &mut Diagnostics,
) -> Option<Scenario> {
    let root = doc::parse(text, format, file, diags)?;
    let mut ctx = Ctx { file, diags };
    let mut top = Table::new(&root, "", &mut ctx)?;
    let name = top
        .opt_str("name", &mut ctx)
        .unwrap_or_else(|| "unnamed".into());
    let max_rounds = top
        .num_in(
            "max_rounds",
            false,
            |x| x >= 1.0 && x.fract() == 0.0 && x <= 1e6,
            "a whole number in [1, 1000000]",
            &mut ctx,
        )
        .map(|x| x as u32)
        .unwrap_or(Scenario::DEFAULT_MAX_ROUNDS);
    let tolerance = top
        .num_in("tolerance", false, |x| x >= 0.0, NON_NEGATIVE, &mut ctx)
        .unwrap_or(Scenario::DEFAULT_TOLERANCE);
    let recovery_rate = top
        .num_in(
            "recovery_rate",
            false,
            |x| (0.0..=1.0).contains(&x),
            UNIT,
            &mut ctx,
        )
        .unwrap_or(0.0);
    let peg_follows_backing = top
        .opt_bool("peg_follows_backing", &mut ctx)
        .unwrap_or(false);
    let shock_nodes = top.arr("shock", &mut ctx);
    top.finish(&mut ctx);
    let mut shocks = Vec::new();
    for (i, n) in shock_nodes.iter().enumerate() {
        let Some(mut t) = Table::new(n, format!("shock {}", i + 1), &mut ctx) else {
            continue;
        };
        let asset_s = t.opt_str("asset", &mut ctx);
        let asset = match &asset_s {
            None => None,
            Some(a) => match snapshot.asset_idx(a) {
                Some(x) => Some(x),
                None => {
                    ctx.error(
                        t.line_of("asset"),
                        t.field("asset"),
                        format!(
                            "unknown asset \"{a}\"; the snapshot \"{}\" has no such asset",
                            snapshot.name
                        ),
                    );
                    t.finish(&mut ctx);
                    continue;
                }
            },
        };
        let price_change = t.num_in(
            "price_change",
            false,
            |x| x > -1.0,
            "a number > −1 (−0.4 = a 40% fall)",
            &mut ctx,
        );
        let discount = t.num_in("discount", false, |x| x > 0.0, POSITIVE, &mut ctx);
        let liquidity_multiplier = t.num_in(
            "liquidity_multiplier",
            false,
            |x| x > 0.0,
            POSITIVE,
            &mut ctx,
        );
        let unit = |x: f64| (0.0..=1.0).contains(&x);
        let protocol_ref = |key: &'static str, t: &mut Table, ctx: &mut Ctx| -> Option<usize> {
            let id = t.opt_str(key, ctx)?;
            let p = snapshot.protocol_idx(&id);
            if p.is_none() {
                ctx.error(
                    t.line_of(key),
                    t.field(key),
                    format!(
                        "unknown protocol \"{id}\"; the snapshot \"{}\" has no such protocol",
                        snapshot.name
                    ),
                );
            }
            p
        };
        let bridge = protocol_ref("bridge", &mut t, &mut ctx);
        let protocol = protocol_ref("protocol", &mut t, &mut ctx);
        let loss = t.num_in("loss", false, unit, UNIT, &mut ctx);
        let default = t.num_in("default", false, unit, UNIT, &mut ctx);
        if let Some(b) = bridge {
            if snapshot.protocols[b].kind != ProtocolKind::Bridge {
                ctx.error(
                    t.line_of("bridge"),
                    t.field("bridge"),
                    format!("protocol \"{}\" is not a bridge", snapshot.protocols[b].id),
                );
            }
        }
        if t.has("bridge") != t.has("loss") {
            ctx.error(
                t.line,
                t.what.clone(),
                "a bridge shock needs both `bridge` and `loss`",
            );
        }
        let redemptions_usd = t.num_in(
            "redemptions_usd",
            false,
            |x| x >= 0.0,
            NON_NEGATIVE,
            &mut ctx,
        );
        let whole = |x: f64| x >= 0.0 && x.fract() == 0.0 && x <= 1e6;
        let oracle_delay_rounds = t
            .num_in(
                "oracle_delay_rounds",
                false,
                whole,
                "a whole number of rounds ≥ 0",
                &mut ctx,
            )
            .map(|x| x as u32);
        let vol_change = t.num_in(
            "vol_change",
            false,
            |x| x > -1.0,
            "a number > −1 (0.5 = volatility ×1.5)",
            &mut ctx,
        );
        let market = t.opt_str("market", &mut ctx);
        let pump_usd = t.num_in("pump_usd", false, |x| x >= 0.0, NON_NEGATIVE, &mut ctx);
        let pump_rounds = t
            .num_in(
                "pump_rounds",
                false,
                whole,
                "a whole number of rounds ≥ 0",
                &mut ctx,
            )
            .map(|x| x as u32);
        let account = t.opt_str("account", &mut ctx);
        let borrow = match t.opt_str("borrow", &mut ctx) {
            None => None,
            Some(b) => {
                let r = snapshot.asset_idx(&b);
                if r.is_none() {
                    ctx.error(
                        t.line_of("borrow"),
                        t.field("borrow"),
                        format!(
                            "unknown asset \"{b}\"; the snapshot \"{}\" has no such asset",
                            snapshot.name
                        ),
                    );
                }
                r
            }
        };
        check_protocol_shock(
            &t,
            snapshot,
            protocol,
            &ProtocolShockKeys {
                market: market.as_deref(),
                account: account.as_deref(),
                borrow,
            },
            &mut ctx,
        );
        if t.has("vol_change") && asset.is_none() {
            ctx.error(
                t.line_of("vol_change"),
                t.field("vol_change"),
                "a vol_change shock needs an asset",
            );
        }
        let line = t.line;
        if asset.is_none() && (price_change.is_some() || discount.is_some()) {
            ctx.error(
                line,
                t.what.clone(),
                "a price_change or discount shock needs an asset",
            );
        }
        if let (Some(a), Some(_)) = (asset, discount) {
            if snapshot.assets[a].kind != AssetKind::Lst {
                ctx.error(
                    t.line_of("discount"),
                    t.field("discount"),
                    format!(
                        "asset \"{}\" is not an lst; use price_change",
                        snapshot.assets[a].id
                    ),
                );
            }
        }
        if ![
            "price_change",
            "discount",
            "liquidity_multiplier",
            "loss",
            "default",
            "redemptions_usd",
            "oracle_delay_rounds",
            "vol_change",
            "pump_usd",
            "borrow",
        ]
        .iter()
        .any(|k| t.has(k))
        {
            ctx.error(
                line,
                t.what.clone(),
                "a shock needs price_change, discount, liquidity_multiplier, vol_change, bridge + loss, or protocol + one of default, redemptions_usd, oracle_delay_rounds, pump_usd, borrow",
            );
        }
        t.finish(&mut ctx);
        shocks.push(Shock {
            asset,
            price_change,
            discount,
            liquidity_multiplier,
            bridge,
            loss,
            protocol,
            default,
            redemptions_usd,
            oracle_delay_rounds,
            vol_change,
            market,
            pump_usd,
            pump_rounds,
            account,
            borrow,
            line,
        });
    }
    Some(Scenario {
        name,
        max_rounds,
        tolerance,
        recovery_rate,
        peg_follows_backing,
        shocks,
    })
}

/// The names a protocol-targeted shock refers to.
struct ProtocolShockKeys<'a> {
    market: Option<&'a str>,
    account: Option<&'a str>,
    borrow: Option<usize>,
}

/// Checks the keys of a shock that targets a protocol: `default` (any kind), `redemptions_usd` (an
/// algorithmic stablecoin), `oracle_delay_rounds`, `pump_usd` + `market`, `account` + `borrow` (a
/// clearinghouse).
fn check_protocol_shock(
    t: &Table,
    snapshot: &Snapshot,
    protocol: Option<usize>,
    keys: &ProtocolShockKeys,
    ctx: &mut Ctx,
) {
    const KEYED: [&str; 7] = [
        "default",
        "redemptions_usd",
        "oracle_delay_rounds",
        "pump_usd",
        "pump_rounds",
        "account",
        "borrow",
    ];
    let used: Vec<&str> = KEYED.iter().copied().filter(|k| t.has(k)).collect();
    if t.has("protocol") && used.is_empty() {
        ctx.error(
            t.line,
            t.what.clone(),
            "a protocol shock needs one of default, redemptions_usd, oracle_delay_rounds, pump_usd, borrow",
        );
    }
    if !t.has("protocol") {
        for k in &used {
            ctx.error(
                t.line_of(k),
                t.field(k),
                "needs `protocol` (the protocol it acts on)",
            );
        }
        if t.has("market") {
            ctx.error(
                t.line_of("market"),
                t.field("market"),
                "needs `protocol` (the market's clearinghouse)",
            );
        }
        return;
    }
    let Some(pi) = protocol else { return };
    let p = &snapshot.protocols[pi];
    if t.has("redemptions_usd") && p.kind != ProtocolKind::Algostable {
        ctx.error(
            t.line_of("redemptions_usd"),
            t.field("redemptions_usd"),
            format!(
                "protocol \"{}\" is of kind \"{}\"; redemptions act on an algostable",
                p.id,
                p.kind.name()
            ),
        );
    }
    for k in [
        "oracle_delay_rounds",
        "pump_usd",
        "pump_rounds",
        "account",
        "borrow",
        "market",
    ] {
        if t.has(k) && p.kind != ProtocolKind::Clearinghouse {
            ctx.error(
                t.line_of(k),
                t.field(k),
                format!(
                    "protocol \"{}\" is of kind \"{}\"; `{k}` acts on a clearinghouse",
                    p.id,
                    p.kind.name()
                ),
            );
        }
    }
    let Some(ch) = p.clearinghouse() else { return };
    let market = match keys.market {
        None => None,
        Some(m) => match ch.market_idx(m) {
            Some(i) => Some(i),
            None => {
                ctx.error(
                    t.line_of("market"),
                    t.field("market"),
                    format!("unknown market \"{m}\" in protocol \"{}\"", p.id),
                );
                return;
            }
        },
    };
    if t.has("pump_usd") || t.has("pump_rounds") {
        match market {
            None => ctx.error(t.line, t.what.clone(), "a pump needs `market` (a market whose oracle is a thin venue)"),
            Some(m) if !matches!(ch.markets[m].oracle, cascade_model::derivatives::OracleSpec::ThinVenue { .. }) => ctx.error(
                t.line_of("market"),
                t.field("market"),
                format!("market \"{}\" has no thin-venue oracle to pump; give it oracle = {{ kind = \"thin_venue\", curve = … }}", ch.markets[m].id),
            ),
            Some(_) => {}
        }
        if !t.has("pump_usd") {
            ctx.error(
                t.line_of("pump_rounds"),
                t.field("pump_rounds"),
                "needs `pump_usd`",
            );
        }
    }
    if t.has("account") != t.has("borrow") {
        ctx.error(
            t.line,
            t.what.clone(),
            "a borrow shock needs both `account` and `borrow`",
        );
    }
    if let Some(a) = keys.account {
        if snapshot.accounts.find(pi, a).is_none() {
            ctx.error(
                t.line_of("account"),
                t.field("account"),
                format!("unknown account \"{a}\" in protocol \"{}\"", p.id),
            );
        }
    }
    if let Some(b) = keys.borrow {
        if ch.liability_of(b).is_none() {
            ctx.error(
                t.line_of("borrow"),
                t.field("borrow"),
                format!(
                    "\"{}\" is not borrowable in \"{}\" (no liability weight)",
                    snapshot.assets[b].id, p.id
                ),
            );
        }
    }
}
