//! What can go wrong, sorted by the exit code a script sees. gRPC status
//! codes are translated here and never printed raw; the daemon's own
//! message (which names the thing and the fix) is kept.

use std::process::ExitCode;

use tonic::Code;

/// A failure the user should read, with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Exit 1: the daemon refused (not found, exists, conflict, storage).
    #[error("{0}")]
    Refused(String),
    /// Exit 2: the request itself was wrong.
    #[error("{0}")]
    Usage(String),
    /// Exit 3: no daemon could be reached or started.
    #[error("{0}")]
    Unavailable(String),
}

impl Failure {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Failure::Refused(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Unavailable(_) => 3,
        })
    }
}

impl From<tonic::Status> for Failure {
    fn from(status: tonic::Status) -> Self {
        let message = if status.message().is_empty() {
            format!("the daemon refused the request ({})", describe(status.code()))
        } else {
            status.message().to_owned()
        };
        match status.code() {
            Code::InvalidArgument | Code::OutOfRange => Failure::Usage(message),
            Code::Unavailable | Code::Cancelled | Code::DeadlineExceeded => Failure::Unavailable(format!(
                "{message} — check `chronicle daemon logs`, or start it with `chronicle daemon start`"
            )),
            Code::Unknown if status.message().contains("transport") => {
                Failure::Unavailable(format!("lost the connection to the daemon: {message}"))
            }
            _ => Failure::Refused(message),
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
