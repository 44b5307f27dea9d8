//! The committer: one write transaction at a time, made durable before
//! anyone hears of it. A lone caller commits its own small job on its own
//! thread (it leads), so it pays for no hand-off to another thread and
//! back. Jobs that arrive while a commit is in flight go to a queue, which
//! the writer thread drains into the next transaction together: many
//! concurrent clients share one fsync. While batches hold several jobs,
//! nobody leads: a leader would spend a sync on itself alone and block an
//! async worker for it, while the others queue behind it.
//!
//! With the write-ahead log on, that one sync is the log's: each batch's
//! writes are appended to the log and synced, then committed to redb
//! without a sync (readers see them at once), then acknowledged; a
//! checkpoint now and then makes redb durable and starts the log over (see
//! `wal`). Checkpoints and the reopening of a broken database are left to
//! the writer thread.

use std::{
    io,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError, TryLockError,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};

use chronicle_proto::v1::Event;
use redb::Durability;
use tokio::{
    runtime::{Handle, RuntimeFlavor},
    sync::{broadcast, mpsc, oneshot},
};

use super::database::DatabaseSlot;
use super::ops::{self, FileProbes, Job, Outcome};
use super::tables::WriteTables;
use super::wal::{KEY_CHECKPOINT, Wal};
use super::{StoreConfig, StoreError, now_ms};

/// Where a job's result goes.
pub type Reply = oneshot::Sender<Result<Outcome, StoreError>>;

/// A job and where to send its result.
pub struct Request {
    pub job: Job,
    /// What the caller found on disk for the job's context files.
    pub probes: FileProbes,
    pub reply: Reply,
    /// The chain the job belongs to, if any: once one job of a chain is
    /// refused, the chain's later jobs are not applied.
    pub chain: Option<u64>,
}

/// What the writer thread's queue carries. Moved once into the queue, as
/// the job inside it is.
#[allow(clippy::large_enum_variant)]
pub enum Message {
    Job(Request),
    /// Jobs of one chain, in order, to be committed in one batch.
    Chain(Vec<Request>),
    /// A leader's commit changed when the next checkpoint is due.
    Reconsider,
}

/// Whatever commits: the writer thread and, one at a time, leaders.
pub struct Committer {
    db: Arc<DatabaseSlot>,
    events: broadcast::Sender<Arc<Event>>,
    config: StoreConfig,
    state: Mutex<State>,
    /// Jobs sent to the writer thread and not yet taken into a batch. A
    /// caller leads only when this is zero, so it never overtakes a job
    /// that was waiting before it.
    waiting: AtomicUsize,
    /// Jobs in the last batch committed. More than one means callers are
    /// arriving together: one of them leading alone would spend a sync on
    /// itself while the others queue for the next, so they all go to the
    /// writer thread until a batch of one says the crowd has gone.
    last_batch: AtomicUsize,
    /// A commit or a checkpoint holds the state. The writer thread also
    /// takes the state's lock for a moment to see when the next checkpoint
    /// is due; a caller finding it held for that waits, rather than queue.
    committing: AtomicBool,
    /// The next chain id.
    chains: AtomicU64,
}

struct State {
    wal: Wal,
    /// A storage failure left the database to be reopened.
    broken: bool,
    /// The writer thread has made its last checkpoint.
    closed: bool,
}

impl Committer {
    pub fn new(
        db: Arc<DatabaseSlot>,
        events: broadcast::Sender<Arc<Event>>,
        config: StoreConfig,
        wal: Wal,
    ) -> Arc<Committer> {
        Arc::new(Committer {
            db,
            events,
            config,
            state: Mutex::new(State {
                wal,
                broken: false,
                closed: false,
            }),
            waiting: AtomicUsize::new(0),
            last_batch: AtomicUsize::new(0),
            committing: AtomicBool::new(false),
            chains: AtomicU64::new(0),
        })
    }

    /// Commits `request` on the calling thread when no other commit runs,
    /// no job waits for the writer thread and the last batch was a lone
    /// job; otherwise gives it back (`Some`), to be queued.
    ///
    /// The commit blocks the caller's async worker for one sync. That is
    /// done only for a small job, on a runtime with another worker to run
    /// everything else meanwhile, and by one leader at a time: the
    /// alternative, `block_in_place`, hands the worker to a fresh thread on
    /// every call and measured more context switches than the hand-off to
    /// the writer thread it would save.
    pub fn lead(&self, request: Request, queue: &mpsc::Sender<Message>) -> Option<Request> {
        if !request.job.is_small()
            || !spare_worker()
            || self.waiting.load(Ordering::Acquire) > 0
            || self.last_batch.load(Ordering::Acquire) > 1
        {
            return Some(request);
        }
        let mut state = match self.state.try_lock() {
            Ok(state) => state,
            Err(TryLockError::WouldBlock) if !self.committing.load(Ordering::Acquire) => self.lock(),
            Err(TryLockError::WouldBlock) => return Some(request),
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        };
        if state.broken || state.closed {
            return Some(request);
        }
        let was_due = state.wal.checkpoint_due();
        let answers = self.commit(&mut state, &mut vec![request]);
        let due = state.wal.checkpoint_due();
        drop(state);
        answers.deliver();
        // The writer thread sleeps until its last deadline, or for good
        // when the log was clean: tell it the log has become dirty or full.
        if (was_due.is_none() && due.is_some()) || due == Some(Duration::ZERO) {
            // A full queue means the writer thread is about to look anyway.
            let _ = queue.try_send(Message::Reconsider);
        }
        None
    }

    /// Counts jobs about to be sent to the writer thread.
    pub fn queueing(&self, jobs: usize) {
        self.waiting.fetch_add(jobs, Ordering::AcqRel);
    }

    /// Counts back jobs that could not be sent.
    pub fn not_queued(&self, jobs: usize) {
        self.waiting.fetch_sub(jobs, Ordering::AcqRel);
    }

    /// A chain id no other chain has.
    pub fn new_chain(&self) -> u64 {
        self.chains.fetch_add(1, Ordering::Relaxed)
    }

    /// Jobs sent to the writer thread and not yet committing.
    #[cfg(test)]
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in a commit is a bug, and the transaction it held was
        // dropped: what the state holds is still whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// When the next checkpoint is due (`None`: the log is clean, or a
    /// broken database cannot checkpoint — the reopen before the next batch
    /// replays the log instead).
    fn checkpoint_due(&self) -> Option<Duration> {
        let state = self.lock();
        if state.broken { None } else { state.wal.checkpoint_due() }
    }

    /// Runs a due checkpoint. A failure leaves the log as it is (it still
    /// holds every batch since the last checkpoint) and the database to be
    /// reopened, which replays it.
    fn checkpoint(&self, state: &mut State) {
        if state.broken {
            return;
        }
        let _busy = Busy::new(&self.committing);
        if let Err(err) = self.db.get().and_then(|db| state.wal.checkpoint(&db)) {
            tracing::error!(error = %err, "checkpoint failed; the log keeps every batch since the last one");
            state.broken = true;
        }
    }

    /// Commits a batch. Refusals are answered at once; the committed jobs'
    /// answers are returned, to be delivered once the state is released:
    /// a caller that hears back and sends again at once must find no
    /// commit running, or it would queue instead of leading.
    fn commit(&self, state: &mut State, batch: &mut Vec<Request>) -> Answers {
        let _busy = Busy::new(&self.committing);
        let mut answers = Answers(Vec::with_capacity(batch.len()));
        // redb refuses every write after an I/O error until the file is
        // opened again. The broken handle still serves reads, so it is kept
        // while the disk is full; writes fail fast then.
        if state.broken {
            if !self.db.has_room() {
                refuse(batch, || StoreError::DiskFull);
                return answers;
            }
            if let Err(err) = self.db.reopen().and_then(|()| state.wal.replay(&*self.db.get()?)) {
                tracing::error!(error = %err, "could not reopen the database; will retry with the next write");
            }
        }
        // The log's preallocated room would take batches that no
        // checkpoint could then fold into redb: on a full disk the log
        // refuses them as a redb commit would.
        if state.wal.enabled() && !self.db.has_room() {
            refuse(batch, || StoreError::DiskFull);
            return answers;
        }
        self.last_batch.store(batch.len(), Ordering::Release);
        state.broken = !run_batch(
            &self.db,
            &mut state.wal,
            batch,
            &self.events,
            &self.config,
            &mut answers,
        );
        answers
    }
}

/// Committed jobs' results, not yet sent to their callers.
#[must_use = "the callers wait for these answers"]
struct Answers(Vec<(Reply, Result<Outcome, StoreError>)>);

impl Answers {
    fn deliver(self) {
        for (reply, result) in self.0 {
            // A caller that gave up no longer listens; the change stands.
            let _ = reply.send(result);
        }
    }
}

/// Marks a commit or checkpoint as running, for as long as it lives.
struct Busy<'a>(&'a AtomicBool);

impl<'a> Busy<'a> {
    fn new(flag: &'a AtomicBool) -> Self {
        flag.store(true, Ordering::Release);
        Busy(flag)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Whether the caller runs on a multi-threaded runtime with at least two
/// workers, so that blocking this one leaves another free.
fn spare_worker() -> bool {
    Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread && h.metrics().num_workers() >= 2)
}

/// Starts the writer thread, which commits what leaders could not.
pub fn spawn(committer: Arc<Committer>, mut queue: mpsc::Receiver<Message>) -> io::Result<JoinHandle<()>> {
    // Only to wait for the queue with a deadline (the next checkpoint).
    let clock = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
    std::thread::Builder::new()
        .name("chronicle-writer".into())
        .spawn(move || {
            let max_batch = committer.config.max_batch.max(1);
            let mut batch = Vec::with_capacity(max_batch);
            loop {
                let next = match committer.checkpoint_due() {
                    None => queue.blocking_recv(),
                    Some(wait) if wait > Duration::ZERO => {
                        match clock.block_on(async { tokio::time::timeout(wait, queue.recv()).await }) {
                            Ok(next) => next,
                            Err(_) => {
                                committer.checkpoint(&mut committer.lock());
                                continue;
                            }
                        }
                    }
                    Some(_) => {
                        committer.checkpoint(&mut committer.lock());
                        continue;
                    }
                };
                match next {
                    Some(Message::Job(first)) => batch.push(first),
                    Some(Message::Chain(first)) => batch.extend(first),
                    Some(Message::Reconsider) => continue,
                    None => break,
                }
                let mut state = committer.lock();
                // A chain is never split: it may take the batch past
                // `max_batch`.
                while batch.len() < max_batch {
                    match queue.try_recv() {
                        Ok(Message::Job(next)) => batch.push(next),
                        Ok(Message::Chain(next)) => batch.extend(next),
                        Ok(Message::Reconsider) => {}
                        Err(_) => break,
                    }
                }
                committer.waiting.fetch_sub(batch.len(), Ordering::AcqRel);
                let answers = committer.commit(&mut state, &mut batch);
                drop(state);
                answers.deliver();
            }
            // Shutting down: leave redb durable and the log empty.
            let mut state = committer.lock();
            committer.checkpoint(&mut state);
            state.closed = true;
        })
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
/// The committed jobs' results go to `answers`. Returns false after a
/// storage failure.
fn run_batch(
    db: &DatabaseSlot,
    wal: &mut Wal,
    batch: &mut Vec<Request>,
    events: &broadcast::Sender<Arc<Event>>,
    config: &StoreConfig,
    answers: &mut Answers,
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
                answers.0.extend(
                    batch
                        .drain(..)
                        .zip(results)
                        .map(|(request, result)| (request.reply, result)),
                );
                return true;
            }
            Attempt::JobFailed(index, err) => {
                tracing::debug!(
                    jobs = batch.len() - 1,
                    "one job failed alone; running the rest of its batch again"
                );
                let request = batch.remove(index);
                let _ = request.reply.send(Err(err));
                // Its chain's later jobs go with it, unapplied.
                if let Some(chain) = request.chain {
                    let mut at = index;
                    while at < batch.len() {
                        if batch[at].chain == Some(chain) {
                            let _ = batch.remove(at).reply.send(Err(chain_broken()));
                        } else {
                            at += 1;
                        }
                    }
                }
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
        // Chains with a refused job in this attempt.
        let mut broken: Vec<u64> = Vec::new();
        for (index, request) in batch.iter().enumerate() {
            if request.chain.is_some_and(|chain| broken.contains(&chain)) {
                results.push(Err(chain_broken()));
                continue;
            }
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
                Err(err) => {
                    broken.extend(request.chain);
                    results.push(Err(err));
                }
                ok => results.push(ok),
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

/// What a chained job gets when an earlier job of its chain was refused.
fn chain_broken() -> StoreError {
    StoreError::ChainBroken
}

/// Answers every job of a batch with the same error.
fn refuse(batch: &mut Vec<Request>, error: impl Fn() -> StoreError) {
    for request in batch.drain(..) {
        let _ = request.reply.send(Err(error()));
    }
}
