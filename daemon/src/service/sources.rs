//! `ImportSource`: another agent's session files into saved sessions. The
//! handler checks the request, then runs the import as a task that streams
//! progress: the files are found and read on blocking threads
//! ([`crate::sources::import`]), each file's sessions are grouped by the
//! project their working directory names (or the request's), and each
//! group goes to the store as one job — the store decides what is new.

use std::{collections::BTreeSet, path::PathBuf};

use chronicle_client::paths;
use chronicle_interop::sources::{Agent, LinkKind, ParseOptions, SourceSession, codex};
use chronicle_proto::v1::{ImportSourceProgress, ImportSourceRequest, ImportSourceSummary, SkippedLine, SourceKind};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::context::{self, SessionsService};
use super::errors::{fail, invalid, stream_failure};
use crate::sources::import::{self, Found, ImportError};
use crate::store::{Job, ProjectPath, SourceBatch, SourceCounts, Store, StoreError};

const RPC: &str = "ImportSource";
/// Progress messages buffered for a slow client.
const QUEUE: usize = 16;
/// Skipped lines reported in one summary; past this only the count grows
/// (a file of garbage must not make an answer too large to send).
const MAX_SKIPPED_REPORTED: usize = 1000;

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
    tokio::spawn(async move {
        let _guard = guard;
        let result = run(&store, agent, found, project, req.dry_run, options, &tx).await;
        if let Err(err) = result {
            let _ = tx.send(Err(fail(RPC, err))).await;
        }
    });
    Ok(Response::new(ReceiverStream::new(rx)))
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
    let mut summary = ImportSourceSummary {
        dry_run,
        ..ImportSourceSummary::default()
    };
    let mut skipped_total = 0usize;
    let mut report_skipped = |summary: &mut ImportSourceSummary, list: Vec<chronicle_interop::sources::Skipped>| {
        for s in list {
            skipped_total += 1;
            if summary.skipped.len() < MAX_SKIPPED_REPORTED {
                summary.skipped.push(SkippedLine {
                    file: s.file,
                    line: s.line,
                    reason: s.reason,
                });
            }
        }
    };
    report_skipped(&mut summary, found.skipped);
    let mut counts = SourceCounts::default();
    let mut projects = BTreeSet::new();
    let mut bytes_done = 0u64;
    for (n, file) in found.files.into_iter().enumerate() {
        let path = file.path.clone();
        let (mut parsed, bytes) = tokio::task::spawn_blocking(move || import::parse_file(agent, &path, options))
            .await
            .map_err(|e| StoreError::InvalidArgument(format!("reading {} failed: {e}", file.path.display())))?;
        bytes_done += bytes;
        summary.bytes_read += bytes;
        summary.files_read += 1;
        report_skipped(&mut summary, std::mem::take(&mut parsed.skipped));
        for session in &mut parsed.sessions {
            summary.sessions_found += 1;
            summary.messages_found += session.messages.len() as u64;
            if let Some(t) = session.started_at_ms.filter(|&t| t > 0) {
                summary.oldest_ms = if summary.oldest_ms == 0 {
                    t
                } else {
                    summary.oldest_ms.min(t)
                };
                summary.newest_ms = summary.newest_ms.max(t);
            }
            if session.title.is_none() {
                session.title = found.titles.get(&session.source_session_id).cloned();
            }
            if agent == Agent::Codex && session.parent.as_ref().is_some_and(|l| l.kind == LinkKind::Fork) {
                drop_copy(store, session)?;
            }
        }
        // One job per project the file's sessions go into.
        let mut groups: Vec<(ProjectPath, Vec<SourceSession>)> = Vec::new();
        for session in parsed.sessions {
            let target = match &project {
                Some(p) => p.clone(),
                None => match project_of(&session) {
                    Ok(p) => p,
                    Err(reason) => {
                        let skipped = chronicle_interop::sources::Skipped {
                            file: file.path.display().to_string(),
                            line: 0,
                            reason,
                        };
                        report_skipped(&mut summary, vec![skipped]);
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
            let done = if dry_run {
                store.plan_sources(&sessions)?
            } else {
                let outcome = store
                    .run(Job::Sources(std::sync::Arc::new(SourceBatch {
                        project: target.clone(),
                        sessions,
                    })))
                    .await?;
                outcome.sources.unwrap_or_default()
            };
            if done != SourceCounts::default() {
                projects.insert(target.as_str().to_owned());
            }
            counts.add(&done);
        }
        let progress = ImportSourceProgress {
            files_done: u32::try_from(n + 1).unwrap_or(u32::MAX),
            files_total,
            bytes_done,
            bytes_total,
            file: file.path.display().to_string(),
            done: None,
        };
        if tx.send(Ok(progress)).await.is_err() {
            // The client left: what is committed stays; stop reading.
            return Ok(());
        }
    }
    if skipped_total > summary.skipped.len() {
        summary.skipped.push(SkippedLine {
            file: String::new(),
            line: 0,
            reason: format!(
                "{} more lines skipped, not listed",
                skipped_total - summary.skipped.len()
            ),
        });
    }
    summary.sessions_imported = counts.sessions_imported;
    summary.sessions_updated = counts.sessions_updated;
    summary.messages_imported = counts.messages_imported;
    summary.projects = projects.into_iter().collect();
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

/// A Codex fork re-copies its parent's history: what an earlier import of
/// the parent holds is dropped from the fork.
fn drop_copy(store: &Store, session: &mut SourceSession) -> Result<(), StoreError> {
    let Some(parent) = session.parent.as_ref().map(|l| l.parent_source_id.clone()) else {
        return Ok(());
    };
    let parent_messages = store.source_messages(session.agent, &parent)?;
    if !parent_messages.is_empty() {
        codex::drop_copied_history(session, &parent_messages);
    }
    Ok(())
}

/// The project a source session's working directory names; the path as
/// written when it does not exist here.
fn project_of(session: &SourceSession) -> Result<ProjectPath, String> {
    let no_project = || {
        format!(
            "session {} names no absolute working directory — import it with -C PROJECT",
            session.source_id
        )
    };
    let cwd = session
        .cwd
        .as_deref()
        .filter(|c| c.starts_with('/'))
        .ok_or_else(no_project)?;
    let dir = paths::project_of_dir(std::path::Path::new(cwd));
    ProjectPath::new(&dir.to_string_lossy()).map_err(|_| no_project())
}
