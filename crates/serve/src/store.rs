//! The durable state of `cascade serve` (docs/serve-store.md): one SQLite file, `DIR/cascade.sqlite`,
//! holding the append-only event log, the latest checkpoint of the live state, the metric history
//! and the alerts.
//!
//! Durability: the file is in WAL mode with `synchronous=FULL`, so a transaction is on disk (the WAL
//! fsynced) when its `COMMIT` returns. [`Store::append`] returns `Ok` only after that commit: an event
//! is *acknowledged* when `append` has returned `Ok` for it, and from then on it survives `kill -9`
//! and power loss. A batch that fails leaves nothing behind (one transaction per batch).
//!
//! Ids: every event carries an id chosen by its sender. The id column is `UNIQUE`; appending an id
//! already in the log is a no-op reported as `None`, so a sender that retries after a lost
//! acknowledgement never applies a change twice.
//!
//! Refusal: [`Store::open`] inspects an existing file through a read-only connection first and
//! refuses a file that is not SQLite, is damaged, belongs to another application or was written by
//! a newer schema, without writing to it ([`StoreError::is_usage`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::events::{Change, Event};

mod alerts;
mod inspect;

pub use alerts::{AlertRecord, AlertState};

use inspect::{inspect, Inspection};

#[cfg(test)]
mod tests;

/// Name of the store's file inside the data folder.
pub const FILE_NAME: &str = "cascade.sqlite";

/// `PRAGMA application_id` of a cascade store: the ASCII bytes `CASC` read as a big-endian `i32`.
/// SQLite keeps it at offset 68 of the file header, so `file(1)` and other tools can tell the file
/// apart from other SQLite databases.
pub const APPLICATION_ID: i32 = 0x4341_5343;

/// Schema version this build writes and reads (`PRAGMA user_version`). A file with a higher version
/// was written by a newer cascade and is refused ([`StoreError::TooNew`]).
pub const SCHEMA_VERSION: i32 = 1;

/// How long a statement waits for a lock held by another connection before failing, milliseconds.
pub const BUSY_TIMEOUT_MS: u64 = 5_000;

/// Size the WAL file is truncated back to after a checkpoint, bytes (`PRAGMA journal_size_limit`).
const WAL_SIZE_LIMIT_BYTES: i64 = 64 << 20;

/// The first 16 bytes of every SQLite database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Tables of schema version 1. `STRICT` so a value of the wrong type is an error, not a silent
/// conversion.
const SCHEMA_V1: &str = "
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    at_ms INTEGER NOT NULL,
    change TEXT NOT NULL,
    number_bits INTEGER
) STRICT;
CREATE TABLE checkpoints (
    seq INTEGER PRIMARY KEY,
    state BLOB NOT NULL
) STRICT;
CREATE TABLE metrics (
    name TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (name, at_ms)
) STRICT, WITHOUT ROWID;
CREATE TABLE alerts (
    rule TEXT NOT NULL,
    key TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
    fired_at_ms INTEGER NOT NULL,
    resolved_at_ms INTEGER,
    value REAL NOT NULL,
    message TEXT NOT NULL,
    acknowledged INTEGER NOT NULL CHECK (acknowledged IN (0, 1)),
    PRIMARY KEY (rule, key)
) STRICT;
";

/// A small key/value table for background workers' durable bookmarks (a chain follower's last
/// applied block, docs/serve-follow.md#cursor). Created on open when missing, so a store of schema
/// version 1 written before it existed gains it without a version change; older builds ignore it.
const META: &str = "CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;";

/// Tables a version-1 store must have.
const TABLES_V1: [&str; 4] = ["events", "checkpoints", "metrics", "alerts"];

/// A failure of the store, naming the file. Each renders as one line with its reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The file is an SQLite database but damaged (`PRAGMA quick_check` fails, SQLite reports
    /// corruption, or a row of the log does not decode). The file is left as it is.
    #[error("{}: the store is damaged: {detail}; the file was left as it is (restore it from a backup or move it away)", path.display())]
    Corrupt { path: PathBuf, detail: String },
    /// The file is not a cascade store: not SQLite at all, or another application's database.
    /// The file is left as it is.
    #[error("{}: not a cascade store: {detail}; the file was left as it is (choose another data folder or move the file away)", path.display())]
    Foreign { path: PathBuf, detail: String },
    /// The store was written by a newer cascade (a higher schema version). The file is left as it is.
    #[error("{}: written by a newer cascade: schema version {found}, this build reads up to {expected}; the file was left as it is", path.display())]
    TooNew {
        path: PathBuf,
        found: i32,
        expected: i32,
    },
    /// The disk (or the store's page limit) is full: `SQLITE_FULL` or `ENOSPC`. The failed
    /// transaction was rolled back; everything committed before is intact.
    #[error("{}: disk full: {detail}", path.display())]
    Full { path: PathBuf, detail: String },
    /// A file-system failure (the folder cannot be created, the file cannot be opened or read).
    #[error("{}: {detail}", path.display())]
    Io { path: PathBuf, detail: String },
    /// Any other SQLite failure (a lock held past the busy timeout, …).
    #[error("{}: SQLite: {detail}", path.display())]
    Sql { path: PathBuf, detail: String },
    /// The caller passed a value the store cannot keep (a NaN, a checkpoint past the log's end, …).
    /// Nothing was written.
    #[error("{}: {detail}", path.display())]
    Invalid { path: PathBuf, detail: String },
}

impl StoreError {
    /// True for a file the user supplied that cascade refuses: damaged, foreign or too new. The
    /// command exits with status 2 and the file is untouched.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            StoreError::Corrupt { .. } | StoreError::Foreign { .. } | StoreError::TooNew { .. }
        )
    }

    /// True when the disk (or the page limit) is full: ingest answers 503 and the sender retries
    /// later; nothing acknowledged was lost.
    pub fn is_full(&self) -> bool {
        matches!(self, StoreError::Full { .. })
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        match self {
            StoreError::Corrupt { path, .. }
            | StoreError::Foreign { path, .. }
            | StoreError::TooNew { path, .. }
            | StoreError::Full { path, .. }
            | StoreError::Io { path, .. }
            | StoreError::Sql { path, .. }
            | StoreError::Invalid { path, .. } => path,
        }
    }
}

/// Maps an SQLite failure on the store's file to its [`StoreError`]. SQLite's unix layer reports a
/// write that failed with `ENOSPC` as `SQLITE_FULL`; a `-shm` file that cannot grow is
/// `SQLITE_IOERR_SHMSIZE`, also a full disk.
fn sql_error(path: &Path, error: rusqlite::Error) -> StoreError {
    let path = path.to_path_buf();
    let detail = error.to_string();
    if error
        .sqlite_error()
        .is_some_and(|e| e.extended_code == rusqlite::ffi::SQLITE_IOERR_SHMSIZE)
    {
        return StoreError::Full { path, detail };
    }
    match error.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => StoreError::Full { path, detail },
        Some(ErrorCode::DatabaseCorrupt) | Some(ErrorCode::NotADatabase) => {
            StoreError::Corrupt { path, detail }
        }
        Some(ErrorCode::SystemIoFailure) | Some(ErrorCode::CannotOpen) => {
            StoreError::Io { path, detail }
        }
        _ => StoreError::Sql { path, detail },
    }
}

/// Maps a file-system failure to its [`StoreError`]: `ENOSPC` is [`StoreError::Full`].
fn io_error(path: &Path, what: &str, error: std::io::Error) -> StoreError {
    let path = path.to_path_buf();
    let detail = format!("{what}: {error}");
    if error.kind() == std::io::ErrorKind::StorageFull {
        StoreError::Full { path, detail }
    } else {
        StoreError::Io { path, detail }
    }
}

/// The store: one read-write connection to `DIR/cascade.sqlite`. Not `Sync`; the server owns it
/// from one thread (or `spawn_blocking`).
///
/// # Examples
///
/// ```
/// use cascade_serve::events::{Change, Event};
/// use cascade_serve::store::Store;
///
/// let dir = tempfile::tempdir()?;
/// let mut store = Store::open(dir.path())?;
/// let price = |id: &str, usd: f64| Event {
///     id: id.into(),
///     at_ms: 1_700_000_000_000,
///     change: Change::Price { asset: "WETH".into(), price: usd },
/// };
/// // Durable when `append` returns: acknowledge then. A known id is skipped (`None`).
/// assert_eq!(store.append(&[price("a", 3000.0), price("b", 2950.5)])?, [Some(1), Some(2)]);
/// assert_eq!(store.append(&[price("b", 2950.5), price("c", 2990.0)])?, [None, Some(3)]);
///
/// // After a restart: the checkpoint, then the events after it.
/// store.checkpoint(2, b"state as of event 2")?;
/// drop(store);
/// let store = Store::open(dir.path())?;
/// let (seq, _state) = store.latest_checkpoint()?.expect("saved above");
/// let mut ids = Vec::new();
/// store.replay(seq, |_seq, event| {
///     ids.push(event.id);
///     Ok(())
/// })?;
/// assert_eq!(ids, ["c"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Set when the file was too large to be checked whole at open ([`Store::deferred_check`]).
    deferred: bool,
    /// What the check after start found, if it found damage: appends are refused from then on.
    damage: Arc<OnceLock<String>>,
}

/// The whole-file check that [`Store::open`] leaves for after start on a store larger than
/// 256 MiB: run it on a thread of its own beside the service ([`DeferredCheck::run`]). Until it
/// ends the log's older pages are unchecked; if it finds damage, the store refuses every append
/// from then on (the service keeps answering reads) and the error says to restore the file.
#[derive(Debug)]
pub struct DeferredCheck {
    path: PathBuf,
    damage: Arc<OnceLock<String>>,
}

impl DeferredCheck {
    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every page (`PRAGMA quick_check`) through a read-only connection of its own; on
    /// damage, marks the store so that appends fail with [`StoreError::Corrupt`].
    pub fn run(self) -> Result<(), StoreError> {
        let result = inspect::check_whole(&self.path);
        if let Err(StoreError::Corrupt { detail, .. }) = &result {
            let _ = self.damage.set(detail.clone());
        }
        result
    }

    /// [`DeferredCheck::run`] on a thread of its own, logging what it found (`store check passed`
    /// with the seconds it took, or `store check failed` with the findings).
    pub fn spawn(self) {
        let file = self.path.display().to_string();
        let spawned = std::thread::Builder::new()
            .name("store-check".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                tracing::info!(%file, "checking the whole store beside the service (larger than 256 MiB)");
                match self.run() {
                    Ok(()) => tracing::info!(
                        %file,
                        seconds = started.elapsed().as_secs_f64(),
                        "store check passed"
                    ),
                    Err(e) => tracing::error!(
                        error = %e,
                        "store check failed: writes are refused from now on; stop the service and restore the file"
                    ),
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the store check; the log's older pages stay unchecked");
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens or creates `DIR/cascade.sqlite` (creating `DIR`), in WAL mode with `synchronous=FULL`
    /// and a busy timeout of [`BUSY_TIMEOUT_MS`].
    ///
    /// An existing file is first inspected through a read-only connection and refused, without
    /// being written to, when it is not SQLite or has another application's id ([`StoreError::Foreign`]),
    /// has tables but no application id (another program's database, [`StoreError::Foreign`]),
    /// fails `PRAGMA quick_check` ([`StoreError::Corrupt`]) or has a schema version above
    /// [`SCHEMA_VERSION`] ([`StoreError::TooNew`]). `quick_check` reads the whole file, so a file
    /// above 256 MiB (a long event log) is checked at open only in its header, its length against
    /// its page count and every table but the log; [`Store::deferred_check`] checks it whole
    /// after start.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        Store::open_checking(dir, inspect::CHECK_AT_OPEN_MAX_BYTES)
    }

    /// [`Store::open`] with the size up to which a file is checked whole at open, bytes.
    pub fn open_checking(dir: &Path, check_whole_up_to: u64) -> Result<Store, StoreError> {
        let path = dir.join(FILE_NAME);
        let dir_existed = dir.is_dir();
        fs::create_dir_all(dir).map_err(|e| io_error(&path, "cannot create the data folder", e))?;
        // `metadata` follows a symbolic link (a store kept on another disk), as SQLite does.
        let inspection = match fs::metadata(&path) {
            Ok(meta) if meta.is_file() => Some(inspect(&path, check_whole_up_to)?),
            Ok(_) => {
                return Err(StoreError::Io {
                    path,
                    detail: "exists but is not a regular file".into(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_error(&path, "cannot read the file's metadata", e)),
        };
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sql_error(&path, e))?;
        let deferred = matches!(inspection, Some(Inspection::Current { deferred: true }));
        let mut store = Store {
            conn,
            path,
            deferred,
            damage: Arc::default(),
        };
        store.configure()?;
        match inspection {
            Some(Inspection::Current { .. }) => {}
            None | Some(Inspection::Empty) => store.create_schema()?,
        }
        store
            .conn
            .execute_batch(META)
            .map_err(|e| sql_error(&store.path, e))?;
        if inspection.is_none() {
            sync_dir(dir, !dir_existed, &store.path)?;
        }
        Ok(store)
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole-file check left for after start, once: `Some` when the file was larger than
    /// 256 MiB at open (only its header, its length and every table but the event log were checked
    /// then), `None` otherwise or when already taken.
    pub fn deferred_check(&mut self) -> Option<DeferredCheck> {
        std::mem::take(&mut self.deferred).then(|| DeferredCheck {
            path: self.path.clone(),
            damage: Arc::clone(&self.damage),
        })
    }

    /// Connection settings: busy timeout, WAL, `synchronous=FULL`, WAL size limit.
    fn configure(&self) -> Result<(), StoreError> {
        let err = |e| sql_error(&self.path, e);
        self.conn
            .busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS))
            .map_err(err)?;
        let mode: String = self
            .conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Sql {
                path: self.path.clone(),
                detail: format!("cannot switch to WAL mode (journal_mode is {mode})"),
            });
        }
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        self.conn
            .pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT_BYTES)
            .map_err(err)?;
        Ok(())
    }

    /// Creates the tables and stamps the application id and schema version, in one transaction.
    /// Checks again under the write lock that the file is still empty (another process may have
    /// created the store since the inspection).
    fn create_schema(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |e| sql_error(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let app_id: i32 = tx
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(err)?;
        if app_id == APPLICATION_ID {
            // Created meanwhile by another process.
            return Ok(());
        }
        let objects: i64 = tx
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .map_err(err)?;
        if app_id != 0 || objects != 0 {
            return Err(StoreError::Foreign {
                path: path.clone(),
                detail: format!(
                    "application id {app_id:#010x} with {objects} schema objects appeared while opening"
                ),
            });
        }
        tx.execute_batch(SCHEMA_V1).map_err(err)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(err)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(err)?;
        tx.commit().map_err(err)
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |e| sql_error(&self.path, e)
    }

    /// Appends `events` in one transaction and returns, per input event, `Some(seq)` if it was
    /// appended (its position in the log, 1, 2, …) or `None` if its id was already in the log or
    /// earlier in the same batch (only the first of equal ids is appended).
    ///
    /// Durable before it returns `Ok`: the transaction is committed with `synchronous=FULL`. The
    /// caller acknowledges the events only then. On `Err` nothing of the batch is in the log.
    /// Refuses ([`StoreError::Invalid`]) a price or amount that is NaN or infinite.
    pub fn append(&mut self, events: &[Event]) -> Result<Vec<Option<i64>>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(detail) = self.damage.get() {
            return Err(StoreError::Corrupt {
                path: self.path.clone(),
                detail: format!(
                    "found by the check after start, so nothing more is written: {detail}"
                ),
            });
        }
        let mut rows = Vec::with_capacity(events.len());
        for event in events {
            let number = number_of(&event.change);
            if let Some(x) = number.filter(|x| !x.is_finite()) {
                return Err(StoreError::Invalid {
                    path: self.path.clone(),
                    detail: format!("event {:?}: the number {x} is not finite", event.id),
                });
            }
            let change = serde_json::to_string(&event.change).map_err(|e| StoreError::Invalid {
                path: self.path.clone(),
                detail: format!("event {:?}: cannot encode the change: {e}", event.id),
            })?;
            rows.push((change, number.map(|x| x.to_bits() as i64)));
        }
        let path = self.path.clone();
        let err = |e| sql_error(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let mut seqs = Vec::with_capacity(events.len());
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO events (id, at_ms, change, number_bits) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (id) DO NOTHING",
                )
                .map_err(err)?;
            for (event, (change, bits)) in events.iter().zip(&rows) {
                let changed = insert
                    .execute(params![event.id, event.at_ms, change, bits])
                    .map_err(err)?;
                seqs.push((changed == 1).then(|| tx.last_insert_rowid()));
            }
        }
        tx.commit().map_err(err)?;
        Ok(seqs)
    }

    /// Calls `f(seq, event)` for every event with `seq > after`, in `seq` order, reading the log row
    /// by row (a replay of millions of events holds one at a time). Stops at the first error of `f`
    /// and returns it. Reads one consistent snapshot of the log.
    pub fn replay(
        &self,
        after: i64,
        mut f: impl FnMut(i64, Event) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let err = self.err();
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, id, at_ms, change, number_bits FROM events WHERE seq > ?1 ORDER BY seq",
            )
            .map_err(&err)?;
        let mut rows = stmt.query([after]).map_err(&err)?;
        while let Some(row) = rows.next().map_err(&err)? {
            let seq: i64 = row.get(0).map_err(&err)?;
            let id: String = row.get(1).map_err(&err)?;
            let at_ms: i64 = row.get(2).map_err(&err)?;
            let change: String = row.get(3).map_err(&err)?;
            let bits: Option<i64> = row.get(4).map_err(&err)?;
            let change = decode_change(&change, bits).map_err(|detail| StoreError::Corrupt {
                path: self.path.clone(),
                detail: format!("event {seq} ({id:?}): {detail}"),
            })?;
            f(seq, Event { id, at_ms, change })?;
        }
        Ok(())
    }

    /// The value kept under `key` in the `meta` table, if any.
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(self.err())
    }

    /// Keeps `value` under `key` in the `meta` table (replacing the previous one), durably when it
    /// returns `Ok`.
    pub fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map(|_| ())
            .map_err(self.err())
    }

    /// The id of the last event of the log (highest `seq`) whose id starts with `prefix`, if any.
    pub fn last_id_with_prefix(&self, prefix: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT id FROM events WHERE substr(id, 1, length(?1)) = ?1 ORDER BY seq DESC LIMIT 1",
                [prefix],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())
    }

    /// The `seq` of the last event of the log; 0 when the log is empty.
    pub fn last_seq(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get(0))
            .map_err(self.err())
    }

    /// Number of events in the log. Counts the rows (linear in the log's size); the log has no gaps,
    /// so [`Store::last_seq`] gives the same number cheaply.
    pub fn event_count(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .map_err(self.err())
    }

    /// Saves a checkpoint: `state`, opaque bytes of the live state as of event `seq` (every event
    /// up to and including `seq` applied). Replaces the previous checkpoint in one transaction.
    /// Refuses ([`StoreError::Invalid`]) a `seq` below 0 or past [`Store::last_seq`].
    pub fn checkpoint(&mut self, seq: i64, state: &[u8]) -> Result<(), StoreError> {
        let path = self.path.clone();
        let err = |e| sql_error(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let last: i64 = tx
            .query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get(0))
            .map_err(err)?;
        if !(0..=last).contains(&seq) {
            return Err(StoreError::Invalid {
                path: path.clone(),
                detail: format!(
                    "checkpoint at event {seq}, expected an event of the log (0..={last})"
                ),
            });
        }
        tx.execute("DELETE FROM checkpoints", []).map_err(err)?;
        tx.execute(
            "INSERT INTO checkpoints (seq, state) VALUES (?1, ?2)",
            params![seq, state],
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// The latest checkpoint: the `seq` it is as of and its bytes; `None` if none was saved.
    /// Replay from it with `replay(seq, …)`.
    pub fn latest_checkpoint(&self) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
        self.conn
            .query_row(
                "SELECT seq, state FROM checkpoints ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.err())
    }

    /// Records one value per metric at `at_ms` (milliseconds since the Unix epoch), in one
    /// transaction. A point already recorded for the same metric and time is replaced. Values are
    /// in the metric's unit; ±infinity is kept, NaN is refused ([`StoreError::Invalid`]).
    pub fn record_metrics(&mut self, at_ms: i64, points: &[(&str, f64)]) -> Result<(), StoreError> {
        if let Some((name, _)) = points.iter().find(|(_, v)| v.is_nan()) {
            return Err(StoreError::Invalid {
                path: self.path.clone(),
                detail: format!("metric {name:?} at {at_ms} ms is NaN, expected a number"),
            });
        }
        let path = self.path.clone();
        let err = |e| sql_error(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO metrics (name, at_ms, value) VALUES (?1, ?2, ?3)",
                )
                .map_err(err)?;
            for (name, value) in points {
                insert.execute(params![name, at_ms, value]).map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// The points `(at_ms, value)` of `metric` with `from_ms <= at_ms <= to_ms`, in time order.
    pub fn history(
        &self,
        metric: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, f64)>, StoreError> {
        self.history_sampled(metric, from_ms, to_ms, usize::MAX)
    }

    /// Like [`Store::history`] but at most `max_points` points: when the range holds more, points
    /// evenly spread over it by rank, the first and the last always included (for charts).
    pub fn history_sampled(
        &self,
        metric: &str,
        from_ms: i64,
        to_ms: i64,
        max_points: usize,
    ) -> Result<Vec<(i64, f64)>, StoreError> {
        if max_points == 0 || from_ms > to_ms {
            return Ok(Vec::new());
        }
        let err = self.err();
        let count: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM metrics WHERE name = ?1 AND at_ms BETWEEN ?2 AND ?3",
                params![metric, from_ms, to_ms],
                |r| r.get(0),
            )
            .map_err(&err)?;
        let count = usize::try_from(count).unwrap_or(0);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at_ms, value FROM metrics WHERE name = ?1 AND at_ms BETWEEN ?2 AND ?3
                 ORDER BY at_ms",
            )
            .map_err(&err)?;
        let mut rows = stmt.query(params![metric, from_ms, to_ms]).map_err(&err)?;
        let keep = count.min(max_points);
        // Rank of the k-th kept row: every row when all fit; the last one when only one may be
        // kept; else round(k (count-1) / (keep-1)), which starts at the first row and ends at the last.
        let rank_of = |k: usize| -> usize {
            if count <= max_points {
                k
            } else if keep == 1 {
                count - 1
            } else {
                let (k, n, m) = (k as u128, count as u128 - 1, keep as u128 - 1);
                ((k * n + m / 2) / m) as usize
            }
        };
        let mut points = Vec::with_capacity(keep);
        let mut rank = 0usize;
        while let Some(row) = rows.next().map_err(&err)? {
            if points.len() == keep {
                break;
            }
            if rank == rank_of(points.len()) {
                points.push((row.get(0).map_err(&err)?, row.get(1).map_err(&err)?));
            }
            rank += 1;
        }
        Ok(points)
    }

    /// Deletes metric points older than `before_ms` and alerts resolved before it, in one
    /// transaction; returns how many rows went. The event log and the checkpoint are never pruned.
    pub fn prune(&mut self, before_ms: i64) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let err = |e| sql_error(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let metrics = tx
            .execute("DELETE FROM metrics WHERE at_ms < ?1", [before_ms])
            .map_err(err)?;
        let alerts = tx
            .execute(
                "DELETE FROM alerts WHERE state = 'resolved' AND resolved_at_ms < ?1",
                [before_ms],
            )
            .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(metrics + alerts)
    }

    /// Caps the file at `max_pages` pages (`PRAGMA max_page_count`, this connection only; SQLite
    /// never goes below the current page count) and returns the cap in effect. A write that would
    /// grow the file past it fails with [`StoreError::Full`], as on a full disk: tests use it to
    /// simulate one.
    pub fn limit_pages_for_test(&self, max_pages: u64) -> Result<u64, StoreError> {
        let max_pages = i64::try_from(max_pages).unwrap_or(i64::MAX);
        self.conn
            .pragma_update_and_check(None, "max_page_count", max_pages, |r| r.get::<_, i64>(0))
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(self.err())
    }
}

/// The change's number (price USD per token or amount in tokens), if it has one.
///
/// The log keeps this number twice: in the change's JSON text (for people and tools) and as its
/// IEEE-754 bits in `number_bits`. serde_json's default number parser can be one ulp off on 17-digit
/// numbers, so replay takes the bits: a replayed event carries exactly the number that was appended.
/// Every variant is matched by name so that a new one with a number must be handled here.
fn number_of(change: &Change) -> Option<f64> {
    match change {
        Change::Price { price, .. } => Some(*price),
        Change::Position { amount, .. } => Some(*amount),
        Change::Close { .. } => None,
    }
}

/// Decodes a stored change and restores its number from its bits.
fn decode_change(text: &str, bits: Option<i64>) -> Result<Change, String> {
    let mut change: Change =
        serde_json::from_str(text).map_err(|e| format!("change {text:?} does not decode: {e}"))?;
    let slot = match &mut change {
        Change::Price { price, .. } => Some(price),
        Change::Position { amount, .. } => Some(amount),
        Change::Close { .. } => None,
    };
    match (slot, bits) {
        (Some(x), Some(bits)) => *x = f64::from_bits(bits as u64),
        (None, None) => {}
        (Some(_), None) => return Err("the number's bits are missing".into()),
        (None, Some(_)) => return Err("number bits on a change without a number".into()),
    }
    Ok(change)
}

/// Flushes the new file's entry in the folder (and the folder's entry in its parent if the folder is
/// new too), so that a store created just before a power loss is still found after it.
fn sync_dir(dir: &Path, new_dir: bool, path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dirs: &[&Path] = if new_dir { &[parent, dir] } else { &[dir] };
        for d in dirs {
            fs::File::open(d)
                .and_then(|f| f.sync_all())
                .map_err(|e| io_error(path, "cannot flush the data folder", e))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (dir, new_dir, path);
    Ok(())
}
