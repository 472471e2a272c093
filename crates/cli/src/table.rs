//! The human table of `cascade stress`.

use std::fmt::Write;

use cascade_engine::StressResult;
use cascade_model::units::{fmt_change, fmt_tokens, fmt_usd};
use cascade_model::Snapshot;

pub fn stress_table(s: &Snapshot, r: &StressResult) -> String {
    let mut o = String::new();
    let sys = &r.system;
    let _ = writeln!(
        o,
        "cascade stress — snapshot \"{}\", scenario \"{}\"",
        r.snapshot, r.scenario
    );
    let _ = writeln!(
        o,
        "{} ({}); {}, {}\n",
        plural(sys.rounds as usize, "round"),
        if sys.fixed_point {
            "fixed point"
        } else {
            "stopped at max_rounds"
        },
        plural(s.accounts.len(), "account"),
        plural(s.protocols.len(), "protocol")
    );
    let shocked = r.rounds.first().map(|x| &x.prices);
    let _ = writeln!(
        o,
        "{:<10} {:>14} {:>14} {:>14} {:>9}",
        "asset", "before (USD)", "after shock", "final", "change"
    );
    for a in &s.assets {
        let b = r.initial_prices.get(&a.id).copied().unwrap_or(0.0);
        let sh = shocked.and_then(|p| p.get(&a.id)).copied().unwrap_or(b);
        let f = r.final_prices.get(&a.id).copied().unwrap_or(0.0);
        let _ = writeln!(
            o,
            "{:<10} {:>14} {:>14} {:>14} {:>9}",
            a.id,
            price(b),
            price(sh),
            price(f),
            fmt_change(b, f)
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:<14} {:>11} {:>11} {:>11} {:>11} {:>11} {:>9} {:>9}",
        "protocol", "TVL", "liquidated", "seized", "bad debt", "shortfall", "% of TVL", "accounts"
    );
    for p in &r.protocols {
        let _ = writeln!(
            o,
            "{:<14} {:>11} {:>11} {:>11} {:>11} {:>11} {:>8.3}% {:>9}",
            p.id,
            fmt_usd(p.tvl_usd),
            fmt_usd(p.liquidated_debt_usd),
            fmt_usd(p.seized_collateral_usd),
            fmt_usd(p.bad_debt_usd),
            fmt_usd(p.shortfall_usd),
            100.0 * p.bad_debt_share_of_tvl,
            p.accounts_liquidated
        );
    }
    let _ = writeln!(
        o,
        "{:<14} {:>11} {:>11} {:>11} {:>11} {:>11} {:>8.3}% {:>9}",
        "system",
        fmt_usd(sys.tvl_usd),
        fmt_usd(sys.liquidated_debt_usd),
        fmt_usd(sys.seized_collateral_usd),
        fmt_usd(sys.bad_debt_usd),
        fmt_usd(sys.shortfall_usd),
        100.0 * sys.bad_debt_share_of_tvl,
        sys.accounts_liquidated
    );
    if let (Some(b), Some(i)) = (&r.baseline, &r.incremental) {
        let _ = writeln!(
            o,
            "{:<14} {:>11} {:>11} {:>11} {:>11} {:>11}",
            "  no shock",
            "",
            fmt_usd(b.liquidated_debt_usd),
            fmt_usd(b.seized_collateral_usd),
            fmt_usd(b.bad_debt_usd),
            fmt_usd(b.shortfall_usd),
        );
        let _ = writeln!(
            o,
            "{:<14} {:>11} {:>11} {:>11} {:>11} {:>11}",
            "  scenario's",
            "",
            fmt_usd(i.liquidated_debt_usd),
            fmt_usd(i.seized_collateral_usd),
            fmt_usd(i.bad_debt_usd),
            fmt_usd(i.shortfall_usd),
        );
        let _ = writeln!(
            o,
            "no shock = the same snapshot run without the scenario (what is already liquidatable or insolvent); scenario's = system − no shock"
        );
    }
    let funded: Vec<_> = r
        .protocols
        .iter()
        .filter(|p| p.insurance_fund_initial_usd > 0.0 || p.insurance_used_usd > 0.0)
        .collect();
    if !funded.is_empty() {
        // A clearinghouse's winners pay what its fund cannot (socialised loss or ADL).
        let winners = r.protocols.iter().any(|p| p.winners_paid_usd > 0.0);
        let _ = writeln!(
            o,
            "\n{:<14} {:>11} {:>11} {:>9} {:>11} {:>11}{}",
            "insurance",
            "bad debt",
            "paid",
            "coverage",
            "fund before",
            "fund after",
            if winners {
                format!(" {:>11}", "winners")
            } else {
                String::new()
            }
        );
        for p in funded {
            let _ = writeln!(
                o,
                "{:<14} {:>11} {:>11} {:>8.1}% {:>11} {:>11}{}",
                p.id,
                fmt_usd(p.bad_debt_usd),
                fmt_usd(p.insurance_used_usd),
                100.0 * p.insurance_coverage,
                fmt_usd(p.insurance_fund_initial_usd),
                fmt_usd(p.insurance_fund_final_usd),
                if winners {
                    format!(" {:>11}", fmt_usd(p.winners_paid_usd))
                } else {
                    String::new()
                }
            );
        }
        if winners {
            let _ = writeln!(
                o,
                "winners = what a clearinghouse's profitable positions gave up (socialised loss or auto-deleveraging)"
            );
        }
    }
    let _ = writeln!(o, "\nliquidated = debt repaid by liquidators; bad debt = debt left on accounts with no collateral (gross of insurance);");
    let _ = writeln!(o, "shortfall = open accounts with HF < 1 at the end, debt above collateral (not yet realised)\n");
    let _ = writeln!(o, "contagion trace:");
    for line in &r.trace {
        let _ = writeln!(o, "  {line}");
    }
    o
}

/// `--breakers both`: the difference breakers make, then each run in full.
pub fn breakers_table(s: &Snapshot, on: &StressResult, off: &StressResult) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "cascade stress — scenario \"{}\": circuit breakers on vs off\n",
        on.scenario
    );
    let _ = writeln!(
        o,
        "{:<14} {:>12} {:>12} {:>12} {:>12} {:>12} {:>7} {:>9}",
        "protocol",
        "bad debt on",
        "bad debt off",
        "difference",
        "liquid. on",
        "liquid. off",
        "paused",
        "deferred"
    );
    for (a, b) in on.protocols.iter().zip(&off.protocols) {
        let _ = writeln!(
            o,
            "{:<14} {:>12} {:>12} {:>12} {:>12} {:>12} {:>7} {:>9}",
            a.id,
            fmt_usd(a.bad_debt_usd),
            fmt_usd(b.bad_debt_usd),
            fmt_usd(a.bad_debt_usd - b.bad_debt_usd),
            fmt_usd(a.liquidated_debt_usd),
            fmt_usd(b.liquidated_debt_usd),
            a.paused_rounds,
            a.deferred_account_rounds
        );
    }
    let (a, b) = (&on.system, &off.system);
    let _ = writeln!(
        o,
        "{:<14} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "system",
        fmt_usd(a.bad_debt_usd),
        fmt_usd(b.bad_debt_usd),
        fmt_usd(a.bad_debt_usd - b.bad_debt_usd),
        fmt_usd(a.liquidated_debt_usd),
        fmt_usd(b.liquidated_debt_usd)
    );
    let _ = writeln!(
        o,
        "rounds: {} with breakers, {} without\n",
        a.rounds, b.rounds
    );
    let _ = writeln!(o, "=== with circuit breakers ===");
    o.push_str(&stress_table(s, on));
    let _ = writeln!(o, "\n=== without circuit breakers ===");
    o.push_str(&stress_table(s, off));
    o
}

fn price(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The human table of `cascade simulate`.
pub fn simulation_table(
    s: &Snapshot,
    sim: &cascade_risk::simulate::Simulation,
    seconds: f64,
) -> String {
    let mut o = String::new();
    let spec = &sim.spec;
    let dist = match spec.dist {
        cascade_risk::paths::Dist::Normal => "normal".to_string(),
        cascade_risk::paths::Dist::StudentT { dof } => format!("Student-t, {dof} dof"),
    };
    let _ = writeln!(
        o,
        "cascade simulate — snapshot \"{}\": {} paths over {} day(s), {dist}{}, seed {} ({seconds:.1} s)",
        s.name,
        sim.paths.len(),
        spec.horizon_days,
        if spec.antithetic { ", antithetic" } else { "" },
        spec.seed
    );
    let _ = writeln!(
        o,
        "loss = insolvent debt (bad debt + final shortfall), USD; [95% confidence interval]\n"
    );
    let rows = std::iter::once(("system".to_string(), sim.system())).chain(
        sim.protocols
            .iter()
            .enumerate()
            .map(|(k, id)| (id.clone(), sim.protocol(k))),
    );
    for (id, f) in rows {
        if f.mean_loss_usd == 0.0 && f.lar_95.ci[1] == 0.0 {
            let _ = writeln!(o, "{id}: no loss and no liquidation on any path");
            continue;
        }
        let _ = writeln!(
            o,
            "{id}: P(loss > 0) = {:.2}% [{:.2}%, {:.2}%], mean {}",
            100.0 * f.p_bad_debt.value,
            100.0 * f.p_bad_debt.ci[0],
            100.0 * f.p_bad_debt.ci[1],
            fmt_usd(f.mean_loss_usd)
        );
        for ((a, v), (_, e)) in f.var.iter().zip(&f.es) {
            let _ = writeln!(
                o,
                "  {:>5}%  VaR {:>10} [{}, {}]   ES {:>10} [{}, {}]",
                format!("{}", a * 100.0),
                fmt_usd(v.value),
                fmt_usd(v.ci[0]),
                fmt_usd(v.ci[1]),
                fmt_usd(e.value),
                fmt_usd(e.ci[0]),
                fmt_usd(e.ci[1])
            );
        }
        let _ = writeln!(
            o,
            "  LaR 95% {} [{}, {}]  (liquidated debt)",
            fmt_usd(f.lar_95.value),
            fmt_usd(f.lar_95.ci[0]),
            fmt_usd(f.lar_95.ci[1])
        );
    }
    let _ = writeln!(
        o,
        "\ntail drivers — mean log return over all paths vs paths at or beyond the system VaR 99%:"
    );
    for (a, all, tail) in sim.tail_drivers(0.99) {
        let _ = writeln!(
            o,
            "  {a:<8} {:>+8.2}% vs {:>+8.2}%",
            100.0 * all,
            100.0 * tail
        );
    }
    for w in &sim.warnings {
        let _ = writeln!(o, "warning: {w}");
    }
    o
}

/// The human table of `cascade calibrate`.
pub fn calibration_table(
    alpha: f64,
    days: f64,
    budget: f64,
    paths: usize,
    closed: &[cascade_risk::calibrate::ReserveCalibration],
    mc: &[cascade_risk::bisect::McCalibration],
) -> String {
    let mut o = String::new();
    let pct = |x: f64| format!("{:.1}%", 100.0 * x);
    let _ = writeln!(
        o,
        "closed forms (docs/calibration.md), α = {}, selling over {days} day(s):",
        pct(alpha)
    );
    let _ = writeln!(o, "  h = 1 − exp(−z_α·σ·√(T/365)) + impact;  max LT = (1 − h)/(1 + bonus);  SmartLTV (B.Protocol / Risk DAO) for comparison\n");
    let _ = writeln!(
        o,
        "{:<14} {:<7} {:>7} {:>7} {:>12} {:>8} {:>8} {:>8} {:>9}",
        "protocol",
        "asset",
        "LT now",
        "bonus",
        "position",
        "impact",
        "haircut",
        "max LT",
        "SmartLTV"
    );
    for c in closed {
        let _ = writeln!(
            o,
            "{:<14} {:<7} {:>7} {:>7} {:>12} {:>8} {:>8} {:>8} {:>9}",
            c.protocol,
            c.asset,
            pct(c.current_lt),
            pct(c.bonus),
            fmt_tokens(c.position_tokens),
            pct(c.impact),
            pct(c.haircut),
            pct(c.max_lt),
            c.smart_ltv.map_or("—".to_string(), pct)
        );
    }
    if !mc.is_empty() {
        let _ = writeln!(
            o,
            "\nMonte Carlo ({paths} paths per evaluation): largest LT and supply whose ES {} of the protocol's loss stays within {} of its supplied value",
            pct(alpha),
            pct(budget)
        );
        let _ = writeln!(
            o,
            "{:<14} {:<7} {:>7} {:>11} {:>11} {:>8} {:>13} {:>31}",
            "protocol",
            "asset",
            "LT now",
            "ES now",
            "budget",
            "max LT",
            "max supply",
            "ES at LT −5 / now / +5 pts"
        );
        for c in mc {
            let sens: Vec<String> = c.sensitivity.iter().map(|(_, e)| fmt_usd(*e)).collect();
            let _ = writeln!(
                o,
                "{:<14} {:<7} {:>7} {:>11} {:>11} {:>8} {:>13} {:>31}",
                c.protocol,
                c.asset,
                pct(c.current_lt),
                fmt_usd(c.es_current_usd),
                fmt_usd(c.budget_usd),
                c.max_lt.map_or("none".to_string(), pct),
                match c.max_supply_tokens {
                    Some(x) => fmt_tokens(x),
                    None if c.current_supply_tokens <= 0.0 => "—".to_string(),
                    None => "below today".to_string(),
                },
                sens.join(" / ")
            );
        }
    }
    o
}

/// The human output of `cascade contagion`.
pub fn contagion_table(
    s: &Snapshot,
    edges: &[cascade_contagion::snapshot::Edge],
    coefficients: &[cascade_contagion::snapshot::Coefficient],
    loops: &cascade_contagion::snapshot::Loops,
    scenario: &str,
    concentration: &[cascade_contagion::snapshot::Concentration],
) -> String {
    let mut o = String::new();
    let pct = |x: f64| format!("{:.1}%", 100.0 * x);
    let _ = writeln!(o, "cascade contagion — snapshot \"{}\"\n", s.name);
    let _ = writeln!(o, "exposure graph (claims: `from` holds or accepts what `to` owes or backs; shared collateral: the smaller holding)");
    for e in edges.iter().filter(|e| e.kind != "shared_collateral") {
        let _ = writeln!(
            o,
            "  {:<12} → {:<12} {:<10} {:<7} {:>10}",
            e.from,
            e.to,
            e.kind,
            e.asset,
            fmt_usd(e.usd)
        );
    }
    let mut shared: Vec<&cascade_contagion::snapshot::Edge> = edges
        .iter()
        .filter(|e| e.kind == "shared_collateral")
        .collect();
    shared.sort_by(|a, b| b.usd.total_cmp(&a.usd));
    for e in shared.iter().take(8) {
        let _ = writeln!(
            o,
            "  {:<12} ↔ {:<12} {:<10} {:<7} {:>10}",
            e.from,
            e.to,
            "shared",
            e.asset,
            fmt_usd(e.usd)
        );
    }
    if shared.len() > 8 {
        let _ = writeln!(
            o,
            "  … {} more shared-collateral pairs (--json, --edges)",
            shared.len() - 8
        );
    }
    let _ = writeln!(o, "\ncontagion coefficients: the smallest drop of the asset alone at which the protocol realises bad debt");
    let _ = writeln!(
        o,
        "(slope: USD of bad debt per further point of drop; rounds: round of the first bad debt)"
    );
    let protocols: Vec<&str> = {
        let mut v: Vec<&str> = Vec::new();
        for c in coefficients {
            if !v.contains(&c.protocol.as_str()) {
                v.push(&c.protocol);
            }
        }
        v
    };
    let mut header = format!("  {:<8}", "asset");
    for p in &protocols {
        header.push_str(&format!(" {:>22}", p));
    }
    let _ = writeln!(o, "{header}");
    let mut assets: Vec<&str> = Vec::new();
    for c in coefficients {
        if !assets.contains(&c.asset.as_str()) {
            assets.push(&c.asset);
        }
    }
    for a in assets {
        let mut line = format!("  {a:<8}");
        for p in &protocols {
            let cell = coefficients
                .iter()
                .find(|c| c.asset == a && c.protocol == *p)
                .map_or("".to_string(), |c| match c.threshold_drop {
                    Some(d) => format!(
                        "−{} {}/pt r{}",
                        pct(d),
                        fmt_usd(c.slope_usd_per_pct.unwrap_or(0.0)),
                        c.rounds_to_insolvency.unwrap_or(0)
                    ),
                    None => "—".to_string(),
                });
            line.push_str(&format!(" {cell:>22}"));
        }
        let _ = writeln!(o, "{line}");
    }
    let _ = writeln!(
        o,
        "\nrecursive collateralization ({} looped accounts)",
        loops.looped_accounts
    );
    for l in &loops.pairs {
        let _ = writeln!(
            o,
            "  {:<7} → {:<5} {:<14} {:>4} accounts, collateral {:>10}, debt {:>10}, max leverage {:.2}×",
            l.collateral,
            l.debt,
            if l.cross_protocol { "across pools" } else { "" },
            l.accounts,
            fmt_usd(l.collateral_usd),
            fmt_usd(l.debt_usd),
            l.max_leverage
        );
    }
    match loops.looped_bad_debt_share {
        Some(x) => {
            let _ = writeln!(
                o,
                "  share of \"{scenario}\"'s system bad debt due to looped accounts: {}",
                pct(x)
            );
        }
        None => {
            let _ = writeln!(o, "  \"{scenario}\" realises no bad debt");
        }
    }
    let _ = writeln!(o, "\nconcentration of collateral (liquidity coefficient: value sellable within 2% slippage / collateral value)");
    let _ = writeln!(
        o,
        "  {:<7} {:>11} {:>8} {:>7} {:>8} {:>10}",
        "asset", "collateral", "holders", "HHI", "top-10", "liquidity"
    );
    for c in concentration {
        let _ = writeln!(
            o,
            "  {:<7} {:>11} {:>8} {:>7.3} {:>8} {:>10.2}",
            c.asset,
            fmt_usd(c.collateral_usd),
            c.holders,
            c.hhi,
            pct(c.top10_share),
            c.liquidity_coefficient
        );
    }
    o
}

/// A p-value: four decimals, or two significant digits below 0.0001 (so a rejection shows how
/// strong it is).
fn fmt_p(p: f64) -> String {
    if p < 1e-4 && p > 0.0 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// Unix seconds as `YYYY-MM-DD HH:MM` UTC.
fn utc_minute(s: f64) -> String {
    let t = cascade_serve::dashboard::fmt_time_ms((s * 1000.0) as i64);
    t.get(..16).map_or(t.clone(), str::to_string)
}

/// The table of `cascade backtest` (docs/volatility.md#backtests).
pub fn backtest_table(r: &crate::commands::backtest::BacktestResult) -> String {
    let mut o = String::new();
    let s = &r.settings;
    let _ = writeln!(
        o,
        "cascade backtest — {}: VaR {:.1}% of the {}-period log return, window {}, refit every {}, λ = {}, feature window {}",
        r.file,
        100.0 * s.confidence,
        s.horizon,
        s.window,
        s.refit_every,
        s.lambda,
        s.feature_window
    );
    let _ = writeln!(
        o,
        "  exceedance: return below the forecast quantile; Kupiec LR_pof ~ χ²(1), Christoffersen LR_ind ~ χ²(1), LR_cc = LR_pof + LR_ind ~ χ²(2)"
    );
    for a in &r.assets {
        let _ = writeln!(
            o,
            "\n{}: {} returns every {:.0} s (median gap), {} → {} UTC",
            a.asset,
            a.returns,
            a.period_s,
            utc_minute(a.from_s),
            utc_minute(a.to_s)
        );
        let _ = writeln!(
            o,
            "{:<9} {:>9} {:>6} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>5}",
            "model",
            "forecasts",
            "exceed",
            "rate",
            "expect",
            "LR_pof",
            "p_pof",
            "LR_ind",
            "p_ind",
            "LR_cc",
            "p_cc",
            "mean q",
            "fits"
        );
        for m in &a.models {
            let _ = writeln!(
                o,
                "{:<9} {:>9} {:>6} {:>6.3}% {:>6.3}% {:>8.3} {:>8} {:>8.3} {:>8} {:>8.3} {:>8} {:>8.3}% {:>5}",
                m.model.name(),
                m.forecasts,
                m.exceedances,
                100.0 * m.exceedance_rate,
                100.0 * m.expected_rate,
                m.kupiec.lr,
                fmt_p(m.kupiec.p_value),
                m.christoffersen.lr,
                fmt_p(m.christoffersen.p_value),
                m.conditional_coverage.lr,
                fmt_p(m.conditional_coverage.p_value),
                100.0 * m.mean_var_quantile,
                m.fits
            );
        }
    }
    o
}

/// Where `cascade calibrate --prices` took each volatility from (docs/volatility.md#filling-a-snapshot).
pub fn volatility_sources_table(r: &cascade_volatility::fill::FillReport) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "volatilities (annualised; docs/volatility.md#filling-a-snapshot):"
    );
    let _ = writeln!(
        o,
        "{:<8} {:>9} {:>9}  {:<22} {:<28} {:>8}  window (UTC)",
        "asset", "hand-set", "now", "source", "model", "returns"
    );
    for v in &r.volatilities {
        let (model, returns, window) = match (v.from_s, v.to_s) {
            (Some(a), Some(b)) => (
                v.model.as_str(),
                v.returns.to_string(),
                format!("{} → {}, {}", utc_minute(a), utc_minute(b), v.file),
            ),
            _ => ("—", "—".to_string(), String::new()),
        };
        let line = format!(
            "{:<8} {:>8.1}% {:>8.1}%  {:<22} {:<28} {:>8}  {}",
            v.asset,
            100.0 * v.hand_set,
            100.0 * v.volatility,
            v.source,
            model,
            returns,
            window
        );
        let _ = writeln!(o, "{}", line.trim_end());
    }
    for c in &r.correlations {
        let _ = writeln!(
            o,
            "correlation {}–{} = {:.4} ({}, {} returns of {})",
            c.a, c.b, c.correlation, c.model, c.returns, c.file
        );
    }
    for u in &r.unmatched_series {
        let _ = writeln!(o, "series matching no asset, not used: {u}");
    }
    let _ = writeln!(o);
    o
}

/// The diversification of each lending protocol and, with a cap, the scenario's bad debt with and
/// without it (docs/contagion.md#diversification).
pub fn diversification_table(
    div: &[cascade_contagion::diversification::ProtocolDiversification],
    cap: Option<&cascade_contagion::diversification::CapCounterfactual>,
) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "\ndiversification of lending collateral (effective number of collateral assets per account, value-weighted)");
    let _ = writeln!(
        o,
        "  {:<14} {:>8} {:>10} {:>12} {:>6}",
        "protocol", "accounts", "effective", "single-asset", "cap"
    );
    for d in div {
        let _ = writeln!(
            o,
            "  {:<14} {:>8} {:>10.2} {:>12} {:>6}",
            d.protocol,
            d.accounts,
            d.effective_assets,
            format!("{:.1}%", 100.0 * d.single_asset_share),
            d.diversification_cap
                .map_or("—".to_string(), |c| format!("{c}"))
        );
    }
    if let Some(c) = cap {
        let _ = writeln!(
            o,
            "\n\"{}\" with a diversification cap of {} on every lending protocol (borrowers re-levered to their health factor):",
            c.scenario, c.cap
        );
        let _ = writeln!(
            o,
            "  {:<14} {:>10} {:>10} {:>9} {:>10} {:>10}",
            "protocol", "debt", "with cap", "relevered", "bad debt", "with cap"
        );
        for p in &c.protocols {
            let _ = writeln!(
                o,
                "  {:<14} {:>10} {:>10} {:>9} {:>10} {:>10}",
                p.protocol,
                fmt_usd(p.debt_usd),
                fmt_usd(p.debt_with_cap_usd),
                p.accounts_relevered,
                fmt_usd(p.bad_debt_usd),
                fmt_usd(p.bad_debt_with_cap_usd)
            );
        }
        let debt = |f: fn(&cascade_contagion::diversification::CapEffect) -> f64| {
            c.protocols.iter().map(f).sum::<f64>()
        };
        let per_debt = |bad: f64, d: f64| {
            if d > 0.0 {
                format!("{:.2}%", 100.0 * bad / d)
            } else {
                "—".into()
            }
        };
        let _ = writeln!(
            o,
            "  system bad debt {} → {} (lending: {} → {} of its debt)",
            fmt_usd(c.system_bad_debt_usd),
            fmt_usd(c.system_bad_debt_with_cap_usd),
            per_debt(debt(|p| p.bad_debt_usd), debt(|p| p.debt_usd)),
            per_debt(
                debt(|p| p.bad_debt_with_cap_usd),
                debt(|p| p.debt_with_cap_usd)
            ),
        );
    }
    o
}
