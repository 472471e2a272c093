//! The live state as a snapshot, for the full cascade runs of the watchlist ([`Live::snapshot`],
//! [`Live::snapshot_into`]).

use super::*;

impl Live {
    /// The served system without its accounts: assets (prices as loaded), protocols, correlations.
    /// Current prices are [`Live::prices`].
    pub fn system(&self) -> &Snapshot {
        &self.base
    }

    /// The ids of protocol `protocol`'s accounts (open or closed, opened live ones included), in
    /// the order they were added; empty for an unknown protocol.
    pub fn account_ids(&self, protocol: &str) -> Vec<String> {
        let Some(&p) = self.protocol_ids.get(protocol) else {
            return Vec::new();
        };
        let acc = &self.accounts;
        (0..acc.len().min(self.book.accounts()))
            .filter(|&k| acc.protocol[k] as usize == p)
            .map(|k| acc.id[k].to_string())
            .collect()
    }

    /// The current state as a snapshot, for full cascade runs: assets with the latest exogenous
    /// prices, protocols (each AMM's default LP supply made explicit: see [`Live::new`]),
    /// every account (opened live ones after the snapshot's) with its positions in order,
    /// derivatives as the snapshot had them.
    pub fn snapshot(&self) -> Snapshot {
        let mut s = self.base.clone();
        for (a, asset) in s.assets.iter_mut().enumerate() {
            if asset.kind.is_exogenous() {
                asset.price = Some(self.pricing.base[a]);
            }
        }
        s.accounts = self.accounts.clone();
        self.positions_into(&mut s.positions);
        s.perps = self.perps.clone();
        s.options = self.options.clone();
        s
    }

    /// [`Live::snapshot`] written over `copy`, an earlier snapshot of this state (`None` the first
    /// time): the same snapshot, made by copying only what may have changed since — prices,
    /// positions, the accounts opened since and the accounts' columns — and not the million
    /// account ids again (ids are only ever appended). For the watchlist, which copies the state
    /// while holding it and reuses its last copy.
    pub fn snapshot_into(&self, copy: &mut Option<Snapshot>) {
        let acc = &self.accounts;
        let reusable = copy.as_ref().is_some_and(|s| {
            let n = s.accounts.len();
            n <= acc.len()
                && s.name == self.base.name
                && (n == 0 || s.accounts.id[n - 1] == acc.id[n - 1])
        });
        let s = match copy {
            Some(s) if reusable => s,
            _ => {
                *copy = Some(self.snapshot());
                return;
            }
        };
        s.assets.clone_from(&self.base.assets);
        for (a, asset) in s.assets.iter_mut().enumerate() {
            if asset.kind.is_exogenous() {
                asset.price = Some(self.pricing.base[a]);
            }
        }
        s.protocols.clone_from(&self.base.protocols);
        s.correlations.clone_from(&self.base.correlations);
        for k in s.accounts.len()..acc.len() {
            s.accounts
                .get_or_insert(acc.protocol[k] as usize, &acc.id[k]);
        }
        s.accounts.protocol.clone_from(&acc.protocol);
        s.accounts.emode.clone_from(&acc.emode);
        s.accounts.vault_type.clone_from(&acc.vault_type);
        s.accounts.margin_mode.clone_from(&acc.margin_mode);
        s.positions.account.clear();
        s.positions.asset.clear();
        s.positions.side.clear();
        s.positions.amount.clear();
        self.positions_into(&mut s.positions);
        // Derivatives never change in the live state: the copy's are the snapshot's.
    }

    /// Appends every account's positions, in account then slot order.
    fn positions_into(&self, out: &mut cascade_model::Positions) {
        let total: usize = self.book.len.iter().map(|&l| l as usize).sum();
        out.reserve(total);
        for k in 0..self.book.accounts() {
            for i in self.book.slots(k) {
                out.push(
                    k as u32,
                    self.book.asset[i] as usize,
                    self.book.side[i],
                    self.book.amount[i],
                );
            }
        }
    }
}
