//! Writing snapshots (TOML) and position files (CSV, Parquet) that [`crate::load`] reads back exactly.
//!
//! Every writer goes through [`write_atomic_with`]: the bytes go to a temporary file in the target's
//! folder, which is synced and renamed into place, so a failure never leaves a half-written file.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, StringBuilder, StringDictionaryBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, DictionaryArray, Float64Array, Int32Array, RecordBatch, StringArray, UInt32Array,
    UInt64Array,
};
use arrow_schema::{ArrowError, DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

use crate::load::{DERIVATIVE_COLUMNS, OPTION_INSTRUMENT, VAULT_TYPE_COLUMN};
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

use cascade_model::{
    AmmInvariant, CurveSpec, LossMode, MarginMode, OptionsParams, OracleSpec, ProtocolParams, Side,
    Snapshot,
};

/// Rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 1 << 20;
/// Buffer size of the writers.
const BUFFER_BYTES: usize = 1 << 20;

/// A write that failed, naming the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    #[error("{}: cannot write: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: cannot write Parquet: {source}", path.display())]
    Parquet {
        path: PathBuf,
        #[source]
        source: ParquetError,
    },
    #[error("{}: cannot build the Arrow columns: {source}", path.display())]
    Arrow {
        path: PathBuf,
        #[source]
        source: ArrowError,
    },
    #[error("{}: cannot write CSV: {source}", path.display())]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The writer handed to [`write_atomic_with`]'s closure: a buffered temporary file.
pub type AtomicWriter<'f> = BufWriter<&'f File>;

/// Runs `fill` on a temporary file in `path`'s folder, then syncs it and renames it to `path`. If
/// `fill` or any step fails, the temporary file is removed and `path` is left as it was.
pub fn write_atomic_with<F>(path: &Path, fill: F) -> Result<(), WriteError>
where
    F: FnOnce(&mut AtomicWriter<'_>) -> Result<(), WriteError>,
{
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io_err(path))?;
    {
        let mut w = BufWriter::with_capacity(BUFFER_BYTES, tmp.as_file());
        fill(&mut w)?;
        w.flush().map_err(io_err(path))?;
    }
    tmp.as_file().sync_all().map_err(io_err(path))?;
    tmp.persist(path).map_err(|e| io_err(path)(e.error))?;
    Ok(())
}

/// Writes `bytes` to `path` atomically (see [`write_atomic_with`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_with(path, |w| w.write_all(bytes).map_err(io_err(path)))
}

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

/// A curve's `curve = "…"` and its parameters (DESIGN §3), defaults omitted.
fn curve_fields(c: &CurveSpec, l: &mut Kv) {
    match *c {
        CurveSpec::ConstantProduct { base, quote, fee } => {
            l.str("curve", "constant_product")
                .num("base", base)
                .num("quote", quote)
                .num_unless("fee", fee, 0.0);
        }
        CurveSpec::StableSwap {
            amplification,
            base,
            quote,
            fee,
        } => {
            l.str("curve", "stableswap")
                .num("amplification", amplification)
                .num("base", base)
                .num("quote", quote)
                .num_unless("fee", fee, 0.0);
        }
        CurveSpec::PowerLaw { adv_usd, k, alpha } => {
            l.str("curve", "power_law")
                .num("adv_usd", adv_usd)
                .num("k", k)
                .num("alpha", alpha);
        }
    }
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
                    .num_unless("liquidator_cost_usd", l.liquidator_cost_usd, 0.0);
                if l.liquidators_buy_debt {
                    t.raw("liquidators_buy_debt", "true".into());
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
                        .opt_num("supplied", r.supplied);
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

fn dict_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// The Arrow schema of a position file as written: `protocol, account, asset, side` (Utf8, all but
/// `account` dictionary-encoded), `amount` (Float64), `emode` (nullable, dictionary-encoded Utf8).
pub fn positions_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("protocol", dict_type(), false),
        Field::new("account", DataType::Utf8, false),
        Field::new("asset", dict_type(), false),
        Field::new("side", dict_type(), false),
        Field::new("amount", DataType::Float64, false),
        Field::new("emode", dict_type(), true),
    ]))
}

/// The e-mode id of every (protocol, category) as one dictionary: `offset[p] + category`.
struct EModeDict {
    offset: Vec<i32>,
    values: ArrayRef,
}

impl EModeDict {
    fn new(s: &Snapshot) -> Self {
        let mut offset = Vec::with_capacity(s.protocols.len());
        let mut ids: Vec<&str> = Vec::new();
        for p in &s.protocols {
            offset.push(ids.len() as i32);
            if let Some(l) = p.lending() {
                ids.extend(l.emode.iter().map(|c| c.id.as_str()));
            }
        }
        EModeDict {
            offset,
            values: Arc::new(StringArray::from(ids)),
        }
    }
}

/// Positions `range` as an Arrow batch of [`positions_schema`].
fn positions_batch(
    s: &Snapshot,
    range: std::ops::Range<usize>,
    emode: &EModeDict,
) -> Result<RecordBatch, ArrowError> {
    let pos = &s.positions;
    let acc = &pos.account[range.clone()];
    let protocol_values: ArrayRef = Arc::new(StringArray::from_iter_values(
        s.protocols.iter().map(|p| p.id.as_str()),
    ));
    let asset_values: ArrayRef = Arc::new(StringArray::from_iter_values(
        s.assets.iter().map(|a| a.id.as_str()),
    ));
    let side_values: ArrayRef = Arc::new(StringArray::from_iter_values(
        [Side::Collateral, Side::Debt].map(Side::name),
    ));
    let protocol = DictionaryArray::try_new(
        Int32Array::from_iter_values(acc.iter().map(|&a| s.accounts.protocol[a as usize] as i32)),
        protocol_values,
    )?;
    let bytes: usize = acc.iter().map(|&a| s.accounts.id[a as usize].len()).sum();
    let mut account = StringBuilder::with_capacity(acc.len(), bytes);
    for &a in acc {
        account.append_value(&s.accounts.id[a as usize]);
    }
    let asset = DictionaryArray::try_new(
        Int32Array::from_iter_values(pos.asset[range.clone()].iter().map(|&a| a as i32)),
        asset_values,
    )?;
    let side = DictionaryArray::try_new(
        Int32Array::from_iter_values(
            pos.side[range.clone()]
                .iter()
                .map(|&sd| i32::from(sd == Side::Debt)),
        ),
        side_values,
    )?;
    let amount = Float64Array::from(pos.amount[range].to_vec());
    let em = DictionaryArray::try_new(
        Int32Array::from_iter(acc.iter().map(|&a| {
            let a = a as usize;
            s.accounts.emode[a]
                .map(|e| emode.offset[s.accounts.protocol[a] as usize] + i32::from(e))
        })),
        emode.values.clone(),
    )?;
    RecordBatch::try_new(
        positions_schema(),
        vec![
            Arc::new(protocol),
            Arc::new(account.finish()),
            Arc::new(asset),
            Arc::new(side),
            Arc::new(amount),
            Arc::new(em),
        ],
    )
}

/// Which optional columns a position file of a snapshot needs.
#[derive(Clone, Copy)]
struct Layout {
    /// Some account has a CDP vault type: the `vault_type` column.
    vault_type: bool,
    /// Some account has a perp, an option or a margin mode other than cross: the derivative columns
    /// `instrument, size, entry_price, strike, expiry_days, option_kind, margin_mode`.
    derivatives: bool,
}

impl Layout {
    fn of(s: &Snapshot) -> Layout {
        Layout {
            vault_type: s.accounts.vault_type.iter().any(Option::is_some),
            derivatives: !s.perps.is_empty()
                || !s.options.is_empty()
                || s.accounts
                    .margin_mode
                    .iter()
                    .any(|m| *m != MarginMode::Cross),
        }
    }
    fn plain(self) -> bool {
        !self.vault_type && !self.derivatives
    }
    /// The header, in column order.
    fn columns(self) -> Vec<&'static str> {
        let mut c = vec!["protocol", "account", "asset", "side", "amount", "emode"];
        if self.vault_type {
            c.push(VAULT_TYPE_COLUMN);
        }
        if self.derivatives {
            c.extend(DERIVATIVE_COLUMNS);
        }
        c
    }
}

/// One row of a position file as written: spot positions first, then perps, then options
/// (row `r` < positions is a spot row, then `r − positions` < perps a perp row, else an option row).
struct OutRow<'s> {
    account: usize,
    asset: Option<&'s str>,
    side: Option<&'static str>,
    amount: Option<f64>,
    instrument: Option<&'s str>,
    size: Option<f64>,
    entry_price: Option<f64>,
    strike: Option<f64>,
    expiry_days: Option<f64>,
    option_kind: Option<&'static str>,
}

fn out_rows(s: &Snapshot) -> usize {
    s.positions.len() + s.perps.len() + s.options.len()
}

fn out_row(s: &Snapshot, r: usize) -> OutRow<'_> {
    let empty = |account: usize| OutRow {
        account,
        asset: None,
        side: None,
        amount: None,
        instrument: None,
        size: None,
        entry_price: None,
        strike: None,
        expiry_days: None,
        option_kind: None,
    };
    let (np, nf) = (s.positions.len(), s.perps.len());
    if r < np {
        let p = &s.positions;
        OutRow {
            asset: Some(s.assets[p.asset[r] as usize].id.as_str()),
            side: Some(p.side[r].name()),
            amount: Some(p.amount[r]),
            ..empty(p.account[r] as usize)
        }
    } else if r < np + nf {
        let j = r - np;
        let f = &s.perps;
        let a = f.account[j] as usize;
        let market = s.protocols[s.accounts.protocol[a] as usize]
            .clearinghouse()
            .and_then(|c| c.markets.get(usize::from(f.market[j])))
            .map(|m| m.id.as_str());
        OutRow {
            instrument: market,
            size: Some(f.size[j]),
            entry_price: Some(f.entry_price[j]),
            ..empty(a)
        }
    } else {
        let k = r - np - nf;
        let o = &s.options;
        OutRow {
            asset: Some(s.assets[o.underlying[k] as usize].id.as_str()),
            instrument: Some(OPTION_INSTRUMENT),
            size: Some(o.size[k]),
            strike: Some(o.strike[k]),
            expiry_days: Some(o.expiry_days[k]),
            option_kind: Some(o.kind[k].name()),
            ..empty(o.account[k] as usize)
        }
    }
}

/// The account-level cells of account `a`: protocol, account, e-mode, vault type and margin mode
/// (`None` for none or cross).
fn account_cells(s: &Snapshot, a: usize) -> [Option<&str>; 5] {
    let p = &s.protocols[s.accounts.protocol[a] as usize];
    let emode = s.accounts.emode[a]
        .and_then(|e| p.lending().and_then(|l| l.emode.get(usize::from(e))))
        .map(|c| c.id.as_str());
    let vault = s.accounts.vault_type[a]
        .and_then(|v| p.cdp().and_then(|c| c.vault_types.get(usize::from(v))))
        .map(|v| v.id.as_str());
    let mode = s.accounts.margin_mode[a];
    [
        Some(p.id.as_str()),
        Some(s.accounts.id[a].as_str()),
        emode,
        vault,
        (mode != MarginMode::Cross).then(|| mode.name()),
    ]
}

/// The Arrow schema of a position file of `s` as written: [`positions_schema`] if no account has a
/// vault type or derivatives; otherwise also `vault_type` (if any) and the derivative columns
/// (strings dictionary-encoded, numbers Float64), every column but `protocol` and `account` nullable.
pub fn positions_schema_for(s: &Snapshot) -> Arc<Schema> {
    let layout = Layout::of(s);
    if layout.plain() {
        return positions_schema();
    }
    let fields: Vec<Field> = layout
        .columns()
        .into_iter()
        .map(|c| {
            let number = matches!(
                c,
                "amount" | "size" | "entry_price" | "strike" | "expiry_days"
            );
            let t = match (c, number) {
                ("account", _) => DataType::Utf8,
                (_, true) => DataType::Float64,
                _ => dict_type(),
            };
            Field::new(c, t, !matches!(c, "protocol" | "account"))
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Rows `range` (see [`out_row`]) as an Arrow batch of `schema` ([`positions_schema_for`]).
fn extended_batch(
    s: &Snapshot,
    range: std::ops::Range<usize>,
    layout: Layout,
    schema: &Arc<Schema>,
) -> Result<RecordBatch, ArrowError> {
    let n = range.len();
    let dict = || StringDictionaryBuilder::<Int32Type>::with_capacity(n, 64, 1024);
    let (mut protocol, mut asset, mut side, mut emode, mut vault) =
        (dict(), dict(), dict(), dict(), dict());
    let (mut instrument, mut kind, mut mode) = (dict(), dict(), dict());
    let mut account = StringBuilder::with_capacity(n, n * 12);
    let num = || Float64Builder::with_capacity(n);
    let (mut amount, mut size, mut entry, mut strike, mut expiry) =
        (num(), num(), num(), num(), num());
    for r in range {
        let o = out_row(s, r);
        let [p, acc, em, vt, mm] = account_cells(s, o.account);
        protocol.append_option(p);
        account.append_option(acc);
        asset.append_option(o.asset);
        side.append_option(o.side);
        amount.append_option(o.amount);
        emode.append_option(em);
        vault.append_option(vt);
        instrument.append_option(o.instrument);
        size.append_option(o.size);
        entry.append_option(o.entry_price);
        strike.append_option(o.strike);
        expiry.append_option(o.expiry_days);
        kind.append_option(o.option_kind);
        mode.append_option(mm);
    }
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(protocol.finish()),
        Arc::new(account.finish()),
        Arc::new(asset.finish()),
        Arc::new(side.finish()),
        Arc::new(amount.finish()),
        Arc::new(emode.finish()),
    ];
    if layout.vault_type {
        cols.push(Arc::new(vault.finish()));
    }
    if layout.derivatives {
        cols.push(Arc::new(instrument.finish()));
        cols.push(Arc::new(size.finish()));
        cols.push(Arc::new(entry.finish()));
        cols.push(Arc::new(strike.finish()));
        cols.push(Arc::new(expiry.finish()));
        cols.push(Arc::new(kind.finish()));
        cols.push(Arc::new(mode.finish()));
    }
    RecordBatch::try_new(schema.clone(), cols)
}

/// Writes the snapshot's positions as a Parquet file of [`positions_schema_for`] (snappy, row groups
/// of [`ROW_GROUP_ROWS`] rows), atomically: one row per position in their order, then (if any) one
/// per perp and one per option in the derivative-row grammar of [`crate::load`], every row of an
/// account carrying its margin mode unless cross, and its vault type if the file has that column.
pub fn write_positions_parquet(path: &Path, s: &Snapshot) -> Result<(), WriteError> {
    let pq = |source| WriteError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let arrow = |source| WriteError::Arrow {
        path: path.to_path_buf(),
        source,
    };
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build();
    let layout = Layout::of(s);
    let schema = positions_schema_for(s);
    let emode = EModeDict::new(s);
    let n = if layout.plain() {
        s.positions.len()
    } else {
        out_rows(s)
    };
    write_atomic_with(path, |w| {
        let mut writer = ArrowWriter::try_new(w, schema.clone(), Some(props)).map_err(pq)?;
        let mut lo = 0;
        while lo < n {
            let hi = (lo + ROW_GROUP_ROWS).min(n);
            let batch = if layout.plain() {
                positions_batch(s, lo..hi, &emode)
            } else {
                extended_batch(s, lo..hi, layout, &schema)
            }
            .map_err(arrow)?;
            writer.write(&batch).map_err(pq)?;
            lo = hi;
        }
        writer.close().map_err(pq)?;
        Ok(())
    })
}

/// Writes the snapshot's positions as CSV, atomically: the header `protocol,account,asset,side,
/// amount,emode`, then `vault_type` if some account has one and the derivative columns if some
/// account has derivatives or a margin mode other than cross; rows as in
/// [`write_positions_parquet`], numbers in shortest round-trip form, empty cells for none.
pub fn write_positions_csv(path: &Path, s: &Snapshot) -> Result<(), WriteError> {
    let csv_err = |source| WriteError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let layout = Layout::of(s);
    write_atomic_with(path, |w| {
        let mut wtr = csv::WriterBuilder::new().from_writer(w);
        wtr.write_record(layout.columns()).map_err(csv_err)?;
        let mut nums = [
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ];
        for r in 0..out_rows(s) {
            let o = out_row(s, r);
            let [p, acc, em, vt, mm] = account_cells(s, o.account);
            for (buf, x) in
                nums.iter_mut()
                    .zip([o.amount, o.size, o.entry_price, o.strike, o.expiry_days])
            {
                buf.clear();
                if let Some(x) = x {
                    let _ = write!(buf, "{x:?}");
                }
            }
            let [amount, size, entry, strike, expiry] = &nums;
            let mut record: Vec<&str> = Vec::with_capacity(14);
            record.extend([
                p.unwrap_or(""),
                acc.unwrap_or(""),
                o.asset.unwrap_or(""),
                o.side.unwrap_or(""),
                amount.as_str(),
                em.unwrap_or(""),
            ]);
            if layout.vault_type {
                record.push(vt.unwrap_or(""));
            }
            if layout.derivatives {
                record.extend([
                    o.instrument.unwrap_or(""),
                    size.as_str(),
                    entry.as_str(),
                    strike.as_str(),
                    expiry.as_str(),
                    o.option_kind.unwrap_or(""),
                    mm.unwrap_or(""),
                ]);
            }
            wtr.write_record(&record).map_err(csv_err)?;
        }
        wtr.flush().map_err(io_err(path))?;
        Ok(())
    })
}

/// One column of a table written by [`write_table_parquet`].
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    UInt64(Vec<u64>),
    UInt32(Vec<u32>),
    Float64(Vec<f64>),
}

impl Column {
    fn data_type(&self) -> DataType {
        match self {
            Column::UInt64(_) => DataType::UInt64,
            Column::UInt32(_) => DataType::UInt32,
            Column::Float64(_) => DataType::Float64,
        }
    }

    fn array(&self) -> ArrayRef {
        match self {
            Column::UInt64(v) => Arc::new(UInt64Array::from(v.clone())),
            Column::UInt32(v) => Arc::new(UInt32Array::from(v.clone())),
            Column::Float64(v) => Arc::new(Float64Array::from(v.clone())),
        }
    }
}

/// Writes a table of named `Float64` columns (all of one length) as Parquet, atomically.
pub fn write_f64_table_parquet(
    path: &Path,
    columns: &[(String, Vec<f64>)],
) -> Result<(), WriteError> {
    let typed: Vec<(String, Column)> = columns
        .iter()
        .map(|(name, v)| (name.clone(), Column::Float64(v.clone())))
        .collect();
    write_table_parquet(path, &typed)
}

/// Writes a table of named, typed columns (all of one length) as Parquet, atomically — e.g. the
/// per-path results of `cascade simulate --per-path`.
pub fn write_table_parquet(path: &Path, columns: &[(String, Column)]) -> Result<(), WriteError> {
    let pq = |source| WriteError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let arrow = |source| WriteError::Arrow {
        path: path.to_path_buf(),
        source,
    };
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, c)| Field::new(name, c.data_type(), false))
            .collect::<Vec<_>>(),
    ));
    let arrays: Vec<ArrayRef> = columns.iter().map(|(_, c)| c.array()).collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(arrow)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    write_atomic_with(path, |w| {
        let mut writer = ArrowWriter::try_new(w, schema, Some(props)).map_err(pq)?;
        writer.write(&batch).map_err(pq)?;
        writer.close().map_err(pq)?;
        Ok(())
    })
}

/// The clearinghouse's top-level fields (DESIGN §6, §14): `collateral` and `liabilities` as arrays of
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
    if !c.collateral.is_empty() {
        let mut rows = c
            .collateral
            .iter()
            .map(|w| (w.asset, w.initial_weight, w.maintenance_weight));
        t.raw("collateral", weights(&mut rows));
    }
    if !c.liabilities.is_empty() {
        let mut rows = c
            .liabilities
            .iter()
            .map(|w| (w.asset, w.initial_weight, w.maintenance_weight));
        t.raw("liabilities", weights(&mut rows));
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
