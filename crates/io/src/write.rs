//! Writing snapshots (TOML) and position files (CSV, Parquet) that [`crate::load`] reads back exactly.
//!
//! Every writer goes through [`write_atomic_with`]: the bytes go to a temporary file in the target's
//! folder, which is synced and renamed into place, so a failure never leaves a half-written file.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{ArrayRef, DictionaryArray, Float64Array, Int32Array, RecordBatch, StringArray};
use arrow_schema::{ArrowError, DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;

use cascade_model::{AmmInvariant, CurveSpec, ProtocolParams, Side, Snapshot};

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

fn str_array<'x>(items: impl Iterator<Item = &'x str>) -> String {
    let v: Vec<String> = items.map(string).collect();
    format!("[{}]", v.join(", "))
}

/// The snapshot as TOML that the model's loader reads back to an equal snapshot (apart from
/// `source` and line numbers): top-level keys (`name`, `positions = [...]` naming `position_files`),
/// then every `[[asset]]`, `[[correlation]]`, `[[protocol]]` (with `[[protocol.reserve]]` and
/// `[[protocol.emode]]`) and, if `include_accounts`, every `[[account]]` with its `collateral`,
/// `debt` and `emode`. Optional fields are written only when set or different from their default.
///
/// An account's positions are grouped by side in their order; several positions of one account in
/// the same asset and side (possible from position files) are summed into one entry.
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
        match a.liquidity.curve {
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
    // Positions grouped by account, in position order (a counting sort).
    let mut start = vec![0usize; n + 1];
    for &a in &s.positions.account {
        start[a as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut order = vec![0usize; s.positions.len()];
    for (i, &a) in s.positions.account.iter().enumerate() {
        order[fill[a as usize]] = i;
        fill[a as usize] += 1;
    }
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
        t.lines(out);
    }
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

/// Writes the snapshot's positions as a Parquet file of [`positions_schema`] (snappy, row groups of
/// [`ROW_GROUP_ROWS`] rows), one row per position in their order, atomically.
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
    let emode = EModeDict::new(s);
    let n = s.positions.len();
    write_atomic_with(path, |w| {
        let mut writer = ArrowWriter::try_new(w, positions_schema(), Some(props)).map_err(pq)?;
        let mut lo = 0;
        while lo < n {
            let hi = (lo + ROW_GROUP_ROWS).min(n);
            let batch = positions_batch(s, lo..hi, &emode).map_err(arrow)?;
            writer.write(&batch).map_err(pq)?;
            lo = hi;
        }
        writer.close().map_err(pq)?;
        Ok(())
    })
}

/// Writes the snapshot's positions as CSV with the header `protocol,account,asset,side,amount,emode`
/// (amounts in shortest round-trip form, empty emode = none), atomically.
pub fn write_positions_csv(path: &Path, s: &Snapshot) -> Result<(), WriteError> {
    let csv_err = |source| WriteError::Csv {
        path: path.to_path_buf(),
        source,
    };
    write_atomic_with(path, |w| {
        let mut wtr = csv::WriterBuilder::new().from_writer(w);
        wtr.write_record(["protocol", "account", "asset", "side", "amount", "emode"])
            .map_err(csv_err)?;
        let pos = &s.positions;
        let mut amount = String::new();
        for i in 0..pos.len() {
            let a = pos.account[i] as usize;
            let p = &s.protocols[s.accounts.protocol[a] as usize];
            let emode = s.accounts.emode[a]
                .and_then(|e| p.lending().and_then(|l| l.emode.get(usize::from(e))))
                .map_or("", |c| c.id.as_str());
            amount.clear();
            let _ = write!(amount, "{:?}", pos.amount[i]);
            wtr.write_record([
                p.id.as_str(),
                s.accounts.id[a].as_str(),
                s.assets[pos.asset[i] as usize].id.as_str(),
                pos.side[i].name(),
                amount.as_str(),
                emode,
            ])
            .map_err(csv_err)?;
        }
        wtr.flush().map_err(io_err(path))?;
        Ok(())
    })
}

/// Writes a table of named `Float64` columns (all of one length) as Parquet, atomically — e.g. the
/// per-path results of `cascade simulate --out`.
pub fn write_f64_table_parquet(
    path: &Path,
    columns: &[(String, Vec<f64>)],
) -> Result<(), WriteError> {
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
            .map(|(name, _)| Field::new(name, DataType::Float64, false))
            .collect::<Vec<_>>(),
    ));
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|(_, v)| Arc::new(Float64Array::from(v.clone())) as ArrayRef)
        .collect();
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

/// The clearinghouse's top-level fields (DESIGN §14): collateral and liability weights, loss mode,
/// PnL weights, insurance fee share.
fn write_clearinghouse_fields(c: &cascade_model::ClearinghouseParams, s: &Snapshot, t: &mut Kv) {
    let _ = (c, s, t);
}

/// The clearinghouse's tables: `[[protocol.market]]` and `[protocol.options]`.
fn write_clearinghouse_tables(
    c: &cascade_model::ClearinghouseParams,
    s: &Snapshot,
    out: &mut String,
) {
    let _ = (c, s, out);
}
