//! The snapshot checks the live state needs before it builds on a snapshot (or a checkpoint).

use super::*;

/// Refuses a snapshot with an index or number this state would trip on.
pub(super) fn check(s: &Snapshot) -> Result<(), LiveError> {
    let bad = |m: String| Err(LiveError::Snapshot(m));
    let n = s.assets.len();
    let n_p = s.protocols.len();
    let acc = &s.accounts;
    let n_acc = acc.len();
    if [
        acc.protocol.len(),
        acc.emode.len(),
        acc.vault_type.len(),
        acc.margin_mode.len(),
    ]
    .iter()
    .any(|&l| l != n_acc)
    {
        return bad("accounts: columns of different lengths".into());
    }
    if n_acc >= u32::MAX as usize {
        return bad(format!(
            "accounts: found {n_acc}, expected fewer than 2^32 − 1"
        ));
    }
    let pos = &s.positions;
    let n_pos = pos.account.len();
    if [pos.asset.len(), pos.side.len(), pos.amount.len()]
        .iter()
        .any(|&l| l != n_pos)
    {
        return bad("positions: columns of different lengths".into());
    }
    if let Some(p) = s
        .protocols
        .iter()
        .find(|p| p.lending().is_some_and(|l| l.has_diversification_cap()))
    {
        // The live health factor is a sum of per-position terms kept current one asset at a time;
        // a cap makes it a fixed point over the whole account (docs/lending.md#diversification-cap).
        return bad(format!(
            "protocol \"{}\": diversification_cap is not supported by the live monitor \
             (docs/serve.md#what-the-monitor-does-not-model); run it through stress, simulate or contagion",
            p.id
        ));
    }
    for x in &s.assets {
        if x.underlying.is_some_and(|u| u >= n) {
            return bad(format!("asset \"{}\": underlying index out of range", x.id));
        }
        if let Some(p) = x.price {
            if !(p.is_finite() && p >= 0.0) {
                return bad(format!(
                    "asset \"{}\": price = {p}, expected a finite number ≥ 0",
                    x.id
                ));
            }
        }
        for (f, v) in [
            ("rate", x.rate),
            ("discount", x.discount),
            ("bridge_loss", x.bridge_loss),
        ] {
            if !v.is_finite() {
                return bad(format!(
                    "asset \"{}\": {f} = {v}, expected a finite number",
                    x.id
                ));
            }
        }
    }
    let in_range = |a: usize| a < n;
    for p in &s.protocols {
        let ok = match &p.params {
            ProtocolParams::Lending(l) => {
                l.reserves.iter().all(|r| in_range(r.asset))
                    && l.emode
                        .iter()
                        .all(|c| c.assets.iter().all(|&a| in_range(a)))
            }
            ProtocolParams::Cdp(c) => {
                in_range(c.stable)
                    && c.psm.is_none_or(|(a, _)| in_range(a))
                    && !c.vault_types.is_empty()
                    && c.vault_types
                        .iter()
                        .all(|v| in_range(v.collateral) && v.liquidation_ratio > 0.0)
            }
            ProtocolParams::Amm(a) => {
                a.reserves.len() == 2
                    && a.reserves.iter().all(|&(x, _)| in_range(x))
                    && in_range(a.lp_asset)
            }
            ProtocolParams::Bridge(b) => in_range(b.bridged) && in_range(b.underlying),
            ProtocolParams::Algostable(a) => in_range(a.stable) && in_range(a.absorber),
            ProtocolParams::Clearinghouse(_) => true,
        };
        if !ok {
            return bad(format!(
                "protocol \"{}\": an asset index out of range or a missing parameter",
                p.id
            ));
        }
    }
    for k in 0..n_acc {
        let p = acc.protocol[k] as usize;
        if p >= n_p {
            return bad(format!(
                "account \"{}\": protocol index out of range",
                &acc.id[k]
            ));
        }
        if let (Some(c), Some(vt)) = (s.protocols[p].cdp(), acc.vault_type[k]) {
            if vt as usize >= c.vault_types.len() {
                return bad(format!(
                    "account \"{}\": vault type index out of range",
                    &acc.id[k]
                ));
            }
        }
    }
    for r in 0..n_pos {
        if pos.account[r] as usize >= n_acc || pos.asset[r] as usize >= n {
            return bad(format!(
                "positions: row {r}: account or asset index out of range"
            ));
        }
        let x = pos.amount[r];
        if !(x.is_finite() && x >= 0.0) {
            return bad(format!(
                "positions: row {r}: amount = {x}, expected a finite number ≥ 0"
            ));
        }
    }
    Ok(())
}
