//! The protocol, scenario and contagion pages.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cascade_model::ProtocolParams;
use cascade_report::{
    bar_chart_svg, heatmap_svg, line_chart_svg, network_svg, GraphEdge, GraphNode, ValueAxis,
};
use serde_json::Value;

use crate::live::{LADDER_CURVE_MAX_PERCENT, LADDER_DROPS};
use crate::server::AppState;
use crate::watch::json_number;

use super::format::{
    esc, fmt_count, fmt_hf, fmt_pct, fmt_price, fmt_time_ms, fmt_tokens, fmt_usd, urlencode,
};
use super::{message, shell};

/// Chart width in the dashboard, pixels (charts scale down with the page).
const CHART_W: u32 = 900;

/// A table: a header row and rows of cells (HTML already escaped); numeric columns right-aligned
/// by the `num` class of the header's cells listed in `numeric`.
pub(crate) fn table(head: &[&str], numeric: &[usize], rows: &[Vec<String>]) -> String {
    let mut o = String::from("<div class=\"scroll\"><table><thead><tr>");
    for (i, h) in head.iter().enumerate() {
        let c = if numeric.contains(&i) {
            " class=\"num\""
        } else {
            ""
        };
        o.push_str(&format!("<th scope=\"col\"{c}>{h}</th>"));
    }
    o.push_str("</tr></thead><tbody>");
    for r in rows {
        o.push_str("<tr>");
        for (i, cell) in r.iter().enumerate() {
            let c = if numeric.contains(&i) {
                " class=\"num\""
            } else {
                ""
            };
            o.push_str(&format!("<td{c}>{cell}</td>"));
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table></div>");
    o
}

fn section(id: &str, heading: &str, note: &str, content: &str) -> String {
    format!(
        "<section aria-labelledby=\"h-{id}\"><h2 id=\"h-{id}\">{}</h2>{}{content}</section>",
        esc(heading),
        if note.is_empty() {
            String::new()
        } else {
            format!("<p class=\"note\">{}</p>", esc(note))
        }
    )
}

/// `GET /protocols/{id}`.
pub async fn protocol(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let s = Arc::clone(&state);
    let pid = id.clone();
    let body = tokio::task::spawn_blocking(move || protocol_body(&s, &pid))
        .await
        .ok()
        .flatten();
    match body {
        Some(b) => shell(&state, &headers, &format!("Protocol {id}"), "", &b),
        None => message(
            &state,
            &headers,
            StatusCode::NOT_FOUND,
            "No such protocol",
            &format!("There is no protocol \"{id}\" in the served system."),
        ),
    }
}

fn protocol_body(state: &AppState, id: &str) -> Option<String> {
    let live = state.live();
    let v = live.protocol(id)?;
    let sys = live.system();
    let p = sys.protocols.iter().find(|p| p.id == id)?;
    let prices = live.prices();
    let mut o = String::new();
    let t = &v.totals;
    o.push_str(&format!(
        "<p class=\"lead\">{kind} · collateral <b>{c}</b> · debt <b>{d}</b> · <b>{n}</b> accounts · <b>{b}</b> below health factor 1 owing <b>{bd}</b>{rule}</p>",
        kind = esc(t.kind),
        c = fmt_usd(t.collateral_usd),
        d = fmt_usd(t.debt_usd),
        n = fmt_count(t.accounts),
        b = fmt_count(t.below_one.accounts),
        bd = fmt_usd(t.below_one.debt_usd),
        rule = v.health_factor_rule.map(|r| format!(" · health factor rule <code>{r}</code>")).unwrap_or_default(),
    ));
    if let Some(note) = &v.note {
        o.push_str(&format!("<p class=\"note\">{}</p>", esc(note)));
    }
    if !v.reserves.is_empty() {
        let rows: Vec<Vec<String>> = v
            .reserves
            .iter()
            .map(|r| {
                vec![
                    esc(&r.asset),
                    fmt_price(r.price_usd),
                    format!(
                        "{} ({})",
                        fmt_tokens(r.supplied_tokens),
                        fmt_usd(r.supplied_usd)
                    ),
                    format!(
                        "{} ({})",
                        fmt_tokens(r.borrowed_tokens),
                        fmt_usd(r.borrowed_usd)
                    ),
                    r.utilisation
                        .map(|u| fmt_pct(u, 1))
                        .unwrap_or_else(|| "—".into()),
                    fmt_pct(r.ltv, 1),
                    if r.collateral_enabled {
                        fmt_pct(r.liquidation_threshold, 1)
                    } else {
                        "not collateral".into()
                    },
                    fmt_pct(r.liquidation_bonus, 1),
                ]
            })
            .collect();
        o.push_str(&section(
            "reserves",
            "Reserves",
            "Price in USD now; supplied and borrowed in tokens (USD at current prices); utilisation = borrowed / supplied; LTV, liquidation threshold (LT) and liquidation bonus as set in the pool.",
            &table(&["Asset", "Price", "Supplied", "Borrowed", "Utilisation", "LTV", "LT", "Bonus"], &[1, 2, 3, 4, 5, 6, 7], &rows),
        ));
    }
    if !v.vault_types.is_empty() {
        let rows: Vec<Vec<String>> = v
            .vault_types
            .iter()
            .map(|t| {
                vec![
                    esc(&t.id),
                    esc(&t.collateral),
                    fmt_price(t.price_usd),
                    fmt_count(t.vaults),
                    format!(
                        "{} ({})",
                        fmt_tokens(t.collateral_tokens),
                        fmt_usd(t.collateral_usd)
                    ),
                    fmt_usd(t.debt_usd),
                    t.collateral_ratio
                        .map(|c| fmt_pct(c, 1))
                        .unwrap_or_else(|| "—".into()),
                    fmt_pct(t.liquidation_ratio, 1),
                    fmt_pct(t.liquidation_penalty, 1),
                ]
            })
            .collect();
        o.push_str(&section(
            "vaults",
            "Vault types",
            "Collateral in tokens (USD now); debt in the stablecoin at par; collateral ratio of the type's vaults together.",
            &table(&["Type", "Collateral", "Price", "Vaults", "Collateral held", "Debt", "Collateral ratio", "Liquidation ratio", "Penalty"], &[2, 3, 4, 5, 6, 7, 8], &rows),
        ));
    }
    // The ladder per collateral asset: the protocol's debt liquidatable at each headline drop.
    let mut collateral: Vec<String> = Vec::new();
    match &p.params {
        ProtocolParams::Lending(l) => {
            for r in l
                .reserves
                .iter()
                .filter(|r| r.collateral_enabled && r.liquidation_threshold > 0.0)
            {
                collateral.push(sys.assets[r.asset].id.clone());
            }
        }
        ProtocolParams::Cdp(c) => {
            for t in &c.vault_types {
                let a = sys.assets[t.collateral].id.clone();
                if !collateral.contains(&a) {
                    collateral.push(a);
                }
            }
        }
        _ => {}
    }
    if !collateral.is_empty() && t.health != "none" {
        let mut series = Vec::new();
        let mut rows = Vec::new();
        for a in &collateral {
            let Some(l) = live.ladder(a) else { continue };
            let Some(mine) = l.by_protocol.iter().find(|x| x.protocol == id) else {
                continue;
            };
            let mut vals = vec![0.0];
            vals.extend(mine.curve.iter().map(|x| x.debt_usd));
            let mut row = vec![esc(a), fmt_price(l.price_usd)];
            row.extend(
                mine.points
                    .iter()
                    .map(|x| format!("{} ({} acc.)", fmt_usd(x.debt_usd), fmt_count(x.accounts))),
            );
            rows.push(row);
            series.push((a.clone(), vals));
        }
        let xs: Vec<u32> = (0..=LADDER_CURVE_MAX_PERCENT).collect();
        let chart = line_chart_svg(
            &format!("Debt of {id} liquidatable if one collateral asset drops"),
            &xs,
            &series,
            (
                "price drop of the asset, %",
                "debt newly liquidatable",
                ValueAxis::Usd,
            ),
            CHART_W,
        );
        let mut head = vec!["Asset", "Price now"];
        let labels: Vec<String> = LADDER_DROPS
            .iter()
            .map(|d| format!("−{}%", (d * 100.0).round()))
            .collect();
        head.extend(labels.iter().map(String::as_str));
        o.push_str(&section(
            "ladder",
            "Liquidation ladder",
            "For each collateral asset: the debt of this protocol's accounts, healthy now, that become liquidatable if that asset (and the assets priced from it) drops by the given share, every other price held — every 1% up to 50% in the chart, the headline drops in the table. USD at the dropped prices; accounts already below 1 are not counted.",
            &format!("<figure>{chart}</figure>{}", table(&head, &[1, 2, 3, 4, 5], &rows)),
        ));
    }
    if !v.histogram.is_empty() {
        let labels: Vec<String> = v.histogram.iter().map(|b| b.label.clone()).collect();
        let debt: Vec<f64> = v.histogram.iter().map(|b| b.debt_usd).collect();
        let chart = bar_chart_svg(
            "Debt by health factor",
            &labels,
            &[("debt, USD".to_string(), debt)],
            ("debt", ValueAxis::Usd),
            CHART_W,
        );
        let rows: Vec<Vec<String>> = v
            .histogram
            .iter()
            .map(|b| vec![esc(&b.label), fmt_count(b.accounts), fmt_usd(b.debt_usd)])
            .collect();
        o.push_str(&section(
            "histogram",
            "Health factor distribution",
            "Accounts and their debt (USD now) by health factor under the pool's rule (a vault: collateral ratio over liquidation ratio).",
            &format!("<figure>{chart}</figure>{}", table(&["Health factor", "Accounts", "Debt"], &[1, 2], &rows)),
        ));
    }
    // The insurance fund (a CDP's surplus buffer) and what it covers under each watched scenario.
    let fund: f64 = match &p.params {
        ProtocolParams::Cdp(c) => c.surplus_buffer_usd,
        _ => p
            .insurance_fund
            .iter()
            .map(|&(a, q)| q * prices.get(a).copied().unwrap_or(0.0))
            .sum(),
    };
    let w = state.watch();
    let mut rows = Vec::new();
    for r in &w.scenarios {
        let ps = r.result.get("protocols").and_then(Value::as_array);
        let Some(me) = ps.and_then(|a| {
            a.iter()
                .find(|x| x.get("id").and_then(Value::as_str) == Some(id))
        }) else {
            continue;
        };
        let n = |k: &str| me.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
        let bad = n("bad_debt_usd");
        rows.push(vec![
            format!(
                "<a href=\"/scenarios/{}\">{}</a>",
                esc(&urlencode(&r.name)),
                esc(&r.name)
            ),
            fmt_usd(bad),
            fmt_usd(n("insurance_used_usd")),
            fmt_usd(n("uncovered_usd")),
            if bad > 0.0 {
                fmt_pct((fund / bad).min(1.0), 0)
            } else {
                "—".into()
            },
        ]);
    }
    o.push_str(&section(
        "insurance",
        "Insurance fund and coverage",
        "",
        &format!(
            "<p>Fund now: <b>{}</b>{} ({} of the protocol's debt).</p>{}",
            fmt_usd(fund),
            if matches!(p.params, ProtocolParams::Cdp(_)) { " (surplus buffer)" } else { "" },
            if t.debt_usd > 0.0 { fmt_pct(fund / t.debt_usd, 2) } else { "—".into() },
            if rows.is_empty() {
                "<p class=\"note\">No watched scenario has run yet.</p>".to_string()
            } else {
                format!("<p class=\"note\">Under each watched scenario (latest run): the protocol's bad debt, what its fund paid, what is left to suppliers or the backing, and the fund now as a share of that bad debt (capped at 100%).</p>{}", table(&["Scenario", "Bad debt", "Fund paid", "Uncovered", "Coverage"], &[1, 2, 3, 4], &rows))
            }
        ),
    ));
    drop(w);
    if !v.largest_accounts.is_empty() {
        let rows: Vec<Vec<String>> = v
            .largest_accounts
            .iter()
            .map(|a| {
                vec![
                    format!(
                        "<a href=\"/accounts?id={}\">{}</a>",
                        esc(&urlencode(&a.account)),
                        esc(&a.account)
                    ),
                    fmt_usd(a.debt_usd),
                    fmt_usd(a.collateral_usd),
                    fmt_hf(a.health_factor),
                ]
            })
            .collect();
        o.push_str(&section(
            "largest",
            "Largest accounts",
            "By debt (USD now); health factor under the pool's rule, ∞ without debt.",
            &table(
                &["Account", "Debt", "Collateral", "Health factor"],
                &[1, 2, 3],
                &rows,
            ),
        ));
    }
    Some(o)
}

/// The three headline figures of a run: the scenario's, the no-shock baseline's and the difference.
fn figures_table(result: &Value) -> String {
    let keys = [
        ("bad_debt_usd", "Bad debt"),
        ("uncovered_usd", "Uncovered (suppliers / backing)"),
        ("liquidated_debt_usd", "Liquidated debt"),
        ("seized_collateral_usd", "Seized collateral"),
    ];
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|(k, label)| {
            let f = |part: &str| {
                json_number(result, &format!("{part}.{k}"))
                    .map(fmt_usd)
                    .unwrap_or_else(|| "—".into())
            };
            vec![
                (*label).to_string(),
                f("system"),
                f("baseline"),
                f("incremental"),
            ]
        })
        .collect();
    table(
        &["USD", "Scenario", "No-shock baseline", "Incremental"],
        &[1, 2, 3],
        &rows,
    )
}

/// `GET /scenarios`.
pub async fn scenarios(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let w = state.watch();
    let body = if w.scenarios.is_empty() {
        "<p class=\"message\">The watchlist has not run yet (it runs at start, after material changes and on a timer).</p>".to_string()
    } else {
        let rows: Vec<Vec<String>> = w
            .scenarios
            .iter()
            .map(|r| {
                let f = |p: &str| {
                    json_number(&r.result, p)
                        .map(fmt_usd)
                        .unwrap_or_else(|| "—".into())
                };
                vec![
                    format!(
                        "<a href=\"/scenarios/{}\">{}</a>",
                        esc(&urlencode(&r.name)),
                        esc(&r.name)
                    ),
                    f("system.bad_debt_usd"),
                    f("baseline.bad_debt_usd"),
                    f("incremental.bad_debt_usd"),
                    f("system.liquidated_debt_usd"),
                    format!("event {} · {}", r.seq, fmt_time_ms(r.at_ms)),
                ]
            })
            .collect();
        format!(
            "<p class=\"note\">Each watched scenario runs the full cascade on a copy of the live state, beside a run with no shock (the baseline); “incremental” is what the shock adds. USD at the prices of the run. Last refresh took {}.</p>{}",
            w.last_refresh_seconds.map(|s| format!("{s:.2} s")).unwrap_or_else(|| "—".into()),
            table(&["Scenario", "Bad debt", "Baseline", "Incremental", "Liquidated debt", "State run on"], &[1, 2, 3, 4], &rows)
        )
    };
    drop(w);
    shell(&state, &headers, "Scenarios", "/scenarios", &body)
}

/// `GET /scenarios/{name}`.
pub async fn scenario(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let found = state.watch().scenario(&name).map(|r| {
        (
            r.seq,
            r.state_at_ms,
            r.at_ms,
            r.seconds,
            figures_table(&r.result),
            Arc::clone(&r.report_html),
        )
    });
    match found {
        Some((seq, state_at, at, secs, figures, report)) => {
            let body = format!(
                "<p class=\"lead\">The latest run of <b>{n}</b> on the state after event {seq} (received {}), finished {} in {secs:.2} s. Same figures as <code>cascade stress --json</code> on that state.</p>{}<div class=\"report\">{report}</div>",
                fmt_time_ms(state_at),
                fmt_time_ms(at),
                section("figures", "Scenario, baseline and incremental", "The scenario's run; the same system with no shock (what the current state loses anyway); the difference.", &figures),
                n = esc(&name),
            );
            shell(
                &state,
                &headers,
                &format!("Scenario {name}"),
                "/scenarios",
                &body,
            )
        }
        None => message(
            &state,
            &headers,
            StatusCode::NOT_FOUND,
            "No such scenario",
            &format!("\"{name}\" is not watched, or has not run yet."),
        ),
    }
}

/// `GET /contagion`.
pub async fn contagion(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let w = state.watch();
    let Some(c) = w.contagion.clone() else {
        drop(w);
        return shell(&state, &headers, "Contagion", "/contagion", "<p class=\"message\">No contagion run yet: the watchlist computes it in the background (off when [watchlist] contagion = false).</p>");
    };
    drop(w);
    let pairs = |v: &Value| -> Vec<(String, f64)> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| {
                Some((
                    x.get(0)?.as_str()?.to_string(),
                    x.get(1)?.as_f64().unwrap_or(f64::NAN),
                ))
            })
            .collect()
    };
    let tvl = pairs(&c.tvl_usd);
    let nodes: Vec<GraphNode> = tvl
        .iter()
        .map(|(id, t)| GraphNode {
            label: id.clone(),
            size_usd: *t,
        })
        .collect();
    let idx = |id: &str| tvl.iter().position(|(x, _)| x == id);
    // One drawn edge per (from, to, kind), its USD summed over assets; the table lists them all.
    let mut edges: Vec<GraphEdge> = Vec::new();
    let mut edge_rows = Vec::new();
    for e in c.exposure_graph.as_array().into_iter().flatten() {
        let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let usd = e.get("usd").and_then(Value::as_f64).unwrap_or(f64::NAN);
        let (from, to, kind, asset) = (s("from"), s("to"), s("kind"), s("asset"));
        edge_rows.push(vec![
            esc(&from),
            esc(&to),
            esc(&kind),
            esc(&asset),
            fmt_usd(usd),
        ]);
        let (Some(a), Some(b)) = (idx(&from), idx(&to)) else {
            continue;
        };
        let line = format!("{asset} {}", fmt_usd(usd));
        match edges
            .iter_mut()
            .find(|x| x.from == a && x.to == b && x.kind == kind)
        {
            Some(x) => {
                x.usd += usd;
                x.tooltip.push_str(&format!(", {line}"));
            }
            None => edges.push(GraphEdge {
                from: a,
                to: b,
                usd,
                directed: kind != "shared_collateral",
                tooltip: format!("{from} → {to} ({kind}): {line}"),
                kind,
            }),
        }
    }
    let graph = network_svg(
        "Exposure graph (arrow: from the holder to the issuer; dashed: shared collateral)",
        &nodes,
        &edges,
    );
    // Heat map: assets × protocols, the threshold drop.
    let mut assets: Vec<String> = Vec::new();
    let mut protocols: Vec<String> = Vec::new();
    let coeffs: Vec<(String, String, Option<f64>)> = c
        .coefficients
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| {
            let s = |k: &str| x.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            (
                s("asset"),
                s("protocol"),
                x.get("threshold_drop").and_then(Value::as_f64),
            )
        })
        .collect();
    for (a, p, _) in &coeffs {
        if !assets.contains(a) {
            assets.push(a.clone());
        }
        if !protocols.contains(p) {
            protocols.push(p.clone());
        }
    }
    let mut values = vec![vec![None; protocols.len()]; assets.len()];
    for (a, p, v) in &coeffs {
        if let (Some(i), Some(j)) = (
            assets.iter().position(|x| x == a),
            protocols.iter().position(|x| x == p),
        ) {
            values[i][j] = *v;
        }
    }
    let heat = heatmap_svg(
        "Drop of the asset (rows) at which the protocol (columns) first has bad debt",
        &assets,
        &protocols,
        &values,
        |v| match v {
            Some(x) => fmt_pct(x, 1),
            None => "none ≤ 99%".into(),
        },
    );
    let dr = pairs(&c.debtrank);
    let dr_rows: Vec<Vec<String>> = dr
        .iter()
        .map(|(id, v)| vec![esc(id), format!("{v:.4}")])
        .collect();
    let dr_chart = bar_chart_svg(
        "DebtRank: share of the system's TVL distressed if the protocol fails alone",
        &dr.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
        &[("DebtRank".to_string(), dr.iter().map(|(_, v)| *v).collect())],
        ("DebtRank (share of TVL)", ValueAxis::Plain),
        CHART_W,
    );
    let min = c
        .min_threshold
        .as_ref()
        .map(|m| format!("<p class=\"lead\">Closest to contagion: <b>{}</b> has bad debt if <b>{}</b> drops by <b>{}</b>.</p>", esc(&m.protocol), esc(&m.asset), fmt_pct(m.drop, 1)))
        .unwrap_or_else(|| "<p class=\"lead\">No protocol has bad debt under any single-asset drop up to 99%.</p>".into());
    let body = format!(
        "<p class=\"note\">Computed in the background on the state after event {} (finished {}, {:.2} s).</p>{min}{}{}{}",
        c.seq,
        fmt_time_ms(c.at_ms),
        c.seconds,
        section("graph", "Exposure graph", "Protocols sized by TVL; an edge from a protocol to another when the first holds or accepts as collateral what the second issues or owes (receipt, stablecoin, LP, bridged), or when both hold the same collateral (shared collateral); width by USD.", &format!("<figure>{graph}</figure>{}", table(&["From", "To", "Kind", "Asset", "USD"], &[4], &edge_rows))),
        section("coefficients", "Contagion coefficients", "For each asset and protocol: the smallest drop of the asset alone (every other price held, full cascade) at which the protocol realises bad debt. Darker is closer.", &format!("<figure class=\"scroll\">{heat}</figure>")),
        section("debtrank", "DebtRank", "Differential DebtRank of each protocol's failure alone over the claims between protocols, each protocol's first-loss buffer (insurance fund or surplus buffer) as its equity, weighted by TVL.", &format!("<figure>{dr_chart}</figure>{}", table(&["Protocol", "DebtRank"], &[1], &dr_rows))),
    );
    shell(&state, &headers, "Contagion", "/contagion", &body)
}
