//! What can go wrong, sorted by the exit code a script sees. The sorting
//! of gRPC statuses into kinds is `chronicle_client`'s (the desktop app
//! shares it); this module only numbers the kinds.

use std::process::ExitCode;

use chronicle_client::ErrorKind;

/// A failure the user should read: the client crate's error, under the
/// name the commands use.
pub type Failure = chronicle_client::Error;

/// Exit 1: refused; 2: bad usage; 3: no daemon could be reached or started.
pub fn exit_code(failure: &Failure) -> ExitCode {
    ExitCode::from(match failure.kind() {
        ErrorKind::Refused => 1,
        ErrorKind::Usage => 2,
        ErrorKind::Unavailable => 3,
    })
}
