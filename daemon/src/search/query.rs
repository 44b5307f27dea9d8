//! The query language of docs/SEARCH.md, parsed into plain parts: words,
//! phrases, excluded words and phrases, and the filters. Knows nothing of
//! tantivy; a query that does not parse is refused with the token and its
//! position (1-based, in characters), so the user can find it.

use chronicle_proto::v1::Role;

/// A value that matches exactly, or by its beginning (`gpt-5*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pattern {
    Exact(String),
    Prefix(String),
}

/// A parsed query. Filters of one kind are alternatives (`role:user
/// role:assistant` matches either); different kinds must all hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedQuery {
    pub words: Vec<String>,
    pub phrases: Vec<String>,
    pub excluded_words: Vec<String>,
    pub excluded_phrases: Vec<String>,
    pub roles: Vec<Role>,
    pub models: Vec<Pattern>,
    pub tools: Vec<Pattern>,
    pub projects: Vec<String>,
    pub sessions: Vec<String>,
    pub files: Vec<String>,
    /// Messages created before this time (ms), exclusive.
    pub before_ms: Option<i64>,
    /// Messages created at or after this time (ms).
    pub after_ms: Option<i64>,
}

impl ParsedQuery {
    /// Words or phrases the ranking can use (filters alone match by time).
    pub fn has_text(&self) -> bool {
        !self.words.is_empty() || !self.phrases.is_empty()
    }
}

/// Why a query did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the query does not parse at position {position} (`{token}`): {reason}")]
pub struct QueryError {
    pub token: String,
    pub position: usize,
    pub reason: String,
}

const FILTERS: &str = "role:, model:, tool:, project:, session:, file:, before:, after:";

/// Parses `text`; `now_ms` anchors durations (`after:7d`).
pub fn parse(text: &str, now_ms: i64) -> Result<ParsedQuery, QueryError> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut query = ParsedQuery::default();
    let mut i = 0;
    let mut any = false;
    while i < chars.len() {
        if chars[i].1.is_whitespace() {
            i += 1;
            continue;
        }
        any = true;
        let start = i;
        let negated = chars[i].1 == '-' && chars.get(i + 1).is_some_and(|(_, c)| !c.is_whitespace());
        if negated {
            i += 1;
        }
        let error = |end: usize, reason: String| QueryError {
            token: slice(text, &chars, start, end).to_owned(),
            position: start + 1,
            reason,
        };
        if chars[i].1 == '"' {
            let (phrase, end) = quoted(text, &chars, i)
                .map_err(|end| error(end, "this quote is never closed — add the closing \"".to_owned()))?;
            i = end;
            if !searchable(&phrase) {
                return Err(error(i, "the phrase has no letters or digits to search for".to_owned()));
            }
            if negated {
                query.excluded_phrases.push(phrase);
            } else {
                query.phrases.push(phrase);
            }
            continue;
        }
        // A bare token runs to the next space; a filter's value may be quoted.
        let mut end = i;
        while end < chars.len() && !chars[end].1.is_whitespace() && chars[end].1 != ':' {
            end += 1;
        }
        let key = slice(text, &chars, i, end);
        let is_filter = end < chars.len()
            && chars[end].1 == ':'
            && !key.is_empty()
            && key.chars().all(|c| c.is_ascii_lowercase())
            && chars.get(end + 1).is_some_and(|(_, c)| *c != ':' && *c != '/');
        if !is_filter {
            while end < chars.len() && !chars[end].1.is_whitespace() {
                end += 1;
            }
            let word = slice(text, &chars, i, end).to_owned();
            i = end;
            if !searchable(&word) {
                return Err(error(i, "this word has no letters or digits to search for".to_owned()));
            }
            if negated {
                query.excluded_words.push(word);
            } else {
                query.words.push(word);
            }
            continue;
        }
        let key = key.to_owned();
        let value_start = end + 1;
        let (value, value_end) = match chars.get(value_start) {
            Some((_, '"')) => quoted(text, &chars, value_start)
                .map_err(|end| error(end, "this quote is never closed — add the closing \"".to_owned()))?,
            Some((_, c)) if !c.is_whitespace() => {
                let mut end = value_start;
                while end < chars.len() && !chars[end].1.is_whitespace() {
                    end += 1;
                }
                (slice(text, &chars, value_start, end).to_owned(), end)
            }
            _ => {
                return Err(error(
                    value_start,
                    format!("`{key}:` needs a value right after the colon"),
                ));
            }
        };
        i = value_end;
        if negated {
            return Err(error(
                i,
                format!("filters cannot be negated — drop the `-` before `{key}:`"),
            ));
        }
        if value.trim().is_empty() {
            return Err(error(i, format!("`{key}:` needs a value right after the colon")));
        }
        let fail = |reason: String| error(value_end, reason);
        match key.as_str() {
            "role" => query.roles.push(role(&value).ok_or_else(|| {
                fail(format!(
                    "`{value}` is not a role — use user, assistant, tool, system, command or log"
                ))
            })?),
            "model" => query.models.push(pattern(&value).map_err(fail)?),
            "tool" => query.tools.push(pattern(&value).map_err(fail)?),
            "project" => query.projects.push(value),
            "session" => query.sessions.push(value),
            "file" => query.files.push(value.trim_start_matches("./").to_owned()),
            "before" => {
                let at = time_value(&value, now_ms).map_err(fail)?;
                query.before_ms = Some(query.before_ms.map_or(at, |b| b.min(at)));
            }
            "after" => {
                let at = time_value(&value, now_ms).map_err(fail)?;
                query.after_ms = Some(query.after_ms.map_or(at, |a| a.max(at)));
            }
            other => return Err(fail(format!("`{other}:` is not a filter — the filters are {FILTERS}"))),
        }
    }
    if !any {
        return Err(QueryError {
            token: String::new(),
            position: 1,
            reason: "the query is empty — give a word, a \"phrase\" or a filter".to_owned(),
        });
    }
    Ok(query)
}

/// The text between chars `start` and `end` (exclusive).
fn slice<'t>(text: &'t str, chars: &[(usize, char)], start: usize, end: usize) -> &'t str {
    let from = chars.get(start).map_or(text.len(), |(at, _)| *at);
    let to = chars.get(end).map_or(text.len(), |(at, _)| *at);
    &text[from..to]
}

/// A quoted string starting at the quote `open`: its content and the
/// char index after the closing quote, or the end when never closed.
fn quoted(text: &str, chars: &[(usize, char)], open: usize) -> Result<(String, usize), usize> {
    let close = (open + 1..chars.len())
        .find(|&j| chars[j].1 == '"')
        .ok_or(chars.len())?;
    Ok((slice(text, chars, open + 1, close).to_owned(), close + 1))
}

fn searchable(text: &str) -> bool {
    text.chars().any(char::is_alphanumeric)
}

fn role(value: &str) -> Option<Role> {
    Some(match value.to_ascii_lowercase().as_str() {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        "system" => Role::System,
        "command" | "command-output" | "command_output" => Role::CommandOutput,
        "log" => Role::Log,
        _ => return None,
    })
}

/// `name` or `prefix*`; a `*` anywhere else is refused.
fn pattern(value: &str) -> Result<Pattern, String> {
    let lower = value.to_lowercase();
    match lower.strip_suffix('*') {
        Some(prefix) if !prefix.contains('*') => Ok(Pattern::Prefix(prefix.to_owned())),
        _ if lower.contains('*') => Err(format!("`{value}`: `*` may only end a value, as in gpt-5*")),
        _ => Ok(Pattern::Exact(lower)),
    }
}

/// A date (`2026-11-01`, midnight UTC), a timestamp (`2026-11-01T12:00:00Z`)
/// or a duration back from now (`7d`, `12h`).
fn time_value(value: &str, now_ms: i64) -> Result<i64, String> {
    if let Ok(date) = value.parse::<jiff::civil::Date>() {
        return date
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|err| format!("`{value}`: {err}"));
    }
    if let Ok(at) = value.parse::<jiff::Timestamp>() {
        return Ok(at.as_millisecond());
    }
    match chronicle_client::time::parse_duration(value) {
        Ok(ago) => Ok(now_ms.saturating_sub(chronicle_client::time::duration_ms(ago))),
        Err(_) => Err(format!(
            "`{value}` is neither a date (2026-11-01), a time (2026-11-01T12:00:00Z) nor a duration (7d, 12h)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn ok(text: &str) -> ParsedQuery {
        parse(text, NOW).unwrap_or_else(|err| panic!("{text}: {err}"))
    }

    fn err(text: &str) -> QueryError {
        parse(text, NOW).expect_err(text)
    }

    #[test]
    fn words_phrases_and_exclusions() {
        let q = ok(r#"login  "token refresh" -flaky -"old code""#);
        assert_eq!(q.words, ["login"]);
        assert_eq!(q.phrases, ["token refresh"]);
        assert_eq!(q.excluded_words, ["flaky"]);
        assert_eq!(q.excluded_phrases, ["old code"]);
    }

    #[test]
    fn every_filter() {
        let q = ok(
            r#"role:assistant model:GPT-5* tool:apply_patch project:web session:"fix login" file:./src/a.rs before:2026-11-01 after:7d"#,
        );
        assert_eq!(q.roles, [Role::Assistant]);
        assert_eq!(q.models, [Pattern::Prefix("gpt-5".into())]);
        assert_eq!(q.tools, [Pattern::Exact("apply_patch".into())]);
        assert_eq!(q.projects, ["web"]);
        assert_eq!(q.sessions, ["fix login"]);
        assert_eq!(q.files, ["src/a.rs"]);
        assert_eq!(q.before_ms, Some(1793491200000));
        assert_eq!(q.after_ms, Some(NOW - 7 * 86_400_000));
        assert!(!q.has_text());
    }

    #[test]
    fn words_with_colons_that_are_not_filters_stay_words() {
        assert_eq!(ok("std::io").words, ["std::io"]);
        assert_eq!(ok("https://example.com").words, ["https://example.com"]);
        assert_eq!(ok("C:foo").words, ["C:foo"]);
        assert!(err("-").reason.contains("no letters"));
    }

    #[test]
    fn refusals_name_the_token_and_position() {
        let e = err("login \"never closed");
        assert_eq!((e.position, e.token.as_str()), (7, "\"never closed"));
        let e = err("a rol:user");
        assert_eq!((e.position, e.token.as_str()), (3, "rol:user"));
        assert!(e.reason.contains("not a filter"), "{e}");
        let e = err("x role:robot");
        assert_eq!(e.position, 3);
        assert!(e.reason.contains("not a role"));
        assert_eq!(err("after:yesterday").position, 1);
        assert!(err("model:g*pt").reason.contains("may only end"));
        assert!(err("-role:user").reason.contains("cannot be negated"));
        assert!(err("role: x").reason.contains("needs a value"));
        assert!(err("   ").reason.contains("empty"));
        assert!(err("ok !!!").reason.contains("no letters"));
        // Positions count characters, not bytes.
        assert_eq!(err("é rol:x").position, 3);
    }
}
