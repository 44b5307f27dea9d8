//! Writing a bundle: one record per line, keys in the documented order,
//! so the same data always gives the same bytes.

use std::io::{self, Write};

use chronicle_proto::v1::{ContextFile, Message, Role};

use super::*;

/// Writes a bundle: the header when created, one line per record, and the
/// end line (with the totals it counted) on [`Writer::finish`].
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
    totals: Totals,
}

impl<W: Write> Writer<W> {
    pub fn new(mut out: W, scope: &Scope) -> io::Result<Self> {
        write_record(&mut out, &Record::Header(scope.clone()))?;
        Ok(Writer {
            out,
            totals: Totals::default(),
        })
    }

    pub fn project(&mut self, record: &ProjectRecord) -> io::Result<()> {
        self.totals.projects += 1;
        write_project(&mut self.out, record)
    }

    pub fn session(&mut self, record: &SessionRecord) -> io::Result<()> {
        self.totals.sessions += 1;
        write_session(&mut self.out, record)
    }

    pub fn file(&mut self, file: &ContextFile) -> io::Result<()> {
        self.totals.files += 1;
        write_file(&mut self.out, file)
    }

    pub fn message(&mut self, message: &Message) -> io::Result<()> {
        self.totals.messages += 1;
        write_message(&mut self.out, message)
    }

    /// Writes the end line and hands the output back.
    pub fn finish(mut self) -> io::Result<(W, Totals)> {
        write_record(&mut self.out, &Record::End(self.totals.clone()))?;
        Ok((self.out, self.totals))
    }
}

/// Writes one record as one line, keys in the documented order.
pub fn write_record(out: &mut impl Write, record: &Record) -> io::Result<()> {
    match record {
        Record::Header(scope) => {
            let mut o = Obj::line(out, "header")?;
            o.str("format", FORMAT)?;
            o.u64("version", VERSION)?;
            match scope {
                Scope::Project(project) => {
                    o.str("scope", "project")?;
                    o.str("project", project)?;
                }
                Scope::All => o.str("scope", "all")?,
            }
            o.end_line()
        }
        Record::Project(p) => write_project(out, p),
        Record::Session(s) => write_session(out, s),
        Record::File(f) => write_file(out, f),
        Record::Message(m) => write_message(out, m),
        Record::End(t) => {
            let mut o = Obj::line(out, "end")?;
            o.u64("projects", t.projects)?;
            o.u64("sessions", t.sessions)?;
            o.u64("files", t.files)?;
            o.u64("messages", t.messages)?;
            o.end_line()
        }
    }
}

fn write_project(out: &mut impl Write, p: &ProjectRecord) -> io::Result<()> {
    let mut o = Obj::line(out, "project")?;
    o.str("project", &p.project)?;
    o.i64("created_at_ms", p.created_at_ms)?;
    o.end_line()
}

fn write_session(out: &mut impl Write, s: &SessionRecord) -> io::Result<()> {
    let mut o = Obj::line(out, "session")?;
    o.str("kind", s.kind.as_str())?;
    if s.kind != SessionKind::Working {
        o.str("name", &s.name)?;
    }
    o.i64("created_at_ms", s.created_at_ms)?;
    o.i64("updated_at_ms", s.updated_at_ms)?;
    o.u64("next_message_id", s.next_message_id)?;
    if s.kind == SessionKind::Trash {
        o.str("reason", &s.reason)?;
        o.i64("trashed_at_ms", s.trashed_at_ms)?;
    }
    if s.forked_at_message_id != 0 {
        o.str("forked_from", &s.forked_from)?;
        o.u64("forked_at_message_id", s.forked_at_message_id)?;
    }
    o.end_line()
}

fn write_file(out: &mut impl Write, f: &ContextFile) -> io::Result<()> {
    let mut o = Obj::line(out, "file")?;
    o.str("path", &f.path)?;
    o.bool("read_only", f.read_only)?;
    o.i64("added_at_ms", f.added_at_ms)?;
    o.bool("missing", f.missing)?;
    o.end_line()
}

/// The role as the bundle names it: `user`, `command_output`, …
pub fn role_text(role: i32) -> Option<&'static str> {
    Some(match Role::try_from(role).ok()? {
        Role::Unspecified => "unspecified",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
        Role::System => "system",
        Role::CommandOutput => "command_output",
        Role::Log => "log",
    })
}

pub(super) fn parse_role(text: &str) -> Option<Role> {
    let short = text.strip_prefix("ROLE_").unwrap_or(text).to_ascii_lowercase();
    Some(match short.as_str() {
        "user" => Role::User,
        "assistant" => Role::Assistant,
        "tool" => Role::Tool,
        "system" => Role::System,
        "command_output" => Role::CommandOutput,
        "log" => Role::Log,
        _ => return None,
    })
}

/// Optional fields are written only when they hold something, except that
/// `usage` and `tool` are written whenever present (even all zero), since
/// "present and zero" and "absent" are different messages.
fn write_message(out: &mut impl Write, m: &Message) -> io::Result<()> {
    let mut o = Obj::line(out, "message")?;
    o.u64("id", m.id)?;
    match role_text(m.role) {
        Some(role) => o.str("role", role)?,
        // A role this build does not know still round-trips, as a number.
        None => o.i64("role", i64::from(m.role))?,
    }
    o.i64("created_at_ms", m.created_at_ms)?;
    o.str("content", &m.content)?;
    if !m.model.is_empty() {
        o.str("model", &m.model)?;
    }
    if let Some(u) = &m.usage {
        let mut n = o.object("usage")?;
        n.u64("sent_tokens", u.sent_tokens)?;
        n.u64("received_tokens", u.received_tokens)?;
        n.u64("cache_read_tokens", u.cache_read_tokens)?;
        n.u64("cache_write_tokens", u.cache_write_tokens)?;
        n.f64("cost", u.cost)?;
        n.end_object()?;
    }
    if let Some(t) = &m.tool {
        let mut n = o.object("tool")?;
        n.str("name", &t.name)?;
        n.str("call_id", &t.call_id)?;
        n.str("args_json", &t.args_json)?;
        n.str("result_json", &t.result_json)?;
        n.bool("is_error", t.is_error)?;
        n.end_object()?;
    }
    if !m.reasoning.is_empty() {
        o.str("reasoning", &m.reasoning)?;
    }
    if !m.command.is_empty() {
        o.str("command", &m.command)?;
    }
    if !m.log_level.is_empty() {
        o.str("log_level", &m.log_level)?;
    }
    if !m.edited_files.is_empty() {
        let w = o.key("edited_files")?;
        w.write_all(b"[")?;
        for (i, path) in m.edited_files.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            json_string(w, path)?;
        }
        w.write_all(b"]")?;
    }
    if !m.metadata.is_empty() {
        // The map has no order of its own: sorted keys keep bytes stable.
        let mut keys: Vec<&String> = m.metadata.keys().collect();
        keys.sort();
        let mut n = o.object("metadata")?;
        for key in keys {
            n.str(key, &m.metadata[key])?;
        }
        n.end_object()?;
    }
    o.end_line()
}

fn json_string(out: &mut impl Write, text: &str) -> io::Result<()> {
    serde_json::to_writer(out, text).map_err(io::Error::from)
}

/// Writes one JSON object key by key, in the order the calls come.
struct Obj<'a, W: Write> {
    out: &'a mut W,
    first: bool,
}

impl<'a, W: Write> Obj<'a, W> {
    /// Starts a line's object with its `type`.
    fn line(out: &'a mut W, kind: &str) -> io::Result<Self> {
        out.write_all(b"{\"type\":")?;
        json_string(out, kind)?;
        Ok(Obj { out, first: false })
    }

    fn key(&mut self, key: &str) -> io::Result<&mut W> {
        if !self.first {
            self.out.write_all(b",")?;
        }
        self.first = false;
        json_string(self.out, key)?;
        self.out.write_all(b":")?;
        Ok(self.out)
    }

    fn str(&mut self, key: &str, value: &str) -> io::Result<()> {
        let w = self.key(key)?;
        json_string(w, value)
    }

    fn u64(&mut self, key: &str, value: u64) -> io::Result<()> {
        let w = self.key(key)?;
        write!(w, "{value}")
    }

    fn i64(&mut self, key: &str, value: i64) -> io::Result<()> {
        let w = self.key(key)?;
        write!(w, "{value}")
    }

    fn bool(&mut self, key: &str, value: bool) -> io::Result<()> {
        let w = self.key(key)?;
        w.write_all(if value { b"true" } else { b"false" })
    }

    /// JSON has no NaN or infinity: those are written as strings.
    fn f64(&mut self, key: &str, value: f64) -> io::Result<()> {
        let w = self.key(key)?;
        if value.is_nan() {
            json_string(w, "NaN")
        } else if value.is_infinite() {
            json_string(w, if value > 0.0 { "Infinity" } else { "-Infinity" })
        } else {
            serde_json::to_writer(w, &value).map_err(io::Error::from)
        }
    }

    fn object(&mut self, key: &str) -> io::Result<Obj<'_, W>> {
        let w = self.key(key)?;
        w.write_all(b"{")?;
        Ok(Obj { out: w, first: true })
    }

    fn end_object(self) -> io::Result<()> {
        self.out.write_all(b"}")
    }

    fn end_line(self) -> io::Result<()> {
        self.out.write_all(b"}\n")
    }
}
