//! Bundles and the store: reading a whole project (or everything) out of
//! one snapshot, and applying a checked bundle in one write transaction.
//!
//! Export walks the tables of one read transaction in a fixed order —
//! projects by path; in each, the working session, then saved sessions by
//! name, then trash entries by time — and hands out one record at a time,
//! messages read lazily, so memory stays flat whatever the size.
//!
//! Import gets a bundle the service has already checked line by line and
//! staged in a spool file (see `crate::service::interop`), so nothing here can be
//! refused: it reads the spool back a line at a time and writes as it
//! goes, inside the batch's one transaction. A failure halfway (the spool
//! unreadable, a damaged record met) fails this import alone: the writer
//! drops the transaction and commits the rest of the batch without it, so
//! nothing of the import is kept. Names are never overwritten — a taken saved
//! name gets a suffix — and each project touched gets one revision and one
//! event, like any other mutation.

use std::{
    fmt,
    fs::File,
    io::{BufRead, BufReader, Seek},
    sync::Mutex,
};

use chronicle_interop::bundle::{
    self as format, ProjectRecord as ProjectLine, Record, SessionKind, SessionRecord as SessionLine,
};
use chronicle_proto::v1::{
    BundleSessionKind, ContextFile, Event, EventKind, ImportBundleResponse, ImportedSession, Message, Usage,
};
use redb::ReadableTable;

use super::ops::{Outcome, ProjectCtx};
use super::records::{self, SessionRecord, TrashRecord};
use super::tables::{self, WriteTables};
use super::validate::{MAX_NAME_CHARS, ProjectPath, SessionName};
use super::{Reader, Store, StoreError};

/// The name a working session gets when it is imported as a saved
/// session (its project's own working session was not empty).
pub const IMPORTED_WORKING_NAME: &str = "imported working session";

/// One record of a bundle, as the export walk hands it out.
#[derive(Debug)]
pub enum Item<'a> {
    Project(&'a ProjectLine),
    Session(&'a SessionLine),
    File(&'a ContextFile),
    Message(&'a Message),
}

/// A consistent snapshot of one project (or all) to write a bundle from.
pub struct BundleSource {
    reader: Reader,
    project: Option<String>,
}

impl Store {
    /// A snapshot of `project` (normalised), or of every project. An
    /// unknown project is `NotFound`.
    pub fn bundle_source(&self, project: Option<&ProjectPath>) -> Result<BundleSource, StoreError> {
        let project = project.map(ProjectPath::as_str);
        let reader = self.read()?;
        if let Some(project) = project
            && reader.project(project)?.is_none()
        {
            return Err(StoreError::NotFound(format!(
                "project {project} is not known to the daemon — `chronicle status` shows the projects it has"
            )));
        }
        Ok(BundleSource {
            reader,
            project: project.map(str::to_owned),
        })
    }
}

/// A trash entry, as the walk orders them.
struct TrashRow {
    project: String,
    trashed_at_ms: i64,
    id: u64,
    record: TrashRecord,
}

impl BundleSource {
    /// Calls `each` for every record after the header, in bundle order.
    pub fn walk<E: From<StoreError>>(&self, mut each: impl FnMut(Item<'_>) -> Result<(), E>) -> Result<(), E> {
        let r = &self.reader;
        let mut projects: Vec<String> = match &self.project {
            Some(project) => vec![project.clone()],
            None => {
                let mut names = Vec::new();
                for row in r.projects.iter().map_err(StoreError::from)? {
                    let (key, _) = row.map_err(StoreError::from)?;
                    names.push(key.value().to_owned());
                }
                names
            }
        };
        // The trash is keyed by id, not project: one pass collects the
        // entries (small records), sorted the way they are written.
        let mut trash = Vec::new();
        for row in r.trash.iter().map_err(StoreError::from)? {
            let (key, value) = row.map_err(StoreError::from)?;
            let id = key.value();
            let record: TrashRecord = records::decode(value.value(), || format!("trash entry {id}"))?;
            if self.project.as_ref().is_some_and(|p| p != &record.project) {
                continue;
            }
            trash.push(TrashRow {
                project: record.project.clone(),
                trashed_at_ms: record.trashed_at_ms,
                id,
                record,
            });
        }
        trash.sort_by(|a, b| {
            (a.project.as_str(), a.trashed_at_ms, a.id).cmp(&(b.project.as_str(), b.trashed_at_ms, b.id))
        });
        // Trash of a project without a record (never written by the store,
        // but cheap to keep) still goes out, under a project line.
        for row in &trash {
            if !projects.contains(&row.project) {
                projects.push(row.project.clone());
            }
        }
        projects.sort();
        projects.dedup();
        let mut trash = trash.into_iter().peekable();
        for project in &projects {
            let record = r.project(project)?;
            each(Item::Project(&ProjectLine {
                project: project.clone(),
                created_at_ms: record.as_ref().map_or(0, |p| p.created_at_ms),
            }))?;
            match &record {
                Some(record) => {
                    let header = tables::read_session(&r.sessions, record.working_session)?;
                    self.session(
                        record.working_session,
                        SessionKind::Working,
                        "",
                        &header,
                        None,
                        &mut each,
                    )?;
                }
                None => each(Item::Session(&SessionLine {
                    kind: SessionKind::Working,
                    name: String::new(),
                    created_at_ms: 0,
                    updated_at_ms: 0,
                    next_message_id: 1,
                    reason: String::new(),
                    trashed_at_ms: 0,
                    forked_from: String::new(),
                    forked_at_message_id: 0,
                }))?,
            }
            for row in r.saved.range((project.as_str(), "")..).map_err(StoreError::from)? {
                let (key, id) = row.map_err(StoreError::from)?;
                let (owner, name) = key.value();
                if owner != project {
                    break;
                }
                let id = id.value();
                let header = tables::read_session(&r.sessions, id)?;
                self.session(id, SessionKind::Saved, name, &header, None, &mut each)?;
            }
            while let Some(row) = trash.next_if(|row| &row.project == project) {
                let header = tables::read_session(&r.sessions, row.record.session_id)?;
                self.session(
                    row.record.session_id,
                    SessionKind::Trash,
                    &row.record.name,
                    &header,
                    Some(&row.record),
                    &mut each,
                )?;
            }
        }
        Ok(())
    }

    fn session<E: From<StoreError>>(
        &self,
        id: u64,
        kind: SessionKind,
        name: &str,
        header: &SessionRecord,
        trash: Option<&TrashRecord>,
        each: &mut impl FnMut(Item<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let r = &self.reader;
        each(Item::Session(&SessionLine {
            kind,
            name: name.to_owned(),
            created_at_ms: header.created_at_ms,
            updated_at_ms: header.updated_at_ms,
            next_message_id: header.next_message_id.max(1),
            reason: trash.map(|t| t.reason.clone()).unwrap_or_default(),
            trashed_at_ms: trash.map_or(0, |t| t.trashed_at_ms),
            forked_from: header.forked_from.clone(),
            forked_at_message_id: header.forked_at_message_id,
        }))?;
        for file in tables::read_files(&r.files, id)? {
            each(Item::File(&file))?;
        }
        for row in r.messages.range((id, 0)..=(id, u64::MAX)).map_err(StoreError::from)? {
            let (key, value) = row.map_err(StoreError::from)?;
            let message_id = key.value().1;
            let message: Message = records::decode(value.value(), || format!("message {message_id} of session {id}"))?;
            each(Item::Message(&message))?;
        }
        Ok(())
    }
}

// ------------------------------------------------------------------- import

/// A checked bundle waiting in its spool file, and how to import it.
pub struct ImportJob {
    /// Read from its start by each run: a batch that must be run again
    /// (another job in it failed) applies the import again from scratch.
    spool: Mutex<File>,
    /// Import every working session as a saved session of this name.
    pub as_name: Option<String>,
    /// A non-empty working session is replaced (it goes to the trash).
    pub replace_working: bool,
}

impl fmt::Debug for ImportJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportJob")
            .field("as_name", &self.as_name)
            .field("replace_working", &self.replace_working)
            .finish_non_exhaustive()
    }
}

impl ImportJob {
    /// `spool` holds the normalised lines of a bundle that passed every
    /// check: projects are the target paths, names and paths normalised.
    pub fn new(spool: File, as_name: Option<SessionName>, replace_working: bool) -> Self {
        ImportJob {
            spool: Mutex::new(spool),
            as_name: as_name.map(SessionName::into_string),
            replace_working,
        }
    }
}

/// A spool that cannot be read back fails this import alone.
fn spool_error(detail: impl fmt::Display) -> StoreError {
    StoreError::ImportFailed(format!("the staged import could not be read back: {detail}"))
}

/// A failure halfway through an import may leave some of it written into
/// the batch's transaction: the writer runs the rest of the batch again
/// without it (see `writer`). The storage failing, a damaged record and a
/// refused value keep their own kind; anything else is this import's.
fn abort(err: StoreError) -> StoreError {
    match err {
        StoreError::Storage(_)
        | StoreError::DiskFull
        | StoreError::Corrupt { .. }
        | StoreError::InvalidArgument(_)
        | StoreError::ImportFailed(_) => err,
        other => StoreError::ImportFailed(other.to_string()),
    }
}

/// Where a session's lines go.
#[derive(Debug)]
enum Target {
    /// Into the project's working session.
    Working,
    /// Into a new saved session of this name.
    Saved(String),
    /// Into a new trash entry.
    Trash,
    /// Into the working session, once there is something to put there:
    /// the current one goes to the trash first.
    ReplaceWorking,
    /// Into a new saved session named after this, once there is
    /// something to put there.
    LaterSaved(String),
}

struct SessionImport {
    line: SessionLine,
    target: Target,
    /// The session written into, once created.
    id: Option<u64>,
    files: Vec<ContextFile>,
    messages: u64,
    usage: Option<Usage>,
}

struct ProjectImport {
    ctx: ProjectCtx,
    registered: bool,
    /// The bundle's working session went into the working session; its
    /// time of last change is kept.
    working_updated_at: Option<i64>,
    saved: Vec<String>,
    trashed: u32,
}

struct Importer<'j> {
    job: &'j ImportJob,
    now: i64,
    project: Option<ProjectImport>,
    session: Option<SessionImport>,
    report: ImportBundleResponse,
    revision: u64,
}

/// Applies a staged bundle inside the batch's transaction.
pub fn import(
    t: &mut WriteTables<'_>,
    job: &ImportJob,
    now: i64,
    events: &mut Vec<Event>,
) -> Result<Outcome, StoreError> {
    let spool = job.spool.lock().map_err(|_| spool_error("its lock was poisoned"))?;
    let mut reader = BufReader::new(&*spool);
    reader.rewind().map_err(spool_error)?;
    let mut importer = Importer {
        job,
        now,
        project: None,
        session: None,
        report: ImportBundleResponse::default(),
        revision: 0,
    };
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(spool_error)? == 0 {
            break;
        }
        let text = std::str::from_utf8(&line).map_err(spool_error)?;
        let record = format::parse_line(text.trim_end()).map_err(|err| spool_error(err.message))?;
        importer.record(t, record, events).map_err(abort)?;
    }
    importer.finish_project(t, events).map_err(abort)?;
    Ok(Outcome {
        revision: importer.revision,
        import: Some(importer.report),
        ..Outcome::default()
    })
}

impl Importer<'_> {
    fn record(&mut self, t: &mut WriteTables<'_>, record: Record, events: &mut Vec<Event>) -> Result<(), StoreError> {
        match record {
            Record::Header(_) | Record::End(_) => Ok(()),
            Record::Project(p) => {
                self.finish_project(t, events)?;
                let registered = t.project(&p.project)?.is_none();
                let mut ctx = ProjectCtx::load(t, &p.project, self.now)?;
                if registered {
                    ctx.record.created_at_ms = p.created_at_ms;
                    ctx.record_changed = true;
                }
                self.report.project_count += 1;
                self.project = Some(ProjectImport {
                    ctx,
                    registered,
                    working_updated_at: None,
                    saved: Vec::new(),
                    trashed: 0,
                });
                Ok(())
            }
            Record::Session(line) => {
                self.finish_session(t)?;
                self.start_session(t, line)
            }
            Record::File(file) => {
                self.ensure_target(t)?;
                if let Some(session) = self.session.as_mut() {
                    session.files.push(file);
                }
                Ok(())
            }
            Record::Message(message) => {
                let id = self.ensure_target(t)?;
                let Some(session) = self.session.as_mut() else {
                    return Ok(());
                };
                if let Some(id) = id {
                    t.put_message(id, &message)?;
                    session.messages += 1;
                    records::add_usage(&mut session.usage, message.usage.as_ref(), 1);
                    self.report.message_count += 1;
                }
                Ok(())
            }
        }
    }

    fn start_session(&mut self, t: &mut WriteTables<'_>, line: SessionLine) -> Result<(), StoreError> {
        let Some(project) = self.project.as_mut() else {
            return Err(spool_error("a session came before its project"));
        };
        let working_empty = project.ctx.working.message_count == 0 && project.ctx.working.file_count == 0;
        let target = match line.kind {
            SessionKind::Working => match &self.job.as_name {
                Some(name) => Target::Saved(unique_name(t, &project.ctx.project, name)?),
                None if working_empty => Target::Working,
                None if self.job.replace_working => Target::ReplaceWorking,
                None => Target::LaterSaved(IMPORTED_WORKING_NAME.to_owned()),
            },
            SessionKind::Saved => Target::Saved(unique_name(t, &project.ctx.project, &line.name)?),
            SessionKind::Trash => Target::Trash,
        };
        let id = match &target {
            Target::Working => Some(project.ctx.record.working_session),
            Target::Saved(name) => Some(new_saved(t, &project.ctx.project, name, self.now)?),
            Target::Trash => Some(t.new_session(&project.ctx.project, &line.name, self.now)?.0),
            Target::ReplaceWorking | Target::LaterSaved(_) => None,
        };
        self.session = Some(SessionImport {
            line,
            target,
            id,
            files: Vec::new(),
            messages: 0,
            usage: None,
        });
        Ok(())
    }

    /// The session lines go into, created now if it waited for content.
    fn ensure_target(&mut self, t: &mut WriteTables<'_>) -> Result<Option<u64>, StoreError> {
        let (Some(session), Some(project)) = (self.session.as_mut(), self.project.as_mut()) else {
            return Err(spool_error("a file or message came before its session"));
        };
        if session.id.is_some() {
            return Ok(session.id);
        }
        match &session.target {
            Target::ReplaceWorking => {
                project.ctx.replace_working(t, "replaced-by-import", true)?;
                session.target = Target::Working;
                session.id = Some(project.ctx.record.working_session);
            }
            Target::LaterSaved(base) => {
                let name = unique_name(t, &project.ctx.project, base)?;
                session.id = Some(new_saved(t, &project.ctx.project, &name, self.now)?);
                session.target = Target::Saved(name);
            }
            _ => {}
        }
        Ok(session.id)
    }

    fn finish_session(&mut self, t: &mut WriteTables<'_>) -> Result<(), StoreError> {
        let (Some(session), Some(project)) = (self.session.take(), self.project.as_mut()) else {
            return Ok(());
        };
        let Some(id) = session.id else {
            // A working session with nothing in it, where the project's
            // own is not empty: there is nothing to import.
            return Ok(());
        };
        let file_count = u32::try_from(session.files.len()).unwrap_or(u32::MAX);
        let line = &session.line;
        let empty = session.messages == 0 && session.files.is_empty();
        // A saved or trashed session as the bundle describes it, ordered
        // by its own time of last change (no revision of this store wrote
        // it).
        let imported = |name: String| SessionRecord {
            project: project.ctx.project.clone(),
            name,
            created_at_ms: line.created_at_ms,
            updated_at_ms: line.updated_at_ms,
            message_count: session.messages,
            next_message_id: line.next_message_id,
            usage: session.usage,
            file_count,
            revision: 0,
            updated_revision: 0,
            forked_from: line.forked_from.clone(),
            forked_at_message_id: line.forked_at_message_id,
        };
        let (kind, name) = match &session.target {
            // An empty working session says nothing about a project that
            // exists already: only a new project takes its times.
            Target::Working if empty && !project.registered => return Ok(()),
            Target::Working => {
                let working = &mut project.ctx.working;
                working.created_at_ms = line.created_at_ms;
                working.next_message_id = working.next_message_id.max(line.next_message_id);
                working.message_count = session.messages;
                working.usage = session.usage;
                working.file_count = file_count;
                t.put_files(id, session.files)?;
                project.working_updated_at = Some(line.updated_at_ms);
                (BundleSessionKind::Working, String::new())
            }
            Target::Saved(name) | Target::LaterSaved(name) => {
                t.put_session(id, &imported(name.clone()))?;
                t.put_files(id, session.files)?;
                project.saved.push(name.clone());
                (BundleSessionKind::Saved, name.clone())
            }
            Target::Trash | Target::ReplaceWorking => {
                t.put_session(id, &imported(line.name.clone()))?;
                t.put_files(id, session.files)?;
                t.trash_session(id, &project.ctx.project, &line.name, &line.reason, line.trashed_at_ms)?;
                project.trashed += 1;
                self.report.trash_count += 1;
                return Ok(());
            }
        };
        self.report.session_count += 1;
        self.report.sessions.push(ImportedSession {
            project: project.ctx.project.clone(),
            kind: bundle_kind(line.kind) as i32,
            name: line.name.clone(),
            imported_as_kind: kind as i32,
            imported_as: name,
            message_count: session.messages,
            file_count,
        });
        Ok(())
    }

    /// One revision and one event for the project: SESSION_LOADED when its
    /// working session changed (clients re-read it), else SESSION_SAVED
    /// or TRASH_CHANGED.
    fn finish_project(&mut self, t: &mut WriteTables<'_>, events: &mut Vec<Event>) -> Result<(), StoreError> {
        self.finish_session(t)?;
        let Some(mut project) = self.project.take() else {
            return Ok(());
        };
        let changed_working = project.working_updated_at.is_some();
        if !project.registered && !changed_working && project.saved.is_empty() && project.trashed == 0 {
            return Ok(());
        }
        let kind = if changed_working {
            EventKind::SessionLoaded
        } else if !project.saved.is_empty() {
            EventKind::SessionSaved
        } else {
            EventKind::TrashChanged
        };
        let mut event = project.ctx.commit(t, kind)?;
        let working_id = project.ctx.record.working_session;
        if let Some(updated_at) = project.working_updated_at {
            // The imported session's own time of last change, not the
            // import's: an export of it gives back the same bundle.
            project.ctx.working.updated_at_ms = updated_at;
            t.put_session(working_id, &project.ctx.working)?;
            event.files = t.files(working_id)?;
        }
        if let [only] = project.saved.as_slice() {
            event.session_name = only.clone();
        }
        self.revision = event.revision;
        events.push(event);
        Ok(())
    }
}

fn bundle_kind(kind: SessionKind) -> BundleSessionKind {
    match kind {
        SessionKind::Working => BundleSessionKind::Working,
        SessionKind::Saved => BundleSessionKind::Saved,
        SessionKind::Trash => BundleSessionKind::Trash,
    }
}

/// A new, empty saved session under `name` (already free).
fn new_saved(t: &mut WriteTables<'_>, project: &str, name: &str, now: i64) -> Result<u64, StoreError> {
    let (id, _) = t.new_session(project, name, now)?;
    t.saved.insert((project, name), id)?;
    Ok(id)
}

/// `base`, or `base (2)`, `base (3)`, … — the first saved name not taken,
/// shortened when needed to stay within the name limit.
pub(super) fn unique_name(t: &WriteTables<'_>, project: &str, base: &str) -> Result<String, StoreError> {
    if t.saved(project, base)?.is_none() {
        return Ok(base.to_owned());
    }
    for n in 2u64.. {
        let suffix = format!(" ({n})");
        let room = MAX_NAME_CHARS.saturating_sub(suffix.chars().count());
        let stem: String = base.chars().take(room).collect();
        let name = format!("{}{suffix}", stem.trim_end());
        if t.saved(project, &name)?.is_none() {
            return Ok(name);
        }
    }
    Err(StoreError::AlreadyExists(format!(
        "every variant of the name \"{base}\" is taken"
    )))
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    fn pp(raw: &str) -> ProjectPath {
        ProjectPath::new(raw).expect("a valid project path")
    }

    fn sn(raw: &str) -> SessionName {
        SessionName::new(raw).expect("a valid session name")
    }

    use chronicle_proto::v1::Role;

    use super::*;
    use crate::store::{Job, Mutation, StoreConfig, validate::MAX_NAME_CHARS};

    fn open(dir: &std::path::Path) -> Store {
        Store::open(&dir.join("chronicle.redb"), StoreConfig::default()).expect("open store")
    }

    /// The bundle of everything in `store`, as the exporter writes it.
    fn export(store: &Store) -> Vec<u8> {
        let source = store.bundle_source(None).expect("snapshot");
        let mut writer = format::Writer::new(Vec::new(), &format::Scope::All).expect("header");
        source
            .walk(|item| -> Result<(), StoreError> {
                let written = match item {
                    Item::Project(p) => writer.project(p),
                    Item::Session(s) => writer.session(s),
                    Item::File(f) => writer.file(f),
                    Item::Message(m) => writer.message(m),
                };
                written.map_err(spool_error)
            })
            .expect("walk");
        writer.finish().expect("end").0
    }

    async fn import(store: &Store, dir: &std::path::Path, bundle: &[u8]) -> ImportBundleResponse {
        let path = dir.join("spool");
        let mut spool = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .expect("spool");
        spool.write_all(bundle).expect("write spool");
        let job = ImportJob::new(spool, None, false);
        store
            .run(Job::Import(std::sync::Arc::new(job)))
            .await
            .expect("import")
            .import
            .expect("a report")
    }

    #[tokio::test]
    async fn a_long_taken_name_gets_a_suffix_within_the_limit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        let long = "n".repeat(MAX_NAME_CHARS);
        let message = Message {
            role: Role::User as i32,
            content: "hi".into(),
            ..Message::default()
        };
        store
            .mutate(&pp("/p"), None, Mutation::Append { message })
            .await
            .expect("append");
        store
            .mutate(
                &pp("/p"),
                None,
                Mutation::Save {
                    name: sn(&long),
                    overwrite: false,
                },
            )
            .await
            .expect("save");
        let bundle = export(&store);
        let mut events = store.subscribe();
        let report = import(&store, dir.path(), &bundle).await;
        let renamed: Vec<&str> = report.sessions.iter().map(|s| s.imported_as.as_str()).collect();
        let expected = format!("{} (2)", "n".repeat(MAX_NAME_CHARS - 4));
        assert_eq!(renamed, ["imported working session", expected.as_str()]);
        assert!(renamed.iter().all(|n| n.chars().count() <= MAX_NAME_CHARS));
        let event = events.recv().await.expect("one event");
        assert_eq!(event.kind, EventKind::SessionSaved as i32);
        assert!(events.try_recv().is_err(), "one event per project");
        store.close();
    }

    #[tokio::test]
    async fn a_fresh_store_exports_what_it_imported_byte_for_byte() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(dir.path());
        for (project, text) in [("/a", "one"), ("/b", "two")] {
            let message = Message {
                role: Role::User as i32,
                content: text.into(),
                ..Message::default()
            };
            store
                .mutate(&pp(project), None, Mutation::Append { message })
                .await
                .expect("append");
        }
        store.mutate(&pp("/a"), None, Mutation::Clear).await.expect("clear");
        let bundle = export(&store);
        store.close();

        let other = tempfile::tempdir().expect("tempdir");
        let fresh = open(other.path());
        let report = import(&fresh, other.path(), &bundle).await;
        assert_eq!((report.project_count, report.trash_count), (2, 1));
        assert_eq!(export(&fresh), bundle);
        fresh.close();
    }
}
