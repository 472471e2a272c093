//! `cascade serve`: the live systemic-risk monitor (docs/serve.md). A durable, append-only event log
//! of price updates and position changes ([`store`]), the live state kept current incrementally
//! ([`live`]), and the HTTP API.
#![forbid(unsafe_code)]

pub mod events;
