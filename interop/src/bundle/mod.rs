//! The bundle: Chronicle's lossless backup format (`docs/BUNDLE.md`).
//!
//! A bundle is JSON Lines: a header line naming the format and its
//! version, then one record per line — a project, then its sessions, each
//! followed by its context files and its messages — and an end line that
//! counts what came before, so a bundle cut short at a line boundary is
//! still caught. Every field of every stored message and file is written,
//! keys in a fixed order, so the same data always gives the same bytes.
//!
//! Reading is strict and local: [`parse_line`] turns one line into a
//! [`Record`] (naming the field that is wrong), [`Checker`] checks the order
//! of records, and [`LineSplitter`] cuts a byte stream into numbered lines
//! with a bound on their length. None of them holds more than one line.

mod check;
mod lines;
mod read;
mod write;

pub use check::Checker;
pub use lines::LineSplitter;
pub use read::parse_line;
pub use write::{Writer, role_text, write_record};

use chronicle_proto::v1::{ContextFile, Message};

/// The `format` of every bundle's header.
pub const FORMAT: &str = "chronicle-bundle";
/// The version this code writes and the only one it reads.
pub const VERSION: u64 = 1;

/// What a bundle holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One project, named by its absolute path.
    Project(String),
    /// Every project the daemon knows.
    All,
}

/// Which of a project's sessions a session record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Working,
    Saved,
    Trash,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Working => "working",
            SessionKind::Saved => "saved",
            SessionKind::Trash => "trash",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "working" => Some(SessionKind::Working),
            "saved" => Some(SessionKind::Saved),
            "trash" => Some(SessionKind::Trash),
            _ => None,
        }
    }
}

/// A project line: starts everything about one project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectRecord {
    pub project: String,
    pub created_at_ms: i64,
}

/// A session line; its files and then its messages follow it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub kind: SessionKind,
    /// The saved name, or the trash entry's name; empty for the working
    /// session.
    pub name: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// The id the session's next message would get: ids are never reused.
    pub next_message_id: u64,
    /// Trash only: why it is there (deleted, overwritten, cleared, …).
    pub reason: String,
    /// Trash only.
    pub trashed_at_ms: i64,
    /// The session this one was forked from (its name then; empty for the
    /// working session) and the last message copied; empty and 0 when it
    /// was not forked.
    pub forked_from: String,
    pub forked_at_message_id: u64,
}

/// What the end line counts: every record of each kind before it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub projects: u64,
    pub sessions: u64,
    pub files: u64,
    pub messages: u64,
}

/// One line of a bundle. Records live one at a time, so the size of the
/// message variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    Header(Scope),
    Project(ProjectRecord),
    Session(SessionRecord),
    File(ContextFile),
    Message(Message),
    End(Totals),
}

/// Something wrong with one line: which field (empty for the line as a
/// whole) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error, placed at a line of the bundle.
    pub fn at(self, line: u64) -> BundleError {
        BundleError {
            line,
            field: self.field,
            message: self.message,
        }
    }
}

/// Why a bundle is refused: the line (1-based) and field that are wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct BundleError {
    pub line: u64,
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for BundleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            write!(f, "line {}, field `{}`: {}", self.line, self.field, self.message)
        }
    }
}

#[cfg(test)]
mod tests;
