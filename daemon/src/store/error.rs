//! The store's one error type. Each variant is a decision the store made
//! (refused, not found, conflict, limit) or a storage failure; the service
//! maps variants to gRPC codes one to one.

use std::path::PathBuf;

/// Why a store operation did not happen. In every case nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The request breaks a rule (bad name, relative path, oversize content).
    #[error("{0}")]
    InvalidArgument(String),
    /// The named session, message or trash entry does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A saved session of that name exists and the caller asked for a new one.
    #[error("{0}")]
    AlreadyExists(String),
    /// `expected_revision` did not match: the working session moved on.
    #[error("{0}")]
    Conflict(String),
    /// A configured limit (the number of context files) would be exceeded.
    /// Oversize content is `InvalidArgument`, as the API contract says.
    #[error("{0}")]
    LimitExceeded(String),
    /// The database refused or failed: disk full, I/O error, corruption.
    #[error("storage failure: {0} — nothing was changed; check free disk space and the daemon log")]
    Storage(#[from] redb::Error),
    /// A stored record could not be decoded.
    #[error("stored record {what} is damaged: {detail} — stop the daemon and run `chronicled --repair`")]
    Corrupt { what: String, detail: String },
    /// A staged import could not be applied; nothing of it was imported.
    #[error("the import could not be applied: {0} — nothing of it was imported; export a fresh bundle and retry")]
    ImportFailed(String),
    /// The disk holding the database is full. Reads still work.
    #[error("the disk holding the database is full — free some space; nothing was changed and reads still work")]
    DiskFull,
    /// An earlier job of the same chain (a `Mutate` stream's requests sent
    /// together) was refused, so this one was not applied.
    #[error("not applied: an earlier request sent with it was refused — send it again once that one is fixed")]
    ChainBroken,
    /// The writer has stopped: the daemon is shutting down.
    #[error("the daemon is shutting down — retry against the next instance")]
    ShuttingDown,
    /// The database was written by a newer Chronicle.
    #[error(
        "{path} has schema version {found}, but this chronicled understands only up to {supported} — upgrade Chronicle (never downgrade over newer data)"
    )]
    SchemaTooNew { path: PathBuf, found: u64, supported: u64 },
    /// The database file could not be opened. (The cause is not a
    /// `#[source]`: its text is already part of this message.)
    #[error("cannot open the database {path}: {}", open_detail(cause))]
    Open { path: PathBuf, cause: redb::DatabaseError },
}

impl StoreError {
    /// True for failures of the storage itself, which fail a whole batch.
    /// A damaged record is not one: it fails only the job that met it.
    pub fn is_storage(&self) -> bool {
        matches!(self, StoreError::Storage(_) | StoreError::DiskFull)
    }

    /// Names the project a damaged record was met in, so the user knows
    /// which project to repair; other errors are returned as they are.
    pub fn in_project(self, project: &str) -> StoreError {
        match self {
            StoreError::Corrupt { what, detail } => StoreError::Corrupt {
                what: format!("{what} (project {project})"),
                detail,
            },
            other => other,
        }
    }

    /// True when the storage failed for lack of space (ENOSPC, EDQUOT).
    pub fn is_disk_full(&self) -> bool {
        if let StoreError::Storage(redb::Error::Io(io)) = self
            && matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            )
        {
            return true;
        }
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(err) = cause {
            if let Some(io) = err.downcast_ref::<std::io::Error>()
                && matches!(
                    io.kind(),
                    std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
                )
            {
                return true;
            }
            cause = err.source();
        }
        matches!(self, StoreError::DiskFull)
    }
}

macro_rules! storage_from {
    ($($ty:ty),*) => {$(
        impl From<$ty> for StoreError {
            fn from(err: $ty) -> Self {
                StoreError::Storage(redb::Error::from(err))
            }
        }
    )*};
}

storage_from!(
    redb::StorageError,
    redb::TableError,
    redb::TransactionError,
    redb::CommitError
);

/// The useful part of redb's open error, without repeating its prefix.
fn open_detail(err: &redb::DatabaseError) -> String {
    match err {
        redb::DatabaseError::Storage(redb::StorageError::Corrupted(detail)) => format!("it is damaged ({detail})"),
        redb::DatabaseError::DatabaseAlreadyOpen => "another process has it open".into(),
        other => other.to_string(),
    }
}
