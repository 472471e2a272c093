//! CDP stablecoins with MakerDAO semantics (docs/cdp.md#cdp-stablecoins).
//!
//! A vault of type `t` holds `c` tokens of `t`'s collateral and owes `d` of the stable, debt valued at
//! 1 USD. Each round, at the oracle prices:
//!
//! - **Auction.** A vault whose collateral ratio `CR = c·p/d` is below `t.liquidation_ratio` is closed
//!   and its whole collateral auctioned: sold on the collateral's curve (one [`SaleOrder`] per asset,
//!   `wanted: None`, so a collateral quoted in another asset — stETH in ETH — is sold on to USD).
//!   Auctions happen whatever a keeper's profit: there is no profitability gate as in lending.
//! - **Settlement** (after the round's sales): the protocol's share of an asset's proceeds is split
//!   among that asset's auctions in proportion to the tokens each sold. Of an auction's proceeds `P`,
//!   the protocol receives `P·auction_efficiency` (the rest is the keepers' cut); it keeps up to
//!   `d·(1 + penalty)` of that — the penalty part `kept − d` goes to the surplus buffer — and refunds
//!   the rest to the vault's owner. A shortfall `d − kept > 0` is bad debt of the stable (gross, 1 USD
//!   per token). See [`auction_split`].
//! - **Zero bids** (`zero_bid_when_illiquid`, Black Thursday): keepers take a round's auctions of a
//!   collateral in vault order while the curve, as it stands at the round's start, absorbs them: the
//!   longest prefix whose combined lot would sell for at least [`ZERO_BID_MIN_PROCEEDS_SHARE`] of its
//!   oracle value ([`absorbs`]) is sold as one order. Every later auction of that collateral in the
//!   round goes for nothing: proceeds 0, its whole debt is shortfall. The keeper who bid zero keeps
//!   the collateral; it is not sold in the cascade and moves no price.
//! - **Losses** (step 4): a round's shortfall is paid first from the surplus buffer (reported as
//!   `insurance_used_usd`; penalty income of the same round is already in it), the rest is an
//!   uncovered deficit (the debt auction's dilution), which lowers `backing`.
//!
//! **Pricing the stable** (docs/cdp.md#stablecoin-price). With the open vaults' collateral value `V` (at current prices),
//! the PSM reserve of `R` tokens of another stable priced `p_R`, the surplus `S` and the uncovered
//! deficit `D`, and the supply `Σ d` (open vaults) `+ R` (the PSM minted one stable per reserve token):
//!
//! ```text
//! backing      = (V + R·p_R + S − D) / (Σ d + R)
//! psm_share    = R / (V + R + S − D)          (the PSM's share of backing, the reserve at par)
//! pass_through = 1 − psm_share·(1 − p_R)
//! p_stable     = min(1, backing, pass_through)   with the scenario's peg_follows_backing
//! p_stable     = 1                               without it (the peg holds; losses show as deficit)
//! ```
//!
//! The minimum, not a product, because `backing` already values the reserve at `p_R`: a product would
//! count the reserve's depeg twice. The stable's market impact (sales of it on its own curve) applies
//! on top, as for every asset.
//!
//! Modelling decisions (documented in docs/):
//! - A vault counts only its type's collateral (other collateral rows count for nothing; the loader
//!   warns about them) and owes only the stable (the loader refuses other debt).
//! - `dust` and `debt_ceiling` change no figure: whole vaults are auctioned (so no partial auction
//!   leaves dust) and the cascade mints nothing new (so no ceiling binds). They are read and kept.
//! - Bad debt and the surplus are in USD at 1 per stable token (the protocol owes the stable at par),
//!   whatever the stable trades at.
//! - The liquidation record of an auction reports the debt as repaid at 1 USD per token and the
//!   collateral seized at the oracle price; vaults left short are counted at settlement.

use cascade_market::price::SaleOrder;
use cascade_model::{AssetIdx, CdpParams, ProtocolKind, Scenario, Side, Snapshot};

use crate::pool_rows::SnapshotRows;
use crate::{
    AccountLog, AccountResult, BadDebt, CallRecord, EndState, LiquidationRecord, LossOutcome,
    PriceInput, ProtocolBuyFill, ProtocolFill, ProtocolModel, ProtocolRound, RoundCtx, Settlement,
};

/// Zero bids (with `zero_bid_when_illiquid`): keepers bid on a lot only if reselling it on the
/// round-start curve would return at least this share of its oracle value, i.e. at an average price
/// at most 10% below the oracle. A modelling choice, calibrated on Black Thursday
/// (examples/replays): keepers' resale margin is thin (the penalty goes to the protocol, not to
/// them). On an untouched square-root-law curve (`k = 1`) the absorbed lot moves the price by at
/// most 15%: its proceeds share is `1 − (2/3)·√x ≥ 0.9` for `√x ≤ 0.15`.
pub const ZERO_BID_MIN_PROCEEDS_SHARE: f64 = 0.9;

/// Whether the curve of `a`, as it stands at the round's start, absorbs a lot of `tokens`: its quoted
/// proceeds (in the venue's quote asset, valued at the oracle price of that asset) are at least
/// [`ZERO_BID_MIN_PROCEEDS_SHARE`] of the lot's oracle value. An empty lot is absorbed.
pub fn absorbs(ctx: &RoundCtx, a: AssetIdx, tokens: f64) -> bool {
    if tokens <= 0.0 {
        return true;
    }
    let value = tokens * ctx.prices[a];
    let quote_price = ctx.market.venues[a].quote.map_or(1.0, |x| ctx.prices[x]);
    let quoted = ctx.market.quote_proceeds(a, tokens) * quote_price;
    quoted >= ZERO_BID_MIN_PROCEEDS_SHARE * value
}

/// How one auction's proceeds are divided (docs/cdp.md#cdp-stablecoins), all in USD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AuctionSplit {
    /// The keepers' cut: `P·(1 − auction_efficiency)`.
    pub keeper_usd: f64,
    /// What the protocol keeps: `min(P·efficiency, d·(1 + penalty))`.
    pub kept_usd: f64,
    /// The part of `kept` above the debt, `max(0, kept − d)`: the penalty, to the surplus buffer.
    pub penalty_usd: f64,
    /// Returned to the vault's owner: `P·efficiency − kept`.
    pub refund_usd: f64,
    /// Debt the auction did not cover, `max(0, d − kept)`: bad debt.
    pub shortfall_usd: f64,
}

/// Splits an auction's curve proceeds `proceeds_usd` for a vault owing `debt` (stable tokens, 1 USD
/// each) with liquidation `penalty`: the protocol receives `P·efficiency`, keeps up to `d·(1+penalty)`
/// and refunds the rest; so `P = keeper + kept + refund` and `kept + shortfall ≥ d`.
///
/// ```
/// use cascade_protocols::cdp::auction_split;
/// // 10,000 of debt, 13% penalty, 12,000 of proceeds at 95%: 11,400 reach the protocol, which keeps
/// // 11,300 (1,300 of penalty) and refunds 100.
/// let s = auction_split(12_000.0, 0.95, 10_000.0, 0.13);
/// assert!((s.kept_usd - 11_300.0).abs() < 1e-9 && (s.refund_usd - 100.0).abs() < 1e-9);
/// assert_eq!(s.shortfall_usd, 0.0);
/// ```
pub fn auction_split(proceeds_usd: f64, efficiency: f64, debt: f64, penalty: f64) -> AuctionSplit {
    let received = proceeds_usd * efficiency;
    let kept = received.min(debt * (1.0 + penalty)).max(0.0);
    AuctionSplit {
        keeper_usd: proceeds_usd - received,
        kept_usd: kept,
        penalty_usd: (kept - debt).max(0.0),
        refund_usd: received - kept,
        shortfall_usd: (debt - kept).max(0.0),
    }
}

/// A vault auctioned this round, waiting for its proceeds.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Auction {
    /// The vault's row.
    vault: usize,
    collateral: AssetIdx,
    tokens: f64,
    debt: f64,
    penalty: f64,
    /// No keeper bid: proceeds 0.
    zero_bid: bool,
}

/// A CDP protocol's state: its vaults (one row each, in snapshot account order), buffers and PSM.
#[derive(Clone)]
pub struct Cdp {
    id: String,
    params: CdpParams,
    /// Snapshot index of each vault's account.
    account: Vec<u32>,
    /// Vault type (index into `params.vault_types`) of each vault.
    vault_type: Vec<u16>,
    /// Collateral tokens of the vault type's collateral.
    collateral: Vec<f64>,
    /// Stable owed, tokens.
    debt: Vec<f64>,
    /// Auctioned (and so closed).
    auctioned: Vec<bool>,
    /// Surplus buffer, USD.
    surplus_usd: f64,
    /// Shortfall no surplus covered, USD.
    deficit_usd: f64,
    /// Whether the stable trades at `min(1, backing, pass_through)` (the scenario's setting).
    peg_follows_backing: bool,
    /// This round's auctions, settled after the sales.
    pending: Vec<Auction>,
    /// Per vault, when recording (empty otherwise).
    logs: Vec<AccountLog>,
}

impl Cdp {
    /// The CDP of protocol `protocol` of `s`.
    pub fn new(s: &Snapshot, protocol: usize, params: &CdpParams) -> Cdp {
        Cdp::with_rows(s, protocol, params, &SnapshotRows::new(s))
    }

    /// [`Cdp::new`], with the snapshot's accounts and rows found once for all its models.
    pub(crate) fn with_rows(
        s: &Snapshot,
        protocol: usize,
        params: &CdpParams,
        index: &SnapshotRows,
    ) -> Cdp {
        let account = index.accounts(protocol).to_vec();
        let vault_type: Vec<u16> = account
            .iter()
            .map(|&a| s.accounts.vault_type[a as usize].unwrap_or(0))
            .collect();
        let n = vault_type.len();
        let mut collateral = vec![0.0; n];
        let mut debt = vec![0.0; n];
        let pos = &s.positions;
        let add = |l: usize, r: usize| {
            let a = pos.asset[r] as usize;
            match pos.side[r] {
                Side::Collateral => {
                    let vt = params.vault_types.get(vault_type[l] as usize);
                    if vt.is_some_and(|v| v.collateral == a) {
                        collateral[l] += pos.amount[r];
                    }
                }
                Side::Debt if a == params.stable => debt[l] += pos.amount[r],
                Side::Debt => {}
            }
        };
        index.rows(s, protocol).each(&pos.account, &account, add);
        Cdp {
            id: s.protocols[protocol].id.clone(),
            params: params.clone(),
            account,
            vault_type,
            collateral,
            debt,
            auctioned: vec![false; n],
            surplus_usd: params.surplus_buffer_usd,
            deficit_usd: 0.0,
            peg_follows_backing: false,
            pending: Vec::new(),
            logs: Vec::new(),
        }
    }

    fn collateral_asset(&self, k: usize) -> AssetIdx {
        self.params.vault_types[self.vault_type[k] as usize].collateral
    }

    /// Σ over open vaults of `(collateral value, debt)` at `prices`.
    fn open_totals(&self, prices: &[f64]) -> (f64, f64) {
        let mut v = 0.0;
        let mut d = 0.0;
        for k in 0..self.debt.len() {
            if !self.auctioned[k] {
                v += self.collateral[k] * prices[self.collateral_asset(k)];
                d += self.debt[k];
            }
        }
        (v, d)
    }

    /// PSM reserve: (tokens, value at `prices`).
    fn psm(&self, prices: &[f64]) -> (f64, f64) {
        self.params
            .psm
            .map_or((0.0, 0.0), |(a, r)| (r, r * prices[a]))
    }

    /// `backing = (V + R·p_R + S − D) / (Σ d + R)` (module doc); infinite with no supply.
    pub fn backing(&self, prices: &[f64]) -> f64 {
        let (v, d) = self.open_totals(prices);
        let (r, r_value) = self.psm(prices);
        let supply = d + r;
        if supply <= 0.0 {
            return f64::INFINITY;
        }
        (v + r_value + self.surplus_usd - self.deficit_usd) / supply
    }

    /// The stable's price from the protocol's state (module doc).
    pub fn stable_price(&self, prices: &[f64]) -> f64 {
        if !self.peg_follows_backing {
            return 1.0;
        }
        let backing = self.backing(prices);
        let pass_through = match self.params.psm {
            Some((a, r)) if r > 0.0 => {
                let (v, _) = self.open_totals(prices);
                let par_backing = v + r + self.surplus_usd - self.deficit_usd;
                let share = if par_backing > 0.0 {
                    (r / par_backing).min(1.0)
                } else {
                    1.0
                };
                1.0 - share * (1.0 - prices[a])
            }
            _ => 1.0,
        };
        1.0_f64.min(backing).min(pass_through).max(0.0)
    }

    /// Zero bids: of this round's auctions of collateral `a` (in vault order), marks as zero-bid all
    /// after the longest prefix the curve absorbs (see [`absorbs`]), and returns the prefix's tokens.
    /// The proceeds share falls as the lot grows (every curve is concave), so the prefix is found by
    /// bisection.
    fn absorb_prefix(&mut self, ctx: &RoundCtx, a: AssetIdx) -> f64 {
        let idx: Vec<usize> = (0..self.pending.len())
            .filter(|&i| self.pending[i].collateral == a)
            .collect();
        let mut cum = Vec::with_capacity(idx.len() + 1);
        cum.push(0.0);
        for &i in &idx {
            cum.push(cum.last().copied().unwrap_or(0.0) + self.pending[i].tokens);
        }
        // Largest m with absorbs(cum[m]); absorbs(0) holds.
        let (mut lo, mut hi) = (0usize, idx.len());
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if absorbs(ctx, a, cum[mid]) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        for &i in &idx[lo..] {
            self.pending[i].zero_bid = true;
        }
        cum[lo]
    }

    /// Surplus buffer and uncovered deficit, USD.
    pub fn buffers(&self) -> (f64, f64) {
        (self.surplus_usd, self.deficit_usd)
    }
}

impl ProtocolModel for Cdp {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> ProtocolKind {
        ProtocolKind::Cdp
    }

    /// Vault collateral plus the PSM reserve, at `prices`.
    fn tvl_usd(&self, prices: &[f64]) -> f64 {
        let (v, _) = self.open_totals(prices);
        v + self.psm(prices).1
    }

    fn configure(&mut self, scenario: &Scenario) {
        self.peg_follows_backing = scenario.peg_follows_backing;
    }

    fn liquidate(&mut self, ctx: &RoundCtx) -> ProtocolRound {
        let prices = ctx.prices;
        let stable = self.params.stable;
        let mut out = ProtocolRound::default();
        self.pending.clear();
        for k in 0..self.debt.len() {
            let d = self.debt[k];
            if self.auctioned[k] || d <= 0.0 {
                continue;
            }
            let vt = &self.params.vault_types[self.vault_type[k] as usize];
            let a = vt.collateral;
            let c = self.collateral[k];
            let cr = c * prices[a] / d;
            if cr >= vt.liquidation_ratio {
                continue;
            }
            self.pending.push(Auction {
                vault: k,
                collateral: a,
                tokens: c,
                debt: d,
                penalty: vt.liquidation_penalty,
                zero_bid: false,
            });
            self.auctioned[k] = true;
            out.accounts_liquidated += 1;
            if let Some(l) = self.logs.get_mut(k) {
                // The whole vault is auctioned: its debt (at par, as the vault counts it) and its
                // collateral at the round's prices.
                let call = CallRecord {
                    collateral: a,
                    debt: stable,
                    repaid_tokens: d,
                    seized_tokens: c,
                    protocol_fee_tokens: 0.0,
                };
                l.record_call(ctx.round, call, [d, c * prices[a], 0.0]);
            }
            let rec = match out.liquidations.iter_mut().position(|r| r.collateral == a) {
                Some(i) => &mut out.liquidations[i],
                None => {
                    out.liquidations.push(LiquidationRecord {
                        collateral: a,
                        debt: stable,
                        ..Default::default()
                    });
                    out.liquidations.last_mut().expect("just pushed")
                }
            };
            rec.repaid_tokens += d;
            rec.seized_tokens += c;
            rec.repaid_usd += d;
            rec.seized_usd += c * prices[a];
            rec.calls += 1;
        }
        // One lot per collateral. With zero bids on, keepers take the auctions in vault order while
        // the curve absorbs them; the rest of the round's auctions of that collateral get no bid.
        for rec in &out.liquidations {
            let a = rec.collateral;
            let absorbed = if self.params.zero_bid_when_illiquid {
                self.absorb_prefix(ctx, a)
            } else {
                rec.seized_tokens
            };
            if absorbed > 0.0 {
                out.sales.push(SaleOrder {
                    asset: a,
                    quantity: absorbed,
                    wanted: None,
                });
            }
        }
        out
    }

    fn settle(
        &mut self,
        fills: &[ProtocolFill],
        _buys: &[ProtocolBuyFill],
        _prices: &[f64],
    ) -> Settlement {
        let stable = self.params.stable;
        let mut shortfall = 0.0;
        let mut vaults_short = 0;
        for au in std::mem::take(&mut self.pending) {
            let proceeds = if au.zero_bid {
                0.0
            } else {
                fills
                    .iter()
                    .find(|f| f.asset == au.collateral && f.quantity > 0.0)
                    .map_or(0.0, |f| f.proceeds_usd * au.tokens / f.quantity)
            };
            let split = auction_split(
                proceeds,
                self.params.auction_efficiency,
                au.debt,
                au.penalty,
            );
            self.surplus_usd += split.penalty_usd;
            shortfall += split.shortfall_usd;
            vaults_short += u64::from(split.shortfall_usd > 0.0);
            if let Some(l) = self.logs.get_mut(au.vault) {
                l.bad_debt_usd += split.shortfall_usd;
            }
        }
        let bad_debt = if shortfall > 0.0 {
            vec![BadDebt {
                asset: stable,
                tokens: shortfall,
                usd: shortfall,
                accounts: vaults_short,
            }]
        } else {
            Vec::new()
        };
        Settlement {
            bad_debt,
            accounts_bad_debt: vaults_short,
        }
    }

    /// The surplus buffer pays first; the rest is uncovered deficit, which lowers backing.
    fn absorb_losses(&mut self, round: &ProtocolRound, _prices: &[f64]) -> LossOutcome {
        let bad = round.bad_debt_usd();
        if bad <= 0.0 {
            return LossOutcome::default();
        }
        let paid = bad.min(self.surplus_usd.max(0.0));
        self.surplus_usd -= paid;
        self.deficit_usd += bad - paid;
        LossOutcome {
            insurance_used_usd: paid,
            uncovered_usd: bad - paid,
            winners_paid_usd: 0.0,
        }
    }

    /// The surplus buffer (USD; the protocol's own first-loss buffer).
    fn insurance_fund_usd(&self, _prices: &[f64]) -> f64 {
        self.surplus_usd
    }

    fn price_inputs(&self, prices: &[f64]) -> Vec<PriceInput> {
        vec![PriceInput::Price {
            asset: self.params.stable,
            usd: self.stable_price(prices),
        }]
    }

    /// Open vaults below their liquidation ratio, and `max(0, d − c·p)` over them.
    fn record_accounts(&mut self) {
        self.logs = vec![AccountLog::default(); self.account.len()];
    }

    /// A vault's health is its collateral ratio over its type's liquidation ratio (below 1: auctioned);
    /// ∞ without debt. An auctioned vault is closed: ∞.
    fn account_results(&self, prices: &[f64]) -> Vec<AccountResult> {
        (0..self.account.len())
            .map(|k| {
                let vt = &self.params.vault_types[self.vault_type[k] as usize];
                // Debt at par, as the liquidation ratio compares it (docs/cdp.md).
                let d = self.debt[k];
                let health = if self.auctioned[k] || d <= 0.0 {
                    f64::INFINITY
                } else {
                    self.collateral[k] * prices[vt.collateral] / d / vt.liquidation_ratio
                };
                AccountResult {
                    account: self.account[k],
                    health,
                    log: self.logs.get(k).copied().unwrap_or_default(),
                }
            })
            .collect()
    }

    fn end_state(&self, prices: &[f64]) -> EndState {
        let mut st = EndState::default();
        for k in 0..self.debt.len() {
            if self.auctioned[k] {
                st.accounts_liquidated += 1;
                continue;
            }
            let vt = &self.params.vault_types[self.vault_type[k] as usize];
            let d = self.debt[k];
            let value = self.collateral[k] * prices[vt.collateral];
            if d > 0.0 && value < vt.liquidation_ratio * d {
                st.accounts_underwater += 1;
                st.shortfall_usd += (d - value).max(0.0);
            }
        }
        st
    }
}
