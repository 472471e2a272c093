//! Algorithmic stablecoins (DESIGN §7). Placeholder until the model lands: the loader refuses the
//! kind, so this is never built from a snapshot.

use cascade_model::{AlgostableParams, ProtocolKind, Snapshot};

use crate::{EndState, ProtocolModel, ProtocolRound, RoundCtx};

#[derive(Clone)]
pub struct Algostable {
    id: String,
}

impl Algostable {
    pub fn new(s: &Snapshot, protocol: usize, _p: &AlgostableParams) -> Algostable {
        Algostable {
            id: s.protocols[protocol].id.clone(),
        }
    }
}

impl ProtocolModel for Algostable {
    fn boxed_clone(&self) -> Box<dyn ProtocolModel> {
        Box::new(self.clone())
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> ProtocolKind {
        ProtocolKind::Algostable
    }
    fn tvl_usd(&self, _prices: &[f64]) -> f64 {
        0.0
    }
    fn liquidate(&mut self, _ctx: &RoundCtx) -> ProtocolRound {
        ProtocolRound::default()
    }
    fn end_state(&self, _prices: &[f64]) -> EndState {
        EndState::default()
    }
}
