//! What the store keeps: the redb table definitions and the records in them.
//!
//! Records are protobuf-encoded with prost so that fields can be added
//! without a migration (unknown fields are skipped, missing ones default).
//! Messages, context files and usage reuse the API's own message types:
//! the stored form of a message is exactly what a client sent, nothing lost.

use chronicle_proto::v1::{ContextFile, Usage};
use redb::TableDefinition;

use super::StoreError;

/// The schema this build writes. Bump it, with a migration, whenever a table
/// changes in a way old readers would misread.
pub const SCHEMA_VERSION: u64 = 3;

/// `"schema_version"`, `"next_session_id"`, `"next_trash_id"` → value.
pub const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
/// Normalised absolute project path → [`ProjectRecord`].
pub const PROJECTS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("projects");
/// Session id → [`SessionRecord`]: working, saved and trashed sessions alike.
pub const SESSIONS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("sessions");
/// Session id → [`FileList`], kept apart so an append never rewrites it.
pub const FILES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("files");
/// (session id, message id) → [`Message`]: one small row per message.
pub const MESSAGES: TableDefinition<'_, (u64, u64), &[u8]> = TableDefinition::new("messages");
/// (project, name) → session id of a saved session.
pub const SAVED: TableDefinition<'_, (&str, &str), u64> = TableDefinition::new("saved");
/// Trash id → [`TrashRecord`].
pub const TRASH: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("trash");
/// (agent, source session id) → the session an import made of it, so an
/// import again finds it (added without a schema bump: created when missing).
pub const SOURCES: TableDefinition<'_, (&str, &str), u64> = TableDefinition::new("sources");
/// (agent, follow scope) → a follow of that agent's sessions (JSON; the
/// scope is a project path, or empty for all), so follows survive restarts.
pub const SOURCE_FOLLOWS: TableDefinition<'_, (&str, &str), &[u8]> = TableDefinition::new("source_follows");
/// (agent, follow scope, file) → how far that follow has read the file
/// (JSON), written in the transaction that stores what it read.
pub const SOURCE_CURSORS: TableDefinition<'_, (&str, &str, &str), &[u8]> = TableDefinition::new("source_cursors");
/// (session id, source message id) → that message's id in the session: how
/// an import finds what a session holds already without reading all of it
/// (schema 3). A shortcut, not the truth: the message it names is checked.
pub const SOURCE_IDS: TableDefinition<'_, (u64, &str), u64> = TableDefinition::new("source_ids");

pub const KEY_SCHEMA: &str = "schema_version";
pub const KEY_NEXT_SESSION: &str = "next_session_id";
pub const KEY_NEXT_TRASH: &str = "next_trash_id";

/// A project and its working session.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProjectRecord {
    /// Session id of the working session (changes when it is cleared or
    /// replaced: the old id then belongs to a trash entry).
    #[prost(uint64, tag = "1")]
    pub working_session: u64,
    /// Schema 1 kept the revision here; schema 2 keeps it in the working
    /// session's header, so a mutation rewrites one record instead of two.
    /// Read only by the migration.
    #[prost(uint64, tag = "2")]
    pub legacy_revision: u64,
    #[prost(int64, tag = "3")]
    pub created_at_ms: i64,
    /// Schema 1 only, like `legacy_revision`.
    #[prost(int64, tag = "4")]
    pub legacy_updated_at_ms: i64,
}

/// The header of one session: everything listing needs, so listing never
/// reads messages.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SessionRecord {
    #[prost(string, tag = "1")]
    pub project: String,
    /// Empty for a working session; the saved name, or a trash label.
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(int64, tag = "3")]
    pub created_at_ms: i64,
    #[prost(int64, tag = "4")]
    pub updated_at_ms: i64,
    #[prost(uint64, tag = "5")]
    pub message_count: u64,
    /// The id the next appended message gets; ids are never reused within
    /// a session.
    #[prost(uint64, tag = "6")]
    pub next_message_id: u64,
    #[prost(message, optional, tag = "7")]
    pub usage: Option<Usage>,
    #[prost(uint32, tag = "8")]
    pub file_count: u32,
    /// Working sessions only: the project's revision, bumped by exactly one
    /// per committed mutation of the project.
    #[prost(uint64, tag = "9")]
    pub revision: u64,
    /// Saved sessions: the project's revision when the session was last
    /// written (saved or overwritten) — a sequence that, unlike the clock,
    /// never ties or steps back. 0 in records written before it existed
    /// (and for imported sessions), which sort by time alone.
    #[prost(uint64, tag = "10")]
    pub updated_revision: u64,
    /// Sessions made by a fork: the source's name (empty for the working
    /// session) and the last message copied; 0 when not forked.
    #[prost(string, tag = "11")]
    pub forked_from: String,
    #[prost(uint64, tag = "12")]
    pub forked_at_message_id: u64,
}

/// The context files of one session.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FileList {
    #[prost(message, repeated, tag = "1")]
    pub files: Vec<ContextFile>,
}

/// A trash entry: the session id it keeps alive and why it is there.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TrashRecord {
    #[prost(uint64, tag = "1")]
    pub session_id: u64,
    #[prost(string, tag = "2")]
    pub project: String,
    #[prost(string, tag = "3")]
    pub name: String,
    /// deleted | overwritten | replaced-by-load | cleared | start-empty |
    /// messages-deleted | rewound
    #[prost(string, tag = "4")]
    pub reason: String,
    #[prost(int64, tag = "5")]
    pub trashed_at_ms: i64,
}

/// Decodes a stored record, naming it in the error if it is damaged.
pub fn decode<T: prost::Message + Default>(bytes: &[u8], what: impl FnOnce() -> String) -> Result<T, StoreError> {
    T::decode(bytes).map_err(|err| StoreError::Corrupt {
        what: what(),
        detail: err.to_string(),
    })
}

pub fn encode<T: prost::Message>(record: &T) -> Vec<u8> {
    record.encode_to_vec()
}

/// Adds `delta` to `total`, field by field (`sign` is +1.0 or -1.0).
pub fn add_usage(total: &mut Option<Usage>, delta: Option<&Usage>, sign: i8) {
    let Some(delta) = delta else { return };
    let total = total.get_or_insert_with(Usage::default);
    let apply = |a: u64, b: u64| {
        if sign >= 0 {
            a.saturating_add(b)
        } else {
            a.saturating_sub(b)
        }
    };
    total.sent_tokens = apply(total.sent_tokens, delta.sent_tokens);
    total.received_tokens = apply(total.received_tokens, delta.received_tokens);
    total.cache_read_tokens = apply(total.cache_read_tokens, delta.cache_read_tokens);
    total.cache_write_tokens = apply(total.cache_write_tokens, delta.cache_write_tokens);
    total.cost = (total.cost + f64::from(sign) * delta.cost).max(0.0);
}
