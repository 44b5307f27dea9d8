//! Upgrades databases written by an older schema, inside one write
//! transaction, after a backup copy of the file has been written: a
//! migration that goes wrong can always be undone by hand.

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
};

use redb::{Database, ReadableDatabase, TableError};

use super::StoreError;
use super::records::{self, KEY_SCHEMA, META, ProjectRecord, SCHEMA_VERSION};
use super::tables::WriteTables;

/// The schema version recorded in the database, `None` for a new one.
pub fn stored_version(db: &Database) -> Result<Option<u64>, StoreError> {
    let txn = db.begin_read()?;
    let meta = match txn.open_table(META) {
        Ok(meta) => meta,
        Err(TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(err) => return Err(err.into()),
    };
    Ok(meta.get(KEY_SCHEMA)?.map(|v| v.value()))
}

/// The schema version of the database file at `path`, read without
/// writing to it; `None` when it cannot be told that way (a new file, or
/// one that redb must repair first).
pub fn peek_version(path: &Path) -> Option<u64> {
    super::repair::contain_panic(|| {
        let db = redb::ReadOnlyDatabase::open(path).ok()?;
        let txn = db.begin_read().ok()?;
        let meta = txn.open_table(META).ok()?;
        meta.get(KEY_SCHEMA).ok().flatten().map(|v| v.value())
    })
    .flatten()
}

/// Copies the database file aside before a migration, mode 0600, and
/// returns where the copy is.
pub fn backup(path: &Path, from: u64) -> Result<PathBuf, StoreError> {
    let name = |suffix: String| PathBuf::from(format!("{}.{suffix}", path.display()));
    let mut target = name(format!("schema-{from}.backup"));
    if target.exists() {
        target = name(format!("schema-{from}.{}.backup", super::now_ms()));
    }
    let io = |err: std::io::Error| {
        StoreError::Storage(redb::Error::Io(std::io::Error::new(
            err.kind(),
            format!(
                "could not write the backup {} before migrating: {err}",
                target.display()
            ),
        )))
    };
    fs::copy(path, &target).map_err(io)?;
    fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).map_err(io)?;
    Ok(target)
}

/// Brings a database of schema `from` up to [`SCHEMA_VERSION`].
pub fn run(db: &Database, from: u64) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    {
        let mut tables = WriteTables::open(&txn)?;
        if from < 2 {
            revision_into_working_header(&mut tables)?;
        }
        if from < 3 {
            index_source_ids(&mut tables)?;
        }
        tables.meta.insert(KEY_SCHEMA, SCHEMA_VERSION)?;
    }
    txn.commit()?;
    Ok(())
}

/// Schema 1 → 2: the revision (and update time) moves from the project
/// record into the working session's header.
fn revision_into_working_header(t: &mut WriteTables<'_>) -> Result<(), StoreError> {
    let mut projects: Vec<(String, ProjectRecord)> = Vec::new();
    for row in t.projects.iter()? {
        let (key, value) = row?;
        let name = key.value().to_owned();
        let record = records::decode(value.value(), || format!("project {name}"))?;
        projects.push((name, record));
    }
    for (name, mut record) in projects {
        let mut working = t.session(record.working_session)?;
        working.revision = record.legacy_revision;
        working.updated_at_ms = working.updated_at_ms.max(record.legacy_updated_at_ms);
        t.put_session(record.working_session, &working)?;
        record.legacy_revision = 0;
        record.legacy_updated_at_ms = 0;
        t.put_project(&name, &record)?;
    }
    Ok(())
}

/// Schema 2 → 3: every message of an imported session is indexed by its
/// source id, so an import finds it without reading the whole session.
fn index_source_ids(t: &mut WriteTables<'_>) -> Result<(), StoreError> {
    let mut imported: Vec<u64> = Vec::new();
    for row in t.sources.iter()? {
        imported.push(row?.1.value());
    }
    imported.sort_unstable();
    imported.dedup();
    for session in imported {
        let mut ids: Vec<(String, u64)> = Vec::new();
        for row in t.messages.range((session, 0)..=(session, u64::MAX))? {
            let (key, value) = row?;
            let n = key.value().1;
            let message: chronicle_proto::v1::Message =
                records::decode(value.value(), || format!("message {n} of session {session}"))?;
            if let Some(source) = message.metadata.get(chronicle_interop::sources::meta::ID) {
                ids.push((source.clone(), n));
            }
        }
        for (source, n) in ids {
            t.source_ids.insert((session, source.as_str()), n)?;
        }
    }
    Ok(())
}
