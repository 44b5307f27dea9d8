//! `ImportSource`: another agent's session files into saved sessions. The
//! handler checks the request, then runs the import as a task that streams
//! progress: the files are found and read on blocking threads
//! ([`crate::sources::import`]), each file's sessions are grouped by the
//! project their working directory names (or the request's), and each
//! group goes to the store as one job — the store decides what is new. A
//! long file goes in parts as it is read (a Codex rollout of gigabytes),
//! so neither the reader nor a write transaction ever holds all of it.
//! `FollowSource` and friends: the follows run in
//! [`crate::sources::follow`] (aider's in [`crate::sources::aider`], which
//! these calls reach too, so one list shows every follow).

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    path::{Path, PathBuf},
};

use chronicle_client::paths;
use chronicle_interop::sources::{Agent, ParseOptions, Parsed, SourceSession};
use chronicle_proto::v1::{
    AiderFollow, FollowSourceRequest, ImportSourceProgress, ImportSourceRequest, ImportSourceSummary,
    ImportedSourceSession, ListSourceFollowsRequest, ListSourceFollowsResponse, SkippedLine, SourceFollow, SourceKind,
    UnfollowSourceRequest, UnfollowSourceResponse,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::context::{self, SessionsService};
use super::errors::{fail, invalid, stream_failure};
use crate::sources::import::{self, Found, ImportError};
use crate::sources::place;
use crate::store::{FollowKey, Job, ProjectPath, SourceBatch, SourceCounts, Store, StoreError};

const RPC: &str = "ImportSource";
/// Progress messages buffered for a slow client.
const QUEUE: usize = 16;
/// Skipped lines reported in one summary; past this only the count grows
/// (a file of garbage must not make an answer too large to send).
const MAX_SKIPPED_REPORTED: usize = 1000;
/// Sessions named in one summary (the newest): the counts cover the rest.
const MAX_SESSIONS_LISTED: usize = 1000;

pub(super) async fn import_source(
    svc: &SessionsService,
    request: Request<ImportSourceRequest>,
) -> Result<Response<ReceiverStream<Result<ImportSourceProgress, Status>>>, Status> {
    let req = request.into_inner();
    let agent = match SourceKind::try_from(req.kind) {
        Ok(SourceKind::Claude) => Agent::Claude,
        Ok(SourceKind::Codex) => Agent::Codex,
        Ok(SourceKind::Opencode) => Agent::Opencode,
        Ok(SourceKind::Gemini) => Agent::Gemini,
        Ok(SourceKind::Aider) => {
            let status = Status::unimplemented(
                "aider's history is not read through ImportSource — import it with `chronicle import aider` (ImportAider)",
            );
            tracing::warn!(rpc = RPC, code = ?status.code(), "{}", status.message());
            return Err(status);
        }
        _ => {
            return Err(invalid(
                RPC,
                "source kind is unspecified — set kind to claude, codex, opencode or gemini",
            ));
        }
    };
    let project = match req.project.as_str() {
        "" => None,
        raw => Some(context::project(RPC, raw)?),
    };
    let mut paths_asked = Vec::new();
    for raw in &req.paths {
        let path = PathBuf::from(raw);
        if !path.is_absolute() {
            return Err(invalid(RPC, format!("path {raw:?} is relative — send absolute paths")));
        }
        paths_asked.push(path);
    }
    if paths_asked.is_empty() {
        paths_asked = paths::agent_session_dirs(agent.as_str())
            .into_iter()
            .filter(|d| d.exists())
            .collect();
    }
    let found = tokio::task::spawn_blocking(move || import::find(agent, &paths_asked))
        .await
        .map_err(|e| stream_failure(RPC, format!("the file walk failed: {e}")))?
        .map_err(|ImportError::Refused(message)| invalid(RPC, message))?;

    let (tx, rx) = mpsc::channel(QUEUE);
    let store = svc.store.clone();
    let options = ParseOptions {
        max_inline_bytes: store
            .limits()
            .max_content_bytes
            .min(ParseOptions::default().max_inline_bytes),
    };
    let guard = svc.activity.stream(None);
    let indexing_after = (!req.dry_run).then(|| svc.search.import_running());
    tokio::spawn(async move {
        let _guard = guard;
        let result = run(&store, agent, found, project, req.dry_run, options, &tx).await;
        if let Err(err) = result {
            let _ = tx.send(Err(fail(RPC, err))).await;
        }
        // What the import freed goes back before the index takes its
        // sessions, so the daemon's peak is not the two added.
        let _ = tokio::task::spawn_blocking(crate::memory::release_freed_heap).await;
        drop(indexing_after);
    });
    Ok(Response::new(ReceiverStream::new(rx)))
}

/// What the reader hands the store: a part of a long file as it is read,
/// then the rest of the file with what was skipped in it.
enum Piece {
    Part {
        file: usize,
        sessions: Vec<SourceSession>,
        bytes: u64,
    },
    End {
        file: usize,
        parsed: Parsed,
        bytes: u64,
    },
}

/// One import as it goes: what the summary will say.
struct ImportRun<'a> {
    store: &'a Store,
    project: Option<ProjectPath>,
    dry_run: bool,
    titles: std::collections::HashMap<String, String>,
    summary: ImportSourceSummary,
    skipped_total: usize,
    counts: SourceCounts,
    projects: BTreeSet<String>,
    /// Source sessions met, so one stored in several parts counts once.
    sessions_seen: HashSet<String>,
}

async fn run(
    store: &Store,
    agent: Agent,
    found: Found,
    project: Option<ProjectPath>,
    dry_run: bool,
    options: ParseOptions,
    tx: &mpsc::Sender<Result<ImportSourceProgress, Status>>,
) -> Result<(), StoreError> {
    let files_total = u32::try_from(found.files.len()).unwrap_or(u32::MAX);
    let bytes_total: u64 = found.files.iter().map(|f| f.bytes).sum();
    let mut import = ImportRun {
        store,
        project,
        dry_run,
        titles: found.titles,
        summary: ImportSourceSummary {
            dry_run,
            ..ImportSourceSummary::default()
        },
        skipped_total: 0,
        counts: SourceCounts::default(),
        projects: BTreeSet::new(),
        sessions_seen: HashSet::new(),
    };
    import.report_skipped(found.skipped);
    // One reader goes through the files in order while the store takes
    // what it has read: the next file (or part) is parsed while the last
    // is committed. The channel holds one piece, so at most three are in
    // memory at once: one queued, one being stored, one being read.
    let paths: Vec<PathBuf> = found.files.into_iter().map(|f| f.path).collect();
    let (pieces_tx, mut pieces) = mpsc::channel::<Piece>(1);
    let reader = {
        let paths = paths.clone();
        tokio::task::spawn_blocking(move || {
            for (file, path) in paths.iter().enumerate() {
                let (parsed, bytes) =
                    import::parse_file_in_parts(agent, path, options, import::PART_BYTES, &mut |sessions, bytes| {
                        pieces_tx.blocking_send(Piece::Part { file, sessions, bytes }).is_ok()
                    });
                if pieces_tx.blocking_send(Piece::End { file, parsed, bytes }).is_err() {
                    // The import stopped (the client left, or the store failed).
                    return;
                }
            }
        })
    };
    let mut bytes_done = 0u64;
    while let Some(piece) = pieces.recv().await {
        let (file, files_done, bytes_now) = match piece {
            Piece::Part { file, sessions, bytes } => {
                import.store_sessions(&paths[file], sessions).await?;
                (file, file, bytes_done + bytes)
            }
            Piece::End {
                file,
                mut parsed,
                bytes,
            } => {
                bytes_done += bytes;
                import.summary.bytes_read += bytes;
                import.summary.files_read += 1;
                import.report_skipped(std::mem::take(&mut parsed.skipped));
                import.store_sessions(&paths[file], parsed.sessions).await?;
                (file, file + 1, bytes_done)
            }
        };
        let update = ImportSourceProgress {
            files_done: u32::try_from(files_done).unwrap_or(u32::MAX),
            files_total,
            bytes_done: bytes_now,
            bytes_total,
            file: paths[file].display().to_string(),
            done: None,
        };
        if tx.send(Ok(update)).await.is_err() {
            // The client left: what is committed stays; the reader stops
            // at its next piece.
            return Ok(());
        }
    }
    reader
        .await
        .map_err(|e| StoreError::InvalidArgument(format!("reading the agent's files failed: {e}")))?;
    let summary = import.finish();
    let _ = tx
        .send(Ok(ImportSourceProgress {
            files_done: files_total,
            files_total,
            bytes_done,
            bytes_total,
            file: String::new(),
            done: Some(summary),
        }))
        .await;
    Ok(())
}

impl ImportRun<'_> {
    fn report_skipped(&mut self, list: Vec<chronicle_interop::sources::Skipped>) {
        for s in list {
            self.skipped_total += 1;
            if self.summary.skipped.len() < MAX_SKIPPED_REPORTED {
                self.summary.skipped.push(SkippedLine {
                    file: s.file,
                    line: s.line,
                    reason: s.reason,
                });
            }
        }
    }

    /// Stores (or, dry, plans) sessions read from `file`: one job per
    /// project they go into.
    async fn store_sessions(&mut self, file: &Path, mut sessions: Vec<SourceSession>) -> Result<(), StoreError> {
        for session in &mut sessions {
            if self.sessions_seen.insert(session.source_id.clone()) {
                self.summary.sessions_found += 1;
            }
            self.summary.messages_found += session.messages.len() as u64;
            if let Some(t) = session.started_at_ms.filter(|&t| t > 0) {
                self.summary.oldest_ms = if self.summary.oldest_ms == 0 {
                    t
                } else {
                    self.summary.oldest_ms.min(t)
                };
                self.summary.newest_ms = self.summary.newest_ms.max(t);
            }
            if session.title.is_none() {
                session.title = self.titles.get(&session.source_session_id).cloned();
            }
            place::settle(self.store, session)?;
        }
        let mut groups: Vec<(ProjectPath, Vec<SourceSession>)> = Vec::new();
        for session in sessions {
            let target = match &self.project {
                Some(p) => p.clone(),
                None => match place::project_of(&session) {
                    Ok(p) => p,
                    Err(reason) => {
                        let skipped = chronicle_interop::sources::Skipped {
                            file: file.display().to_string(),
                            line: 0,
                            reason,
                        };
                        self.report_skipped(vec![skipped]);
                        continue;
                    }
                },
            };
            match groups.iter_mut().find(|(p, _)| *p == target) {
                Some((_, list)) => list.push(session),
                None => groups.push((target, vec![session])),
            }
        }
        for (target, sessions) in groups {
            let done = if self.dry_run {
                self.store.plan_sources(&sessions)?
            } else {
                let outcome = self
                    .store
                    .run(Job::Sources(std::sync::Arc::new(SourceBatch {
                        project: target.clone(),
                        sessions,
                        cursor: None,
                    })))
                    .await?;
                outcome.sources.unwrap_or_default()
            };
            if done != SourceCounts::default() {
                self.projects.insert(target.as_str().to_owned());
            }
            self.counts.add(&done);
        }
        Ok(())
    }

    /// The summary: a session stored in parts is imported or updated once.
    fn finish(mut self) -> ImportSourceSummary {
        if self.skipped_total > self.summary.skipped.len() {
            let more = self.skipped_total - self.summary.skipped.len();
            self.summary.skipped.push(SkippedLine {
                file: String::new(),
                line: 0,
                reason: format!("{more} more lines skipped, not listed"),
            });
        }
        // One entry per source session, however many parts stored it.
        let mut stored: Vec<(bool, ImportedSourceSession)> = Vec::new();
        let mut at: HashMap<&str, usize> = HashMap::new();
        for s in &self.counts.sessions {
            match at.get(s.source_id.as_str()) {
                Some(&i) => stored[i].1.created |= s.fresh,
                None => {
                    at.insert(&s.source_id, stored.len());
                    let session = ImportedSourceSession {
                        project: s.project.clone(),
                        name: s.name.clone(),
                        created: s.fresh,
                        started_at_ms: s.started_at_ms,
                    };
                    stored.push((s.split_off, session));
                }
            }
        }
        let mut summary = self.summary;
        let created = stored.iter().filter(|(_, s)| s.created).count();
        summary.sessions_imported = u32::try_from(created).unwrap_or(u32::MAX);
        summary.sessions_updated = u32::try_from(stored.len() - created).unwrap_or(u32::MAX);
        summary.messages_imported = self.counts.messages_imported;
        summary.messages_updated = self.counts.messages_updated;
        if !summary.dry_run {
            // Conversations of their own first, so `--working` loads the
            // newest conversation, not a branch or subagent of it.
            stored.sort_by_key(|(split_off, s)| (*split_off, std::cmp::Reverse(s.started_at_ms)));
            stored.truncate(MAX_SESSIONS_LISTED);
            summary.sessions = stored.into_iter().map(|(_, s)| s).collect();
        }
        summary.projects = self.projects.into_iter().collect();
        summary
    }
}

/// The agent a follow request names; aider is told apart by the caller.
fn follow_agent(rpc: &'static str, kind: i32) -> Result<Agent, Status> {
    match SourceKind::try_from(kind) {
        Ok(SourceKind::Claude) => Ok(Agent::Claude),
        Ok(SourceKind::Codex) => Ok(Agent::Codex),
        Ok(SourceKind::Opencode) => Ok(Agent::Opencode),
        Ok(SourceKind::Gemini) => Ok(Agent::Gemini),
        Ok(SourceKind::Aider) => Ok(Agent::Aider),
        _ => Err(invalid(
            rpc,
            "source kind is unspecified — set kind to claude, codex, opencode, gemini or aider",
        )),
    }
}

/// The follow's scope: one project, or (`all`) every session; exactly one.
fn follow_scope(rpc: &'static str, project: &str, all: bool) -> Result<String, Status> {
    match (project.is_empty(), all) {
        (true, true) => Ok(String::new()),
        (false, false) => Ok(context::project(rpc, project)?.as_str().to_owned()),
        (true, false) => Err(invalid(rpc, "name the project to follow, or set all")),
        (false, true) => Err(invalid(rpc, "project and all exclude each other — send one")),
    }
}

fn aider_as_source(follow: AiderFollow) -> SourceFollow {
    SourceFollow {
        kind: SourceKind::Aider as i32,
        project: follow.project,
        all: false,
        paths: vec![follow.path],
        since_ms: follow.since_ms,
        messages_imported: follow.messages_appended,
        last_error: follow.last_error,
        files: 1,
    }
}

pub(super) async fn follow_source(
    svc: &SessionsService,
    request: Request<FollowSourceRequest>,
) -> Result<Response<SourceFollow>, Status> {
    const RPC: &str = "FollowSource";
    let req = request.into_inner();
    let agent = follow_agent(RPC, req.kind)?;
    if agent == Agent::Aider {
        if req.all || req.project.is_empty() {
            return Err(invalid(RPC, "an aider follow is of one project — name it"));
        }
        let project = context::project(RPC, &req.project)?;
        let follow = svc
            .interop
            .follows
            .follow(&svc.follow_ctx(), &project, &req.aider_history, req.aider_catch_up)
            .map_err(|e| fail(RPC, e))?;
        return Ok(Response::new(aider_as_source(follow)));
    }
    if !req.aider_history.is_empty() || req.aider_catch_up {
        return Err(invalid(
            RPC,
            "aider_history and aider_catch_up are for aider follows only",
        ));
    }
    let scope = follow_scope(RPC, &req.project, req.all)?;
    let mut roots = Vec::new();
    for raw in &req.paths {
        let path = PathBuf::from(raw);
        if !path.is_absolute() {
            return Err(invalid(RPC, format!("path {raw:?} is relative — send absolute paths")));
        }
        roots.push(path);
    }
    let follow = svc
        .interop
        .source_follows
        .follow(&svc.follow_ctx(), FollowKey { agent, scope }, roots)
        .await
        .map_err(|e| fail(RPC, e))?;
    Ok(Response::new(follow))
}

pub(super) async fn unfollow_source(
    svc: &SessionsService,
    request: Request<UnfollowSourceRequest>,
) -> Result<Response<UnfollowSourceResponse>, Status> {
    const RPC: &str = "UnfollowSource";
    let req = request.into_inner();
    let agent = follow_agent(RPC, req.kind)?;
    let follow = if agent == Agent::Aider {
        let project = context::project(RPC, &req.project)?;
        svc.interop
            .follows
            .unfollow(&project)
            .map_err(|e| fail(RPC, e))?
            .map(aider_as_source)
    } else {
        let scope = follow_scope(RPC, &req.project, req.all)?;
        svc.interop
            .source_follows
            .unfollow(&svc.follow_ctx(), &FollowKey { agent, scope })
            .await
            .map_err(|e| fail(RPC, e))?
    };
    Ok(Response::new(UnfollowSourceResponse {
        was_following: follow.is_some(),
        follow,
    }))
}

pub(super) async fn list_source_follows(
    svc: &SessionsService,
    _request: Request<ListSourceFollowsRequest>,
) -> Result<Response<ListSourceFollowsResponse>, Status> {
    let mut follows = svc.interop.source_follows.list();
    follows.extend(svc.interop.follows.list().into_iter().map(aider_as_source));
    Ok(Response::new(ListSourceFollowsResponse { follows }))
}
