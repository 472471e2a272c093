//! Row errors of a table file, every one reported up to a cap; the rows beyond it are counted in one
//! summary.

use crate::diag::{Diagnostics, Location};
use crate::positions::MAX_ROW_ERRORS;
use crate::problem::Problem;

/// The errors of one table file: listed up to [`MAX_ROW_ERRORS`], then counted by row.
pub(crate) struct RowErrors<'d> {
    file: &'d str,
    diags: &'d mut Diagnostics,
    listed: usize,
    /// Rows with errors beyond the cap, and the last such row.
    more: u64,
    last_dropped: Option<Location>,
}

impl<'d> RowErrors<'d> {
    pub fn new(file: &'d str, diags: &'d mut Diagnostics) -> Self {
        RowErrors {
            file,
            diags,
            listed: 0,
            more: 0,
            last_dropped: None,
        }
    }

    /// An error at `location` about `field`.
    pub fn error(&mut self, location: Location, field: &str, problem: Problem) {
        if self.listed < MAX_ROW_ERRORS {
            self.listed += 1;
            self.diags.error(self.file, location, field, problem);
        } else if self.last_dropped != Some(location) {
            self.last_dropped = Some(location);
            self.more += 1;
        }
    }

    /// Whether any error was found.
    pub fn any(&self) -> bool {
        self.listed > 0
    }

    /// Adds the summary of the rows beyond the cap.
    pub fn finish(self) {
        if self.more > 0 {
            self.diags.error(
                self.file,
                Location::File,
                "",
                Problem::MoreErrors { rows: self.more },
            );
        }
    }
}
