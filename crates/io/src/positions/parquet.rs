//! Reading Parquet position files: decoding runs one batch ahead on a second thread.

use std::path::Path;

use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use ::parquet::arrow::ProjectionMask;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::RecordBatch;
use arrow_array::{
    Array, Float32Array, Float64Array, Int32Array, Int64Array, LargeStringArray, StringArray,
    StringViewArray,
};
use arrow_schema::{ArrowError, DataType};

use super::columns::ColumnMap;
use super::rows::RowLoader;
use super::*;
use crate::{Diagnostics, Location};
use cascade_model::Snapshot;

/// A string column of any of the accepted Arrow layouts.
enum StrCol<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
    /// A dictionary, its values resolved once per batch (empty and null values as `None`); null
    /// keys point to an extra `None` at the end of `values`.
    Dict {
        keys: Vec<usize>,
        values: Vec<Option<&'a str>>,
    },
    AllNull,
}

impl<'a> StrCol<'a> {
    fn new(a: &'a dyn Array) -> Option<StrCol<'a>> {
        if let Some(x) = a.as_string_opt::<i32>() {
            return Some(StrCol::Utf8(x));
        }
        if let Some(x) = a.as_string_opt::<i64>() {
            return Some(StrCol::Large(x));
        }
        if let Some(x) = a.as_string_view_opt() {
            return Some(StrCol::View(x));
        }
        let d = a.as_any_dictionary_opt()?;
        let values = d.values();
        if values.is_empty() {
            return Some(StrCol::AllNull);
        }
        let inner = StrCol::new(values.as_ref())?;
        if matches!(inner, StrCol::Dict { .. }) {
            return None;
        }
        let mut resolved: Vec<Option<&str>> = (0..values.len()).map(|i| inner.get(i)).collect();
        resolved.push(None);
        let mut keys = d.normalized_keys();
        if let Some(nulls) = d.keys().logical_nulls() {
            for (i, k) in keys.iter_mut().enumerate() {
                if nulls.is_null(i) {
                    *k = values.len();
                }
            }
        }
        Some(StrCol::Dict {
            keys,
            values: resolved,
        })
    }

    /// The cell at `i`; null and empty cells are `None`.
    #[inline]
    fn get(&self, i: usize) -> Option<&'a str> {
        let v = match self {
            StrCol::Utf8(a) => (!a.is_null(i)).then(|| a.value(i)),
            StrCol::Large(a) => (!a.is_null(i)).then(|| a.value(i)),
            StrCol::View(a) => (!a.is_null(i)).then(|| a.value(i)),
            StrCol::Dict { keys, values } => return values.get(keys[i]).copied().flatten(),
            StrCol::AllNull => None,
        };
        v.filter(|s| !s.is_empty())
    }
}

/// A numeric column of any of the accepted Arrow types.
enum NumCol<'a> {
    F64(&'a Float64Array),
    F32(&'a Float32Array),
    I64(&'a Int64Array),
    I32(&'a Int32Array),
}

impl<'a> NumCol<'a> {
    fn new(a: &'a dyn Array) -> Option<NumCol<'a>> {
        if let Some(x) = a.as_primitive_opt::<Float64Type>() {
            return Some(NumCol::F64(x));
        }
        if let Some(x) = a.as_primitive_opt::<Float32Type>() {
            return Some(NumCol::F32(x));
        }
        if let Some(x) = a.as_primitive_opt::<Int64Type>() {
            return Some(NumCol::I64(x));
        }
        a.as_primitive_opt::<Int32Type>().map(NumCol::I32)
    }

    fn get(&self, i: usize) -> Option<f64> {
        match self {
            NumCol::F64(a) => (!a.is_null(i)).then(|| a.value(i)),
            NumCol::F32(a) => (!a.is_null(i)).then(|| f64::from(a.value(i))),
            NumCol::I64(a) => (!a.is_null(i)).then(|| a.value(i) as f64),
            NumCol::I32(a) => (!a.is_null(i)).then(|| f64::from(a.value(i))),
        }
    }
}

fn is_string_type(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => {
            matches!(
                v.as_ref(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
        }
        _ => false,
    }
}

fn is_amount_type(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Float64 | DataType::Float32 | DataType::Int64 | DataType::Int32
    )
}

pub(super) fn load_parquet(path: &Path, file: &str, s: &mut Snapshot, diags: &mut Diagnostics) {
    let Some((f, len)) = file_len(path, file, diags) else {
        return;
    };
    // The Parquet reader panics on some corrupt files instead of failing; such a panic becomes an
    // error here like any other.
    let builder = match catch_unwind(|| ParquetRecordBatchReaderBuilder::try_new(f)) {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            diags.error(
                file,
                Location::File,
                "",
                format!("not a readable Parquet file ({e}); expected a Parquet file of positions"),
            );
            return;
        }
        Err(p) => {
            diags.error(file, Location::File, "", corrupt(p));
            return;
        }
    };
    let schema = builder.schema().clone();
    let Some(cols) = ColumnMap::new(
        schema.fields().iter().map(|f| f.name().as_str()),
        file,
        diags,
    ) else {
        return;
    };
    let mut types_ok = true;
    for (k, idx) in cols.index.iter().enumerate() {
        let Some(i) = *idx else { continue };
        let t = schema.field(i).data_type();
        let (ok, expected) = if NUMBER_COLUMNS.contains(&k) {
            (
                is_amount_type(t),
                "a number column (Float64, Float32, Int64 or Int32)",
            )
        } else {
            (
                is_string_type(t),
                "a string column (Utf8, LargeUtf8, Utf8View or a dictionary of Utf8)",
            )
        };
        if !ok {
            diags.error(
                file,
                Location::File,
                COLUMN_NAMES[k],
                format!("the column is stored as {t}; expected {expected}"),
            );
            types_ok = false;
        }
    }
    if !types_ok {
        return;
    }
    // The row count from the footer, bounded by the file size so that a corrupt footer cannot ask
    // for an absurd reservation.
    let total_rows = usize::try_from(builder.metadata().file_metadata().num_rows().max(0))
        .unwrap_or(0)
        .min(usize::try_from(len).unwrap_or(usize::MAX));
    // Project onto the columns read; their order in a batch is their order in the file.
    let mut wanted: Vec<usize> = cols.index.iter().flatten().copied().collect();
    wanted.sort_unstable();
    let mut batch_index = [None; N_COLUMNS];
    for (k, idx) in cols.index.iter().enumerate() {
        if let Some(i) = idx {
            batch_index[k] = wanted.iter().position(|w| w == i);
        }
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted.iter().copied());
    let reader = match catch_unwind(|| {
        builder
            .with_projection(mask)
            .with_batch_size(PARQUET_BATCH_ROWS)
            .build()
    }) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            diags.error(file, Location::File, "", format!("cannot read: {e}"));
            return;
        }
        Err(p) => {
            diags.error(file, Location::File, "", corrupt(p));
            return;
        }
    };
    let mut loader = RowLoader::new(file, s, diags);
    loader.reserve(total_rows);
    // Decoding runs one batch ahead on a second thread while this one validates and inserts rows.
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(PIPELINE_BATCHES);
        let decoder = scope.spawn(move || {
            for b in reader {
                if tx.send(b).is_err() {
                    break;
                }
            }
        });
        // A decoder panic closes the channel, which ends the rows here.
        let rows = load_batches(&mut loader, rx, &batch_index, file);
        if let Err(p) = decoder.join() {
            loader.diags.error(
                file,
                Location::Row(rows + 1),
                "",
                format!("{} (after {rows} rows)", corrupt(p)),
            );
        }
    });
    loader.finish();
}

fn catch_unwind<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
}

/// The message for a panic of the Parquet reader.
fn corrupt(payload: Box<dyn std::any::Any + Send>) -> String {
    let why = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("unknown failure");
    format!("the Parquet reader failed ({why}); the file is corrupt, expected a valid Parquet file")
}

/// Feeds the rows of `batches` (columns at `batch_index`) to `loader`.
fn load_batches(
    loader: &mut RowLoader,
    batches: impl IntoIterator<Item = Result<RecordBatch, ArrowError>>,
    batch_index: &[Option<usize>; N_COLUMNS],
    file: &str,
) -> u64 {
    let mut row = 0u64;
    for batch in batches {
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                loader.diags.error(
                    file,
                    Location::Row(row + 1),
                    "",
                    format!("cannot read the rows from here on: {e}"),
                );
                break;
            }
        };
        let col = |k: usize| batch_index[k].map(|i| batch.column(i).as_ref());
        let strs: [Option<StrCol>; N_COLUMNS] = std::array::from_fn(|k| {
            if NUMBER_COLUMNS.contains(&k) {
                None
            } else {
                col(k).and_then(StrCol::new)
            }
        });
        let nums: [Option<NumCol>; N_COLUMNS] = std::array::from_fn(|k| {
            if NUMBER_COLUMNS.contains(&k) {
                col(k).and_then(NumCol::new)
            } else {
                None
            }
        });
        let (Some(protocol), Some(account), Some(asset), Some(side), Some(amount)) = (
            &strs[COL_PROTOCOL],
            &strs[COL_ACCOUNT],
            &strs[COL_ASSET],
            &strs[COL_SIDE],
            &nums[COL_AMOUNT],
        ) else {
            loader.diags.error(
                file,
                Location::Row(row + 1),
                "",
                "a batch's column types differ from the file schema",
            );
            break;
        };
        let opt_str = |k: usize, i: usize| strs[k].as_ref().and_then(|c| c.get(i));
        let opt_num = |k: usize, i: usize| {
            nums[k]
                .as_ref()
                .and_then(|c| c.get(i))
                .map_or(Amount::Missing, Amount::Num)
        };
        for i in 0..batch.num_rows() {
            row += 1;
            loader.row(
                row,
                Row {
                    protocol: protocol.get(i),
                    account: account.get(i),
                    asset: asset.get(i),
                    side: side.get(i),
                    amount: amount.get(i).map_or(Amount::Missing, Amount::Num),
                    emode: opt_str(COL_EMODE, i),
                    vault_type: opt_str(COL_VAULT_TYPE, i),
                    instrument: opt_str(COL_INSTRUMENT, i),
                    size: opt_num(COL_SIZE, i),
                    entry_price: opt_num(COL_ENTRY_PRICE, i),
                    strike: opt_num(COL_STRIKE, i),
                    expiry_days: opt_num(COL_EXPIRY_DAYS, i),
                    option_kind: opt_str(COL_OPTION_KIND, i),
                    margin_mode: opt_str(COL_MARGIN_MODE, i),
                },
            );
        }
    }
    row
}
