//! Who may do what, and how much (docs/serve.md#security-and-limits): the bearer token, compared in
//! constant time, and a token-bucket rate limit per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

/// Whether the request carries `Authorization: Bearer <token>` with the configured token. With no
/// token configured nothing is authorised. The comparison takes the same time whatever the
/// presented token's bytes (the length of the configured token is not secret).
pub fn authorised(headers: &HeaderMap, token: Option<&str>) -> bool {
    let Some(token) = token else {
        return false;
    };
    let Some(presented) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (a, b) = (presented.as_bytes(), token.as_bytes());
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Clients tracked at most; beyond, the longest-idle are forgotten (they start with a full bucket).
const MAX_CLIENTS: usize = 10_000;

/// A token bucket per client: `rate` tokens a second up to `burst`; a request takes one.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(rate: f64, burst: f64) -> RateLimiter {
        RateLimiter {
            rate,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `client` at `now`; false when its bucket is empty (429).
    pub fn allow(&self, client: IpAddr, now: Instant) -> bool {
        let Ok(mut b) = self.buckets.lock() else {
            return true;
        };
        if b.len() >= MAX_CLIENTS && !b.contains_key(&client) {
            let cutoff = now.checked_sub(std::time::Duration::from_secs(60));
            b.retain(|_, (_, t)| cutoff.is_none_or(|c| *t > c));
            if b.len() >= MAX_CLIENTS {
                b.clear();
            }
        }
        let (tokens, last) = b.entry(client).or_insert((self.burst, now));
        let refill = now.saturating_duration_since(*last).as_secs_f64() * self.rate;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bearer_token_must_match_exactly() {
        let mut h = HeaderMap::new();
        assert!(!authorised(&h, Some("abc")));
        h.insert(
            "authorization",
            "Bearer abc".parse().unwrap_or_else(|e| panic!("{e}")),
        );
        assert!(authorised(&h, Some("abc")));
        assert!(!authorised(&h, Some("abcd")));
        assert!(!authorised(&h, None));
        h.insert(
            "authorization",
            "Bearer abd".parse().unwrap_or_else(|e| panic!("{e}")),
        );
        assert!(!authorised(&h, Some("abc")));
        h.insert(
            "authorization",
            "Basic abc".parse().unwrap_or_else(|e| panic!("{e}")),
        );
        assert!(!authorised(&h, Some("abc")));
    }

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let l = RateLimiter::new(2.0, 3.0);
        let ip = IpAddr::from([127, 0, 0, 1]);
        let t0 = Instant::now();
        assert!((0..3).all(|_| l.allow(ip, t0)));
        assert!(!l.allow(ip, t0));
        // Half a second refills one token at 2 a second.
        assert!(l.allow(ip, t0 + Duration::from_millis(500)));
        assert!(!l.allow(ip, t0 + Duration::from_millis(500)));
        // Another client has its own bucket.
        assert!(l.allow(IpAddr::from([127, 0, 0, 2]), t0));
    }
}
