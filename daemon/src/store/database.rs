//! The open redb database, held so that it can be replaced. After an I/O
//! error (a full disk, say) redb refuses every later write until the file
//! is closed and opened again. The broken handle still serves reads, so it
//! is kept until there is room on the disk again; only then does the writer
//! reopen the file, and a daemon that ran out of space serves writes again
//! as soon as space returns, without a restart.

use std::{
    sync::{Arc, RwLock},
    thread,
    time::{Duration, Instant},
};

use redb::{Database, DatabaseError};

use super::StoreError;

/// Opens the database file again, from scratch.
pub type Opener = Box<dyn Fn() -> Result<Database, DatabaseError> + Send + Sync>;

/// Tells whether the disk has room for the database to be reopened.
pub type RoomCheck = Box<dyn Fn() -> bool + Send + Sync>;

/// How long a reopen waits for readers of the old handle to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

pub struct DatabaseSlot {
    current: RwLock<Option<Arc<Database>>>,
    opener: Opener,
    room: RoomCheck,
}

impl DatabaseSlot {
    pub fn new(db: Database, opener: Opener, room: RoomCheck) -> Self {
        DatabaseSlot {
            current: RwLock::new(Some(Arc::new(db))),
            opener,
            room,
        }
    }

    /// Whether there is room to reopen (and write) again.
    pub fn has_room(&self) -> bool {
        (self.room)()
    }

    /// The database to use for one transaction.
    pub fn get(&self) -> Result<Arc<Database>, StoreError> {
        self.current
            .read()
            .ok()
            .and_then(|slot| slot.clone())
            .ok_or_else(reopening)
    }

    /// Closes the current handle and opens the file again. The slot's lock
    /// is held only to take the old handle out and to put the new one in:
    /// meanwhile readers are told at once that the database is being
    /// reopened (a storage error), never made to wait — they run on the
    /// async workers. A failure leaves the slot empty and the next call
    /// tries again.
    pub fn reopen(&self) -> Result<(), StoreError> {
        let old = self.current.write().map_err(|_| reopening())?.take();
        if let Some(old) = old {
            // The file lock is held until every handle is gone: let
            // in-flight reads finish.
            let deadline = Instant::now() + DRAIN_TIMEOUT;
            while Arc::strong_count(&old) > 1 && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(5));
            }
            drop(old);
        }
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        loop {
            match (self.opener)() {
                Ok(db) => {
                    *self.current.write().map_err(|_| reopening())? = Some(Arc::new(db));
                    tracing::info!("reopened the database after a storage failure");
                    return Ok(());
                }
                // Transactions begun on the old handle still hold it.
                Err(DatabaseError::DatabaseAlreadyOpen) if Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(10));
                }
                Err(err) => return Err(StoreError::Storage(err.into())),
            }
        }
    }
}

fn reopening() -> StoreError {
    StoreError::Storage(redb::Error::Io(std::io::Error::other(
        "the database is being reopened after a storage failure",
    )))
}
