//! The header of a position file: where each known column sits.

use super::{COLUMNS_EXPECTED, COLUMN_NAMES, N_COLUMNS, REQUIRED_COLUMNS};
use crate::{Diagnostics, Location};

/// Where each known column sits in a file; `None` if absent.
pub(super) struct ColumnMap {
    pub(super) index: [Option<usize>; N_COLUMNS],
}

impl ColumnMap {
    /// Maps header names to columns, reporting missing required columns (errors) and duplicated or
    /// unknown ones (errors / warnings). `None` if a required column is missing.
    pub(super) fn new<'n>(
        names: impl Iterator<Item = &'n str>,
        file: &str,
        diags: &mut Diagnostics,
    ) -> Option<ColumnMap> {
        let mut index = [None; N_COLUMNS];
        let mut ok = true;
        let mut ignored: Vec<String> = Vec::new();
        for (i, name) in names.enumerate() {
            match COLUMN_NAMES.iter().position(|c| *c == name) {
                Some(k) if index[k].is_some() => {
                    diags.error(
                        file,
                        Location::File,
                        name,
                        "the column appears twice; expected each column once",
                    );
                    ok = false;
                }
                Some(k) => index[k] = Some(i),
                None if ignored.iter().any(|n| n == name) => {}
                None => {
                    ignored.push(name.to_string());
                    diags.warning(
                        file,
                        Location::File,
                        name,
                        format!("column ignored by this version of cascade (it reads {COLUMNS_EXPECTED})"),
                    );
                }
            }
        }
        for (k, name) in REQUIRED_COLUMNS.iter().enumerate() {
            if index[k].is_none() {
                diags.error(
                    file,
                    Location::File,
                    *name,
                    format!("missing column; expected the columns {COLUMNS_EXPECTED}"),
                );
                ok = false;
            }
        }
        ok.then_some(ColumnMap { index })
    }
}
