//! Offline care of a data directory: `chronicled --check` reports whether
//! the database opens and verifies, and `chronicled --repair` recovers what
//! can be read from a damaged one. Both take the data-directory lock, so
//! they never run beside a daemon, and neither ever overwrites the damaged
//! file: it is kept, renamed, beside the recovered one.

use std::{
    fs,
    path::{Path, PathBuf},
};

use crate::server::{self, DATABASE_FILE, ServerError};
use crate::store::{self, Store, StoreConfig, StoreError, repair};

/// Opens the database (verifying every page) and describes it.
pub fn check(data_dir: &Path) -> Result<String, ServerError> {
    let _lock = server::lock_data_dir(data_dir)?;
    let path = data_dir.join(DATABASE_FILE);
    if !path.exists() {
        return Ok(format!(
            "{} does not exist yet: it is created when the daemon first starts",
            path.display()
        ));
    }
    let store = Store::open(&path, StoreConfig::default()).map_err(|err| explain(&path, err))?;
    let totals = store.totals()?;
    store.close();
    Ok(format!(
        "{} is healthy: schema {}, {} projects, {} saved sessions, {} trash entries",
        path.display(),
        store::SCHEMA_VERSION,
        totals.projects,
        totals.saved_sessions,
        totals.trash_entries
    ))
}

/// A damaged database error, with the way out spelled out.
fn explain(path: &Path, err: StoreError) -> ServerError {
    ServerError::Damaged {
        path: path.to_path_buf(),
        detail: err.to_string(),
    }
}

/// Keeps a copy of a damaged database, recovers every readable record into
/// a fresh one, and puts the fresh one in its place.
pub fn repair(data_dir: &Path) -> Result<String, ServerError> {
    let _lock = server::lock_data_dir(data_dir)?;
    let path = data_dir.join(DATABASE_FILE);
    if !path.exists() {
        return Ok(format!("{} does not exist: nothing to repair", path.display()));
    }
    if let Ok(store) = Store::open(&path, StoreConfig::default()) {
        store.close();
        return Ok(format!("{} opens and verifies: nothing to repair", path.display()));
    }
    let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string();
    let kept = data_dir.join(format!("{DATABASE_FILE}.damaged-{stamp}"));
    let scratch = data_dir.join(format!("{DATABASE_FILE}.recovering"));
    let fresh = data_dir.join(format!("{DATABASE_FILE}.recovered"));
    copy(&path, &kept)?;
    copy(&path, &scratch)?;
    // redb may panic on a file altered behind its back; a panic here must
    // become a report, not a crash with the files half-handled.
    let (scratch_in, fresh_in) = (scratch.clone(), fresh.clone());
    let recovered = repair::contain_panic(move || repair::recover(&scratch_in, &fresh_in)).unwrap_or_else(|| {
        Err(StoreError::InvalidArgument(
            "redb gave up on the file (it panicked while reading it)".into(),
        ))
    });
    let _ = fs::remove_file(&scratch);
    let recovery = match recovered {
        Ok(recovery) => recovery,
        Err(err) => {
            let _ = fs::remove_file(&fresh);
            return Err(ServerError::Unrecoverable {
                path,
                kept,
                detail: err.to_string(),
            });
        }
    };
    // The recovered file must itself open (and migrate) before it replaces
    // anything.
    Store::open(&fresh, StoreConfig::default())
        .map_err(|err| explain(&fresh, err))?
        .close();
    // That open made an (empty) log beside it; the database's own log
    // stays: the recovered file keeps its id and checkpoint, so batches
    // acknowledged after the last checkpoint are replayed into it.
    let _ = fs::remove_file(store::wal_path(&fresh));
    fs::rename(&fresh, &path).map_err(|source| ServerError::Io {
        path: path.clone(),
        source,
    })?;
    let skipped = if recovery.skipped_tables.is_empty() {
        "every table read to the end".to_owned()
    } else {
        format!("unreadable parts of: {}", recovery.skipped_tables.join(", "))
    };
    Ok(format!(
        "Recovered {} records into {} ({skipped}).\nThe damaged file is kept, unchanged, at {}.",
        recovery.copied,
        path.display(),
        kept.display()
    ))
}

fn copy(from: &Path, to: &PathBuf) -> Result<(), ServerError> {
    fs::copy(from, to).map(|_| ()).map_err(|source| ServerError::Io {
        path: to.clone(),
        source,
    })
}
