//! How things look: aligned columns, relative times, colour on a terminal
//! only (and never with `NO_COLOR`), and the JSON shapes scripts rely on.

use std::io::{self, IsTerminal, Write};

use chronicle_client::{
    text, time,
    v1::{ContextFile, Message, Role, SessionInfo, TrashEntry, Usage},
};
use jiff::tz::TimeZone;
use serde_json::{Value, json};

/// ANSI styling, switched off when stdout is not a terminal.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    enabled: bool,
}

impl Style {
    pub fn detect() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            enabled: !no_color && io::stdout().is_terminal(),
        }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    /// A search match: bold yellow on a terminal, `**…**` elsewhere.
    pub fn highlight(self, text: &str) -> String {
        if self.enabled {
            self.paint("1;33", text)
        } else {
            format!("**{text}**")
        }
    }

    pub fn role(self, role: i32, text: &str) -> String {
        let code = match text::role(role) {
            Role::User => "1;34",
            Role::Assistant => "1;32",
            Role::Tool => "1;35",
            Role::System => "1;33",
            Role::CommandOutput => "1;36",
            Role::Log | Role::Unspecified => "2",
        };
        self.paint(code, text)
    }
}

/// A role's short name, from its wire value.
pub fn role_label(role: i32) -> &'static str {
    text::role_name(text::role(role))
}

/// "just now", "5 minutes ago", "3 days ago", or a date for old times.
pub fn relative_time(ms: i64) -> String {
    text::relative_time(ms, time::now_ms(), &TimeZone::system())
}

/// A local date and time to the minute, e.g. `2026-11-26 01:49`.
pub fn local_time(ms: i64) -> String {
    text::local_time(ms, &TimeZone::system()).unwrap_or_else(|| "?".into())
}

pub use chronicle_client::text::{count, count_as, iso_time, size, usage_line};

pub fn cost(usage: Option<&Usage>) -> String {
    match usage {
        Some(u) if u.cost > 0.0 => format!("${:.4}", u.cost),
        _ => "-".into(),
    }
}

/// Prints rows as left-aligned columns (the last column is not padded).
pub fn table(out: &mut impl Write, header: &[&str], rows: &[Vec<String>], style: Style) -> io::Result<()> {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| -> String {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count());
                text.push_str(cell);
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        text.trim_end().to_owned()
    };
    writeln!(
        out,
        "{}",
        style.bold(&line(header.iter().map(|h| (*h).to_owned()).collect()))
    )?;
    for row in rows {
        writeln!(out, "{}", line(row.clone()))?;
    }
    Ok(())
}

pub fn usage_json(usage: Option<&Usage>) -> Value {
    let u = usage.cloned().unwrap_or_default();
    json!({
        "sent_tokens": u.sent_tokens,
        "received_tokens": u.received_tokens,
        "cache_read_tokens": u.cache_read_tokens,
        "cache_write_tokens": u.cache_write_tokens,
        "cost": u.cost,
    })
}

pub fn file_json(file: &ContextFile) -> Value {
    json!({
        "path": file.path,
        "read_only": file.read_only,
        "missing": file.missing,
        "added_at": iso_time(file.added_at_ms),
    })
}

pub fn message_json(m: &Message) -> Value {
    let mut value = json!({
        "id": m.id,
        "role": role_label(m.role),
        "content": m.content,
        "created_at": iso_time(m.created_at_ms),
        "model": m.model,
        "usage": m.usage.as_ref().map(|u| usage_json(Some(u))),
    });
    let extra = [
        ("reasoning", (!m.reasoning.is_empty()).then(|| json!(m.reasoning))),
        ("command", (!m.command.is_empty()).then(|| json!(m.command))),
        ("log_level", (!m.log_level.is_empty()).then(|| json!(m.log_level))),
        ("edited_files", (!m.edited_files.is_empty()).then(|| json!(m.edited_files))),
        ("metadata", (!m.metadata.is_empty()).then(|| json!(m.metadata))),
        (
            "tool",
            m.tool.as_ref().map(|t| {
                json!({"name": t.name, "call_id": t.call_id, "args_json": t.args_json, "result_json": t.result_json, "is_error": t.is_error})
            }),
        ),
    ];
    if let Value::Object(map) = &mut value {
        for (key, field) in extra {
            if let Some(field) = field {
                map.insert(key.into(), field);
            }
        }
    }
    value
}

pub fn session_json(s: &SessionInfo) -> Value {
    json!({
        "name": s.name,
        "project": s.project,
        "created_at": iso_time(s.created_at_ms),
        "updated_at": iso_time(s.updated_at_ms),
        "messages": s.message_count,
        "files": s.file_count,
        "usage": usage_json(s.total_usage.as_ref()),
        "forked_from": (s.forked_at_message_id > 0).then(|| json!({
            "session": s.forked_from,
            "message_id": s.forked_at_message_id,
        })),
    })
}

/// "fork of NAME @ID" (or "of working @ID"); empty for a session not forked.
pub fn lineage(s: &SessionInfo) -> String {
    if s.forked_at_message_id == 0 {
        return String::new();
    }
    let from = if s.forked_from.is_empty() {
        "working session".to_owned()
    } else {
        format!("\"{}\"", s.forked_from)
    };
    format!("{from} @{}", s.forked_at_message_id)
}

pub fn trash_json(t: &TrashEntry) -> Value {
    json!({
        "id": t.id,
        "project": t.project,
        "name": t.name,
        "reason": t.reason,
        "trashed_at": iso_time(t.trashed_at_ms),
        "messages": t.message_count,
        "files": t.file_count,
    })
}

/// Prints one JSON document and a newline.
pub fn print_json(out: &mut impl Write, value: &Value) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::from)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let mut out = Vec::new();
        let rows = vec![vec!["a".into(), "1".into()], vec!["long name".into(), "22".into()]];
        table(&mut out, &["NAME", "N"], &rows, Style { enabled: false }).expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(text, "NAME       N\na          1\nlong name  22\n");
    }
}
