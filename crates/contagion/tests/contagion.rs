//! The contagion crate's one integration-test binary (STYLE: one per crate).

#[path = "contagion/diversification.rs"]
mod diversification;
#[path = "contagion/network.rs"]
mod network;
#[path = "contagion/snapshot.rs"]
mod snapshot;
