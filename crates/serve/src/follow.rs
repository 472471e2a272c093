//! `cascade serve --follow-aave-v3 RPC ADDR` (docs/serve-follow.md): the service follows an Aave v3
//! market on chain. At the first start the market is imported at the current block with the importer
//! (`cascade import aave-v3`) and kept in `DATA/followed/` as the service's snapshot; from then on a
//! background task polls the chain's head and turns every new block into events of the log:
//!
//! - the oracle's price of each followed reserve, when it changed: `Price`, id `aave:N:price:ASSET`;
//! - for every user the block's pool events (and aToken transfers) name, and every known user whose
//!   turn in the sweep it is ([`swept_at`]: each account once every `refresh_blocks` blocks, so that
//!   accrued interest shows), the user's positions re-read at the block (scaled balances × the
//!   block's indices, exactly as the importer): absolute `Position` events, id
//!   `aave:N:ACCOUNT:ASSET:SIDE`, with 0 for a side the service holds and the chain no longer has.
//!
//! Ids are deterministic and amounts absolute, so processing a block twice is a no-op. The last block
//! fully applied (the cursor) is kept in the store's `meta` table under [`CURSOR_KEY`]; a restart
//! resumes after it. RPC faults are logged and retried with backoff; they never stop the service.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy_primitives::{Address, U256};
use cascade_chain::aave::{discover_users, read_market, UserState};
use cascade_chain::follow::{read_prices, read_users_at, touched_users, Tracked};
use cascade_chain::rpc::Rpc;
use cascade_chain::snapshot::{to_units, write_market, PROTOCOL_ID};
use cascade_chain::ChainError;
use tokio::sync::watch;

use crate::events::{Change, Event, PositionSide, MAX_ID_LEN};
use crate::live::Live;
use crate::server::{now_ms, AppState, Refusal};
use crate::store::{Store, StoreError};

/// Key of the follower's cursor (the last block whose events are all in the log) in the store's
/// `meta` table.
pub const CURSOR_KEY: &str = "follow.aave-v3.cursor";

/// Prefix of every event id the follower writes (`aave:N:…`); reserved for it.
pub const ID_PREFIX: &str = "aave:";

/// The block `N` of a follower's event id `aave:N:…`.
pub fn block_of_id(id: &str) -> Option<u64> {
    id.strip_prefix(ID_PREFIX)?.split(':').next()?.parse().ok()
}

/// Folder of the followed market inside the data folder: `snapshot.toml`, `positions.parquet`
/// (the import at the first start) and `market.json` (the reserves followed, their ids and tokens).
pub const FOLDER: &str = "followed";

/// Settings of a follower.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowConfig {
    /// JSON-RPC endpoint.
    pub rpc: String,
    /// The market's `PoolAddressesProvider`.
    pub provider: Address,
    /// At the first start, users are those of the pool's `Supply` and `Borrow` events from this
    /// block to the imported one.
    pub from_block: u64,
    /// Time between two looks at the chain's head.
    pub poll: Duration,
    /// Blocks behind the head the follower stays (0: follow the head itself).
    pub confirmations: u64,
    /// Blocks walked per step when behind (one `eth_getLogs` and one batch of price reads each).
    pub range: u64,
    /// Blocks per `eth_getLogs` request when discovering users at the first start.
    pub log_range: u64,
    /// Time before an RPC request is abandoned.
    pub timeout: Duration,
    /// Longest wait between two tries after RPC faults.
    pub max_backoff: Duration,
    /// Every followed account is re-read at least once every this many blocks, touched or not (so
    /// that accrued interest shows): at block `N` the accounts whose address, as a number, is `N`
    /// modulo this. 0: only touched accounts are re-read.
    pub refresh_blocks: u64,
}

impl FollowConfig {
    /// The defaults for following `provider` through `rpc`: users from block 0, a look at the head
    /// every 250 ms, no confirmations, 100 blocks per step, 30 s timeout, every account re-read
    /// every [`DEFAULT_REFRESH_BLOCKS`] blocks.
    pub fn new(rpc: &str, provider: Address) -> FollowConfig {
        FollowConfig {
            rpc: rpc.to_string(),
            provider,
            from_block: 0,
            poll: Duration::from_millis(250),
            confirmations: 0,
            range: 100,
            log_range: 10_000,
            timeout: Duration::from_secs(30),
            max_backoff: Duration::from_secs(30),
            refresh_blocks: DEFAULT_REFRESH_BLOCKS,
        }
    }
}

/// Blocks over which every followed account is re-read once (about an hour of Ethereum blocks).
pub const DEFAULT_REFRESH_BLOCKS: u64 = 300;

/// Whether `user` is re-read at block `n` by the sweep of `every` blocks: its address's last eight
/// bytes, as a number, equal `n` modulo `every` (never when `every` is 0).
pub fn swept_at(user: &Address, n: u64, every: u64) -> bool {
    if every == 0 {
        return false;
    }
    let b = user.as_slice();
    let mut tail = [0u8; 8];
    tail.copy_from_slice(&b[b.len() - 8..]);
    u64::from_be_bytes(tail) % every == n % every
}

/// Why a follower could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FollowError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The data folder does not fit (another market, a log without its snapshot, …).
    #[error("{0}")]
    Usage(String),
    /// A file of the followed market cannot be written or read.
    #[error("{0}")]
    Io(String),
    /// A batch the service refused (retried).
    #[error("the service refused block {block}'s events: {detail}")]
    Refused { block: u64, detail: String },
}

impl FollowError {
    /// The caller's fault (exit 2) rather than the network's or the disk's (exit 1).
    pub fn is_usage(&self) -> bool {
        match self {
            FollowError::Chain(e) => e.is_usage(),
            FollowError::Store(e) => e.is_usage(),
            FollowError::Usage(_) => true,
            FollowError::Io(_) | FollowError::Refused { .. } => false,
        }
    }
}

/// A followed market ready to serve: its snapshot, the reserves followed and where to resume.
#[derive(Debug)]
pub struct Followed {
    pub tracked: Tracked,
    pub snapshot: cascade_model::Snapshot,
    /// The last block whose events are in the log (the imported block at the first start).
    pub cursor: u64,
    /// Whether the market was imported just now (first start).
    pub imported: bool,
}

/// The followed market of `data`: read from `DATA/followed/` if it is there (no RPC needed), else
/// imported now at the head (minus the confirmations) and written there, the cursor set to that
/// block. Refuses a data folder that follows another provider, or that has an event log but no
/// followed market (the log was written for another snapshot). `say` is told what happens.
pub fn prepare(
    cfg: &FollowConfig,
    data: &Path,
    store: &mut Store,
    say: &mut dyn FnMut(&str),
) -> Result<Followed, FollowError> {
    let folder = data.join(FOLDER);
    let market_file = folder.join("market.json");
    if market_file.exists() {
        let text = std::fs::read_to_string(&market_file)
            .map_err(|e| FollowError::Io(format!("{}: cannot read: {e}", market_file.display())))?;
        let tracked = Tracked::from_json(&text, &market_file.display().to_string())?;
        if tracked.provider != cfg.provider {
            return Err(FollowError::Usage(format!(
                "{} follows the market of PoolAddressesProvider {}, not {}; use another --data folder",
                data.display(),
                tracked.provider.to_checksum(None),
                cfg.provider.to_checksum(None)
            )));
        }
        let snapshot = load(&folder)?;
        let saved = match store.meta(CURSOR_KEY)? {
            Some(v) => v.trim().parse::<u64>().map_err(|e| {
                FollowError::Usage(format!(
                    "{}: the follower's cursor {v:?} is not a block number: {e}",
                    store.path().display()
                ))
            })?,
            None => tracked.block,
        };
        // The cursor is saved after a block's batch is in the log: after a crash in between, the
        // log is ahead. Blocks are applied in order, each whole, so every block up to the last one
        // in the log is done; resuming after it never re-runs a block against a state that
        // already holds later blocks (which could roll back a price or a position).
        let logged = store
            .last_id_with_prefix(ID_PREFIX)?
            .and_then(|id| block_of_id(&id))
            .unwrap_or(0);
        let cursor = saved.max(logged).max(tracked.block);
        say(&format!(
            "following the Aave v3 market of {} imported at block {}; resuming after block {cursor}",
            tracked.provider.to_checksum(None),
            tracked.block
        ));
        return Ok(Followed {
            tracked,
            snapshot,
            cursor,
            imported: false,
        });
    }
    if store.last_seq()? > 0 {
        return Err(FollowError::Usage(format!(
            "{} has an event log but no followed market ({} is missing): the log was written for another snapshot; follow a market with a new or empty --data folder",
            data.display(),
            market_file.display()
        )));
    }
    let rpc = Rpc::new(&cfg.rpc, cfg.timeout);
    let head = rpc.block(None)?;
    let block = rpc.block(Some(head.number.saturating_sub(cfg.confirmations)))?;
    if cfg.from_block > block.number {
        return Err(FollowError::Usage(format!(
            "--follow-from-block {} is after the block imported, {}",
            cfg.from_block, block.number
        )));
    }
    let users = discover_users(
        &rpc,
        cfg.provider,
        (cfg.from_block, block.number),
        cfg.log_range,
    )?;
    say(&format!(
        "importing the Aave v3 market at block {} ({} users found in blocks {}..={})",
        block.number,
        users.len(),
        cfg.from_block,
        block.number
    ));
    let market = read_market(&rpc, cfg.provider, block, &users, &mut |_, _| {})?;
    let tracked = Tracked::of(&market);
    write_followed(&market, &tracked, data, &folder)?;
    store.set_meta(CURSOR_KEY, &block.number.to_string())?;
    let snapshot = load(&folder)?;
    say(&format!(
        "imported {} reserves and {} accounts into {}",
        tracked.reserves.len(),
        snapshot.accounts.len(),
        folder.display()
    ));
    Ok(Followed {
        tracked,
        snapshot,
        cursor: block.number,
        imported: true,
    })
}

/// Writes the import into a hidden sibling of `folder`, then renames it into place: `folder`
/// exists only whole.
fn write_followed(
    market: &cascade_chain::aave::Market,
    tracked: &Tracked,
    data: &Path,
    folder: &Path,
) -> Result<(), FollowError> {
    let tmp: PathBuf = data.join(format!(".{FOLDER}.partial"));
    let io = |what: String| FollowError::Io(what);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)
            .map_err(|e| io(format!("{}: cannot remove: {e}", tmp.display())))?;
    }
    let result = (|| {
        write_market(market, &[], &tmp)?;
        cascade_io::write::write_atomic(&tmp.join("market.json"), tracked.to_json().as_bytes())
            .map_err(|e| io(format!("writing market.json: {e}")))?;
        std::fs::rename(&tmp, folder)
            .map_err(|e| io(format!("renaming into {}: {e}", folder.display())))?;
        #[cfg(unix)]
        std::fs::File::open(data)
            .and_then(|f| f.sync_all())
            .map_err(|e| io(format!("{}: cannot flush the folder: {e}", data.display())))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

fn load(folder: &Path) -> Result<cascade_model::Snapshot, FollowError> {
    let path = folder.join("snapshot.toml");
    cascade_io::load_snapshot(&path)
        .map(|(s, _)| s)
        .map_err(|e| {
            FollowError::Usage(format!(
                "the followed snapshot does not load:\n{}",
                e.diagnostics
            ))
        })
}

/// A running follower; [`Follower::stop`] ends it between two blocks.
pub struct Follower {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Follower {
    /// Asks the follower to stop and waits for it (it finishes the batch it is applying).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts following on the current tokio runtime, resuming after block `cursor`.
pub fn spawn(state: Arc<AppState>, cfg: FollowConfig, tracked: Tracked, cursor: u64) -> Follower {
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(run(state, cfg, Arc::new(tracked), cursor, rx));
    Follower { stop, task }
}

/// The per-reserve price the live state holds (USD per token), to tell which prices a block moved.
fn live_prices(live: &Live, t: &Tracked) -> Vec<Option<f64>> {
    let view = live.protocol(PROTOCOL_ID);
    t.reserves
        .iter()
        .map(|r| {
            view.as_ref().and_then(|v| {
                v.reserves
                    .iter()
                    .find(|x| x.asset == r.asset)
                    .map(|x| x.price_usd)
            })
        })
        .collect()
}

type SharedRpc = Arc<Mutex<Rpc>>;

/// Runs `f` with the RPC client on a blocking thread.
async fn chain<T: Send + 'static>(
    rpc: &SharedRpc,
    t: &Arc<Tracked>,
    f: impl FnOnce(&Rpc, &Tracked) -> Result<T, ChainError> + Send + 'static,
) -> Result<T, FollowError> {
    let (rpc, t) = (Arc::clone(rpc), Arc::clone(t));
    tokio::task::spawn_blocking(move || {
        let rpc = rpc.lock().unwrap_or_else(|p| p.into_inner());
        f(&rpc, &t)
    })
    .await
    .map_err(|e| FollowError::Io(format!("a chain read stopped: {e}")))?
    .map_err(FollowError::Chain)
}

async fn run(
    state: Arc<AppState>,
    cfg: FollowConfig,
    tracked: Arc<Tracked>,
    mut cursor: u64,
    mut stop: watch::Receiver<bool>,
) {
    let rpc: SharedRpc = Arc::new(Mutex::new(Rpc::new(&cfg.rpc, cfg.timeout)));
    let mut prices = live_prices(&state.live(), &tracked);
    // The accounts the sweep re-reads: the served ones, and every one touched from now on.
    let mut known: BTreeSet<Address> = state
        .live()
        .account_ids(PROTOCOL_ID)
        .iter()
        .filter_map(|id| id.parse::<Address>().ok())
        .collect();
    let mut backoff = cfg.poll;
    // The cursor resolved at the start (the log may be ahead of the saved one): saved at once.
    save_cursor(&state, cursor).await;
    tracing::info!(
        provider = %tracked.provider.to_checksum(None),
        after = cursor,
        "following the Aave v3 market"
    );
    loop {
        if *stop.borrow() {
            break;
        }
        let wait = match step(
            &state,
            &cfg,
            &tracked,
            &rpc,
            (&mut cursor, &mut prices, &mut known),
            &stop,
        )
        .await
        {
            Ok(true) => {
                backoff = cfg.poll;
                continue;
            }
            Ok(false) => {
                backoff = cfg.poll;
                cfg.poll
            }
            Err(e) => {
                tracing::warn!(error = %e, after = cursor, retry_in_ms = backoff.as_millis() as u64, "follower: cannot read or apply the next blocks; retrying");
                let w = backoff;
                backoff = (backoff * 2).min(cfg.max_backoff.max(cfg.poll));
                w
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
    tracing::info!(after = cursor, "follower stopped");
}

/// Walks the blocks after `cursor` up to the head (minus confirmations), at most `range` of them;
/// `Ok(true)` if more blocks are waiting. In each block the users it touched and the `known` users
/// the sweep re-reads there ([`swept_at`]) are read at that block.
async fn step(
    state: &Arc<AppState>,
    cfg: &FollowConfig,
    t: &Arc<Tracked>,
    rpc: &SharedRpc,
    (cursor, prices, known): (&mut u64, &mut [Option<f64>], &mut BTreeSet<Address>),
    stop: &watch::Receiver<bool>,
) -> Result<bool, FollowError> {
    let head = chain(rpc, t, |r, _| r.block(None)).await?;
    let target = head.number.saturating_sub(cfg.confirmations);
    if target <= *cursor {
        return Ok(false);
    }
    let (from, to) = (
        *cursor + 1,
        target.min(cursor.saturating_add(cfg.range.max(1))),
    );
    let range = cfg.range.max(1);
    let touched = chain(rpc, t, move |r, t| touched_users(r, t, (from, to), range)).await?;
    let blocks: Vec<u64> = (from..=to).collect();
    let all_prices = {
        let b = blocks.clone();
        chain(rpc, t, move |r, t| read_prices(r, t, &b)).await?
    };
    let mut result = Ok(to < target);
    for (n, raw) in blocks.into_iter().zip(all_prices) {
        if *stop.borrow() {
            result = Ok(false);
            break;
        }
        let mut users = touched.get(&n).cloned().unwrap_or_default();
        let in_block: BTreeSet<Address> = users.iter().copied().collect();
        known.extend(in_block.iter().copied());
        users.extend(
            known
                .iter()
                .filter(|&u| swept_at(u, n, cfg.refresh_blocks) && !in_block.contains(u))
                .copied(),
        );
        let states = if users.is_empty() {
            Vec::new()
        } else {
            match chain(rpc, t, move |r, t| read_users_at(r, t, n, &users)).await {
                Ok(s) => s,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        };
        let (events, moved) = block_events(&state.live(), t, n, &raw, prices, &states, now_ms());
        if !events.is_empty() {
            let count = events.len();
            match state.apply_events(events, "follow").await {
                Ok(a) => tracing::debug!(
                    block = n,
                    events = count,
                    applied = a.applied,
                    duplicates = a.duplicates,
                    "follower: block applied"
                ),
                Err(e) => {
                    let detail = match &e {
                        Refusal::Items(i) => i.body().to_string(),
                        Refusal::Full(m) | Refusal::Internal(m) => m.clone(),
                    };
                    result = Err(FollowError::Refused { block: n, detail });
                    break;
                }
            }
        }
        for (r, p) in moved {
            prices[r] = Some(p);
        }
        *cursor = n;
    }
    save_cursor(state, *cursor).await;
    result
}

/// Saves the cursor in the store's `meta` table. The events are durable already: a cursor not
/// saved only makes a restart walk blocks that have no events again (see [`prepare`]).
async fn save_cursor(state: &Arc<AppState>, cursor: u64) {
    let (s, c) = (Arc::clone(state), cursor.to_string());
    let saved = tokio::task::spawn_blocking(move || s.with_store(|st| st.set_meta(CURSOR_KEY, &c)))
        .await
        .map_err(|e| FollowError::Io(format!("saving the cursor stopped: {e}")))
        .and_then(|r| r.map_err(FollowError::Store));
    if let Err(e) = saved {
        tracing::warn!(error = %e, "follower: cursor not saved");
    }
}

/// An event id: `aave:N:rest`, or with the reserve's id instead of the asset's when too long.
fn event_id(n: u64, parts: &[&str], short: &[&str]) -> String {
    let id = format!("{ID_PREFIX}{n}:{}", parts.join(":"));
    if id.len() <= MAX_ID_LEN {
        id
    } else {
        format!("{ID_PREFIX}{n}:{}", short.join(":"))
    }
}

/// Block `n`'s events: the prices that moved (against `prices`, what the service holds), then the
/// re-read positions of the touched users. Events the live state would refuse (a price of 0, a debt
/// in a reserve the snapshot marks not borrowable, …) are left out with a warning, so one of them
/// cannot hold the follower back. Also returns the prices moved, per reserve.
fn block_events(
    live: &Live,
    t: &Tracked,
    n: u64,
    raw: &[U256],
    prices: &[Option<f64>],
    states: &[UserState],
    at_ms: i64,
) -> (Vec<Event>, Vec<(usize, f64)>) {
    let mut events = Vec::new();
    let mut moved = Vec::new();
    for (k, (r, &p)) in t.reserves.iter().zip(raw).enumerate() {
        let usd = t.price_usd(p);
        if prices.get(k).copied().flatten().map(f64::to_bits) == Some(usd.to_bits()) {
            continue;
        }
        events.push(Event {
            id: event_id(n, &["price", &r.asset], &["price", &format!("r{}", r.id)]),
            at_ms,
            change: Change::Price {
                asset: r.asset.clone(),
                price: usd,
            },
        });
        moved.push((k, usd));
    }
    for u in states {
        let account = u.address.to_checksum(None);
        let held: Vec<(String, PositionSide)> = live
            .account(&account)
            .into_iter()
            .filter(|v| v.protocol == PROTOCOL_ID)
            .flat_map(|v| {
                if u.emode != 0 && v.emode.as_deref() != Some(u.emode.to_string().as_str()) {
                    tracing::warn!(account = %account, emode = u.emode, held = ?v.emode, "follower: the account's e-mode on chain is not the one served (e-mode changes are not followed)");
                }
                v.positions.into_iter().filter_map(|p| {
                    let side = match p.side {
                        "collateral" => PositionSide::Collateral,
                        "debt" => PositionSide::Debt,
                        _ => return None,
                    };
                    Some((p.asset, side))
                })
            })
            .collect();
        let mut now: BTreeSet<(usize, bool)> = BTreeSet::new();
        let mut push = |k: usize, side: PositionSide, amount: f64| {
            let r = &t.reserves[k];
            let (name, short) = match side {
                PositionSide::Collateral => ("collateral", "c"),
                PositionSide::Debt => ("debt", "d"),
            };
            events.push(Event {
                id: event_id(
                    n,
                    &[&account, &r.asset, name],
                    &[&account, &format!("r{}", r.id), short],
                ),
                at_ms,
                change: Change::Position {
                    protocol: PROTOCOL_ID.to_string(),
                    account: account.clone(),
                    asset: r.asset.clone(),
                    side,
                    amount,
                },
            });
        };
        for p in &u.positions {
            let Some(r) = t.reserves.get(p.reserve) else {
                continue;
            };
            for (side, x, debt) in [
                (PositionSide::Collateral, p.collateral, false),
                (PositionSide::Debt, p.debt, true),
            ] {
                if !x.is_zero() {
                    now.insert((p.reserve, debt));
                    push(p.reserve, side, to_units(x, r.decimals));
                }
            }
        }
        for (asset, side) in held {
            let Some(k) = t.reserves.iter().position(|r| r.asset == asset) else {
                continue;
            };
            if !now.contains(&(k, side == PositionSide::Debt)) {
                push(k, side, 0.0);
            }
        }
    }
    events.retain(|e| match live.resolve(&e.change) {
        Ok(_) => true,
        Err(err) => {
            tracing::warn!(id = %e.id, error = %err, "follower: event left out (the served snapshot refuses it)");
            false
        }
    });
    moved.retain(|(k, _)| {
        let asset = &t.reserves[*k].asset;
        events
            .iter()
            .any(|e| matches!(&e.change, Change::Price { asset: a, .. } if a == asset))
    });
    (events, moved)
}

#[cfg(test)]
mod sweep_tests {
    use super::*;

    #[test]
    fn the_sweep_reads_each_account_once_every_n_blocks() {
        let users: Vec<Address> = (0u64..1_000)
            .map(|i| {
                let mut b = [0u8; 20];
                b[0] = 0xab;
                b[12..].copy_from_slice(&(i * 7919).to_be_bytes());
                Address::from(b)
            })
            .collect();
        // Over any 300 consecutive blocks each account is read exactly once.
        for start in [0u64, 17, 1_000_003] {
            for u in &users {
                let hits = (start..start + 300)
                    .filter(|&n| swept_at(u, n, 300))
                    .count();
                assert_eq!(hits, 1, "{u} from block {start}");
            }
        }
        // An address ending in …0x012c (300) is read at blocks ≡ 0 mod 300; off: never.
        let mut b = [0u8; 20];
        b[18..].copy_from_slice(&300u16.to_be_bytes());
        let u = Address::from(b);
        assert!(swept_at(&u, 600, 300) && !swept_at(&u, 601, 300));
        assert!(!swept_at(&u, 600, 0));
    }
}
