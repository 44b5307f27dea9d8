//! What every handler works with: the [`SessionsService`] state (store,
//! daemon facts, shutdown signal, activity, the interop state), and the
//! one place where a request's fields become the store's checked types.
//! Every area module imports from here; this module imports none of them.

use std::{path::PathBuf, sync::Arc};

use chronicle_proto::v1::{MutationAck, SessionInfo};
use tokio_util::sync::CancellationToken;
use tonic::{Response, Status};

use super::errors::fail;
use crate::activity::Activity;
use crate::search::SearchIndex;
use crate::sources::aider::{self, FollowCtx, Follows};
use crate::sources::follow::SourceFollows;
use crate::store::{Job, Mutation, Outcome, ProjectPath, SessionName, Store, StoreError};

/// Facts about the running daemon that `GetStatus` reports.
#[derive(Clone, Debug)]
pub struct DaemonFacts {
    pub socket: PathBuf,
    pub data_dir: PathBuf,
    pub started_at_ms: i64,
}

/// The `chronicle.v1.Sessions` service.
#[derive(Clone)]
pub struct SessionsService {
    pub(super) store: Store,
    pub(super) facts: Arc<DaemonFacts>,
    /// Cancelled when the daemon shuts down, so endless `Watch` streams end
    /// and the server can drain.
    pub(super) shutdown: CancellationToken,
    /// Where successful calls and open streams are recorded, for the idle
    /// exit and the file watcher.
    pub(super) activity: Activity,
    /// Bundle imports' staging and the aider follows.
    pub(super) interop: Interop,
    /// The full-text index `Search` reads.
    pub(super) search: SearchIndex,
}

impl SessionsService {
    pub fn new(store: Store, facts: DaemonFacts, shutdown: CancellationToken) -> Self {
        let search = SearchIndex::disabled(store.clone());
        SessionsService {
            store,
            interop: Interop::new(facts.data_dir.clone()),
            search,
            facts: Arc::new(facts),
            shutdown,
            activity: Activity::new(std::time::Duration::ZERO),
        }
    }

    /// Records calls and streams in `activity` (the server's shared one).
    pub fn with_activity(mut self, activity: Activity) -> Self {
        self.activity = activity;
        self
    }

    /// Answers `Search` from this index (the server's running one).
    pub fn with_search(mut self, search: SearchIndex) -> Self {
        self.search = search;
        self
    }

    pub(super) fn follow_ctx(&self) -> FollowCtx {
        FollowCtx {
            store: self.store.clone(),
            activity: self.activity.clone(),
            shutdown: self.shutdown.clone(),
        }
    }

    /// Starts again the follows (aider's and other agents') that ran when
    /// the daemon stopped.
    pub fn resume_follows(&self) {
        self.interop.follows.resume(&self.follow_ctx());
        self.interop.source_follows.resume(&self.follow_ctx());
    }
}

/// State the interop handlers keep: where to stage imports, and the
/// aider follows.
#[derive(Clone)]
pub(super) struct Interop {
    pub(super) data_dir: PathBuf,
    pub(super) follows: Follows,
    /// Follows of other agents' sessions (`FollowSource`).
    pub(super) source_follows: SourceFollows,
}

impl Interop {
    pub(super) fn new(data_dir: PathBuf) -> Self {
        Interop {
            follows: Follows::new(data_dir.join(aider::STATE_FILE)),
            source_follows: SourceFollows::default(),
            data_dir,
        }
    }
}

/// The request's project path, checked and normalised: the one place a
/// client's path becomes a [`ProjectPath`].
pub(super) fn project(rpc: &'static str, raw: &str) -> Result<ProjectPath, Status> {
    ProjectPath::new(raw).map_err(|err| fail(rpc, err))
}

/// A session name from the request, trimmed and checked.
pub(super) fn session_name(rpc: &'static str, raw: &str) -> Result<SessionName, Status> {
    SessionName::new(raw).map_err(|err| fail(rpc, err))
}

/// The session an outcome reports, as the response, with the project's
/// revision after the change (so a caller need not compute it).
pub(super) fn session_info(rpc: &'static str, outcome: Outcome) -> Result<Response<SessionInfo>, Status> {
    let revision = outcome.revision;
    outcome
        .session
        .map(|info| Response::new(SessionInfo { revision, ..info }))
        .ok_or_else(|| fail(rpc, StoreError::NotFound("the store returned no session".into())))
}

/// A checked mutation of a project's working session, and the call it
/// came from (named in errors and logs).
pub(super) struct Change {
    rpc: &'static str,
    project: ProjectPath,
    expected: Option<u64>,
    mutation: Mutation,
}

impl Change {
    pub(super) fn new(
        rpc: &'static str,
        raw_project: &str,
        expected: Option<u64>,
        mutation: Mutation,
    ) -> Result<Change, Status> {
        Ok(Change {
            rpc,
            project: project(rpc, raw_project)?,
            expected,
            mutation,
        })
    }
}

impl SessionsService {
    /// Runs a mutation of a checked project and records the call.
    pub(super) async fn mutate(
        &self,
        rpc: &'static str,
        project: &ProjectPath,
        expected: Option<u64>,
        mutation: Mutation,
    ) -> Result<Outcome, Status> {
        let outcome = self
            .store
            .mutate(project, expected, mutation)
            .await
            .map_err(|err| fail(rpc, err))?;
        self.activity.touch(project);
        Ok(outcome)
    }

    /// A mutating call's answer: the change run, or why it was refused.
    pub(super) async fn answer(&self, change: Result<Change, Status>) -> Result<Response<MutationAck>, Status> {
        Ok(Response::new(self.apply(change?).await?))
    }

    /// Runs changes in order, committed together, each only if none
    /// before it was refused; acknowledges them once durable. Answers up
    /// to and including the first refusal: nothing after it was applied.
    pub(super) async fn apply_chain(&self, changes: Vec<Change>) -> Vec<Result<MutationAck, Status>> {
        let (asked, jobs): (Vec<_>, Vec<_>) = changes
            .into_iter()
            .map(|change| {
                let job = Job::Project {
                    project: change.project.clone(),
                    expected_revision: change.expected,
                    mutation: change.mutation,
                };
                ((change.rpc, change.project), job)
            })
            .unzip();
        let results = self.store.run_chain(jobs).await;
        asked
            .into_iter()
            .zip(results)
            .map(|((rpc, project), result)| {
                let outcome = result.map_err(|err| fail(rpc, err))?;
                self.activity.touch(&project);
                Ok(MutationAck {
                    revision: outcome.revision,
                    message_id: outcome.message_id,
                })
            })
            .collect()
    }

    /// Runs a change and acknowledges it once it is durable.
    pub(super) async fn apply(&self, change: Change) -> Result<MutationAck, Status> {
        let outcome = self
            .mutate(change.rpc, &change.project, change.expected, change.mutation)
            .await?;
        Ok(MutationAck {
            revision: outcome.revision,
            message_id: outcome.message_id,
        })
    }
}
