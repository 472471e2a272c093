//! The system snapshot: assets, protocols, accounts and their positions (docs/formats.md).

use crate::account_ids::{AccountIds, RepeatedId};
use crate::asset::{Asset, AssetIdx};
use crate::derivatives::{MarginMode, OptionPositions, PerpPositions};
use crate::protocol::{Protocol, ProtocolIdx};

crate::named_enum! {
    /// Which side of an account's balance sheet a position is on.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Side ("side") {
        Collateral = "collateral",
        Debt = "debt",
    }
}

/// Accounts, one row each (struct of arrays). An account is keyed by (protocol, id): the same owner
/// in two protocols is two accounts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accounts {
    /// The ids, with an index per protocol.
    pub id: AccountIds,
    pub protocol: Vec<u32>,
    /// Lending e-mode category (index into the protocol's `emode`), if any.
    pub emode: Vec<Option<u16>>,
    /// CDP vault type (index into the protocol's `vault_types`), if any.
    pub vault_type: Vec<Option<u16>>,
    /// Clearinghouse margin mode (cross for every other kind).
    pub margin_mode: Vec<MarginMode>,
}

impl Accounts {
    pub fn len(&self) -> usize {
        self.id.len()
    }
    pub fn is_empty(&self) -> bool {
        self.id.is_empty()
    }
    /// The account `id` of `protocol`, created if new.
    pub fn get_or_insert(&mut self, protocol: ProtocolIdx, id: &str) -> u32 {
        let (i, created) = self.id.find_or_push(protocol, id);
        if created {
            self.protocol.push(protocol as u32);
            self.emode.push(None);
            self.vault_type.push(None);
            self.margin_mode.push(MarginMode::Cross);
        }
        i
    }
    /// Appends account `id` of `protocol` without looking it up (see
    /// [`AccountIds::push_unindexed`]); [`Accounts::index_pending`] must follow before any lookup.
    pub fn push_unindexed(&mut self, protocol: ProtocolIdx, id: &str) -> u32 {
        let i = self.id.push_unindexed(id);
        self.protocol.push(protocol as u32);
        self.emode.push(None);
        self.vault_type.push(None);
        self.margin_mode.push(MarginMode::Cross);
        i
    }
    /// Indexes the accounts appended by [`Accounts::push_unindexed`]; fails if one id was
    /// appended twice in one protocol.
    pub fn index_pending(&mut self) -> Result<(), RepeatedId> {
        self.id.index_pending(&self.protocol)
    }
    pub fn find(&self, protocol: ProtocolIdx, id: &str) -> Option<u32> {
        self.id.find(protocol, id)
    }
    /// Reserves room for `n` more accounts.
    pub fn reserve(&mut self, n: usize) {
        self.id.reserve(n, TYPICAL_ID_BYTES);
        self.protocol.reserve(n);
        self.emode.reserve(n);
        self.vault_type.reserve(n);
        self.margin_mode.reserve(n);
    }
    /// Reserves room for `n` more accounts of `protocol` in the id index.
    pub fn reserve_for(&mut self, protocol: ProtocolIdx, n: usize) {
        self.id.reserve_for(protocol, n);
    }
    /// Forgets every account, keeping the memory for the next ones.
    pub fn clear_keeping_capacity(&mut self) {
        self.id.clear_keeping_capacity();
        self.protocol.clear();
        self.emode.clear();
        self.vault_type.clear();
        self.margin_mode.clear();
    }
}

/// The id length reserved per account, bytes: a 0x-prefixed EVM address.
const TYPICAL_ID_BYTES: usize = 42;

/// Positions, one row per (account, asset, side) entry (struct of arrays). Rows of one account need
/// not be adjacent; amounts are tokens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Positions {
    pub account: Vec<u32>,
    pub asset: Vec<u32>,
    pub side: Vec<Side>,
    pub amount: Vec<f64>,
}

impl Positions {
    pub fn len(&self) -> usize {
        self.account.len()
    }
    pub fn is_empty(&self) -> bool {
        self.account.is_empty()
    }
    pub fn push(&mut self, account: u32, asset: AssetIdx, side: Side, amount: f64) {
        self.account.push(account);
        self.asset.push(asset as u32);
        self.side.push(side);
        self.amount.push(amount);
    }
    pub fn reserve(&mut self, n: usize) {
        self.account.reserve(n);
        self.asset.reserve(n);
        self.side.reserve(n);
        self.amount.reserve(n);
    }
    /// Forgets every position, keeping the memory for the next ones.
    pub fn clear_keeping_capacity(&mut self) {
        self.account.clear();
        self.asset.clear();
        self.side.clear();
        self.amount.clear();
    }
}

/// A correlation block: a symmetric matrix over some assets (missing pairs are 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    pub assets: Vec<AssetIdx>,
    pub matrix: Vec<Vec<f64>>,
    pub line: u32,
}

/// A whole system at one moment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    pub name: String,
    /// The file it was loaded from (or `<builtin>`).
    pub source: String,
    pub assets: Vec<Asset>,
    pub correlations: Vec<Correlation>,
    pub protocols: Vec<Protocol>,
    pub accounts: Accounts,
    pub positions: Positions,
    /// Perp positions of clearinghouse accounts.
    pub perps: PerpPositions,
    /// Option positions of clearinghouse accounts.
    pub options: OptionPositions,
}

impl Snapshot {
    pub fn asset_idx(&self, id: &str) -> Option<AssetIdx> {
        self.assets.iter().position(|a| a.id == id)
    }
    pub fn protocol_idx(&self, id: &str) -> Option<ProtocolIdx> {
        self.protocols.iter().position(|p| p.id == id)
    }

    /// Total tokens per protocol, asset and side, in one pass: `totals[protocol][asset]` is
    /// `[collateral, debt]`.
    pub fn totals(&self) -> Vec<Vec<[f64; 2]>> {
        let mut t = vec![vec![[0.0; 2]; self.assets.len()]; self.protocols.len()];
        let pos = &self.positions;
        for i in 0..pos.len() {
            let p = self.accounts.protocol[pos.account[i] as usize] as usize;
            let side = match pos.side[i] {
                Side::Collateral => 0,
                Side::Debt => 1,
            };
            t[p][pos.asset[i] as usize][side] += pos.amount[i];
        }
        t
    }

    /// Total tokens of `asset` on `side` across the accounts of `protocol` (one scan; use
    /// [`Snapshot::totals`] for many).
    pub fn total(&self, protocol: ProtocolIdx, asset: AssetIdx, side: Side) -> f64 {
        let pos = &self.positions;
        (0..pos.len())
            .filter(|&i| {
                pos.asset[i] as usize == asset
                    && pos.side[i] == side
                    && self.accounts.protocol[pos.account[i] as usize] as usize == protocol
            })
            .map(|i| pos.amount[i])
            .sum()
    }

    /// The root of `asset`'s `underlying` chain (stETH, whETH → ETH; aUSDC → USDC): the asset its price
    /// derives from, itself when it has no underlying. Bounded by the asset count, so a cycle (which the
    /// loader rejects) cannot loop.
    pub fn root_asset(&self, asset: AssetIdx) -> AssetIdx {
        let mut a = asset;
        for _ in 0..=self.assets.len() {
            match self.assets[a].underlying {
                Some(u) => a = u,
                None => break,
            }
        }
        a
    }

    /// An asset's USD price at the snapshot, before any shock or market impact: exogenous kinds their
    /// `price`, derived kinds the formula of docs/assets.md with receipt recovery 1 (0 if it cannot be derived).
    pub fn reference_price(&self, asset: AssetIdx) -> f64 {
        let mut factor = 1.0;
        let mut a = asset;
        for _ in 0..=self.assets.len() {
            let x = &self.assets[a];
            if let Some(p) = x.price {
                return factor * p;
            }
            factor *= x.rate * x.discount * (1.0 - x.bridge_loss);
            match x.underlying {
                Some(u) => a = u,
                None => return 0.0,
            }
        }
        0.0
    }
}
