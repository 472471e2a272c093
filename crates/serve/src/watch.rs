//! The scenario watchlist (docs/serve.md#the-watchlist): in a background worker, the configured
//! scenarios run through the full cascade on a copy of the live state, with the no-shock baseline
//! beside each (the same run and JSON as `cascade stress --json`), and the contagion coefficients
//! (as `cascade contagion`) — again after every material change (debounced) and on a timer, never
//! holding the live state while they run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use cascade_model::{Scenario, Snapshot};

use crate::server::{now_ms, AppState};

/// When the watchlist re-runs.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchConfig {
    /// Scenario names (built-in) or files; resolved by the caller against the served snapshot.
    /// Empty: every built-in scenario that fits the snapshot (the generic shock if none does).
    pub scenarios: Vec<String>,
    /// Re-run after this long if anything changed at all, material or not.
    pub every: Duration,
    /// After a material change, wait this long for more before running (changes in the meantime
    /// join the same run).
    pub debounce: Duration,
    /// A change is material when an exogenous price, the total collateral or the total debt moved
    /// by at least this fraction since the last run (0.001 = 0.1%), or accounts crossed HF = 1.
    pub material_change: f64,
    /// Whether to compute the contagion coefficients too.
    pub contagion: bool,
    /// The contagion coefficients (a bisection over the cascade per asset) run at most this often.
    pub contagion_every: Duration,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            scenarios: Vec::new(),
            every: Duration::from_secs(60),
            debounce: Duration::from_millis(500),
            material_change: 0.001,
            contagion: true,
            contagion_every: Duration::from_secs(60),
        }
    }
}

/// The latest run of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioRun {
    pub name: String,
    /// The event sequence number of the state it ran on, and that state's time (ms since the
    /// Unix epoch).
    pub seq: u64,
    pub state_at_ms: i64,
    /// When the run finished (ms since the Unix epoch) and how long it took (s).
    pub at_ms: i64,
    pub seconds: f64,
    /// The result, as `cascade stress --json` prints it.
    #[serde(skip)]
    pub result: Value,
    /// The stress report's sections (HTML with inline SVG charts), for the dashboard.
    #[serde(skip)]
    pub report_html: Arc<str>,
}

/// One scenario's run on a copy of the state: its name, its result as `cascade stress --json`
/// prints it, the stress report's sections (HTML) and the seconds of its own run.
#[derive(Debug, Clone)]
pub struct ScenarioOutcome {
    pub name: String,
    pub result: Value,
    pub report_html: String,
    pub seconds: f64,
}

/// The latest contagion coefficients.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContagionRun {
    pub seq: u64,
    pub at_ms: i64,
    pub seconds: f64,
    /// As in `cascade contagion --json`'s `contagion_coefficients`.
    pub coefficients: Value,
    /// The smallest price drop of any asset at which any protocol realises bad debt (fraction), with
    /// the asset and the protocol; `None` if none does even at a 99% drop.
    pub min_threshold: Option<MinThreshold>,
    /// The exposure graph, as `cascade contagion --json`'s `exposure_graph`.
    pub exposure_graph: Value,
    /// Each protocol's DebtRank (differential variant), as `cascade contagion --json`'s `debtrank`:
    /// `[protocol, DebtRank]` pairs.
    pub debtrank: Value,
    /// Each protocol's TVL at the state's prices, USD (`[protocol, USD]` pairs, snapshot order).
    pub tvl_usd: Value,
}

/// The pair with the smallest contagion threshold.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MinThreshold {
    pub drop: f64,
    pub asset: String,
    pub protocol: String,
}

/// Accounts with HF < 1 at current prices that no liquidator would touch (the liquidation would
/// not pay for its cost), from the no-shock run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Unliquidatable {
    pub accounts: u64,
    /// Their debt at current prices, USD.
    pub debt_usd: f64,
}

/// Everything the watchlist has computed so far.
#[derive(Debug, Clone, Default)]
pub struct WatchState {
    /// In the configured order.
    pub scenarios: Vec<ScenarioRun>,
    pub contagion: Option<ContagionRun>,
    pub unliquidatable: Option<Unliquidatable>,
    /// Completed refreshes since the start.
    pub refreshes: u64,
    /// Duration of the last refresh of every scenario, s.
    pub last_refresh_seconds: Option<f64>,
}

impl WatchState {
    pub fn scenario(&self, name: &str) -> Option<&ScenarioRun> {
        self.scenarios.iter().find(|s| s.name == name)
    }

    /// A number of the watchlist by name: `scenario.<name>.<path in the stress JSON>` (e.g.
    /// `scenario.eth-crash.system.bad_debt_usd`, `scenario.eth-crash.incremental.bad_debt_usd`),
    /// `contagion.min_threshold_drop`, `unliquidatable.accounts`, `unliquidatable.debt_usd`.
    pub fn metric(&self, name: &str) -> Option<f64> {
        if let Some(rest) = name.strip_prefix("scenario.") {
            // The longest scenario name that prefixes the rest (names may hold dots).
            let run = self
                .scenarios
                .iter()
                .filter(|s| {
                    rest.len() > s.name.len()
                        && rest.starts_with(&s.name)
                        && rest.as_bytes()[s.name.len()] == b'.'
                })
                .max_by_key(|s| s.name.len())?;
            return json_number(&run.result, &rest[run.name.len() + 1..]);
        }
        match name {
            "contagion.min_threshold_drop" => self
                .contagion
                .as_ref()
                .and_then(|c| c.min_threshold.as_ref().map(|m| m.drop)),
            "unliquidatable.accounts" => self.unliquidatable.map(|u| u.accounts as f64),
            "unliquidatable.debt_usd" => self.unliquidatable.map(|u| u.debt_usd),
            _ => None,
        }
    }
}

/// The number at a dotted `path` of `v` (array items by index).
pub fn json_number(v: &Value, path: &str) -> Option<f64> {
    let mut at = v;
    for part in path.split('.') {
        at = match at {
            Value::Object(m) => m.get(part)?,
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match at {
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        other => other.as_f64(),
    }
}

/// What a change is measured against: the state at the last run.
#[derive(Debug, Clone)]
struct Basis {
    seq: u64,
    prices: Vec<f64>,
    collateral_usd: f64,
    debt_usd: f64,
    below_one: u64,
}

impl Basis {
    fn of(state: &AppState) -> Basis {
        let live = state.live();
        let s = live.summary();
        Basis {
            seq: s.seq,
            prices: live.prices().to_vec(),
            collateral_usd: s.collateral_usd,
            debt_usd: s.debt_usd,
            below_one: s.below_one.accounts,
        }
    }

    /// Whether `now` differs materially from `self` (see [`WatchConfig::material_change`]).
    fn material(&self, now: &Basis, fraction: f64) -> bool {
        // Relative to the value at the last run (a value that was 0 moved if it is not 0 now).
        let moved = |a: f64, b: f64| (a - b).abs() > 0.0 && (a - b).abs() >= fraction * a.abs();
        self.below_one != now.below_one
            || moved(self.collateral_usd, now.collateral_usd)
            || moved(self.debt_usd, now.debt_usd)
            || self.prices.len() != now.prices.len()
            || self
                .prices
                .iter()
                .zip(&now.prices)
                .any(|(&a, &b)| moved(a, b))
    }
}

/// Runs every scenario on `snapshot` with its no-shock baseline beside it, as
/// `cascade_engine::run_with_baseline` does (the same figures and JSON as `cascade stress --json`);
/// pure and blocking (rayon inside the engine). The snapshot is prepared once for every run, and a
/// baseline is run once for all the scenarios whose round settings are the same (their no-shock
/// runs are the same run). Each outcome has the scenario's report (HTML) and the seconds of its own run.
pub fn run_scenarios(snapshot: &Snapshot, scenarios: &[Scenario]) -> Vec<ScenarioOutcome> {
    run_scenarios_prepared(
        &cascade_engine::Prepared::new(snapshot),
        snapshot,
        scenarios,
        Vec::new(),
    )
}

/// [`run_scenarios`] from a prepared snapshot; `baselines`: no-shock runs already made (their
/// scenario, named "baseline", and figures), used for the scenarios with the same round settings.
pub fn run_scenarios_prepared(
    prepared: &cascade_engine::Prepared,
    snapshot: &Snapshot,
    scenarios: &[Scenario],
    mut baselines: Vec<(Scenario, cascade_engine::Figures)>,
) -> Vec<ScenarioOutcome> {
    let options = cascade_engine::Options::default();
    let quiet = cascade_engine::Options {
        detail: false,
        accounts: false,
        ..options
    };
    scenarios
        .iter()
        .map(|sc| {
            let t = Instant::now();
            let mut r = cascade_engine::run_prepared(prepared, snapshot, sc, &options);
            let calm = Scenario {
                name: "baseline".into(),
                shocks: Vec::new(),
                ..sc.clone()
            };
            let base = match baselines.iter().find(|(c, _)| *c == calm) {
                Some((_, f)) => f.clone(),
                None => {
                    let f = cascade_engine::Figures::of(&cascade_engine::run_prepared(
                        prepared, snapshot, &calm, &quiet,
                    ));
                    baselines.push((calm, f.clone()));
                    f
                }
            };
            r.incremental = Some(cascade_engine::Figures::of(&r).minus(&base));
            r.baseline = Some(base);
            let seconds = t.elapsed().as_secs_f64();
            ScenarioOutcome {
                name: sc.name.clone(),
                result: serde_json::to_value(&r).unwrap_or(Value::Null),
                report_html: cascade_report::stress_sections_html(snapshot, &r),
                seconds,
            }
        })
        .collect()
}

/// What a contagion run finds: the coefficients (JSON), their smallest threshold, the exposure
/// graph, DebtRank and TVL per protocol (JSON).
#[derive(Debug, Clone)]
pub struct ContagionFindings {
    pub coefficients: Value,
    pub min_threshold: Option<MinThreshold>,
    pub exposure_graph: Value,
    pub debtrank: Value,
    pub tvl_usd: Value,
}

/// The contagion coefficients of `snapshot` and their smallest threshold.
pub fn run_contagion(snapshot: &Snapshot) -> (Value, Option<MinThreshold>) {
    let f = run_contagion_prepared(&cascade_engine::Prepared::new(snapshot), snapshot);
    (f.coefficients, f.min_threshold)
}

/// [`run_contagion`] from a prepared snapshot, with the exposure graph, DebtRank and TVLs.
pub fn run_contagion_prepared(
    prepared: &cascade_engine::Prepared,
    snapshot: &Snapshot,
) -> ContagionFindings {
    use cascade_contagion::snapshot as cs;
    let coefficients = cs::contagion_coefficients(snapshot, prepared);
    let edges = cs::exposure_graph(snapshot, prepared);
    let debtrank = cs::snapshot_debtrank(
        snapshot,
        prepared,
        cascade_contagion::debtrank::Variant::Differential,
    );
    let tvl: Vec<(String, f64)> = snapshot
        .protocols
        .iter()
        .zip(prepared.tvl_usd())
        .map(|(p, &t)| (p.id.clone(), t))
        .collect();
    let min = coefficients
        .iter()
        .filter_map(|c| {
            c.threshold_drop.map(|d| MinThreshold {
                drop: d,
                asset: c.asset.clone(),
                protocol: c.protocol.clone(),
            })
        })
        .min_by(|a, b| a.drop.total_cmp(&b.drop));
    ContagionFindings {
        coefficients: serde_json::to_value(&coefficients).unwrap_or(Value::Null),
        min_threshold: min,
        exposure_graph: serde_json::to_value(&edges).unwrap_or(Value::Null),
        debtrank: serde_json::to_value(&debtrank).unwrap_or(Value::Null),
        tvl_usd: serde_json::to_value(&tvl).unwrap_or(Value::Null),
    }
}

/// Accounts below HF 1 now that the no-shock cascade leaves unliquidated because no liquidation
/// would pay for its cost: `(protocol, account)` pairs.
pub fn unliquidatable(snapshot: &Snapshot) -> Vec<(String, String)> {
    unliquidatable_prepared(&cascade_engine::Prepared::new(snapshot), snapshot).0
}

/// [`unliquidatable`] from a prepared snapshot, with the figures of that no-shock run (the
/// baseline of every scenario with the default round settings: [`run_scenarios_prepared`]).
pub fn unliquidatable_prepared(
    prepared: &cascade_engine::Prepared,
    snapshot: &Snapshot,
) -> (Vec<(String, String)>, (Scenario, cascade_engine::Figures)) {
    let calm = Scenario::baseline();
    let r = cascade_engine::run_prepared(
        prepared,
        snapshot,
        &calm,
        &cascade_engine::Options {
            breakers: true,
            detail: false,
            accounts: true,
        },
    );
    let figures = cascade_engine::Figures::of(&r);
    let stuck = r
        .accounts
        .into_iter()
        .filter(|a| {
            a.health_before.is_some_and(|h| h < 1.0)
                && a.first_liquidation_round.is_none()
                && a.unprofitable_rounds > 0
        })
        .map(|a| (a.protocol, a.account))
        .collect();
    (stuck, (calm, figures))
}

/// One refresh: copies the live state (the only time it is held), then runs everything on the
/// copy in a blocking thread, and publishes the results.
///
/// `copy` is the previous refresh's copy of the state, brought up to date in place
/// ([`crate::live::Live::snapshot_into`]) so that the live state is held (shared with readers;
/// batches wait) for as short a time as possible.
async fn refresh(
    state: &Arc<AppState>,
    scenarios: &Arc<Vec<Scenario>>,
    with_contagion: bool,
    copy: &mut Option<Snapshot>,
) -> Basis {
    let basis = Basis::of(state);
    let held = Instant::now();
    let (state_at_ms, none_below) = {
        let live = state.live();
        live.snapshot_into(copy);
        let s = live.summary();
        // No account below 1 where health is kept, and none where it is not: no account can be
        // one below 1 that no liquidator touches.
        (
            s.updated_at_ms,
            s.below_one.accounts == 0 && s.accounts == s.accounts_tracked,
        )
    };
    let copy_ms = held.elapsed().as_secs_f64() * 1e3;
    let Some(snapshot) = copy.take() else {
        return basis;
    };
    let started = Instant::now();
    let sc = Arc::clone(scenarios);
    let work = tokio::task::spawn_blocking(move || {
        let prepared = cascade_engine::Prepared::new(&snapshot);
        // The no-shock run with every account first: it is also the baseline of the scenarios
        // with the default round settings (breakers on, as `Options::default()`), so that
        // cascade runs once, not twice. Skipped when no account is below 1: a report of every
        // account (a million rows) for nothing to find.
        let (stuck, calm) = if none_below {
            (Vec::new(), Vec::new())
        } else {
            let (stuck, calm) = unliquidatable_prepared(&prepared, &snapshot);
            (stuck, vec![calm])
        };
        let runs = run_scenarios_prepared(&prepared, &snapshot, &sc, calm);
        let contagion = with_contagion.then(|| {
            let t = Instant::now();
            let f = run_contagion_prepared(&prepared, &snapshot);
            (f, t.elapsed().as_secs_f64())
        });
        (runs, stuck, contagion, snapshot)
    })
    .await;
    let Ok((runs, stuck, contagion, snapshot)) = work else {
        tracing::error!("the watchlist run failed; the previous results stay");
        return basis;
    };
    let stuck = {
        let live = state.live();
        let mut u = Unliquidatable::default();
        for (protocol, account) in &stuck {
            if let Some(v) = live
                .account(account)
                .into_iter()
                .find(|v| &v.protocol == protocol)
            {
                u.accounts += 1;
                u.debt_usd += v.debt_usd;
            }
        }
        u
    };
    *copy = Some(snapshot);
    let at = now_ms();
    let seconds = started.elapsed().as_secs_f64();
    {
        let mut w = state.watch_mut();
        w.scenarios = runs
            .into_iter()
            .map(|o| ScenarioRun {
                name: o.name,
                seq: basis.seq,
                state_at_ms,
                at_ms: at,
                seconds: o.seconds,
                result: o.result,
                report_html: o.report_html.into(),
            })
            .collect();
        if let Some((f, secs)) = contagion {
            w.contagion = Some(ContagionRun {
                seq: basis.seq,
                at_ms: at,
                seconds: secs,
                coefficients: f.coefficients,
                min_threshold: f.min_threshold,
                exposure_graph: f.exposure_graph,
                debtrank: f.debtrank,
                tvl_usd: f.tvl_usd,
            });
        }
        w.unliquidatable = Some(stuck);
        w.refreshes += 1;
        w.last_refresh_seconds = Some(seconds);
    }
    tracing::info!(
        seq = basis.seq,
        seconds = format!("{seconds:.3}"),
        copy_ms = format!("{copy_ms:.1}"),
        "watchlist refreshed"
    );
    state.notify("watchlist", state.watch_summary());
    basis
}

/// Spawns the watchlist worker: a first run at once, then after every material change (debounced)
/// and every `config.every` if anything changed.
pub fn spawn(
    state: Arc<AppState>,
    scenarios: Vec<Scenario>,
    config: WatchConfig,
) -> tokio::task::JoinHandle<()> {
    let scenarios = Arc::new(scenarios);
    tokio::spawn(async move {
        let mut changes = state.subscribe();
        let mut last_contagion: Option<Instant> = None;
        let contagion_due = |last: Option<Instant>| {
            config.contagion && last.is_none_or(|t| t.elapsed() >= config.contagion_every)
        };
        let mut copy = None;
        let with = contagion_due(last_contagion);
        let mut basis = refresh(&state, &scenarios, with, &mut copy).await;
        if with {
            last_contagion = Some(Instant::now());
        }
        let mut last_run = Instant::now();
        loop {
            let wait = config.every.saturating_sub(last_run.elapsed());
            let timer = tokio::select! {
                r = changes.recv() => {
                    if matches!(r, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                        return;
                    }
                    false
                }
                _ = tokio::time::sleep(wait) => true,
            };
            let now = Basis::of(&state);
            let run = if timer {
                now.seq != basis.seq
            } else if basis.material(&now, config.material_change) {
                // Debounce: let the burst finish, then run once on the state it left.
                tokio::time::sleep(config.debounce).await;
                while changes.try_recv().is_ok() {}
                true
            } else {
                false
            };
            if timer && !run {
                last_run = Instant::now();
            }
            if run {
                let with = contagion_due(last_contagion);
                basis = refresh(&state, &scenarios, with, &mut copy).await;
                if with {
                    last_contagion = Some(Instant::now());
                }
                last_run = Instant::now();
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_numbers_by_dotted_path() {
        let v = serde_json::json!({"system": {"bad_debt_usd": 12.5, "fixed_point": true},
            "protocols": [{"id": "a", "bad_debt_usd": 3.0}]});
        assert_eq!(json_number(&v, "system.bad_debt_usd"), Some(12.5));
        assert_eq!(json_number(&v, "system.fixed_point"), Some(1.0));
        assert_eq!(json_number(&v, "protocols.0.bad_debt_usd"), Some(3.0));
        assert_eq!(json_number(&v, "protocols.0.id"), None);
        assert_eq!(json_number(&v, "system.nothing"), None);
    }

    #[test]
    fn scenario_metrics_take_the_longest_matching_name() {
        let run = |name: &str, x: f64| ScenarioRun {
            name: name.into(),
            seq: 0,
            state_at_ms: 0,
            at_ms: 0,
            seconds: 0.0,
            result: serde_json::json!({"system": {"bad_debt_usd": x}}),
            report_html: "".into(),
        };
        let w = WatchState {
            scenarios: vec![run("eth", 1.0), run("eth.crash", 2.0)],
            ..Default::default()
        };
        assert_eq!(w.metric("scenario.eth.system.bad_debt_usd"), Some(1.0));
        assert_eq!(
            w.metric("scenario.eth.crash.system.bad_debt_usd"),
            Some(2.0)
        );
        assert_eq!(w.metric("scenario.other.system.bad_debt_usd"), None);
        assert_eq!(w.metric("unliquidatable.accounts"), None);
    }

    #[test]
    fn material_changes() {
        let b = Basis {
            seq: 1,
            prices: vec![2000.0, 1.0],
            collateral_usd: 1e6,
            debt_usd: 5e5,
            below_one: 0,
        };
        let mut n = b.clone();
        n.seq = 2;
        n.prices[0] = 2001.0; // 0.05%
        assert!(!b.material(&n, 0.001));
        n.prices[0] = 2003.0; // 0.15%
        assert!(b.material(&n, 0.001));
        n.prices[0] = 1997.0; // −0.15%
        assert!(b.material(&n, 0.001));
        n.prices[0] = 2000.0;
        n.collateral_usd = 1e6 * 1.0009;
        assert!(!b.material(&n, 0.001));
        let mut n = b.clone();
        n.debt_usd = 5e5 * 1.002;
        assert!(b.material(&n, 0.001));
        let mut n = b.clone();
        n.below_one = 1;
        assert!(b.material(&n, 0.5));
    }
}
