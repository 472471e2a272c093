//! Derivatives clearinghouses in the cascade (docs/clearinghouse.md#derivatives-clearinghouses; Drift / Mango / dYdX / Deribit semantics).
//!
//! Each round, at the round's oracle prices (a market's oracle may be the system price, a lagged
//! price, or a thin venue a trader can pump), every account's maintenance health is computed
//! ([`margin`]); an account below 0 is liquidated:
//! 1. its perps are closed through the underlying's curve (a long is sold, a short bought back), so the
//!    closing moves the underlying's price for every protocol; a liquidation fee of the closed notional
//!    at the mark is charged, `insurance_fee_share` of it to the insurance fund;
//! 2. its options are closed at their Black-76 value (fee on the value);
//! 3. its spot borrows are repaid at the oracle from its cash;
//! 4. if its cash, with the perps' PnL at the marks, is negative, collateral is sold on its curves —
//!    largest USD value first — for what is missing.
//!
//! After the round's trades settle, a still-negative cash balance takes the account's remaining
//! collateral at its value; a bankrupt account's unpaid liquidation fee is waived (bad debt never
//! includes fees), and what is left is bad debt: paid by the insurance fund first (valued at
//! stressed prices), then by the winners — socialised pro rata over the unrealised profit of every
//! profitable perp position, or auto-deleveraged (`loss_mode = "adl"`): the profitable positions with
//! the highest profit per unit of maintenance equity are closed at their entry price (giving up the
//! profit of the closed part) until the loss is met. What the winners cannot cover is `uncovered`.

pub mod explain;
mod losses;
pub mod margin;
mod round;
#[cfg(test)]
mod tests;

use cascade_model::{
    AssetIdx, Breakers, ClearinghouseParams, MarginMode, OracleSpec, Side, Snapshot,
};
use rayon::prelude::*;

use margin::{health, Book, Health, OptPos, PerpPos, Series, Valuation};

use crate::AccountLog;

/// Accounts per parallel chunk of the health scan (fixed, so results never depend on threads).
const CHUNK: usize = 1024;

/// A liquidation waiting for its trades to settle.
#[derive(Debug, Clone, Copy)]
enum PendingTrade {
    /// A perp closed through the curve: `size` > 0 sold, < 0 bought back.
    Perp {
        account: usize,
        underlying: AssetIdx,
        size: f64,
        entry_price: f64,
    },
    /// Collateral sold for what the account owed.
    Collateral {
        account: usize,
        asset: AssetIdx,
        quantity: f64,
    },
}

/// A pump of a thin-venue oracle (a manipulation), from the scenario.
#[derive(Debug, Clone, Copy)]
struct Pump {
    market: usize,
    usd: f64,
    rounds: u32,
}

/// What the scenario's borrow shock did (the attack that follows a pump).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BorrowOutcome {
    pub account: usize,
    pub asset: AssetIdx,
    /// Tokens borrowed and withdrawn.
    pub tokens: f64,
    pub usd: f64,
}

/// A clearinghouse's state.
#[derive(Clone)]
pub struct Clearinghouse {
    id: String,
    /// Asset ids, for the trace's notes.
    asset_ids: Vec<String>,
    /// Index in the snapshot's protocols.
    index: usize,
    params: ClearinghouseParams,
    breakers: Breakers,
    /// The asset each asset's price derives from (itself when exogenous).
    root: Vec<AssetIdx>,
    series: Vec<Series>,
    names: Vec<String>,
    /// Snapshot index of each account.
    account: Vec<u32>,
    mode: Vec<MarginMode>,
    collateral: Vec<Vec<(AssetIdx, f64)>>,
    liabilities: Vec<Vec<(AssetIdx, f64)>>,
    /// Settled USD per account.
    cash: Vec<f64>,
    perp_start: Vec<u32>,
    perps: Vec<PerpPos>,
    option_start: Vec<u32>,
    options: Vec<OptPos>,
    liquidated: Vec<bool>,
    /// Insurance fund: tokens per asset, plus the USD of fees and seized collateral paid into it.
    fund: Vec<(AssetIdx, f64)>,
    fund_usd: f64,
    /// Settlement asset of bad debt reports (the first collateral asset).
    settlement_asset: AssetIdx,
    vol_mult: Vec<f64>,
    delay_all: u32,
    delay_market: Vec<u32>,
    pumps: Vec<Pump>,
    /// Per market: the pumped oracle price and the rounds it holds for.
    pumped: Vec<Option<(f64, u32)>>,
    borrow: Option<(usize, AssetIdx)>,
    borrowed: Option<BorrowOutcome>,
    /// Round-start system prices: `[0]` before the shocks, `[r]` at round r.
    history: Vec<Vec<f64>>,
    /// The last round's marks (for loss allocation).
    last_marks: Vec<f64>,
    pending: Vec<PendingTrade>,
    /// Accounts liquidated this round, with the liquidation fees charged to them (USD).
    pending_accounts: Vec<(usize, f64)>,
    /// Per account, when recording ([`ProtocolModel::record_accounts`]); empty otherwise.
    logs: Vec<AccountLog>,
    /// USD the winners gave up (socialised or deleveraged), over the run.
    pub winners_paid_usd: f64,
}

impl Clearinghouse {
    pub fn new(s: &Snapshot, protocol: usize, p: &ClearinghouseParams) -> Clearinghouse {
        let n_assets = s.assets.len();
        let root: Vec<AssetIdx> = (0..n_assets).map(|a| s.root_asset(a)).collect();
        let mut local = vec![usize::MAX; s.accounts.len()];
        let mut names = Vec::new();
        let mut account = Vec::new();
        let mut mode = Vec::new();
        for (g, &pr) in s.accounts.protocol.iter().enumerate() {
            if pr as usize == protocol {
                local[g] = names.len();
                names.push(s.accounts.id[g].to_string());
                account.push(g as u32);
                mode.push(s.accounts.margin_mode[g]);
            }
        }
        let n = names.len();
        let mut collateral = vec![Vec::new(); n];
        let mut liabilities = vec![Vec::new(); n];
        let pos = &s.positions;
        for i in 0..pos.len() {
            let k = local[pos.account[i] as usize];
            if k == usize::MAX {
                continue;
            }
            let target: &mut Vec<(AssetIdx, f64)> = match pos.side[i] {
                Side::Collateral => &mut collateral[k],
                Side::Debt => &mut liabilities[k],
            };
            let a = pos.asset[i] as usize;
            match target.iter_mut().find(|(x, _)| *x == a) {
                Some((_, q)) => *q += pos.amount[i],
                None => target.push((a, pos.amount[i])),
            }
        }
        let mut perp_rows: Vec<Vec<PerpPos>> = vec![Vec::new(); n];
        for i in 0..s.perps.len() {
            let k = local[s.perps.account[i] as usize];
            if k != usize::MAX {
                perp_rows[k].push(PerpPos {
                    market: s.perps.market[i] as usize,
                    size: s.perps.size[i],
                    entry_price: s.perps.entry_price[i],
                });
            }
        }
        let mut series: Vec<Series> = Vec::new();
        let mut opt_rows: Vec<Vec<OptPos>> = vec![Vec::new(); n];
        let o = &s.options;
        for i in 0..o.len() {
            let k = local[o.account[i] as usize];
            if k == usize::MAX {
                continue;
            }
            let se = Series {
                underlying: o.underlying[i] as usize,
                kind: o.kind[i],
                strike: o.strike[i],
                expiry_days: o.expiry_days[i],
            };
            let j = match series.iter().position(|x| *x == se) {
                Some(j) => j,
                None => {
                    series.push(se);
                    series.len() - 1
                }
            };
            opt_rows[k].push(OptPos {
                series: j,
                size: o.size[i],
            });
        }
        let (perp_start, perps) = flatten(perp_rows);
        let (option_start, options) = flatten(opt_rows);
        let prot = &s.protocols[protocol];
        Clearinghouse {
            id: prot.id.clone(),
            index: protocol,
            asset_ids: s.assets.iter().map(|a| a.id.clone()).collect(),
            params: p.clone(),
            breakers: prot.breakers,
            root,
            series,
            names,
            account,
            mode,
            collateral,
            liabilities,
            cash: vec![0.0; n],
            perp_start,
            perps,
            option_start,
            options,
            liquidated: vec![false; n],
            fund: prot.insurance_fund.clone(),
            fund_usd: 0.0,
            settlement_asset: p.collateral.first().map_or(0, |c| c.asset),
            vol_mult: vec![1.0; n_assets],
            delay_all: 0,
            delay_market: p
                .markets
                .iter()
                .map(|m| match m.oracle {
                    OracleSpec::Lagged { delay_rounds } => delay_rounds,
                    _ => 0,
                })
                .collect(),
            pumps: Vec::new(),
            pumped: vec![None; p.markets.len()],
            borrow: None,
            borrowed: None,
            history: Vec::new(),
            last_marks: Vec::new(),
            pending: Vec::new(),
            pending_accounts: Vec::new(),
            logs: Vec::new(),
            winners_paid_usd: 0.0,
        }
    }

    pub fn params(&self) -> &ClearinghouseParams {
        &self.params
    }
    pub fn series(&self) -> &[Series] {
        &self.series
    }
    /// Local index of the account named `id`.
    pub fn account_idx(&self, id: &str) -> Option<usize> {
        self.names.iter().position(|n| n == id)
    }
    pub fn accounts(&self) -> usize {
        self.names.len()
    }
    pub fn account_name(&self, k: usize) -> &str {
        &self.names[k]
    }
    /// What the scenario's borrow shock borrowed, once it has acted.
    pub fn borrowed(&self) -> Option<BorrowOutcome> {
        self.borrowed
    }
    /// Settled USD of account `k`.
    pub fn cash(&self, k: usize) -> f64 {
        self.cash[k]
    }

    /// Account `k`'s book.
    pub fn book(&self, k: usize) -> Book<'_> {
        let (p0, p1) = (self.perp_start[k] as usize, self.perp_start[k + 1] as usize);
        let (o0, o1) = (
            self.option_start[k] as usize,
            self.option_start[k + 1] as usize,
        );
        Book {
            mode: self.mode[k],
            collateral: &self.collateral[k],
            liabilities: &self.liabilities[k],
            cash: self.cash[k],
            perps: &self.perps[p0..p1],
            options: &self.options[o0..o1],
        }
    }

    /// The oracle mark of every market at round `round` (0 = the round-0 state, a pump included)
    /// given the round's system prices.
    fn marks(&self, round: u32, prices: &[f64]) -> Vec<f64> {
        self.params
            .markets
            .iter()
            .enumerate()
            .map(|(m, mk)| {
                let u = mk.underlying;
                if let Some((p, rounds)) = self.pumped[m] {
                    if round <= rounds {
                        return p;
                    }
                }
                let delay = self.delay_market[m].max(self.delay_all);
                if delay > 0 && !self.history.is_empty() {
                    let at = (round as usize).saturating_sub(delay as usize);
                    if let Some(h) = self.history.get(at) {
                        return h[u];
                    }
                }
                prices[u]
            })
            .collect()
    }

    /// The valuation of every series and book at `prices` with the given marks.
    pub fn valuation(&self, prices: &[f64], marks: Vec<f64>) -> Valuation {
        let mut option_spot = prices.to_vec();
        for (m, mk) in self.params.markets.iter().enumerate() {
            option_spot[mk.underlying] = marks[m];
        }
        Valuation::new(
            &self.params,
            prices.to_vec(),
            marks,
            option_spot,
            self.root.clone(),
            &self.vol_mult,
            &self.series,
        )
    }

    /// The valuation at plain system prices (every oracle at its system price): for explanations.
    pub fn valuation_at(&self, prices: &[f64]) -> Valuation {
        let marks = self
            .params
            .markets
            .iter()
            .map(|m| prices[m.underlying])
            .collect();
        self.valuation(prices, marks)
    }

    /// Health of every account at valuation `v`, in parallel over fixed chunks.
    pub fn health_all(&self, v: &Valuation) -> Vec<Health> {
        let n = self.names.len();
        let chunks: Vec<Vec<Health>> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                (c * CHUNK..((c + 1) * CHUNK).min(n))
                    .map(|k| health(&self.book(k), &self.params, &self.series, v))
                    .collect()
            })
            .collect();
        chunks.into_iter().flatten().collect()
    }
}

impl Clearinghouse {
    /// Whether account `k` has anything a liquidation can act on (open derivatives or borrows).
    fn has_exposure(&self, k: usize) -> bool {
        let b = self.book(k);
        b.perps.iter().any(|p| p.size != 0.0)
            || b.options.iter().any(|o| o.size != 0.0)
            || b.liabilities.iter().any(|(_, q)| *q > 0.0)
    }
}

/// Tokens of `asset` summed over every account's balances.
fn total_tokens(balances: &[Vec<(AssetIdx, f64)>], asset: AssetIdx) -> f64 {
    balances
        .iter()
        .flat_map(|c| c.iter())
        .filter(|(a, _)| *a == asset)
        .map(|(_, q)| q)
        .sum()
}

fn flatten<T>(rows: Vec<Vec<T>>) -> (Vec<u32>, Vec<T>) {
    let mut start = Vec::with_capacity(rows.len() + 1);
    let mut flat = Vec::new();
    start.push(0u32);
    for r in rows {
        flat.extend(r);
        start.push(flat.len() as u32);
    }
    (start, flat)
}
