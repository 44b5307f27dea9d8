//! `chronicled`: the daemon that owns every Chronicle session.
//!
//! - [`server`] — socket (its own, or systemd's), peer credentials, lock
//!   file, readiness, idle exit, lifecycle.
//! - [`service`] — the gRPC handlers by area: validate once, translate
//!   requests and errors.
//! - [`store`] — redb: decides and commits every mutation, durably, then
//!   publishes its event.
//! - [`event_stream`] — the pump behind each `Watch` stream.
//! - [`sources`] — the agents' own files read and followed (aider today).
//! - [`activity`] — who is using the daemon: calls, streams, open projects.
//! - [`files_on_disk`] — watches the context files of open projects and
//!   reports vanished and returned files to the store.
//! - [`handshake`] — closes connections that never finish the HTTP/2
//!   handshake.
//! - [`maintenance`] — `--check` and `--repair`, offline.
//!
//! Rendering (Markdown, PNG) lives in the `chronicle-export` crate. The
//! binary only parses flags and calls [`server::run`] with a shutdown
//! signal, so tests can run the same code on a temporary socket.

pub mod activity;
pub mod event_stream;
pub mod files_on_disk;
pub mod handshake;
pub mod maintenance;
pub mod memory;
pub mod search;
pub mod server;
pub mod service;
pub mod sources;
pub mod store;
