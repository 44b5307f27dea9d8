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

use std::{
    collections::HashSet,
    io::{self, Write},
};

use chronicle_proto::v1::{ContextFile, Message, Role, ToolCall, Usage};
use serde_json::{Map, Value};

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

// ------------------------------------------------------------------ writing

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

fn parse_role(text: &str) -> Option<Role> {
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

// ------------------------------------------------------------------ reading

/// Parses one line into a record. Checks types, required fields and
/// unknown fields (refused: silently dropping one would lose data), not
/// the order of records (that is [`Checker`]'s job).
pub fn parse_line(line: &str) -> Result<Record, FieldError> {
    let value: Value = serde_json::from_str(line).map_err(|err| {
        let text = err.to_string();
        let what = text.rsplit_once(" at line ").map_or(text.as_str(), |(what, _)| what);
        FieldError::new(
            "",
            format!(
                "not valid JSON at column {} ({what}) — the bundle is damaged or cut short",
                err.column()
            ),
        )
    })?;
    let Value::Object(map) = value else {
        return Err(FieldError::new(
            "",
            format!(
                "is {}, not a JSON object — every line of a bundle is one object",
                kind(&value)
            ),
        ));
    };
    let mut o = Fields::new(map, "");
    let kind = o.req_str("type")?;
    let record = match kind.as_str() {
        "header" => parse_header(&mut o)?,
        "project" => Record::Project(ProjectRecord {
            project: o.req_str("project")?,
            created_at_ms: o.opt_i64("created_at_ms")?,
        }),
        "session" => parse_session(&mut o)?,
        "file" => Record::File(ContextFile {
            path: o.req_str("path")?,
            read_only: o.opt_bool("read_only")?,
            added_at_ms: o.opt_i64("added_at_ms")?,
            missing: o.opt_bool("missing")?,
        }),
        "message" => Record::Message(parse_message(&mut o)?),
        "end" => Record::End(Totals {
            projects: o.req_u64("projects")?,
            sessions: o.req_u64("sessions")?,
            files: o.req_u64("files")?,
            messages: o.req_u64("messages")?,
        }),
        other => {
            return Err(FieldError::new(
                "type",
                format!(
                    "is {:?} — a line is one of header, project, session, file, message or end",
                    excerpt(other)
                ),
            ));
        }
    };
    o.done()?;
    Ok(record)
}

fn parse_header(o: &mut Fields) -> Result<Record, FieldError> {
    // Format and version first: a newer bundle may well have other fields.
    let format = o.req_str("format")?;
    if format != FORMAT {
        return Err(FieldError::new(
            "format",
            format!(
                "is {:?}, not {FORMAT:?} — this is not a Chronicle bundle",
                excerpt(&format)
            ),
        ));
    }
    let version = o.req_u64("version")?;
    if version != VERSION {
        return Err(FieldError::new(
            "version",
            format!("is {version}, but this Chronicle reads bundle version {VERSION} — upgrade Chronicle to import it"),
        ));
    }
    let scope = o.req_str("scope")?;
    let scope = match scope.as_str() {
        "project" => Scope::Project(o.req_str("project")?),
        "all" => Scope::All,
        other => {
            return Err(FieldError::new(
                "scope",
                format!("is {:?} — use \"project\" or \"all\"", excerpt(other)),
            ));
        }
    };
    Ok(Record::Header(scope))
}

fn parse_session(o: &mut Fields) -> Result<Record, FieldError> {
    let kind_text = o.req_str("kind")?;
    let kind = SessionKind::parse(&kind_text).ok_or_else(|| {
        FieldError::new(
            "kind",
            format!("is {:?} — use working, saved or trash", excerpt(&kind_text)),
        )
    })?;
    let name = match kind {
        SessionKind::Working => {
            if o.has("name") {
                return Err(FieldError::new(
                    "name",
                    "a working session has no name — remove the field",
                ));
            }
            String::new()
        }
        _ => o.req_str("name")?,
    };
    let created_at_ms = o.opt_i64("created_at_ms")?;
    let updated_at_ms = o.opt_i64("updated_at_ms")?;
    let next_message_id = o.req_u64("next_message_id")?;
    if next_message_id == 0 {
        return Err(FieldError::new(
            "next_message_id",
            "is 0 — message ids start at 1, so it is at least 1",
        ));
    }
    let (reason, trashed_at_ms) = if kind == SessionKind::Trash {
        (o.req_str("reason")?, o.req_i64("trashed_at_ms")?)
    } else {
        for field in ["reason", "trashed_at_ms"] {
            if o.has(field) {
                return Err(FieldError::new(
                    field,
                    format!("only a trash session has a {field} — this one is {}", kind.as_str()),
                ));
            }
        }
        (String::new(), 0)
    };
    Ok(Record::Session(SessionRecord {
        kind,
        name,
        created_at_ms,
        updated_at_ms,
        next_message_id,
        reason,
        trashed_at_ms,
    }))
}

fn parse_message(o: &mut Fields) -> Result<Message, FieldError> {
    let id = o.req_u64("id")?;
    if id == 0 {
        return Err(FieldError::new("id", "is 0 — message ids start at 1"));
    }
    let role = match o.take("role") {
        None => return Err(FieldError::new("role", "is missing")),
        Some(Value::String(text)) => parse_role(&text).ok_or_else(|| {
            FieldError::new(
                "role",
                format!(
                    "is {:?} — use user, assistant, tool, system, command_output or log",
                    excerpt(&text)
                ),
            )
        })? as i32,
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| FieldError::new("role", format!("is {n}, not a role number")))?,
        Some(other) => {
            return Err(FieldError::new(
                "role",
                format!("must be a string such as \"user\", found {}", kind(&other)),
            ));
        }
    };
    let mut message = Message {
        id,
        role,
        created_at_ms: o.opt_i64("created_at_ms")?,
        content: o.opt_str("content")?,
        model: o.opt_str("model")?,
        reasoning: o.opt_str("reasoning")?,
        command: o.opt_str("command")?,
        log_level: o.opt_str("log_level")?,
        edited_files: o.opt_str_list("edited_files")?,
        metadata: o.opt_str_map("metadata")?,
        ..Message::default()
    };
    if let Some(mut u) = o.opt_obj("usage")? {
        message.usage = Some(Usage {
            sent_tokens: u.opt_u64("sent_tokens")?,
            received_tokens: u.opt_u64("received_tokens")?,
            cache_read_tokens: u.opt_u64("cache_read_tokens")?,
            cache_write_tokens: u.opt_u64("cache_write_tokens")?,
            cost: u.opt_f64("cost")?,
        });
        u.done()?;
    }
    if let Some(mut t) = o.opt_obj("tool")? {
        message.tool = Some(ToolCall {
            name: t.opt_str("name")?,
            call_id: t.opt_str("call_id")?,
            args_json: t.opt_str("args_json")?,
            result_json: t.opt_str("result_json")?,
            is_error: t.opt_bool("is_error")?,
        });
        t.done()?;
    }
    Ok(message)
}

/// At most this many characters of a bad value are quoted back.
fn excerpt(text: &str) -> String {
    const MAX: usize = 48;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The fields of one JSON object, taken one by one; whatever is left at
/// [`Fields::done`] is an unknown field.
struct Fields {
    map: Map<String, Value>,
    prefix: String,
}

impl Fields {
    fn new(map: Map<String, Value>, prefix: &str) -> Self {
        Fields {
            map,
            prefix: prefix.to_owned(),
        }
    }

    fn name(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    fn error(&self, key: &str, message: impl Into<String>) -> FieldError {
        FieldError::new(self.name(key), message)
    }

    fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }

    /// The value, if present; `null` counts as absent.
    fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key).filter(|v| !v.is_null())
    }

    fn wrong(&self, key: &str, wanted: &str, found: &Value) -> FieldError {
        self.error(key, format!("must be {wanted}, found {}", kind(found)))
    }

    fn missing(&self, key: &str) -> FieldError {
        self.error(key, "is missing")
    }

    fn opt_str(&mut self, key: &str) -> Result<String, FieldError> {
        match self.take(key) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(self.wrong(key, "a string", &other)),
        }
    }

    fn req_str(&mut self, key: &str) -> Result<String, FieldError> {
        if !self.has(key) {
            return Err(self.missing(key));
        }
        self.opt_str(key)
    }

    fn opt_u64(&mut self, key: &str) -> Result<u64, FieldError> {
        match self.take(key) {
            None => Ok(0),
            Some(Value::Number(n)) => n
                .as_u64()
                .ok_or_else(|| self.error(key, format!("is {n} — it must be a whole number, 0 or more"))),
            Some(other) => Err(self.wrong(key, "a whole number", &other)),
        }
    }

    fn req_u64(&mut self, key: &str) -> Result<u64, FieldError> {
        if !self.has(key) {
            return Err(self.missing(key));
        }
        self.opt_u64(key)
    }

    fn opt_i64(&mut self, key: &str) -> Result<i64, FieldError> {
        match self.take(key) {
            None => Ok(0),
            Some(Value::Number(n)) => n
                .as_i64()
                .ok_or_else(|| self.error(key, format!("is {n} — it must be a whole number of milliseconds"))),
            Some(other) => Err(self.wrong(key, "a whole number", &other)),
        }
    }

    fn req_i64(&mut self, key: &str) -> Result<i64, FieldError> {
        if !self.has(key) {
            return Err(self.missing(key));
        }
        self.opt_i64(key)
    }

    fn opt_bool(&mut self, key: &str) -> Result<bool, FieldError> {
        match self.take(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(b),
            Some(other) => Err(self.wrong(key, "true or false", &other)),
        }
    }

    fn opt_f64(&mut self, key: &str) -> Result<f64, FieldError> {
        match self.take(key) {
            None => Ok(0.0),
            Some(Value::Number(n)) => n
                .as_f64()
                .ok_or_else(|| self.error(key, format!("is {n}, not a number"))),
            Some(Value::String(s)) => match s.as_str() {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                _ => Err(self.error(
                    key,
                    format!(
                        "is the string {:?} — write a number (or \"NaN\", \"Infinity\")",
                        excerpt(&s)
                    ),
                )),
            },
            Some(other) => Err(self.wrong(key, "a number", &other)),
        }
    }

    fn opt_obj(&mut self, key: &str) -> Result<Option<Fields>, FieldError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Fields::new(map, &self.name(key)))),
            Some(other) => Err(self.wrong(key, "an object", &other)),
        }
    }

    fn opt_str_list(&mut self, key: &str) -> Result<Vec<String>, FieldError> {
        match self.take(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s),
                    other => Err(self.error(
                        &format!("{key}[{i}]"),
                        format!("must be a string, found {}", kind(&other)),
                    )),
                })
                .collect(),
            Some(other) => Err(self.wrong(key, "an array of strings", &other)),
        }
    }

    fn opt_str_map(&mut self, key: &str) -> Result<std::collections::HashMap<String, String>, FieldError> {
        match self.take(key) {
            None => Ok(Default::default()),
            Some(Value::Object(map)) => map
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k, s)),
                    other => Err(self.error(
                        &format!("{key}.{k}"),
                        format!("must be a string, found {}", kind(&other)),
                    )),
                })
                .collect(),
            Some(other) => Err(self.wrong(key, "an object of strings", &other)),
        }
    }

    fn done(self) -> Result<(), FieldError> {
        let Some(key) = self.map.keys().next() else {
            return Ok(());
        };
        Err(self.error(
            key,
            "is not a field of bundle version 1 — remove it (an unknown field is refused rather than dropped)",
        ))
    }
}

// ------------------------------------------------------------------ grammar

/// Checks that records come in a bundle's order: the header first; each
/// project once, its working session first; each session's files before
/// its messages, message ids increasing; the end line last, with totals
/// that match. Holds the names of one project's saved sessions and one
/// session's file paths, nothing more.
#[derive(Debug, Default)]
pub struct Checker {
    scope: Option<Scope>,
    projects: HashSet<String>,
    project: Option<String>,
    saved_names: HashSet<String>,
    session: Option<OpenSession>,
    counted: Totals,
    ended: bool,
}

#[derive(Debug)]
struct OpenSession {
    next_message_id: u64,
    last_id: u64,
    in_messages: bool,
    paths: HashSet<String>,
}

impl Checker {
    pub fn new() -> Self {
        Checker::default()
    }

    /// The header's scope, once it was read.
    pub fn scope(&self) -> Option<&Scope> {
        self.scope.as_ref()
    }

    pub fn check(&mut self, record: &Record) -> Result<(), FieldError> {
        if self.ended {
            return Err(FieldError::new(
                "type",
                "comes after the end line — nothing may follow it; the bundle is damaged",
            ));
        }
        if self.scope.is_none() && !matches!(record, Record::Header(_)) {
            return Err(FieldError::new(
                "type",
                "the bundle must start with its header line — is this a Chronicle bundle?",
            ));
        }
        match record {
            Record::Header(scope) => {
                if self.scope.is_some() {
                    return Err(FieldError::new("type", "a second header — a bundle has exactly one"));
                }
                self.scope = Some(scope.clone());
            }
            Record::Project(p) => {
                if let Some(Scope::Project(only)) = &self.scope
                    && only != &p.project
                {
                    return Err(FieldError::new(
                        "project",
                        format!(
                            "is {:?}, but the header says the bundle holds only {:?}",
                            excerpt(&p.project),
                            excerpt(only)
                        ),
                    ));
                }
                if !self.projects.insert(p.project.clone()) {
                    return Err(FieldError::new(
                        "project",
                        format!("{:?} appears twice — a project is written once", excerpt(&p.project)),
                    ));
                }
                self.counted.projects += 1;
                self.project = Some(p.project.clone());
                self.saved_names.clear();
                self.session = None;
            }
            Record::Session(s) => {
                if self.project.is_none() {
                    return Err(FieldError::new("type", "a session must follow its project line"));
                }
                let first = self.session.is_none();
                match (first, s.kind) {
                    (true, SessionKind::Working) | (false, SessionKind::Saved | SessionKind::Trash) => {}
                    (true, _) => {
                        return Err(FieldError::new(
                            "kind",
                            "the first session of a project must be its working session",
                        ));
                    }
                    (false, SessionKind::Working) => {
                        return Err(FieldError::new(
                            "kind",
                            "a second working session — a project has exactly one",
                        ));
                    }
                }
                if s.kind == SessionKind::Saved && !self.saved_names.insert(s.name.clone()) {
                    return Err(FieldError::new(
                        "name",
                        format!("saved session {:?} appears twice in this project", excerpt(&s.name)),
                    ));
                }
                self.counted.sessions += 1;
                self.session = Some(OpenSession {
                    next_message_id: s.next_message_id,
                    last_id: 0,
                    in_messages: false,
                    paths: HashSet::new(),
                });
            }
            Record::File(f) => {
                let Some(session) = self.session.as_mut() else {
                    return Err(FieldError::new("type", "a file must follow its session line"));
                };
                if session.in_messages {
                    return Err(FieldError::new(
                        "type",
                        "a session's files come before its messages, not after",
                    ));
                }
                if !session.paths.insert(f.path.clone()) {
                    return Err(FieldError::new(
                        "path",
                        format!("{:?} appears twice in this session", excerpt(&f.path)),
                    ));
                }
                self.counted.files += 1;
            }
            Record::Message(m) => {
                let Some(session) = self.session.as_mut() else {
                    return Err(FieldError::new("type", "a message must follow its session line"));
                };
                if m.id <= session.last_id {
                    return Err(FieldError::new(
                        "id",
                        format!(
                            "is {} after {} — message ids increase within a session",
                            m.id, session.last_id
                        ),
                    ));
                }
                if m.id >= session.next_message_id {
                    return Err(FieldError::new(
                        "id",
                        format!(
                            "is {}, not below the session's next_message_id {}",
                            m.id, session.next_message_id
                        ),
                    ));
                }
                session.last_id = m.id;
                session.in_messages = true;
                self.counted.messages += 1;
            }
            Record::End(totals) => {
                let c = &self.counted;
                for (field, said, found) in [
                    ("projects", totals.projects, c.projects),
                    ("sessions", totals.sessions, c.sessions),
                    ("files", totals.files, c.files),
                    ("messages", totals.messages, c.messages),
                ] {
                    if said != found {
                        return Err(FieldError::new(
                            field,
                            format!("says {said}, but the bundle holds {found} — lines are missing or added"),
                        ));
                    }
                }
                self.ended = true;
            }
        }
        Ok(())
    }

    /// At the end of the input: complete only after the end line.
    pub fn finish(&self, last_line: u64) -> Result<Totals, BundleError> {
        if self.ended {
            return Ok(self.counted.clone());
        }
        let message = if self.scope.is_none() {
            "the bundle is empty — there is no header line".to_owned()
        } else {
            "the bundle stops here, before its end line — it was cut short; export it again".to_owned()
        };
        Err(BundleError {
            line: last_line.max(1),
            field: String::new(),
            message,
        })
    }
}

/// Cuts a stream of bytes into numbered lines (`\n`, or `\r\n`), each at
/// most `max_line` bytes and valid UTF-8; blank lines are skipped but
/// counted. Holds at most one line.
#[derive(Debug)]
pub struct LineSplitter {
    partial: Vec<u8>,
    line: u64,
    max_line: usize,
}

impl LineSplitter {
    pub fn new(max_line: usize) -> Self {
        LineSplitter {
            partial: Vec::new(),
            line: 0,
            max_line,
        }
    }

    /// Lines seen so far.
    pub fn lines(&self) -> u64 {
        self.line
    }

    /// Feeds the next bytes; `each(number, line)` gets every line they
    /// complete.
    pub fn push(
        &mut self,
        mut data: &[u8],
        each: &mut impl FnMut(u64, &str) -> Result<(), BundleError>,
    ) -> Result<(), BundleError> {
        while let Some(at) = data.iter().position(|&b| b == b'\n') {
            let (head, rest) = data.split_at(at);
            data = &rest[1..];
            if self.partial.is_empty() {
                self.emit(head, each)?;
            } else {
                self.partial.extend_from_slice(head);
                let line = std::mem::take(&mut self.partial);
                self.emit(&line, each)?;
            }
        }
        self.partial.extend_from_slice(data);
        if self.partial.len() > self.max_line {
            return Err(self.too_long(self.line + 1));
        }
        Ok(())
    }

    /// The input ended: a last line without a newline still counts.
    /// Returns the number of lines.
    pub fn finish(mut self, each: &mut impl FnMut(u64, &str) -> Result<(), BundleError>) -> Result<u64, BundleError> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.emit(&line, each)?;
        }
        Ok(self.line)
    }

    fn too_long(&self, line: u64) -> BundleError {
        BundleError {
            line,
            field: String::new(),
            message: format!(
                "is longer than {} bytes, more than any record may be — this is not a Chronicle bundle, or it is damaged",
                self.max_line
            ),
        }
    }

    fn emit(
        &mut self,
        bytes: &[u8],
        each: &mut impl FnMut(u64, &str) -> Result<(), BundleError>,
    ) -> Result<(), BundleError> {
        self.line += 1;
        if bytes.len() > self.max_line {
            return Err(self.too_long(self.line));
        }
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        // A byte-order mark some editors add is not part of the header.
        let bytes = if self.line == 1 {
            bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes)
        } else {
            bytes
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let text = std::str::from_utf8(bytes).map_err(|err| BundleError {
            line: self.line,
            field: String::new(),
            message: format!(
                "is not valid UTF-8 (at byte {}) — the bundle is damaged",
                err.valid_up_to()
            ),
        })?;
        each(self.line, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(record: &Record) -> String {
        let mut out = Vec::new();
        write_record(&mut out, record).expect("write to a Vec");
        String::from_utf8(out).expect("utf-8")
    }

    fn full_message() -> Message {
        Message {
            id: 7,
            role: Role::Assistant as i32,
            content: "Done:\n```rust\nfn x() {}\n```\t\u{0}é".into(),
            created_at_ms: 1_764_121_759_123,
            model: "gpt-5".into(),
            usage: Some(Usage {
                sent_tokens: 2100,
                received_tokens: 150,
                cost: 0.1 + 0.2,
                cache_read_tokens: 3,
                cache_write_tokens: 4,
            }),
            tool: Some(ToolCall {
                name: "edit".into(),
                call_id: "c1".into(),
                args_json: "{\"a\":1}".into(),
                result_json: "ok".into(),
                is_error: true,
            }),
            reasoning: "think".into(),
            command: "ls".into(),
            log_level: "info".into(),
            edited_files: vec!["a.rs".into(), "b.rs".into()],
            metadata: [("z".to_owned(), "1".to_owned()), ("a".to_owned(), "2".to_owned())]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn every_message_field_round_trips() {
        let message = full_message();
        let text = line(&Record::Message(message.clone()));
        assert!(text.ends_with("}\n") && text.matches('\n').count() == 1, "{text}");
        let back = parse_line(text.trim_end()).expect("parses");
        assert_eq!(back, Record::Message(message));
        assert!(
            text.find("\"a\":\"2\"") < text.find("\"z\":\"1\""),
            "metadata keys sorted: {text}"
        );
    }

    #[test]
    fn present_but_zero_usage_differs_from_absent() {
        let zero = Message {
            id: 1,
            role: Role::User as i32,
            usage: Some(Usage::default()),
            ..Message::default()
        };
        let back = parse_line(line(&Record::Message(zero.clone())).trim_end()).expect("parses");
        assert_eq!(back, Record::Message(zero));
        let none = Message {
            id: 1,
            role: Role::User as i32,
            ..Message::default()
        };
        let back = parse_line(line(&Record::Message(none.clone())).trim_end()).expect("parses");
        assert_eq!(back, Record::Message(none));
    }

    #[test]
    fn odd_costs_round_trip_bit_for_bit() {
        for cost in [f64::NAN, f64::INFINITY, -0.0, 1e-300, 0.1 + 0.2, f64::MAX, 5e-324] {
            let m = Message {
                id: 1,
                role: Role::User as i32,
                usage: Some(Usage {
                    cost,
                    ..Usage::default()
                }),
                ..Message::default()
            };
            let Ok(Record::Message(back)) = parse_line(line(&Record::Message(m)).trim_end()) else {
                panic!("parses")
            };
            let got = back.usage.map(|u| u.cost).unwrap_or_default();
            assert_eq!(got.to_bits(), cost.to_bits(), "{cost}");
        }
    }

    #[test]
    fn the_same_data_gives_the_same_bytes() {
        let a = line(&Record::Message(full_message()));
        let b = line(&Record::Message(full_message()));
        assert_eq!(a, b);
    }

    #[test]
    fn wrong_fields_are_named() {
        let err = parse_line(r#"{"type":"message","id":1,"role":"user","usage":{"cost":"x"}}"#).err();
        assert_eq!(err.map(|e| e.field), Some("usage.cost".into()));
        let err = parse_line(r#"{"type":"message","id":1,"role":"wizard"}"#).err();
        assert_eq!(err.map(|e| e.field), Some("role".into()));
        let err = parse_line(r#"{"type":"file","path":"a","colour":"red"}"#).err();
        assert_eq!(err.map(|e| e.field), Some("colour".into()));
        let err = parse_line(r#"{"type":"message","role":"user"}"#).err();
        assert_eq!(
            err.map(|e| (e.field, e.message)),
            Some(("id".into(), "is missing".into()))
        );
        let err = parse_line(r#"{"type":"message","id":-1,"role":"user"}"#).err();
        assert_eq!(err.map(|e| e.field), Some("id".into()));
        let err = parse_line(r#"{"type":"header","format":"chronicle-bundle","version":2}"#).err();
        assert!(err.is_some_and(|e| e.field == "version" && e.message.contains("upgrade")));
        let err = parse_line(r#"{"type":"message","id":1,"con"#).err();
        assert!(err.is_some_and(|e| e.message.contains("not valid JSON")));
    }

    fn records() -> Vec<Record> {
        vec![
            Record::Header(Scope::Project("/p".into())),
            Record::Project(ProjectRecord {
                project: "/p".into(),
                created_at_ms: 1,
            }),
            Record::Session(SessionRecord {
                kind: SessionKind::Working,
                name: String::new(),
                created_at_ms: 1,
                updated_at_ms: 2,
                next_message_id: 3,
                reason: String::new(),
                trashed_at_ms: 0,
            }),
            Record::File(ContextFile {
                path: "a.rs".into(),
                ..ContextFile::default()
            }),
            Record::Message(Message {
                id: 1,
                role: 1,
                ..Message::default()
            }),
            Record::Message(Message {
                id: 2,
                role: 2,
                ..Message::default()
            }),
            Record::Session(SessionRecord {
                kind: SessionKind::Trash,
                name: "old".into(),
                created_at_ms: 1,
                updated_at_ms: 2,
                next_message_id: 1,
                reason: "deleted".into(),
                trashed_at_ms: 5,
            }),
            Record::End(Totals {
                projects: 1,
                sessions: 2,
                files: 1,
                messages: 2,
            }),
        ]
    }

    #[test]
    fn a_whole_bundle_passes_the_checker() {
        let mut checker = Checker::new();
        for (i, record) in records().iter().enumerate() {
            let text = line(record);
            let parsed = parse_line(text.trim_end()).expect("parses");
            assert_eq!(&parsed, record, "line {}", i + 1);
            checker.check(&parsed).expect("in order");
        }
        assert!(checker.finish(8).is_ok());
    }

    #[test]
    fn out_of_order_and_truncated_bundles_are_refused() {
        let all = records();
        let mut checker = Checker::new();
        for record in &all[..5] {
            checker.check(record).expect("in order");
        }
        assert!(checker.finish(5).is_err(), "no end line");
        let repeated = all[4].clone();
        assert_eq!(checker.check(&repeated).map_err(|e| e.field), Err("id".into()));
        let mut wrong_end = Checker::new();
        for record in &all[..6] {
            wrong_end.check(record).expect("in order");
        }
        let end = Record::End(Totals {
            projects: 1,
            sessions: 1,
            files: 1,
            messages: 3,
        });
        assert_eq!(wrong_end.check(&end).map_err(|e| e.field), Err("messages".into()));
    }

    #[test]
    fn lines_are_split_across_chunks() {
        let mut splitter = LineSplitter::new(64);
        let mut seen = Vec::new();
        let mut each = |n: u64, l: &str| {
            seen.push((n, l.to_owned()));
            Ok(())
        };
        splitter.push(b"\xef\xbb\xbfab", &mut each).expect("push");
        splitter.push(b"c\r\n\n  \nde", &mut each).expect("push");
        splitter.push(b"f", &mut each).expect("push");
        assert_eq!(splitter.finish(&mut each), Ok(4));
        assert_eq!(seen, [(1, "abc".to_owned()), (4, "def".to_owned())]);
    }

    #[test]
    fn overlong_and_non_utf8_lines_are_refused() {
        let mut each = |_: u64, _: &str| Ok(());
        let mut splitter = LineSplitter::new(4);
        assert_eq!(splitter.push(b"ok\nlonger", &mut each).map_err(|e| e.line), Err(2));
        let mut splitter = LineSplitter::new(64);
        assert_eq!(splitter.push(b"a\n\xff\n", &mut each).map_err(|e| e.line), Err(2));
    }
}
