//! The live state of `cascade serve` (docs/serve-live.md): a snapshot kept current as price updates
//! and position changes stream in, with its risk recomputed incrementally.
//!
//! Kept current after every batch: each account's health-factor bin, and per protocol the accounts
//! and the tokens (per asset and side) of each bin, the open accounts and token totals; the USD
//! figures are those tokens at the current prices. A price update recomputes the accounts whose
//! bin it may change: those whose price band it leaves (`coords`, `bands`) and those with more
//! than two price coordinates (`rows`) whose tolerance the prices since their reference may exceed
//! (`tol`); a position change only its account (`reprice`). The liquidation ladder
//! ([`Live::ladder`]) reads lists keyed by ratios no price changes plus the accounts with more
//! coordinates that the tolerances cannot place out of it (`ladder`).
//!
//! Health is incremental for lending pools (the pool's rule, e-mode and isolation mode as
//! `cascade_protocols::lending::LendingPool` resolves them) and CDP vaults (`CR / LR`, debt at par).
//! Accounts of other kinds (clearinghouse) keep their positions, so that [`Live::snapshot`] is
//! complete, but have no incremental health; their derivatives (perps, options) are kept as the
//! snapshot had them.

mod agg;
mod bands;
mod book;
mod check;
mod checkpoint;
mod coords;
mod error;
mod holders;
mod ladder;
mod pricing;
mod reprice;
mod resolve;
mod rows;
mod snapshot;
mod tol;
mod views;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_bins;
#[cfg(test)]
mod tests_tol;

use std::collections::HashMap;

use cascade_model::{
    Accounts, HealthFactorRule, NameList, OptionPositions, PerpPositions, ProtocolIdx,
    ProtocolParams, Side, Snapshot,
};
use cascade_protocols::lending::health_factor_by;

use crate::events::{Change, PositionSide};

pub use agg::{HF_BINS, HF_BIN_EDGES};
pub use error::LiveError;
pub use pricing::PRICE_PASSES;
pub use views::{
    AccountView, BelowOne, DropView, HistogramBin, Ladder, LadderPoint, LargestAccount,
    PositionView, ProtocolLadder, ProtocolTotals, ProtocolView, ReserveView, Summary,
    VaultTypeView,
};

use agg::ProtocolAgg;
use book::Book;
use check::check;
use coords::{Coords, Family};
use holders::Holders;
use pricing::Pricing;
use reprice::KeyState;

/// Longest accepted account id, bytes.
pub const MAX_ACCOUNT_ID_LEN: usize = 256;

/// The drops of the liquidation ladder's headline points: 5%, 10%, 20%, 30%.
pub const LADDER_DROPS: [f64; 4] = [0.05, 0.10, 0.20, 0.30];
/// The ladder's fine curve: every 1% from 1% to this many percent.
pub const LADDER_CURVE_MAX_PERCENT: u32 = 50;

/// A change checked against the state and with its names resolved to indices, ready for
/// [`Live::apply`]. Valid for the state it was resolved against and every later state (assets and
/// protocols never change, accounts are only added).
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved(Op);

impl Resolved {
    /// The asset (snapshot index) and USD price of a price change.
    pub fn price(&self) -> Option<(usize, f64)> {
        match self.0 {
            Op::Price { asset, usd } => Some((asset, usd)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Price {
        asset: usize,
        usd: f64,
    },
    Position {
        protocol: ProtocolIdx,
        account: AccountRef,
        asset: usize,
        side: Side,
        tokens: f64,
    },
    Close {
        account: u32,
    },
}

/// An account named by a position change: known, or to be opened when the change is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AccountRef {
    Known(u32),
    New(String),
}

/// How a protocol's accounts are weighted (see [`book`]).
#[derive(Debug, Clone)]
enum Rules {
    Lending {
        rule: HealthFactorRule,
        /// Per asset: the reserve's liquidation threshold if collateral-enabled, else 0.
        lt: Vec<f64>,
        /// Per asset: isolated collateral (a reserve with a debt ceiling).
        isolated: Vec<bool>,
        /// Per e-mode category: its threshold and its assets.
        emode: Vec<(f64, Vec<bool>)>,
    },
    Cdp {
        stable: usize,
        /// Per vault type: its collateral and `1 / liquidation_ratio`.
        types: Vec<(usize, f64)>,
    },
    Untracked,
}

impl Rules {
    fn of(p: &cascade_model::Protocol, n: usize) -> Rules {
        match &p.params {
            ProtocolParams::Lending(l) => {
                let mut lt = vec![0.0; n];
                let mut isolated = vec![false; n];
                for r in &l.reserves {
                    if r.collateral_enabled {
                        lt[r.asset] = r.liquidation_threshold;
                    }
                    isolated[r.asset] = r.debt_ceiling_usd.is_some();
                }
                let emode = l
                    .emode
                    .iter()
                    .map(|c| {
                        let mut m = vec![false; n];
                        c.assets.iter().for_each(|&a| m[a] = true);
                        (c.liquidation_threshold, m)
                    })
                    .collect();
                Rules::Lending {
                    rule: l.health_factor_rule,
                    lt,
                    isolated,
                    emode,
                }
            }
            ProtocolParams::Cdp(c) => Rules::Cdp {
                stable: c.stable,
                types: c
                    .vault_types
                    .iter()
                    .map(|v| (v.collateral, 1.0 / v.liquidation_ratio))
                    .collect(),
            },
            _ => Rules::Untracked,
        }
    }

    fn tracked(&self) -> bool {
        !matches!(self, Rules::Untracked)
    }

    /// The health factor from an account's sums: the pool's rule for lending, `CR / LR` (the
    /// weights hold `1/LR`) for a vault; NaN untracked.
    #[inline]
    fn health(&self, weighted: f64, collateral_weighted: f64, debt: f64) -> f64 {
        match self {
            Rules::Lending { rule, .. } => {
                health_factor_by(*rule, weighted, collateral_weighted, debt)
            }
            Rules::Cdp { .. } => health_factor_by(HealthFactorRule::Exact, weighted, 0.0, debt),
            Rules::Untracked => f64::NAN,
        }
    }
}

/// The live state (module doc).
pub struct Live {
    /// The snapshot without its accounts: assets (prices as loaded), protocols (default LP supplies
    /// made explicit), correlations.
    base: Snapshot,
    perps: PerpPositions,
    options: OptionPositions,
    pricing: Pricing,
    accounts: Accounts,
    book: Book,
    rules: Vec<Rules>,
    tracked: Vec<bool>,
    /// Per protocol: its rule's slack below the exact health factor (see `reprice::slack`).
    eta: Vec<f64>,
    agg: Vec<ProtocolAgg>,
    holders: Holders,
    family: Family,
    coords: Coords,
    /// Where every account's bin is kept current, and the ladder's lists.
    keys: KeyState,
    /// A coordinate's price is 0 (or not finite): no bands; every price batch recomputes all.
    degenerate: bool,
    asset_ids: HashMap<String, usize>,
    protocol_ids: HashMap<String, usize>,
    seq: u64,
    updated_at_ms: i64,
    /// Per account: touched by a position change of the batch being applied (bits).
    touched: Vec<u64>,
    /// Candidates of a price pass (bits), kept to reuse the allocation.
    scratch: Vec<u64>,
    /// The ladder grids (standard drops, per protocol) of the accounts with more than two
    /// coordinates of the one coordinate the last batch's pass went through, at the prices now.
    many_ladder: Option<(usize, Vec<ladder::Grid>)>,
}

#[inline]
fn set_bit(bits: &mut [u64], k: usize) -> bool {
    let (w, b) = (k / 64, 1u64 << (k % 64));
    let was = bits[w] & b != 0;
    bits[w] |= b;
    !was
}

impl Live {
    /// The live state of `snapshot` at its prices. The snapshot is one the loader or the generator
    /// produced; indices and numbers this state reads are checked, and a snapshot that breaks them
    /// is refused ([`LiveError::Snapshot`]).
    pub fn new(snapshot: Snapshot) -> Result<Live, LiveError> {
        check(&snapshot)?;
        let protocols = pricing::resolve_lp_supply(&snapshot);
        let pricing = Pricing::new(&snapshot, &protocols);
        Ok(Live::assemble(snapshot, protocols, pricing))
    }

    /// Builds the state from a checked snapshot, its protocols and its pricing.
    fn assemble(s: Snapshot, protocols: Vec<cascade_model::Protocol>, pricing: Pricing) -> Live {
        let n = s.assets.len();
        let Snapshot {
            name,
            source,
            assets,
            correlations,
            protocols: _,
            accounts,
            positions,
            perps,
            options,
        } = s;
        let base = Snapshot {
            name,
            source,
            assets,
            correlations,
            protocols,
            ..Default::default()
        };
        let rules: Vec<Rules> = base.protocols.iter().map(|p| Rules::of(p, n)).collect();
        let tracked = rules.iter().map(Rules::tracked).collect();
        let eta = rules.iter().map(reprice::slack).collect();
        let n_acc = accounts.len();
        let book = Book::new(
            n_acc,
            &positions.account,
            &positions.asset,
            &positions.side,
            &positions.amount,
        );
        drop(positions);
        let family = Family::new(n, |a| pricing.follows_underlying(a));
        let coords = Coords::new(&family, n);
        let mut live = Live {
            agg: (0..base.protocols.len())
                .map(|_| ProtocolAgg::new(n + 2))
                .collect(),
            asset_ids: base
                .assets
                .iter()
                .enumerate()
                .map(|(i, a)| (a.id.clone(), i))
                .collect(),
            protocol_ids: base
                .protocols
                .iter()
                .enumerate()
                .map(|(i, p)| (p.id.clone(), i))
                .collect(),
            base,
            perps,
            options,
            pricing,
            accounts,
            book,
            rules,
            tracked,
            eta,
            holders: Holders::default(),
            family,
            coords,
            keys: KeyState::default(),
            degenerate: false,
            seq: 0,
            updated_at_ms: 0,
            touched: vec![0; n_acc.div_ceil(64)],
            scratch: Vec::new(),
            many_ladder: None,
        };
        for k in 0..n_acc {
            live.restate(k);
            let p = live.accounts.protocol[k] as usize;
            for i in live.book.slots(k) {
                let side = side_ix(live.book.side[i]);
                live.agg[p].tokens[live.book.price_ix[i] as usize][side].add(live.book.amount[i]);
            }
            if live.book.len[k] > 0 {
                live.agg[p].open += 1;
            }
        }
        live.holders = Holders::new(n, &live.book);
        live.rebuild();
        live
    }

    /// Sets account `k`'s price slots and weights from its protocol's rules.
    fn restate(&mut self, k: usize) {
        let p = self.accounts.protocol[k] as usize;
        restate(
            &self.rules[p],
            self.accounts.emode[k],
            self.accounts.vault_type[k],
            (self.pricing.par() as u32, self.pricing.zero() as u32),
            &mut self.book,
            k,
        );
    }

    /// The price slot a position of protocol `p` is valued at.
    fn price_slot(&self, p: usize, asset: usize, side: Side) -> u32 {
        match (&self.rules[p], side) {
            (Rules::Cdp { stable, .. }, Side::Debt) if asset == *stable => {
                self.pricing.par() as u32
            }
            (Rules::Cdp { .. }, Side::Debt) => self.pricing.zero() as u32,
            _ => asset as u32,
        }
    }

    /// Account `id` of protocol `p`, if it exists.
    fn find(&self, p: usize, id: &str) -> Option<u32> {
        self.accounts
            .find(p, id)
            .filter(|&k| (k as usize) < self.book.accounts())
    }

    /// Applies a batch of resolved changes. The result is the state that applying them one at a
    /// time, in order, would give (prices and positions are absolute, so only the order of the
    /// changes of one account matters, and it is kept); the work is done once per batch:
    ///
    /// 1. every change is written in order (prices into the exogenous prices, positions into the
    ///    account's slab, token totals and holder lists updated); an account whose positions change
    ///    is first taken out of the aggregates and indexes;
    /// 2. if a price moved, every derived price is re-derived (lst, receipt and bridged from their
    ///    underlying, issued assets from their issuer), and the accounts whose bin the move may
    ///    have changed — those whose band it leaves, and those checked at every move — are
    ///    recomputed (docs/serve-live.md#what-a-price-update-recomputes);
    /// 3. the accounts whose positions changed are put back: bin, aggregates, keys, ladder entry.
    ///
    /// A change that does not belong to this state (an index out of range) is skipped.
    pub fn apply(&mut self, batch: &[Resolved]) {
        let n = self.pricing.assets();
        let mut moved = false;
        for r in batch {
            match &r.0 {
                Op::Price { asset, usd } => {
                    if self
                        .base
                        .assets
                        .get(*asset)
                        .is_some_and(|a| a.kind.is_exogenous())
                    {
                        moved |= self.pricing.set(*asset, *usd);
                    }
                }
                Op::Position {
                    protocol,
                    account,
                    asset,
                    side,
                    tokens,
                } => {
                    if *protocol >= self.rules.len() || *asset >= n {
                        continue;
                    }
                    let k = match account {
                        AccountRef::Known(k) if (*k as usize) < self.book.accounts() => *k as usize,
                        AccountRef::Known(_) => continue,
                        AccountRef::New(id) => match self.find(*protocol, id) {
                            Some(k) => k as usize,
                            None if *tokens > 0.0 => self.open(*protocol, id),
                            None => continue,
                        },
                    };
                    if self.accounts.protocol[k] as usize != *protocol {
                        continue;
                    }
                    self.set_position(k, *asset, *side, *tokens);
                }
                Op::Close { account } => {
                    let k = *account as usize;
                    if k < self.book.accounts() {
                        self.close(k);
                    }
                }
            }
        }
        self.many_ladder = None;
        let mut rebuilt = false;
        if moved {
            let before = self.pricing.prices.clone();
            self.pricing.derive();
            if self.bands_hold() {
                self.reprice(&before);
            } else {
                self.rebuild();
                rebuilt = true;
            }
        }
        for w in 0..self.touched.len() {
            let mut bits = std::mem::take(&mut self.touched[w]);
            while bits != 0 {
                let k = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if !rebuilt {
                    self.attach(k);
                }
                self.many_ladder = None;
            }
        }
        self.merge_all(false);
        self.holders.compact(&self.book);
    }

    /// Records the last applied event's sequence number and time (milliseconds since the Unix
    /// epoch), reported by [`Live::summary`] and kept by checkpoints.
    pub fn set_applied(&mut self, seq: u64, at_ms: i64) {
        self.seq = seq;
        self.updated_at_ms = at_ms;
    }

    /// Opens account `id` in protocol `p` (no positions yet).
    fn open(&mut self, p: usize, id: &str) -> usize {
        let k = self.accounts.get_or_insert(p, id) as usize;
        while self.book.accounts() <= k {
            self.book.push_account();
        }
        self.keys.grow_to(self.book.accounts());
        self.touched.resize(self.book.accounts().div_ceil(64), 0);
        k
    }

    /// Marks account `k` touched by this batch; the first time, takes it out of the aggregates and
    /// indexes (it is put back at the end of the batch).
    fn touch(&mut self, k: usize) {
        if set_bit(&mut self.touched, k) {
            self.detach(k);
        }
    }

    fn set_position(&mut self, k: usize, asset: usize, side: Side, tokens: f64) {
        self.touch(k);
        let p = self.accounts.protocol[k] as usize;
        if let Rules::Cdp { types, .. } = &self.rules[p] {
            if side == Side::Collateral && tokens > 0.0 && self.accounts.vault_type[k].is_none() {
                // A vault opened live takes the first type of its first collateral.
                self.accounts.vault_type[k] = types
                    .iter()
                    .position(|&(c, _)| c == asset)
                    .and_then(|t| u16::try_from(t).ok());
            }
        }
        let slot = self.price_slot(p, asset, side);
        let n = self.pricing.assets();
        let held = (slot as usize) < n && self.book.holds(k, slot);
        let was_open = self.book.len[k] > 0;
        let out = self.book.set(k, asset as u32, side, tokens, slot);
        self.agg[p].tokens[slot as usize][side_ix(side)].add(tokens - out.old_tokens);
        if (slot as usize) < n {
            match (held, self.book.holds(k, slot)) {
                (false, true) => self.holders.added(slot as usize, k as u32),
                (true, false) => self.holders.removed(slot as usize),
                _ => {}
            }
        }
        self.reopen(p, was_open, self.book.len[k] > 0);
    }

    fn close(&mut self, k: usize) {
        self.touch(k);
        let p = self.accounts.protocol[k] as usize;
        let n = self.pricing.assets();
        let slots = self.book.slots(k);
        let mut gone: Vec<u32> = Vec::with_capacity(slots.len());
        for i in slots {
            let slot = self.book.price_ix[i];
            self.agg[p].tokens[slot as usize][side_ix(self.book.side[i])].add(-self.book.amount[i]);
            if (slot as usize) < n && !gone.contains(&slot) {
                gone.push(slot);
            }
        }
        gone.iter().for_each(|&a| self.holders.removed(a as usize));
        let was_open = self.book.len[k] > 0;
        self.book.clear(k);
        self.reopen(p, was_open, false);
    }

    fn reopen(&mut self, p: usize, was: bool, is: bool) {
        match (was, is) {
            (false, true) => self.agg[p].open += 1,
            (true, false) => self.agg[p].open -= 1,
            _ => {}
        }
    }

    /// An asset's price now, USD per token.
    pub fn price(&self, asset: &str) -> Option<f64> {
        let a = *self.asset_ids.get(asset)?;
        self.pricing.prices.get(a).copied()
    }

    /// Every asset's price now, USD per token, in snapshot order.
    pub fn prices(&self) -> &[f64] {
        &self.pricing.prices[..self.pricing.assets()]
    }

    /// Number of accounts (open or closed).
    pub fn accounts(&self) -> usize {
        self.book.accounts()
    }

    /// Debt (USD, at the dropped prices) of the accounts that are not liquidatable now and would
    /// be if `asset` and the assets priced from it (its lst, receipt, bridged forms) dropped by
    /// `drop` (a fraction in [0, 1]), all other prices held, under the exact health-factor rule.
    /// Accounts already below 1 are not included (see [`Live::summary`]). `None` for an unknown
    /// asset or a drop outside [0, 1].
    pub fn liquidatable_debt(&self, asset: &str, drop: f64) -> Option<f64> {
        let y = *self.asset_ids.get(asset)?;
        if !(0.0..=1.0).contains(&drop) {
            return None;
        }
        Some(
            self.ladder_grids(y, &[drop])
                .iter()
                .map(|g| g.finish()[0].1)
                .sum(),
        )
    }
}

/// Sets account `k`'s price slots and weights from its protocol's `rules` (e-mode category
/// `emode`, isolation mode, vault type `vault_type`), as `LendingPool::new` and `Cdp::new`
/// resolve them; `par_zero` are the price slots of 1 USD and of nothing.
fn restate(
    rules: &Rules,
    emode: Option<u16>,
    vault_type: Option<u16>,
    (par, zero): (u32, u32),
    b: &mut Book,
    k: usize,
) {
    let slots = b.slots(k);
    match rules {
        Rules::Lending {
            lt,
            isolated,
            emode: cats,
            ..
        } => {
            let cat = emode.and_then(|c| cats.get(c as usize));
            let mut iso = None;
            for i in slots.clone() {
                let a = b.asset[i] as usize;
                b.price_ix[i] = a as u32;
                b.weight[i] = match b.side[i] {
                    Side::Collateral => match cat {
                        Some((t, m)) if m[a] => *t,
                        _ => lt[a],
                    },
                    Side::Debt => 0.0,
                };
                if iso.is_none()
                    && b.side[i] == Side::Collateral
                    && b.amount[i] > 0.0
                    && isolated[a]
                {
                    iso = Some(a as u32);
                }
            }
            if let Some(iso) = iso {
                for i in slots {
                    if b.side[i] == Side::Collateral && b.asset[i] != iso {
                        b.weight[i] = 0.0;
                    }
                }
            }
        }
        Rules::Cdp { stable, types } => {
            let vt = vault_type.unwrap_or(0) as usize;
            let (coll, w) = types.get(vt).copied().unwrap_or((usize::MAX, 0.0));
            for i in slots {
                let a = b.asset[i] as usize;
                match b.side[i] {
                    Side::Collateral => {
                        b.price_ix[i] = a as u32;
                        b.weight[i] = if a == coll { w } else { 0.0 };
                    }
                    Side::Debt => {
                        b.price_ix[i] = if a == *stable { par } else { zero };
                        b.weight[i] = 0.0;
                    }
                }
            }
        }
        Rules::Untracked => {
            for i in slots {
                b.price_ix[i] = b.asset[i];
                b.weight[i] = 0.0;
            }
        }
    }
}

fn side_ix(s: Side) -> usize {
    match s {
        Side::Collateral => 0,
        Side::Debt => 1,
    }
}
