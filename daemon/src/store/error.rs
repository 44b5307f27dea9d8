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
    #[error("stored record {what} is damaged: {detail} — run `chronicled --check` and keep a copy of the database")]
    Corrupt { what: String, detail: String },
    /// The writer has stopped: the daemon is shutting down.
    #[error("the daemon is shutting down — retry against the next instance")]
    ShuttingDown,
    /// The database was written by a newer Chronicle.
    #[error(
        "{path} has schema version {found}, but this chronicled understands only up to {supported} — upgrade Chronicle (never downgrade over newer data)"
    )]
    SchemaTooNew { path: PathBuf, found: u64, supported: u64 },
    /// The database file could not be opened.
    #[error(
        "cannot open the database {path}: {source} — if the file is damaged, keep a copy before doing anything else"
    )]
    Open {
        path: PathBuf,
        #[source]
        source: redb::DatabaseError,
    },
}

impl StoreError {
    /// True for failures of the storage itself, which fail a whole batch.
    pub fn is_storage(&self) -> bool {
        matches!(self, StoreError::Storage(_) | StoreError::Corrupt { .. })
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
