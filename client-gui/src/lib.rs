//! `chronicle-gui`: the desktop client of the Chronicle daemon, in
//! eframe/egui. It keeps no sessions of its own: every change is a call to
//! the daemon (on a background runtime, so the window never waits), and
//! everything shown comes back from the daemon, kept current by `Watch` —
//! a message added with the CLI or in another window appears at once.
//!
//! The crate is a library so tests can drive the real [`App`] with
//! egui_kittest; `main.rs` only parses flags and opens the window.

mod app;
pub mod backend;
mod branch;
mod chat;
mod fonts;
mod messages;
pub mod prefs;
mod search;
mod sessions;
mod tasks;
mod toasts;
mod viewer;
mod widgets;

pub use app::{App, AppConfig, Connection, Phase};
pub use prefs::{Prefs, StartChoice, ThemeChoice};

/// The project a bare `chronicle-gui` opens, by the CLI's rule (shared, so
/// both open the same working session).
pub use chronicle_client::paths::resolve_project;
