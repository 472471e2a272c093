//! Reading Parquet position files: decoding runs one batch ahead on a second thread, or (a file of
//! several row groups read into an empty snapshot, on several threads) row groups are read in
//! parallel by [`super::groups`].

use ::parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use ::parquet::arrow::ProjectionMask;
use ::parquet::file::metadata::ParquetMetaData;
use ::parquet::file::reader::ChunkReader;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type};
use arrow_array::RecordBatch;
use arrow_array::{
    Array, Float32Array, Float64Array, Int32Array, Int64Array, LargeStringArray, StringArray,
    StringViewArray,
};
use arrow_schema::{DataType, Schema};

use super::columns::ColumnMap;
use super::groups;
use super::rows::RowLoader;
use super::*;
use crate::problem::Problem;
use crate::quiet::catch_quietly;
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
        match a.data_type() {
            DataType::Utf8 => a.as_string_opt::<i32>().map(StrCol::Utf8),
            DataType::LargeUtf8 => a.as_string_opt::<i64>().map(StrCol::Large),
            DataType::Utf8View => a.as_string_view_opt().map(StrCol::View),
            _ => Self::dictionary(a),
        }
    }

    /// A dictionary of strings, its values resolved.
    fn dictionary(a: &'a dyn Array) -> Option<StrCol<'a>> {
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
        (a.as_primitive_opt::<Float64Type>().map(NumCol::F64))
            .or_else(|| a.as_primitive_opt::<Float32Type>().map(NumCol::F32))
            .or_else(|| a.as_primitive_opt::<Int64Type>().map(NumCol::I64))
            .or_else(|| a.as_primitive_opt::<Int32Type>().map(NumCol::I32))
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

/// Reads the Parquet position file `file` (`len` bytes, from `f`) into `s`.
///
/// `reopen` gives another reader of the same bytes, for the threads of a parallel read.
pub(super) fn load_parquet<T: ChunkReader + Send + 'static>(
    file: &str,
    f: T,
    reopen: &(dyn Fn() -> std::io::Result<T> + Sync),
    len: u64,
    s: &mut Snapshot,
    diags: &mut Diagnostics,
    lookup: AccountLookup,
) {
    // A damaged file is one error: what was read of it before the damage showed is dropped.
    let mark = diags.items.len();
    if let Err(detail) = read_parquet(f, reopen, len, file, s, diags, lookup) {
        diags.items.truncate(mark);
        diags.error(
            file,
            Location::File,
            "",
            Problem::Corrupt {
                format: "Parquet",
                detail,
            },
        );
    }
}

/// What a decoder panic on damaged data is reported as.
const DECODER_FAILED: &str = "the decoder failed on damaged data";

/// Reads the positions of a Parquet file of `len` bytes; `Err` says why the file is damaged. Problems
/// of the file's columns and rows go to `diags`.
fn read_parquet<T: ChunkReader + Send + 'static>(
    f: T,
    reopen: &(dyn Fn() -> std::io::Result<T> + Sync),
    len: u64,
    file: &str,
    s: &mut Snapshot,
    diags: &mut Diagnostics,
    lookup: AccountLookup,
) -> Result<(), String> {
    let footer_len = check_footer(&f, len)?;
    // The reader panics on some damaged files instead of failing: such a panic is caught quietly
    // and becomes the error.
    let metadata = match catch_quietly(|| ArrowReaderMetadata::load(&f, ArrowReaderOptions::new()))
    {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err(DECODER_FAILED.into()),
    };
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(f, metadata.clone());
    check_metadata(builder.metadata(), len, footer_len)?;
    let schema = builder.schema().clone();
    let Some(cols) = ColumnMap::new(
        schema.fields().iter().map(|f| f.name().as_str()),
        file,
        diags,
    ) else {
        return Ok(());
    };
    if !types_ok(&cols, &schema, file, diags) {
        return Ok(());
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
    // Batches no larger than the file: a batch's buffers are allocated at its full size.
    let batch_rows = PARQUET_BATCH_ROWS.min(total_rows.max(1));
    if lookup == AccountLookup::Deferred {
        let groups = groups::Groups {
            file,
            metadata: &metadata,
            mask: &mask,
            batch_index: &batch_index,
            batch_rows,
            total_rows,
        };
        if groups.read(reopen, s, diags) {
            return Ok(());
        }
    }
    let reader = match catch_quietly(|| {
        builder
            .with_projection(mask)
            .with_batch_size(batch_rows)
            .build()
    }) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err(DECODER_FAILED.into()),
    };
    let mut loader = RowLoader::new(file, s, diags, lookup);
    loader.reserve(total_rows);
    // Decoding runs one batch ahead on a second thread while this one validates and inserts rows.
    let outcome = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(PIPELINE_BATCHES);
        let on_panic = tx.clone();
        scope.spawn(move || {
            let decoded = catch_quietly(move || {
                for b in reader {
                    if tx.send(b.map_err(|e| e.to_string())).is_err() {
                        break;
                    }
                }
            });
            if decoded.is_err() {
                let _ = on_panic.send(Err(DECODER_FAILED.into()));
            }
        });
        // Damaged data can also surface while the rows are read from a decoded batch.
        catch_quietly(|| load_batches(&mut loader, rx, &batch_index, 0))
            .unwrap_or_else(|_| Err(DECODER_FAILED.into()))
    });
    loader.finish();
    outcome
}

/// Checks the frame of a Parquet file of `len` bytes (`PAR1` at both ends, a footer that fits);
/// returns the footer's length.
fn check_footer(f: &impl ChunkReader, len: u64) -> Result<u64, String> {
    const MAGIC: &[u8; 4] = b"PAR1";
    if len < 12 {
        return Err(format!(
            "{len} bytes; a Parquet file has at least 12 (its magic numbers and footer length)"
        ));
    }
    let bytes = |at: u64, n: usize| {
        f.get_bytes(at, n)
            .map_err(|e| format!("cannot read its frame: {e}"))
    };
    let head = bytes(0, 4)?;
    let tail = bytes(len - 8, 8)?;
    if head.len() != 4 || tail.len() != 8 {
        return Err("cannot read its frame".into());
    }
    if &head[..] != MAGIC {
        return Err("it does not start with the magic number PAR1".into());
    }
    if &tail[4..] == b"PARE" {
        return Err("its footer is encrypted, which cascade does not read".into());
    }
    if &tail[4..] != MAGIC {
        return Err("it does not end with the magic number PAR1".into());
    }
    let footer_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if footer_len + 12 > len {
        return Err(format!(
            "its footer of {footer_len} bytes does not fit in its {len} bytes"
        ));
    }
    Ok(footer_len)
}

/// Checks what the footer says against the file: row counts that add up, and every column chunk
/// inside the data (between the leading magic number and the footer), with as many values as its
/// row group has rows (the columns read are flat).
fn check_metadata(md: &ParquetMetaData, len: u64, footer_len: u64) -> Result<(), String> {
    let data_end = len - 8 - footer_len;
    let mut rows: i64 = 0;
    for (i, rg) in md.row_groups().iter().enumerate() {
        let n = rg.num_rows();
        if n < 0 {
            return Err(format!("row group {i} has {n} rows"));
        }
        rows = rows
            .checked_add(n)
            .ok_or_else(|| "its row counts overflow".to_string())?;
        for c in rg.columns() {
            let start = c.dictionary_page_offset().unwrap_or(c.data_page_offset());
            let size = c.compressed_size();
            let end = start.checked_add(size).unwrap_or(-1);
            let inside = start >= 4 && size >= 0 && end >= 0 && end as u64 <= data_end;
            let first_page_inside = (start..end.max(start)).contains(&c.data_page_offset());
            if !inside || !first_page_inside {
                return Err(format!(
                    "column \"{}\" of row group {i} lies at bytes {start}..{end}, outside the data (bytes 4..{data_end})",
                    c.column_path()
                ));
            }
            if c.column_descr().max_rep_level() == 0 && c.num_values() != n {
                return Err(format!(
                    "column \"{}\" of row group {i} has {} values for {n} rows",
                    c.column_path(),
                    c.num_values()
                ));
            }
        }
    }
    let declared = md.file_metadata().num_rows();
    if rows != declared {
        return Err(format!(
            "its footer counts {declared} rows, its row groups {rows}"
        ));
    }
    Ok(())
}

/// Checks the type of every column read; reports each of the wrong type.
fn types_ok(cols: &ColumnMap, schema: &Schema, file: &str, diags: &mut Diagnostics) -> bool {
    let mut ok = true;
    for (k, idx) in cols.index.iter().enumerate() {
        let Some(i) = *idx else { continue };
        let t = schema.field(i).data_type();
        let (good, expected) = if NUMBER_COLUMNS.contains(&k) {
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
        if !good {
            diags.error(
                file,
                Location::File,
                COLUMN_NAMES[k],
                Problem::ColumnType {
                    found: t.to_string(),
                    expected: expected.into(),
                },
            );
            ok = false;
        }
    }
    ok
}

/// Feeds the rows of `batches` (columns at `batch_index`; `rows_before` rows of the file come before
/// them) to `loader`; `Err` if a batch could not be decoded (the file is damaged).
pub(super) fn load_batches(
    loader: &mut RowLoader,
    batches: impl IntoIterator<Item = Result<RecordBatch, String>>,
    batch_index: &[Option<usize>; N_COLUMNS],
    rows_before: u64,
) -> Result<(), String> {
    let mut row = rows_before;
    for batch in batches {
        let batch = batch?;
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
            return Err(format!(
                "the columns of its rows from row {} on differ from its schema",
                row + 1
            ));
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
    Ok(())
}
