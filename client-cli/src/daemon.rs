//! Finding the daemon, and starting it when none answers: the CLI never
//! asks a new user to think about the daemon. How is shared with the
//! desktop app in `chronicle_proto::daemon`; this module turns its errors
//! into exit codes and adds the CLI's own version warning.

use std::path::{Path, PathBuf};

use chronicle_proto::{
    daemon::{self, StartError},
    v1::{DaemonStatus, GetStatusRequest},
};

use crate::error::Failure;

pub use chronicle_proto::daemon::Client;

impl From<StartError> for Failure {
    fn from(err: StartError) -> Self {
        match err {
            StartError::Refused(message) => Failure::Refused(message),
            StartError::Unavailable(message) => Failure::Unavailable(message),
            StartError::Rpc(status) => Failure::from(status),
        }
    }
}

/// Connects to the daemon on `socket`, or `None` when nothing listens.
pub async fn try_connect(socket: &Path) -> Result<Option<Client>, Failure> {
    Ok(daemon::try_connect(socket).await?)
}

/// Connects, starting the daemon first when none answers; warns when the
/// running daemon is older than this CLI.
pub async fn connect_or_start(socket: &Path) -> Result<Client, Failure> {
    let mut client = daemon::connect_or_start(socket).await?;
    if let Ok(status) = client.get_status(GetStatusRequest {}).await {
        warn_if_older(&status.into_inner().version);
    }
    Ok(client)
}

fn warn_if_older(daemon_version: &str) {
    let parse = |v: &str| -> Option<Vec<u64>> { v.split('.').map(|p| p.parse().ok()).collect() };
    let ours = env!("CARGO_PKG_VERSION");
    if let (Some(theirs), Some(mine)) = (parse(daemon_version), parse(ours))
        && theirs < mine
    {
        eprintln!(
            "chronicle: warning: the running daemon is version {daemon_version}, older than this CLI ({ours}) — restart it with `chronicle daemon restart`"
        );
    }
}

/// Where the daemon's log goes when the CLI starts it.
pub fn log_path() -> Option<PathBuf> {
    daemon::log_path()
}

/// Starts a detached daemon on `socket` and waits until it answers.
pub async fn start(socket: &Path) -> Result<(Client, DaemonStatus), Failure> {
    Ok(daemon::start(socket).await?)
}

/// Asks the daemon on `socket` to stop and waits until it has. Returns the
/// pid, or `None` if none ran.
pub async fn stop(socket: &Path) -> Result<Option<u32>, Failure> {
    Ok(daemon::stop(socket).await?)
}
