//! The header of a position file: where each known column sits. Unknown columns are an error (a
//! misspelt `emod` would otherwise silently drop every e-mode), reported once for the whole header
//! however many there are.

use std::collections::HashSet;

use super::{COLUMNS_EXPECTED, COLUMN_NAMES, N_COLUMNS, REQUIRED_COLUMNS};
use crate::problem::Problem;
use crate::{Diagnostics, Location};

/// How many unknown column names the error lists before it only counts them.
const UNKNOWN_COLUMNS_SHOWN: usize = 5;

/// Where each known column sits in a file; `None` if absent.
pub(super) struct ColumnMap {
    pub(super) index: [Option<usize>; N_COLUMNS],
}

impl ColumnMap {
    /// Maps header names to columns, reporting missing required columns, duplicated columns and
    /// unknown columns (one error listing the first few and their count), in time linear in the
    /// number of columns. `None` if a required column is missing or a known one is duplicated: the
    /// rows cannot be read then. Unknown columns leave the rows readable, so that their problems
    /// are reported too.
    pub(super) fn new<'n>(
        names: impl Iterator<Item = &'n str>,
        file: &str,
        diags: &mut Diagnostics,
    ) -> Option<ColumnMap> {
        let mut index = [None; N_COLUMNS];
        let mut ok = true;
        let mut unknown: HashSet<&str> = HashSet::new();
        let mut shown: Vec<String> = Vec::new();
        for (i, name) in names.enumerate() {
            match COLUMN_NAMES.iter().position(|c| *c == name) {
                Some(k) if index[k].is_some() => {
                    diags.error(
                        file,
                        Location::File,
                        name,
                        Problem::Duplicate {
                            what: "column".into(),
                            first: None,
                        },
                    );
                    ok = false;
                }
                Some(k) => index[k] = Some(i),
                None => {
                    if unknown.insert(name) && shown.len() < UNKNOWN_COLUMNS_SHOWN {
                        shown.push(name.to_string());
                    }
                }
            }
        }
        if !unknown.is_empty() {
            diags.error(
                file,
                Location::File,
                "",
                Problem::UnknownColumns {
                    names: shown,
                    count: unknown.len(),
                    expected: COLUMNS_EXPECTED.to_string(),
                },
            );
        }
        for (k, name) in REQUIRED_COLUMNS.iter().enumerate() {
            if index[k].is_none() {
                diags.error(
                    file,
                    Location::File,
                    name,
                    Problem::MissingColumn {
                        expected: COLUMNS_EXPECTED.to_string(),
                    },
                );
                ok = false;
            }
        }
        ok.then_some(ColumnMap { index })
    }
}
