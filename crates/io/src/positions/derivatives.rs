//! Derivative rows of a position file: perps, options and margin modes of a clearinghouse's
//! accounts (docs/formats.md#position-files).

use std::collections::HashSet;

use super::rows::{empty, RowLoader};
use super::*;
use crate::problem::Problem;
use crate::record::{self, Holding};
use cascade_model::{MarginMode, OptionType};

impl RowLoader<'_> {
    /// The position of a derivative row (`instrument` = a market id or `option`): its cells read,
    /// to be judged as the snapshot's `perps` / `options` entries are.
    pub(super) fn derivative<'r>(
        &mut self,
        row: u64,
        instrument: &'r str,
        r: &Row<'r>,
    ) -> Holding<'r> {
        let kind = if instrument == OPTION_INSTRUMENT {
            "an option row (instrument = \"option\")"
        } else {
            "a perp row (instrument = a market id)"
        };
        self.must_be_empty(row, r, &[COL_SIDE, COL_AMOUNT], kind);
        let size = self.number(row, COL_SIZE, r.size);
        if instrument != OPTION_INSTRUMENT {
            let entry_price = self.number(row, COL_ENTRY_PRICE, r.entry_price);
            self.must_be_empty(
                row,
                r,
                &[COL_ASSET, COL_STRIKE, COL_EXPIRY_DAYS, COL_OPTION_KIND],
                kind,
            );
            return Holding::Perp {
                market: instrument,
                size,
                entry_price,
            };
        }
        if r.asset.is_none() {
            self.row_error(row, COL_ASSET, || empty("an asset id"));
        }
        let option_kind = match r.option_kind {
            Some(v) => v.parse::<OptionType>().map_err(|e| {
                self.row_error(row, COL_OPTION_KIND, || Problem::UnknownChoice(e));
            }),
            None => {
                self.row_error(row, COL_OPTION_KIND, || empty("\"call\" or \"put\""));
                Err(())
            }
        };
        let strike = self.number(row, COL_STRIKE, r.strike);
        let expiry_days = self.number(row, COL_EXPIRY_DAYS, r.expiry_days);
        self.must_be_empty(row, r, &[COL_ENTRY_PRICE], kind);
        Holding::Option {
            underlying: r.asset,
            // A bad kind is reported; the stand-in lets the rest of the row be checked.
            kind: option_kind.unwrap_or(OptionType::Call),
            strike,
            expiry_days,
            size,
        }
    }

    /// The margin mode cell of a row of `protocol`.
    pub(super) fn margin_mode(&mut self, row: u64, protocol: usize, v: &str) -> Option<MarginMode> {
        match record::resolve_margin_mode(self.s, protocol, v) {
            Ok(m) => Some(m),
            Err(p) => {
                self.row_error(row, COL_MARGIN_MODE, || p);
                None
            }
        }
    }

    /// Gives account `ai` margin mode `m` from `row`; `false` (with the error) if an earlier row of
    /// this file gave it another, or the snapshot or an earlier file made it other than cross (the
    /// default, which a cell may override).
    pub(super) fn set_margin_mode(&mut self, row: u64, ai: u32, acc: &str, m: MarginMode) -> bool {
        let conflict = match self.modes.get(&ai) {
            Some(&(prev, prev_row)) => (prev != m).then(|| {
                format!(
                    "= \"{m}\", but row {prev_row} gives account \"{acc}\" margin_mode \"{prev}\"; expected one margin mode per account"
                )
            }),
            None => {
                let slot = self.s.accounts.margin_mode[ai as usize];
                (slot != MarginMode::Cross && slot != m).then(|| {
                    format!(
                        "= \"{m}\", but account \"{acc}\" is already in margin mode \"{slot}\" (the snapshot or an earlier file); expected one margin mode per account"
                    )
                })
            }
        };
        if let Some(msg) = conflict {
            self.row_error(row, COL_MARGIN_MODE, || Problem::Rule(msg));
            return false;
        }
        self.modes.entry(ai).or_insert((m, row));
        self.s.accounts.margin_mode[ai as usize] = m;
        true
    }

    /// Reports every isolated account that now holds more than one derivative position, at the row
    /// of this file that added its second one (or, if its positions came before this file, at the row
    /// that made it isolated).
    pub(super) fn check_isolated(&mut self) {
        let isolated_here = self.modes.values().any(|(m, _)| *m == MarginMode::Isolated);
        if self.derivative_rows.is_empty() && !isolated_here {
            return;
        }
        let (perps, options) = self.derivatives_before;
        let mut count = vec![0usize; self.s.accounts.len()];
        for &a in self.s.perps.account[..perps]
            .iter()
            .chain(&self.s.options.account[..options])
        {
            count[a as usize] += 1;
        }
        let mut reported: HashSet<u32> = HashSet::new();
        let mut found: Vec<(u64, usize, u32)> = Vec::new();
        for &(ai, row) in &self.derivative_rows {
            count[ai as usize] += 1;
            if count[ai as usize] == 2
                && self.s.accounts.margin_mode[ai as usize] == MarginMode::Isolated
                && reported.insert(ai)
            {
                found.push((row, COL_INSTRUMENT, ai));
            }
        }
        for (&ai, &(m, row)) in &self.modes {
            if m == MarginMode::Isolated && count[ai as usize] > 1 && reported.insert(ai) {
                found.push((row, COL_MARGIN_MODE, ai));
            }
        }
        found.sort_unstable();
        for (row, column, ai) in found {
            let (p, acc) = (self.s.accounts.protocol[ai as usize] as usize, ai as usize);
            let id = &self.s.accounts.id[acc];
            let problem = record::isolated_holds_more(self.s, p, id, count[acc]);
            self.row_bad = false;
            self.row_error(row, column, || problem);
            if self.row_dropped {
                self.more_rows += 1;
                self.row_dropped = false;
            }
        }
    }
}
