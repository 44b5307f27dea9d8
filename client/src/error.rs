//! The one translation from what went wrong (a gRPC status, a socket that
//! would not answer, a daemon that would not start) into what a frontend
//! shows. Statuses are sorted here once, so the CLI's exit codes and the
//! desktop app's toasts always agree; the daemon's own sentence (which
//! names the thing and the fix) is kept, never replaced by a raw code.

use tonic::Code;

/// How a frontend should treat a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The daemon refused: not found, exists, conflict, storage, a socket
    /// that is not ours. Retrying the same request will not help.
    Refused,
    /// The request itself was wrong (a bad argument, a bad value).
    Usage,
    /// No daemon could be reached or started, or it went away.
    Unavailable,
}

/// A failure a user should read: a kind, one sentence, and the gRPC code
/// when the daemon answered with one.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    code: Option<Code>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            code: None,
        }
    }

    pub fn refused(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Refused, message)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Usage, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unavailable, message)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The status code the daemon answered with, if it answered.
    pub fn code(&self) -> Option<Code> {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        let code = status.code();
        let message = if status.message().is_empty() {
            format!("the daemon refused the request ({})", describe(code))
        } else {
            status.message().to_owned()
        };
        let (kind, message) = match code {
            Code::InvalidArgument | Code::OutOfRange => (ErrorKind::Usage, message),
            Code::Unavailable | Code::Cancelled | Code::DeadlineExceeded => (
                ErrorKind::Unavailable,
                format!("{message} — check `chronicle daemon logs`, or start it with `chronicle daemon start`"),
            ),
            Code::Unknown if status.message().contains("transport") => (
                ErrorKind::Unavailable,
                format!("lost the connection to the daemon: {message}"),
            ),
            _ => (ErrorKind::Refused, message),
        };
        Error {
            kind,
            message,
            code: Some(code),
        }
    }
}

fn describe(code: Code) -> &'static str {
    match code {
        Code::NotFound => "not found",
        Code::AlreadyExists => "already exists",
        Code::FailedPrecondition => "the session changed meanwhile",
        Code::PermissionDenied => "permission denied",
        Code::ResourceExhausted => "a limit was reached",
        Code::Unimplemented => "not supported by this daemon",
        Code::Internal => "storage failure",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_sort_into_kinds_and_keep_the_daemons_sentence() {
        let cases = [
            (Code::InvalidArgument, ErrorKind::Usage),
            (Code::OutOfRange, ErrorKind::Usage),
            (Code::NotFound, ErrorKind::Refused),
            (Code::AlreadyExists, ErrorKind::Refused),
            (Code::FailedPrecondition, ErrorKind::Refused),
            (Code::Internal, ErrorKind::Refused),
            (Code::Unavailable, ErrorKind::Unavailable),
            (Code::DeadlineExceeded, ErrorKind::Unavailable),
        ];
        for (code, kind) in cases {
            let err = Error::from(tonic::Status::new(code, "session \"x\" was not found"));
            assert_eq!(err.kind(), kind, "{code:?}");
            assert_eq!(err.code(), Some(code));
            assert!(err.to_string().starts_with("session \"x\" was not found"), "{err}");
        }
    }

    #[test]
    fn an_empty_status_message_still_reads_as_a_sentence() {
        let err = Error::from(tonic::Status::new(Code::AlreadyExists, ""));
        assert_eq!(err.to_string(), "the daemon refused the request (already exists)");
    }
}
