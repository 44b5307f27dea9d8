//! Starting the daemon when none answers, and stopping it, for every
//! client (the CLI and the desktop app share this, so they agree on how).
//! The daemon is started detached (own session, stdin closed, output to a
//! log in its data dir), so it outlives the program that started it.

use std::{
    fs,
    io::{Read, Seek, SeekFrom},
    os::unix::fs::{DirBuilderExt, OpenOptionsExt},
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use chronicle_proto::v1::DaemonStatus;

use crate::{Client, Error, connect, paths};

/// How long a freshly started daemon may take to answer.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a stopping daemon may take to let go of its socket.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// Connects, starting the daemon first when none answers. The status is
/// there when this call started the daemon.
pub async fn connect_or_start(socket: &Path) -> Result<(Client, Option<DaemonStatus>), Error> {
    match Client::try_connect(socket).await? {
        Some(client) => Ok((client, None)),
        None => {
            let (client, status) = start(socket).await?;
            Ok((client, Some(status)))
        }
    }
}

/// Starts a detached daemon on `socket` and waits until it answers.
pub async fn start(socket: &Path) -> Result<(Client, DaemonStatus), Error> {
    // Never start a daemon into a directory someone else controls.
    connect::check_socket_dir(socket)?;
    let log_file = paths::daemon_log_path().ok_or_else(|| {
        Error::unavailable("cannot pick a data directory for the daemon: set CHRONICLE_DATA_DIR or HOME")
    })?;
    if let Some(dir) = log_file.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|err| Error::unavailable(format!("cannot create the data directory {}: {err}", dir.display())))?;
    }
    let cannot_open =
        |err: std::io::Error| Error::unavailable(format!("cannot open the daemon log {}: {err}", log_file.display()));
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_file)
        .map_err(cannot_open)?;
    let log_len = log.metadata().map(|m| m.len()).unwrap_or(0);
    let err_log = log.try_clone().map_err(cannot_open)?;
    let binary = paths::daemon_binary();
    let mut child = Command::new(&binary)
        .arg("--detach")
        .arg("--socket")
        .arg(socket)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err_log)
        .spawn()
        .map_err(|err| {
            Error::unavailable(format!(
                "cannot start {}: {err} — install chronicled next to chronicle or on PATH",
                binary.display()
            ))
        })?;
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(client) = Client::try_connect(socket).await?
            && let Ok(status) = client.status().await
        {
            // The child is the daemon itself; it lives on detached.
            drop(child);
            return Ok((client, status));
        }
        if let Ok(Some(exit)) = child.try_wait() {
            return Err(Error::unavailable(format!(
                "chronicled exited ({exit}) instead of starting: {} (log: {})",
                last_line(&log_file, log_len).unwrap_or_else(|| "no output".into()),
                log_file.display()
            )));
        }
        if Instant::now() > deadline {
            return Err(Error::unavailable(format!(
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
pub async fn stop(socket: &Path) -> Result<Option<u32>, Error> {
    let Some(client) = Client::try_connect(socket).await? else {
        return Ok(None);
    };
    let status = client.status().await?;
    drop(client);
    let pid = rustix::process::Pid::from_raw(status.pid as i32)
        .ok_or_else(|| Error::refused(format!("the daemon reported an invalid pid {}", status.pid)))?;
    rustix::process::kill_process(pid, rustix::process::Signal::TERM)
        .map_err(|err| Error::refused(format!("cannot signal the daemon (pid {}): {err}", status.pid)))?;
    // The daemon has stopped when it lets go of its data-directory lock:
    // only then may a new one start on the same data.
    let lock = Path::new(&status.data_dir).join("chronicled.lock");
    let deadline = Instant::now() + STOP_TIMEOUT;
    while !lock_released(&lock) {
        if Instant::now() > deadline {
            return Err(Error::refused(format!(
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
