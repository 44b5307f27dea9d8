//! `chronicled`: the daemon that owns every Chronicle session.
//!
//! - [`server`] — socket, peer credentials, lock file, lifecycle.
//! - [`service`] — the gRPC handlers: translate requests and errors.
//! - [`store`] — redb: decides and commits every mutation, durably, then
//!   publishes its event.
//! - [`export`] — renders sessions as Markdown (and, later, PNG).
//!
//! The binary only parses flags and calls [`server::run`] with a shutdown
//! signal, so tests can run the same code on a temporary socket.

pub mod export;
pub mod server;
pub mod service;
pub mod store;
