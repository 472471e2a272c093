//! The alerts page (with acknowledgement), the account lookup and the what-if form.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use cascade_model::{Scenario, Shock};
use serde::Deserialize;

use crate::server::AppState;
use crate::store::AlertState;

use super::auth::same_origin;
use super::format::{esc, fmt_hf, fmt_pct, fmt_price, fmt_time_ms, fmt_tokens, fmt_usd};
use super::pages::table;
use super::{message, shell};

/// `GET /alerts`: the alerts firing, then the resolved ones; a signed-in browser can acknowledge.
pub async fn alerts(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let s = Arc::clone(&state);
    let list = tokio::task::spawn_blocking(move || s.with_store(|st| st.alerts(500)))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
    let list = match list {
        Ok(l) => l,
        Err(e) => {
            return message(
                &state,
                &headers,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Alerts",
                &format!("The alerts could not be read: {e}"),
            )
        }
    };
    let signed_in = state.dashboard.sessions.signed_in(&headers, Instant::now());
    let mut body = String::new();
    body.push_str(if signed_in {
        "<p class=\"note\">Acknowledging an alert records that someone has seen it; it keeps firing until its metric clears, and a new crossing starts unacknowledged.</p>"
    } else {
        "<p class=\"note\"><a href=\"/login\">Sign in</a> to acknowledge alerts.</p>"
    });
    for (title, firing) in [("Active", true), ("Resolved", false)] {
        let rows: Vec<Vec<String>> = list
            .iter()
            .filter(|a| (a.state == AlertState::Firing) == firing)
            .map(|a| {
                let ack = if a.acknowledged {
                    "acknowledged".to_string()
                } else if signed_in {
                    format!(
                        "<form method=\"post\" action=\"/alerts/acknowledge\"><input type=\"hidden\" name=\"rule\" value=\"{}\"><input type=\"hidden\" name=\"key\" value=\"{}\"><button type=\"submit\" aria-label=\"Acknowledge {}\">Acknowledge</button></form>",
                        esc(&a.rule),
                        esc(&a.key),
                        esc(&a.rule)
                    )
                } else {
                    "not acknowledged".to_string()
                };
                vec![
                    esc(&a.rule),
                    if a.key.is_empty() { "system".into() } else { esc(&a.key) },
                    esc(&a.message),
                    format!("{}", a.value),
                    fmt_time_ms(a.fired_at_ms),
                    a.resolved_at_ms.map(fmt_time_ms).unwrap_or_else(|| "—".into()),
                    ack,
                ]
            })
            .collect();
        body.push_str(&format!(
            "<section aria-labelledby=\"h-{t}\"><h2 id=\"h-{t}\">{title} ({})</h2>{}</section>",
            rows.len(),
            if rows.is_empty() {
                "<p class=\"note\">None.</p>".to_string()
            } else {
                table(
                    &[
                        "Rule",
                        "On",
                        "Message",
                        "Value",
                        "Fired",
                        "Resolved",
                        "Acknowledged",
                    ],
                    &[3],
                    &rows,
                )
            },
            t = title.to_lowercase(),
        ));
    }
    shell(&state, &headers, "Alerts", "/alerts", &body)
}

#[derive(Deserialize)]
pub struct AckForm {
    rule: String,
    #[serde(default)]
    key: String,
}

/// `POST /alerts/acknowledge` (signed in, from this site's own page).
pub async fn acknowledge(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(f): Form<AckForm>,
) -> Response {
    if !state.dashboard.sessions.signed_in(&headers, Instant::now()) {
        return message(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            "Alerts",
            "Sign in to acknowledge alerts.",
        );
    }
    if !same_origin(&headers) {
        return message(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            "Alerts",
            "This form can only be sent from this dashboard's own page.",
        );
    }
    let s = Arc::clone(&state);
    let (rule, key) = (f.rule.clone(), f.key.clone());
    match tokio::task::spawn_blocking(move || s.with_store(|st| st.acknowledge_alert(&rule, &key)))
        .await
    {
        Ok(Ok(true)) => {
            tracing::info!(rule = %f.rule, key = %f.key, "alert acknowledged from the dashboard");
            Redirect::to("/alerts").into_response()
        }
        Ok(Ok(false)) => message(
            &state,
            &headers,
            StatusCode::NOT_FOUND,
            "Alerts",
            &format!("No alert \"{}\" on \"{}\".", f.rule, f.key),
        ),
        Ok(Err(e)) => message(
            &state,
            &headers,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Alerts",
            &format!("Not recorded: {e}"),
        ),
        Err(e) => message(
            &state,
            &headers,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Alerts",
            &format!("Not recorded: {e}"),
        ),
    }
}

#[derive(Deserialize)]
pub struct AccountQuery {
    id: Option<String>,
}

/// `GET /accounts?id=`: an account's positions, health and liquidation drops in every protocol.
pub async fn account(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<AccountQuery>,
) -> Response {
    let id = q.id.unwrap_or_default();
    let mut body = format!(
        "<form method=\"get\" action=\"/accounts\" class=\"card inline\"><label for=\"id\">Account id</label><input id=\"id\" name=\"id\" value=\"{}\" required spellcheck=\"false\" autocomplete=\"off\"><button type=\"submit\">Look up</button></form>",
        esc(&id)
    );
    let id = id.trim().to_string();
    if id.is_empty() {
        return shell(&state, &headers, "Accounts", "/accounts", &body);
    }
    let views = state.live().account(&id);
    if views.is_empty() {
        body.push_str(&format!(
            "<p class=\"message\">No account \"{}\" in any protocol.</p>",
            esc(&id)
        ));
        let mut r = shell(&state, &headers, "Accounts", "/accounts", &body);
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
    }
    for v in &views {
        let hf = match v.health {
            "none" => "not tracked".to_string(),
            _ => fmt_hf(v.health_factor),
        };
        let positions: Vec<Vec<String>> = v
            .positions
            .iter()
            .map(|p| {
                vec![
                    esc(&p.asset),
                    p.side.to_string(),
                    fmt_tokens(p.tokens),
                    fmt_usd(p.usd),
                    if p.weight > 0.0 {
                        fmt_pct(p.weight, 1)
                    } else {
                        "—".into()
                    },
                ]
            })
            .collect();
        let drops: Vec<Vec<String>> = v
            .drops
            .iter()
            .map(|d| {
                vec![
                    esc(&d.asset),
                    fmt_price(d.price_usd),
                    d.drop
                        .map(|x| fmt_pct(x, 2))
                        .unwrap_or_else(|| "none up to 100%".into()),
                    d.liquidation_price_usd
                        .map(fmt_price)
                        .unwrap_or_else(|| "—".into()),
                ]
            })
            .collect();
        body.push_str(&format!(
            "<section aria-labelledby=\"h-{p}\"><h2 id=\"h-{p}\">{id} in <a href=\"/protocols/{href}\">{p}</a></h2><p class=\"lead\">Health factor <b>{hf}</b>{liq} · collateral {c} (weighted {w}) · debt {d}{em}</p>{}<h3>Price drop that makes it liquidatable</h3><p class=\"note\">Per asset its collateral is exposed to: the drop of that asset (and the assets priced from it), every other price held, at which the health factor reaches 1 (exact rule).</p>{}</section>",
            table(&["Asset", "Side", "Tokens", "USD now", "Weight in health"], &[2, 3, 4], &positions),
            table(&["Asset", "Price now", "Drop", "Liquidation price"], &[1, 2, 3], &drops),
            p = esc(&v.protocol),
            href = esc(&super::format::urlencode(&v.protocol)),
            id = esc(&id),
            liq = if v.liquidatable { " — <b class=\"bad\">liquidatable now</b>" } else { "" },
            c = fmt_usd(v.collateral_usd),
            w = fmt_usd(v.weighted_collateral_usd),
            d = fmt_usd(v.debt_usd),
            em = v.emode.as_ref().map(|e| format!(" · e-mode {}", esc(e))).or_else(|| v.vault_type.as_ref().map(|t| format!(" · vault type {}", esc(t)))).unwrap_or_default(),
        ));
    }
    shell(
        &state,
        &headers,
        &format!("Account {id}"),
        "/accounts",
        &body,
    )
}

#[derive(Deserialize)]
pub struct WhatIfQuery {
    asset: Option<String>,
    /// Percent.
    drop: Option<String>,
    /// Multiplier of every market's depth.
    liquidity: Option<String>,
}

/// A what-if's shock, checked: the asset's index, the drop (fraction) and the liquidity multiplier.
fn check_what_if(state: &AppState, q: &WhatIfQuery) -> Result<(usize, f64, f64), String> {
    let asset = q.asset.as_deref().unwrap_or("");
    let a = {
        let live = state.live();
        live.system()
            .assets
            .iter()
            .position(|x| x.id == asset && x.kind.is_exogenous())
    }
    .ok_or_else(|| format!("asset: \"{asset}\" is not an asset whose price the service follows"))?;
    let drop: f64 = q
        .drop
        .as_deref()
        .unwrap_or("")
        .trim()
        .parse()
        .map_err(|_| "drop: expected a number of percent, e.g. 30".to_string())?;
    if !(drop > 0.0 && drop <= 99.0) {
        return Err(format!("drop: {drop} is outside (0, 99] percent"));
    }
    let liq: f64 = match q.liquidity.as_deref().map(str::trim) {
        None | Some("") => 1.0,
        Some(s) => s
            .parse()
            .map_err(|_| "liquidity: expected a multiplier, e.g. 0.5".to_string())?,
    };
    if !(liq > 0.0 && liq <= 10.0) {
        return Err(format!("liquidity: {liq} is outside (0, 10]"));
    }
    Ok((a, drop / 100.0, liq))
}

/// `GET /what-if?asset=&drop=&liquidity=`: the form, and with its fields the full cascade of that
/// shock on a copy of the live state, beside the no-shock baseline.
pub async fn what_if(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<WhatIfQuery>,
) -> Response {
    let options: String = {
        let live = state.live();
        live.system()
            .assets
            .iter()
            .filter(|a| a.kind.is_exogenous())
            .map(|a| {
                let sel = if q.asset.as_deref() == Some(a.id.as_str()) {
                    " selected"
                } else {
                    ""
                };
                format!("<option value=\"{0}\"{sel}>{0}</option>", esc(&a.id))
            })
            .collect()
    };
    let form = format!(
        "<form method=\"get\" action=\"/what-if\" class=\"card form-grid\" id=\"what-if\">\
<label for=\"asset\">Asset</label><select id=\"asset\" name=\"asset\">{options}</select>\
<label for=\"drop\">Price drop, %</label><input id=\"drop\" name=\"drop\" type=\"number\" min=\"0.1\" max=\"99\" step=\"0.1\" value=\"{}\" required>\
<label for=\"liquidity\">Market depth, × today's</label><input id=\"liquidity\" name=\"liquidity\" type=\"number\" min=\"0.01\" max=\"10\" step=\"0.01\" value=\"{}\">\
<button type=\"submit\">Run the cascade</button></form>\
<p class=\"note\">Runs the full cascade (liquidations, fire sales, contagion) on a copy of the live state with this one shock and every other price held, beside a run with no shock. A depth of 0.5 halves the liquidity of every market.</p>",
        esc(q.drop.as_deref().unwrap_or("30")),
        esc(q.liquidity.as_deref().unwrap_or("1")),
    );
    if q.asset.is_none() && q.drop.is_none() {
        return shell(&state, &headers, "What-if", "/what-if", &form);
    }
    let (a, drop, liq) = match check_what_if(&state, &q) {
        Ok(x) => x,
        Err(e) => {
            let mut r = shell(
                &state,
                &headers,
                "What-if",
                "/what-if",
                &format!(
                    "{form}<p class=\"message bad\" role=\"alert\">{}</p>",
                    esc(&e)
                ),
            );
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return r;
        }
    };
    let Ok(_permit) = state.dashboard.whatif.try_acquire() else {
        let mut r = shell(&state, &headers, "What-if", "/what-if", &format!("{form}<p class=\"message bad\" role=\"alert\">Another what-if is running; try again in a moment.</p>"));
        *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        return r;
    };
    let started = Instant::now();
    // The copy is the only time the live state is held (shared with readers; batches wait).
    let (snapshot, seq, at) = {
        let live = state.live();
        let s = live.summary();
        (live.snapshot(), s.seq, s.updated_at_ms)
    };
    let copy_ms = started.elapsed().as_secs_f64() * 1e3;
    let asset_id = snapshot.assets[a].id.clone();
    let mut shocks = vec![Shock {
        asset: Some(a),
        price_change: Some(-drop),
        ..Shock::none()
    }];
    if liq != 1.0 {
        shocks.push(Shock {
            liquidity_multiplier: Some(liq),
            ..Shock::none()
        });
    }
    let scenario = Scenario {
        name: format!("what-if: {asset_id} −{}%, depth ×{liq}", drop * 100.0),
        shocks,
        ..Scenario::baseline()
    };
    let out =
        tokio::task::spawn_blocking(move || crate::watch::run_scenarios(&snapshot, &[scenario]))
            .await;
    let Some(o) = out.ok().and_then(|mut v| v.pop()) else {
        return message(
            &state,
            &headers,
            StatusCode::INTERNAL_SERVER_ERROR,
            "What-if",
            "The run failed; the log has the reason.",
        );
    };
    let secs = started.elapsed().as_secs_f64();
    let f = |p: &str| {
        crate::watch::json_number(&o.result, p)
            .map(fmt_usd)
            .unwrap_or_else(|| "—".into())
    };
    let body = format!(
        "{form}<section aria-labelledby=\"h-result\" id=\"result\"><h2 id=\"h-result\">Result: {n}</h2><p class=\"lead\">On the state after event {seq} (received {}), in {secs:.2} s: bad debt <b data-result=\"bad_debt_usd\">{}</b>, of which <b>{}</b> beyond the no-shock baseline; liquidated debt {}.</p>{}<div class=\"report\">{}</div></section>",
        fmt_time_ms(at),
        f("system.bad_debt_usd"),
        f("incremental.bad_debt_usd"),
        f("system.liquidated_debt_usd"),
        table(
            &["USD", "This shock", "No-shock baseline", "Incremental"],
            &[1, 2, 3],
            &["bad_debt_usd", "uncovered_usd", "liquidated_debt_usd", "seized_collateral_usd"]
                .iter()
                .map(|k| vec![k.trim_end_matches("_usd").replace('_', " "), f(&format!("system.{k}")), f(&format!("baseline.{k}")), f(&format!("incremental.{k}"))])
                .collect::<Vec<_>>()
        ),
        o.report_html,
        n = esc(&o.name),
    );
    tracing::info!(
        asset = %asset_id,
        drop,
        liquidity = liq,
        seconds = format!("{secs:.3}"),
        copy_ms = format!("{copy_ms:.1}"),
        "what-if run from the dashboard"
    );
    shell(&state, &headers, "What-if", "/what-if", &body)
}
