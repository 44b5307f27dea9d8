//! Recovering what can be read from a damaged database. The damaged file
//! is never changed: `recover` reads a copy of it and writes every record
//! that still decodes into a fresh database, counting what it had to leave
//! behind.

use std::{fs, path::Path};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::StoreError;
use super::records::{
    FILES, MESSAGES, META, PROJECTS, SAVED, SESSIONS, SOURCE_CURSORS, SOURCE_FOLLOWS, SOURCE_IDS, SOURCES, TRASH,
};

/// What a recovery copied and what it could not read.
#[derive(Clone, Debug, Default)]
pub struct Recovery {
    pub copied: u64,
    pub skipped_tables: Vec<String>,
}

/// Copies every readable row of `damaged` (opened read-write: redb may
/// repair its own structures in that copy) into a new database at `fresh`.
pub fn recover(damaged: &Path, fresh: &Path) -> Result<Recovery, StoreError> {
    let source = Database::create(damaged).map_err(|source| StoreError::Open {
        path: damaged.to_path_buf(),
        cause: source,
    })?;
    if fresh.exists() {
        fs::remove_file(fresh).map_err(|err| StoreError::Storage(redb::Error::Io(err)))?;
    }
    let target = Database::create(fresh).map_err(|source| StoreError::Open {
        path: fresh.to_path_buf(),
        cause: source,
    })?;
    let mut recovery = Recovery::default();
    copy_table(&source, &target, META, "meta", &mut recovery)?;
    copy_table(&source, &target, PROJECTS, "projects", &mut recovery)?;
    copy_table(&source, &target, SESSIONS, "sessions", &mut recovery)?;
    copy_table(&source, &target, FILES, "files", &mut recovery)?;
    copy_table(&source, &target, MESSAGES, "messages", &mut recovery)?;
    copy_table(&source, &target, SAVED, "saved", &mut recovery)?;
    copy_table(&source, &target, TRASH, "trash", &mut recovery)?;
    copy_table(&source, &target, SOURCES, "sources", &mut recovery)?;
    copy_table(&source, &target, SOURCE_FOLLOWS, "source_follows", &mut recovery)?;
    copy_table(&source, &target, SOURCE_CURSORS, "source_cursors", &mut recovery)?;
    copy_table(&source, &target, SOURCE_IDS, "source_ids", &mut recovery)?;
    Ok(recovery)
}

/// Copies the rows of one table until the first unreadable one; a table
/// that fails part-way is named in `skipped_tables` and keeps what came
/// before the damage.
fn copy_table<K, V>(
    source: &Database,
    target: &Database,
    table: TableDefinition<'_, K, V>,
    name: &str,
    recovery: &mut Recovery,
) -> Result<(), StoreError>
where
    K: redb::Key + 'static,
    V: redb::Value + 'static,
    for<'a> K::SelfType<'a>: ToOwned,
    for<'a> V::SelfType<'a>: ToOwned,
{
    let read = source.begin_read()?;
    let rows = match read.open_table(table) {
        Ok(rows) => rows,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(_) => {
            recovery.skipped_tables.push(name.to_owned());
            return Ok(());
        }
    };
    let write = target.begin_write()?;
    {
        let mut out = write.open_table(table)?;
        let iter = match rows.iter() {
            Ok(iter) => iter,
            Err(_) => {
                recovery.skipped_tables.push(name.to_owned());
                return Ok(());
            }
        };
        for row in iter {
            match row {
                Ok((key, value)) => {
                    out.insert(key.value(), value.value())?;
                    recovery.copied += 1;
                }
                Err(_) => {
                    recovery.skipped_tables.push(name.to_owned());
                    break;
                }
            }
        }
    }
    write.commit()?;
    Ok(())
}

/// Runs `f`, turning a panic into `None` without printing it. redb may
/// panic on a file altered behind its back ("a plain open may panic"); a
/// damaged file must end in a report, never in a crash.
pub fn contain_panic<T>(f: impl FnOnce() -> T) -> Option<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok();
    std::panic::set_hook(hook);
    result
}
