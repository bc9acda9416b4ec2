//! `shebao backup DEST` (issue 16): a consistent copy of the embedded database, taken while a
//! server keeps serving from it.
//!
//! The database is opened read-only beside the running server and copied with `VACUUM INTO`,
//! which reads one snapshot (a WAL read transaction: the server's writer never waits for it)
//! and writes a compact, self-contained file: every commit acknowledged before the copy began
//! is in it, none after, and no half of a transaction. The copy is made owner-only (it holds
//! what the database holds), is never written over an existing file, and is checked with
//! `PRAGMA integrity_check` before it is called a backup.

use rusqlite::{Connection, OpenFlags};
use shebao_service::store::StoreError;
use std::path::Path;

/// What a backup made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupMade {
    pub bytes: u64,
    pub pages: u64,
}

/// How long the copy waits for a lock the server holds (a checkpoint's, for a moment).
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Copies the SQLite database at `database` to `dest`, a file that must not exist yet; on any
/// failure the partial copy is removed.
pub fn backup_sqlite(database: &Path, dest: &Path) -> Result<BackupMade, StoreError> {
    if !database.is_file() {
        return Err(StoreError::Database(format!(
            "no database at {}",
            database.display()
        )));
    }
    // Created here, empty and owner-only, so the copy is never readable by others, not even
    // for a moment; `create_new` refuses a file that is there (VACUUM INTO fills an empty one).
    create_private(dest).map_err(|e| {
        StoreError::Database(format!("creating the backup file {}: {e}", dest.display()))
    })?;
    let made = copy_into(database, dest);
    if made.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    made
}

fn copy_into(database: &Path, dest: &Path) -> Result<BackupMade, StoreError> {
    let source = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db_err)?;
    source.busy_timeout(BUSY_WAIT).map_err(db_err)?;
    let dest_text = dest
        .to_str()
        .ok_or_else(|| StoreError::Database("the backup path is not UTF-8".into()))?;
    source
        .execute("VACUUM INTO ?1", [dest_text])
        .map_err(db_err)?;
    drop(source);
    let copy = Connection::open_with_flags(
        dest,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db_err)?;
    let verdict: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(db_err)?;
    if verdict != "ok" {
        return Err(StoreError::Corrupt(format!(
            "the copy fails its integrity check: {verdict}"
        )));
    }
    let pages: i64 = copy
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .map_err(db_err)?;
    drop(copy);
    let bytes = std::fs::metadata(dest)
        .map_err(|e| StoreError::Database(format!("reading the backup file: {e}")))?
        .len();
    Ok(BackupMade {
        bytes,
        pages: u64::try_from(pages).unwrap_or(0),
    })
}

fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

fn db_err(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}
