//! Writing snapshots (TOML) and position files (CSV, Parquet) that [`crate::load_snapshot`] reads
//! back exactly.
//!
//! Every writer goes through [`write_atomic_with`]: the bytes go to a temporary file in the target's
//! folder, which is synced and renamed into place, so a failure never leaves a half-written file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use ::parquet::errors::ParquetError;
use arrow_schema::ArrowError;

mod csv;
mod parquet;
mod rows;
mod toml;

pub use self::csv::write_positions_csv;
pub use self::parquet::{
    positions_schema, positions_schema_for, write_positions_parquet, write_table_parquet, Column,
};
pub use self::toml::{snapshot_to_toml, write_snapshot_toml};

/// Rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 1 << 20;
/// Buffer size of the writers.
const BUFFER_BYTES: usize = 1 << 20;

/// A write that failed, naming the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    #[error("{}: cannot write: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: cannot write Parquet: {source}", path.display())]
    Parquet {
        path: PathBuf,
        #[source]
        source: ParquetError,
    },
    #[error("{}: cannot build the Arrow columns: {source}", path.display())]
    Arrow {
        path: PathBuf,
        #[source]
        source: ArrowError,
    },
    #[error("{}: cannot write CSV: {source}", path.display())]
    Csv {
        path: PathBuf,
        #[source]
        source: ::csv::Error,
    },
}

pub(crate) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The writer handed to [`write_atomic_with`]'s closure: a buffered temporary file.
pub type AtomicWriter<'f> = BufWriter<&'f File>;

/// Runs `fill` on a temporary file in `path`'s folder, then syncs it and renames it to `path`. If
/// `fill` or any step fails, the temporary file is removed and `path` is left as it was.
pub fn write_atomic_with<F>(path: &Path, fill: F) -> Result<(), WriteError>
where
    F: FnOnce(&mut AtomicWriter<'_>) -> Result<(), WriteError>,
{
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // The file gets the mode any new file gets (0666 less the umask), not the temporary file's 0600:
    // the mode passed to open(2) is masked by the umask.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let tmp = builder.tempfile_in(dir).map_err(io_err(path))?;
    {
        let mut w = BufWriter::with_capacity(BUFFER_BYTES, tmp.as_file());
        fill(&mut w)?;
        w.flush().map_err(io_err(path))?;
    }
    tmp.as_file().sync_all().map_err(io_err(path))?;
    tmp.persist(path).map_err(|e| io_err(path)(e.error))?;
    Ok(())
}

/// Writes `bytes` to `path` atomically (see [`write_atomic_with`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_with(path, |w| w.write_all(bytes).map_err(io_err(path)))
}
