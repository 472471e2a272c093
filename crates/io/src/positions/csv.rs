//! Reading CSV position files: parsing runs on a second thread, a chunk of records ahead of the row
//! loader.

use super::columns::ColumnMap;
use super::rows::RowLoader;
use super::*;
use crate::problem::Problem;
use crate::{Diagnostics, Location};
use cascade_model::Snapshot;

/// Reads the CSV position file `file` (`len` bytes, from `f`) into `s`.
pub(super) fn load_csv(
    file: &str,
    f: impl std::io::Read + Send,
    len: u64,
    s: &mut Snapshot,
    diags: &mut Diagnostics,
    lookup: AccountLookup,
) {
    let mut rdr = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(::csv::Trim::All)
        .flexible(true)
        .buffer_capacity(1 << 18)
        .from_reader(f);
    let headers = match rdr.byte_headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            diags.error(
                file,
                Location::Row(0),
                "",
                Problem::Syntax {
                    format: "CSV",
                    detail: format!("cannot read the header: {e}"),
                },
            );
            return;
        }
    };
    let mut names = Vec::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        let h = if i == 0 {
            h.strip_prefix("\u{feff}".as_bytes()).unwrap_or(h)
        } else {
            h
        };
        match std::str::from_utf8(h) {
            Ok(n) => names.push(n),
            Err(_) => {
                diags.error(
                    file,
                    Location::Row(0),
                    "",
                    format!("header column {} is not valid UTF-8", i + 1),
                );
                return;
            }
        }
    }
    if names.len() == 1 && names[0].is_empty() {
        diags.error(
            file,
            Location::Row(0),
            "",
            Problem::Empty {
                hint: format!("expected a header naming the columns {COLUMNS_EXPECTED}"),
            },
        );
        return;
    }
    let Some(cols) = ColumnMap::new(names.iter().copied(), file, diags) else {
        return;
    };
    let width = names.len();
    let mut loader = RowLoader::new(file, s, diags, lookup);
    loader.reserve(usize::try_from(len / CSV_BYTES_PER_ROW_GUESS).unwrap_or(0));
    // Parsing runs on a second thread, a chunk of records ahead of the row loader; emptied chunks
    // go back to be refilled.
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<CsvChunk>(PIPELINE_BATCHES);
        let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<::csv::ByteRecord>>();
        scope.spawn(move || loop {
            let mut records = back_rx.try_recv().unwrap_or_default();
            records.resize_with(CSV_CHUNK_ROWS, ::csv::ByteRecord::new);
            let mut n = 0;
            let mut error = None;
            while n < CSV_CHUNK_ROWS {
                match rdr.read_byte_record(&mut records[n]) {
                    Ok(true) => n += 1,
                    Ok(false) => break,
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            let last = n < CSV_CHUNK_ROWS;
            if tx.send(CsvChunk { records, n, error }).is_err() || last {
                break;
            }
        });
        let mut row = 0u64;
        for chunk in rx {
            for rec in &chunk.records[..chunk.n] {
                row += 1;
                csv_row(&mut loader, &cols, width, row, rec);
            }
            if let Some(e) = chunk.error {
                loader.whole_row_error(
                    row + 1,
                    Problem::Syntax {
                        format: "CSV",
                        detail: format!("cannot read the row: {e}"),
                    },
                );
                break;
            }
            let _ = back_tx.send(chunk.records);
        }
    });
    loader.finish();
}

/// Records parsed ahead: the first `n` of `records`, then the error that stopped parsing, if any.
struct CsvChunk {
    records: Vec<::csv::ByteRecord>,
    n: usize,
    error: Option<::csv::Error>,
}

fn csv_row(
    loader: &mut RowLoader,
    cols: &ColumnMap,
    width: usize,
    row: u64,
    rec: &::csv::ByteRecord,
) {
    if rec.len() != width {
        loader.whole_row_error(
            row,
            Problem::FieldCount {
                found: rec.len(),
                expected: format!("{width} as in the header"),
            },
        );
        return;
    }
    let mut cells: [Option<&str>; N_COLUMNS] = [None; N_COLUMNS];
    let mut bad_utf8 = [false; N_COLUMNS];
    for (k, cell) in cells.iter_mut().enumerate() {
        let Some(i) = cols.index[k] else { continue };
        match std::str::from_utf8(rec.get(i).unwrap_or_default()) {
            Ok("") => {}
            Ok(v) => *cell = Some(v),
            Err(_) => bad_utf8[k] = true,
        }
    }
    if bad_utf8.contains(&true) {
        loader.begin_row();
        for k in (0..N_COLUMNS).filter(|&k| bad_utf8[k]) {
            loader.row_error(row, k, || Problem::WrongType {
                found: "bytes that are not UTF-8".into(),
                expected: "UTF-8 text".into(),
            });
        }
        loader.end_row();
        return;
    }
    let num = |k: usize| match cells[k] {
        None => Amount::Missing,
        Some(t) => match t.parse::<f64>() {
            Ok(x) => Amount::Num(x),
            Err(_) => Amount::Text(t),
        },
    };
    loader.row(
        row,
        Row {
            protocol: cells[COL_PROTOCOL],
            account: cells[COL_ACCOUNT],
            asset: cells[COL_ASSET],
            side: cells[COL_SIDE],
            amount: num(COL_AMOUNT),
            emode: cells[COL_EMODE],
            vault_type: cells[COL_VAULT_TYPE],
            instrument: cells[COL_INSTRUMENT],
            size: num(COL_SIZE),
            entry_price: num(COL_ENTRY_PRICE),
            strike: num(COL_STRIKE),
            expiry_days: num(COL_EXPIRY_DAYS),
            option_kind: cells[COL_OPTION_KIND],
            margin_mode: cells[COL_MARGIN_MODE],
        },
    );
}
