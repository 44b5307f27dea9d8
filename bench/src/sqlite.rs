//! SQLite as Chronicle's peer, each setup at its best: one writer with
//! `journal_mode=WAL` and `synchronous=FULL`; 16 writers on their own
//! connections taking the write lock up front (`BEGIN IMMEDIATE`) with a
//! busy handler that yields and retries instead of sleeping; and 16 clients
//! whose inserts one writer thread batches into one transaction per commit —
//! group commit, as Chronicle's writer does. Connections are opened before
//! the timed window.

use std::{
    path::Path,
    sync::{Arc, Barrier, mpsc},
    time::{Duration, Instant},
};

use crate::{Samples, markdown_message};

pub fn open(path: &Path) -> anyhow::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // busy_timeout's handler sleeps 1–100 ms between tries: a writer that
    // finds the lock taken would wait far longer than the commit holding it.
    conn.busy_handler(Some(retry_at_once))?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS messages (session INTEGER, id INTEGER, role TEXT, content TEXT, PRIMARY KEY (session, id))",
    )?;
    Ok(conn)
}

/// Gives the lock holder the CPU, then tries again; never gives up.
fn retry_at_once(_tries: i32) -> bool {
    std::thread::yield_now();
    true
}

pub fn prepare(path: &Path, length: u64) -> anyhow::Result<()> {
    let mut conn = open(path)?;
    let txn = conn.transaction()?;
    {
        let mut insert = txn.prepare("INSERT INTO messages VALUES (1, ?1, 'assistant', ?2)")?;
        for n in 0..length {
            insert.execute(rusqlite::params![n as i64 + 1, markdown_message(n)])?;
        }
    }
    txn.commit()?;
    Ok(())
}

const APPEND: &str =
    "INSERT INTO messages VALUES (1, (SELECT COALESCE(MAX(id), 0) + 1 FROM messages WHERE session = 1), 'user', ?1)";

/// One durable append in its own (autocommit) transaction.
pub fn append(conn: &rusqlite::Connection, content: &str) -> anyhow::Result<()> {
    conn.prepare_cached(APPEND)?.execute([content])?;
    Ok(())
}

/// `writers` threads, each on its own connection, each appending `each`
/// messages in `BEGIN IMMEDIATE` transactions. Returns the latencies and
/// the wall time from the moment all connections were open.
pub fn immediate_writers(path: &Path, writers: usize, each: usize) -> anyhow::Result<(Samples, Duration)> {
    let content = Arc::new(markdown_message(7));
    let ready = Arc::new(Barrier::new(writers + 1));
    let handles: Vec<_> = (0..writers)
        .map(|_| {
            let path = path.to_path_buf();
            let content = content.clone();
            let ready = ready.clone();
            std::thread::spawn(move || -> anyhow::Result<Samples> {
                let opened = open(&path);
                ready.wait();
                let mut conn = opened?;
                let mut samples = Samples::default();
                for _ in 0..each {
                    samples.time(|| -> anyhow::Result<()> {
                        let txn = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                        append(&txn, &content)?;
                        txn.commit()?;
                        Ok(())
                    })?;
                }
                Ok(samples)
            })
        })
        .collect();
    ready.wait();
    let start = Instant::now();
    let mut all = Samples::default();
    for handle in handles {
        let samples = handle
            .join()
            .map_err(|_| anyhow::anyhow!("a sqlite writer panicked"))??;
        all.0.extend(samples.0);
    }
    Ok((all, start.elapsed()))
}

type Ack = mpsc::SyncSender<Result<(), String>>;

/// `clients` threads each submitting `each` appends through a channel to one
/// writer thread, which puts everything waiting into one transaction and
/// acknowledges each append after its commit. Returns the latencies (submit
/// → acknowledgement), the wall time, and the number of commits.
pub fn group_commit(path: &Path, clients: usize, each: usize) -> anyhow::Result<(Samples, Duration, usize)> {
    let mut conn = open(path)?;
    let (submit, queue) = mpsc::channel::<(Arc<String>, Ack)>();
    let writer = std::thread::spawn(move || -> usize {
        let mut commits = 0;
        while let Ok(first) = queue.recv() {
            let mut batch = vec![first];
            batch.extend(queue.try_iter());
            let outcome = (|| -> rusqlite::Result<()> {
                let txn = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                {
                    let mut insert = txn.prepare_cached(APPEND)?;
                    for (content, _) in &batch {
                        insert.execute([content.as_str()])?;
                    }
                }
                txn.commit()
            })()
            .map_err(|e| e.to_string());
            commits += 1;
            for (_, ack) in batch {
                let _ = ack.send(outcome.clone());
            }
        }
        commits
    });
    let content = Arc::new(markdown_message(7));
    let ready = Arc::new(Barrier::new(clients + 1));
    let handles: Vec<_> = (0..clients)
        .map(|_| {
            let submit = submit.clone();
            let content = content.clone();
            let ready = ready.clone();
            std::thread::spawn(move || -> anyhow::Result<Samples> {
                let (ack, acked) = mpsc::sync_channel(1);
                ready.wait();
                let mut samples = Samples::default();
                for _ in 0..each {
                    samples.time(|| -> anyhow::Result<()> {
                        submit
                            .send((content.clone(), ack.clone()))
                            .map_err(|_| anyhow::anyhow!("the sqlite writer thread stopped"))?;
                        acked
                            .recv()?
                            .map_err(|e| anyhow::anyhow!("sqlite group commit failed: {e}"))
                    })?;
                }
                Ok(samples)
            })
        })
        .collect();
    drop(submit);
    ready.wait();
    let start = Instant::now();
    let mut all = Samples::default();
    for handle in handles {
        let samples = handle
            .join()
            .map_err(|_| anyhow::anyhow!("a sqlite client panicked"))??;
        all.0.extend(samples.0);
    }
    let wall = start.elapsed();
    let commits = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the sqlite writer thread panicked"))?;
    Ok((all, wall, commits))
}
