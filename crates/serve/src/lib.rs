//! `cascade serve`: the live systemic-risk monitor (docs/serve.md). A durable, append-only event log
//! of price updates and position changes ([`store`]), the live state kept current incrementally
//! ([`live`]), the HTTP API ([`server`]), the dashboard ([`dashboard`]) and NATS JetStream ingest
//! ([`nats`]).
#![forbid(unsafe_code)]

pub mod alerts;
pub mod config;
pub mod dashboard;
pub mod events;
pub mod follow;
pub mod ingest;
pub mod live;
pub mod nats;
pub mod server;
pub mod store;
pub mod watch;
