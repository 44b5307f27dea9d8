//! Dialling the daemon: one connection per client, made only after the
//! socket's directory and the process listening on it are known to belong
//! to this user (another local user could otherwise create the socket
//! first and receive every request, message text included).

use std::{
    io,
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use chronicle_proto::v1::sessions_client::SessionsClient;
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::Error;

/// The generated client on a connected channel: for the calls [`Client`]
/// does not wrap, and for tests that send hand-made requests.
///
/// [`Client`]: crate::Client
pub type Stub = SessionsClient<Channel>;

/// Largest gRPC message a client accepts: one page may carry a message of
/// the daemon's maximum content size (8 MiB) plus its other fields.
pub(crate) const MAX_DECODE_BYTES: usize = 64 * 1024 * 1024;

/// Why a dial did not produce a channel.
#[derive(Debug)]
pub(crate) enum DialError {
    /// Nothing listens: the socket is missing or refuses connections.
    /// Starting a daemon would fix this.
    NotRunning,
    /// Anything else; starting a daemon would not help.
    Failed(Error),
}

/// Refuses a socket directory that another user owns or may write to:
/// whoever controls the directory controls which process answers there.
pub(crate) fn check_socket_dir(socket: &Path) -> Result<(), Error> {
    let Some(dir) = socket.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    let meta = match std::fs::metadata(dir) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => {
            return Err(Error::unavailable(format!(
                "cannot check the socket directory {}: {err}",
                dir.display()
            )));
        }
    };
    let me = rustix::process::getuid().as_raw();
    if meta.uid() != me {
        return Err(Error::unavailable(format!(
            "refusing the socket directory {}: it belongs to uid {}, not to you (uid {me}) — remove it or set CHRONICLE_SOCKET to a path of your own",
            dir.display(),
            meta.uid()
        )));
    }
    if meta.permissions().mode() & 0o022 != 0 {
        return Err(Error::unavailable(format!(
            "refusing the socket directory {}: others may write to it (mode {:o}) — `chmod 700 {}`",
            dir.display(),
            meta.permissions().mode() & 0o777,
            dir.display()
        )));
    }
    Ok(())
}

/// Connects to `socket` and checks, before anything is sent, that the
/// process listening is this user's.
async fn dial_checked(socket: &Path) -> Result<UnixStream, DialError> {
    let stream = UnixStream::connect(socket).await.map_err(|err| classify(socket, err))?;
    let me = rustix::process::getuid().as_raw();
    let peer = stream.peer_cred().map_err(|err| {
        DialError::Failed(Error::unavailable(format!(
            "cannot tell who listens on {}: {err}",
            socket.display()
        )))
    })?;
    if peer.uid() != me {
        return Err(DialError::Failed(Error::unavailable(format!(
            "refusing the socket {}: the process listening there belongs to uid {}, not to you (uid {me}) — another user may be impersonating the daemon",
            socket.display(),
            peer.uid()
        ))));
    }
    Ok(stream)
}

fn classify(socket: &Path, err: io::Error) -> DialError {
    use io::ErrorKind;
    match err.kind() {
        ErrorKind::NotFound | ErrorKind::ConnectionRefused | ErrorKind::NotADirectory => DialError::NotRunning,
        ErrorKind::PermissionDenied => DialError::Failed(Error::refused(format!(
            "permission denied on {} — the daemon there belongs to another user",
            socket.display()
        ))),
        _ => DialError::Failed(Error::unavailable(format!(
            "could not connect to the Chronicle daemon on {}: {err}",
            socket.display()
        ))),
    }
}

/// Dials `socket` once and sets HTTP/2 up on that very connection; should
/// the channel ever reconnect, each new connection is checked the same way.
pub(crate) async fn dial(socket: &Path) -> Result<Channel, DialError> {
    check_socket_dir(socket).map_err(DialError::Failed)?;
    let first = dial_checked(socket).await?;
    let first = Arc::new(Mutex::new(Some(first)));
    let path: Arc<PathBuf> = Arc::new(socket.to_path_buf());
    // The URI is required by the HTTP layer but never resolved: the
    // connector always hands over the Unix socket.
    let endpoint = Endpoint::from_static("http://localhost")
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true);
    endpoint
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let first = first.lock().ok().and_then(|mut slot| slot.take());
            let path = Arc::clone(&path);
            async move {
                let stream = match first {
                    Some(stream) => stream,
                    None => dial_checked(&path).await.map_err(|err| match err {
                        DialError::NotRunning => io::Error::from(io::ErrorKind::ConnectionRefused),
                        DialError::Failed(err) => io::Error::other(err),
                    })?,
                };
                Ok::<_, io::Error>(TokioIo::new(stream))
            }
        }))
        .await
        .map_err(|err| {
            DialError::Failed(Error::unavailable(format!(
                "could not connect to the Chronicle daemon on {}: {err}",
                socket.display()
            )))
        })
}

/// A checked channel to the daemon on `socket`, for the health and
/// reflection clients (and tests) that need the raw channel.
pub async fn channel(socket: &Path) -> Result<Channel, Error> {
    dial(socket).await.map_err(|err| match err {
        DialError::NotRunning => not_running(socket),
        DialError::Failed(err) => err,
    })
}

pub(crate) fn not_running(socket: &Path) -> Error {
    Error::unavailable(format!(
        "no Chronicle daemon is listening on {} — start one with `chronicled` or `chronicle daemon start`",
        socket.display()
    ))
}

pub(crate) fn stub(channel: Channel) -> Stub {
    SessionsClient::new(channel).max_decoding_message_size(MAX_DECODE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_socket_means_not_running() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = dial(&dir.path().join("nothing.sock")).await.err();
        assert!(matches!(err, Some(DialError::NotRunning)), "{err:?}");
    }

    #[test]
    fn a_directory_others_may_write_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let err = check_socket_dir(&dir.path().join("chronicle.sock")).expect_err("refused");
        assert_eq!(err.kind(), crate::ErrorKind::Unavailable);
        assert!(err.to_string().contains("others may write"), "{err}");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
        assert!(check_socket_dir(&dir.path().join("chronicle.sock")).is_ok());
    }
}
