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

use chronicle_client::text;
use chronicle_proto::v1::Usage;

/// What the renderers show about the session itself, above its messages.
#[derive(Clone, Debug, PartialEq)]
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
    /// The zone every time is shown in: the user's, as their client sent it.
    pub time_zone: jiff::tz::TimeZone,
}

impl Default for SessionHeader {
    /// An empty header whose times show in UTC.
    fn default() -> SessionHeader {
        SessionHeader {
            project: String::new(),
            name: String::new(),
            updated_at_ms: 0,
            message_count: 0,
            total_usage: None,
            exported_at_ms: 0,
            time_zone: jiff::tz::TimeZone::UTC,
        }
    }
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

    /// A time as documents print it: in the user's zone, to the second,
    /// with the zone's abbreviation (`2026-11-26 10:49:19 KST`).
    pub fn time(&self, ms: i64) -> String {
        text::local_time_seconds(ms, &self.time_zone).unwrap_or_else(|| "time unknown".to_owned())
    }

    /// A time as cards show it: to the minute (`2026-11-26 10:49 KST`).
    pub fn minute(&self, ms: i64) -> String {
        text::local_time(ms, &self.time_zone).unwrap_or_else(|| "time unknown".to_owned())
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

/// A file-name-safe stem for exports: letters, digits, `-` and `_` only.
pub fn file_stem(name: &str) -> String {
    chronicle_client::text::file_stem(name).unwrap_or_else(|| "working-session".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_the_given_zone() {
        let header = SessionHeader::default();
        assert_eq!(header.time(1_764_121_759_123), "2025-11-26 01:49:19 UTC");
        assert_eq!(header.minute(1_764_121_759_123), "2025-11-26 01:49 UTC");
        let seoul = SessionHeader {
            time_zone: jiff::tz::TimeZone::get("Asia/Seoul").expect("the system has the time zone database"),
            ..SessionHeader::default()
        };
        assert_eq!(seoul.time(1_764_121_759_123), "2025-11-26 10:49:19 KST");
        assert_eq!(header.time(0), "time unknown");
    }

    #[test]
    fn file_stems_have_no_separators() {
        assert_eq!(file_stem("Fix login/../bug!"), "fix-login-bug");
        assert_eq!(file_stem("///"), "working-session");
    }
}
