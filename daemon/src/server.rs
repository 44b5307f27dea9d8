//! The daemon's lifecycle: claim the data directory (one daemon per data
//! dir), open the store, claim the socket (replacing a stale one) or take
//! the one systemd passed in, serve every service behind the
//! peer-credential check, tell systemd when ready, and on shutdown (a
//! signal, or the idle time passing) drain in-flight calls (for at most
//! [`DRAIN_DEADLINE`]), stop the writer and remove the socket it bound
//! itself.

use std::{
    fs::{self, File, OpenOptions},
    future::Future,
    io::{self, Read, Seek, Write},
    os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    time::Duration,
};

use chronicle_proto::v1::sessions_server::SessionsServer;
use tokio::net::UnixListener;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::UnixListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Status, codegen::http, service::InterceptorLayer, transport::server::UdsConnectInfo};

use crate::activity::Activity;
use crate::files_on_disk::{self, WatchConfig};
use crate::handshake::HandshakeDeadline;
use crate::search::{self, SearchIndex};
use crate::service::{DaemonFacts, SessionsService};
use crate::store::{self, Job, Store, StoreConfig, StoreError};

/// Name of the database file inside the data directory.
pub const DATABASE_FILE: &str = "chronicle.redb";
/// Name of the lock file that makes a data directory single-daemon.
pub const LOCK_FILE: &str = "chronicled.lock";

/// Everything the daemon needs to run.
#[derive(Clone, Debug)]
pub struct Config {
    pub socket: PathBuf,
    pub data_dir: PathBuf,
    pub store: StoreConfig,
    /// Trash entries older than this are purged at start-up and daily.
    pub trash_retention: Duration,
    /// Exit (cleanly) after this long without a call, a connection or an
    /// open stream; `None` serves forever. Meant for socket activation,
    /// where the next connection starts the daemon again.
    pub idle_exit: Option<Duration>,
    /// A project's context files are watched while a `Watch` stream
    /// follows it and for this long after its last call.
    pub watch_window: Duration,
    pub watch: WatchConfig,
    /// A connection that has not sent the HTTP/2 preface and its first
    /// frame within this long is closed.
    pub handshake_timeout: Duration,
    /// Keep the full-text search index (off only to measure its cost).
    pub search_index: bool,
    /// Rebuild the search index from the database at start.
    pub reindex: bool,
}

impl Config {
    /// The defaults of DESIGN.md, for the given socket and data dir.
    pub fn new(socket: PathBuf, data_dir: PathBuf) -> Self {
        Config {
            socket,
            data_dir,
            store: StoreConfig::default(),
            trash_retention: Duration::from_secs(30 * 24 * 3600),
            idle_exit: None,
            watch_window: Duration::from_secs(10 * 60),
            watch: WatchConfig::default(),
            handshake_timeout: Duration::from_secs(10),
            search_index: true,
            reindex: false,
        }
    }

    /// Largest request the server decodes: a message may carry content and
    /// as much again in reasoning and tool output, plus room for the rest.
    fn max_decode_bytes(&self) -> usize {
        self.store.limits.max_content_bytes.saturating_mul(2) + 1024 * 1024
    }
}

/// Why the daemon could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "another chronicled is already running for {data_dir} (pid {pid}) — stop it with `chronicle daemon stop` or use another --data-dir"
    )]
    AlreadyRunning { data_dir: PathBuf, pid: String },
    #[error("the socket {socket} is served by another running daemon — stop it, or pass another --socket")]
    SocketInUse { socket: PathBuf },
    #[error("refusing the socket directory {dir}: {reason}")]
    UnsafeSocketDir { dir: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the database {path} is damaged: {detail}\nNothing was changed. Options: `chronicled --repair` keeps a copy of the damaged file and recovers every record that can still be read; or move the file away to start empty."
    )]
    Damaged { path: PathBuf, detail: String },
    #[error(
        "nothing could be recovered from {path}: {detail}\nThe damaged file is kept, unchanged, at {kept}. To start over, move {path} away."
    )]
    Unrecoverable {
        path: PathBuf,
        kept: PathBuf,
        detail: String,
    },
    #[error("the gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("the reflection service could not be built: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("the socket passed in by the service manager cannot be used: {0}")]
    Inherited(#[source] io::Error),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ServerError + '_ {
    move |source| ServerError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The user the daemon runs as; the only user it serves.
fn own_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

/// Holds the data-directory lock for as long as it lives.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Creates the data dir (0700) and takes its lock, or says who holds it.
/// A data dir that exists already must be ours; one that others may read
/// or enter is tightened to 0700, since it holds every session.
pub fn lock_data_dir(data_dir: &Path) -> Result<DataDirLock, ServerError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .map_err(io_err(data_dir))?;
    let meta = fs::metadata(data_dir).map_err(io_err(data_dir))?;
    if meta.uid() != own_uid() {
        return Err(ServerError::Io {
            path: data_dir.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "the data directory belongs to uid {}, not to you — choose a directory you own",
                    meta.uid()
                ),
            ),
        });
    }
    if meta.mode() & 0o077 != 0 {
        fs::set_permissions(data_dir, fs::Permissions::from_mode(0o700)).map_err(io_err(data_dir))?;
        tracing::warn!(
            dir = %data_dir.display(),
            mode = format!("{:o}", meta.mode() & 0o777),
            "the data directory was open to others; tightened it to 700"
        );
    }
    let path = data_dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(io_err(&path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            return Err(ServerError::AlreadyRunning {
                data_dir: data_dir.to_path_buf(),
                pid: if pid.is_empty() {
                    "unknown".into()
                } else {
                    pid.to_owned()
                },
            });
        }
        Err(fs::TryLockError::Error(err)) => return Err(io_err(&path)(err)),
    }
    file.set_len(0).map_err(io_err(&path))?;
    file.rewind().map_err(io_err(&path))?;
    writeln!(file, "{}", std::process::id()).map_err(io_err(&path))?;
    Ok(DataDirLock { _file: file })
}

/// Makes sure the socket's directory is ours and private, then binds the
/// socket (mode 0600), replacing a stale one left by a crash.
pub fn bind_socket(socket: &Path) -> Result<UnixListener, ServerError> {
    let dir = socket
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    match fs::symlink_metadata(&dir) {
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(io_err(&dir))?;
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(io_err(&dir))?;
        }
        Err(err) => return Err(io_err(&dir)(err)),
        Ok(meta) => {
            if meta.file_type().is_symlink() {
                return Err(ServerError::UnsafeSocketDir {
                    dir,
                    reason: "it is a symbolic link — point --socket at a real directory".into(),
                });
            }
            if meta.uid() != own_uid() {
                return Err(ServerError::UnsafeSocketDir {
                    dir,
                    reason: format!(
                        "it belongs to uid {}, not to you — choose a directory you own",
                        meta.uid()
                    ),
                });
            }
            // Others who may write there could replace the socket with
            // their own; clients refuse such a directory too.
            if meta.mode() & 0o022 != 0 {
                return Err(ServerError::UnsafeSocketDir {
                    dir,
                    reason: format!(
                        "others may write to it (mode {:o}) and could replace the socket — `chmod 700` it or choose a private directory",
                        meta.mode() & 0o777
                    ),
                });
            }
        }
    }
    if let Ok(meta) = fs::symlink_metadata(socket) {
        if !meta.file_type().is_socket() {
            return Err(ServerError::Io {
                path: socket.to_path_buf(),
                source: io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "exists and is not a socket — remove it or pass another --socket",
                ),
            });
        }
        match std::os::unix::net::UnixStream::connect(socket) {
            Ok(_) => {
                return Err(ServerError::SocketInUse {
                    socket: socket.to_path_buf(),
                });
            }
            Err(_) => {
                tracing::info!(socket = %socket.display(), "replacing a stale socket left by an earlier daemon");
                fs::remove_file(socket).map_err(io_err(socket))?;
            }
        }
    }
    let listener = UnixListener::bind(socket).map_err(io_err(socket))?;
    fs::set_permissions(socket, fs::Permissions::from_mode(0o600)).map_err(io_err(socket))?;
    Ok(listener)
}

/// Refuses every call from a process that is not the daemon's own user.
#[allow(clippy::result_large_err)]
fn check_peer(request: Request<()>) -> Result<Request<()>, Status> {
    let cred = request
        .extensions()
        .get::<UdsConnectInfo>()
        .and_then(|info| info.peer_cred);
    match cred {
        Some(cred) if cred.uid() == own_uid() => Ok(request),
        Some(cred) => {
            tracing::warn!(peer_uid = cred.uid(), peer_pid = ?cred.pid(), "refused a call from another user");
            Err(Status::permission_denied(
                "this Chronicle daemon serves only the user who started it — start your own with `chronicled`",
            ))
        }
        None => Err(Status::permission_denied(
            "the caller's credentials could not be checked",
        )),
    }
}

/// Runs the daemon until `shutdown` completes, then drains and cleans up.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
    run_with_listener(config, None, shutdown).await
}

/// Like [`run`], serving on `inherited` when a service manager passed a
/// listening socket in (socket activation). That socket belongs to the
/// manager: it is neither checked, nor chmod'ed, nor removed at exit.
pub async fn run_with_listener(
    mut config: Config,
    inherited: Option<std::os::unix::net::UnixListener>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let _lock = lock_data_dir(&config.data_dir)?;
    let db_path = config.data_dir.join(DATABASE_FILE);
    let store =
        tokio::task::block_in_place(|| Store::open(&db_path, config.store.clone())).map_err(|err| match err {
            StoreError::Open { .. } | StoreError::Corrupt { .. } => ServerError::Damaged {
                path: db_path.clone(),
                detail: err.to_string(),
            },
            other => other.into(),
        })?;
    let activated = inherited.is_some();
    let listener = match inherited {
        Some(listener) => {
            if let Some(path) = listener
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(Path::to_path_buf))
            {
                config.socket = path;
            }
            listener
                .set_nonblocking(true)
                .and_then(|()| UnixListener::from_std(listener))
                .map_err(ServerError::Inherited)
        }
        None => bind_socket(&config.socket),
    };
    let listener = match listener {
        Ok(listener) => listener,
        Err(err) => {
            // Nothing was bound: whatever is at the socket path is not ours.
            tokio::task::block_in_place(|| store.close());
            return Err(err);
        }
    };
    let result = serve(&config, store.clone(), listener, activated, shutdown).await;
    // Let the writer finish whatever was acknowledged-in-progress.
    tokio::task::block_in_place(|| store.close());
    if !activated {
        remove_socket(&config.socket);
    }
    result
}

/// Tells systemd (when it started us with `Type=notify`) how we are; a
/// no-op without `NOTIFY_SOCKET`.
fn tell_systemd(state: sd_notify::NotifyState<'_>) {
    if let Err(err) = sd_notify::notify(&[state]) {
        tracing::warn!(error = %err, "could not notify the service manager");
    }
}

/// Completes once nothing has happened for `limit`; never without one.
async fn idle_timeout(activity: Activity, limit: Option<Duration>) {
    let Some(limit) = limit else {
        return std::future::pending().await;
    };
    let check = (limit / 10).clamp(Duration::from_millis(50), Duration::from_secs(30));
    loop {
        tokio::time::sleep(check).await;
        if activity.idle_for().is_some_and(|idle| idle >= limit) {
            tracing::info!(idle_exit = ?limit, "no client for the idle time: exiting");
            return;
        }
    }
}

/// Removes the socket file if it is still a socket (a successor daemon may
/// already have replaced it; then its own file must stay).
fn remove_socket(socket: &Path) {
    if fs::symlink_metadata(socket).is_ok_and(|m| m.file_type().is_socket()) {
        let _ = fs::remove_file(socket);
    }
}

async fn serve(
    config: &Config,
    store: Store,
    listener: UnixListener,
    activated: bool,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let stop_streams = CancellationToken::new();
    let activity = Activity::new(config.watch_window);
    let facts = DaemonFacts {
        socket: config.socket.clone(),
        data_dir: config.data_dir.clone(),
        started_at_ms: store::now_ms(),
    };
    let search = if config.search_index {
        SearchIndex::start(
            store.clone(),
            config.data_dir.join(search::INDEX_DIR),
            config.reindex,
            stop_streams.clone(),
        )
        .map_err(io_err(&config.data_dir))?
    } else {
        SearchIndex::disabled(store.clone())
    };
    let service = SessionsService::new(store.clone(), facts, stop_streams.clone())
        .with_activity(activity.clone())
        .with_search(search.clone());
    service.resume_follows();
    let sessions = SessionsServer::new(service).max_decoding_message_size(config.max_decode_bytes());
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<SessionsServer<SessionsService>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(chronicle_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(chronicle_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let watcher = files_on_disk::spawn(
        store.clone(),
        activity.clone(),
        config.watch.clone(),
        stop_streams.clone(),
    );
    let purger = tokio::spawn(purge_old_trash(store, config.trash_retention));
    tracing::info!(
        socket = %config.socket.display(),
        data_dir = %config.data_dir.display(),
        version = env!("CARGO_PKG_VERSION"),
        socket_activated = activated,
        "chronicled is serving"
    );
    let stop = stop_streams.clone();
    let calls = activity.clone();
    let connections = activity.clone();
    let idle = idle_timeout(activity, config.idle_exit);
    let handshake_timeout = config.handshake_timeout;
    // Connections queue on the listener until the server polls it, so
    // ready is true from here on.
    tell_systemd(sd_notify::NotifyState::Ready);
    let serving = tonic::transport::Server::builder()
        .layer(tower::util::MapResponseLayer::new(stamp_version))
        .layer(InterceptorLayer::new(move |request| {
            let request = check_peer(request)?;
            calls.call();
            Ok(request)
        }))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .add_service(sessions)
        .serve_with_incoming_shutdown(
            UnixListenerStream::new(listener).map(move |connection| {
                connections.call();
                connection.map(|stream| HandshakeDeadline::new(stream, handshake_timeout))
            }),
            async move {
                tokio::select! {
                    () = shutdown => {}
                    () = idle => {}
                }
                tell_systemd(sd_notify::NotifyState::Stopping);
                tracing::info!("shutting down: finishing in-flight calls");
                health.set_not_serving::<SessionsServer<SessionsService>>().await;
                stop.cancel();
            },
        );
    // A connection closes only once its client acknowledges the goodbye:
    // a client that never answers again (a stopped process) must not keep
    // the daemon from exiting. What was acknowledged is durable already.
    let drained = async {
        stop_streams.cancelled().await;
        tokio::time::sleep(DRAIN_DEADLINE).await;
    };
    let result = tokio::select! {
        result = serving => result,
        () = drained => {
            tracing::warn!(
                seconds = DRAIN_DEADLINE.as_secs(),
                "a client did not close its connection after shutdown began; exiting without it"
            );
            Ok(())
        }
    };
    purger.abort();
    watcher.abort();
    // The indexer stops at the next event boundary; what it committed last
    // is where the next start resumes.
    stop_streams.cancel();
    tokio::task::block_in_place(|| search.join());
    result.map_err(ServerError::from)
}

/// How long shutdown waits for clients to finish their calls and close
/// their connections.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// Every answer carries the daemon's version, so a client learns it from
/// its first call instead of asking separately.
fn stamp_version<B>(mut response: http::Response<B>) -> http::Response<B> {
    response.headers_mut().insert(
        chronicle_client::VERSION_HEADER,
        http::HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
    );
    response
}

/// Purges trash older than the retention at start-up and then daily;
/// nothing younger is ever touched.
async fn purge_old_trash(store: Store, retention: Duration) {
    let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    let mut daily = tokio::time::interval(Duration::from_secs(24 * 3600));
    loop {
        daily.tick().await;
        let job = Job::PurgeTrash {
            id: None,
            older_than_ms: store::now_ms().saturating_sub(retention_ms),
            expected_revision: None,
        };
        match store.run(job).await {
            Ok(outcome) if outcome.purged > 0 => {
                tracing::info!(purged = outcome.purged, "purged trash past its retention")
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "could not purge old trash; will retry tomorrow"),
        }
    }
}
