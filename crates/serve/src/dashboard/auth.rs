//! Signing in to the dashboard from a browser (docs/dashboard.md#signing-in): a one-time login key,
//! printed by `cascade serve` as a URL, is exchanged for a session cookie (`HttpOnly`,
//! `SameSite=Strict`); the bearer token, typed into the login form, does the same. A session lets
//! its browser acknowledge alerts, and read when reads need the token.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use rand::RngCore;
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const COOKIE: &str = "cascade_session";
/// How long a session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at most (the oldest are dropped beyond).
const MAX_SESSIONS: usize = 1_000;

/// 32 random bytes from the OS, as 64 hex digits.
fn random_hex() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The login key and the open sessions.
pub struct Sessions {
    /// The current one-time login key; replaced by a new one when used.
    key: Mutex<String>,
    /// Session id → when it expires.
    open: Mutex<HashMap<String, Instant>>,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            key: Mutex::new(random_hex()),
            open: Mutex::new(HashMap::new()),
        }
    }
}

impl Sessions {
    /// The current one-time login key.
    pub fn login_key(&self) -> String {
        self.key.lock().map(|k| k.clone()).unwrap_or_default()
    }

    /// Exchanges the one-time login `key` for a new session id; `None` if the key is not the
    /// current one. A used key is replaced by a fresh one (returned second, to be logged).
    pub fn redeem(&self, key: &str, now: Instant) -> Option<(String, String)> {
        let mut k = self.key.lock().ok()?;
        if !same(key, &k) {
            return None;
        }
        *k = random_hex();
        let next = k.clone();
        drop(k);
        Some((self.open_session(now), next))
    }

    /// A new session, valid for [`SESSION_TTL`] from `now`.
    pub fn open_session(&self, now: Instant) -> String {
        let id = random_hex();
        if let Ok(mut open) = self.open.lock() {
            open.retain(|_, until| *until > now);
            if open.len() >= MAX_SESSIONS {
                if let Some(oldest) = open.iter().min_by_key(|(_, t)| **t).map(|(k, _)| k.clone()) {
                    open.remove(&oldest);
                }
            }
            open.insert(id.clone(), now + SESSION_TTL);
        }
        id
    }

    /// Whether `id` is an open session at `now`.
    pub fn valid(&self, id: &str, now: Instant) -> bool {
        self.open
            .lock()
            .map(|open| open.iter().any(|(k, until)| *until > now && same(k, id)))
            .unwrap_or(false)
    }

    /// Ends session `id`.
    pub fn close(&self, id: &str) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(id);
        }
    }

    /// Whether the request carries an open session's cookie.
    pub fn signed_in(&self, headers: &HeaderMap, now: Instant) -> bool {
        session_cookie(headers).is_some_and(|id| self.valid(&id, now))
    }
}

/// The session id in the request's `Cookie` header, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, v)| v.to_string())
}

/// The `Set-Cookie` value of session `id`.
pub fn set_cookie(id: &str) -> String {
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_TTL.as_secs()
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// Whether a form post comes from this site's own pages: a browser's `Sec-Fetch-Site` (when sent)
/// must be `same-origin` or `none`, and an `Origin` (when sent) must name the `Host` it was sent to.
/// (The session cookie is `SameSite=Strict` too; this is the second lock on the door.)
pub fn same_origin(headers: &HeaderMap) -> bool {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = h("sec-fetch-site") {
        if site != "same-origin" && site != "none" {
            return false;
        }
    }
    match (h("origin"), h("host")) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host),
        (Some(_), None) => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_login_key_works_once() {
        let s = Sessions::default();
        let now = Instant::now();
        let key = s.login_key();
        assert_eq!(key.len(), 64);
        assert!(s.redeem("wrong", now).is_none());
        let (id, next) = s.redeem(&key, now).expect("the current key");
        assert_ne!(next, key);
        assert_eq!(s.login_key(), next);
        assert!(s.redeem(&key, now).is_none(), "a used key is refused");
        assert!(s.valid(&id, now));
        assert!(!s.valid(&id, now + SESSION_TTL + Duration::from_secs(1)));
        s.close(&id);
        assert!(!s.valid(&id, now));
    }

    #[test]
    fn reads_the_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            "cookie",
            HeaderValue::from_static("a=1; cascade_session=abc; b=2"),
        );
        assert_eq!(session_cookie(&h).as_deref(), Some("abc"));
        assert!(set_cookie("abc").contains("HttpOnly; SameSite=Strict"));
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h), "no browser headers: a script or curl");
        h.insert("host", HeaderValue::from_static("127.0.0.1:8080"));
        h.insert("origin", HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&h));
        h.insert("origin", HeaderValue::from_static("http://evil.example"));
        assert!(!same_origin(&h));
        h.insert("origin", HeaderValue::from_static("http://127.0.0.1:8080"));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
    }
}
