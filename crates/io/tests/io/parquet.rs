//! Parquet position files: accepted layouts, bad columns and rows, and damaged files (a
//! corrupt file is one clean error, never a panic).

use std::fs;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::StringDictionaryBuilder;
use arrow_array::types::UInt8Type;
use arrow_array::{
    ArrayRef, Float64Array, Int64Array, LargeStringArray, RecordBatch, StringArray, StringViewArray,
};
use cascade_io::write::write_positions_parquet;
use cascade_io::{load_positions, read_positions};
use cascade_io::{Diagnostics, Location, Problem};
use cascade_model::{Side, Snapshot};
use cascade_testkit::parse;
use parquet::arrow::ArrowWriter;
use proptest::prelude::*;

use crate::files::{csv_errors, error_at, HEADER, SMALL};

pub(crate) fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) {
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let f = fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(f, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

fn load_parquet_file(columns: Vec<(&str, ArrayRef)>) -> (Snapshot, Diagnostics) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pos.parquet");
    write_parquet(&p, columns);
    let mut s = parse(SMALL);
    let mut d = Diagnostics::new();
    load_positions(&p, &mut s, &mut d);
    (s, d)
}

#[test]
fn parquet_unknown_column_is_an_error() {
    let (_, d) = load_parquet_file(vec![
        ("protocol", strs(&["lend"])),
        ("account", strs(&["x"])),
        ("asset", strs(&["ETH"])),
        ("side", strs(&["collateral"])),
        ("amount", Arc::new(Float64Array::from(vec![1.0]))),
        ("emod", strs(&["eth"])),
    ]);
    assert_eq!(d.error_count(), 1, "{d}");
    assert!(
        d.items[0].message().starts_with("unknown column \"emod\""),
        "{d}"
    );
}

pub(crate) fn strs(v: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

#[test]
fn parquet_amount_stored_as_string_is_an_error() {
    let (_, d) = load_parquet_file(vec![
        ("protocol", strs(&["lend"])),
        ("account", strs(&["a"])),
        ("asset", strs(&["ETH"])),
        ("side", strs(&["debt"])),
        ("amount", strs(&["1.0"])),
    ]);
    assert_eq!(d.error_count(), 1, "{d}");
    let e = &d.items[0];
    assert_eq!((e.location, e.field.as_str()), (Location::File, "amount"));
    assert!(
        e.message().contains("Utf8") && e.message().contains("Float64"),
        "{e}"
    );
}

#[test]
fn parquet_string_column_stored_as_number_is_an_error() {
    let (_, d) = load_parquet_file(vec![
        ("protocol", strs(&["lend"])),
        ("account", Arc::new(Int64Array::from(vec![7]))),
        ("asset", strs(&["ETH"])),
        ("side", strs(&["debt"])),
        ("amount", Arc::new(Float64Array::from(vec![1.0]))),
    ]);
    assert_eq!(d.items[0].field, "account", "{d}");
}

#[test]
fn parquet_accepts_other_string_and_number_types() {
    let mut protocol = StringDictionaryBuilder::<UInt8Type>::new();
    let mut emode = StringDictionaryBuilder::<UInt8Type>::new();
    for e in [None, Some("eth"), Some("eth")] {
        protocol.append_value("lend");
        emode.append_option(e);
    }
    let (s, d) = load_parquet_file(vec![
        ("protocol", Arc::new(protocol.finish())),
        (
            "account",
            Arc::new(LargeStringArray::from(vec!["x", "y", "y"])),
        ),
        (
            "asset",
            Arc::new(StringViewArray::from(vec!["ETH", "USDC", "ETH"])),
        ),
        ("side", strs(&["collateral", "debt", "collateral"])),
        ("amount", Arc::new(Int64Array::from(vec![1, 2, 3]))),
        ("emode", Arc::new(emode.finish())),
    ]);
    assert!(d.is_empty(), "{d}");
    assert_eq!(s.positions.amount[4..], [1.0, 2.0, 3.0]);
    let y = s.accounts.find(0, "y").unwrap() as usize;
    assert_eq!(s.accounts.emode[y], Some(1));
    assert_eq!(s.accounts.emode[y - 1], None);
}

#[test]
fn parquet_bad_rows_name_row_and_column() {
    let (_, d) = load_parquet_file(vec![
        ("protocol", strs(&["lend", "lend", "lend"])),
        (
            "account",
            Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])),
        ),
        ("asset", strs(&["ETH", "ETH", "ETH"])),
        ("side", strs(&["debt", "debt", "sideways"])),
        (
            "amount",
            Arc::new(Float64Array::from(vec![Some(1.0), Some(1.0), None])),
        ),
    ]);
    let items = &d.items;
    let at = |row, col: &str| {
        items
            .iter()
            .filter(|e| e.location == Location::Row(row) && e.field == col)
            .count()
    };
    assert_eq!(at(2, "account"), 1, "{d}");
    assert_eq!(at(3, "side"), 1, "{d}");
    assert_eq!(at(3, "amount"), 1, "{d}");
    assert_eq!(d.error_count(), 3);
}

#[test]
fn row_numbers_run_across_batches_and_chunks() {
    const N: usize = 70_000;
    const BAD: usize = 66_000;
    let side: Vec<&str> = (1..=N)
        .map(|r| if r == BAD { "up" } else { "collateral" })
        .collect();
    let (s, d) = load_parquet_file(vec![
        ("protocol", strs(&vec!["lend"; N])),
        (
            "account",
            Arc::new(StringArray::from_iter_values(
                (0..N).map(|i| format!("a{}", i / 3)),
            )),
        ),
        ("asset", strs(&vec!["ETH"; N])),
        ("side", strs(&side)),
        ("amount", Arc::new(Float64Array::from(vec![1.0; N]))),
    ]);
    assert_eq!(d.items.len(), 1, "{d}");
    assert_eq!(
        (d.items[0].location, d.items[0].field.as_str()),
        (Location::Row(BAD as u64), "side")
    );
    assert_eq!(s.positions.len(), 4 + N - 1);
    assert_eq!(s.accounts.len(), 2 + N.div_ceil(3));

    let mut csv = HEADER.to_string();
    for r in 1..=10_000 {
        let amount = if r == 9_000 { "x" } else { "1" };
        csv.push_str(&format!("lend,a{},ETH,collateral,{amount},\n", r / 3));
    }
    let items = csv_errors(&csv);
    assert_eq!(items.len(), 1, "{items:#?}");
    error_at(&items, 9_000, "amount");
}

#[test]
fn parquet_without_rows_and_zero_bytes_are_errors() {
    let empty: Vec<&str> = vec![];
    let (_, d) = load_parquet_file(vec![
        ("protocol", strs(&empty)),
        ("account", strs(&empty)),
        ("asset", strs(&empty)),
        ("side", strs(&empty)),
        ("amount", Arc::new(Float64Array::from(Vec::<f64>::new()))),
    ]);
    assert!(
        d.items.iter().any(|e| e.message().contains("no data rows")),
        "{d}"
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("z.parquet");
    fs::write(&p, "").unwrap();
    let mut s = parse(SMALL);
    let mut d = Diagnostics::new();
    load_positions(&p, &mut s, &mut d);
    assert!(d.items[0].message().contains("empty"), "{d}");
    fs::write(&p, "not parquet at all").unwrap();
    let mut d = Diagnostics::new();
    load_positions(&p, &mut s, &mut d);
    assert!(d.items[0].message().contains("Parquet"), "{d}");
}

/// A valid Parquet position file of SMALL with 2000 more positions.
fn valid_parquet_bytes() -> Vec<u8> {
    let mut s = parse(SMALL);
    for i in 0..2000u32 {
        let a = s.accounts.get_or_insert(0, &format!("acc{i}"));
        let side = if i % 3 == 0 {
            Side::Debt
        } else {
            Side::Collateral
        };
        s.positions.push(a, (i % 2) as usize, side, f64::from(i));
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v.parquet");
    write_positions_parquet(&p, &s).unwrap();
    fs::read(p).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The Parquet reader panics on some corrupt files; the loader turns that into an error.
    #[test]
    fn corrupt_parquet_never_panics(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..5),
        cut in proptest::option::of(any::<usize>()),
    ) {
        thread_local! {
            static VALID: Vec<u8> = valid_parquet_bytes();
        }
        let mut bytes = VALID.with(|v| v.clone());
        for (i, b) in flips {
            let n = bytes.len();
            bytes[i % n] = b;
        }
        if let Some(c) = cut {
            bytes.truncate(c % bytes.len());
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pos.parquet");
        fs::write(&p, &bytes).unwrap();
        let mut s = parse(SMALL);
        let mut d = Diagnostics::new();
        load_positions(&p, &mut s, &mut d);
    }
}

/// A small valid Parquet position file of SMALL with `rows` more positions, some in e-mode (a
/// dictionary column with nulls).
pub(crate) fn small_parquet(rows: u32) -> Vec<u8> {
    let mut s = parse(SMALL);
    for i in 0..rows {
        let a = s.accounts.get_or_insert(0, &format!("acc{i}"));
        if i % 4 == 0 {
            s.accounts.emode[a as usize] = Some((i % 2) as u16);
        }
        let side = if i % 3 == 0 {
            Side::Debt
        } else {
            Side::Collateral
        };
        s.positions
            .push(a, (i % 2) as usize, side, f64::from(i) * 0.5);
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v.parquet");
    write_positions_parquet(&p, &s).unwrap();
    fs::read(p).unwrap()
}

/// The same file rewritten without compression, so that damage reaches the encoded values (the
/// decoder's RLE, bit-packing and dictionaries) instead of failing the decompression.
fn uncompressed(valid: &[u8]) -> Vec<u8> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(valid.to_vec()))
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, batches[0].schema(), None).unwrap();
    for b in &batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
    out
}

/// Reads `bytes` as a position file `pos.parquet` of SMALL; the diagnostics.
fn load_bytes(bytes: &[u8]) -> Diagnostics {
    let mut s = parse(SMALL);
    let mut d = Diagnostics::new();
    read_positions("pos.parquet", bytes.to_vec(), &mut s, &mut d);
    d
}

/// A damaged file is either read (a changed value is still a valid file) or refused; when the
/// damage is structural, with exactly one error, `corrupt Parquet file (…)`, naming the file.
fn assert_clean(d: &Diagnostics, what: &str) -> bool {
    let corrupt = d
        .items
        .iter()
        .filter(|x| matches!(x.problem, Problem::Corrupt { .. }))
        .count();
    if corrupt > 0 {
        assert_eq!(d.items.len(), 1, "{what}: {d}");
        let shown = d.items[0].to_string();
        assert!(
            shown.starts_with("error: ") && shown.contains("pos.parquet: corrupt Parquet file ("),
            "{what}: {shown}"
        );
        assert!(!shown.contains('\n'), "{what}: {shown}");
    }
    corrupt > 0
}

/// Every single-byte change at every offset, and chunks deleted at many offsets, of a
/// file the writer wrote: the loader returns (no panic escapes) and a structural error is one line.
#[test]
fn damaged_files_are_refused_cleanly() {
    let snappy = small_parquet(120);
    for valid in [uncompressed(&snappy), snappy] {
        damage(&valid);
    }
}

/// Loads `valid` changed at every byte and cut at many places.
fn damage(valid: &[u8]) {
    assert!(load_bytes(valid).is_empty());
    let mut corrupt = 0;
    for at in 0..valid.len() {
        for b in [valid[at] ^ 0xff, 0x00] {
            if b == valid[at] {
                continue;
            }
            let mut bytes = valid.to_vec();
            bytes[at] = b;
            let d = load_bytes(&bytes);
            corrupt += usize::from(assert_clean(&d, &format!("byte {at} = {b:#x}")));
        }
    }
    for at in (0..valid.len()).step_by(37) {
        for len in [1, 7, 64, 500] {
            let mut bytes = valid.to_vec();
            bytes.drain(at..(at + len).min(valid.len()));
            let d = load_bytes(&bytes);
            corrupt += usize::from(assert_clean(&d, &format!("{len} bytes cut at {at}")));
        }
    }
    // Most damage is structural: the footer, page headers and encoded values.
    assert!(
        corrupt > valid.len(),
        "{corrupt} of {} changes",
        valid.len()
    );
}

#[test]
fn frame_damage_is_named() {
    let valid = small_parquet(10);
    let msg = |bytes: &[u8]| load_bytes(bytes).items[0].message();
    assert_eq!(
        msg(&valid[..11]),
        "corrupt Parquet file (11 bytes; a Parquet file has at least 12 (its magic numbers and footer length))"
    );
    let mut b = valid.clone();
    b[0] = b'X';
    assert_eq!(
        msg(&b),
        "corrupt Parquet file (it does not start with the magic number PAR1)"
    );
    let mut b = valid.clone();
    let n = b.len();
    b[n - 5] = 0x7f; // the footer length's top byte
    assert!(msg(&b).contains("does not fit in its"), "{}", msg(&b));
    assert!(msg(b"a,b,c\n1,2,3\n").contains("does not start with the magic number PAR1"));
}
