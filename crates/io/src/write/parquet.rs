//! Writing position files and tables of numbers as Parquet.

use std::path::Path;
use std::sync::Arc;

use ::parquet::arrow::ArrowWriter;
use ::parquet::basic::Compression;
use ::parquet::file::properties::WriterProperties;
use arrow_array::builder::{Float64Builder, StringBuilder, StringDictionaryBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, DictionaryArray, Float64Array, Int32Array, RecordBatch, StringArray, UInt32Array,
    UInt64Array,
};
use arrow_schema::{ArrowError, DataType, Field, Schema};

use super::rows::{account_cells, out_row, out_rows, Layout};
use super::{write_atomic_with, WriteError, ROW_GROUP_ROWS};
use cascade_model::{Side, Snapshot};

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

/// A Parquet error of the write to `path`.
fn pq_err(path: &Path) -> impl Fn(::parquet::errors::ParquetError) -> WriteError + '_ {
    move |error| WriteError::Parquet {
        path: path.to_path_buf(),
        error,
    }
}

/// An Arrow error of the write to `path`.
fn arrow_err(path: &Path) -> impl Fn(ArrowError) -> WriteError + '_ {
    move |error| WriteError::Arrow {
        path: path.to_path_buf(),
        error,
    }
}

/// Writes the snapshot's positions as a Parquet file of [`positions_schema_for`] (snappy, row groups
/// of [`ROW_GROUP_ROWS`] rows), atomically: one row per position in their order, then (if any) one
/// per perp and one per option in the derivative-row grammar of [`crate::positions`], every row of an
/// account carrying its margin mode unless cross, and its vault type if the file has that column.
pub fn write_positions_parquet(path: &Path, s: &Snapshot) -> Result<(), WriteError> {
    let (pq, arrow) = (pq_err(path), arrow_err(path));
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
        let mut writer = ArrowWriter::try_new(w, schema.clone(), Some(props)).map_err(&pq)?;
        let mut lo = 0;
        while lo < n {
            let hi = (lo + ROW_GROUP_ROWS).min(n);
            let batch = if layout.plain() {
                positions_batch(s, lo..hi, &emode)
            } else {
                extended_batch(s, lo..hi, layout, &schema)
            }
            .map_err(&arrow)?;
            writer.write(&batch).map_err(&pq)?;
            lo = hi;
        }
        writer.close().map_err(&pq)?;
        Ok(())
    })
}

/// One column of a table written by [`write_table_parquet`].
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    UInt64(Vec<u64>),
    UInt32(Vec<u32>),
    Float64(Vec<f64>),
    Utf8(Vec<String>),
}

impl Column {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Column::UInt64(v) => v.len(),
            Column::UInt32(v) => v.len(),
            Column::Float64(v) => v.len(),
            Column::Utf8(v) => v.len(),
        }
    }

    /// Whether it has no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn data_type(&self) -> DataType {
        match self {
            Column::UInt64(_) => DataType::UInt64,
            Column::UInt32(_) => DataType::UInt32,
            Column::Float64(_) => DataType::Float64,
            Column::Utf8(_) => DataType::Utf8,
        }
    }

    fn array(&self) -> ArrayRef {
        match self {
            Column::UInt64(v) => Arc::new(UInt64Array::from(v.clone())),
            Column::UInt32(v) => Arc::new(UInt32Array::from(v.clone())),
            Column::Float64(v) => Arc::new(Float64Array::from(v.clone())),
            Column::Utf8(v) => Arc::new(StringArray::from(v.clone())),
        }
    }
}

/// Writes a table of named, typed columns (all of one length) as Parquet, atomically — e.g. the
/// per-path results of `cascade simulate --per-path`.
pub fn write_table_parquet(path: &Path, columns: &[(String, Column)]) -> Result<(), WriteError> {
    let (pq, arrow) = (pq_err(path), arrow_err(path));
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, c)| Field::new(name, c.data_type(), false))
            .collect::<Vec<_>>(),
    ));
    let arrays: Vec<ArrayRef> = columns.iter().map(|(_, c)| c.array()).collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(&arrow)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    write_atomic_with(path, |w| {
        let mut writer = ArrowWriter::try_new(w, schema, Some(props)).map_err(&pq)?;
        writer.write(&batch).map_err(&pq)?;
        writer.close().map_err(&pq)?;
        Ok(())
    })
}
