//! Writing a snapshot as TOML that the loader reads back to an equal snapshot.

use std::fmt::Write as _;
use std::path::Path;

use super::{write_atomic, WriteError};
use cascade_model::{
    AmmInvariant, CurveSpec, HealthFactorRule, LendingParams, LiquidationMechanism,
    LiquidationRuleSet, LossMode, MarginMode, MechanismParams, OptionsParams, OracleSpec,
    PoolDepth, ProtocolParams, Side, Snapshot,
};

/// Writes [`snapshot_to_toml`] to `path` atomically.
pub fn write_snapshot_toml(
    path: &Path,
    s: &Snapshot,
    position_files: &[&str],
    include_accounts: bool,
) -> Result<(), WriteError> {
    write_atomic(
        path,
        snapshot_to_toml(s, position_files, include_accounts).as_bytes(),
    )
}

/// A float as TOML that reads back to the same `f64` (shortest round-trip form).
fn num(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{x:?}")
    }
}

/// A TOML basic string.
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare if it can be, else quoted.
fn key(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        s.to_string()
    } else {
        string(s)
    }
}

/// Key/value pairs of one TOML table, written as `k = v` lines or as an inline table.
#[derive(Default)]
struct Kv {
    items: Vec<(String, String)>,
}

impl Kv {
    fn raw(&mut self, k: &str, v: String) -> &mut Self {
        self.items.push((key(k), v));
        self
    }
    fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.raw(k, string(v))
    }
    fn num(&mut self, k: &str, v: f64) -> &mut Self {
        self.raw(k, num(v))
    }
    /// `k = v` unless `v` is the default (a value equal to it, or `-0.0` for `0.0`, reads back equal).
    fn num_unless(&mut self, k: &str, v: f64, default: f64) -> &mut Self {
        if v != default {
            self.num(k, v);
        }
        self
    }
    fn opt_num(&mut self, k: &str, v: Option<f64>) -> &mut Self {
        if let Some(v) = v {
            self.num(k, v);
        }
        self
    }
    fn lines(&self, out: &mut String) {
        for (k, v) in &self.items {
            let _ = writeln!(out, "{k} = {v}");
        }
    }
    fn inline(&self) -> String {
        let body: Vec<String> = self
            .items
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        format!("{{ {} }}", body.join(", "))
    }
}

/// A curve's `curve = "…"` and its parameters (docs/liquidity.md), defaults omitted.
fn curve_fields(c: &CurveSpec, l: &mut Kv) {
    match c {
        &CurveSpec::ConstantProduct(PoolDepth { base, quote, fee }) => {
            l.str("curve", "constant_product")
                .num("base", base)
                .num("quote", quote)
                .num_unless("fee", fee, 0.0);
        }
        &CurveSpec::StableSwap {
            amplification,
            depth: PoolDepth { base, quote, fee },
        } => {
            l.str("curve", "stableswap")
                .num("amplification", amplification)
                .num("base", base)
                .num("quote", quote)
                .num_unless("fee", fee, 0.0);
        }
        &CurveSpec::PowerLaw { adv_usd, k, alpha } => {
            l.str("curve", "power_law")
                .num("adv_usd", adv_usd)
                .num("k", k)
                .num("alpha", alpha);
        }
        CurveSpec::Concentrated(c) => {
            let ranges: Vec<String> = c
                .ranges
                .iter()
                .map(|r| format!("[{}, {}, {}]", num(r.lower), num(r.upper), num(r.liquidity)))
                .collect();
            l.str("curve", "concentrated")
                .num("price", c.price)
                .num_unless("fee", c.fee, 0.0)
                .raw("ranges", format!("[{}]", ranges.join(", ")));
        }
    }
}

/// A pool's `mechanism = { … }` keys that differ from their defaults (docs/mechanisms.md#parameters).
fn mechanism_fields(m: &MechanismParams) -> Kv {
    let d = MechanismParams::default();
    let mut k = Kv::default();
    k.num_unless("round_seconds", m.round_seconds, d.round_seconds)
        .num_unless("buf", m.dutch.buf, d.dutch.buf)
        .num_unless("tail", m.dutch.tail_seconds, d.dutch.tail_seconds)
        .num_unless("cusp", m.dutch.cusp, d.dutch.cusp)
        .num_unless("chop", m.dutch.chop, d.dutch.chop)
        .num_unless("cut", m.dutch.cut, d.dutch.cut)
        .num_unless("step", m.dutch.step_seconds, d.dutch.step_seconds)
        .num_unless("amplification", m.soft.amplification, d.soft.amplification)
        .num_unless("bands", f64::from(m.soft.bands), f64::from(d.soft.bands))
        .num_unless(
            "liquidation_discount",
            m.soft.liquidation_discount,
            d.soft.liquidation_discount,
        )
        .num_unless(
            "oracle_ema_seconds",
            m.soft.oracle_ema_seconds,
            d.soft.oracle_ema_seconds,
        )
        .num_unless(
            "liquidation_factor",
            m.absorb.liquidation_factor,
            d.absorb.liquidation_factor,
        )
        .num_unless(
            "store_front_price_factor",
            m.absorb.store_front_price_factor,
            d.absorb.store_front_price_factor,
        );
    k
}

fn str_array<'x>(items: impl Iterator<Item = &'x str>) -> String {
    let v: Vec<String> = items.map(string).collect();
    format!("[{}]", v.join(", "))
}

/// The snapshot as TOML that the model's loader reads back to an equal snapshot (apart from
/// `source` and line numbers): top-level keys (`name`, `positions = [...]` naming `position_files`),
/// then every `[[asset]]`, `[[correlation]]`, `[[protocol]]` (with `[[protocol.reserve]]`,
/// `[[protocol.emode]]`, `[[protocol.vault_type]]`, or a clearinghouse's `[[protocol.market]]` and
/// `[protocol.options]`) and, if `include_accounts`, every `[[account]]` with its `collateral`,
/// `debt`, `emode`, `vault_type`, `margin_mode` (unless cross), `perps` and `options`. Optional
/// fields are written only when set or different from their default.
///
/// An account's positions are grouped by side in their order; several positions of one account in
/// the same asset and side (possible from position files) are summed into one entry. Its perps and
/// options keep their order.
pub fn snapshot_to_toml(s: &Snapshot, position_files: &[&str], include_accounts: bool) -> String {
    let mut out = String::new();
    let asset_id = |i: usize| s.assets[i].id.as_str();
    let mut top = Kv::default();
    top.str("name", &s.name);
    if !position_files.is_empty() {
        top.raw("positions", str_array(position_files.iter().copied()));
    }
    top.lines(&mut out);

    for a in &s.assets {
        out.push_str("\n[[asset]]\n");
        let mut t = Kv::default();
        t.str("id", &a.id).str("kind", a.kind.name());
        t.opt_num("price", a.price);
        t.num_unless("volatility", a.volatility, 0.0);
        if let Some(u) = a.underlying {
            t.str("underlying", asset_id(u));
        }
        t.num_unless("rate", a.rate, 1.0);
        t.num_unless("discount", a.discount, 1.0);
        if let Some(p) = a.issuer {
            t.str("issuer", &s.protocols[p].id);
        }
        t.num_unless("bridge_loss", a.bridge_loss, 0.0);
        let mut l = Kv::default();
        if let Some(p) = a.liquidity.pool {
            l.str("curve", "amm").str("pool", &s.protocols[p].id);
            t.raw("liquidity", l.inline());
            t.lines(&mut out);
            continue;
        }
        curve_fields(&a.liquidity.curve, &mut l);
        if let Some(q) = a.liquidity.quote_asset {
            l.str("quote_asset", asset_id(q));
        }
        t.raw("liquidity", l.inline());
        t.lines(&mut out);
    }

    for c in &s.correlations {
        out.push_str("\n[[correlation]]\n");
        let rows: Vec<String> = c
            .matrix
            .iter()
            .map(|r| {
                let cells: Vec<String> = r.iter().map(|&x| num(x)).collect();
                format!("[{}]", cells.join(", "))
            })
            .collect();
        let mut t = Kv::default();
        t.raw("assets", str_array(c.assets.iter().map(|&a| asset_id(a))))
            .raw("matrix", format!("[{}]", rows.join(", ")));
        t.lines(&mut out);
    }

    for p in &s.protocols {
        out.push_str("\n[[protocol]]\n");
        let mut t = Kv::default();
        t.str("id", &p.id).str("kind", p.kind.name());
        match &p.params {
            ProtocolParams::Lending(l) => {
                t.num_unless("close_factor", l.close_factor, 0.5)
                    .num_unless(
                        "close_factor_full_below_hf",
                        l.close_factor_full_below_hf,
                        0.95,
                    )
                    .num_unless("full_close_factor", l.full_close_factor, 1.0)
                    .num_unless(
                        "liquidator_cost_usd",
                        l.liquidator_cost_usd,
                        LendingParams::DEFAULT_LIQUIDATOR_COST_USD,
                    );
                if l.health_factor_rule != HealthFactorRule::Exact {
                    t.raw(
                        "health_factor",
                        format!("\"{}\"", l.health_factor_rule.name()),
                    );
                }
                if l.liquidation_rules != LiquidationRuleSet::AaveV3 {
                    t.raw(
                        "liquidation_rules",
                        format!("\"{}\"", l.liquidation_rules.name()),
                    );
                }
                if l.liquidators_buy_debt {
                    t.raw("liquidators_buy_debt", "true".into());
                }
                t.opt_num("diversification_cap", l.diversification_cap);
                if l.liquidation_mechanism != LiquidationMechanism::FixedBonus {
                    t.raw(
                        "liquidation_mechanism",
                        format!("\"{}\"", l.liquidation_mechanism.name()),
                    );
                }
                let mechanism = mechanism_fields(&l.mechanism);
                if !mechanism.items.is_empty() {
                    t.raw("mechanism", mechanism.inline());
                }
            }
            ProtocolParams::Bridge(b) => {
                t.str("bridged", asset_id(b.bridged))
                    .str("underlying", asset_id(b.underlying))
                    .num("locked", b.locked);
            }
            ProtocolParams::Cdp(c) => {
                t.str("stable", asset_id(c.stable))
                    .num_unless("surplus_buffer_usd", c.surplus_buffer_usd, 0.0)
                    .num_unless("auction_efficiency", c.auction_efficiency, 1.0);
                if c.zero_bid_when_illiquid {
                    t.raw("zero_bid_when_illiquid", "true".into());
                }
                if let Some((a, q)) = c.psm {
                    let mut m = Kv::default();
                    m.str("asset", asset_id(a)).num("amount", q);
                    t.raw("psm", m.inline());
                }
            }
            ProtocolParams::Amm(m) => {
                match m.invariant {
                    AmmInvariant::ConstantProduct => {
                        t.str("invariant", "constant_product");
                    }
                    AmmInvariant::StableSwap => {
                        t.str("invariant", "stableswap")
                            .num("amplification", m.amplification);
                    }
                }
                t.num_unless("fee", m.fee, 0.0)
                    .str("lp_asset", asset_id(m.lp_asset))
                    .opt_num("lp_supply", m.lp_supply);
                let mut r = Kv::default();
                for &(a, q) in &m.reserves {
                    r.num(asset_id(a), q);
                }
                t.raw("reserves", r.inline());
            }
            ProtocolParams::Algostable(a) => {
                t.str("stable", asset_id(a.stable))
                    .str("absorber", asset_id(a.absorber))
                    .num(
                        "redemption_cap_usd_per_round",
                        a.redemption_cap_usd_per_round,
                    )
                    .num("panic_backing", a.panic_backing)
                    .num("floor", a.floor)
                    .num("stable_supply", a.stable_supply)
                    .num("absorber_supply", a.absorber_supply);
            }
            ProtocolParams::Clearinghouse(c) => write_clearinghouse_fields(c, s, &mut t),
        }
        let br = &p.breakers;
        if br.pause_liquidations_on_drop.is_some() || br.freeze_borrowing_on_deviation.is_some() {
            let mut b = Kv::default();
            b.opt_num("pause_liquidations_on_drop", br.pause_liquidations_on_drop)
                .opt_num(
                    "freeze_borrowing_on_deviation",
                    br.freeze_borrowing_on_deviation,
                );
            t.raw("breakers", b.inline());
        }
        if !p.insurance_fund.is_empty() {
            let mut f = Kv::default();
            for &(a, x) in &p.insurance_fund {
                f.num(asset_id(a), x);
            }
            t.raw("insurance_fund", f.inline());
        }
        t.lines(&mut out);
        match &p.params {
            ProtocolParams::Bridge(_) | ProtocolParams::Amm(_) | ProtocolParams::Algostable(_) => {}
            ProtocolParams::Clearinghouse(c) => write_clearinghouse_tables(c, s, &mut out),
            ProtocolParams::Cdp(c) => {
                for v in &c.vault_types {
                    out.push_str("[[protocol.vault_type]]\n");
                    let mut t = Kv::default();
                    t.str("id", &v.id)
                        .str("collateral", asset_id(v.collateral))
                        .num("liquidation_ratio", v.liquidation_ratio)
                        .num_unless("liquidation_penalty", v.liquidation_penalty, 0.0)
                        .opt_num("debt_ceiling", v.debt_ceiling)
                        .num_unless("dust", v.dust, 0.0);
                    t.lines(&mut out);
                }
            }
            ProtocolParams::Lending(l) => {
                for r in &l.reserves {
                    out.push_str("[[protocol.reserve]]\n");
                    let mut t = Kv::default();
                    t.str("asset", asset_id(r.asset))
                        .num("ltv", r.ltv)
                        .num("liquidation_threshold", r.liquidation_threshold)
                        .num("liquidation_bonus", r.liquidation_bonus)
                        .num_unless("liquidation_protocol_fee", r.liquidation_protocol_fee, 0.0)
                        .num_unless("reserve_factor", r.reserve_factor, 0.0)
                        .opt_num("supply_cap", r.supply_cap)
                        .opt_num("borrow_cap", r.borrow_cap);
                    if !r.collateral_enabled {
                        t.raw("collateral_enabled", "false".into());
                    }
                    if !r.borrowable {
                        t.raw("borrowable", "false".into());
                    }
                    t.opt_num("debt_ceiling", r.debt_ceiling_usd)
                        .opt_num("supplied", r.supplied)
                        .opt_num("diversification_cap", r.diversification_cap);
                    t.lines(&mut out);
                }
                for e in &l.emode {
                    out.push_str("[[protocol.emode]]\n");
                    let mut t = Kv::default();
                    t.str("id", &e.id)
                        .num("ltv", e.ltv)
                        .num("liquidation_threshold", e.liquidation_threshold)
                        .num("liquidation_bonus", e.liquidation_bonus)
                        .raw("assets", str_array(e.assets.iter().map(|&a| asset_id(a))));
                    t.lines(&mut out);
                }
            }
        }
    }

    if include_accounts {
        write_accounts(s, &mut out);
    }
    out
}

/// `[[account]]` tables, one per account in index order.
fn write_accounts(s: &Snapshot, out: &mut String) {
    let n = s.accounts.len();
    let (start, order) = group_by_account(&s.positions.account, n);
    let (perp_start, perp_order) = group_by_account(&s.perps.account, n);
    let (option_start, option_order) = group_by_account(&s.options.account, n);
    let mut entries: Vec<(u32, f64)> = Vec::new();
    for acc in 0..n {
        let p = s.accounts.protocol[acc] as usize;
        let protocol = &s.protocols[p];
        out.push_str("\n[[account]]\n");
        let mut t = Kv::default();
        t.str("id", &s.accounts.id[acc])
            .str("protocol", &protocol.id);
        if let Some(v) = s.accounts.vault_type[acc] {
            if let Some(vt) = protocol
                .cdp()
                .and_then(|c| c.vault_types.get(usize::from(v)))
            {
                t.str("vault_type", &vt.id);
            }
        }
        if let Some(e) = s.accounts.emode[acc] {
            if let Some(c) = protocol.lending().and_then(|l| l.emode.get(usize::from(e))) {
                t.str("emode", &c.id);
            }
        }
        let rows = &order[start[acc]..start[acc + 1]];
        for side in [Side::Collateral, Side::Debt] {
            entries.clear();
            for &i in rows {
                if s.positions.side[i] != side {
                    continue;
                }
                let (a, x) = (s.positions.asset[i], s.positions.amount[i]);
                match entries.iter_mut().find(|(b, _)| *b == a) {
                    Some((_, y)) => *y += x,
                    None => entries.push((a, x)),
                }
            }
            if !entries.is_empty() {
                let mut kv = Kv::default();
                for &(a, x) in &entries {
                    kv.num(&s.assets[a as usize].id, x);
                }
                t.raw(side.name(), kv.inline());
            }
        }
        if s.accounts.margin_mode[acc] != MarginMode::Cross {
            t.str("margin_mode", s.accounts.margin_mode[acc].name());
        }
        if let Some(ch) = protocol.clearinghouse() {
            let perps: Vec<String> = perp_order[perp_start[acc]..perp_start[acc + 1]]
                .iter()
                .filter_map(|&i| {
                    let m = ch.markets.get(usize::from(s.perps.market[i]))?;
                    let mut kv = Kv::default();
                    kv.str("market", &m.id)
                        .num("size", s.perps.size[i])
                        .num("entry_price", s.perps.entry_price[i]);
                    Some(kv.inline())
                })
                .collect();
            if !perps.is_empty() {
                t.raw("perps", format!("[{}]", perps.join(", ")));
            }
            let o = &s.options;
            let options: Vec<String> = option_order[option_start[acc]..option_start[acc + 1]]
                .iter()
                .map(|&i| {
                    let mut kv = Kv::default();
                    kv.str("underlying", &s.assets[o.underlying[i] as usize].id)
                        .str("kind", o.kind[i].name())
                        .num("strike", o.strike[i])
                        .num("expiry_days", o.expiry_days[i])
                        .num("size", o.size[i]);
                    kv.inline()
                })
                .collect();
            if !options.is_empty() {
                t.raw("options", format!("[{}]", options.join(", ")));
            }
        }
        t.lines(out);
    }
}

/// Rows grouped by account in row order (a counting sort): the rows of account `a` are
/// `order[start[a]..start[a + 1]]`.
fn group_by_account(account: &[u32], n: usize) -> (Vec<usize>, Vec<usize>) {
    let mut start = vec![0usize; n + 1];
    for &a in account {
        start[a as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut order = vec![0usize; account.len()];
    for (i, &a) in account.iter().enumerate() {
        order[fill[a as usize]] = i;
        fill[a as usize] += 1;
    }
    (start, order)
}

/// The clearinghouse's top-level fields (docs/clearinghouse.md, docs/formats.md): `collateral` and `liabilities` as arrays of
/// `{ asset, initial_weight, maintenance_weight }`, then `loss_mode`, `pnl_initial_weight`,
/// `pnl_maintenance_weight` and `insurance_fee_share` unless at the loader's defaults (`socialise`,
/// 1, 1, 0.5).
fn write_clearinghouse_fields(c: &cascade_model::ClearinghouseParams, s: &Snapshot, t: &mut Kv) {
    let weights = |rows: &mut dyn Iterator<Item = (usize, f64, f64)>| -> String {
        let items: Vec<String> = rows
            .map(|(a, i, m)| {
                let mut w = Kv::default();
                w.str("asset", &s.assets[a].id)
                    .num("initial_weight", i)
                    .num("maintenance_weight", m);
                w.inline()
            })
            .collect();
        format!("[{}]", items.join(", "))
    };
    for (key, list) in [
        ("collateral", &c.collateral),
        ("liabilities", &c.liabilities),
    ] {
        if !list.is_empty() {
            let mut rows = list
                .iter()
                .map(|w| (w.asset, w.initial_weight, w.maintenance_weight));
            t.raw(key, weights(&mut rows));
        }
    }
    if c.loss_mode == LossMode::Adl {
        t.str("loss_mode", "adl");
    }
    t.num_unless("pnl_initial_weight", c.pnl_initial_weight, 1.0)
        .num_unless("pnl_maintenance_weight", c.pnl_maintenance_weight, 1.0)
        .num_unless("insurance_fee_share", c.insurance_fee_share, 0.5);
}

/// The clearinghouse's tables: every `[[protocol.market]]` (`oracle` only if not spot:
/// `{ kind = "thin_venue", curve = { … } }` or `{ kind = "lagged", delay_rounds = N }`), then
/// `[protocol.options]` unless every field is at its default and there is no smile.
fn write_clearinghouse_tables(
    c: &cascade_model::ClearinghouseParams,
    s: &Snapshot,
    out: &mut String,
) {
    for m in &c.markets {
        out.push_str("[[protocol.market]]\n");
        let mut t = Kv::default();
        t.str("id", &m.id)
            .str("underlying", &s.assets[m.underlying].id)
            .num("imr", m.imr)
            .num("mmr", m.mmr)
            .num_unless("liquidation_fee", m.liquidation_fee, 0.0)
            .num_unless("imf_factor", m.imf_factor, 0.0);
        match &m.oracle {
            OracleSpec::Spot => {}
            OracleSpec::ThinVenue { curve } => {
                let mut cv = Kv::default();
                curve_fields(curve, &mut cv);
                let mut o = Kv::default();
                o.str("kind", "thin_venue").raw("curve", cv.inline());
                t.raw("oracle", o.inline());
            }
            OracleSpec::Lagged { delay_rounds } => {
                let mut o = Kv::default();
                o.str("kind", "lagged")
                    .raw("delay_rounds", delay_rounds.to_string());
                t.raw("oracle", o.inline());
            }
        }
        t.lines(out);
    }
    let o = &c.options;
    let d = OptionsParams::default();
    let mut t = Kv::default();
    t.num_unless("underlying_moves", o.underlying_moves, d.underlying_moves);
    if o.price_steps != d.price_steps {
        t.raw("price_steps", o.price_steps.to_string());
    }
    t.num_unless("vol_shock", o.vol_shock, d.vol_shock)
        .num_unless("floor", o.floor, d.floor)
        .num_unless(
            "initial_multiplier",
            o.initial_multiplier,
            d.initial_multiplier,
        )
        .num_unless("rate", o.rate, d.rate)
        .num_unless("liquidation_fee", o.liquidation_fee, d.liquidation_fee);
    if !o.smile.is_empty() {
        let mut sm = Kv::default();
        for x in &o.smile {
            let mut v = Kv::default();
            v.num("atm", x.atm)
                .num_unless("skew", x.skew, 0.0)
                .num_unless("curvature", x.curvature, 0.0);
            sm.raw(&s.assets[x.underlying].id, v.inline());
        }
        t.raw("smile", sm.inline());
    }
    if !t.items.is_empty() {
        out.push_str("[protocol.options]\n");
        t.lines(out);
    }
}
