//! The read-only look at an existing file before the store opens it for writing: an empty
//! database becomes a store, a cascade store of this schema is opened, anything else (another
//! application's database, a damaged or truncated file, a newer schema, not SQLite at all) is
//! refused with the file left exactly as it was.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::{
    sql_error, StoreError, APPLICATION_ID, BUSY_TIMEOUT_MS, SCHEMA_VERSION, SQLITE_HEADER,
    TABLES_V1,
};

/// Files up to this size are checked whole (`PRAGMA quick_check`) before they are opened, bytes.
/// A larger store — a log of tens of millions of events — is checked whole after the service has
/// started ([`check_whole`]), so that a restart does not wait for a read of every page: at open,
/// only its header, its size against the page count it records, and every table but the event log.
pub(crate) const CHECK_AT_OPEN_MAX_BYTES: u64 = 256 << 20;

/// What a read-only look at an existing file found.
pub(super) enum Inspection {
    /// An SQLite database with no tables and no application id (an empty file included): becomes a
    /// store.
    Empty,
    /// A cascade store of this schema version; `deferred` when the file was too large to be checked
    /// whole at open (its event log is checked after start).
    Current { deferred: bool },
}

/// Looks at an existing file through a read-only connection, writing nothing to it.
///
/// A read-only connection to a WAL-mode file still creates the `-wal` and `-shm` files beside it
/// (and leaves them). So when there is no `-wal` file (the file was closed cleanly, or is not in WAL
/// mode) the file is opened as `immutable`: no locks, no side files, every page read from the file
/// itself, which then holds the whole database. A `-wal` file present means an unclean shutdown
/// (or another process with the file open): the normal read-only open reads the WAL too.
pub(super) fn inspect(path: &Path, check_whole_up_to: u64) -> Result<Inspection, StoreError> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    // First the file's length against the page count its header records: a truncated file.
    let size = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let truncated = pages_beyond_end(path, size, Path::new(&wal).exists());
    if !truncated.is_empty() {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: truncated.join("; "),
        });
    }
    let conn = match immutable_uri(path) {
        Some(uri) if !Path::new(&wal).exists() => Connection::open_with_flags(
            uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ),
        _ => Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ),
    }
    .map_err(|e| sql_error(path, e))?;
    let classify = |e: rusqlite::Error| -> StoreError {
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) if !has_sqlite_header(path) => StoreError::Foreign {
                path: path.to_path_buf(),
                detail: "the file is not an SQLite database".into(),
            },
            Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
                StoreError::Corrupt {
                    path: path.to_path_buf(),
                    detail: e.to_string(),
                }
            }
            _ => sql_error(path, e),
        }
    };
    let _ = conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS));
    let app_id: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(classify)?;
    let version: i32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(classify)?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .and_then(|mut s| {
            s.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(classify)?;
    if app_id != APPLICATION_ID && app_id != 0 {
        return Err(StoreError::Foreign {
            path: path.to_path_buf(),
            detail: format!(
                "its application id is {app_id:#010x}, a cascade store's is {APPLICATION_ID:#010x}"
            ),
        });
    }
    if app_id == 0 && !tables.is_empty() {
        return Err(StoreError::Foreign {
            path: path.to_path_buf(),
            detail: format!(
                "an SQLite database of another program (tables {}, no application id)",
                tables.join(", ")
            ),
        });
    }
    let deferred = app_id != 0 && size > check_whole_up_to;
    let problems = if deferred {
        // Every table but the log, each with its indexes.
        let mut problems = Vec::new();
        for table in tables.iter().filter(|t| t.as_str() != "events") {
            problems.extend(quick_check(&conn, Some(table)).map_err(classify)?);
        }
        problems
    } else {
        quick_check(&conn, None).map_err(classify)?
    };
    if !problems.is_empty() {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("PRAGMA quick_check: {}", problems.join("; ")),
        });
    }
    if app_id == 0 {
        return Ok(Inspection::Empty);
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: version,
            expected: SCHEMA_VERSION,
        });
    }
    if version < 1 {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: format!(
                "a cascade store with schema version {version}, expected 1..={SCHEMA_VERSION}"
            ),
        });
    }
    let missing: Vec<&str> = TABLES_V1
        .iter()
        .copied()
        .filter(|t| !tables.iter().any(|have| have == t))
        .collect();
    if !missing.is_empty() {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("tables missing: {}", missing.join(", ")),
        });
    }
    Ok(Inspection::Current { deferred })
}

/// Checks the whole file (`PRAGMA quick_check`) through a read-only connection of its own, beside
/// a writer that may be appending (WAL): what [`super::Store::open`] left for after start on a large
/// store. `Ok` or [`StoreError::Corrupt`] with SQLite's first findings.
pub(crate) fn check_whole(path: &Path) -> Result<(), StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| sql_error(path, e))?;
    let _ = conn.busy_timeout(Duration::from_millis(BUSY_TIMEOUT_MS));
    let problems = quick_check(&conn, None).map_err(|e| sql_error(path, e))?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            detail: format!("PRAGMA quick_check: {}", problems.join("; ")),
        })
    }
}

/// A finding when the file is shorter than the pages its header counts (a truncated file); none
/// when a WAL file is beside it (the log may hold pages the main file has not received yet) or
/// when the header's count is not valid (written by a program that does not keep it: then the
/// "version-valid-for" number, bytes 92–95, differs from the change counter, bytes 24–27).
fn pages_beyond_end(path: &Path, size: u64, wal: bool) -> Vec<String> {
    let mut head = [0u8; 100];
    let read = fs::File::open(path).and_then(|mut f| f.read_exact(&mut head));
    if wal || read.is_err() || &head[..16] != SQLITE_HEADER {
        return Vec::new();
    }
    let be = |at: usize| u32::from_be_bytes([head[at], head[at + 1], head[at + 2], head[at + 3]]);
    // The page size: bytes 16–17, where 1 means 65,536.
    let page_size = match u16::from_be_bytes([head[16], head[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    let pages = u64::from(be(28));
    if be(24) != be(92) || pages.saturating_mul(page_size) <= size {
        return Vec::new();
    }
    vec![format!(
        "the file holds {size} bytes, its header counts {pages} pages of {page_size} bytes (truncated)"
    )]
}

/// `file:PATH?mode=ro&immutable=1` with the path percent-encoded (RFC 3986 unreserved bytes and `/`
/// kept); `None` where paths are not `/`-separated bytes.
fn immutable_uri(path: &Path) -> Option<String> {
    if !cfg!(unix) {
        return None;
    }
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?mode=ro&immutable=1");
    Some(uri)
}

/// The lines of `PRAGMA quick_check` other than `ok` (at most 10), of the whole file or of one
/// table and its indexes.
fn quick_check(conn: &Connection, table: Option<&str>) -> rusqlite::Result<Vec<String>> {
    let sql = match table {
        // Table names come from the file's own schema; quoted as an identifier.
        Some(t) => format!("PRAGMA quick_check(\"{}\")", t.replace('"', "\"\"")),
        None => "PRAGMA quick_check(10)".to_string(),
    };
    let mut stmt = conn.prepare(&sql)?;
    let lines = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(lines.into_iter().filter(|l| l != "ok").collect())
}

/// Whether the file starts with SQLite's 16-byte header (an unreadable file counts as not).
fn has_sqlite_header(path: &Path) -> bool {
    let mut head = [0u8; 16];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map(|()| &head == SQLITE_HEADER)
        .unwrap_or(false)
}
