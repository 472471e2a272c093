//! Algorithmic stablecoins with Terra semantics (docs/algostable.md#algorithmic-stablecoins).
//!
//! A stable `S` (supply `s`, stable tokens) is redeemable for newly minted absorber `G` (supply `n`,
//! tokens): one stable buys 1 USD of `G` at the round's oracle price `p_G` (Terra's market module).
//! Each round, at the oracle prices:
//!
//! ```text
//! backing  = p_G · n / s                                   (∞ when s = 0)
//! run      : latched the first round that backing < panic_backing; from then on pending = s
//! r        = min(cap, pending, s)      redeemed, stable tokens valued at 1 USD
//! minted   = r / p_G                   absorber tokens, sold on G's curve by the redeemers
//! s' = s − r,   n' = n + minted,   pending' = pending − r
//! p_S      = 1                                   while backing ≥ panic_backing
//! p_S      = min(1, max(floor, backing))         below it
//! ```
//!
//! The minted absorber is one [`SaleOrder`] on `G`'s curve (`wanted: None`), so it moves `G`'s price
//! for every holder and every protocol that accepts `G` (the fire-sale channel). The stable's price is
//! a [`PriceInput::Price`], re-derived whenever prices are (so `backing` uses `G`'s price after the
//! round's sales); the stable's own curve adds market impact on top, as for every asset.
//!
//! Modelling decisions (documented in docs/):
//! - **The outflow.** `pending` starts at the sum of the scenario's `redemptions_usd` shocks on the
//!   protocol (USD of stable whose holders want out; 0 without one).
//! - **The run.** The first round whose start-of-round `backing` is below `panic_backing`, the whole
//!   remaining supply becomes pending, and stays so (the run is latched: a holder who can buy the
//!   stable below par and redeem it for 1 USD of `G` always does, which is the arbitrage that drove
//!   Terra's run). The spiral then goes on round after round, each round capped by the redemption
//!   cap, until the supply is gone, `G`'s price no longer moves, or `max_rounds`.
//! - **Capped price.** Below `panic_backing` the stable trades at `min(1, max(floor, backing))`: a
//!   `panic_backing` above 1 never prices the stable above par.
//! - **Oracle price of `G`.** Redemptions mint at the round's start price `p_G`; no spread or fee (the
//!   market module's 2% minimum spread is left out). A `G` priced at 0 mints nothing.
//! - **Losses.** The loss falls on the stable's holders as its price; no bad debt is booked (the
//!   protocol owes nothing but the mint). TVL is `s · p_S`; the end state's `shortfall_usd` is
//!   `max(0, s − p_G · n)`, the par value of the outstanding stable that `G`'s whole market cap does
//!   not cover. A scenario `default` on an algostable changes nothing (use `redemptions_usd`).
//! - **No accounts.** The stable is held elsewhere (lending pools, AMM pools) or by the public.

use cascade_market::price::SaleOrder;
use cascade_model::units::{fmt_tokens, fmt_usd};
use cascade_model::{AlgostableParams, ProtocolKind, Scenario, Snapshot};

use crate::{EndState, PriceInput, ProtocolModel, ProtocolRound, RoundCtx};

/// `backing = p_G · n / s`: the absorber's market cap per stable token; infinite when no stable is
/// outstanding (docs/algostable.md#backing).
///
/// ```
/// use cascade_protocols::algostable::backing;
/// // LUNA at $80, 350M LUNA, 18B UST: 28B / 18B = 1.5556.
/// assert!((backing(80.0, 3.5e8, 1.8e10) - 28.0 / 18.0).abs() < 1e-12);
/// assert_eq!(backing(80.0, 3.5e8, 0.0), f64::INFINITY);
/// ```
pub fn backing(absorber_price: f64, absorber_supply: f64, stable_supply: f64) -> f64 {
    if stable_supply <= 0.0 {
        return f64::INFINITY;
    }
    absorber_price * absorber_supply / stable_supply
}

/// The stable's price from its backing (docs/algostable.md#stablecoin-price): 1 while `backing ≥ panic_backing`, else
/// `min(1, max(floor, backing))`.
///
/// ```
/// use cascade_protocols::algostable::stable_price;
/// assert_eq!(stable_price(1.2, 1.0, 0.0), 1.0);
/// assert_eq!(stable_price(0.7, 1.0, 0.0), 0.7);
/// assert_eq!(stable_price(0.7, 1.0, 0.9), 0.9);
/// assert_eq!(stable_price(1.1, 1.5, 0.0), 1.0); // a panic above par never prices it above 1
/// ```
pub fn stable_price(backing: f64, panic_backing: f64, floor: f64) -> f64 {
    if backing >= panic_backing {
        1.0
    } else {
        backing.max(floor).min(1.0)
    }
}

/// One round's redemption (docs/algostable.md#redemption).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Redemption {
    /// Stable tokens redeemed (and burned), each valued at 1 USD: `r = min(cap, pending, s)`.
    pub redeemed_usd: f64,
    /// Absorber tokens minted for them, `r / p_G`.
    pub minted_tokens: f64,
}

/// Redeems `r = min(cap_usd, pending_usd, stable_supply)` stable tokens for `r / p_G` newly minted
/// absorber tokens at the oracle price `absorber_price`. A `p_G` that is not a positive finite
/// number mints nothing (nothing is redeemed).
///
/// ```
/// use cascade_protocols::algostable::redeem;
/// // 293M of cap, 2B pending, LUNA at $80: 293M UST burned, 3,662,500 LUNA minted.
/// let r = redeem(2.0e9, 2.93e8, 1.8e10, 80.0);
/// assert_eq!(r.redeemed_usd, 2.93e8);
/// assert!((r.minted_tokens - 3_662_500.0).abs() < 1e-6);
/// ```
pub fn redeem(
    pending_usd: f64,
    cap_usd: f64,
    stable_supply: f64,
    absorber_price: f64,
) -> Redemption {
    let r = pending_usd.min(cap_usd).min(stable_supply).max(0.0);
    if !(absorber_price.is_finite() && absorber_price > 0.0) || r <= 0.0 {
        return Redemption {
            redeemed_usd: 0.0,
            minted_tokens: 0.0,
        };
    }
    Redemption {
        redeemed_usd: r,
        minted_tokens: r / absorber_price,
    }
}

/// The state an algostable carries from round to round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlgostableState {
    /// Stable tokens outstanding.
    pub stable_supply: f64,
    /// Absorber tokens outstanding (minted ones included).
    pub absorber_supply: f64,
    /// USD of stable still waiting to be redeemed.
    pub pending_usd: f64,
    /// The round in which the run started (backing fell below `panic_backing`), if it did.
    pub run_round: Option<u32>,
    /// Stable redeemed since round 0, USD at par.
    pub redeemed_usd: f64,
    /// Absorber minted since round 0, tokens.
    pub minted_tokens: f64,
}

/// An algorithmic stablecoin protocol: its parameters and [`AlgostableState`].
#[derive(Clone)]
pub struct Algostable {
    id: String,
    /// Index of the protocol in the snapshot (to find the scenario's shocks on it).
    index: usize,
    params: AlgostableParams,
    state: AlgostableState,
    /// Ids of the stable and the absorber (for the trace).
    names: (String, String),
}

impl Algostable {
    /// The algostable of protocol `protocol` of `s`, with the supplies of its parameters and no
    /// pending outflow.
    pub fn new(s: &Snapshot, protocol: usize, p: &AlgostableParams) -> Algostable {
        Algostable {
            id: s.protocols[protocol].id.clone(),
            index: protocol,
            params: p.clone(),
            names: (
                s.assets[p.stable].id.clone(),
                s.assets[p.absorber].id.clone(),
            ),
            state: AlgostableState {
                stable_supply: p.stable_supply,
                absorber_supply: p.absorber_supply,
                pending_usd: 0.0,
                run_round: None,
                redeemed_usd: 0.0,
                minted_tokens: 0.0,
            },
        }
    }

    /// The state now.
    pub fn state(&self) -> AlgostableState {
        self.state
    }

    /// `backing` at `prices` (see [`backing`]).
    pub fn backing(&self, prices: &[f64]) -> f64 {
        backing(
            prices[self.params.absorber],
            self.state.absorber_supply,
            self.state.stable_supply,
        )
    }

    /// The stable's price at `prices` (see [`stable_price`]).
    pub fn stable_price(&self, prices: &[f64]) -> f64 {
        stable_price(
            self.backing(prices),
            self.params.panic_backing,
            self.params.floor,
        )
    }
}

impl ProtocolModel for Algostable {
    fn id(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> ProtocolKind {
        ProtocolKind::Algostable
    }

    /// `s · p_S`: the stable outstanding at its price.
    fn tvl_usd(&self, prices: &[f64]) -> f64 {
        self.state.stable_supply * prices[self.params.stable]
    }

    /// The outflow: the sum of the scenario's `redemptions_usd` on this protocol.
    fn configure(&mut self, scenario: &Scenario) {
        self.state.pending_usd = scenario
            .shocks
            .iter()
            .filter(|sh| sh.protocol == Some(self.index))
            .filter_map(|sh| sh.redemptions_usd)
            .filter(|x| x.is_finite() && *x > 0.0)
            .sum();
    }

    /// The round's redemption at the oracle prices (module doc); the minted absorber is sold.
    fn liquidate(&mut self, ctx: &RoundCtx) -> ProtocolRound {
        let st = &mut self.state;
        let p_g = ctx.prices[self.params.absorber];
        let b = backing(p_g, st.absorber_supply, st.stable_supply);
        let mut out = ProtocolRound::default();
        if st.run_round.is_none() && b < self.params.panic_backing {
            st.run_round = Some(ctx.round);
            out.notes.push(format!(
                "backing {b:.4} < panic_backing {:.4}: the run starts, all {} of {} outstanding \
                 want out",
                self.params.panic_backing,
                fmt_usd(st.stable_supply),
                self.names.0
            ));
        }
        if st.run_round.is_some() {
            st.pending_usd = st.stable_supply;
        }
        let red = redeem(
            st.pending_usd,
            self.params.redemption_cap_usd_per_round,
            st.stable_supply,
            p_g,
        );
        if red.redeemed_usd <= 0.0 {
            return out;
        }
        out.notes.push(format!(
            "{} of {} redeemed for {} newly minted {} at ${p_g:.4} (backing {b:.4} at the \
             round's start)",
            fmt_usd(red.redeemed_usd),
            self.names.0,
            fmt_tokens(red.minted_tokens),
            self.names.1
        ));
        st.stable_supply = (st.stable_supply - red.redeemed_usd).max(0.0);
        st.absorber_supply += red.minted_tokens;
        st.pending_usd = (st.pending_usd - red.redeemed_usd).max(0.0);
        st.redeemed_usd += red.redeemed_usd;
        st.minted_tokens += red.minted_tokens;
        out.sales.push(SaleOrder {
            asset: self.params.absorber,
            quantity: red.minted_tokens,
            wanted: None,
        });
        out
    }

    fn price_inputs(&self, prices: &[f64]) -> Vec<PriceInput> {
        vec![PriceInput::Price {
            asset: self.params.stable,
            usd: self.stable_price(prices),
        }]
    }

    /// No accounts; `shortfall_usd = max(0, s − p_G · n)` (module doc).
    fn end_state(&self, prices: &[f64]) -> EndState {
        let cap = prices[self.params.absorber] * self.state.absorber_supply;
        EndState {
            shortfall_usd: (self.state.stable_supply - cap).max(0.0),
            ..EndState::default()
        }
    }
}

#[cfg(test)]
mod tests;
