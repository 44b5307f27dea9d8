//! The decisions: what each mutation does to the tables, which events it
//! produces, and when it is refused.
//!
//! Discipline that makes group commit safe: every operation checks
//! everything it can refuse on *before* its first write. A refused
//! operation therefore leaves the shared write transaction untouched, and
//! only a storage failure can spoil a batch.
//!
//! This module holds the jobs, the dispatch and `ProjectCtx` (one
//! project's working session as a batch sees it, and how a change is
//! committed); the operations live beside it by what they change:
//! [`messages`], [`files`], [`saved`] sessions and the [`trash`].

use chronicle_proto::v1::{ContextFile, Event, EventKind, Message, ProjectState, SessionInfo};

use super::StoreError;
use super::records::{ProjectRecord, SessionRecord};
use super::tables::WriteTables;
use super::validate::{Limits, ProjectPath, SessionName, TrashId};

mod files;
mod messages;
mod saved;
mod trash;

use self::trash::{purge_trash, restore_trash};

/// A change to one project's working session or saved sessions.
#[derive(Clone, Debug)]
pub enum Mutation {
    Open {
        start_empty: bool,
    },
    Append {
        message: Message,
    },
    AppendTo {
        message_id: u64,
        delta: String,
    },
    Update {
        message: Message,
    },
    Delete {
        message_id: u64,
        truncate_after: bool,
    },
    Clear,
    AddFiles {
        files: Vec<ContextFile>,
    },
    RemoveFiles {
        paths: Vec<String>,
    },
    SetFiles {
        files: Vec<ContextFile>,
    },
    Save {
        name: SessionName,
        overwrite: bool,
    },
    Load {
        /// Checked here, after the revision and the choice of what to
        /// load: a stale revision is reported before a bad name, as
        /// clients have always seen it.
        name: String,
        messages: bool,
        files: bool,
    },
    Rename {
        name: SessionName,
        new_name: SessionName,
    },
    DeleteSession {
        name: SessionName,
    },
    /// The file watcher saw these context files vanish (`missing`) or come
    /// back (`!missing`). Paths are as stored. Only files still in the list
    /// whose flag differs and whose disk state agrees change; when none do,
    /// nothing is written (no revision, no event). Files are never dropped.
    MarkFiles {
        paths: Vec<String>,
        missing: bool,
    },
    /// A new saved session from the working session (`source` `None`) or
    /// a saved one, holding its messages through `at_message_id` and its
    /// context files.
    Fork {
        source: Option<SessionName>,
        at_message_id: u64,
        new_name: SessionName,
    },
    /// Every message after `keep_through` leaves the working session as
    /// one trash entry (reason `rewound`).
    Rewind {
        keep_through: u64,
    },
}

/// One unit of work for the writer. Moved once into the queue, so the
/// size of the project variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Job {
    Project {
        project: ProjectPath,
        expected_revision: Option<u64>,
        mutation: Mutation,
    },
    /// `expected_revision` is of the entry's project.
    RestoreTrash {
        id: TrashId,
        new_name: Option<SessionName>,
        expected_revision: Option<u64>,
    },
    /// `expected_revision`, of the entry's project, only with an `id`.
    PurgeTrash {
        id: Option<TrashId>,
        older_than_ms: i64,
        expected_revision: Option<u64>,
    },
    /// A bundle, checked and staged in a spool file: applied all at once
    /// (see `bundle`).
    Import(std::sync::Arc<super::bundle::ImportJob>),
    /// Another agent's sessions, all going into one project (see `sources`).
    Sources(std::sync::Arc<super::sources::SourceBatch>),
    /// Records a follow of an agent's sessions (`Some`), or forgets it and
    /// its cursors (`None`).
    SourceFollow {
        key: super::sources::FollowKey,
        record: Option<Vec<u8>>,
    },
    /// A follow's cursor for a file that brought nothing for the store.
    SourceCursor(super::sources::FileCursor),
}

impl Job {
    /// Whether the job writes a bounded handful of records — one message,
    /// one name, a context-file list (itself bounded by the limits) — so
    /// that committing it holds a thread for about one sync and no more.
    pub fn is_small(&self) -> bool {
        match self {
            Job::Project { mutation, .. } => matches!(
                mutation,
                Mutation::Append { .. }
                    | Mutation::AppendTo { .. }
                    | Mutation::Update { .. }
                    | Mutation::AddFiles { .. }
                    | Mutation::RemoveFiles { .. }
                    | Mutation::SetFiles { .. }
                    | Mutation::MarkFiles { .. }
                    | Mutation::Rename { .. }
            ),
            Job::SourceCursor(_) => true,
            _ => false,
        }
    }
}

/// What the caller found on disk for the context files a job names: the
/// stored path of each, and whether it is missing (cannot be stat'ed, or
/// its check timed out). Checked before the job is queued (see
/// [`super::Store::run`]), so the writer never touches the filesystem for
/// context files: a hung network mount stalls only the job that names it,
/// and applying a job depends on nothing but the tables and this record.
#[derive(Clone, Debug, Default)]
pub struct FileProbes {
    missing: std::collections::HashMap<String, bool>,
}

impl FileProbes {
    pub fn new(missing: impl IntoIterator<Item = (String, bool)>) -> Self {
        FileProbes {
            missing: missing.into_iter().collect(),
        }
    }

    /// Whether the file at this stored path was missing; `None` when it
    /// was not checked (a saved session changed between the check and the
    /// job, say): callers then keep what is stored.
    pub fn missing(&self, path: &str) -> Option<bool> {
        self.missing.get(path).copied()
    }
}

/// What a successful job reports back.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// The project's revision after the job.
    pub revision: u64,
    /// Message created or changed, if any.
    pub message_id: u64,
    pub project: Option<ProjectState>,
    pub session: Option<SessionInfo>,
    pub trash_id: Option<u64>,
    pub purged: u32,
    /// What an import brought in.
    pub import: Option<chronicle_proto::v1::ImportBundleResponse>,
    /// What an import of another agent's sessions brought in.
    pub sources: Option<super::sources::SourceCounts>,
}

/// Applies one job inside the batch's transaction, appending the events it
/// produces (published only once the batch is durable).
pub fn apply(
    t: &mut WriteTables<'_>,
    job: &Job,
    probes: &FileProbes,
    now: i64,
    limits: &Limits,
    events: &mut Vec<Event>,
) -> Result<Outcome, StoreError> {
    match job {
        Job::Project {
            project,
            expected_revision,
            mutation,
        } => apply_project(t, project, *expected_revision, mutation, probes, now, limits, events)
            .map_err(|err| err.in_project(project)),
        Job::RestoreTrash {
            id,
            new_name,
            expected_revision,
        } => restore_trash(t, *id, new_name.as_ref(), *expected_revision, now, events),
        Job::PurgeTrash {
            id,
            older_than_ms,
            expected_revision,
        } => purge_trash(t, *id, *older_than_ms, *expected_revision, now, events),
        Job::Import(job) => super::bundle::import(t, job, now, events),
        Job::Sources(batch) => super::sources::apply(t, batch, now, limits, events),
        Job::SourceFollow { key, record } => super::sources::set_follow(t, key, record.as_deref()),
        Job::SourceCursor(cursor) => super::sources::put_cursor(t, cursor),
    }
}

/// A mutation of one project, for [`apply`].
#[allow(clippy::too_many_arguments)]
fn apply_project(
    t: &mut WriteTables<'_>,
    project: &ProjectPath,
    expected_revision: Option<u64>,
    mutation: &Mutation,
    probes: &FileProbes,
    now: i64,
    limits: &Limits,
    events: &mut Vec<Event>,
) -> Result<Outcome, StoreError> {
    let registered = t.project(project)?.is_none();
    let mut ctx = ProjectCtx::load(t, project, now)?;
    let working_session = ctx.record.working_session;
    let result = match ctx.check_revision(expected_revision) {
        Ok(()) => ctx.apply(t, mutation, probes, limits, events),
        Err(err) => Err(err),
    };
    if registered && result.as_ref().is_err_and(|err| !err.is_storage()) {
        // A refused request leaves no trace, not even the project
        // it named: undo the registration `load` just wrote.
        t.projects.remove(project.as_str())?;
        t.forget_new_session(working_session)?;
    }
    result
}

/// What a committed mutation adds to its event and its outcome; see
/// [`ProjectCtx::finish`].
#[derive(Default)]
pub(super) struct Done {
    /// The event's session name.
    pub(super) session_name: String,
    /// The event's file list (the whole new list, when it changed).
    pub(super) files: Vec<ContextFile>,
    /// The event's message, when one was created or changed.
    pub(super) message: Option<Message>,
    /// The event's appended text.
    pub(super) delta: String,
    /// The outcome's message id.
    pub(super) message_id: u64,
    /// The outcome's session.
    pub(super) session: Option<SessionInfo>,
    /// The outcome's trash entry.
    pub(super) trash_id: Option<u64>,
}

impl Done {
    /// A saved session named in the event and reported in the outcome.
    pub(super) fn saved_session(name: String, record: &SessionRecord) -> Done {
        Done {
            session_name: name,
            session: Some(session_info(record)),
            ..Done::default()
        }
    }
}

/// A project loaded for one mutation.
pub(super) struct ProjectCtx {
    pub(super) project: String,
    pub(super) record: ProjectRecord,
    /// The record must be written back: the working session was replaced.
    pub(super) record_changed: bool,
    pub(super) working: SessionRecord,
    now: i64,
}

impl ProjectCtx {
    /// Loads the project, opening it (empty, revision 0) if it is new;
    /// [`apply`] undoes the opening if the job is then refused.
    pub(super) fn load(t: &mut WriteTables<'_>, project: &str, now: i64) -> Result<Self, StoreError> {
        let record = match t.project(project)? {
            Some(record) => record,
            None => {
                let (id, _) = t.new_session(project, "", now)?;
                let record = ProjectRecord {
                    working_session: id,
                    created_at_ms: now,
                    ..ProjectRecord::default()
                };
                t.put_project(project, &record)?;
                record
            }
        };
        let working = t.session(record.working_session)?;
        Ok(ProjectCtx {
            project: project.to_owned(),
            record,
            record_changed: false,
            working,
            now,
        })
    }

    /// Refuses the job when the caller expected another revision.
    pub(super) fn check_revision(&self, expected: Option<u64>) -> Result<(), StoreError> {
        match expected {
            Some(expected) if expected != self.working.revision => Err(StoreError::Conflict(format!(
                "the working session of {} is at revision {}, not {expected} — re-read it and retry",
                self.project, self.working.revision
            ))),
            _ => Ok(()),
        }
    }

    fn apply(
        &mut self,
        t: &mut WriteTables<'_>,
        mutation: &Mutation,
        probes: &FileProbes,
        limits: &Limits,
        events: &mut Vec<Event>,
    ) -> Result<Outcome, StoreError> {
        match mutation {
            Mutation::Open { start_empty } => self.open(t, *start_empty, events),
            Mutation::Append { message } => self.append(t, message, limits, events),
            Mutation::AppendTo { message_id, delta } => self.append_to(t, *message_id, delta, limits, events),
            Mutation::Update { message } => self.update(t, message, limits, events),
            Mutation::Delete {
                message_id,
                truncate_after,
            } => self.delete(t, *message_id, *truncate_after, events),
            Mutation::Clear => self.clear(t, events),
            Mutation::AddFiles { files } => self.add_files(t, files, probes, limits, events),
            Mutation::RemoveFiles { paths } => self.remove_files(t, paths, events),
            Mutation::SetFiles { files } => self.set_files(t, files, probes, limits, events),
            Mutation::Save { name, overwrite } => self.save(t, name, *overwrite, events),
            Mutation::Load { name, messages, files } => self.load_session(t, name, *messages, *files, probes, events),
            Mutation::Rename { name, new_name } => self.rename(t, name, new_name, events),
            Mutation::DeleteSession { name } => self.delete_session(t, name, events),
            Mutation::MarkFiles { paths, missing } => self.mark_files(t, paths, *missing, probes, events),
            Mutation::Fork {
                source,
                at_message_id,
                new_name,
            } => self.fork(t, source.as_ref(), *at_message_id, new_name, events),
            Mutation::Rewind { keep_through } => self.rewind(t, *keep_through, events),
        }
    }

    /// Writes the working session header with the revision bumped by one
    /// (and the project record, only if the working session was replaced),
    /// and returns the event to publish.
    pub(super) fn commit(&mut self, t: &mut WriteTables<'_>, kind: EventKind) -> Result<Event, StoreError> {
        self.working.updated_at_ms = self.now;
        self.working.revision += 1;
        t.put_session(self.record.working_session, &self.working)?;
        if self.record_changed {
            t.put_project(&self.project, &self.record)?;
            self.record_changed = false;
        }
        Ok(Event {
            project: self.project.clone(),
            revision: self.working.revision,
            kind: kind as i32,
            at_ms: self.now,
            ..Event::default()
        })
    }

    pub(super) fn ack(&self, message_id: u64) -> Outcome {
        Outcome {
            revision: self.working.revision,
            message_id,
            ..Outcome::default()
        }
    }

    /// The project's revision once the mutation under way is committed.
    fn next_revision(&self) -> u64 {
        self.working.revision + 1
    }

    /// The common ending of a mutation: [`commit`](Self::commit), fill the
    /// event with what `done` names (session, files, message, delta), push
    /// it, and build the outcome.
    pub(super) fn finish(
        &mut self,
        t: &mut WriteTables<'_>,
        kind: EventKind,
        events: &mut Vec<Event>,
        done: Done,
    ) -> Result<Outcome, StoreError> {
        let mut event = self.commit(t, kind)?;
        event.session_name = done.session_name;
        event.files = done.files;
        event.message = done.message;
        event.delta = done.delta;
        events.push(event);
        Ok(Outcome {
            session: done.session,
            trash_id: done.trash_id,
            ..self.ack(done.message_id)
        })
    }

    fn open(
        &mut self,
        t: &mut WriteTables<'_>,
        start_empty: bool,
        events: &mut Vec<Event>,
    ) -> Result<Outcome, StoreError> {
        if start_empty && (self.working.message_count > 0 || self.working.file_count > 0) {
            self.replace_working(t, "start-empty", true)?;
            self.finish(t, EventKind::MessagesCleared, events, Done::default())?;
        }
        let state = project_state(&self.project, &self.working, t.saved_count(&self.project)?);
        Ok(Outcome {
            project: Some(state),
            ..self.ack(0)
        })
    }

    /// Moves the working session's messages (and, with `files`, its files)
    /// to the trash by handing its id to a trash entry, and starts a fresh
    /// working session: O(1) whatever the session's length. The fresh one
    /// keeps the files when they are not replaced, and continues the
    /// message ids so no id is ever reused.
    pub(super) fn replace_working(
        &mut self,
        t: &mut WriteTables<'_>,
        reason: &str,
        files: bool,
    ) -> Result<u64, StoreError> {
        let old_id = self.record.working_session;
        let mut old = self.working.clone();
        let (new_id, mut fresh) = t.new_session(&self.project, "", self.now)?;
        fresh.created_at_ms = old.created_at_ms;
        fresh.next_message_id = old.next_message_id;
        fresh.revision = old.revision;
        if !files {
            let kept = t.files(old_id)?;
            fresh.file_count = old.file_count;
            t.put_files(new_id, kept)?;
            t.put_files(old_id, Vec::new())?;
            old.file_count = 0;
        }
        old.name = trash_label(reason, self.now);
        old.updated_at_ms = self.now;
        t.put_session(old_id, &old)?;
        let trash_id = t.trash_session(old_id, &self.project, &old.name, reason, self.now)?;
        self.record.working_session = new_id;
        self.record_changed = true;
        self.working = fresh;
        Ok(trash_id)
    }

    /// Puts a copy of the working session's files alone into the trash.
    fn trash_files(&mut self, t: &mut WriteTables<'_>, reason: &str) -> Result<u64, StoreError> {
        let label = trash_label(reason, self.now);
        let (id, mut record) = t.new_session(&self.project, &label, self.now)?;
        let files = t.files(self.record.working_session)?;
        record.file_count = u32::try_from(files.len()).unwrap_or(u32::MAX);
        record.next_message_id = 1;
        t.put_session(id, &record)?;
        t.put_files(id, files)?;
        t.trash_session(id, &self.project, &label, reason, self.now)
    }
}

/// The name a trashed working-session state is listed (and restored) under.
fn trash_label(reason: &str, now: i64) -> String {
    let when = jiff::Timestamp::from_millisecond(now)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| now.to_string());
    let what = match reason {
        "cleared" => "cleared",
        "start-empty" => "set aside at start",
        "replaced-by-load" => "replaced by load",
        "messages-deleted" => "deleted messages",
        "replaced-by-import" => "replaced by import",
        "rewound" => "rewound",
        other => other,
    };
    format!("working session, {what} {when}")
}

pub fn session_info(record: &SessionRecord) -> SessionInfo {
    SessionInfo {
        project: record.project.clone(),
        name: record.name.clone(),
        created_at_ms: record.created_at_ms,
        updated_at_ms: record.updated_at_ms,
        message_count: record.message_count,
        file_count: record.file_count,
        total_usage: record.usage,
        revision: 0,
        forked_from: record.forked_from.clone(),
        forked_at_message_id: record.forked_at_message_id,
    }
}

pub fn project_state(project: &str, working: &SessionRecord, saved: u32) -> ProjectState {
    ProjectState {
        project: project.to_owned(),
        revision: working.revision,
        message_count: working.message_count,
        file_count: working.file_count,
        updated_at_ms: working.updated_at_ms,
        saved_session_count: saved,
    }
}
