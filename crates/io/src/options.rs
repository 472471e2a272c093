//! Reading option books from CSV (docs/formats.md#option-books, `cascade greeks --file`): a header
//! naming the columns `spot, strike, rate, vol, expiry_years, kind` in any order (`rate` optional, 0
//! when missing or empty), then one option per line. Blank lines are skipped; cells are trimmed and
//! surrounding double quotes removed (no quoted commas). Every bad row is reported, each naming the
//! line and column, not only the first.

use std::path::Path;

use cascade_model::OptionType;

use crate::diag::{Diagnostics, LoadError, Location};
use crate::problem::Problem;
use crate::row_errors::RowErrors;

/// The columns of an option book, in their usual order.
pub const OPTION_COLUMNS: [&str; 6] = ["spot", "strike", "rate", "vol", "expiry_years", "kind"];
/// One option of a book as read: numbers parsed, not yet judged (the caller judges them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionRow {
    /// 1-based line of the file.
    pub line: u32,
    pub kind: OptionType,
    /// USD per token.
    pub spot: f64,
    /// USD per token.
    pub strike: f64,
    /// Annual, continuously compounded.
    pub rate: f64,
    /// Annual volatility.
    pub vol: f64,
    pub expiry_years: f64,
}

/// Where `kind` and `rate` sit in [`OPTION_COLUMNS`].
const KIND: usize = 5;
const RATE: usize = 2;

/// A problem the caller finds in a row: the column at fault and what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldProblem {
    pub field: String,
    pub problem: Problem,
}

/// Reads the option book at `path`; `make` judges each row (e.g. builds a priced option). Fails with
/// every problem of the file, `make`'s included.
pub fn read_options<T>(
    path: &Path,
    make: impl FnMut(&OptionRow) -> Result<T, FieldProblem>,
) -> Result<Vec<T>, LoadError> {
    let file = path.display().to_string();
    let expected = format!(
        "a header ({}) and one option per row",
        OPTION_COLUMNS.join(",")
    );
    let text = crate::load::read_text(path, &file, &expected)
        .map_err(|diagnostics| LoadError { diagnostics })?;
    read_options_from(&file, &text, make)
}

/// As [`read_options`], from text; `file` names it in messages.
pub fn read_options_from<T>(
    file: &str,
    text: &str,
    mut make: impl FnMut(&OptionRow) -> Result<T, FieldProblem>,
) -> Result<Vec<T>, LoadError> {
    let mut diags = Diagnostics::new();
    let mut out = Vec::new();
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (u32::try_from(i + 1).unwrap_or(u32::MAX), l))
        .filter(|(_, l)| !l.trim().is_empty());
    match lines.next() {
        None => diags.error(
            file,
            Location::File,
            "",
            Problem::EmptyFile {
                expected: format!(
                    "a header ({}) and one option per row",
                    OPTION_COLUMNS.join(",")
                ),
            },
        ),
        Some((header_line, header)) => {
            let names = split(header.trim_start_matches('\u{feff}'));
            let mut errors = RowErrors::new(file, &mut diags);
            if let Some(at) = columns(&names, header_line, &mut errors) {
                for (line, row) in lines {
                    if let Some(r) = read_row(&split(row), &at, names.len(), line, &mut errors) {
                        match make(&r) {
                            Ok(x) => out.push(x),
                            Err(p) => errors.error(Location::Line(line), &p.field, p.problem),
                        }
                    }
                }
                if out.is_empty() && !errors.any() {
                    errors.error(
                        Location::File,
                        "",
                        Problem::NoRows {
                            expected: "at least one option row after the header".into(),
                        },
                    );
                }
            }
            errors.finish();
        }
    }
    if diags.has_errors() {
        Err(LoadError { diagnostics: diags })
    } else {
        Ok(out)
    }
}

/// Where each column sits in a row; `None` (with the errors) if a required one is missing or one is
/// given twice or unknown.
fn columns(names: &[String], line: u32, errors: &mut RowErrors) -> Option<[Option<usize>; 6]> {
    let mut at: [Option<usize>; 6] = [None; 6];
    let mut ok = true;
    for (i, name) in names.iter().enumerate() {
        match OPTION_COLUMNS.iter().position(|c| c == name) {
            Some(c) if at[c].is_some() => {
                let p = Problem::Duplicate {
                    what: "column".into(),
                    first: None,
                };
                errors.error(Location::Line(line), name, p);
                ok = false;
            }
            Some(c) => at[c] = Some(i),
            None => {
                let p = Problem::Found {
                    found: format!("column \"{name}\""),
                    expected: format!("one of {}", OPTION_COLUMNS.join(", ")),
                };
                errors.error(Location::Line(line), "header", p);
                ok = false;
            }
        }
    }
    let expected = "spot, strike, vol, expiry_years and kind (rate optional)";
    for (c, name) in OPTION_COLUMNS.iter().enumerate() {
        if at[c].is_none() && c != RATE {
            let p = Problem::MissingColumn {
                expected: expected.into(),
            };
            errors.error(Location::Line(line), name, p);
            ok = false;
        }
    }
    ok.then_some(at)
}

/// One row's cells read; every bad cell is reported.
fn read_row(
    cells: &[String],
    at: &[Option<usize>; 6],
    width: usize,
    line: u32,
    errors: &mut RowErrors,
) -> Option<OptionRow> {
    let loc = Location::Line(line);
    if cells.len() != width {
        let p = Problem::FieldCount {
            found: cells.len(),
            expected: format!("{width} (one per header column)"),
        };
        errors.error(loc, "", p);
        return None;
    }
    let cell = |c: usize| at[c].map(|i| cells[i].as_str());
    let mut number = |c: usize| -> Option<f64> {
        match cell(c) {
            None | Some("") if c == RATE => Some(0.0),
            None | Some("") => {
                let p = Problem::Empty {
                    hint: "expected a number".into(),
                };
                errors.error(loc, OPTION_COLUMNS[c], p);
                None
            }
            Some(s) => s
                .parse::<f64>()
                .map_err(|_| {
                    errors.error(
                        loc,
                        OPTION_COLUMNS[c],
                        found(format!("\"{s}\""), "a number"),
                    )
                })
                .ok(),
        }
    };
    let [spot, strike, rate, vol, expiry_years] = [0, 1, 2, 3, 4].map(&mut number);
    let written = cell(KIND).unwrap_or("");
    let kind = written
        .to_ascii_lowercase()
        .parse::<OptionType>()
        .map_err(|_| {
            let p = found(format!("\"{written}\""), "call or put");
            errors.error(loc, OPTION_COLUMNS[KIND], p);
        })
        .ok();
    Some(OptionRow {
        line,
        kind: kind?,
        spot: spot?,
        strike: strike?,
        rate: rate?,
        vol: vol?,
        expiry_years: expiry_years?,
    })
}

/// A [`Problem::Found`].
pub fn found(found: String, expected: &str) -> Problem {
    Problem::Found {
        found,
        expected: expected.to_string(),
    }
}

/// A row's cells, trimmed, surrounding double quotes removed.
fn split(row: &str) -> Vec<String> {
    row.split(',')
        .map(|c| {
            let c = c.trim();
            c.strip_prefix('"')
                .and_then(|c| c.strip_suffix('"'))
                .unwrap_or(c)
                .trim()
                .to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests;
