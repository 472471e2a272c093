//! AMM pools (DESIGN §7). Work in progress: the LP token is priced from the snapshot reserves, not
//! yet arbitraged.

use cascade_model::{AmmParams, ProtocolKind, Snapshot};

use crate::{EndState, PriceInput, ProtocolModel, ProtocolRound, RoundCtx};

/// An AMM pool's state.
pub struct Amm {
    id: String,
    params: AmmParams,
}

impl Amm {
    pub fn new(s: &Snapshot, protocol: usize, params: &AmmParams) -> Amm {
        Amm {
            id: s.protocols[protocol].id.clone(),
            params: params.clone(),
        }
    }
}

impl ProtocolModel for Amm {
    fn id(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> ProtocolKind {
        ProtocolKind::Amm
    }
    fn tvl_usd(&self, prices: &[f64]) -> f64 {
        self.params
            .reserves
            .iter()
            .map(|&(a, q)| q * prices[a])
            .sum()
    }
    fn liquidate(&mut self, _ctx: &RoundCtx) -> ProtocolRound {
        ProtocolRound::default()
    }
    fn price_inputs(&self, prices: &[f64]) -> Vec<PriceInput> {
        let supply = self.params.lp_supply.unwrap_or(1.0);
        vec![PriceInput::Price {
            asset: self.params.lp_asset,
            usd: self.tvl_usd(prices) / supply,
        }]
    }
    fn end_state(&self, _prices: &[f64]) -> EndState {
        EndState::default()
    }
}
