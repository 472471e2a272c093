//! Bridges (docs/bridge.md#bridges): tokens of an underlying locked to back a bridged asset. An exploit removes a
//! share of them; the bridged asset reprices `p = p_U·(1 − bridge_loss)` and every protocol holding it
//! takes the hit through its price.

use cascade_model::{AssetIdx, BridgeParams, ProtocolKind, Snapshot};

use crate::{EndState, PriceInput, ProtocolModel, ProtocolRound, RoundCtx};

/// A bridge's state.
#[derive(Clone)]
pub struct Bridge {
    id: String,
    bridged: AssetIdx,
    underlying: AssetIdx,
    /// Tokens of the underlying locked.
    locked: f64,
    /// Share of the locked underlying that is gone.
    loss: f64,
}

impl Bridge {
    pub fn new(s: &Snapshot, protocol: usize, p: &BridgeParams) -> Bridge {
        Bridge {
            id: s.protocols[protocol].id.clone(),
            bridged: p.bridged,
            underlying: p.underlying,
            locked: p.locked,
            loss: s.assets[p.bridged].bridge_loss,
        }
    }

    /// The share of the locked underlying that is gone.
    pub fn loss(&self) -> f64 {
        self.loss
    }
}

impl ProtocolModel for Bridge {
    fn id(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> ProtocolKind {
        ProtocolKind::Bridge
    }
    /// The value still locked: `locked · (1 − loss) · p_U`.
    fn tvl_usd(&self, prices: &[f64]) -> f64 {
        self.locked * (1.0 - self.loss) * prices[self.underlying]
    }
    fn liquidate(&mut self, _ctx: &RoundCtx) -> ProtocolRound {
        ProtocolRound::default()
    }
    /// An exploit taking `share` of what is still locked: `loss ← 1 − (1 − loss)(1 − share)`.
    fn apply_default(&mut self, share: f64) {
        self.loss = (1.0 - (1.0 - self.loss) * (1.0 - share.clamp(0.0, 1.0))).clamp(0.0, 1.0);
    }
    fn price_inputs(&self, _prices: &[f64]) -> Vec<PriceInput> {
        vec![PriceInput::BridgeLoss {
            asset: self.bridged,
            loss: self.loss,
        }]
    }
    fn end_state(&self, _prices: &[f64]) -> EndState {
        EndState::default()
    }
}
