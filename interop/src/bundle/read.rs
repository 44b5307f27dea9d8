//! Reading one line of a bundle into a [`Record`], strictly: types,
//! required fields and unknown fields are checked, and the error names the
//! field that is wrong.

use chronicle_proto::v1::{ContextFile, Message, ToolCall, Usage};
use serde_json::{Map, Value};

use super::write::parse_role;
use super::*;

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
    let forked_from = o.opt_str("forked_from")?;
    let forked_at_message_id = o.opt_u64("forked_at_message_id")?;
    Ok(Record::Session(SessionRecord {
        kind,
        name,
        created_at_ms,
        updated_at_ms,
        next_message_id,
        reason,
        trashed_at_ms,
        forked_from,
        forked_at_message_id,
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
pub(super) fn excerpt(text: &str) -> String {
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
