//! The one thing the daemon and its clients share: the types and services
//! generated from `chronicle/v1/chronicle.proto`, the rule that picks the
//! default socket path, [`connect`], which dials that socket, and
//! [`daemon`], which starts the daemon when none answers.
//!
//! Keeping the socket rule here means the CLI, the GUI and the daemon can
//! never disagree about where to meet.

use std::{
    env,
    path::{Path, PathBuf},
    time::Duration,
};

use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

pub mod client;
pub mod daemon;

/// Generated messages and services of `chronicle.v1`.
#[allow(clippy::all, missing_docs, rust_2018_idioms)]
pub mod v1 {
    tonic::include_proto!("chronicle.v1");
}

pub use v1::sessions_client::SessionsClient;

/// The encoded `FileDescriptorSet` of the API, for the reflection service.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/chronicle_descriptor.bin"));

/// Environment variable that selects the socket, for daemon and clients.
pub const SOCKET_ENV: &str = "CHRONICLE_SOCKET";

/// Environment variable that selects the daemon's data directory.
pub const DATA_DIR_ENV: &str = "CHRONICLE_DATA_DIR";

/// Largest gRPC message a client accepts: one page may carry a message of
/// the daemon's maximum content size (8 MiB) plus its other fields.
pub const CLIENT_MAX_DECODE_BYTES: usize = 64 * 1024 * 1024;

/// The socket path every Chronicle program uses unless told otherwise:
/// `$CHRONICLE_SOCKET`, else `$XDG_RUNTIME_DIR/chronicle/chronicle.sock`,
/// else `/tmp/chronicle-$UID/chronicle.sock`.
pub fn default_socket_path() -> PathBuf {
    if let Some(path) = env::var_os(SOCKET_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    if let Some(runtime) = env::var_os("XDG_RUNTIME_DIR").filter(|p| !p.is_empty()) {
        let runtime = PathBuf::from(runtime);
        if runtime.is_absolute() {
            return runtime.join("chronicle").join("chronicle.sock");
        }
    }
    let uid = rustix::process::getuid().as_raw();
    PathBuf::from(format!("/tmp/chronicle-{uid}/chronicle.sock"))
}

/// The data directory the daemon uses unless told otherwise:
/// `$CHRONICLE_DATA_DIR`, else `$XDG_DATA_HOME/chronicle`, else
/// `~/.local/share/chronicle`. `None` when not even `HOME` is set.
pub fn default_data_dir() -> Option<PathBuf> {
    let from_env = |name: &str| env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    from_env(DATA_DIR_ENV)
        .or_else(|| {
            from_env("XDG_DATA_HOME")
                .filter(|p| p.is_absolute())
                .map(|p| p.join("chronicle"))
        })
        .or_else(|| from_env("HOME").map(|home| home.join(".local/share/chronicle")))
}

/// Why [`connect`] could not reach a daemon.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Nothing is listening: the socket is missing or refuses connections.
    #[error("no Chronicle daemon is listening on {path} — start one with `chronicled` or `chronicle daemon start`")]
    NotRunning { path: PathBuf },
    /// The socket exists but we may not use it.
    #[error("permission denied on {path} — the daemon there belongs to another user")]
    PermissionDenied { path: PathBuf },
    /// Any other failure to dial or set up HTTP/2.
    #[error("could not connect to the Chronicle daemon on {path}: {source}")]
    Other {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ConnectError {
    /// True when starting a daemon would fix this error.
    pub fn is_not_running(&self) -> bool {
        matches!(self, ConnectError::NotRunning { .. })
    }
}

/// Dials the daemon's Unix socket and returns a ready client.
///
/// The socket is probed once first so "nobody is there" is told apart from
/// every other failure; the channel then reconnects on its own if needed.
pub async fn connect(path: &Path) -> Result<SessionsClient<Channel>, ConnectError> {
    let channel = connect_channel(path).await?;
    Ok(SessionsClient::new(channel).max_decoding_message_size(CLIENT_MAX_DECODE_BYTES))
}

/// Like [`connect`] but returns the raw channel, for the health and
/// reflection clients that share it.
pub async fn connect_channel(path: &Path) -> Result<Channel, ConnectError> {
    match UnixStream::connect(path).await {
        Ok(_probe) => {}
        Err(err) => return Err(classify(path, err)),
    }
    let socket = path.to_path_buf();
    // The URI is required by the HTTP layer but never resolved: the
    // connector below always dials the Unix socket.
    let endpoint = Endpoint::from_static("http://chronicle.local")
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true);
    endpoint
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(socket).await?)) }
        }))
        .await
        .map_err(|err| ConnectError::Other {
            path: path.to_path_buf(),
            source: Box::new(err),
        })
}

fn classify(path: &Path, err: std::io::Error) -> ConnectError {
    use std::io::ErrorKind;
    let path = path.to_path_buf();
    match err.kind() {
        ErrorKind::NotFound | ErrorKind::ConnectionRefused | ErrorKind::NotADirectory => {
            ConnectError::NotRunning { path }
        }
        ErrorKind::PermissionDenied => ConnectError::PermissionDenied { path },
        _ => ConnectError::Other {
            path,
            source: Box::new(err),
        },
    }
}

/// A role's short lowercase name as the CLI and exports show it.
pub fn role_name(role: v1::Role) -> &'static str {
    match role {
        v1::Role::Unspecified => "unspecified",
        v1::Role::User => "user",
        v1::Role::Assistant => "assistant",
        v1::Role::Tool => "tool",
        v1::Role::System => "system",
        v1::Role::CommandOutput => "command",
        v1::Role::Log => "log",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_distinct() {
        let names: std::collections::BTreeSet<_> = (0..=6)
            .filter_map(|n| v1::Role::try_from(n).ok())
            .map(role_name)
            .collect();
        assert_eq!(names.len(), 7);
    }

    #[tokio::test]
    async fn connect_to_a_missing_socket_says_not_running() {
        let dir = std::env::temp_dir().join(format!("chronicle-proto-test-{}", std::process::id()));
        let err = connect(&dir.join("nothing.sock")).await.err();
        assert!(matches!(err, Some(ConnectError::NotRunning { .. })), "{err:?}");
    }
}
