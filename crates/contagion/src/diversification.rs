//! Diversification of lending collateral (docs/contagion.md#diversification): how many collateral
//! assets an account effectively holds, and what a diversification cap
//! (docs/lending.md#diversification-cap) would have done to a scenario's bad debt.

use serde::Serialize;

use cascade_engine::Prepared;
use cascade_model::{ProtocolParams, Scenario, Side, Snapshot};
use cascade_protocols::lending::{weighted_collateral_and_debt, LendingPool};

/// One lending protocol's diversification of collateral.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProtocolDiversification {
    pub protocol: String,
    /// Accounts holding collateral worth more than 0 at the snapshot's prices.
    pub accounts: usize,
    /// Value-weighted mean effective number of collateral assets:
    /// `Σ_a V_a·N_a / Σ_a V_a`, `N_a = (Σ_c v_c)² / Σ_c v_c²` over account `a`'s collateral assets
    /// (`v_c` USD, all positions in one asset together), `V_a = Σ_c v_c`. 1 = one asset each.
    pub effective_assets: f64,
    /// Share of the protocol's collateral value held by accounts with a single collateral asset.
    pub single_asset_share: f64,
    /// The protocol's own cap, if it has one (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diversification_cap: Option<f64>,
}

/// The diversification of every lending protocol of `s`, at the prepared prices.
pub fn diversification(s: &Snapshot, prepared: &Prepared) -> Vec<ProtocolDiversification> {
    let prices = &prepared.initial_prices;
    let n = s.accounts.len();
    // Per account, (asset, USD) of its collateral, assets merged.
    let mut held: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
    let pos = &s.positions;
    for i in 0..pos.len() {
        if pos.side[i] != Side::Collateral {
            continue;
        }
        let (acc, a) = (pos.account[i] as usize, pos.asset[i]);
        let v = pos.amount[i] * prices[a as usize];
        match held[acc].iter_mut().find(|x| x.0 == a) {
            Some(x) => x.1 += v,
            None => held[acc].push((a, v)),
        }
    }
    let mut out: Vec<ProtocolDiversification> = Vec::new();
    for (p, proto) in s.protocols.iter().enumerate() {
        let Some(l) = proto.lending() else { continue };
        let (mut accounts, mut weighted, mut total, mut single) = (0, 0.0, 0.0, 0.0);
        for (acc, h) in held.iter().enumerate() {
            if s.accounts.protocol[acc] as usize != p {
                continue;
            }
            let v: f64 = h.iter().map(|x| x.1.max(0.0)).sum();
            if v.is_nan() || v <= 0.0 {
                continue;
            }
            let sq: f64 = h.iter().map(|x| x.1.max(0.0) * x.1.max(0.0)).sum();
            accounts += 1;
            weighted += v * (v * v / sq);
            total += v;
            if h.iter().filter(|x| x.1 > 0.0).count() == 1 {
                single += v;
            }
        }
        let ratio = |x: f64| if total > 0.0 { x / total } else { 0.0 };
        out.push(ProtocolDiversification {
            protocol: proto.id.clone(),
            accounts,
            effective_assets: ratio(weighted),
            single_asset_share: ratio(single),
            diversification_cap: l.diversification_cap,
        });
    }
    out
}

/// One lending protocol in [`cap_counterfactual`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapEffect {
    pub protocol: String,
    /// Debt at the snapshot's prices as configured, USD.
    pub debt_usd: f64,
    /// Debt once borrowers re-lever under the cap, USD: the borrowing the cap does not allow is
    /// `debt_usd − debt_with_cap_usd`.
    pub debt_with_cap_usd: f64,
    /// Accounts whose debt the cap reduced.
    pub accounts_relevered: usize,
    /// The scenario's bad debt as configured, USD.
    pub bad_debt_usd: f64,
    /// The scenario's bad debt with the cap, USD.
    pub bad_debt_with_cap_usd: f64,
}

/// A scenario's bad debt with and without a diversification cap on every lending protocol.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapCounterfactual {
    /// The cap set on every lending protocol (reserves' own caps kept).
    pub cap: f64,
    pub scenario: String,
    pub protocols: Vec<CapEffect>,
    /// Whole-system bad debt as configured and with the cap, USD.
    pub system_bad_debt_usd: f64,
    pub system_bad_debt_with_cap_usd: f64,
}

/// `s` with `cap` on every lending protocol, each account re-levered: its debt scaled by
/// `B_cap / B`, its borrowing power with and without the cap at the prepared prices, so its
/// health factor (exact rule) is what it was — borrowers borrow against the cap as they borrowed
/// without it. Returns the snapshot and, per account, whether its debt was reduced.
pub fn with_cap(s: &Snapshot, prepared: &Prepared, cap: f64) -> (Snapshot, Vec<bool>) {
    let prices = &prepared.initial_prices;
    let mut t = s.clone();
    for p in &mut t.protocols {
        if let ProtocolParams::Lending(l) = &mut p.params {
            l.diversification_cap = Some(cap);
        }
    }
    let mut factor = vec![1.0_f64; s.accounts.len()];
    for (p, proto) in s.protocols.iter().enumerate() {
        if proto.lending().is_none() {
            continue;
        }
        let (before, after) = (LendingPool::new(s, p), LendingPool::new(&t, p));
        for k in 0..before.accounts() {
            let (b, d) = weighted_collateral_and_debt(&before.entries_of(k), prices);
            let (b_cap, _) = weighted_collateral_and_debt(&after.entries_of(k), prices);
            if d > 0.0 && b > 0.0 && b_cap < b {
                factor[before.account[k] as usize] = b_cap / b;
            }
        }
    }
    let pos = &mut t.positions;
    for i in 0..pos.len() {
        let f = factor[pos.account[i] as usize];
        if pos.side[i] == Side::Debt && f < 1.0 {
            pos.amount[i] *= f;
        }
    }
    let relevered = factor.iter().map(|&f| f < 1.0).collect();
    (t, relevered)
}

/// What a diversification cap `cap` on every lending protocol does to `scenario`'s bad debt: the
/// scenario run on `s` and on [`with_cap`]`(s, cap)`.
pub fn cap_counterfactual(
    s: &Snapshot,
    prepared: &Prepared,
    scenario: &Scenario,
    cap: f64,
) -> CapCounterfactual {
    let (t, relevered) = with_cap(s, prepared, cap);
    let (base, capped) = rayon::join(
        || cascade_engine::run(s, scenario),
        || cascade_engine::run(&t, scenario),
    );
    let prices = &prepared.initial_prices;
    let debt_of = |snap: &Snapshot, p: usize| -> f64 {
        let pos = &snap.positions;
        (0..pos.len())
            .filter(|&i| {
                pos.side[i] == Side::Debt
                    && snap.accounts.protocol[pos.account[i] as usize] as usize == p
            })
            .map(|i| pos.amount[i] * prices[pos.asset[i] as usize])
            .sum()
    };
    let bad_of = |r: &cascade_engine::StressResult, id: &str| {
        r.protocols
            .iter()
            .find(|x| x.id == id)
            .map_or(0.0, |x| x.bad_debt_usd)
    };
    let mut protocols = Vec::new();
    for (p, proto) in s.protocols.iter().enumerate() {
        if proto.lending().is_none() {
            continue;
        }
        protocols.push(CapEffect {
            protocol: proto.id.clone(),
            debt_usd: debt_of(s, p),
            debt_with_cap_usd: debt_of(&t, p),
            accounts_relevered: (0..s.accounts.len())
                .filter(|&a| relevered[a] && s.accounts.protocol[a] as usize == p)
                .count(),
            bad_debt_usd: bad_of(&base, &proto.id),
            bad_debt_with_cap_usd: bad_of(&capped, &proto.id),
        });
    }
    CapCounterfactual {
        cap,
        scenario: scenario.name.clone(),
        protocols,
        system_bad_debt_usd: base.system.bad_debt_usd,
        system_bad_debt_with_cap_usd: capped.system.bad_debt_usd,
    }
}
