//! `chronicle-export` owns the renderers that turn one session into a
//! document people keep: a Markdown file ([`markdown`]) and PNG pages that
//! look like the chat window ([`png`]). It takes plain data — a
//! [`SessionHeader`], the context files and an iterator of messages (the
//! API's generated types, used as data) — and writes to any `io::Write`,
//! so a session of any length renders in bounded memory. It knows nothing
//! of the database, gRPC or the daemon: the daemon builds the header from
//! its records and streams what the renderers write.

pub mod markdown;
pub mod png;

use chronicle_proto::v1::Usage;

/// What the renderers show about the session itself, above its messages.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionHeader {
    /// The project's absolute path.
    pub project: String,
    /// The saved session's name; empty for the working session.
    pub name: String,
    /// When the session last changed, in ms since the Unix epoch.
    pub updated_at_ms: i64,
    /// How many messages the whole session holds (not only those shown).
    pub message_count: u64,
    /// Token and cost totals over the whole session, when known.
    pub total_usage: Option<Usage>,
    /// When the export was made (Markdown prints it; PNG pages do not, so
    /// the same session renders to the same bytes).
    pub exported_at_ms: i64,
}

impl SessionHeader {
    /// The title documents carry: the name, or "Working session".
    pub fn title(&self) -> &str {
        if self.name.is_empty() {
            "Working session"
        } else {
            &self.name
        }
    }
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing the output failed (the client went away, for one).
    #[error("could not write the export: {0}")]
    Write(#[from] std::io::Error),
    /// Reading the session failed.
    #[error("could not read the session: {0}")]
    Source(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The PNG encoder refused a page (not an I/O failure).
    #[error("could not encode the image: {0}")]
    Encode(String),
}

/// An ISO-8601 UTC time to the second, e.g. `2026-11-26T01:49:19Z`.
pub fn iso_time(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => format!("{ms} ms"),
    }
}

/// A file-name-safe stem for exports: letters, digits, `-` and `_` only.
pub fn file_stem(name: &str) -> String {
    chronicle_client::text::file_stem(name).unwrap_or_else(|| "working-session".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_to_the_second() {
        assert_eq!(iso_time(1_764_121_759_123), "2025-11-26T01:49:19Z");
    }

    #[test]
    fn file_stems_have_no_separators() {
        assert_eq!(file_stem("Fix login/../bug!"), "fix-login-bug");
        assert_eq!(file_stem("///"), "working-session");
    }
}
