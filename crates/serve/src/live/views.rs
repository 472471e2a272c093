//! What the live state shows (serialized by the HTTP API): the summary, each protocol, an
//! account, an asset's liquidation ladder. Amounts are USD at the current prices unless named
//! `_tokens`; a health factor is `null` when it is infinite (no debt) or not tracked.

use serde::Serialize;
use utoipa::ToSchema;

use cascade_model::{ProtocolParams, Side};

use super::agg::{HF_BINS, HF_BIN_EDGES, NO_DEBT_BIN};
use super::book::Sums;
use super::{Live, Rules, LADDER_DROPS};

/// Accounts with `HF < 1` and what they owe and hold.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, ToSchema)]
pub struct BelowOne {
    pub accounts: u64,
    pub debt_usd: f64,
    pub collateral_usd: f64,
}

/// One protocol's totals.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProtocolTotals {
    pub id: String,
    pub kind: &'static str,
    /// How its accounts' health is kept: `"lending"` (the pool's health factor), `"cdp"`
    /// (collateral ratio over liquidation ratio) or `"none"` (positions kept, no incremental health).
    pub health: &'static str,
    /// Collateral held by its accounts (every collateral position at market prices).
    pub collateral_usd: f64,
    /// Debt of its accounts (a CDP's at par).
    pub debt_usd: f64,
    /// Accounts with at least one position.
    pub accounts: u64,
    pub below_one: BelowOne,
}

/// The headline figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Summary {
    /// Sequence number of the last applied event (0 before any).
    pub seq: u64,
    /// When it was received, milliseconds since the Unix epoch.
    pub updated_at_ms: i64,
    /// TVL: collateral held by all accounts, USD.
    pub collateral_usd: f64,
    pub debt_usd: f64,
    /// Accounts with at least one position.
    pub accounts: u64,
    /// Of which with an incremental health (lending, CDP).
    pub accounts_tracked: u64,
    /// Accounts with `HF < 1` under their pool's rule (vaults with `CR < LR`).
    pub below_one: BelowOne,
    pub protocols: Vec<ProtocolTotals>,
}

/// A lending reserve.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReserveView {
    pub asset: String,
    pub price_usd: f64,
    /// The reserve's `supplied`, or the accounts' collateral if larger (docs/lending.md#supplied-value).
    pub supplied_tokens: f64,
    pub borrowed_tokens: f64,
    pub supplied_usd: f64,
    pub borrowed_usd: f64,
    /// `borrowed / supplied` (`null` with nothing supplied).
    pub utilisation: Option<f64>,
    pub ltv: f64,
    pub liquidation_threshold: f64,
    pub liquidation_bonus: f64,
    pub collateral_enabled: bool,
    pub borrowable: bool,
}

/// A CDP vault type.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct VaultTypeView {
    pub id: String,
    pub collateral: String,
    pub price_usd: f64,
    pub vaults: u64,
    pub collateral_tokens: f64,
    pub collateral_usd: f64,
    /// Stable owed, USD at par.
    pub debt_usd: f64,
    /// `collateral_usd / debt_usd` of the type's vaults together (`null` without debt).
    pub collateral_ratio: Option<f64>,
    pub liquidation_ratio: f64,
    pub liquidation_penalty: f64,
}

/// One bin of the health-factor histogram: `lower ≤ HF < upper`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct HistogramBin {
    pub label: String,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub accounts: u64,
    pub debt_usd: f64,
}

/// One of a protocol's largest accounts by debt.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LargestAccount {
    pub account: String,
    pub debt_usd: f64,
    pub collateral_usd: f64,
    pub health_factor: Option<f64>,
}

/// A protocol in detail.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProtocolView {
    #[serde(flatten)]
    pub totals: ProtocolTotals,
    /// A lending pool's rule: `"exact"` or `"aave-v3"`.
    pub health_factor_rule: Option<&'static str>,
    /// Why a figure is missing (a kind without incremental health).
    pub note: Option<String>,
    pub reserves: Vec<ReserveView>,
    pub vault_types: Vec<VaultTypeView>,
    /// Bins `<1`, `1–1.05`, `1.05–1.1`, `1.1–1.25`, `1.25–1.5`, `1.5–2`, `2–5`, `≥5`, `no debt`
    /// (empty for a kind without incremental health).
    pub histogram: Vec<HistogramBin>,
    /// The ten largest accounts by debt.
    pub largest_accounts: Vec<LargestAccount>,
}

/// One position of an account.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PositionView {
    pub asset: String,
    pub side: &'static str,
    pub tokens: f64,
    pub usd: f64,
    /// The weight it has in the health: a lending collateral's effective liquidation threshold
    /// (e-mode, isolation applied), `1/liquidation_ratio` for a vault's collateral, 0 otherwise.
    pub weight: f64,
}

/// The drop of an asset (with the assets priced from it) at which an account becomes liquidatable,
/// all other prices held, exact rule: `d* = (W − D) / K`, `K` the account's net weighted exposure to
/// the asset's family (docs/serve-live.md#liquidation-drop).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DropView {
    pub asset: String,
    pub price_usd: f64,
    /// `null`: no drop up to 100% makes it liquidatable; 0 if it already is.
    pub drop: Option<f64>,
    /// `price · (1 − drop)`.
    pub liquidation_price_usd: Option<f64>,
}

/// An account of one protocol.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AccountView {
    pub protocol: String,
    pub kind: &'static str,
    /// As [`ProtocolTotals::health`].
    pub health: &'static str,
    pub emode: Option<String>,
    pub vault_type: Option<String>,
    pub positions: Vec<PositionView>,
    pub collateral_usd: f64,
    /// `Σ tokens · price · weight` over collateral.
    pub weighted_collateral_usd: f64,
    pub debt_usd: f64,
    /// Under the pool's rule (`CR / LR` for a vault); `null` without debt or untracked.
    pub health_factor: Option<f64>,
    pub liquidatable: bool,
    /// Per asset the account's weighted collateral is exposed to (each collateral and the assets
    /// it is priced from).
    pub drops: Vec<DropView>,
}

/// Accounts and debt that a drop makes liquidatable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct LadderPoint {
    /// Fraction (0.1 = 10%).
    pub drop: f64,
    /// The asset's price after the drop, USD.
    pub price_usd: f64,
    /// Accounts healthy now and liquidatable after the drop.
    pub accounts: u64,
    /// Their debt, USD at the dropped prices.
    pub debt_usd: f64,
}

/// One protocol's share of a ladder: its headline points and its fine curve.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ProtocolLadder {
    pub protocol: String,
    /// At drops of 5%, 10%, 20%, 30%.
    pub points: Vec<LadderPoint>,
    /// At every 1% from 1% to 50%.
    pub curve: Vec<LadderPoint>,
}

/// The liquidation ladder of an asset (docs/serve-live.md#the-liquidation-ladder): what becomes
/// liquidatable if it drops, with the assets priced from it, all other prices held; exact
/// health-factor rule (for an `aave-v3` pool the ladder is the exact rule's, which can differ from
/// the pool's by one basis point of average threshold).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Ladder {
    pub asset: String,
    pub price_usd: f64,
    /// The assets that drop with it (itself first).
    pub family: Vec<String>,
    /// Accounts below 1 now, system-wide: not in the points.
    pub below_one_now: BelowOne,
    /// At drops of 5%, 10%, 20%, 30%.
    pub points: Vec<LadderPoint>,
    /// At every 1% from 1% to 50%.
    pub curve: Vec<LadderPoint>,
    pub by_protocol: Vec<ProtocolLadder>,
}

fn health_name(r: &Rules) -> &'static str {
    match r {
        Rules::Lending { .. } => "lending",
        Rules::Cdp { .. } => "cdp",
        Rules::Untracked => "none",
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn side_name(s: Side) -> &'static str {
    match s {
        Side::Collateral => "collateral",
        Side::Debt => "debt",
    }
}

/// Per protocol, what a pass over the accounts gathers for [`ProtocolView`].
#[derive(Default)]
struct Scan {
    /// (debt, account), largest first, at most [`LARGEST`].
    largest: Vec<(f64, u32)>,
    /// Per vault type: vaults, collateral tokens, debt.
    vault_types: Vec<(u64, f64, f64)>,
}

/// Largest accounts listed per protocol.
pub const LARGEST: usize = 10;

impl Live {
    /// Per protocol, the accounts below 1 and their debt and collateral: the tokens of its
    /// histogram's first bin at the current prices.
    fn below_by_protocol(&self) -> Vec<BelowOne> {
        self.agg
            .iter()
            .map(|a| {
                let accounts = a.hist_accounts[0];
                if accounts == 0 {
                    return BelowOne::default();
                }
                let (c, d) = a.bin_value(0, &self.pricing.prices);
                BelowOne {
                    accounts,
                    debt_usd: d.max(0.0),
                    collateral_usd: c.max(0.0),
                }
            })
            .collect()
    }

    fn totals(&self, p: usize, below: BelowOne) -> ProtocolTotals {
        let agg = &self.agg[p];
        let prices = &self.pricing.prices;
        let (mut c, mut d) = (0.0, 0.0);
        for (slot, t) in agg.tokens.iter().enumerate() {
            c += t[0].value() * prices[slot];
            d += t[1].value() * prices[slot];
        }
        let proto = &self.base.protocols[p];
        ProtocolTotals {
            id: proto.id.clone(),
            kind: proto.kind.name(),
            health: health_name(&self.rules[p]),
            collateral_usd: c,
            debt_usd: d,
            accounts: agg.open,
            below_one: below,
        }
    }

    /// The headline figures: TVL (collateral), debt, accounts, accounts with `HF < 1`, per
    /// protocol totals, the last applied event. O(protocols · bins · assets).
    pub fn summary(&self) -> Summary {
        let below = self.below_by_protocol();
        let protocols: Vec<ProtocolTotals> = (0..self.rules.len())
            .map(|p| self.totals(p, below[p]))
            .collect();
        let mut all = BelowOne::default();
        for b in &below {
            all.accounts += b.accounts;
            all.debt_usd += b.debt_usd;
            all.collateral_usd += b.collateral_usd;
        }
        Summary {
            seq: self.seq,
            updated_at_ms: self.updated_at_ms,
            collateral_usd: protocols.iter().map(|p| p.collateral_usd).sum(),
            debt_usd: protocols.iter().map(|p| p.debt_usd).sum(),
            accounts: protocols.iter().map(|p| p.accounts).sum(),
            accounts_tracked: protocols
                .iter()
                .zip(&self.rules)
                .filter(|(_, r)| r.tracked())
                .map(|(p, _)| p.accounts)
                .sum(),
            below_one: all,
            protocols,
        }
    }

    /// One pass over the accounts: per protocol its largest accounts and vault-type sums.
    fn scan(&self, only: Option<usize>) -> Vec<Scan> {
        let mut out: Vec<Scan> = self
            .base
            .protocols
            .iter()
            .map(|p| Scan {
                largest: Vec::new(),
                vault_types: vec![(0, 0.0, 0.0); p.cdp().map_or(0, |c| c.vault_types.len())],
            })
            .collect();
        for k in 0..self.book.accounts() {
            let p = self.accounts.protocol[k] as usize;
            if only.is_some_and(|o| o != p) || self.book.len[k] == 0 {
                continue;
            }
            let s = &mut out[p];
            let debt = self.book.sums(k, &self.pricing.prices).debt;
            if debt > 0.0
                && (s.largest.len() < LARGEST || s.largest.last().is_some_and(|l| debt > l.0))
            {
                let at = s.largest.partition_point(|l| l.0 >= debt);
                s.largest.insert(at, (debt, k as u32));
                s.largest.truncate(LARGEST);
            }
            if let Rules::Cdp { types, .. } = &self.rules[p] {
                let vt = self.accounts.vault_type[k].unwrap_or(0) as usize;
                if let (Some(v), Some(&(coll, _))) = (s.vault_types.get_mut(vt), types.get(vt)) {
                    v.0 += 1;
                    for i in self.book.slots(k) {
                        match self.book.side[i] {
                            Side::Collateral if self.book.asset[i] as usize == coll => {
                                v.1 += self.book.amount[i]
                            }
                            Side::Collateral => {}
                            Side::Debt => {
                                v.2 += self.book.amount[i]
                                    * self.pricing.prices[self.book.price_ix[i] as usize]
                            }
                        }
                    }
                }
            }
        }
        out
    }

    fn view(&self, p: usize, below: BelowOne, scan: &Scan) -> ProtocolView {
        let proto = &self.base.protocols[p];
        let prices = &self.pricing.prices;
        let agg = &self.agg[p];
        let tracked = self.rules[p].tracked();
        let mut v = ProtocolView {
            totals: self.totals(p, below),
            health_factor_rule: None,
            note: None,
            reserves: Vec::new(),
            vault_types: Vec::new(),
            histogram: Vec::new(),
            largest_accounts: scan
                .largest
                .iter()
                .map(|&(debt, k)| {
                    let (s, hf) = self.sums_and_health(k as usize);
                    LargestAccount {
                        account: self.accounts.id[k as usize].to_string(),
                        debt_usd: debt,
                        collateral_usd: s.collateral,
                        health_factor: finite(hf),
                    }
                })
                .collect(),
        };
        match &proto.params {
            ProtocolParams::Lending(l) => {
                v.health_factor_rule = Some(l.health_factor_rule.name());
                v.reserves = l
                    .reserves
                    .iter()
                    .map(|r| {
                        let held = agg.tokens[r.asset][0].value();
                        let supplied = r.supplied.map_or(held, |x| x.max(held));
                        let borrowed = agg.tokens[r.asset][1].value();
                        let price = prices[r.asset];
                        ReserveView {
                            asset: self.base.assets[r.asset].id.clone(),
                            price_usd: price,
                            supplied_tokens: supplied,
                            borrowed_tokens: borrowed,
                            supplied_usd: supplied * price,
                            borrowed_usd: borrowed * price,
                            utilisation: (supplied > 0.0).then(|| borrowed / supplied),
                            ltv: r.ltv,
                            liquidation_threshold: r.liquidation_threshold,
                            liquidation_bonus: r.liquidation_bonus,
                            collateral_enabled: r.collateral_enabled,
                            borrowable: r.borrowable,
                        }
                    })
                    .collect();
            }
            ProtocolParams::Cdp(c) => {
                v.vault_types = c
                    .vault_types
                    .iter()
                    .zip(&scan.vault_types)
                    .map(|(t, &(vaults, tokens, debt))| {
                        let price = prices[t.collateral];
                        VaultTypeView {
                            id: t.id.clone(),
                            collateral: self.base.assets[t.collateral].id.clone(),
                            price_usd: price,
                            vaults,
                            collateral_tokens: tokens,
                            collateral_usd: tokens * price,
                            debt_usd: debt,
                            collateral_ratio: (debt > 0.0).then(|| tokens * price / debt),
                            liquidation_ratio: t.liquidation_ratio,
                            liquidation_penalty: t.liquidation_penalty,
                        }
                    })
                    .collect();
            }
            _ => {}
        }
        if tracked {
            v.histogram = (0..HF_BINS)
                .map(|b| {
                    let (lower, upper) = bin_bounds(b);
                    let accounts = agg.hist_accounts[b];
                    HistogramBin {
                        label: bin_label(b),
                        lower,
                        upper,
                        accounts,
                        debt_usd: if accounts == 0 {
                            0.0
                        } else {
                            agg.bin_value(b, prices).1.max(0.0)
                        },
                    }
                })
                .collect();
        } else {
            v.note = Some(format!(
                "a {} protocol: its accounts' positions are kept, but their health is not tracked live (lending pools and CDP vaults are)",
                proto.kind
            ));
        }
        v
    }

    /// Every protocol in detail. One pass over the accounts (for the largest accounts and vault
    /// types): O(accounts).
    pub fn protocols(&self) -> Vec<ProtocolView> {
        let below = self.below_by_protocol();
        let scans = self.scan(None);
        (0..self.rules.len())
            .map(|p| self.view(p, below[p], &scans[p]))
            .collect()
    }

    /// Protocol `id` in detail (`None` if unknown): O(accounts).
    pub fn protocol(&self, id: &str) -> Option<ProtocolView> {
        let p = *self.protocol_ids.get(id)?;
        let below = self.below_by_protocol();
        let scans = self.scan(Some(p));
        Some(self.view(p, below[p], &scans[p]))
    }

    /// The account `id` in every protocol it is in (empty if none): its positions, health and,
    /// per asset its weighted collateral is exposed to, the drop that makes it liquidatable.
    pub fn account(&self, id: &str) -> Vec<AccountView> {
        (0..self.rules.len())
            .filter_map(|p| self.find(p, id).map(|k| self.account_view(p, k as usize)))
            .collect()
    }

    fn account_view(&self, p: usize, k: usize) -> AccountView {
        let proto = &self.base.protocols[p];
        let b = &self.book;
        let prices = &self.pricing.prices;
        let rules = &self.rules[p];
        let n = self.pricing.assets();
        let positions = b
            .slots(k)
            .map(|i| PositionView {
                asset: self.base.assets[b.asset[i] as usize].id.clone(),
                side: side_name(b.side[i]),
                tokens: b.amount[i],
                usd: b.amount[i] * prices[b.price_ix[i] as usize],
                weight: b.weight[i],
            })
            .collect();
        let (sums, hf) = self.sums_and_health(k);
        let mut drops = Vec::new();
        if rules.tracked() {
            let mut ys: Vec<u32> = Vec::new();
            for i in b.slots(k) {
                let a = b.price_ix[i] as usize;
                if a < n && b.side[i] == Side::Collateral && b.weight[i] > 0.0 {
                    for &y in &self.family.ancestors[a] {
                        if !ys.contains(&y) {
                            ys.push(y);
                        }
                    }
                }
            }
            for y in ys {
                let y = y as usize;
                let mut exposure = 0.0;
                for i in b.slots(k) {
                    let a = b.price_ix[i] as usize;
                    if self.family.contains(y, a) {
                        let v = b.amount[i] * prices[a];
                        match b.side[i] {
                            Side::Collateral => exposure += v * b.weight[i],
                            Side::Debt => exposure -= v,
                        }
                    }
                }
                let py = prices[y];
                let drop = liquidation_drop(sums.weighted, sums.debt, exposure);
                drops.push(DropView {
                    asset: self.base.assets[y].id.clone(),
                    price_usd: py,
                    drop,
                    liquidation_price_usd: drop.map(|d| py * (1.0 - d)),
                });
            }
        }
        AccountView {
            protocol: proto.id.clone(),
            kind: proto.kind.name(),
            health: health_name(rules),
            emode: self.accounts.emode[k].and_then(|c| {
                proto
                    .lending()
                    .and_then(|l| l.emode.get(c as usize))
                    .map(|c| c.id.clone())
            }),
            vault_type: proto.cdp().and_then(|c| {
                c.vault_types
                    .get(self.accounts.vault_type[k].unwrap_or(0) as usize)
                    .map(|t| t.id.clone())
            }),
            positions,
            collateral_usd: sums.collateral,
            weighted_collateral_usd: sums.weighted,
            debt_usd: sums.debt,
            health_factor: finite(hf),
            liquidatable: hf < 1.0,
            drops,
        }
    }

    /// Account `k`'s sums at the current prices and its health factor under its protocol's rule
    /// (∞ without debt, NaN untracked).
    pub(crate) fn sums_and_health(&self, k: usize) -> (Sums, f64) {
        let s = self.book.sums(k, &self.pricing.prices);
        let rules = &self.rules[self.accounts.protocol[k] as usize];
        (s, rules.health(s.weighted, s.collateral_weighted, s.debt))
    }

    /// The liquidation ladder of `asset` (`None` if unknown): per protocol, binary searches in the
    /// lists of its two-coordinate accounts and a pass over the others that hold it
    /// (docs/serve-live.md#the-liquidation-ladder).
    pub fn ladder(&self, asset: &str) -> Option<Ladder> {
        let y = *self.asset_ids.get(asset)?;
        let p = self.pricing.prices[y];
        let tracked: Vec<usize> = (0..self.rules.len())
            .filter(|&q| self.rules[q].tracked())
            .collect();
        let drops = super::ladder::standard_drops();
        let grids: Vec<Vec<(u64, f64)>> = self
            .ladder_grids(y, &drops)
            .iter()
            .map(|g| g.finish())
            .collect();
        let at = |d: f64| drops.iter().position(|&x| x == d);
        let point = |d: f64, protos: &[usize]| {
            let (mut accounts, mut debt) = (0, 0.0);
            if let Some(j) = at(d) {
                for &q in protos {
                    let (a, x) = grids[q][j];
                    accounts += a;
                    debt += x;
                }
            }
            LadderPoint {
                drop: d,
                price_usd: p * (1.0 - d),
                accounts,
                debt_usd: debt,
            }
        };
        let points = LADDER_DROPS.iter().map(|&d| point(d, &tracked)).collect();
        let curve = drops.iter().map(|&d| point(d, &tracked)).collect();
        let by_protocol = tracked
            .iter()
            .map(|&q| ProtocolLadder {
                protocol: self.base.protocols[q].id.clone(),
                points: LADDER_DROPS.iter().map(|&d| point(d, &[q])).collect(),
                curve: drops.iter().map(|&d| point(d, &[q])).collect(),
            })
            .collect();
        let mut below = BelowOne::default();
        for b in self.below_by_protocol() {
            below.accounts += b.accounts;
            below.debt_usd += b.debt_usd;
            below.collateral_usd += b.collateral_usd;
        }
        Some(Ladder {
            asset: asset.to_string(),
            price_usd: p,
            family: self.family.members[y]
                .iter()
                .map(|&a| self.base.assets[a as usize].id.clone())
                .collect(),
            below_one_now: below,
            points,
            curve,
            by_protocol,
        })
    }
}

/// The drop of an asset's family at which an account becomes liquidatable, exact rule, all else
/// held: with weighted collateral `W`, debt `D` and net weighted exposure `K = C_x − D_x` to the
/// family (USD), `HF(d) = (W − d·C_x)/(D − d·D_x)` falls below 1 for `d > d* = (W − D)/K`.
/// `None` if it never does for `d ≤ 1` (`K ≤ 0`, no debt, or `d* ≥ 1`); `Some(0)` if already below.
pub fn liquidation_drop(weighted: f64, debt: f64, exposure: f64) -> Option<f64> {
    if !(debt > 0.0 && exposure > 0.0) {
        return None;
    }
    let d = (weighted - debt) / exposure;
    (d < 1.0).then_some(d.max(0.0))
}

fn bin_bounds(b: usize) -> (Option<f64>, Option<f64>) {
    let e = &HF_BIN_EDGES;
    if b == NO_DEBT_BIN as usize {
        return (None, None);
    }
    let lower = if b == 0 { None } else { e.get(b - 1).copied() };
    (lower, e.get(b).copied())
}

fn bin_label(b: usize) -> String {
    match bin_bounds(b) {
        (None, Some(u)) => format!("<{u}"),
        (Some(l), Some(u)) => format!("{l}–{u}"),
        (Some(l), None) => format!("≥{l}"),
        (None, None) => "no debt".to_string(),
    }
}
