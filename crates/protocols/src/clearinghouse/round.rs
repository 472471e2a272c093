//! One round of a clearinghouse (see the module documentation of [`super`]): the breaker, the
//! round-zero pumps and borrow, each account's liquidation, and the settlement of its trades.

use cascade_market::curve::Curve;
use cascade_market::price::{BuyOrder, SaleOrder};
use cascade_model::units::fmt_usd;
use cascade_model::{AssetIdx, OracleSpec, ProtocolKind, Scenario};

use super::margin::{health, Valuation};
use super::{total_tokens, BorrowOutcome, Clearinghouse, PendingTrade, Pump};
use crate::{
    AccountLog, AccountResult, BadDebt, EndState, LiquidationRecord, LossOutcome, ProtocolBuyFill,
    ProtocolFill, ProtocolModel, ProtocolRound, RoundCtx, Settlement,
};

impl Clearinghouse {
    /// Whether a breaker pauses this round: an underlying or collateral asset fell by more than
    /// `pause_liquidations_on_drop` from the previous round's start.
    fn breaker_trips(&self, ctx: &RoundCtx) -> bool {
        let Some(x) = self.breakers.pause_liquidations_on_drop else {
            return false;
        };
        self.params
            .markets
            .iter()
            .map(|m| m.underlying)
            .chain(self.params.collateral.iter().map(|c| c.asset))
            .any(|a| {
                let (before, now) = (ctx.prev_prices[a], ctx.prices[a]);
                before > 0.0 && now / before - 1.0 < -x
            })
    }

    /// Round 1: the pumps spend their budgets on their venues (anchored at the round's starting, i.e.
    /// post-shock, price), and the borrow shock borrows up to initial health at the round-0 oracle
    /// (pumped) prices.
    fn round_zero_actions(&mut self, prices: &[f64]) -> Vec<String> {
        let mut notes = Vec::new();
        for pump in std::mem::take(&mut self.pumps) {
            let mk = &self.params.markets[pump.market];
            if let OracleSpec::ThinVenue { curve } = &mk.oracle {
                let mut venue = Curve::from_spec(curve);
                venue.anchor(prices[mk.underlying]);
                venue.spend(pump.usd);
                let p = venue.spot_price();
                self.pumped[pump.market] = Some((p, pump.rounds));
                notes.push(format!(
                    "{} of buys on {}'s oracle venue move its oracle from {:.4} to {:.4} (×{:.2}){}",
                    fmt_usd(pump.usd),
                    mk.id,
                    prices[mk.underlying],
                    p,
                    p / prices[mk.underlying],
                    if pump.rounds == 0 {
                        ", seen at round 0 only".to_string()
                    } else {
                        format!(", held {} round(s)", pump.rounds)
                    }
                ));
            }
        }
        if let Some((k, asset)) = self.borrow {
            let v = self.valuation(prices, self.marks(0, prices));
            let h = health(&self.book(k), &self.params, &self.series, &v);
            let lw = self
                .params
                .liability_of(asset)
                .map_or(1.0, |w| w.initial_weight);
            let p = prices[asset];
            // The lendable pool: every account's deposits of the asset, less what is already borrowed.
            let deposits = total_tokens(&self.collateral, asset);
            let borrowed = total_tokens(&self.liabilities, asset);
            let usd = (h.initial() / lw)
                .max(0.0)
                .min((deposits - borrowed).max(0.0) * p);
            if usd > 0.0 && p > 0.0 {
                let tokens = usd / p;
                match self.liabilities[k].iter_mut().find(|(a, _)| *a == asset) {
                    Some((_, q)) => *q += tokens,
                    None => self.liabilities[k].push((asset, tokens)),
                }
                self.borrowed = Some(BorrowOutcome {
                    account: k,
                    asset,
                    tokens,
                    usd,
                });
                notes.push(format!(
                    "account \"{}\" borrows and withdraws {} of {} against initial health {} at the round-0 oracle",
                    self.names[k],
                    fmt_usd(usd),
                    self.asset_ids[asset],
                    fmt_usd(h.initial())
                ));
            } else {
                notes.push(format!(
                    "account \"{}\" can borrow nothing: initial health {}",
                    self.names[k],
                    fmt_usd(h.initial())
                ));
                self.borrowed = Some(BorrowOutcome {
                    account: k,
                    asset,
                    tokens: 0.0,
                    usd: 0.0,
                });
            }
        }
        notes
    }

    /// Liquidates account `k` (steps 1–4 of the module's documentation) at valuation `v` in round
    /// `round`, appending its orders to `out` and, when recording, to the account's log: the notional
    /// closed at the marks (perps `|size|·mark`, options `|size·value|`, borrowed tokens repaid) as
    /// its liquidated debt, the collateral sold as seized, and the insurance fund's share of the
    /// liquidation fees as the protocol's fee.
    fn liquidate_account(&mut self, k: usize, round: u32, v: &Valuation, out: &mut ProtocolRound) {
        let mut closed_usd = 0.0;
        let mut seized_usd = 0.0;
        let (p0, p1) = (self.perp_start[k] as usize, self.perp_start[k + 1] as usize);
        let share = self.params.insurance_fee_share;
        let mut est_pnl = 0.0;
        let mut fees = 0.0;
        for i in p0..p1 {
            let pp = self.perps[i];
            if pp.size == 0.0 {
                continue;
            }
            let mk = &self.params.markets[pp.market];
            let mark = v.marks[pp.market];
            let u = mk.underlying;
            let fee = mk.liquidation_fee * pp.size.abs() * mark;
            closed_usd += pp.size.abs() * mark;
            fees += fee;
            self.cash[k] -= fee;
            self.fund_usd += fee * share;
            est_pnl += pp.size * (mark - pp.entry_price);
            if pp.size > 0.0 {
                out.sales.push(SaleOrder {
                    asset: u,
                    quantity: pp.size,
                    wanted: None,
                });
            } else {
                out.buys.push(BuyOrder {
                    asset: u,
                    quantity: -pp.size,
                });
            }
            self.pending.push(PendingTrade::Perp {
                account: k,
                underlying: u,
                size: pp.size,
                entry_price: pp.entry_price,
            });
            self.perps[i].size = 0.0;
        }
        let (o0, o1) = (
            self.option_start[k] as usize,
            self.option_start[k + 1] as usize,
        );
        for i in o0..o1 {
            let op = self.options[i];
            if op.size == 0.0 {
                continue;
            }
            let value = op.size * v.values[op.series];
            let fee = self.params.options.liquidation_fee * value.abs();
            closed_usd += value.abs();
            fees += fee;
            self.cash[k] += value - fee;
            self.fund_usd += fee * share;
            self.options[i].size = 0.0;
        }
        let settle_asset = self.settlement_asset;
        for (a, q) in std::mem::take(&mut self.liabilities[k]) {
            self.cash[k] -= q * v.prices[a];
            closed_usd += q * v.prices[a];
            // A borrow repaid from cash: a spot leg of the liquidation.
            LiquidationRecord {
                collateral: settle_asset,
                debt: a,
                repaid_tokens: q,
                repaid_usd: q * v.prices[a],
                calls: 1,
                ..LiquidationRecord::default()
            }
            .add_to(&mut out.liquidations);
        }
        let mut deficit = -(self.cash[k] + est_pnl);
        if deficit > 0.0 {
            let mut order: Vec<usize> = (0..self.collateral[k].len()).collect();
            let px = &v.prices;
            let coll = &self.collateral[k];
            order.sort_by(|&x, &y| {
                let (vx, vy) = (coll[x].1 * px[coll[x].0], coll[y].1 * px[coll[y].0]);
                vy.total_cmp(&vx).then(x.cmp(&y))
            });
            for j in order {
                if deficit <= 0.0 {
                    break;
                }
                let (a, q) = self.collateral[k][j];
                let p = px[a];
                if q <= 0.0 || p <= 0.0 {
                    continue;
                }
                let sell = q.min(deficit / p);
                self.collateral[k][j].1 -= sell;
                deficit -= sell * p;
                seized_usd += sell * p;
                out.sales.push(SaleOrder {
                    asset: a,
                    quantity: sell,
                    wanted: None,
                });
                // Collateral seized and sold: a spot leg of the liquidation.
                LiquidationRecord {
                    collateral: a,
                    debt: settle_asset,
                    seized_tokens: sell,
                    seized_usd: sell * p,
                    calls: 1,
                    ..LiquidationRecord::default()
                }
                .add_to(&mut out.liquidations);
                self.pending.push(PendingTrade::Collateral {
                    account: k,
                    asset: a,
                    quantity: sell,
                });
            }
        }
        self.liquidated[k] = true;
        self.pending_accounts.push((k, fees));
        if let Some(log) = self.logs.get_mut(k) {
            log.liquidated_debt_usd += closed_usd;
            log.seized_collateral_usd += seized_usd;
            log.protocol_fee_usd += fees * share;
            if log.first_round == 0 {
                log.first_round = round;
            }
        }
    }
}

impl ProtocolModel for Clearinghouse {
    fn id(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> ProtocolKind {
        ProtocolKind::Clearinghouse
    }
    /// Deposits at `prices`: `Σ c·p` over every account.
    fn tvl_usd(&self, prices: &[f64]) -> f64 {
        self.collateral
            .iter()
            .flat_map(|c| c.iter())
            .map(|&(a, q)| q * prices[a])
            .sum()
    }

    fn configure(&mut self, scenario: &Scenario) {
        for sh in &scenario.shocks {
            if let (Some(a), Some(v)) = (sh.asset, sh.vol_change) {
                self.vol_mult[a] *= 1.0 + v;
            }
            if sh.protocol != Some(self.index) {
                continue;
            }
            let market = sh.market.as_deref().and_then(|m| self.params.market_idx(m));
            if let Some(d) = sh.oracle_delay_rounds {
                match market {
                    Some(m) => self.delay_market[m] = self.delay_market[m].max(d),
                    None => self.delay_all = self.delay_all.max(d),
                }
            }
            if let (Some(m), Some(usd)) = (market, sh.pump_usd) {
                self.pumps.push(Pump {
                    market: m,
                    usd,
                    rounds: sh.pump_rounds.unwrap_or(0),
                });
            }
            if let (Some(acc), Some(asset)) = (sh.account.as_deref(), sh.borrow) {
                if let Some(k) = self.account_idx(acc) {
                    self.borrow = Some((k, asset));
                }
            }
        }
    }

    fn liquidate(&mut self, ctx: &RoundCtx) -> ProtocolRound {
        let mut notes = Vec::new();
        if ctx.round == 1 || self.history.is_empty() {
            self.history = vec![ctx.prev_prices.to_vec()];
            notes = self.round_zero_actions(ctx.prices);
        }
        self.history.push(ctx.prices.to_vec());
        let marks = self.marks(ctx.round, ctx.prices);
        self.last_marks = marks.clone();
        let v = self.valuation(ctx.prices, marks);
        let hs = self.health_all(&v);
        let underwater: Vec<usize> = (0..hs.len())
            .filter(|&k| hs[k].maintenance() < 0.0 && self.has_exposure(k))
            .collect();
        let mut out = ProtocolRound {
            notes,
            ..ProtocolRound::default()
        };
        // An oracle that lags or is pumped hides what the system prices show: accounts underwater at
        // the system prices but not at the oracle are deferred (the run is not at rest while there
        // are any), and their liquidation waits for the oracle to catch up.
        if v.marks
            .iter()
            .zip(&self.params.markets)
            .any(|(m, mk)| *m != ctx.prices[mk.underlying])
        {
            let true_v = self.valuation_at(ctx.prices);
            let true_h = self.health_all(&true_v);
            out.deferred = (0..hs.len())
                .filter(|&k| {
                    hs[k].maintenance() >= 0.0
                        && true_h[k].maintenance() < 0.0
                        && self.has_exposure(k)
                })
                .count() as u64;
        }
        if underwater.is_empty() {
            return out;
        }
        if ctx.breakers && self.breaker_trips(ctx) {
            out.paused = true;
            out.deferred += underwater.len() as u64;
            return out;
        }
        let (mut perps_closed, mut notional, mut options_closed) = (0u64, 0.0, 0u64);
        for &k in &underwater {
            let b = self.book(k);
            for p in b.perps.iter().filter(|p| p.size != 0.0) {
                perps_closed += 1;
                notional += p.size.abs() * v.marks[p.market];
            }
            options_closed += b.options.iter().filter(|o| o.size != 0.0).count() as u64;
            self.liquidate_account(k, ctx.round, &v, &mut out);
        }
        out.accounts_liquidated = underwater.len() as u64;
        out.notes.push(format!(
            "{} account(s) below maintenance margin closed: {perps_closed} perp position(s), {} notional at the marks, and {options_closed} option position(s)",
            underwater.len(),
            fmt_usd(notional)
        ));
        out
    }

    fn settle(
        &mut self,
        fills: &[ProtocolFill],
        buys: &[ProtocolBuyFill],
        prices: &[f64],
    ) -> Settlement {
        let sale_price = |a: AssetIdx| {
            fills
                .iter()
                .find(|f| f.asset == a && f.quantity > 0.0)
                .map(|f| f.proceeds_usd / f.quantity)
        };
        let buy_price = |a: AssetIdx| {
            buys.iter()
                .find(|f| f.asset == a && f.quantity > 0.0)
                .map(|f| f.cost_usd / f.quantity)
        };
        for t in std::mem::take(&mut self.pending) {
            match t {
                PendingTrade::Perp {
                    account,
                    underlying,
                    size,
                    entry_price,
                } => {
                    let px = if size > 0.0 {
                        sale_price(underlying)
                    } else {
                        buy_price(underlying)
                    }
                    .unwrap_or(prices[underlying]);
                    self.cash[account] += size * (px - entry_price);
                }
                PendingTrade::Collateral {
                    account,
                    asset,
                    quantity,
                } => {
                    let px = sale_price(asset).unwrap_or(prices[asset]);
                    self.cash[account] += quantity * px;
                }
            }
        }
        let mut bad_usd = 0.0;
        let mut accounts_bad_debt = 0;
        let share = self.params.insurance_fee_share;
        for (k, fees) in std::mem::take(&mut self.pending_accounts) {
            if self.cash[k] >= 0.0 {
                continue;
            }
            // A bankrupt account cannot pay its liquidation fee: the unpaid part is refunded (taken
            // back from the insurance fund's share), so bad debt never includes fees.
            let unpaid = fees.min(-self.cash[k]);
            self.cash[k] += unpaid;
            self.fund_usd = (self.fund_usd - unpaid * share).max(0.0);
            if let Some(log) = self.logs.get_mut(k) {
                log.protocol_fee_usd -= unpaid * share;
            }
            if self.cash[k] >= 0.0 {
                continue;
            }
            // The remaining collateral covers what it can, at its value.
            for (a, q) in &mut self.collateral[k] {
                if self.cash[k] >= 0.0 {
                    break;
                }
                let p = prices[*a];
                if *q <= 0.0 || p <= 0.0 {
                    continue;
                }
                let take = q.min(-self.cash[k] / p);
                *q -= take;
                self.cash[k] += take * p;
            }
            if self.cash[k] < -1e-9 {
                bad_usd += -self.cash[k];
                accounts_bad_debt += 1;
                if let Some(log) = self.logs.get_mut(k) {
                    log.bad_debt_usd += -self.cash[k];
                }
            }
            self.cash[k] = self.cash[k].max(0.0);
        }
        if bad_usd <= 0.0 {
            return Settlement::default();
        }
        let a = self.settlement_asset;
        let p = prices[a];
        Settlement {
            bad_debt: vec![BadDebt {
                asset: a,
                tokens: if p > 0.0 { bad_usd / p } else { 0.0 },
                usd: bad_usd,
                accounts: accounts_bad_debt,
            }],
            accounts_bad_debt,
        }
    }

    fn absorb_losses(&mut self, round: &ProtocolRound, prices: &[f64]) -> LossOutcome {
        let bad = round.bad_debt_usd();
        if bad <= 0.0 {
            return LossOutcome::default();
        }
        let paid = self.fund_pay(bad, prices);
        let winners = self.charge_winners(bad - paid, prices);
        self.winners_paid_usd += winners;
        LossOutcome {
            insurance_used_usd: paid,
            uncovered_usd: (bad - paid - winners).max(0.0),
            winners_paid_usd: winners,
        }
    }

    fn insurance_fund_usd(&self, prices: &[f64]) -> f64 {
        self.fund_usd + self.fund.iter().map(|&(a, q)| q * prices[a]).sum::<f64>()
    }

    fn record_accounts(&mut self) {
        self.logs = vec![AccountLog::default(); self.names.len()];
    }

    /// An account's health is its margin ratio at `prices` (the marks equal to the prices):
    /// maintenance equity over the maintenance requirement, `E_M / MM`, below 1 when it is
    /// liquidated; ∞ with no requirement and equity ≥ 0, 0 with none and equity < 0.
    fn account_results(&self, prices: &[f64]) -> Vec<AccountResult> {
        let v = self.valuation_at(prices);
        self.health_all(&v)
            .iter()
            .enumerate()
            .map(|(k, h)| AccountResult {
                account: self.account[k],
                health: h.margin_ratio(),
                log: self.logs.get(k).copied().unwrap_or_default(),
            })
            .collect()
    }

    fn end_state(&self, prices: &[f64]) -> EndState {
        let marks = self.marks(u32::MAX, prices);
        let v = self.valuation(prices, marks);
        let hs = self.health_all(&v);
        let mut st = EndState::default();
        for (k, h) in hs.iter().enumerate() {
            if self.liquidated[k] {
                st.accounts_liquidated += 1;
            }
            if h.maintenance() < 0.0 && self.has_exposure(k) {
                st.accounts_underwater += 1;
                st.shortfall_usd += (-h.net_value).max(0.0);
            }
        }
        st
    }
}
