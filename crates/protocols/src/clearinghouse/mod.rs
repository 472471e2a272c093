//! Derivatives clearinghouses in the cascade (DESIGN §6; Drift / Mango / dYdX / Deribit semantics).
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
pub mod margin;
#[cfg(test)]
mod tests;

use cascade_market::curve::Curve;
use cascade_market::price::{BuyOrder, SaleOrder};
use cascade_model::{
    AssetIdx, Breakers, ClearinghouseParams, LossMode, MarginMode, OracleSpec, ProtocolKind,
    Scenario, Side, Snapshot,
};
use rayon::prelude::*;

use crate::{
    BadDebt, EndState, LiquidationRecord, LossOutcome, ProtocolBuyFill, ProtocolFill,
    ProtocolModel, ProtocolRound, RoundCtx, Settlement,
};
use margin::{health, Book, Health, OptPos, PerpPos, Series, Valuation};

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
    /// USD the winners gave up (socialised or deleveraged), over the run.
    pub winners_paid_usd: f64,
}

impl Clearinghouse {
    pub fn new(s: &Snapshot, protocol: usize, p: &ClearinghouseParams) -> Clearinghouse {
        let n_assets = s.assets.len();
        let root: Vec<AssetIdx> = (0..n_assets).map(|a| s.root_asset(a)).collect();
        let mut local = vec![usize::MAX; s.accounts.len()];
        let mut names = Vec::new();
        let mut mode = Vec::new();
        for (g, &pr) in s.accounts.protocol.iter().enumerate() {
            if pr as usize == protocol {
                local[g] = names.len();
                names.push(s.accounts.id[g].clone());
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

    /// Whether a breaker pauses this round: an underlying or collateral asset fell by more than
    /// `pause_liquidations_on_drop` from the previous round's start.
    fn breaker_trips(&self, ctx: &RoundCtx) -> bool {
        let Some(x) = self.breakers.pause_liquidations_on_drop else {
            return false;
        };
        self.params
            .markets
            .iter()
            .map(|m| m.underlying)
            .chain(self.params.collateral.iter().map(|c| c.asset))
            .any(|a| {
                let (before, now) = (ctx.prev_prices[a], ctx.prices[a]);
                before > 0.0 && now / before - 1.0 < -x
            })
    }

    /// Round 1: the pumps spend their budgets on their venues (anchored at the round's starting, i.e.
    /// post-shock, price), and the borrow shock borrows up to initial health at the round-0 oracle
    /// (pumped) prices.
    fn round_zero_actions(&mut self, prices: &[f64]) -> Vec<String> {
        let mut notes = Vec::new();
        for pump in std::mem::take(&mut self.pumps) {
            let mk = &self.params.markets[pump.market];
            if let OracleSpec::ThinVenue { curve } = &mk.oracle {
                let mut venue = Curve::from_spec(curve);
                venue.anchor(prices[mk.underlying]);
                venue.spend(pump.usd);
                let p = venue.spot_price();
                self.pumped[pump.market] = Some((p, pump.rounds));
                notes.push(format!(
                    "{} of buys on {}'s oracle venue move its oracle from {:.4} to {:.4} (×{:.2}){}",
                    usd_text(pump.usd),
                    mk.id,
                    prices[mk.underlying],
                    p,
                    p / prices[mk.underlying],
                    if pump.rounds == 0 {
                        ", seen at round 0 only".to_string()
                    } else {
                        format!(", held {} round(s)", pump.rounds)
                    }
                ));
            }
        }
        if let Some((k, asset)) = self.borrow {
            let v = self.valuation(prices, self.marks(0, prices));
            let h = health(&self.book(k), &self.params, &self.series, &v);
            let lw = self
                .params
                .liability_of(asset)
                .map_or(1.0, |w| w.initial_weight);
            let p = prices[asset];
            // The lendable pool: every account's deposits of the asset, less what is already borrowed.
            let deposits = total_tokens(&self.collateral, asset);
            let borrowed = total_tokens(&self.liabilities, asset);
            let usd = (h.initial() / lw)
                .max(0.0)
                .min((deposits - borrowed).max(0.0) * p);
            if usd > 0.0 && p > 0.0 {
                let tokens = usd / p;
                match self.liabilities[k].iter_mut().find(|(a, _)| *a == asset) {
                    Some((_, q)) => *q += tokens,
                    None => self.liabilities[k].push((asset, tokens)),
                }
                self.borrowed = Some(BorrowOutcome {
                    account: k,
                    asset,
                    tokens,
                    usd,
                });
                notes.push(format!(
                    "account \"{}\" borrows and withdraws {} of {} against initial health {} at the round-0 oracle",
                    self.names[k],
                    usd_text(usd),
                    self.asset_ids[asset],
                    usd_text(h.initial())
                ));
            } else {
                notes.push(format!(
                    "account \"{}\" can borrow nothing: initial health {}",
                    self.names[k],
                    usd_text(h.initial())
                ));
                self.borrowed = Some(BorrowOutcome {
                    account: k,
                    asset,
                    tokens: 0.0,
                    usd: 0.0,
                });
            }
        }
        notes
    }

    /// Liquidates account `k` (steps 1–4 of the module's documentation) at valuation `v`, appending its
    /// orders to `out`.
    fn liquidate_account(&mut self, k: usize, v: &Valuation, out: &mut ProtocolRound) {
        let (p0, p1) = (self.perp_start[k] as usize, self.perp_start[k + 1] as usize);
        let share = self.params.insurance_fee_share;
        let mut est_pnl = 0.0;
        let mut fees = 0.0;
        for i in p0..p1 {
            let pp = self.perps[i];
            if pp.size == 0.0 {
                continue;
            }
            let mk = &self.params.markets[pp.market];
            let mark = v.marks[pp.market];
            let u = mk.underlying;
            let fee = mk.liquidation_fee * pp.size.abs() * mark;
            fees += fee;
            self.cash[k] -= fee;
            self.fund_usd += fee * share;
            est_pnl += pp.size * (mark - pp.entry_price);
            if pp.size > 0.0 {
                out.sales.push(SaleOrder {
                    asset: u,
                    quantity: pp.size,
                    wanted: None,
                });
            } else {
                out.buys.push(BuyOrder {
                    asset: u,
                    quantity: -pp.size,
                });
            }
            self.pending.push(PendingTrade::Perp {
                account: k,
                underlying: u,
                size: pp.size,
                entry_price: pp.entry_price,
            });
            self.perps[i].size = 0.0;
        }
        let (o0, o1) = (
            self.option_start[k] as usize,
            self.option_start[k + 1] as usize,
        );
        for i in o0..o1 {
            let op = self.options[i];
            if op.size == 0.0 {
                continue;
            }
            let value = op.size * v.values[op.series];
            let fee = self.params.options.liquidation_fee * value.abs();
            fees += fee;
            self.cash[k] += value - fee;
            self.fund_usd += fee * share;
            self.options[i].size = 0.0;
        }
        let settle_asset = self.settlement_asset;
        for (a, q) in std::mem::take(&mut self.liabilities[k]) {
            self.cash[k] -= q * v.prices[a];
            record(out, settle_asset, a, 0.0, q, 0.0, q * v.prices[a]);
        }
        let mut deficit = -(self.cash[k] + est_pnl);
        if deficit > 0.0 {
            let mut order: Vec<usize> = (0..self.collateral[k].len()).collect();
            let px = &v.prices;
            let coll = &self.collateral[k];
            order.sort_by(|&x, &y| {
                let (vx, vy) = (coll[x].1 * px[coll[x].0], coll[y].1 * px[coll[y].0]);
                vy.total_cmp(&vx).then(x.cmp(&y))
            });
            for j in order {
                if deficit <= 0.0 {
                    break;
                }
                let (a, q) = self.collateral[k][j];
                let p = px[a];
                if q <= 0.0 || p <= 0.0 {
                    continue;
                }
                let sell = q.min(deficit / p);
                self.collateral[k][j].1 -= sell;
                deficit -= sell * p;
                out.sales.push(SaleOrder {
                    asset: a,
                    quantity: sell,
                    wanted: None,
                });
                record(out, a, settle_asset, sell, 0.0, sell * p, 0.0);
                self.pending.push(PendingTrade::Collateral {
                    account: k,
                    asset: a,
                    quantity: sell,
                });
            }
        }
        self.liquidated[k] = true;
        self.pending_accounts.push((k, fees));
    }

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

    fn fund_pay(&mut self, usd: f64, prices: &[f64]) -> f64 {
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

/// Tokens of `asset` summed over every account's balances.
fn total_tokens(balances: &[Vec<(AssetIdx, f64)>], asset: AssetIdx) -> f64 {
    balances
        .iter()
        .flat_map(|c| c.iter())
        .filter(|(a, _)| *a == asset)
        .map(|(_, q)| q)
        .sum()
}

/// Adds a spot leg of a liquidation to the round's records: collateral seized (and sold) or a
/// borrow repaid, summed per (collateral, debt) pair.
fn record(
    out: &mut ProtocolRound,
    collateral: AssetIdx,
    debt: AssetIdx,
    seized_tokens: f64,
    repaid_tokens: f64,
    seized_usd: f64,
    repaid_usd: f64,
) {
    let r = match out
        .liquidations
        .iter()
        .position(|l| l.collateral == collateral && l.debt == debt)
    {
        Some(i) => &mut out.liquidations[i],
        None => {
            out.liquidations.push(LiquidationRecord {
                collateral,
                debt,
                ..LiquidationRecord::default()
            });
            let n = out.liquidations.len();
            &mut out.liquidations[n - 1]
        }
    };
    r.seized_tokens += seized_tokens;
    r.repaid_tokens += repaid_tokens;
    r.seized_usd += seized_usd;
    r.repaid_usd += repaid_usd;
    r.calls += 1;
}

/// `$1.23M`-style USD text for the trace's notes.
fn usd_text(x: f64) -> String {
    let a = x.abs();
    let (v, unit) = if a >= 1e9 {
        (x / 1e9, "B")
    } else if a >= 1e6 {
        (x / 1e6, "M")
    } else if a >= 1e3 {
        (x / 1e3, "k")
    } else {
        (x, "")
    };
    if v < 0.0 {
        format!("−${:.2}{unit}", -v)
    } else {
        format!("${v:.2}{unit}")
    }
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

impl ProtocolModel for Clearinghouse {
    fn boxed_clone(&self) -> Box<dyn ProtocolModel> {
        Box::new(self.clone())
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> ProtocolKind {
        ProtocolKind::Clearinghouse
    }
    /// Deposits at `prices`: `Σ c·p` over every account.
    fn tvl_usd(&self, prices: &[f64]) -> f64 {
        self.collateral
            .iter()
            .flat_map(|c| c.iter())
            .map(|&(a, q)| q * prices[a])
            .sum()
    }

    fn configure(&mut self, scenario: &Scenario) {
        for sh in &scenario.shocks {
            if let (Some(a), Some(v)) = (sh.asset, sh.vol_change) {
                self.vol_mult[a] *= 1.0 + v;
            }
            if sh.protocol != Some(self.index) {
                continue;
            }
            let market = sh.market.as_deref().and_then(|m| self.params.market_idx(m));
            if let Some(d) = sh.oracle_delay_rounds {
                match market {
                    Some(m) => self.delay_market[m] = self.delay_market[m].max(d),
                    None => self.delay_all = self.delay_all.max(d),
                }
            }
            if let (Some(m), Some(usd)) = (market, sh.pump_usd) {
                self.pumps.push(Pump {
                    market: m,
                    usd,
                    rounds: sh.pump_rounds.unwrap_or(0),
                });
            }
            if let (Some(acc), Some(asset)) = (sh.account.as_deref(), sh.borrow) {
                if let Some(k) = self.account_idx(acc) {
                    self.borrow = Some((k, asset));
                }
            }
        }
    }

    fn liquidate(&mut self, ctx: &RoundCtx) -> ProtocolRound {
        let mut notes = Vec::new();
        if ctx.round == 1 || self.history.is_empty() {
            self.history = vec![ctx.prev_prices.to_vec()];
            notes = self.round_zero_actions(ctx.prices);
        }
        self.history.push(ctx.prices.to_vec());
        let marks = self.marks(ctx.round, ctx.prices);
        self.last_marks = marks.clone();
        let v = self.valuation(ctx.prices, marks);
        let hs = self.health_all(&v);
        let underwater: Vec<usize> = (0..hs.len())
            .filter(|&k| hs[k].maintenance() < 0.0 && self.has_exposure(k))
            .collect();
        let mut out = ProtocolRound {
            notes,
            ..ProtocolRound::default()
        };
        // An oracle that lags or is pumped hides what the system prices show: accounts underwater at
        // the system prices but not at the oracle are deferred (the run is not at rest while there
        // are any), and their liquidation waits for the oracle to catch up.
        if v.marks
            .iter()
            .zip(&self.params.markets)
            .any(|(m, mk)| *m != ctx.prices[mk.underlying])
        {
            let true_v = self.valuation_at(ctx.prices);
            let true_h = self.health_all(&true_v);
            out.deferred = (0..hs.len())
                .filter(|&k| {
                    hs[k].maintenance() >= 0.0
                        && true_h[k].maintenance() < 0.0
                        && self.has_exposure(k)
                })
                .count() as u64;
        }
        if underwater.is_empty() {
            return out;
        }
        if ctx.breakers && self.breaker_trips(ctx) {
            out.paused = true;
            out.deferred += underwater.len() as u64;
            return out;
        }
        let (mut perps_closed, mut notional, mut options_closed) = (0u64, 0.0, 0u64);
        for &k in &underwater {
            let b = self.book(k);
            for p in b.perps.iter().filter(|p| p.size != 0.0) {
                perps_closed += 1;
                notional += p.size.abs() * v.marks[p.market];
            }
            options_closed += b.options.iter().filter(|o| o.size != 0.0).count() as u64;
            self.liquidate_account(k, &v, &mut out);
        }
        out.accounts_liquidated = underwater.len() as u64;
        out.notes.push(format!(
            "{} account(s) below maintenance margin closed: {perps_closed} perp position(s), {} notional at the marks, and {options_closed} option position(s)",
            underwater.len(),
            usd_text(notional)
        ));
        out
    }

    fn settle(
        &mut self,
        fills: &[ProtocolFill],
        buys: &[ProtocolBuyFill],
        prices: &[f64],
    ) -> Settlement {
        let sale_price = |a: AssetIdx| {
            fills
                .iter()
                .find(|f| f.asset == a && f.quantity > 0.0)
                .map(|f| f.proceeds_usd / f.quantity)
        };
        let buy_price = |a: AssetIdx| {
            buys.iter()
                .find(|f| f.asset == a && f.quantity > 0.0)
                .map(|f| f.cost_usd / f.quantity)
        };
        for t in std::mem::take(&mut self.pending) {
            match t {
                PendingTrade::Perp {
                    account,
                    underlying,
                    size,
                    entry_price,
                } => {
                    let px = if size > 0.0 {
                        sale_price(underlying)
                    } else {
                        buy_price(underlying)
                    }
                    .unwrap_or(prices[underlying]);
                    self.cash[account] += size * (px - entry_price);
                }
                PendingTrade::Collateral {
                    account,
                    asset,
                    quantity,
                } => {
                    let px = sale_price(asset).unwrap_or(prices[asset]);
                    self.cash[account] += quantity * px;
                }
            }
        }
        let mut bad_usd = 0.0;
        let mut accounts_bad_debt = 0;
        let share = self.params.insurance_fee_share;
        for (k, fees) in std::mem::take(&mut self.pending_accounts) {
            if self.cash[k] >= 0.0 {
                continue;
            }
            // A bankrupt account cannot pay its liquidation fee: the unpaid part is refunded (taken
            // back from the insurance fund's share), so bad debt never includes fees.
            let unpaid = fees.min(-self.cash[k]);
            self.cash[k] += unpaid;
            self.fund_usd = (self.fund_usd - unpaid * share).max(0.0);
            if self.cash[k] >= 0.0 {
                continue;
            }
            // The remaining collateral covers what it can, at its value.
            for (a, q) in &mut self.collateral[k] {
                if self.cash[k] >= 0.0 {
                    break;
                }
                let p = prices[*a];
                if *q <= 0.0 || p <= 0.0 {
                    continue;
                }
                let take = q.min(-self.cash[k] / p);
                *q -= take;
                self.cash[k] += take * p;
            }
            if self.cash[k] < -1e-9 {
                bad_usd += -self.cash[k];
                accounts_bad_debt += 1;
            }
            self.cash[k] = self.cash[k].max(0.0);
        }
        if bad_usd <= 0.0 {
            return Settlement::default();
        }
        let a = self.settlement_asset;
        let p = prices[a];
        Settlement {
            bad_debt: vec![BadDebt {
                asset: a,
                tokens: if p > 0.0 { bad_usd / p } else { 0.0 },
                usd: bad_usd,
            }],
            accounts_bad_debt,
        }
    }

    fn absorb_losses(&mut self, round: &ProtocolRound, prices: &[f64]) -> LossOutcome {
        let bad = round.bad_debt_usd();
        if bad <= 0.0 {
            return LossOutcome::default();
        }
        let paid = self.fund_pay(bad, prices);
        let winners = self.charge_winners(bad - paid, prices);
        self.winners_paid_usd += winners;
        LossOutcome {
            insurance_used_usd: paid,
            uncovered_usd: (bad - paid - winners).max(0.0),
            winners_paid_usd: winners,
        }
    }

    fn insurance_fund_usd(&self, prices: &[f64]) -> f64 {
        self.fund_usd + self.fund.iter().map(|&(a, q)| q * prices[a]).sum::<f64>()
    }

    fn end_state(&self, prices: &[f64]) -> EndState {
        let marks = self.marks(u32::MAX, prices);
        let v = self.valuation(prices, marks);
        let hs = self.health_all(&v);
        let mut st = EndState::default();
        for (k, h) in hs.iter().enumerate() {
            if self.liquidated[k] {
                st.accounts_liquidated += 1;
            }
            if h.maintenance() < 0.0 && self.has_exposure(k) {
                st.accounts_underwater += 1;
                st.shortfall_usd += (-h.net_value).max(0.0);
            }
        }
        st
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
