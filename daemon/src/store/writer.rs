//! The single writer: a thread that drains the job queue into write
//! transactions. Jobs that arrive while a commit is in flight are applied
//! together in the next transaction, so many concurrent clients share one
//! fsync, while a lone client pays for exactly one.
//!
//! With the write-ahead log on, that one sync is the log's: each batch's
//! writes are appended to the log and synced, then committed to redb
//! without a sync (readers see them at once), then acknowledged; a
//! checkpoint now and then makes redb durable and starts the log over (see
//! `wal`).

use std::{io, sync::Arc, thread::JoinHandle, time::Duration};

use chronicle_proto::v1::Event;
use redb::Durability;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::database::DatabaseSlot;
use super::ops::{self, FileProbes, Job, Outcome};
use super::tables::WriteTables;
use super::wal::{KEY_CHECKPOINT, Wal};
use super::{StoreConfig, StoreError, now_ms};

/// A job and where to send its result.
pub struct Request {
    pub job: Job,
    /// What the caller found on disk for the job's context files.
    pub probes: FileProbes,
    pub reply: oneshot::Sender<Result<Outcome, StoreError>>,
}

pub fn spawn(
    db: Arc<DatabaseSlot>,
    mut queue: mpsc::Receiver<Request>,
    events: broadcast::Sender<Arc<Event>>,
    config: StoreConfig,
    mut wal: Wal,
) -> io::Result<JoinHandle<()>> {
    // Only to wait for the queue with a deadline (the next checkpoint).
    let clock = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    std::thread::Builder::new()
        .name("chronicle-writer".into())
        .spawn(move || {
            let max_batch = config.max_batch.max(1);
            let mut batch = Vec::with_capacity(max_batch);
            let mut broken = false;
            loop {
                // A broken database cannot checkpoint: the reopen before
                // the next batch replays the log instead.
                let due = if broken { None } else { wal.checkpoint_due() };
                let next = match due {
                    None => queue.blocking_recv(),
                    Some(wait) if wait > Duration::ZERO => {
                        match clock.block_on(async { tokio::time::timeout(wait, queue.recv()).await }) {
                            Ok(next) => next,
                            Err(_) => {
                                checkpoint(&db, &mut wal, &mut broken);
                                continue;
                            }
                        }
                    }
                    Some(_) => {
                        checkpoint(&db, &mut wal, &mut broken);
                        continue;
                    }
                };
                let Some(first) = next else { break };
                batch.push(first);
                while batch.len() < max_batch {
                    match queue.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                // redb refuses every write after an I/O error until the file
                // is opened again. The broken handle still serves reads, so
                // it is kept while the disk is full; writes fail fast then.
                if broken {
                    if !db.has_room() {
                        refuse(&mut batch, || StoreError::DiskFull);
                        continue;
                    }
                    if let Err(err) = db.reopen().and_then(|()| wal.replay(&*db.get()?)) {
                        tracing::error!(error = %err, "could not reopen the database; will retry with the next write");
                    }
                }
                // The log's preallocated room would take batches that no
                // checkpoint could then fold into redb: on a full disk the
                // log refuses them as a redb commit would.
                if wal.enabled() && !db.has_room() {
                    refuse(&mut batch, || StoreError::DiskFull);
                    continue;
                }
                broken = !run_batch(&db, &mut wal, &mut batch, &events, &config);
            }
            // Shutting down: leave redb durable and the log empty.
            if !broken {
                checkpoint(&db, &mut wal, &mut broken);
            }
        })
}

/// Runs a due checkpoint. A failure leaves the log as it is (it still
/// holds every batch since the last checkpoint) and the database to be
/// reopened, which replays it.
fn checkpoint(db: &DatabaseSlot, wal: &mut Wal, broken: &mut bool) {
    if *broken {
        return;
    }
    if let Err(err) = db.get().and_then(|db| wal.checkpoint(&db)) {
        tracing::error!(error = %err, "checkpoint failed; the log keeps every batch since the last one");
        *broken = true;
    }
}

/// How one attempt at committing a batch ended.
enum Attempt {
    /// Committed: each job's result, and the events to publish.
    Committed(Vec<Result<Outcome, StoreError>>, Vec<Event>),
    /// The job at this index failed after it may have written into the
    /// transaction, which is dropped: the job gets its error alone.
    JobFailed(usize, StoreError),
    /// The storage failed: every job of the batch fails.
    Storage(StoreError),
}

/// Applies a batch in one transaction. Refused jobs get their own error and
/// leave the transaction untouched (see `ops`). A job that fails after it
/// may have written (a damaged record met halfway, an import that could
/// not be applied) fails alone: the transaction is dropped and the rest of
/// the batch runs again in a new one. A storage failure fails every job in
/// the batch, and nothing of it is committed or published.
/// Returns false after a storage failure.
fn run_batch(
    db: &DatabaseSlot,
    wal: &mut Wal,
    batch: &mut Vec<Request>,
    events: &broadcast::Sender<Arc<Event>>,
    config: &StoreConfig,
) -> bool {
    loop {
        match attempt(db, wal, batch, config) {
            Attempt::Committed(results, produced) => {
                // Publish before acknowledging: once a caller hears back, its
                // event is out, so a Watch begun after an ack never sees it as
                // news (and never misses it either).
                for event in produced {
                    // No subscriber is not an error.
                    let _ = events.send(Arc::new(event));
                }
                for (request, result) in batch.drain(..).zip(results) {
                    // A caller that gave up no longer listens; the change stands.
                    let _ = request.reply.send(result);
                }
                return true;
            }
            Attempt::JobFailed(index, err) => {
                tracing::debug!(
                    jobs = batch.len() - 1,
                    "one job failed alone; running the rest of its batch again"
                );
                let request = batch.remove(index);
                let _ = request.reply.send(Err(err));
                if batch.is_empty() {
                    return true;
                }
            }
            Attempt::Storage(err) => {
                tracing::error!(jobs = batch.len(), error = %err, "write transaction failed; every job in it was refused");
                if err.is_disk_full() {
                    refuse(batch, || StoreError::DiskFull);
                } else {
                    let message = err.to_string();
                    refuse(batch, || {
                        StoreError::Storage(redb::Error::Io(io::Error::other(message.clone())))
                    });
                }
                return false;
            }
        }
    }
}

/// One write transaction over the whole batch, made durable by the log
/// or, with the log off or for a batch too large to log, by redb itself.
fn attempt(db: &DatabaseSlot, wal: &mut Wal, batch: &[Request], config: &StoreConfig) -> Attempt {
    let now = now_ms();
    let mut run = || -> Result<Attempt, StoreError> {
        let db = db.get()?;
        let mut txn = db.begin_write()?;
        let mut produced = Vec::new();
        let mut results = Vec::with_capacity(batch.len());
        let mut tables = WriteTables::recording(&txn, wal.record_limit())?;
        for (index, request) in batch.iter().enumerate() {
            match ops::apply(
                &mut tables,
                &request.job,
                &request.probes,
                now,
                &config.limits,
                &mut produced,
            ) {
                Err(err) if err.is_storage() => return Err(err),
                // Dropping the transaction undoes whatever it wrote.
                Err(err) if spoils_transaction(&request.job, &err) => return Ok(Attempt::JobFailed(index, err)),
                other => results.push(other),
            }
        }
        let redo = tables.into_redo();
        if !wal.enabled() || redo.overflowed() {
            // A durable commit, which also makes every batch logged before
            // it durable: record that, as a checkpoint does.
            txn.set_durability(Durability::Immediate)
                .map_err(|err| StoreError::Storage(redb::Error::from(err)))?;
            if wal.enabled() {
                txn.open_table(super::records::META)?
                    .insert(KEY_CHECKPOINT, wal.last_seq())?;
            }
            txn.commit()?;
            wal.checkpointed();
            return Ok(Attempt::Committed(results, produced));
        }
        txn.set_durability(Durability::None)
            .map_err(|err| StoreError::Storage(redb::Error::from(err)))?;
        if redo.is_empty() {
            // Nothing written (every job refused, or changed nothing).
            txn.abort()?;
            return Ok(Attempt::Committed(results, produced));
        }
        wal.append(redo)
            .map_err(|err| StoreError::Storage(redb::Error::Io(err)))?;
        if let Err(err) = txn.commit() {
            wal.revoke_last();
            return Err(err.into());
        }
        Ok(Attempt::Committed(results, produced))
    };
    run().unwrap_or_else(Attempt::Storage)
}

/// Whether a job's failure may have left writes in the transaction. Other
/// refusals are checked before a job's first write (see `ops`); an import
/// writes as it reads its spool, and a damaged record can be met anywhere.
fn spoils_transaction(job: &Job, err: &StoreError) -> bool {
    matches!(err, StoreError::Corrupt { .. }) || matches!(job, Job::Import(_))
}

/// Answers every job of a batch with the same error.
fn refuse(batch: &mut Vec<Request>, error: impl Fn() -> StoreError) {
    for request in batch.drain(..) {
        let _ = request.reply.send(Err(error()));
    }
}
