//! The interop RPCs: bundles out and in (`ExportBundle`, `ImportBundle`)
//! and following aider's history file (`FollowAider` and friends, run by
//! [`crate::sources::aider`]). Like every handler, this code translates
//! and stages; the store decides and commits.
//!
//! An import is checked completely before anything is written: the
//! client's chunks are cut into lines, each line parsed, checked against
//! the bundle's grammar and the store's rules, normalised and written to
//! an unlinked spool file in the data directory. Only a bundle that passed
//! to its end line reaches the store, as one job. Memory holds one line
//! and a few chunks; the spool holds the rest, and vanishes with its file
//! handle (even on a crash).

use std::{
    fs::{self, File, OpenOptions},
    io::{self, BufWriter},
    os::unix::fs::OpenOptionsExt,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use chronicle_export::file_stem;
use chronicle_interop::bundle::{self as format, BundleError, Checker, FieldError, LineSplitter, Record, Scope};
use chronicle_proto::v1::{
    AiderFollow, ExportBundleRequest, ExportChunk, FollowAiderRequest, ImportBundleChunk, ImportBundleResponse,
    ListAiderFollowsRequest, ListAiderFollowsResponse, Role, UnfollowAiderRequest, UnfollowAiderResponse,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::chunks::{CHUNK_QUEUE, ChunkSink};
use super::context::{Interop, SessionsService};
use super::errors::{fail, invalid, stream_failure};
use crate::activity::Activity;

use crate::store::{BundleItem, ImportJob, Job, Limits, ProjectPath, SessionName, Store, StoreError, validate};

/// Chunks buffered between a fast client and the import checker.
const QUEUE: usize = CHUNK_QUEUE;

// ------------------------------------------------------------------- handlers

pub(super) async fn export_bundle(
    svc: &SessionsService,
    request: Request<ExportBundleRequest>,
) -> Result<Response<ReceiverStream<Result<ExportChunk, Status>>>, Status> {
    stream_bundle(&svc.store, &svc.activity, request.into_inner()).map(Response::new)
}

pub(super) async fn import_bundle(
    svc: &SessionsService,
    request: Request<tonic::Streaming<ImportBundleChunk>>,
) -> Result<Response<ImportBundleResponse>, Status> {
    svc.interop
        .import_bundle(&svc.store, &svc.activity, request.into_inner())
        .await
        .map(Response::new)
}

pub(super) async fn follow_aider(
    svc: &SessionsService,
    request: Request<FollowAiderRequest>,
) -> Result<Response<AiderFollow>, Status> {
    const RPC: &str = "FollowAider";
    let req = request.into_inner();
    let project = ProjectPath::new(&req.project).map_err(|e| fail(RPC, e))?;
    // Stats and reads of up to a run's worth of the file: off the async
    // workers, so a slow or hostile path cannot stall other calls.
    let (follows, ctx) = (svc.interop.follows.clone(), svc.follow_ctx());
    let follow = tokio::task::spawn_blocking(move || follows.follow(&ctx, &project, &req.path, req.catch_up))
        .await
        .map_err(|err| {
            tracing::error!(rpc = RPC, code = ?tonic::Code::Internal, "the follow task failed: {err}");
            Status::internal(format!("the follow could not start: {err}"))
        })?
        .map_err(|e| fail(RPC, e))?;
    Ok(Response::new(follow))
}

pub(super) async fn unfollow_aider(
    svc: &SessionsService,
    request: Request<UnfollowAiderRequest>,
) -> Result<Response<UnfollowAiderResponse>, Status> {
    const RPC: &str = "UnfollowAider";
    let project = ProjectPath::new(&request.into_inner().project).map_err(|e| fail(RPC, e))?;
    let follow = svc.interop.follows.unfollow(&project).map_err(|e| fail(RPC, e))?;
    Ok(Response::new(UnfollowAiderResponse {
        was_following: follow.is_some(),
        follow,
    }))
}

pub(super) async fn list_aider_follows(
    svc: &SessionsService,
    _request: Request<ListAiderFollowsRequest>,
) -> Result<Response<ListAiderFollowsResponse>, Status> {
    Ok(Response::new(ListAiderFollowsResponse {
        follows: svc.interop.follows.list(),
    }))
}

// ------------------------------------------------------------------- export

/// Why writing a bundle stopped.
enum WriteFail {
    Store(StoreError),
    Io(io::Error),
}

impl From<StoreError> for WriteFail {
    fn from(err: StoreError) -> Self {
        WriteFail::Store(err)
    }
}

impl From<io::Error> for WriteFail {
    fn from(err: io::Error) -> Self {
        WriteFail::Io(err)
    }
}

/// Streams a bundle of one project (or all) from one read snapshot.
fn stream_bundle(
    store: &Store,
    activity: &Activity,
    request: ExportBundleRequest,
) -> Result<ReceiverStream<Result<ExportChunk, Status>>, Status> {
    const RPC: &str = "ExportBundle";
    let project = if request.project.is_empty() {
        None
    } else {
        Some(ProjectPath::new(&request.project).map_err(|e| fail(RPC, e))?)
    };
    let source = store.bundle_source(project.as_ref()).map_err(|e| fail(RPC, e))?;
    if let Some(project) = &project {
        activity.touch(project);
    }
    let file_name = match &project {
        Some(project) => {
            let base = Path::new(project.as_str())
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            format!("{}.chronicle.jsonl", file_stem(base.as_deref().unwrap_or("project")))
        }
        None => "everything.chronicle.jsonl".to_owned(),
    };
    let scope = match project {
        Some(project) => Scope::Project(project.into_string()),
        None => Scope::All,
    };
    let (tx, rx) = mpsc::channel(QUEUE);
    // A long export is activity: the daemon must not idle out under it.
    let busy = activity.stream(None);
    tokio::task::spawn_blocking(move || {
        let _busy = busy;
        let mut sink = ChunkSink::new(tx.clone(), file_name);
        let result = (|| -> Result<(), WriteFail> {
            let mut writer = format::Writer::new(&mut sink, &scope)?;
            source.walk(|item| -> Result<(), WriteFail> {
                match item {
                    BundleItem::Project(p) => writer.project(p)?,
                    BundleItem::Session(s) => writer.session(s)?,
                    BundleItem::File(f) => writer.file(f)?,
                    BundleItem::Message(m) => writer.message(m)?,
                }
                Ok(())
            })?;
            writer.finish()?;
            sink.finish()?;
            Ok(())
        })();
        let message = match result {
            Ok(()) => return,
            Err(WriteFail::Io(_)) if sink.client_gone => return,
            Err(WriteFail::Io(err)) => format!("could not write the bundle: {err}"),
            Err(WriteFail::Store(err)) => err.to_string(),
        };
        let _ = tx.blocking_send(Err(stream_failure(RPC, message)));
    });
    Ok(ReceiverStream::new(rx))
}

// ------------------------------------------------------------------- import

/// Options of an import, from its first chunk.
#[derive(Clone, Debug)]
struct Options {
    /// Import the bundle's only project here instead.
    project: Option<String>,
    as_name: Option<SessionName>,
    replace_working: bool,
}

/// Why an import was refused before it reached the store.
enum Refusal {
    Bundle(BundleError),
    Spool(io::Error),
}

impl From<BundleError> for Refusal {
    fn from(err: BundleError) -> Self {
        Refusal::Bundle(err)
    }
}

/// What the checker hands to the store.
struct Staged {
    spool: File,
    projects: Vec<String>,
    bytes: u64,
}

impl Interop {
    /// Checks and stages the streamed bundle, then imports it in one job.
    pub async fn import_bundle(
        &self,
        store: &Store,
        activity: &Activity,
        mut stream: Streaming<ImportBundleChunk>,
    ) -> Result<ImportBundleResponse, Status> {
        const RPC: &str = "ImportBundle";
        // An import is activity: the daemon must not idle out under it.
        let _busy = activity.stream(None);
        let first = stream.message().await?.ok_or_else(|| {
            invalid(
                RPC,
                "the bundle is empty — send its bytes, starting with the header line",
            )
        })?;
        let options = Options {
            project: match first.project.as_str() {
                "" => None,
                raw => Some(ProjectPath::new(raw).map_err(|e| fail(RPC, e))?.into_string()),
            },
            as_name: match first.as_name.trim() {
                "" => None,
                raw => Some(SessionName::new(raw).map_err(|e| fail(RPC, e))?),
            },
            replace_working: first.replace_working,
        };
        let spool = create_spool(&self.data_dir).map_err(|err| spool_status(RPC, &self.data_dir, &err))?;
        let (tx, rx) = mpsc::channel::<Vec<u8>>(QUEUE);
        let limits = store.limits().clone();
        let checker = {
            let options = options.clone();
            tokio::task::spawn_blocking(move || stage(rx, spool, &options, &limits))
        };
        let mut data = Some(first.data);
        loop {
            let chunk = match data.take() {
                Some(chunk) => chunk,
                None => match stream.message().await {
                    Ok(Some(next)) => next.data,
                    Ok(None) => break,
                    // The client gave up: the checker stops with the
                    // channel, and the spool goes with it.
                    Err(status) => return Err(status),
                },
            };
            if tx.send(chunk).await.is_err() {
                // The checker refused the bundle; its answer says why.
                break;
            }
        }
        drop(tx);
        let staged = checker.await.map_err(|err| {
            fail(
                RPC,
                StoreError::InvalidArgument(format!("the import check failed: {err}")),
            )
        })?;
        let staged = match staged {
            Ok(staged) => staged,
            Err(Refusal::Bundle(err)) => {
                return Err(invalid(
                    RPC,
                    format!("the bundle was not imported, nothing changed: {err}"),
                ));
            }
            Err(Refusal::Spool(err)) => return Err(spool_status(RPC, &self.data_dir, &err)),
        };
        let job = ImportJob::new(staged.spool, options.as_name, options.replace_working);
        let outcome = store.run(Job::Import(Arc::new(job))).await.map_err(|e| fail(RPC, e))?;
        for project in &staged.projects {
            activity.touch(project);
        }
        let mut report = outcome.import.unwrap_or_default();
        report.bundle_bytes = staged.bytes;
        tracing::info!(
            projects = report.project_count,
            sessions = report.session_count,
            trash = report.trash_count,
            messages = report.message_count,
            bytes = staged.bytes,
            "imported a bundle"
        );
        Ok(report)
    }
}

fn spool_status(rpc: &'static str, data_dir: &Path, err: &io::Error) -> Status {
    let store_err = if matches!(err.kind(), io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded) {
        StoreError::DiskFull
    } else {
        StoreError::Storage(redb::Error::Io(io::Error::new(
            err.kind(),
            format!(
                "cannot stage the import in {}: {err} — check the data directory",
                data_dir.display()
            ),
        )))
    };
    fail(rpc, store_err)
}

/// A private, already unlinked file in the data directory: it takes the
/// checked bundle, and disappears with its handle whatever happens.
fn create_spool(data_dir: &Path) -> io::Result<File> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let path = data_dir.join(format!(
        "import-{}-{}.spool",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    fs::remove_file(&path)?;
    Ok(file)
}

/// The longest line a bundle may hold: a message's content, reasoning and
/// tool call may each be near the content limit, and JSON may escape a
/// byte into six.
fn max_line(limits: &Limits) -> usize {
    limits.max_content_bytes.saturating_mul(13).saturating_add(1024 * 1024)
}

/// Runs on a blocking thread: reads chunks, checks every line, and writes
/// the normalised records to the spool. Stops at the first error.
fn stage(
    mut chunks: mpsc::Receiver<Vec<u8>>,
    spool: File,
    options: &Options,
    limits: &Limits,
) -> Result<Staged, Refusal> {
    let mut lines = LineSplitter::new(max_line(limits));
    let mut check = LineCheck {
        options,
        limits,
        checker: Checker::new(),
        out: BufWriter::new(spool),
        project: None,
        projects: Vec::new(),
        files_in_session: 0,
        io_error: None,
    };
    let mut bytes = 0u64;
    let mut each = |number: u64, text: &str| check.line(number, text);
    while let Some(chunk) = chunks.blocking_recv() {
        bytes += chunk.len() as u64;
        if let Err(err) = lines.push(&chunk, &mut each) {
            return Err(check_failure(err, &mut check.io_error));
        }
    }
    let last = match lines.finish(&mut each) {
        Ok(last) => last,
        Err(err) => return Err(check_failure(err, &mut check.io_error)),
    };
    check.checker.finish(last)?;
    let spool = check.out.into_inner().map_err(|err| Refusal::Spool(err.into_error()))?;
    Ok(Staged {
        spool,
        projects: check.projects,
        bytes,
    })
}

/// A line error, unless it was really the spool failing.
fn check_failure(err: BundleError, io_error: &mut Option<io::Error>) -> Refusal {
    match io_error.take() {
        Some(io) => Refusal::Spool(io),
        None => Refusal::Bundle(err),
    }
}

/// The per-line check: parse, apply the options, normalise by the store's
/// rules, check the order, spool.
struct LineCheck<'a> {
    options: &'a Options,
    limits: &'a Limits,
    checker: Checker,
    out: BufWriter<File>,
    /// The project being read (the target path).
    project: Option<String>,
    projects: Vec<String>,
    files_in_session: usize,
    /// Set when writing the spool failed (reported as such, not as a
    /// fault of the bundle).
    io_error: Option<io::Error>,
}

impl LineCheck<'_> {
    fn line(&mut self, number: u64, text: &str) -> Result<(), BundleError> {
        let mut record = format::parse_line(text).map_err(|e| e.at(number))?;
        self.normalise(&mut record).map_err(|e| e.at(number))?;
        self.checker.check(&record).map_err(|e| e.at(number))?;
        if let Err(err) = format::write_record(&mut self.out, &record) {
            self.io_error = Some(err);
            return Err(FieldError::new("", "could not be staged").at(number));
        }
        Ok(())
    }

    /// Applies the store's rules (and the import's options) to a record,
    /// so the store gets exactly what it would store.
    fn normalise(&mut self, record: &mut Record) -> Result<(), FieldError> {
        let store_rule = |field: &str, err: StoreError| FieldError::new(field, err.to_string());
        match record {
            Record::Header(Scope::Project(project)) => {
                *project = match &self.options.project {
                    Some(target) => target.clone(),
                    None => ProjectPath::new(project)
                        .map_err(|e| store_rule("project", e))?
                        .into_string(),
                };
            }
            Record::Header(Scope::All) | Record::End(_) => {}
            Record::Project(p) => {
                let target = match &self.options.project {
                    Some(target) => {
                        if !self.projects.is_empty() {
                            return Err(FieldError::new(
                                "project",
                                "is a second project, but --project imports a bundle of one project — leave --project out to import every project where it came from",
                            ));
                        }
                        target.clone()
                    }
                    None => ProjectPath::new(&p.project)
                        .map_err(|e| store_rule("project", e))?
                        .into_string(),
                };
                p.project = target.clone();
                self.project = Some(target.clone());
                self.projects.push(target);
            }
            Record::Session(s) => {
                self.files_in_session = 0;
                if !s.name.is_empty() || s.kind != format::SessionKind::Working {
                    s.name = SessionName::new(&s.name)
                        .map_err(|e| store_rule("name", e))?
                        .into_string();
                }
            }
            Record::File(f) => {
                let Some(project) = &self.project else {
                    return Err(FieldError::new(
                        "type",
                        "a file must follow its project and session lines",
                    ));
                };
                f.path = validate::context_path(project, &f.path).map_err(|e| store_rule("path", e))?;
                self.files_in_session += 1;
                if self.files_in_session > self.limits.max_context_files {
                    return Err(store_rule(
                        "path",
                        validate::too_many_files(self.files_in_session, self.limits),
                    ));
                }
            }
            Record::Message(m) => {
                if let Err(err) = validate::message(m, self.limits) {
                    let field = match Role::try_from(m.role) {
                        Ok(Role::Unspecified) | Err(_) => "role",
                        Ok(_) => "content",
                    };
                    return Err(store_rule(field, err));
                }
            }
        }
        Ok(())
    }
}
