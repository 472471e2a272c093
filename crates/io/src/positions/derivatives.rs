//! Derivative rows of a position file: perps, options and margin modes of a clearinghouse's
//! accounts (docs/formats.md#position-files).

use std::collections::HashSet;

use super::rows::RowLoader;
use super::*;
use cascade_model::{MarginMode, OptionType};

impl RowLoader<'_> {
    /// The perp or option of a derivative row (`instrument` = a market id or `option`), validated as
    /// the snapshot's `perps` / `options` entries are.
    pub(super) fn derivative_item(
        &mut self,
        row: u64,
        protocol: Option<usize>,
        instrument: &str,
        r: &Row<'_>,
    ) -> Option<Item> {
        let kind = if instrument == OPTION_INSTRUMENT {
            "an option row (instrument = \"option\")"
        } else {
            "a perp row (instrument = a market id)"
        };
        self.must_be_empty(row, r, &[COL_SIDE, COL_AMOUNT], kind);
        let p = protocol?;
        // The market (for a perp row) or why not, worked out before any error is reported.
        let market: Result<Option<u16>, String> = {
            let pr = &self.s.protocols[p];
            match pr.clearinghouse() {
                None => Err(format!("= \"{instrument}\", but protocol \"{}\" is of kind \"{}\": only a clearinghouse's accounts hold derivatives; expected an empty cell (a spot row)", pr.id, pr.kind.name())),
                Some(_) if instrument == OPTION_INSTRUMENT => Ok(None),
                Some(ch) => match ch.market_idx(instrument) {
                    Some(m) => Ok(u16::try_from(m).ok()),
                    None => Err(format!(
                        "unknown market \"{instrument}\" in protocol \"{}\"; expected \"{OPTION_INSTRUMENT}\" or one of its markets: {}",
                        pr.id,
                        Self::id_list(ch.markets.iter().map(|m| m.id.as_str()))
                    )),
                },
            }
        };
        if let Err(msg) = &market {
            if self.s.protocols[p].clearinghouse().is_none() {
                self.row_error(row, COL_INSTRUMENT, || msg.clone());
                return None;
            }
        }
        let size = self.number(row, COL_SIZE, r.size, |_| true, "a finite signed size");
        if instrument != OPTION_INSTRUMENT {
            let market = match market {
                Ok(m) => m,
                Err(msg) => {
                    self.row_error(row, COL_INSTRUMENT, || msg);
                    None
                }
            };
            let entry = self.number(
                row,
                COL_ENTRY_PRICE,
                r.entry_price,
                |x| x > 0.0,
                "an entry price > 0 USD",
            );
            self.must_be_empty(
                row,
                r,
                &[COL_ASSET, COL_STRIKE, COL_EXPIRY_DAYS, COL_OPTION_KIND],
                kind,
            );
            return Some(Item::Perp(market?, size?, entry?));
        }
        let underlying = match self.asset(row, r.asset) {
            Some(a) => {
                let ch = self.s.protocols[p].clearinghouse()?;
                if ch.options.smile_of(a).is_some() {
                    Some(a)
                } else {
                    let list = Self::id_list(
                        ch.options
                            .smile
                            .iter()
                            .map(|m| self.s.assets[m.underlying].id.as_str()),
                    );
                    let (id, u) = (self.s.protocols[p].id.clone(), self.s.assets[a].id.clone());
                    self.row_error(row, COL_ASSET, || {
                        format!("= \"{u}\", which has no volatility smile in protocol \"{id}\"; expected an underlying with a smile: {list}")
                    });
                    None
                }
            }
            None => None,
        };
        let option_kind = match r.option_kind {
            Some(v) => {
                let k = OptionType::parse(v);
                if k.is_none() {
                    self.row_error(row, COL_OPTION_KIND, || {
                        format!("= \"{v}\", expected \"call\" or \"put\"")
                    });
                }
                k
            }
            None => {
                self.row_error(row, COL_OPTION_KIND, || {
                    "empty; expected \"call\" or \"put\"".to_string()
                });
                None
            }
        };
        let strike = self.number(row, COL_STRIKE, r.strike, |x| x > 0.0, "a strike > 0 USD");
        let expiry = self.number(
            row,
            COL_EXPIRY_DAYS,
            r.expiry_days,
            |x| x > 0.0,
            "an expiry > 0 days",
        );
        self.must_be_empty(row, r, &[COL_ENTRY_PRICE], kind);
        Some(Item::Option(
            underlying?,
            option_kind?,
            strike?,
            expiry?,
            size?,
        ))
    }

    /// The margin mode cell of a row of `protocol`.
    pub(super) fn margin_mode(&mut self, row: u64, protocol: usize, v: &str) -> Option<MarginMode> {
        let p = &self.s.protocols[protocol];
        if p.clearinghouse().is_none() {
            let (id, k) = (p.id.clone(), p.kind.name());
            self.row_error(row, COL_MARGIN_MODE, || {
                format!("= \"{v}\", but protocol \"{id}\" is of kind \"{k}\": only a clearinghouse's accounts have a margin mode; expected an empty cell")
            });
            return None;
        }
        let m = MarginMode::parse(v);
        if m.is_none() {
            self.row_error(row, COL_MARGIN_MODE, || {
                format!("= \"{v}\", expected one of: cross, isolated, portfolio")
            });
        }
        m
    }

    /// Gives account `ai` margin mode `m` from `row`; `false` (with the error) if an earlier row of
    /// this file gave it another, or the snapshot or an earlier file made it other than cross (the
    /// default, which a cell may override).
    pub(super) fn set_margin_mode(&mut self, row: u64, ai: u32, acc: &str, m: MarginMode) -> bool {
        let conflict = match self.modes.get(&ai) {
            Some(&(prev, prev_row)) => (prev != m).then(|| {
                format!(
                    "= \"{}\", but row {prev_row} gives account \"{acc}\" margin_mode \"{}\"; expected one margin mode per account",
                    m.name(),
                    prev.name()
                )
            }),
            None => {
                let slot = self.s.accounts.margin_mode[ai as usize];
                (slot != MarginMode::Cross && slot != m).then(|| {
                    format!(
                        "= \"{}\", but account \"{acc}\" is already in margin mode \"{}\" (the snapshot or an earlier file); expected one margin mode per account",
                        m.name(),
                        slot.name()
                    )
                })
            }
        };
        if let Some(msg) = conflict {
            self.row_error(row, COL_MARGIN_MODE, || msg);
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
        let mut count = vec![0u32; self.s.accounts.len()];
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
            let acc = self.s.accounts.id[ai as usize].clone();
            let n = count[ai as usize];
            self.row_bad = false;
            self.row_error(row, column, || {
                format!("account \"{acc}\" is isolated and holds {n} derivative positions (this file, earlier files and the snapshot); expected one: put each isolated position in its own account")
            });
            if self.row_dropped {
                self.more_rows += 1;
                self.row_dropped = false;
            }
        }
    }
}
