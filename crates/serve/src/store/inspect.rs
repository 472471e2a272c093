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

/// What a read-only look at an existing file found.
pub(super) enum Inspection {
    /// An SQLite database with no tables and no application id (an empty file included): becomes a
    /// store.
    Empty,
    /// A cascade store of this schema version.
    Current,
}

/// Looks at an existing file through a read-only connection, writing nothing to it.
///
/// A read-only connection to a WAL-mode file still creates the `-wal` and `-shm` files beside it
/// (and leaves them). So when there is no `-wal` file (the file was closed cleanly, or is not in WAL
/// mode) the file is opened as `immutable`: no locks, no side files, every page read from the file
/// itself, which then holds the whole database. A `-wal` file present means an unclean shutdown
/// (or another process with the file open): the normal read-only open reads the WAL too.
pub(super) fn inspect(path: &Path) -> Result<Inspection, StoreError> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
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
    let problems = quick_check(&conn).map_err(classify)?;
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
    Ok(Inspection::Current)
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

/// The lines of `PRAGMA quick_check` other than `ok` (at most 10).
fn quick_check(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("PRAGMA quick_check(10)")?;
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
