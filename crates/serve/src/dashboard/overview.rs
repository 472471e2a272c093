//! The overview: a tile per headline figure (each with a sparkline of its history and a line saying
//! what it is), the protocols, and the alerts firing. The tiles' values are also
//! `GET /live.json`, which the page script fetches whenever the event stream says the state or the
//! watchlist changed.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cascade_model::AssetKind;
use serde::Serialize;
use serde_json::json;

use crate::server::{now_ms, AppState};

use super::format::{esc, fmt_count, fmt_time_ms, fmt_usd};
use super::shell;

/// The ladder drop shown on the overview (10%).
pub const TILE_DROP: f64 = 0.10;
/// History shown in a sparkline: the last day, at most this many points.
const SPARK_POINTS: usize = 120;
const SPARK_WINDOW_MS: i64 = 24 * 3600 * 1000;

/// One headline figure. Its `key` is also the name of its history (`/v1/history?metric=`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tile {
    pub key: String,
    pub title: String,
    pub value: f64,
    /// `usd`, `count`.
    pub format: &'static str,
    /// What the figure is: unit, scenario, state.
    pub what: String,
    /// The page with its detail.
    pub link: Option<String>,
}

/// The watchlist scenario tile's key.
fn scenario_key(name: &str) -> String {
    format!("scenario_{name}_bad_debt_usd")
}

/// The ladder tile's key.
fn ladder_key(asset: &str) -> String {
    format!("ladder_{asset}_10_debt_usd")
}

/// The overview's figures now: TVL, debt, accounts below 1 and their debt, per volatile asset (native
/// or governance kind) the debt a 10% drop makes liquidatable, per watched scenario its bad debt
/// (latest run), the alerts firing. Blocking (reads the store): call it off the async runtime.
pub fn tile_values(state: &AppState) -> Vec<Tile> {
    let mut tiles = Vec::new();
    let (summary, ladders) = {
        let live = state.live();
        let s = live.summary();
        let sys = live.system();
        let ladders: Vec<(String, f64)> = sys
            .assets
            .iter()
            .filter(|a| matches!(a.kind, AssetKind::Native | AssetKind::Governance))
            .filter_map(|a| {
                live.liquidatable_debt(&a.id, TILE_DROP)
                    .map(|d| (a.id.clone(), d))
            })
            .collect();
        (s, ladders)
    };
    tiles.push(Tile {
        key: "collateral_usd".into(),
        title: "Total value locked".into(),
        value: summary.collateral_usd,
        format: "usd",
        what: "Collateral held by all accounts, at current prices (USD).".into(),
        link: None,
    });
    tiles.push(Tile {
        key: "debt_usd".into(),
        title: "Debt".into(),
        value: summary.debt_usd,
        format: "usd",
        what: "What all accounts owe, at current prices (USD; a CDP's stablecoin at par).".into(),
        link: None,
    });
    tiles.push(Tile {
        key: "below_one_accounts".into(),
        title: "Accounts at risk".into(),
        value: summary.below_one.accounts as f64,
        format: "count",
        what: "Accounts liquidatable now: health factor below 1 (a vault's collateral ratio below its liquidation ratio).".into(),
        link: None,
    });
    tiles.push(Tile {
        key: "below_one_debt_usd".into(),
        title: "Debt at risk".into(),
        value: summary.below_one.debt_usd,
        format: "usd",
        what: "What the accounts at risk owe, at current prices (USD).".into(),
        link: None,
    });
    for (asset, debt) in ladders {
        tiles.push(Tile {
            key: ladder_key(&asset),
            title: format!("Liquidatable if {asset} −10%"),
            value: debt,
            format: "usd",
            what: format!("Debt of accounts healthy now that a 10% drop of {asset} (and the assets priced from it) would make liquidatable, all other prices held (USD at the dropped prices)."),
            link: None,
        });
    }
    {
        let w = state.watch();
        for r in &w.scenarios {
            let bad =
                crate::watch::json_number(&r.result, "system.bad_debt_usd").unwrap_or(f64::NAN);
            let inc = crate::watch::json_number(&r.result, "incremental.bad_debt_usd");
            tiles.push(Tile {
                key: scenario_key(&r.name),
                title: format!("Bad debt under {}", r.name),
                value: bad,
                format: "usd",
                what: format!(
                    "Bad debt if scenario {} hit the state of event {} (full cascade, run {}){} (USD).",
                    r.name,
                    r.seq,
                    fmt_time_ms(r.at_ms),
                    inc.map(|x| format!("; {} more than with no shock", fmt_usd(x)))
                        .unwrap_or_default()
                ),
                link: Some(format!("/scenarios/{}", super::format::urlencode(&r.name))),
            });
        }
    }
    let firing = state.with_store(|s| s.firing_alerts()).unwrap_or(0);
    tiles.push(Tile {
        key: "alerts_firing".into(),
        title: "Active alerts".into(),
        value: firing as f64,
        format: "count",
        what: "Alerts firing now (rules in serve.toml).".into(),
        link: Some("/alerts".into()),
    });
    tiles
}

fn fmt_value(v: f64, format: &str) -> String {
    match format {
        "count" if v.is_finite() && v >= 0.0 => fmt_count(v.round() as u64),
        "count" => "n/a".into(),
        _ => fmt_usd(v),
    }
}

/// `GET /live.json`: the tiles' values and the state they are of.
pub async fn live_json(State(state): State<Arc<AppState>>) -> Response {
    let s = Arc::clone(&state);
    let tiles = tokio::task::spawn_blocking(move || tile_values(&s))
        .await
        .unwrap_or_default();
    let (seq, at) = {
        let live = state.live();
        let s = live.summary();
        (s.seq, s.updated_at_ms)
    };
    let values: serde_json::Map<String, serde_json::Value> = tiles
        .iter()
        .map(|t| (t.key.clone(), json!(t.value)))
        .collect();
    Json(json!({ "seq": seq, "updated_at_ms": at, "at_ms": now_ms(), "values": values }))
        .into_response()
}

/// `GET /`: the overview.
pub async fn page(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let s = Arc::clone(&state);
    let (tiles, history) = tokio::task::spawn_blocking(move || {
        let tiles = tile_values(&s);
        let to = now_ms();
        let history: Vec<Vec<(i64, f64)>> = tiles
            .iter()
            .map(|t| {
                s.with_store(|st| {
                    st.history_sampled(&t.key, to - SPARK_WINDOW_MS, to, SPARK_POINTS)
                })
                .unwrap_or_default()
            })
            .collect();
        (tiles, history)
    })
    .await
    .unwrap_or_default();
    let mut body = String::from("<section aria-labelledby=\"h-tiles\"><h2 id=\"h-tiles\">Headline figures</h2><p class=\"note\">Each tile updates as events arrive; its line is the figure's history over the last day (a point every few seconds while the service runs).</p><div class=\"tiles\">");
    for (t, h) in tiles.iter().zip(&history) {
        let pts: Vec<(f64, f64)> = h.iter().map(|&(at, v)| (at as f64, v)).collect();
        let data: Vec<[f64; 2]> = pts.iter().map(|&(a, v)| [a, v]).collect();
        let spark =
            cascade_report::sparkline_svg(&pts, 200, 36, &format!("history of {}", t.title))
                .replacen(
                    "<svg ",
                    &format!(
                        "<svg data-points=\"{}\" ",
                        esc(&serde_json::to_string(&data).unwrap_or_else(|_| "[]".into()))
                    ),
                    1,
                );
        let title = match &t.link {
            Some(l) => format!("<a href=\"{}\">{}</a>", esc(l), esc(&t.title)),
            None => esc(&t.title),
        };
        body.push_str(&format!(
            "<div class=\"tile\" data-tile=\"{k}\"><h3>{title}</h3><p class=\"value\" data-key=\"{k}\" data-format=\"{f}\">{v}</p>{spark}<p class=\"what\">{w}</p></div>",
            k = esc(&t.key),
            f = t.format,
            v = fmt_value(t.value, t.format),
            w = esc(&t.what),
        ));
    }
    body.push_str("</div></section>");
    body.push_str(&protocols_table(&state));
    shell(&state, &headers, "Overview", "/", &body)
}

/// The protocols, one row each, linked to their pages.
fn protocols_table(state: &AppState) -> String {
    let protocols = state.live().summary().protocols;
    let mut o = String::from("<section aria-labelledby=\"h-protocols\"><h2 id=\"h-protocols\">Protocols</h2><p class=\"note\">At current prices, USD. “At risk”: accounts with health factor below 1.</p><div class=\"scroll\"><table><thead><tr><th>Protocol</th><th>Kind</th><th class=\"num\">Collateral</th><th class=\"num\">Debt</th><th class=\"num\">Accounts</th><th class=\"num\">At risk</th><th class=\"num\">Their debt</th></tr></thead><tbody>");
    for p in &protocols {
        o.push_str(&format!(
            "<tr><td><a href=\"/protocols/{href}\">{id}</a></td><td>{kind}</td><td class=\"num\">{c}</td><td class=\"num\">{d}</td><td class=\"num\">{n}</td><td class=\"num\">{b}</td><td class=\"num\">{bd}</td></tr>",
            id = esc(&p.id),
            href = esc(&super::format::urlencode(&p.id)),
            kind = esc(p.kind),
            c = fmt_usd(p.collateral_usd),
            d = fmt_usd(p.debt_usd),
            n = fmt_count(p.accounts),
            b = if p.health == "none" { "—".to_string() } else { fmt_count(p.below_one.accounts) },
            bd = if p.health == "none" { "—".to_string() } else { fmt_usd(p.below_one.debt_usd) },
        ));
    }
    o.push_str("</tbody></table></div></section>");
    o
}
