//! CDP stablecoins (DESIGN §5, MakerDAO semantics). Work in progress: vaults are held but not yet
//! liquidated; the stable is priced at 1.

use cascade_model::{CdpParams, ProtocolKind, Snapshot};

use crate::{EndState, PriceInput, ProtocolModel, ProtocolRound, RoundCtx};

/// A CDP protocol's state.
pub struct Cdp {
    id: String,
    params: CdpParams,
}

impl Cdp {
    pub fn new(s: &Snapshot, protocol: usize, params: &CdpParams) -> Cdp {
        Cdp {
            id: s.protocols[protocol].id.clone(),
            params: params.clone(),
        }
    }
}

impl ProtocolModel for Cdp {
    fn id(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> ProtocolKind {
        ProtocolKind::Cdp
    }
    fn tvl_usd(&self, _prices: &[f64]) -> f64 {
        0.0
    }
    fn liquidate(&mut self, _ctx: &RoundCtx) -> ProtocolRound {
        ProtocolRound::default()
    }
    fn price_inputs(&self, _prices: &[f64]) -> Vec<PriceInput> {
        vec![PriceInput::Price {
            asset: self.params.stable,
            usd: 1.0,
        }]
    }
    fn end_state(&self, _prices: &[f64]) -> EndState {
        EndState::default()
    }
}
