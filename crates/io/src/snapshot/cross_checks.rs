//! Checks across the whole snapshot: issuers of derived assets, cycles among derived assets, and
//! (once every position is loaded) caps, isolation debt ceilings and CDP vault collateral.

use std::collections::HashSet;

use crate::diag::{Diagnostics, Location};
use crate::problem::Problem;
use crate::reader::Ctx;
use cascade_model::asset::{Asset, AssetKind};
use cascade_model::protocol::{LendingParams, Protocol, ProtocolParams};
use cascade_model::snapshot::{Side, Snapshot};

/// Every `lp` asset is some AMM pool's `lp_asset`, every `cdp_stable` some CDP's `stable`, every
/// `algostable` some algostable protocol's `stable` (their prices come from the issuer's state), each
/// issued once.
pub(super) fn check_issuers(assets: &[Asset], protocols: &[Protocol], ctx: &mut Ctx) {
    for (i, a) in assets.iter().enumerate() {
        let issuers = protocols
            .iter()
            .filter(|p| {
                p.amm().is_some_and(|m| m.lp_asset == i)
                    || p.cdp().is_some_and(|c| c.stable == i)
                    || p.algostable().is_some_and(|g| g.stable == i)
            })
            .count();
        let what = match a.kind {
            AssetKind::Lp => "an AMM pool's lp_asset",
            AssetKind::CdpStable => "a CDP's stable",
            AssetKind::Algostable => "an algostable protocol's stable",
            _ => continue,
        };
        if issuers == 0 {
            ctx.error(
                a.line,
                format!("asset \"{}\".kind", a.id),
                format!(
                    "no protocol issues it; a \"{}\" asset must be {what}",
                    a.kind.name()
                ),
            );
        } else if issuers > 1 {
            ctx.error(
                a.line,
                format!("asset \"{}\".kind", a.id),
                format!("{issuers} protocols issue it; expected one"),
            );
        }
    }
}

/// Rejects cycles among derived assets (through `underlying` and through a curve's `quote_asset`).
pub(super) fn check_cycles(assets: &[Asset], ctx: &mut Ctx) {
    let deps = |a: &Asset| -> Vec<usize> {
        a.underlying
            .into_iter()
            .chain(a.liquidity.quote_asset)
            .collect()
    };
    // 0 = unvisited, 1 = on stack, 2 = done
    let mut state = vec![0u8; assets.len()];
    let mut reported = HashSet::new();
    for start in 0..assets.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let d = deps(&assets[node]);
            if *next < d.len() {
                let child = d[*next];
                *next += 1;
                match state[child] {
                    0 => {
                        state[child] = 1;
                        stack.push((child, 0));
                    }
                    1 => {
                        let pos = stack.iter().position(|(n, _)| *n == child).unwrap_or(0);
                        let cycle: Vec<&str> = stack[pos..]
                            .iter()
                            .map(|(n, _)| assets[*n].id.as_str())
                            .collect();
                        let key: Vec<usize> = {
                            let mut k: Vec<usize> = stack[pos..].iter().map(|(n, _)| *n).collect();
                            k.sort_unstable();
                            k
                        };
                        if reported.insert(key) {
                            ctx.error(
                                assets[child].line,
                                format!("asset \"{}\"", assets[child].id),
                                format!(
                                    "derived assets form a cycle: {} → {}",
                                    cycle.join(" → "),
                                    assets[child].id
                                ),
                            );
                        }
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
}

/// Every amount of tokens a protocol holds (insurance funds, pool reserves, a PSM, a bridge's locked
/// underlying, a reserve's supply) has a finite value in USD at the `prices` of the snapshot.
pub(super) fn check_protocol_amounts(s: &Snapshot, prices: &[f64], ctx: &mut Ctx) {
    for p in &s.protocols {
        let mut amounts: Vec<(String, usize, f64, u32)> = Vec::new();
        let mut add = |key: String, asset: usize, tokens: f64, line: u32| {
            amounts.push((format!("protocol \"{}\"{key}", p.id), asset, tokens, line));
        };
        for &(a, x) in &p.insurance_fund {
            add(format!(".insurance_fund.{}", s.assets[a].id), a, x, p.line);
        }
        match &p.params {
            ProtocolParams::Amm(m) => {
                for &(a, x) in &m.reserves {
                    add(format!(".reserves.{}", s.assets[a].id), a, x, p.line);
                }
            }
            ProtocolParams::Cdp(c) => {
                if let Some((a, x)) = c.psm {
                    add(".psm.amount".into(), a, x, p.line);
                }
            }
            ProtocolParams::Bridge(b) => add(".locked".into(), b.underlying, b.locked, p.line),
            ProtocolParams::Lending(l) => {
                for r in &l.reserves {
                    if let Some(x) = r.supplied {
                        let key = format!(" reserve \"{}\".supplied", s.assets[r.asset].id);
                        add(key, r.asset, x, r.line);
                    }
                }
            }
            ProtocolParams::Clearinghouse(_) | ProtocolParams::Algostable(_) => {}
        }
        for (field, a, tokens, line) in amounts {
            if !(tokens * prices[a]).is_finite() {
                let price = prices[a];
                ctx.error(
                    line,
                    field,
                    Problem::NotFiniteUsd {
                        amount: tokens,
                        price,
                    },
                );
            }
        }
    }
}

/// Checks that need every position loaded: isolation debt ceilings, caps, e-mode debt membership.
pub fn check_loaded(s: &Snapshot, diags: &mut Diagnostics) {
    // Three independent passes over the positions, side by side; their warnings are reported in
    // this order whatever the thread count.
    let run = |check: fn(&Snapshot, &mut Diagnostics)| {
        let mut d = Diagnostics::new();
        check(s, &mut d);
        d
    };
    let (mut reserves, (vaults, shapes)) = rayon::join(
        || run(check_reserves),
        || {
            rayon::join(
                || run(check_vault_collateral),
                || run(check_real_data_shapes),
            )
        },
    );
    reserves.extend(vaults);
    reserves.extend(shapes);
    diags.extend(reserves);
}

/// Each lending reserve's supply and borrow caps and isolation debt ceiling against what the
/// accounts hold, and the reserves nobody uses.
fn check_reserves(s: &Snapshot, diags: &mut Diagnostics) {
    let file = s.source.as_str();
    let totals = s.totals();
    for (pi, p) in s.protocols.iter().enumerate() {
        let Some(l) = p.lending() else { continue };
        for r in &l.reserves {
            let a = &s.assets[r.asset];
            let [supplied, borrowed] = totals[pi][r.asset];
            let caps = [
                ("supply_cap", "supply", r.supply_cap, supplied),
                ("borrow_cap", "borrow", r.borrow_cap, borrowed),
            ];
            for (key, verb, cap, total) in caps {
                match cap {
                    Some(cap) if total > cap => diags.warning(
                        file,
                        Location::Line(r.line),
                        &format!("protocol \"{}\" reserve \"{}\".{key}", p.id, a.id),
                        format!("accounts {verb} {total} tokens, above the cap of {cap}"),
                    ),
                    _ => {}
                }
            }
        }
        check_isolation_ceilings(s, pi, l, diags);
        let empty: Vec<&str> = l
            .reserves
            .iter()
            .filter(|r| totals[pi][r.asset] == [0.0, 0.0])
            .map(|r| s.assets[r.asset].id.as_str())
            .collect();
        if !empty.is_empty() {
            diags.warning(
                file,
                Location::Line(p.line),
                &format!("protocol \"{}\"", p.id),
                format!(
                    "{} reserve(s) with no position: {}{}",
                    empty.len(),
                    empty[..empty.len().min(8)].join(", "),
                    if empty.len() > 8 { ", …" } else { "" }
                ),
            );
        }
    }
}

/// Value below which a position is dust, USD (docs/formats.md#real-data-warnings).
pub const DUST_USD: f64 = 1.0;

/// Shapes real snapshots have that hand-written ones rarely do, each as one summary warning with a
/// count and a few examples: dust positions (worth less than [`DUST_USD`] at the snapshot's price),
/// and accounts holding the same asset as collateral and as debt.
fn check_real_data_shapes(s: &Snapshot, diags: &mut Diagnostics) {
    let file = s.source.as_str();
    let pos = &s.positions;
    let mut dust = 0usize;
    let mut dust_examples: Vec<String> = Vec::new();
    for r in 0..pos.len() {
        let (acc, asset, amount) = (pos.account[r], pos.asset[r], pos.amount[r]);
        if amount > 0.0 {
            if let Some(p) = s.assets[asset as usize].price {
                if p > 0.0 && amount * p < DUST_USD {
                    dust += 1;
                    if dust_examples.len() < 3 {
                        dust_examples.push(format!(
                            "\"{}\" {} {}",
                            &s.accounts.id[acc as usize],
                            crate::problem::fmt_number(amount),
                            s.assets[asset as usize].id
                        ));
                    }
                }
            }
        }
    }
    if dust > 0 {
        diags.warning(
            file,
            Location::File,
            "positions",
            format!(
                "{dust} dust position(s) worth less than ${DUST_USD:.2} each (e.g. {}); loaded as they are",
                dust_examples.join(", ")
            ),
        );
    }
    let both = held_on_both_sides(s);
    if !both.is_empty() {
        let examples: Vec<String> = both
            .iter()
            .take(3)
            .map(|&(acc, asset)| {
                format!(
                    "\"{}\" {}",
                    &s.accounts.id[acc as usize], s.assets[asset as usize].id
                )
            })
            .collect();
        diags.warning(
            file,
            Location::File,
            "positions",
            format!(
                "{} account(s) hold the same asset as collateral and as debt (e.g. {}); each side counts as it is",
                both.len(),
                examples.join(", ")
            ),
        );
    }
}

/// Runs of one account's positions at most this long are checked pairwise; longer ones, and the
/// positions of accounts whose rows are not adjacent, through a hash map.
const SHORT_RUN: usize = 16;

/// The (account, asset) pairs held both as collateral and as debt, sorted. Position rows usually
/// come grouped by account (every writer and the generator group them), so each group is checked
/// on its own and only the accounts spread over several groups go through a map.
fn held_on_both_sides(s: &Snapshot) -> Vec<(u32, u32)> {
    let pos = &s.positions;
    let runs = || {
        let mut i = 0;
        std::iter::from_fn(move || {
            let start = i;
            let acc = *pos.account.get(start)?;
            while i < pos.len() && pos.account[i] == acc {
                i += 1;
            }
            Some((acc, start..i))
        })
    };
    // Accounts with more than one run of rows.
    let mut n_runs = vec![0u8; s.accounts.len()];
    for (acc, _) in runs() {
        let n = &mut n_runs[acc as usize];
        *n = n.saturating_add(1);
    }
    let mut both: Vec<(u32, u32)> = Vec::new();
    // (account, asset) → sides seen: bit 0 collateral, bit 1 debt.
    let mut sides: rustc_hash::FxHashMap<(u32, u32), u8> = rustc_hash::FxHashMap::default();
    for (acc, rows) in runs() {
        if n_runs[acc as usize] > 1 || rows.len() > SHORT_RUN {
            for r in rows {
                let bit = match pos.side[r] {
                    Side::Collateral => 1,
                    Side::Debt => 2,
                };
                *sides.entry((acc, pos.asset[r])).or_insert(0) |= bit;
            }
            continue;
        }
        for i in rows.clone() {
            for j in i + 1..rows.end {
                if pos.asset[i] == pos.asset[j] && pos.side[i] != pos.side[j] {
                    both.push((acc, pos.asset[i]));
                }
            }
        }
    }
    both.extend(sides.into_iter().filter(|&(_, b)| b == 3).map(|(k, _)| k));
    both.sort_unstable();
    both.dedup();
    both
}

/// A CDP vault's collateral in an asset other than its vault type's counts for nothing: a warning per
/// (protocol, vault type, asset).
pub(super) fn check_vault_collateral(s: &Snapshot, diags: &mut Diagnostics) {
    let pos = &s.positions;
    let mut seen: Vec<(usize, u16, usize)> = Vec::new();
    for i in 0..pos.len() {
        let acc = pos.account[i] as usize;
        let p = s.accounts.protocol[acc] as usize;
        let (Some(c), Some(v), Side::Collateral) = (
            s.protocols[p].cdp(),
            s.accounts.vault_type[acc],
            pos.side[i],
        ) else {
            continue;
        };
        let a = pos.asset[i] as usize;
        let Some(vt) = c.vault_types.get(usize::from(v)) else {
            continue;
        };
        if vt.collateral != a && !seen.contains(&(p, v, a)) {
            seen.push((p, v, a));
            diags.warning(
                &s.source,
                Location::Line(vt.line),
                &format!("protocol \"{}\" vault_type \"{}\"", s.protocols[p].id, vt.id),
                format!(
                    "vaults of this type hold \"{}\", which counts for nothing: the type's collateral is \"{}\" (e.g. account \"{}\")",
                    s.assets[a].id, s.assets[vt.collateral].id, &s.accounts.id[acc]
                ),
            );
        }
    }
}

/// Isolation mode: the USD debt of accounts whose collateral is an isolated asset, at snapshot prices,
/// against that asset's `debt_ceiling` (a warning: governance may have lowered a ceiling below what is
/// already borrowed).
pub(super) fn check_isolation_ceilings(
    s: &Snapshot,
    pi: usize,
    l: &LendingParams,
    diags: &mut Diagnostics,
) {
    let ceiling: Vec<Option<f64>> = (0..s.assets.len())
        .map(|a| l.reserve_of(a).and_then(|r| r.debt_ceiling_usd))
        .collect();
    if ceiling.iter().all(Option::is_none) {
        return;
    }
    let pos = &s.positions;
    let mut iso_of: Vec<Option<usize>> = vec![None; s.accounts.len()];
    for i in 0..pos.len() {
        let (acc, a) = (pos.account[i] as usize, pos.asset[i] as usize);
        if s.accounts.protocol[acc] as usize == pi
            && pos.side[i] == Side::Collateral
            && pos.amount[i] > 0.0
            && ceiling[a].is_some()
            && iso_of[acc].is_none()
        {
            iso_of[acc] = Some(a);
        }
    }
    let mut debt_usd = vec![0.0; s.assets.len()];
    for i in 0..pos.len() {
        if let (Some(iso), Side::Debt) = (iso_of[pos.account[i] as usize], pos.side[i]) {
            debt_usd[iso] += pos.amount[i] * s.reference_price(pos.asset[i] as usize);
        }
    }
    for (a, c) in ceiling.iter().enumerate() {
        if let Some(c) = c {
            if debt_usd[a] > *c {
                let line = l.reserve_of(a).map_or(0, |r| r.line);
                diags.warning(
                    &s.source,
                    Location::Line(line),
                    &format!(
                        "protocol \"{}\" reserve \"{}\".debt_ceiling",
                        s.protocols[pi].id, s.assets[a].id
                    ),
                    format!(
                        "isolated accounts owe ${:.0}, above the debt ceiling of ${c:.0}",
                        debt_usd[a]
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A snapshot of `n` accounts holding `rows` = (account, asset, side), in that order.
    fn holding(n: usize, rows: &[(u32, u32, Side)]) -> Snapshot {
        let mut s = Snapshot::default();
        for k in 0..n {
            s.accounts.get_or_insert(0, &format!("a{k}"));
        }
        for &(acc, asset, side) in rows {
            s.positions.push(acc, asset as usize, side, 1.0);
        }
        s
    }

    /// Every pair of rows compared.
    fn brute_force(s: &Snapshot) -> Vec<(u32, u32)> {
        let p = &s.positions;
        let mut out = Vec::new();
        for i in 0..p.len() {
            for j in 0..p.len() {
                if p.account[i] == p.account[j]
                    && p.asset[i] == p.asset[j]
                    && p.side[i] != p.side[j]
                {
                    out.push((p.account[i], p.asset[i]));
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    #[test]
    fn both_sides_are_found_in_grouped_spread_and_long_runs() {
        use Side::{Collateral as C, Debt as D};
        let mut rows = vec![
            (0, 0, C),
            (0, 1, D),
            (0, 0, D),
            (1, 0, C),
            (2, 1, C),
            (2, 1, C),
        ];
        rows.push((1, 0, D)); // account 1 again, after account 2: spread
        for k in 0..2 * SHORT_RUN as u32 {
            rows.push((3, k % 9, if k == 2 * SHORT_RUN as u32 - 2 { D } else { C }));
        }
        let s = holding(4, &rows);
        let found = held_on_both_sides(&s);
        assert_eq!(found, [(0, 0), (1, 0), (3, (2 * SHORT_RUN as u32 - 2) % 9)]);
        assert_eq!(found, brute_force(&s));
    }

    #[test]
    fn both_sides_agree_with_every_pair_compared_on_shuffled_rows() {
        let mut x: u64 = 7;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % m) as u32
        };
        for round in 0..50 {
            let n = 1 + next(30) as usize;
            let mut rows = Vec::new();
            for _ in 0..next(200) {
                // Mostly grouped rows (repeat the previous account), sometimes a jump back.
                let acc = match rows.last() {
                    Some(&(a, _, _)) if next(4) > 0 => a,
                    _ => next(n as u64),
                };
                let side = if next(2) == 0 {
                    Side::Collateral
                } else {
                    Side::Debt
                };
                rows.push((acc, next(5), side));
            }
            let s = holding(n, &rows);
            assert_eq!(held_on_both_sides(&s), brute_force(&s), "round {round}");
        }
    }
}
