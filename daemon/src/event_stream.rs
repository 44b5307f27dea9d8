//! The pump behind one `Watch` stream: a SNAPSHOT per watched project,
//! then every newer committed event of those projects, in order. Events
//! wait here, not in the store's shared broadcast buffer, for a client
//! that reads slowly; past a bound in events or bytes they are dropped and
//! the client is told to RESYNC, so memory stays bounded whatever the size
//! of the messages. The `Watch` handler in `service` subscribes, reads the
//! revisions and hands both here.

use std::{
    collections::{HashMap, VecDeque},
    sync::Arc,
};

use chronicle_proto::v1::{Event, EventKind};
use prost::Message as _;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tonic::Status;

use crate::store;

/// Events handed to the gRPC encoder of a `Watch` stream ahead of the
/// client; the backlog of a slow client waits in [`pump`], counted.
pub const WATCH_QUEUE: usize = 16;
/// Most events waiting for one `Watch` client before it is told to resync.
const WATCH_BUFFER_EVENTS: usize = 4096;
/// Most bytes of events waiting for one `Watch` client before it is told to
/// resync (one event always fits, however big).
const WATCH_BUFFER_BYTES: usize = 32 * 1024 * 1024;

/// Forwards committed events to one `Watch` client: SNAPSHOT first, then
/// every newer event of the watched project(s), in order. Once more than
/// [`WATCH_BUFFER_EVENTS`] or [`WATCH_BUFFER_BYTES`] wait, they are dropped
/// and the client gets RESYNC. Returns when the client goes, the store
/// closes or `shutdown` fires (the client then hears UNAVAILABLE).
pub async fn pump(
    mut events: broadcast::Receiver<Arc<Event>>,
    snapshot: Vec<(String, u64)>,
    filter: Option<String>,
    tx: mpsc::Sender<Result<Event, Status>>,
    shutdown: CancellationToken,
) {
    let now = store::now_ms();
    let mut seen: HashMap<String, u64> = HashMap::with_capacity(snapshot.len());
    let mut snapshots = snapshot.into_iter().peekable();
    if snapshots.peek().is_none() {
        // Watching every project while there is none: still say hello.
        let _ = tx
            .send(Ok(Event {
                kind: EventKind::Snapshot as i32,
                at_ms: now,
                ..Event::default()
            }))
            .await;
    }
    for (project, revision) in snapshots {
        seen.insert(project.clone(), revision);
        let hello = Event {
            project,
            revision,
            kind: EventKind::Snapshot as i32,
            at_ms: now,
            ..Event::default()
        };
        if tx.send(Ok(hello)).await.is_err() {
            return;
        }
    }
    let mut waiting: VecDeque<Arc<Event>> = VecDeque::new();
    let mut waiting_bytes = 0usize;
    let mut resync = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => {
                let _ = tx.send(Err(Status::unavailable("the daemon is shutting down — reconnect to the next instance"))).await;
                return;
            }
            () = tx.closed() => return,
            permit = tx.reserve(), if resync || !waiting.is_empty() => {
                let Ok(permit) = permit else { return };
                if resync {
                    resync = false;
                    permit.send(Ok(Event {
                        project: filter.clone().unwrap_or_default(),
                        kind: EventKind::Resync as i32,
                        at_ms: store::now_ms(),
                        ..Event::default()
                    }));
                } else if let Some(event) = waiting.pop_front() {
                    waiting_bytes = waiting_bytes.saturating_sub(event.encoded_len());
                    permit.send(Ok(Event::clone(&event)));
                }
            }
            received = events.recv() => {
                let fell_behind = match received {
                    Ok(event) => {
                        if filter.as_ref().is_none_or(|p| p == &event.project) {
                            let last = seen.entry(event.project.clone()).or_insert(0);
                            if event.revision > *last {
                                *last = event.revision;
                                waiting_bytes += event.encoded_len();
                                waiting.push_back(event);
                            }
                        }
                        // The first waiting event always fits, however big.
                        waiting.len() > 1
                            && (waiting.len() > WATCH_BUFFER_EVENTS || waiting_bytes > WATCH_BUFFER_BYTES)
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => true,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if fell_behind {
                    tracing::warn!(
                        rpc = "Watch",
                        dropped = waiting.len(),
                        "a watcher fell behind and was told to resync"
                    );
                    // Everything up to now is covered by the client's re-read.
                    waiting.clear();
                    waiting_bytes = 0;
                    seen.clear();
                    resync = true;
                }
            }
        }
    }
}
