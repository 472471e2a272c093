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

pub use self::csv::{write_positions_csv, write_table_csv};
pub use self::parquet::{
    positions_schema, positions_schema_for, write_positions_parquet, write_table_parquet, Column,
};
pub use self::toml::{snapshot_to_toml, write_snapshot_toml};

/// Rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 1 << 20;
/// Buffer size of the writers.
const BUFFER_BYTES: usize = 1 << 20;

/// A write that failed, naming the file as the caller gave it (never a temporary file). Each
/// renders as one line with its reason; none chains a `source`, so that printing the error with its
/// causes does not repeat the reason.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The folder the file would go in does not exist.
    #[error("{}: cannot write: the folder {} does not exist", path.display(), folder.display())]
    NoFolder { path: PathBuf, folder: PathBuf },
    /// The path names a folder (or its folder is not one).
    #[error("{}: cannot write: {what}", path.display())]
    NotAFile { path: PathBuf, what: &'static str },
    #[error("{}: cannot write: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: cannot write Parquet: {error}", path.display())]
    Parquet { path: PathBuf, error: ParquetError },
    #[error("{}: cannot build the Arrow columns: {error}", path.display())]
    Arrow { path: PathBuf, error: ArrowError },
    #[error("{}: cannot write CSV: {error}", path.display())]
    Csv { path: PathBuf, error: ::csv::Error },
}

impl WriteError {
    /// The file the write was for.
    pub fn path(&self) -> &Path {
        match self {
            WriteError::NoFolder { path, .. }
            | WriteError::NotAFile { path, .. }
            | WriteError::Io { path, .. }
            | WriteError::Parquet { path, .. }
            | WriteError::Arrow { path, .. }
            | WriteError::Csv { path, .. } => path,
        }
    }
}

pub(crate) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> WriteError + '_ {
    move |error| WriteError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// The folder a file at `path` goes in (`.` for a bare name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Checks, before any work is done, that a file can be written at `path`: its folder exists and is
/// a folder, `path` is not a folder, and a file can be created there (one is created and removed).
/// The error names `path` as given.
pub fn check_output_path(path: &Path) -> Result<(), WriteError> {
    let folder = folder_of(path);
    match std::fs::metadata(folder) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(WriteError::NotAFile {
                path: path.to_path_buf(),
                what: "its folder is a file",
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(WriteError::NoFolder {
                path: path.to_path_buf(),
                folder: folder.to_path_buf(),
            })
        }
        Err(e) => return Err(io_err(path)(e)),
    }
    if path.is_dir() || path.as_os_str().is_empty() {
        return Err(WriteError::NotAFile {
            path: path.to_path_buf(),
            what: "it is a folder; expected a file name",
        });
    }
    let probe = Temp::create(path)?;
    drop(probe);
    Ok(())
}

/// A temporary file beside the target, removed when dropped unless renamed into place. Created as
/// any new file is (mode 0666 less the umask on Unix), so the file it becomes has the mode the user's
/// umask gives.
struct Temp {
    path: PathBuf,
    file: File,
    persisted: bool,
}

impl Temp {
    fn create(target: &Path) -> Result<Temp, WriteError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let folder = folder_of(target);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let tmp = folder.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
            {
                Ok(file) => {
                    return Ok(Temp {
                        path: tmp,
                        file,
                        persisted: false,
                    })
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !folder.is_dir() => {
                    return Err(WriteError::NoFolder {
                        path: target.to_path_buf(),
                        folder: folder.to_path_buf(),
                    })
                }
                Err(e) => return Err(io_err(target)(e)),
            }
        }
    }

    /// Syncs the file and renames it to `target`.
    fn persist(mut self, target: &Path) -> Result<(), WriteError> {
        self.file.sync_all().map_err(io_err(target))?;
        if target.is_dir() {
            return Err(WriteError::NotAFile {
                path: target.to_path_buf(),
                what: "it is a folder; expected a file name",
            });
        }
        std::fs::rename(&self.path, target).map_err(io_err(target))?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The writer handed to [`write_atomic_with`]'s closure: a buffered temporary file.
pub type AtomicWriter<'f> = BufWriter<&'f File>;

/// Runs `fill` on a temporary file in `path`'s folder, then syncs it and renames it to `path`. If
/// `fill` or any step fails, the temporary file is removed and `path` is left as it was. The file
/// gets the mode a new file gets (on Unix, 0666 less the umask).
pub fn write_atomic_with<F>(path: &Path, fill: F) -> Result<(), WriteError>
where
    F: FnOnce(&mut AtomicWriter<'_>) -> Result<(), WriteError>,
{
    let tmp = Temp::create(path)?;
    {
        let mut w = BufWriter::with_capacity(BUFFER_BYTES, &tmp.file);
        fill(&mut w)?;
        w.flush().map_err(io_err(path))?;
    }
    tmp.persist(path)
}

/// Writes `bytes` to `path` atomically (see [`write_atomic_with`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_with(path, |w| w.write_all(bytes).map_err(io_err(path)))
}
