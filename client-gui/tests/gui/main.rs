//! The desktop app's tests as one test binary, one module per area, all
//! sharing `common`: the suite compiles and links once. The tests run in
//! parallel inside one process, so none may change process-wide state
//! (environment, current directory); what a child process needs is passed
//! to its `Command`. `snapshot` compares with `tests/snapshots/`, found from
//! the package directory (where `cargo test` runs), not from this file.

mod common;

mod live;
mod search;
mod sessions_popup;
mod smoke_xvfb;
mod snapshot;
