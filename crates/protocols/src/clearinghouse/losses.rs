//! Losses a clearinghouse's insurance fund cannot pay: charged to the winners (socialised or
//! auto-deleveraged), and the fund's own payments.

use cascade_model::LossMode;

use super::margin::health;
use super::Clearinghouse;
use crate::ProtocolModel;

impl Clearinghouse {
    /// Allocates an uncovered loss to the winners at the last marks: socialised pro rata, or
    /// auto-deleveraged by rank. Returns what they paid, USD.
    pub fn charge_winners(&mut self, loss: f64, prices: &[f64]) -> f64 {
        if loss <= 0.0 || self.last_marks.is_empty() {
            return 0.0;
        }
        let marks = self.last_marks.clone();
        // Profitable open positions: (perp row, account, profit).
        let mut winners: Vec<(usize, usize, f64)> = Vec::new();
        for k in 0..self.names.len() {
            for i in self.perp_start[k] as usize..self.perp_start[k + 1] as usize {
                let pp = self.perps[i];
                let pnl = pp.size * (marks[pp.market] - pp.entry_price);
                if pp.size != 0.0 && pnl > 0.0 {
                    winners.push((i, k, pnl));
                }
            }
        }
        let pool: f64 = winners.iter().map(|w| w.2).sum();
        if pool <= 0.0 {
            return 0.0;
        }
        match self.params.loss_mode {
            LossMode::Socialise => {
                let x = (loss / pool).min(1.0);
                for &(i, _, _) in &winners {
                    let pp = &mut self.perps[i];
                    let mark = marks[pp.market];
                    pp.entry_price += x * (mark - pp.entry_price);
                }
                x * pool
            }
            LossMode::Adl => {
                let v = self.valuation(prices, marks.clone());
                let mut ranked: Vec<(usize, f64, f64)> = winners
                    .iter()
                    .map(|&(i, k, pnl)| {
                        let e = health(&self.book(k), &self.params, &self.series, &v)
                            .equity_maintenance;
                        let score = if e > 0.0 { pnl / e } else { f64::INFINITY };
                        (i, pnl, score)
                    })
                    .collect();
                ranked.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
                let mut left = loss;
                for (i, pnl, _) in ranked {
                    if left <= 0.0 {
                        break;
                    }
                    let f = (left / pnl).min(1.0);
                    // The closed share f gives up its profit (closed at entry); the rest stays open.
                    self.perps[i].size *= 1.0 - f;
                    left -= f * pnl;
                }
                loss - left.max(0.0)
            }
        }
    }

    pub(super) fn fund_pay(&mut self, usd: f64, prices: &[f64]) -> f64 {
        let total = self.insurance_fund_usd(prices);
        let paid = usd.min(total).max(0.0);
        if paid <= 0.0 {
            return 0.0;
        }
        let from_usd = paid.min(self.fund_usd);
        self.fund_usd -= from_usd;
        let rest = paid - from_usd;
        let tokens_value: f64 = self.fund.iter().map(|&(a, q)| q * prices[a]).sum();
        if rest > 0.0 && tokens_value > 0.0 {
            let keep = (1.0 - rest / tokens_value).max(0.0);
            for (_, q) in &mut self.fund {
                *q *= keep;
            }
        }
        paid
    }
}
