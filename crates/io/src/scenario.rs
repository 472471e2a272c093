//! Reading scenarios from TOML/JSON text against the snapshot they run on (docs/formats.md),
//! reporting every problem found.

use crate::diag::{Diagnostics, LoadError, Location};
use crate::doc::Format;
use crate::problem::{NameKind, Problem};
use crate::reader::{Ctx, Rule, Table, NON_NEGATIVE, POSITIVE, ROUNDS, UNIT};

use cascade_model::asset::AssetKind;
use cascade_model::protocol::ProtocolKind;
use cascade_model::scenario::{Scenario, Shock};
use cascade_model::snapshot::Snapshot;

const MAX_ROUNDS: Rule = Rule::new(
    |x| x >= 1.0 && x.fract() == 0.0 && x <= 1e6,
    "a whole number in [1, 1000000]",
);
const PRICE_CHANGE: Rule = Rule::new(|x| x > -1.0, "a number > −1 (−0.4 = a 40% fall)");
const VOL_CHANGE: Rule = Rule::new(|x| x > -1.0, "a number > −1 (0.5 = volatility ×1.5)");

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
    let (root, mut ctx) = Ctx::parse(text, format, file, diags)?;
    let (mut top, name) = Table::named_top(&root, &mut ctx)?;
    let max_rounds = top
        .opt("max_rounds", MAX_ROUNDS, &mut ctx)
        .map(|x| x as u32)
        .unwrap_or(Scenario::DEFAULT_MAX_ROUNDS);
    let tolerance = top
        .opt("tolerance", NON_NEGATIVE, &mut ctx)
        .unwrap_or(Scenario::DEFAULT_TOLERANCE);
    let recovery_rate = top.opt("recovery_rate", UNIT, &mut ctx).unwrap_or(0.0);
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
                        not_in_snapshot(NameKind::Asset, a, snapshot),
                    );
                    // The rest of the shock is about that asset: nothing more to say of it.
                    continue;
                }
            },
        };
        let price_change = t.opt("price_change", PRICE_CHANGE, &mut ctx);
        let discount = t.opt("discount", POSITIVE, &mut ctx);
        let liquidity_multiplier = t.opt("liquidity_multiplier", POSITIVE, &mut ctx);
        let protocol_ref = |key: &'static str, t: &mut Table, ctx: &mut Ctx| -> Option<usize> {
            let id = t.opt_str(key, ctx)?;
            let p = snapshot.protocol_idx(&id);
            if p.is_none() {
                ctx.error(
                    t.line_of(key),
                    t.field(key),
                    not_in_snapshot(NameKind::Protocol, &id, snapshot),
                );
            }
            p
        };
        let bridge = protocol_ref("bridge", &mut t, &mut ctx);
        let protocol = protocol_ref("protocol", &mut t, &mut ctx);
        let loss = t.opt("loss", UNIT, &mut ctx);
        let default = t.opt("default", UNIT, &mut ctx);
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
        let redemptions_usd = t.opt("redemptions_usd", NON_NEGATIVE, &mut ctx);
        let oracle_delay_rounds = t
            .opt("oracle_delay_rounds", ROUNDS, &mut ctx)
            .map(|x| x as u32);
        let vol_change = t.opt("vol_change", VOL_CHANGE, &mut ctx);
        let market = t.opt_str("market", &mut ctx);
        let pump_usd = t.opt("pump_usd", NON_NEGATIVE, &mut ctx);
        let pump_rounds = t.opt("pump_rounds", ROUNDS, &mut ctx).map(|x| x as u32);
        let account = t.opt_str("account", &mut ctx);
        let borrow = match t.opt_str("borrow", &mut ctx) {
            None => None,
            Some(b) => {
                let r = snapshot.asset_idx(&b);
                if r.is_none() {
                    ctx.error(
                        t.line_of("borrow"),
                        t.field("borrow"),
                        not_in_snapshot(NameKind::Asset, &b, snapshot),
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
                    Problem::UnknownName {
                        kind: NameKind::Market,
                        name: m.to_string(),
                        scope: Some(p.id.clone()),
                        hint: None,
                    },
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
                Problem::UnknownName {
                    kind: NameKind::Account,
                    name: a.to_string(),
                    scope: Some(p.id.clone()),
                    hint: None,
                },
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

/// The problem of a name the scenario's snapshot does not have.
fn not_in_snapshot(kind: NameKind, name: &str, snapshot: &Snapshot) -> Problem {
    Problem::unknown(
        kind,
        name,
        format!("the snapshot \"{}\" has no such {kind}", snapshot.name),
    )
}
