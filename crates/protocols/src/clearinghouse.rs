//! Derivatives clearinghouses (DESIGN §6). Placeholder until the model lands: the loader refuses the
//! kind, so this is never built from a snapshot.

use cascade_model::{ClearinghouseParams, ProtocolKind, Snapshot};

use crate::{EndState, ProtocolModel, ProtocolRound, RoundCtx};

#[derive(Clone)]
pub struct Clearinghouse {
    id: String,
}

impl Clearinghouse {
    pub fn new(s: &Snapshot, protocol: usize, _p: &ClearinghouseParams) -> Clearinghouse {
        Clearinghouse {
            id: s.protocols[protocol].id.clone(),
        }
    }
}

impl ProtocolModel for Clearinghouse {
    fn boxed_clone(&self) -> Box<dyn ProtocolModel> {
        Box::new(self.clone())
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> ProtocolKind {
        ProtocolKind::Clearinghouse
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
