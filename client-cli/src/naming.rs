//! The names the CLI gives the files it writes: a file-name-safe stem of
//! a session or project name, plus the local time, so two exports never
//! collide and every name says what and when.

use chronicle_client::text;

/// A file-name-safe stem (see `chronicle_client::text::file_stem`);
/// `session` when nothing of the name is left.
pub fn stem(name: &str) -> String {
    text::file_stem(name).unwrap_or_else(|| "session".to_owned())
}

/// The local time as `YYYYmmdd-HHMMSS`.
pub fn stamp() -> String {
    jiff::ZonedDateTime::now().strftime("%Y%m%d-%H%M%S").to_string()
}

/// The default export name: the daemon's suggested file name without its
/// extension and page number, plus the local time.
pub fn export_stem(suggested: &str) -> String {
    let base = suggested.rsplit_once('.').map_or(suggested, |(base, _)| base);
    let base = base
        .rsplit_once('-')
        .filter(|(_, n)| n.len() == 3 && n.chars().all(|c| c.is_ascii_digit()))
        .map_or(base, |(b, _)| b);
    format!("{}-{}", stem(base), stamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_safe_file_names() {
        assert_eq!(stem("aider 2024-08-05 19:33:02"), "aider-2024-08-05-19-33-02");
        assert_eq!(stem("///"), "session");
    }

    #[test]
    fn default_names_keep_the_session_stem() {
        let name = export_stem("fix-login-001.png");
        assert!(name.starts_with("fix-login-2"), "{name}");
        assert!(!name.contains('/'));
        assert!(export_stem("").starts_with("session-"));
    }
}
