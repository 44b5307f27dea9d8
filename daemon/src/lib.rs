//! `chronicled`: the daemon that owns every Chronicle session.
//!
//! - [`server`] — socket (its own, or systemd's), peer credentials, lock
//!   file, readiness, idle exit, lifecycle.
//! - [`service`] — the gRPC handlers: translate requests and errors.
//! - [`store`] — redb: decides and commits every mutation, durably, then
//!   publishes its event.
//! - [`export`] — renders sessions as Markdown (and, later, PNG).
//! - [`interop`] — bundles out and in, and following aider's history.
//! - [`activity`] — who is using the daemon: calls, streams, open projects.
//! - [`watch`] — watches the context files of open projects and reports
//!   vanished and returned files to the store.
//!
//! The binary only parses flags and calls [`server::run`] with a shutdown
//! signal, so tests can run the same code on a temporary socket.

pub mod activity;
pub mod export;
pub mod interop;
pub mod maintenance;
pub mod server;
pub mod service;
pub mod store;
pub mod watch;
