//! Writing position files as CSV.

use std::fmt::Write as _;
use std::path::Path;

use super::rows::{account_cells, out_row, out_rows, Layout};
use super::{io_err, write_atomic_with, WriteError};
use cascade_model::Snapshot;

/// Writes the snapshot's positions as CSV, atomically: the header `protocol,account,asset,side,
/// amount,emode`, then `vault_type` if some account has one and the derivative columns if some
/// account has derivatives or a margin mode other than cross; rows as in
/// [`write_positions_parquet`], numbers in shortest round-trip form, empty cells for none.
pub fn write_positions_csv(path: &Path, s: &Snapshot) -> Result<(), WriteError> {
    let csv_err = |error| WriteError::Csv {
        path: path.to_path_buf(),
        error,
    };
    let layout = Layout::of(s);
    write_atomic_with(path, |w| {
        let mut wtr = ::csv::WriterBuilder::new().from_writer(w);
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

/// Writes a table of named, typed columns (all of one length) as CSV, atomically: a header row, then
/// numbers in shortest round-trip form (`inf` for an infinite one) and strings as they are (quoted
/// when needed) — the CSV twin of [`super::write_table_parquet`].
pub fn write_table_csv(path: &Path, columns: &[(String, super::Column)]) -> Result<(), WriteError> {
    use super::Column;
    let csv_err = |error| WriteError::Csv {
        path: path.to_path_buf(),
        error,
    };
    let rows = columns.first().map_or(0, |(_, c)| c.len());
    write_atomic_with(path, |w| {
        let mut wtr = ::csv::WriterBuilder::new().from_writer(w);
        wtr.write_record(columns.iter().map(|(n, _)| n.as_str()))
            .map_err(csv_err)?;
        let mut cells = vec![String::new(); columns.len()];
        for r in 0..rows {
            for (cell, (_, c)) in cells.iter_mut().zip(columns) {
                cell.clear();
                let _ = match c {
                    Column::UInt64(v) => write!(cell, "{}", v[r]),
                    Column::UInt32(v) => write!(cell, "{}", v[r]),
                    Column::Float64(v) => write!(cell, "{:?}", v[r]),
                    Column::Utf8(v) => write!(cell, "{}", v[r]),
                };
            }
            wtr.write_record(&cells).map_err(csv_err)?;
        }
        wtr.flush().map_err(|e| io_err(path)(e))?;
        Ok(())
    })
}
