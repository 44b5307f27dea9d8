//! The write-ahead log: the durable record of recent group-commit batches,
//! so that a batch costs one sequential append and one `fdatasync` instead
//! of a durable redb commit (several random page writes and a sync).
//!
//! A batch's record is *physical*: every table write the batch made
//! (table, key bytes, value bytes or a deletion), as [`super::tables`]
//! recorded them. Replaying it puts the same bytes in the same tables
//! whatever the jobs' logic, limits or the disk say by then, and replaying
//! a record whose writes are already in redb changes nothing (each key ends
//! as its last write left it), so replay is deterministic and idempotent.
//!
//! Order per batch: the record is appended and synced, then the batch is
//! committed to redb with `Durability::None` (visible to readers at once,
//! made durable by the next `Immediate` commit), then acknowledged. A
//! checkpoint is a durable redb commit that stores the last logged batch's
//! sequence number in the `meta` table; after it the log is written again
//! from its start. At open, the records after that sequence number are
//! replayed in one durable commit. A record that is torn, fails its
//! checksum, belongs to another database or does not carry the next
//! sequence number ends replay: it was never acknowledged.
//!
//! Record layout (little-endian): magic `u32`, payload length `u32`,
//! database id `u64`, sequence `u64`, CRC-32 `u32` of the id, sequence and
//! payload, then the payload: per write, table `u8`, kind `u8` (1 put,
//! 2 delete), key length `u32`, key, and for a put value length `u32`,
//! value.

use std::{
    fs::{File, OpenOptions},
    io,
    os::unix::fs::{FileExt, OpenOptionsExt},
    path::Path,
    time::{Duration, Instant},
};

use redb::{Database, Durability, ReadableDatabase};

use super::StoreError;
use super::records::META;
use super::tables::WriteTables;

/// `meta` key: the sequence number of the last batch a durable commit holds.
pub const KEY_CHECKPOINT: &str = "wal_checkpoint_seq";
/// `meta` key: this database's id, carried by each of its log records, so
/// that a log left beside a replaced (repaired, restored) file is ignored.
pub const KEY_DATABASE_ID: &str = "wal_database_id";

const MAGIC: u32 = 0x4c41_5743;
/// magic, length, database id, sequence, checksum.
pub const HEADER: usize = 4 + 4 + 8 + 8 + 4;

pub const PUT: u8 = 1;
pub const DELETE: u8 = 2;

/// The file the log lives in, as the log uses it: the power-cut harness
/// implements this over a disk that forgets unsynced writes.
pub trait LogStorage: Send + Sync {
    /// The file's size in bytes.
    fn size(&self) -> io::Result<u64>;
    fn read_at(&self, offset: u64, out: &mut [u8]) -> io::Result<()>;
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()>;
    /// Makes every write so far durable (`fdatasync`).
    fn sync_data(&self) -> io::Result<()>;
}

/// A log that lives in memory only: for stores on a test backend that
/// model something other than the log.
#[derive(Default)]
pub struct MemoryLog(std::sync::Mutex<Vec<u8>>);

impl LogStorage for MemoryLog {
    fn size(&self) -> io::Result<u64> {
        Ok(self.0.lock().map_err(|_| io::Error::other("poisoned"))?.len() as u64)
    }

    fn read_at(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let bytes = self.0.lock().map_err(|_| io::Error::other("poisoned"))?;
        let start = offset as usize;
        let source = bytes
            .get(start..start + out.len())
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        out.copy_from_slice(source);
        Ok(())
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut bytes = self.0.lock().map_err(|_| io::Error::other("poisoned"))?;
        let (start, end) = (offset as usize, offset as usize + data.len());
        if bytes.len() < end {
            bytes.resize(end, 0);
        }
        bytes[start..end].copy_from_slice(data);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }
}

/// The log in a real file.
pub struct LogFile(File);

impl LogFile {
    /// Opens (or creates, mode 0600) the log beside the database.
    pub fn open(path: &Path) -> io::Result<LogFile> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
        Ok(LogFile(file))
    }
}

impl LogStorage for LogFile {
    fn size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }

    fn read_at(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        self.0.read_exact_at(out, offset)
    }

    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.0.write_all_at(data, offset)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
}

/// Where the log of the database at `path` lives.
pub fn path_beside(database: &Path) -> std::path::PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".wal");
    std::path::PathBuf::from(name)
}

/// How the log is run. Its file never grows past `checkpoint_bytes` plus
/// `record_limit` plus one header (20 MiB by default), the size it is
/// preallocated to.
#[derive(Clone, Debug)]
pub struct WalTuning {
    /// A checkpoint runs once this much is logged since the last one...
    pub checkpoint_bytes: u64,
    /// ...or this long after the first batch logged since the last one.
    pub checkpoint_interval: Duration,
    /// A batch whose writes take more than this is not logged: it commits
    /// durably to redb instead, which checkpoints everything before it.
    pub record_limit: usize,
    /// The log file is written out to this size once (zeros), so that
    /// appends do not grow the file and its sync need not write metadata.
    pub preallocate_bytes: u64,
}

impl Default for WalTuning {
    fn default() -> Self {
        WalTuning {
            checkpoint_bytes: 16 * 1024 * 1024,
            checkpoint_interval: Duration::from_secs(1),
            record_limit: 4 * 1024 * 1024,
            preallocate_bytes: (20 * 1024 * 1024 + HEADER) as u64,
        }
    }
}

/// The writes of one batch, as they were made, ready to be framed.
pub struct Redo {
    /// Starts with room for the header, filled in by [`Wal::append`].
    bytes: Vec<u8>,
    limit: usize,
    writes: usize,
    overflowed: bool,
}

impl Redo {
    /// Records up to `limit` bytes of writes; past that, nothing (the
    /// batch then commits durably instead of being logged).
    pub fn new(limit: usize) -> Redo {
        Redo {
            bytes: if limit > 0 { vec![0; HEADER] } else { Vec::new() },
            limit,
            writes: 0,
            overflowed: limit == 0,
        }
    }

    pub fn record(&mut self, table: u8, key: &[u8], value: Option<&[u8]>) {
        self.writes += 1;
        if self.overflowed {
            return;
        }
        let size = 2 + 4 + key.len() + value.map_or(0, |v| 4 + v.len());
        if self.bytes.len() + size > self.limit {
            self.overflowed = true;
            self.bytes = Vec::new();
            return;
        }
        self.bytes.push(table);
        self.bytes.push(if value.is_some() { PUT } else { DELETE });
        push_bytes(&mut self.bytes, key);
        if let Some(value) = value {
            push_bytes(&mut self.bytes, value);
        }
    }

    /// Whether the batch wrote anything.
    pub fn is_empty(&self) -> bool {
        self.writes == 0
    }

    /// Whether the writes outgrew the limit (and were not kept).
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }
}

fn push_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // Keys and values of a batch under the record limit fit a u32.
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// The log as the writer holds it.
pub struct Wal {
    storage: Box<dyn LogStorage>,
    enabled: bool,
    config: WalTuning,
    database_id: u64,
    /// Where the next record goes.
    offset: u64,
    /// The last batch logged (or checkpointed).
    last_seq: u64,
    /// When the first batch since the last checkpoint was logged.
    dirty_since: Option<Instant>,
    /// Size of the last record appended.
    last_record: u64,
}

impl Wal {
    /// Replays into `db` whatever the log holds after the last checkpoint,
    /// in one durable commit, and returns the log ready for appends (when
    /// `enabled`; else it is only ever replayed, at open).
    pub fn recover(
        db: &Database,
        storage: Box<dyn LogStorage>,
        enabled: bool,
        config: WalTuning,
    ) -> Result<Wal, StoreError> {
        let (database_id, checkpointed) = ensure_identity(db)?;
        let mut wal = Wal {
            storage,
            enabled,
            config,
            database_id,
            offset: 0,
            last_seq: checkpointed,
            dirty_since: None,
            last_record: 0,
        };
        wal.replay(db)?;
        if let Err(err) = wal.preallocate() {
            // Only a cost: appends then grow the file, and a full disk
            // fails them (and their batch) as it would fail a commit.
            tracing::warn!(error = %err, "could not preallocate the write-ahead log");
        }
        Ok(wal)
    }

    /// Applies the records after the last checkpoint and checkpoints them.
    pub fn replay(&mut self, db: &Database) -> Result<(), StoreError> {
        let (_, checkpointed) = ensure_identity(db)?;
        let records = self.read_records(checkpointed).map_err(io_error)?;
        self.offset = 0;
        self.dirty_since = None;
        self.last_seq = checkpointed;
        let Some(&(last, _)) = records.last() else {
            return Ok(());
        };
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)
            .map_err(|err| StoreError::Storage(redb::Error::from(err)))?;
        {
            let mut tables = WriteTables::open(&txn)?;
            for (_, payload) in &records {
                apply_record(&mut tables, payload)?;
            }
        }
        txn.open_table(META)?.insert(KEY_CHECKPOINT, last)?;
        txn.commit()?;
        tracing::info!(batches = records.len(), "replayed the write-ahead log");
        self.last_seq = last;
        Ok(())
    }

    /// Every valid record after `checkpointed`, in order.
    fn read_records(&self, checkpointed: u64) -> io::Result<Vec<(u64, Vec<u8>)>> {
        let len = self.storage.size()?;
        let mut records = Vec::new();
        let mut offset = 0u64;
        let mut expected = checkpointed + 1;
        while offset + HEADER as u64 <= len {
            let mut header = [0u8; HEADER];
            self.storage.read_at(offset, &mut header)?;
            let field = |at: usize, n: usize| &header[at..at + n];
            let magic = u32::from_le_bytes(field(0, 4).try_into().unwrap_or_default());
            let payload_len = u32::from_le_bytes(field(4, 4).try_into().unwrap_or_default()) as u64;
            let id = u64::from_le_bytes(field(8, 8).try_into().unwrap_or_default());
            let seq = u64::from_le_bytes(field(16, 8).try_into().unwrap_or_default());
            let crc = u32::from_le_bytes(field(24, 4).try_into().unwrap_or_default());
            let end = offset + HEADER as u64 + payload_len;
            if magic != MAGIC || id != self.database_id || seq != expected || end > len {
                break;
            }
            let mut payload = vec![0u8; payload_len as usize];
            self.storage.read_at(offset + HEADER as u64, &mut payload)?;
            if checksum(id, seq, &payload) != crc {
                break;
            }
            records.push((seq, payload));
            offset = end;
            expected += 1;
        }
        Ok(records)
    }

    /// Writes zeros out to the preallocated size, once.
    fn preallocate(&self) -> io::Result<()> {
        let len = self.storage.size()?;
        if !self.enabled || len >= self.config.preallocate_bytes {
            return Ok(());
        }
        let zeros = vec![0u8; 1024 * 1024];
        let mut at = len;
        while at < self.config.preallocate_bytes {
            let n = (self.config.preallocate_bytes - at).min(zeros.len() as u64) as usize;
            self.storage.write_at(at, &zeros[..n])?;
            at += n as u64;
        }
        self.storage.sync_data()
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn record_limit(&self) -> usize {
        if self.enabled { self.config.record_limit } else { 0 }
    }

    /// The sequence number a checkpoint now would store.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Appends a batch's record and makes it durable. On failure nothing
    /// counts as logged (the next record is written over it).
    pub fn append(&mut self, mut redo: Redo) -> io::Result<()> {
        let seq = self.last_seq + 1;
        let payload_len = redo.bytes.len() - HEADER;
        let crc = checksum(self.database_id, seq, &redo.bytes[HEADER..]);
        let header = &mut redo.bytes[..HEADER];
        header[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        header[4..8].copy_from_slice(&(payload_len as u32).to_le_bytes());
        header[8..16].copy_from_slice(&self.database_id.to_le_bytes());
        header[16..24].copy_from_slice(&seq.to_le_bytes());
        header[24..28].copy_from_slice(&crc.to_le_bytes());
        self.storage.write_at(self.offset, &redo.bytes)?;
        self.storage.sync_data()?;
        self.offset += redo.bytes.len() as u64;
        self.last_record = redo.bytes.len() as u64;
        self.last_seq = seq;
        self.dirty_since.get_or_insert_with(Instant::now);
        Ok(())
    }

    /// Takes back the last record, whose batch redb then failed to commit:
    /// it was never acknowledged and must not be replayed.
    pub fn revoke_last(&mut self) {
        let at = self.offset.saturating_sub(self.last_record);
        let result = self
            .storage
            .write_at(at, &[0u8; HEADER])
            .and_then(|()| self.storage.sync_data());
        if let Err(err) = result {
            tracing::error!(error = %err, "could not take back a log record whose batch failed");
        }
        self.offset = at;
        self.last_seq -= 1;
    }

    /// Whether a checkpoint is due now, or how long until it is.
    pub fn checkpoint_due(&self) -> Option<Duration> {
        let since = self.dirty_since?;
        if self.offset >= self.config.checkpoint_bytes {
            return Some(Duration::ZERO);
        }
        Some(self.config.checkpoint_interval.saturating_sub(since.elapsed()))
    }

    /// Makes every batch so far durable in redb and starts the log over.
    pub fn checkpoint(&mut self, db: &Database) -> Result<(), StoreError> {
        if self.dirty_since.is_none() {
            return Ok(());
        }
        let mut txn = db.begin_write()?;
        txn.set_durability(Durability::Immediate)
            .map_err(|err| StoreError::Storage(redb::Error::from(err)))?;
        txn.open_table(META)?.insert(KEY_CHECKPOINT, self.last_seq)?;
        txn.commit()?;
        self.checkpointed();
        Ok(())
    }

    /// A durable commit holding `last_seq` happened: start the log over.
    pub fn checkpointed(&mut self) {
        self.offset = 0;
        self.dirty_since = None;
    }
}

/// The database's id (made now if it has none) and its checkpoint.
fn ensure_identity(db: &Database) -> Result<(u64, u64), StoreError> {
    let read = db.begin_read()?;
    let meta = read.open_table(META)?;
    let checkpointed = meta.get(KEY_CHECKPOINT)?.map_or(0, |v| v.value());
    if let Some(id) = meta.get(KEY_DATABASE_ID)? {
        return Ok((id.value(), checkpointed));
    }
    drop(meta);
    drop(read);
    let id = fresh_id();
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)
        .map_err(|err| StoreError::Storage(redb::Error::from(err)))?;
    txn.open_table(META)?.insert(KEY_DATABASE_ID, id)?;
    txn.commit()?;
    Ok((id, checkpointed))
}

/// A number no other database is likely to have drawn.
fn fresh_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    hasher.finish().max(1)
}

fn checksum(id: u64, seq: u64, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&id.to_le_bytes());
    hasher.update(&seq.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

/// Puts one record's writes back, in order.
fn apply_record(tables: &mut WriteTables<'_>, mut payload: &[u8]) -> Result<(), StoreError> {
    let damaged = || StoreError::Corrupt {
        what: "the write-ahead log".into(),
        detail: "a record that passed its checksum does not parse".into(),
    };
    while let [table, kind, rest @ ..] = payload {
        let (table, kind) = (*table, *kind);
        payload = rest;
        let key = take_bytes(&mut payload).ok_or_else(damaged)?;
        let value = match kind {
            PUT => Some(take_bytes(&mut payload).ok_or_else(damaged)?),
            DELETE => None,
            _ => return Err(damaged()),
        };
        if !tables.replay(table, key, value)? {
            return Err(damaged());
        }
    }
    Ok(())
}

/// A length-prefixed field off the front of `payload`.
fn take_bytes<'a>(payload: &mut &'a [u8]) -> Option<&'a [u8]> {
    let rest: &'a [u8] = payload;
    let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let bytes = rest.get(4..4usize.checked_add(len)?)?;
    *payload = &rest[4 + len..];
    Some(bytes)
}

fn io_error(err: io::Error) -> StoreError {
    StoreError::Storage(redb::Error::Io(err))
}
