//! How every frontend words the same things: role names, counts with
//! their plural, sizes, token usage and times. One table each, so the CLI,
//! the desktop app and the exports never drift apart.

use chronicle_proto::v1::{ContextFile, Role, Usage};
use jiff::tz::TimeZone;

/// The role of a wire value; unknown values read as unspecified.
pub fn role(value: i32) -> Role {
    Role::try_from(value).unwrap_or(Role::Unspecified)
}

/// A role's short lowercase name, as the CLI and JSON output show it.
pub fn role_name(role: Role) -> &'static str {
    role_names(role).0
}

/// A role's short title, as the app's message cards and menus show it.
pub fn role_title(role: Role) -> &'static str {
    role_names(role).1
}

/// A role's full title, as the exports' headings show it.
pub fn role_heading(role: Role) -> &'static str {
    role_names(role).2
}

/// Every name of a role: (CLI and JSON, app, export headings).
fn role_names(role: Role) -> (&'static str, &'static str, &'static str) {
    match role {
        Role::Unspecified => ("unspecified", "Message", "Message"),
        Role::User => ("user", "User", "User"),
        Role::Assistant => ("assistant", "Assistant", "Assistant"),
        Role::Tool => ("tool", "Tool", "Tool"),
        Role::System => ("system", "System", "System"),
        Role::CommandOutput => ("command", "Command", "Command output"),
        Role::Log => ("log", "Log", "Log"),
    }
}

/// What sets a context file apart, in words: "read-only", "missing".
pub fn file_flags(file: &ContextFile) -> Vec<&'static str> {
    let mut flags = Vec::new();
    if file.read_only {
        flags.push("read-only");
    }
    if file.missing {
        flags.push("missing");
    }
    flags
}

/// "1 message", "3 messages": `n` and `one`, with an `s` unless n is 1.
pub fn count(n: u64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// "1 entry", "3 entries": for words whose plural is not just an `s`.
pub fn count_as(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "512 bytes", "40 KiB", "12 MiB": whole units, binary multiples.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 10 * 1024 * 1024 => format!("{} MiB", b / (1024 * 1024)),
        b if b >= 10 * 1024 => format!("{} KiB", b / 1024),
        1 => "1 byte".to_owned(),
        b => format!("{b} bytes"),
    }
}

/// "1.2k sent · 300 received · $0.0120", or empty without usage.
pub fn usage_line(usage: Option<&Usage>) -> String {
    let Some(u) = usage else { return String::new() };
    let mut parts = Vec::new();
    if u.sent_tokens > 0 || u.received_tokens > 0 {
        parts.push(format!(
            "{} sent · {} received",
            tokens(u.sent_tokens),
            tokens(u.received_tokens)
        ));
    }
    if u.cost > 0.0 {
        parts.push(format!("${:.4}", u.cost));
    }
    parts.join(" · ")
}

fn tokens(n: u64) -> String {
    if n >= 10_000 {
        format!("{:.0}k", n as f64 / 1000.0)
    } else if n >= 1000 {
        format!("{:.1}k", n as f64 / 1000.0)
    } else {
        n.to_string()
    }
}

/// A date and time in `tz` to the minute with the zone's abbreviation,
/// e.g. `2026-11-26 10:49 KST`; `None` for a time before 1970 or out of
/// range.
pub fn local_time(ms: i64, tz: &TimeZone) -> Option<String> {
    zoned(ms, tz, "%Y-%m-%d %H:%M %Z")
}

/// [`local_time`] to the second, e.g. `2026-11-26 10:49:19 KST`.
pub fn local_time_seconds(ms: i64, tz: &TimeZone) -> Option<String> {
    zoned(ms, tz, "%Y-%m-%d %H:%M:%S %Z")
}

fn zoned(ms: i64, tz: &TimeZone, format: &str) -> Option<String> {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) if ms > 0 => Some(t.to_zoned_datetime(tz.clone()).strftime(format).to_string()),
        _ => None,
    }
}

/// "just now", "5 minutes ago", "3 days ago", or the local date and time
/// past a month.
pub fn relative_time(ms: i64, now_ms: i64, tz: &TimeZone) -> String {
    let seconds = (now_ms - ms) / 1000;
    let ago = |n: i64, unit: &str| format!("{} ago", count(n.unsigned_abs(), unit));
    match seconds {
        s if s < 45 => "just now".into(),
        s if s < 3600 => ago((s + 30) / 60, "minute"),
        s if s < 86_400 => ago((s + 1800) / 3600, "hour"),
        s if s < 30 * 86_400 => ago((s + 43_200) / 86_400, "day"),
        _ => local_time(ms, tz).unwrap_or_else(|| "?".into()),
    }
}

/// A file-name-safe stem of `name`: lowercase letters, digits, `-` and
/// `_`, runs of anything else as one `-`, at most 64 characters; `None`
/// when nothing of `name` is left.
pub fn file_stem(name: &str) -> Option<String> {
    let mut stem = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_alphanumeric() || c == '-' || c == '_' {
            stem.extend(c.to_lowercase());
        } else if !stem.ends_with('-') {
            stem.push('-');
        }
    }
    let stem: String = stem.trim_matches('-').chars().take(64).collect();
    (!stem.is_empty()).then_some(stem)
}

/// An ISO-8601 UTC time to the millisecond, the form JSON output uses.
pub fn iso_time(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_has_a_distinct_name_and_title() {
        let roles: Vec<Role> = (0..=6).filter_map(|n| Role::try_from(n).ok()).collect();
        let names: std::collections::BTreeSet<_> = roles.iter().map(|r| role_name(*r)).collect();
        let titles: std::collections::BTreeSet<_> = roles.iter().map(|r| role_title(*r)).collect();
        assert_eq!((names.len(), titles.len()), (7, 7));
        assert_eq!(role_name(role(2)), "assistant");
        assert_eq!(role_title(role(99)), "Message");
        assert_eq!(role_heading(Role::CommandOutput), "Command output");
    }

    #[test]
    fn counts_take_their_plural() {
        assert_eq!(count(1, "message"), "1 message");
        assert_eq!(count(0, "message"), "0 messages");
        assert_eq!(count_as(1, "entry", "entries"), "1 entry");
        assert_eq!(count_as(2, "entry", "entries"), "2 entries");
    }

    #[test]
    fn sizes_read_in_whole_units() {
        assert_eq!(size(1), "1 byte");
        assert_eq!(size(900), "900 bytes");
        assert_eq!(size(40 * 1024), "40 KiB");
        assert_eq!(size(12 * 1024 * 1024), "12 MiB");
    }

    #[test]
    fn usage_reads_in_thousands() {
        let usage = Usage {
            sent_tokens: 1234,
            received_tokens: 300,
            cost: 0.012,
            ..Usage::default()
        };
        assert_eq!(usage_line(Some(&usage)), "1.2k sent · 300 received · $0.0120");
        assert_eq!(usage_line(None), "");
    }

    #[test]
    fn relative_times_read_naturally() {
        let tz = TimeZone::UTC;
        let now = 1_000_000_000_000;
        assert_eq!(relative_time(now - 5_000, now, &tz), "just now");
        assert_eq!(relative_time(now - 60_000, now, &tz), "1 minute ago");
        assert_eq!(relative_time(now - 5 * 3_600_000, now, &tz), "5 hours ago");
        assert_eq!(relative_time(now - 2 * 86_400_000, now, &tz), "2 days ago");
        assert_eq!(
            relative_time(1_764_121_740_000, 1_764_121_740_000 + 90 * 86_400_000, &tz),
            "2025-11-26 01:49 UTC"
        );
    }

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(file_stem("Fix login: part 2/3").as_deref(), Some("fix-login-part-2-3"));
        assert_eq!(file_stem("///"), None);
        assert_eq!(file_stem(&"x".repeat(100)).map(|s| s.len()), Some(64));
    }

    #[test]
    fn times_use_the_given_zone() {
        assert_eq!(
            local_time(1_764_121_740_000, &TimeZone::UTC).as_deref(),
            Some("2025-11-26 01:49 UTC")
        );
        let seoul = TimeZone::get("Asia/Seoul").expect("the system has the time zone database");
        assert_eq!(
            local_time_seconds(1_764_121_759_000, &seoul).as_deref(),
            Some("2025-11-26 10:49:19 KST")
        );
        assert_eq!(local_time(0, &TimeZone::UTC), None);
        assert_eq!(iso_time(1_764_121_740_000), "2025-11-26T01:49:00.000Z");
    }
}
