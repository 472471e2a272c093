//! The dashboard of `cascade serve` (docs/dashboard.md): server-rendered HTML pages with inline SVG
//! charts (from `cascade-report`), and one small script of ours that keeps the overview's tiles
//! live over the Server-Sent Events stream. Nothing is loaded from elsewhere.
//!
//! Pages: the overview (`/`), each protocol (`/protocols/{id}`), the watchlist's scenarios
//! (`/scenarios`, `/scenarios/{name}`), contagion (`/contagion`), alerts (`/alerts`, acknowledged
//! by a signed-in browser), account lookup (`/accounts?id=`) and the what-if form (`/what-if`).
//! Signing in: [`auth`].

pub mod auth;
mod format;
mod overview;
mod pages;
mod tools;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::server::AppState;

pub use auth::Sessions;
pub use format::{fmt_pct, fmt_time_ms};
pub use overview::{tile_values, Tile};

use format::esc;

/// What the dashboard keeps besides the service's state.
pub struct Dashboard {
    pub sessions: Sessions,
    /// One what-if run at a time (each takes a copy of the state and a full cascade).
    whatif: tokio::sync::Semaphore,
}

impl Default for Dashboard {
    fn default() -> Self {
        Dashboard {
            sessions: Sessions::default(),
            whatif: tokio::sync::Semaphore::new(1),
        }
    }
}

const CSS: &str = include_str!("dashboard.css");
const JS: &str = include_str!("dashboard.js");
/// The tab's icon: a falling line in a square.
const ICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#1d2a38\"/><path d=\"M2 4 L6 7 L9 6 L14 12\" fill=\"none\" stroke=\"#7aa7ff\" stroke-width=\"2\"/></svg>";

/// The dashboard's pages, its script and style sheet, and signing in and out.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(overview::page))
        .route("/live.json", get(overview::live_json))
        .route("/protocols/{id}", get(pages::protocol))
        .route("/scenarios", get(pages::scenarios))
        .route("/scenarios/{name}", get(pages::scenario))
        .route("/contagion", get(pages::contagion))
        .route("/alerts", get(tools::alerts))
        .route("/alerts/acknowledge", post(tools::acknowledge))
        .route("/accounts", get(tools::account))
        .route("/what-if", get(tools::what_if))
        .route("/login", get(login_page).post(login_form))
        .route("/logout", post(logout))
        .route("/assets/dashboard.css", get(css))
        .route("/assets/dashboard.js", get(js))
        .route("/assets/icon.svg", get(icon))
}

/// Whether a path is one of the dashboard's pages (not the API, not its assets, not signing in):
/// reads of such a path that are not authorised go to the login page rather than a 401.
pub fn is_page(path: &str) -> bool {
    !(path.starts_with("/v1/")
        || path == "/metrics"
        || path.starts_with("/assets/")
        || path == "/login"
        || path == "/logout")
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        CSS,
    )
        .into_response()
}

async fn icon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        ICON,
    )
        .into_response()
}

async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        JS,
    )
        .into_response()
}

/// The navigation's entries: (path, label).
const NAV: [(&str, &str); 6] = [
    ("/", "Overview"),
    ("/scenarios", "Scenarios"),
    ("/contagion", "Contagion"),
    ("/alerts", "Alerts"),
    ("/accounts", "Accounts"),
    ("/what-if", "What-if"),
];

/// A whole page: the navigation (with `active` highlighted), a line saying which state the figures
/// are of, then `body` (HTML).
pub(crate) fn shell(
    state: &AppState,
    headers: &HeaderMap,
    title: &str,
    active: &str,
    body: &str,
) -> Response {
    let signed_in = state.dashboard.sessions.signed_in(headers, Instant::now());
    let (seq, at) = {
        let live = state.live();
        let s = live.summary();
        (s.seq, s.updated_at_ms)
    };
    let mut nav = String::new();
    for (path, label) in NAV {
        let current = if path == active {
            " aria-current=\"page\""
        } else {
            ""
        };
        nav.push_str(&format!("<a href=\"{path}\"{current}>{label}</a>"));
    }
    let who = if signed_in {
        "<form method=\"post\" action=\"/logout\" class=\"who\"><span>signed in</span> <button type=\"submit\">Sign out</button></form>".to_string()
    } else {
        "<a class=\"who\" href=\"/login\">Sign in</a>".to_string()
    };
    let system = state.live().system().name.clone();
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{t} · cascade</title>\n<link rel=\"icon\" href=\"/assets/icon.svg\" type=\"image/svg+xml\">\n<link rel=\"stylesheet\" href=\"/assets/dashboard.css\">\n<script src=\"/assets/dashboard.js\" defer></script>\n</head>\n<body>\n<header><nav aria-label=\"Pages\"><span class=\"brand\">cascade</span>{nav}</nav>{who}</header>\n<main>\n<h1>{t}</h1>\n<p class=\"state\">System <b>{sys}</b> · state after event <b data-live=\"seq\">{seq}</b>, received <time data-live=\"updated_at_ms\" data-format=\"time\">{at}</time> · <span class=\"conn\" data-live=\"connection\">live updates connecting…</span></p>\n{body}\n</main>\n</body>\n</html>\n",
        t = esc(title),
        sys = esc(&system),
        at = if seq == 0 {
            "— (the snapshot as loaded)".to_string()
        } else {
            fmt_time_ms(at)
        },
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// A page that only says something (an error, a missing name), with its status.
pub(crate) fn message(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    title: &str,
    text: &str,
) -> Response {
    let mut r = shell(
        state,
        headers,
        title,
        "",
        &format!("<p class=\"message\">{}</p>", esc(text)),
    );
    *r.status_mut() = status;
    r
}

#[derive(Deserialize)]
struct LoginQuery {
    key: Option<String>,
}

/// `GET /login?key=K`: the one-time key → a session cookie and the overview. `GET /login`: the
/// form for the bearer token.
async fn login_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    if let Some(key) = q.key {
        return match state.dashboard.sessions.redeem(&key, Instant::now()) {
            Some((id, _next)) => {
                tracing::info!("dashboard: a browser signed in with the login key; a new key was made (see the log line on start for how to get a URL)");
                signed_in_redirect(&id)
            }
            None => message(
                &state,
                &headers,
                StatusCode::FORBIDDEN,
                "Sign in",
                "That login link was already used or is not this server's. Ask the operator for a new one: cascade serve prints one at start, and POST /v1/login-url with the bearer token makes another.",
            ),
        };
    }
    let body = "<form method=\"post\" action=\"/login\" class=\"card narrow\">\
<p>Sign in to acknowledge alerts (and to read, when this server's reads need the token). Use the login link <code>cascade serve</code> printed when it started, or type the server's bearer token.</p>\
<label for=\"token\">Bearer token</label><input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\">Sign in</button></form>";
    shell(&state, &headers, "Sign in", "", body)
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

async fn login_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let ok = auth::same_origin(&headers)
        && state.config.token.as_deref().is_some_and(|t| {
            t.len() == f.token.len()
                && subtle::ConstantTimeEq::ct_eq(t.as_bytes(), f.token.as_bytes()).into()
        });
    if ok {
        let id = state.dashboard.sessions.open_session(Instant::now());
        signed_in_redirect(&id)
    } else {
        message(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            "Sign in",
            if state.config.token.is_none() {
                "This server has no bearer token; sign in with the login link cascade serve printed when it started."
            } else {
                "Wrong token."
            },
        )
    }
}

fn signed_in_redirect(id: &str) -> Response {
    let mut r = Redirect::to("/").into_response();
    if let Ok(v) = auth::set_cookie(id).parse() {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(id) = auth::session_cookie(&headers) {
        state.dashboard.sessions.close(&id);
    }
    let mut r = Redirect::to("/").into_response();
    if let Ok(v) = auth::clear_cookie().parse() {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
