//! Finding the daemon, and starting it when none answers, for every client
//! (the CLI and the desktop app share this, so they agree on how). The
//! daemon is started detached (own session, stdin closed, output to a log in
//! its data dir), so it outlives the program that started it.
//!
//! Errors are plain sentences that name the fix; each client decides how to
//! show them (an exit code, a banner).

use std::{
    fs,
    io::{Read, Seek, SeekFrom},
    os::unix::fs::DirBuilderExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use tonic::transport::Channel;

use crate::{
    ConnectError, SessionsClient,
    v1::{DaemonStatus, GetStatusRequest},
};

/// How long a freshly started daemon may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a stopping daemon may take to let go of its socket.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A client of the daemon's `Sessions` service.
pub type Client = SessionsClient<Channel>;

/// Why the daemon could not be reached, started or stopped.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The daemon is there but refused (another user's socket, a bad pid,
    /// a signal we may not send): starting another would not help.
    #[error("{0}")]
    Refused(String),
    /// No daemon answers and none could be started.
    #[error("{0}")]
    Unavailable(String),
    /// The daemon answered a call with an error.
    #[error(transparent)]
    Rpc(#[from] tonic::Status),
}

/// Connects to the daemon on `socket`, or `None` when nothing listens.
pub async fn try_connect(socket: &Path) -> Result<Option<Client>, StartError> {
    match crate::connect(socket).await {
        Ok(client) => Ok(Some(client)),
        Err(err) if err.is_not_running() => Ok(None),
        Err(err @ ConnectError::PermissionDenied { .. }) => Err(StartError::Refused(err.to_string())),
        Err(err) => Err(StartError::Unavailable(err.to_string())),
    }
}

/// Connects, starting the daemon first when none answers.
pub async fn connect_or_start(socket: &Path) -> Result<Client, StartError> {
    match try_connect(socket).await? {
        Some(client) => Ok(client),
        None => Ok(start(socket).await?.0),
    }
}

/// The `chronicled` next to this executable, else the one on `PATH`.
pub fn daemon_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("chronicled")))
        .filter(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from("chronicled"))
}

/// Where the daemon's log goes when a client starts it.
pub fn log_path() -> Option<PathBuf> {
    crate::default_data_dir().map(|dir| dir.join("chronicled.log"))
}

/// Starts a detached daemon on `socket` and waits until it answers.
pub async fn start(socket: &Path) -> Result<(Client, DaemonStatus), StartError> {
    let log_file = log_path().ok_or_else(|| {
        StartError::Unavailable("cannot pick a data directory for the daemon: set CHRONICLE_DATA_DIR or HOME".into())
    })?;
    if let Some(dir) = log_file.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|err| {
                StartError::Unavailable(format!("cannot create the data directory {}: {err}", dir.display()))
            })?;
    }
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_file)
        .map_err(|err| StartError::Unavailable(format!("cannot open the daemon log {}: {err}", log_file.display())))?;
    let log_len = log.metadata().map(|m| m.len()).unwrap_or(0);
    let err_log = log
        .try_clone()
        .map_err(|err| StartError::Unavailable(format!("cannot open the daemon log {}: {err}", log_file.display())))?;
    let binary = daemon_binary();
    let mut child = Command::new(&binary)
        .arg("--detach")
        .arg("--socket")
        .arg(socket)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err_log)
        .spawn()
        .map_err(|err| {
            StartError::Unavailable(format!(
                "cannot start {}: {err} — install chronicled next to chronicle or on PATH",
                binary.display()
            ))
        })?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(mut client) = try_connect(socket).await?
            && let Ok(status) = client.get_status(GetStatusRequest {}).await
        {
            // The child is the daemon itself; it lives on detached.
            drop(child);
            return Ok((client, status.into_inner()));
        }
        if let Ok(Some(exit)) = child.try_wait() {
            return Err(StartError::Unavailable(format!(
                "chronicled exited ({exit}) instead of starting: {} (log: {})",
                last_line(&log_file, log_len).unwrap_or_else(|| "no output".into()),
                log_file.display()
            )));
        }
        if Instant::now() > deadline {
            return Err(StartError::Unavailable(format!(
                "chronicled did not answer on {} within {}s — see {}",
                socket.display(),
                START_TIMEOUT.as_secs(),
                log_file.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The last non-empty line the daemon wrote after `from`.
fn last_line(log: &Path, from: u64) -> Option<String> {
    let mut file = fs::File::open(log).ok()?;
    file.seek(SeekFrom::Start(from)).ok()?;
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.lines().rev().find(|l| !l.trim().is_empty()).map(str::to_owned)
}

/// Asks the daemon on `socket` to stop (SIGTERM to its pid) and waits until
/// it has let go of its data. Returns the pid, or `None` if none ran.
pub async fn stop(socket: &Path) -> Result<Option<u32>, StartError> {
    let Some(mut client) = try_connect(socket).await? else {
        return Ok(None);
    };
    let status = client.get_status(GetStatusRequest {}).await?.into_inner();
    drop(client);
    let pid = rustix::process::Pid::from_raw(status.pid as i32)
        .ok_or_else(|| StartError::Refused(format!("the daemon reported an invalid pid {}", status.pid)))?;
    rustix::process::kill_process(pid, rustix::process::Signal::TERM)
        .map_err(|err| StartError::Refused(format!("cannot signal the daemon (pid {}): {err}", status.pid)))?;
    // The daemon has stopped when it lets go of its data-directory lock:
    // only then may a new one start on the same data.
    let lock = Path::new(&status.data_dir).join("chronicled.lock");
    let deadline = Instant::now() + STOP_TIMEOUT;
    while !lock_released(&lock) {
        if Instant::now() > deadline {
            return Err(StartError::Refused(format!(
                "the daemon (pid {}) did not stop within {}s",
                status.pid,
                STOP_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Ok(Some(status.pid))
}

fn lock_released(lock: &Path) -> bool {
    match fs::File::open(lock) {
        Ok(file) => file.try_lock_shared().is_ok(),
        Err(_) => true,
    }
}
