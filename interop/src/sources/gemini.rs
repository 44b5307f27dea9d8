//! Gemini CLI's chat recordings: `~/.gemini/tmp/<project>/chats/session-*.jsonl`
//! (and a subagent's `chats/<parent session id>/<session id>.jsonl`), read
//! line by line through [`GeminiParser`]; the older single-file `.json` form
//! through [`parse_json`].
//!
//! How Gemini CLI writes a recording (packages/core/src/services/
//! chatRecordingService.ts), which the parser relies on: the first line is
//! the metadata `{sessionId, projectHash, startTime, lastUpdated, kind?,
//! summary?}`; then message records `{id, timestamp, type, content, …}`
//! appended whole — and appended *again*, whole, whenever the CLI updates
//! one (tool results, token counts), so a later line with a known `id`
//! replaces that record where it stood; `{$set: {…}}` merges into the
//! metadata (`summary` is the title; a `messages` array is a checkpoint of
//! the model's context, written after compression or masking);
//! `{$rewindTo: id}` drops that record and everything after it from the
//! conversation. The recording does not name the project directory: the
//! project's temp dir holds it in `.project_root` (see [`project_root_file`]),
//! which the caller reads and passes to [`GeminiParser::with_cwd`].
//!
//! Mapping: `user` → user, `gemini` → assistant (its `thoughts` the
//! reasoning, `tokens` the usage, `model`) followed by one tool message per
//! `toolCalls[]` entry; `info`/`warning`/`error` → log messages. Rewound
//! records become a [`LinkKind::Branch`] session forked after the last
//! record kept; a subagent's file a [`LinkKind::Subagent`] session. A
//! checkpoint keeps everything already read (the full history); records it
//! brings that were never seen, while it drops others, are the compression
//! summary and become system messages (`source.kind` = `compaction-summary`).
//!
//! An import of a long recording keeps only some texts
//! ([`GeminiParser::rereading`]) and makes the rest from their lines once
//! the file is read (`rereading`).

use std::collections::{HashMap, HashSet};

use chronicle_proto::v1::{Message, Role, ToolCall, Usage};
use serde_json::{Map, Value};

use super::{
    Agent, LineParser, LinkKind, ParseOptions, Parsed, Skipped, SourceLink, SourceSession, cut, message_bytes, meta,
    placeholder, rfc3339_ms,
};

/// Where Gemini CLI keeps its per-project temp dirs, relative to the home
/// directory; each holds `chats/`.
pub const DEFAULT_DIR: &str = ".gemini/tmp";
/// The file in a project's temp dir that names the project's directory.
pub const PROJECT_ROOT_FILE: &str = ".project_root";

/// The `.project_root` file that names the directory a recording at
/// `recording` belongs to: `<project temp dir>/.project_root`, the temp dir
/// being the parent of the `chats` directory on the recording's path.
/// `None` when the path has no `chats` component. Pure path arithmetic.
pub fn project_root_file(recording: &std::path::Path) -> Option<std::path::PathBuf> {
    let chats = recording
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "chats"))?;
    Some(chats.parent()?.join(PROJECT_ROOT_FILE))
}

/// Whether a file name is a Gemini CLI recording: `session-*.jsonl` or
/// `session-*.json`, or (inside a parent session's directory) a
/// subagent's `<id>.jsonl`.
pub fn is_recording(path: &std::path::Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let in_chats = path.parent().and_then(|p| p.file_name()).is_some_and(|n| n == "chats");
    if in_chats {
        name.starts_with("session-") && (name.ends_with(".jsonl") || name.ends_with(".json"))
    } else {
        let grand = path.parent().and_then(|p| p.parent()).and_then(|p| p.file_name());
        grand.is_some_and(|n| n == "chats") && name.ends_with(".jsonl")
    }
}

/// One record of the conversation, as the messages it became.
#[derive(Clone, Debug)]
struct Entry {
    id: String,
    /// The line the record had to itself; 0 when it came in a line of many
    /// (a checkpoint, the legacy metadata), which is never read again.
    line: u64,
    /// Empty only when a [`GeminiParser::rereading`] parser dropped them
    /// ([`Entry::dropped`]): a record that makes no message is not kept.
    messages: Vec<Message>,
    /// Tool messages made from `functionCall`/`functionResponse` parts of
    /// the content: the same calls a `toolCalls` list usually records, so
    /// they are dropped at the end when one does.
    echoes: Vec<bool>,
    /// The calls its `toolCalls` list recorded (kept when its messages are
    /// not, for every echo of the file to be checked against).
    calls: Vec<String>,
    /// Its first message's time (0 when none has one), and its last
    /// message's id: what the session's start and a rewind's fork point
    /// need when its messages were not kept.
    first_ms: i64,
    last_id: Option<String>,
    /// When it was read (or read again), in [`GeminiParser::version`]s.
    version: u64,
}

impl Entry {
    fn new(id: String, line: u64, messages: Vec<Message>, echoes: Vec<bool>, version: u64) -> Entry {
        let calls = messages
            .iter()
            .zip(&echoes)
            .filter(|(_, echo)| !**echo)
            .filter_map(|(m, _)| m.tool.as_ref().map(|t| t.call_id.clone()))
            .collect();
        let first_ms = messages.iter().map(|m| m.created_at_ms).find(|&t| t > 0).unwrap_or(0);
        let last_id = messages.last().and_then(|m| m.metadata.get(meta::ID)).cloned();
        Entry {
            id,
            line,
            messages,
            echoes,
            calls,
            first_ms,
            last_id,
            version,
        }
    }

    /// Whether a [`GeminiParser::rereading`] parser dropped its messages:
    /// they are made again from [`Entry::line`].
    fn dropped(&self) -> bool {
        self.messages.is_empty()
    }

    fn held_bytes(&self) -> usize {
        self.messages.iter().map(message_bytes).sum()
    }
}

/// Records a rewind cut off the conversation.
#[derive(Clone, Debug)]
struct Branch {
    /// The first rewound record.
    first: String,
    /// The message ([`meta::ID`]) the branch forked after, if any was kept.
    after: Option<String>,
    entries: Vec<Entry>,
}

/// Reads one `.jsonl` recording, fed line by line.
#[derive(Clone, Debug)]
pub struct GeminiParser {
    file: String,
    opts: ParseOptions,
    cwd: Option<String>,
    session_id: Option<String>,
    /// The parent session, from the file's directory.
    parent: Option<String>,
    title: Option<String>,
    started: Option<i64>,
    entries: Vec<Entry>,
    index: HashMap<String, usize>,
    branches: Vec<Branch>,
    skipped: Vec<Skipped>,
    /// (record id, reason) already reported: a record appended again
    /// would report the same problem once per version.
    reported: HashSet<(String, String)>,
    /// Counts the records read, so each entry says when it last changed.
    version: u64,
    /// [`LineParser::changes`] last handed out the entries up to this
    /// version and the branches before this one.
    handed: (u64, usize),
    /// Bytes of messages to keep while reading; past them, a record on a
    /// line of its own keeps only its place ([`GeminiParser::rereading`]).
    keep_bytes: Option<usize>,
    /// Bytes of messages held.
    held_bytes: usize,
}

impl GeminiParser {
    /// A parser for the recording `file` (as the caller names it in
    /// [`Skipped`]). A subagent's parent is read off the path:
    /// `…/chats/<parent id>/<id>.jsonl`.
    pub fn new(file: &str, opts: ParseOptions) -> Self {
        let path = std::path::Path::new(file);
        let parent = path
            .parent()
            .filter(|dir| dir.parent().and_then(|p| p.file_name()).is_some_and(|n| n == "chats"))
            .and_then(|dir| dir.file_name())
            .and_then(|n| n.to_str())
            .map(str::to_owned);
        GeminiParser {
            file: file.to_owned(),
            opts,
            cwd: None,
            session_id: None,
            parent,
            title: None,
            started: None,
            entries: Vec::new(),
            index: HashMap::new(),
            branches: Vec::new(),
            skipped: Vec::new(),
            reported: HashSet::new(),
            version: 0,
            handed: (0, 0),
            keep_bytes: None,
            held_bytes: 0,
        }
    }

    /// Keeps at most `keep_bytes` of messages while reading: a later record
    /// on a line of its own keeps its place, calls and times, and its
    /// messages are made again from its line by
    /// [`super::RereadingParser::finish_in_parts`], so a recording of any length is
    /// not held in memory. Only for a parser read to its end: its
    /// snapshots and changes would lack those messages.
    pub fn rereading(mut self, keep_bytes: usize) -> Self {
        self.keep_bytes = Some(keep_bytes);
        self
    }

    /// The project directory (the content of `.project_root`), which the
    /// recording itself does not hold.
    pub fn with_cwd(mut self, cwd: Option<String>) -> Self {
        self.cwd = cwd.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
        self
    }

    fn skip(&mut self, line: u64, reason: String) {
        self.skipped.push(Skipped {
            file: self.file.clone(),
            line,
            reason,
        });
    }

    fn value(&mut self, line: u64, value: Value) {
        let Value::Object(record) = value else {
            return self.skip(line, format!("not a JSON object but {}", kind_of(&value)));
        };
        if let Some(target) = record.get("$rewindTo") {
            match target.as_str() {
                Some(id) => self.rewind(id),
                None => self.skip(line, "$rewindTo is not a string".into()),
            }
        } else if let Some(set) = record.get("$set") {
            match set {
                Value::Object(set) => self.set(line, set),
                _ => self.skip(line, "$set is not an object".into()),
            }
        } else if record.get("id").is_some_and(Value::is_string) {
            self.message(line, &record, false, true);
        } else if record.get("sessionId").is_some_and(Value::is_string) {
            self.metadata(line, &record);
        } else {
            self.skip(
                line,
                "neither a message (no \"id\"), metadata, $set nor $rewindTo".into(),
            );
        }
    }

    fn metadata(&mut self, line: u64, record: &Map<String, Value>) {
        if let Some(id) = str_of(record, "sessionId") {
            self.session_id = Some(id.to_owned());
        }
        if let Some(summary) = str_of(record, "summary").filter(|s| !s.trim().is_empty()) {
            self.title = Some(summary.trim().to_owned());
        }
        if let Some(start) = str_of(record, "startTime").and_then(rfc3339_ms) {
            self.started.get_or_insert(start);
        }
        // The legacy whole record, or a rewritten file's first line.
        if let Some(Value::Array(messages)) = record.get("messages") {
            for message in messages {
                match message {
                    Value::Object(m) if m.get("id").is_some_and(Value::is_string) => {
                        self.message(line, m, false, false)
                    }
                    other => self.skip(line, format!("a message of the metadata is {}", kind_of(other))),
                }
            }
        }
    }

    fn set(&mut self, line: u64, set: &Map<String, Value>) {
        let mut meta_only = set.clone();
        let checkpoint = meta_only.remove("messages");
        self.metadata(line, &meta_only);
        let Some(checkpoint) = checkpoint else { return };
        let Value::Array(records) = checkpoint else {
            return self.skip(line, "$set.messages is not an array".into());
        };
        let kept: HashSet<&str> = records.iter().filter_map(|r| r.get("id")?.as_str()).collect();
        let drops = self.entries.iter().any(|e| !kept.contains(e.id.as_str()));
        for record in &records {
            let Value::Object(record) = record else {
                self.skip(line, format!("a checkpoint message is {}", kind_of(record)));
                continue;
            };
            let Some(id) = str_of(record, "id") else {
                self.skip(line, "a checkpoint message has no id".into());
                continue;
            };
            // What was already read stays as first written: a checkpoint
            // holds the model's (possibly masked) context, not history.
            if !self.index.contains_key(id) {
                self.message(line, record, drops, false);
            }
        }
    }

    fn rewind(&mut self, id: &str) {
        // Gemini CLI clears the whole conversation when the id is unknown.
        let at = self.index.get(id).copied().unwrap_or(0);
        if at >= self.entries.len() {
            return;
        }
        let entries = self.entries.split_off(at);
        let after = self.entries.last().and_then(|e| e.last_id.clone());
        self.index.retain(|_, i| *i < at);
        self.branches.push(Branch {
            first: entries[0].id.clone(),
            after,
            entries,
        });
    }

    /// Takes one record; `own_line` when `line` holds it alone (so it can
    /// be read again from there).
    fn message(&mut self, line: u64, record: &Map<String, Value>, summary: bool, own_line: bool) {
        let Some(id) = str_of(record, "id").map(str::to_owned) else {
            return;
        };
        let (mut messages, echoes, problems) = self.convert(&id, record);
        for problem in problems {
            if self.reported.insert((id.clone(), problem.clone())) {
                self.skip(line, problem);
            }
        }
        if summary {
            for m in &mut messages {
                m.role = Role::System as i32;
                m.metadata.insert(meta::KIND.into(), "compaction-summary".into());
            }
        }
        if messages.is_empty() {
            return;
        }
        self.version += 1;
        let mut entry = Entry::new(
            id.clone(),
            if own_line { line } else { 0 },
            messages,
            echoes,
            self.version,
        );
        // A record written again replaces its earlier copy, and its bytes.
        if let Some(&at) = self.index.get(&id) {
            self.held_bytes -= self.entries[at].held_bytes();
        }
        let bytes = entry.held_bytes();
        if own_line && self.keep_bytes.is_some_and(|keep| self.held_bytes + bytes > keep) {
            entry.messages = Vec::new();
            entry.echoes = Vec::new();
        } else {
            self.held_bytes += bytes;
        }
        match self.index.get(&id) {
            Some(&at) => self.entries[at] = entry,
            None => {
                self.index.insert(id, self.entries.len());
                self.entries.push(entry);
            }
        }
    }

    /// The messages one record becomes, which of them are echoes, and the
    /// problems met (reported, never fatal).
    fn convert(&self, id: &str, record: &Map<String, Value>) -> (Vec<Message>, Vec<bool>, Vec<String>) {
        let mut problems = Vec::new();
        let at_ms = str_of(record, "timestamp").and_then(rfc3339_ms).unwrap_or(0);
        let kind = str_of(record, "type").unwrap_or("");
        let role = match kind {
            "user" => Role::User,
            "gemini" => Role::Assistant,
            "info" | "warning" | "error" => Role::Log,
            other => {
                problems.push(format!("unknown message type {other:?}"));
                return (Vec::new(), Vec::new(), problems);
            }
        };
        let content = record.get("content").unwrap_or(&Value::Null);
        let rendered = self.render(content, &mut problems);
        let mut main = self.base(role, id.to_owned(), at_ms);
        main.content = rendered.text;
        main.reasoning = rendered.thoughts;
        if role == Role::Log {
            main.log_level = kind.to_owned();
        }
        if let Some(Value::Array(thoughts)) = record.get("thoughts") {
            let text: Vec<String> = thoughts.iter().filter_map(thought).collect();
            if !text.is_empty() {
                if !main.reasoning.is_empty() {
                    main.reasoning.push_str("\n\n");
                }
                main.reasoning.push_str(&text.join("\n\n"));
            }
        }
        if let Some(model) = str_of(record, "model") {
            main.model = model.to_owned();
        }
        if let Some(Value::Object(tokens)) = record.get("tokens") {
            main.usage = Some(usage(tokens));
        }
        let mut messages = Vec::new();
        let mut echoes = Vec::new();
        let calls = match record.get("toolCalls") {
            Some(Value::Array(calls)) => calls.as_slice(),
            Some(Value::Null) | None => &[],
            Some(other) => {
                problems.push(format!("toolCalls is {}", kind_of(other)));
                &[]
            }
        };
        let keep_main = !main.content.is_empty()
            || !main.reasoning.is_empty()
            || main.usage.is_some()
            || calls.is_empty() && rendered.tools.is_empty();
        if keep_main {
            messages.push(main);
            echoes.push(false);
        }
        for call in calls {
            match self.tool_call(at_ms, call, &mut problems) {
                Some(m) => {
                    messages.push(m);
                    echoes.push(false);
                }
                None => problems.push("a toolCalls entry is not an object with an id and a name".into()),
            }
        }
        for tool in rendered.tools {
            let mut m = self.base(Role::Tool, format!("{id}/{}", tool.call_id), at_ms);
            m.tool = Some(tool);
            messages.push(m);
            echoes.push(true);
        }
        (messages, echoes, problems)
    }

    fn tool_call(&self, at_ms: i64, call: &Value, problems: &mut Vec<String>) -> Option<Message> {
        let call = call.as_object()?;
        let call_id = str_of(call, "id")?;
        let name = str_of(call, "name")?;
        let at_ms = str_of(call, "timestamp").and_then(rfc3339_ms).unwrap_or(at_ms);
        // The call id is unique within the session: the convention every
        // source follows for a tool message.
        let mut m = self.base(Role::Tool, call_id.to_owned(), at_ms);
        let args = call.get("args").map(Value::to_string).unwrap_or_default();
        let result = match call.get("result") {
            None | Some(Value::Null) => String::new(),
            Some(result) => {
                let r = self.render(result, problems);
                let mut text = r.text;
                for t in r.tools {
                    if !text.is_empty() && !t.result_json.is_empty() {
                        text.push('\n');
                    }
                    text.push_str(&t.result_json);
                }
                text
            }
        };
        let status = str_of(call, "status").unwrap_or("");
        m.content = str_of(call, "description").map(str::to_owned).unwrap_or_default();
        m.tool = Some(ToolCall {
            name: name.to_owned(),
            call_id: call_id.to_owned(),
            args_json: self.fit("arguments", args),
            result_json: self.fit("tool output", result),
            is_error: matches!(status, "error" | "cancelled"),
        });
        Some(m)
    }

    fn base(&self, role: Role, id: String, at_ms: i64) -> Message {
        let mut m = Message {
            role: role as i32,
            created_at_ms: at_ms,
            ..Default::default()
        };
        m.metadata.insert(meta::AGENT.into(), Agent::Gemini.as_str().into());
        m.metadata.insert(meta::ID.into(), id);
        m
    }

    /// `text` as it is, or a placeholder when it is larger than a message
    /// may hold inline.
    fn fit(&self, kind: &str, text: String) -> String {
        if text.len() > self.opts.max_inline_bytes {
            placeholder(kind, text.len())
        } else {
            text
        }
    }

    /// A `PartListUnion` (a string, a part, or a list of either) as text,
    /// thought text, and tool calls or responses found in it.
    fn render(&self, content: &Value, problems: &mut Vec<String>) -> Rendered {
        let mut out = Rendered::default();
        self.render_into(content, &mut out, problems);
        if out.text.len() > self.opts.max_inline_bytes {
            out.text = format!(
                "{}\n{}",
                cut(&out.text, self.opts.max_inline_bytes / 2),
                placeholder("rest of the text", out.text.len() - self.opts.max_inline_bytes / 2)
            );
        }
        out
    }

    fn render_into(&self, content: &Value, out: &mut Rendered, problems: &mut Vec<String>) {
        match content {
            Value::Null => {}
            Value::String(text) => out.push_text(text),
            Value::Array(parts) => {
                for part in parts {
                    self.render_into(part, out, problems);
                }
            }
            Value::Object(part) => self.part(part, out, problems),
            other => problems.push(format!("a content part is {}", kind_of(other))),
        }
    }

    fn part(&self, part: &Map<String, Value>, out: &mut Rendered, problems: &mut Vec<String>) {
        if let Some(text) = str_of(part, "text") {
            if part.get("thought").and_then(Value::as_bool) == Some(true) {
                if !out.thoughts.is_empty() {
                    out.thoughts.push_str("\n\n");
                }
                out.thoughts.push_str(text);
            } else {
                out.push_text(text);
            }
        } else if let Some(Value::Object(data)) = part.get("inlineData") {
            let mime = str_of(data, "mimeType").unwrap_or("application/octet-stream");
            let b64 = str_of(data, "data").unwrap_or("");
            let bytes = b64.len() / 4 * 3;
            if b64.len() + mime.len() + 32 > self.opts.max_inline_bytes {
                out.push_text(&placeholder(mime, bytes));
            } else if mime.starts_with("image/") {
                out.push_text(&format!("![{mime}](data:{mime};base64,{b64})"));
            } else {
                out.push_text(&placeholder(mime, bytes));
            }
        } else if let Some(Value::Object(file)) = part.get("fileData") {
            let mime = str_of(file, "mimeType").unwrap_or("file");
            let uri = str_of(file, "fileUri").unwrap_or("");
            out.push_text(&format!("[{mime}: {uri}]"));
        } else if let Some(Value::Object(call)) = part.get("functionCall") {
            let name = str_of(call, "name").unwrap_or("").to_owned();
            out.tools.push(ToolCall {
                call_id: str_of(call, "id").map_or_else(|| format!("call-{}", out.tools.len()), str::to_owned),
                args_json: self.fit("arguments", call.get("args").map(Value::to_string).unwrap_or_default()),
                name,
                ..Default::default()
            });
        } else if let Some(Value::Object(response)) = part.get("functionResponse") {
            let name = str_of(response, "name").unwrap_or("").to_owned();
            let body = response.get("response");
            let result = match body
                .and_then(|r| r.get("output"))
                .or_else(|| body.and_then(|r| r.get("error")))
            {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => body.map(Value::to_string).unwrap_or_default(),
            };
            let is_error = body.and_then(|r| r.get("error")).is_some();
            out.tools.push(ToolCall {
                call_id: str_of(response, "id").map_or_else(|| format!("response-{}", out.tools.len()), str::to_owned),
                result_json: self.fit("tool output", result),
                name,
                is_error,
                ..Default::default()
            });
        } else if let Some(Value::Object(code)) = part.get("executableCode") {
            let lang = str_of(code, "language").unwrap_or("").to_lowercase();
            out.push_text(&format!("```{lang}\n{}\n```", str_of(code, "code").unwrap_or("")));
        } else if let Some(Value::Object(result)) = part.get("codeExecutionResult") {
            out.push_text(&format!("```\n{}\n```", str_of(result, "output").unwrap_or("")));
        } else if part.contains_key("thoughtSignature") || part.is_empty() {
            // A signature alone carries nothing a reader sees.
        } else {
            let keys: Vec<&str> = part.keys().map(String::as_str).collect();
            problems.push(format!("unknown content part with {}", keys.join(", ")));
        }
    }

    fn into_parsed(mut self) -> Parsed {
        let Some(session_id) = self.session_id.clone() else {
            return self.without_session();
        };
        let dropped: Vec<u64> = self
            .entries
            .iter()
            .chain(self.branches.iter().flat_map(|b| b.entries.iter()))
            .filter(|e| e.dropped())
            .map(|e| e.line)
            .collect();
        for line in dropped {
            self.skip(line, "its text was not kept and the file was not read again".into());
        }
        let recorded = self.recorded();
        let ids = self.branch_ids(&session_id);
        let mut main = self.head(&session_id);
        let entries = std::mem::take(&mut self.entries);
        main.messages = self.flatten(entries, &recorded, &session_id);
        let mut sessions = vec![main];
        for (branch, source_id) in std::mem::take(&mut self.branches).into_iter().zip(ids) {
            let mut s = self.branch_head(&session_id, &branch, source_id);
            s.messages = self.flatten(branch.entries, &recorded, &session_id);
            if !s.messages.is_empty() {
                sessions.push(s);
            }
        }
        Parsed {
            sessions,
            skipped: self.skipped,
        }
    }

    /// A recording without a metadata line: nothing to import, and said
    /// so when it had records.
    fn without_session(mut self) -> Parsed {
        if !self.entries.is_empty() || !self.branches.is_empty() {
            self.skip(
                0,
                "no metadata line with a sessionId: not a Gemini CLI recording".into(),
            );
        }
        Parsed {
            sessions: Vec::new(),
            skipped: self.skipped,
        }
    }

    /// Every call a toolCalls list recorded, in any session of the file.
    fn recorded(&self) -> HashSet<String> {
        self.entries
            .iter()
            .chain(self.branches.iter().flat_map(|b| b.entries.iter()))
            .flat_map(|e| e.calls.iter().cloned())
            .collect()
    }

    /// The main session, without its messages.
    fn head(&self, session_id: &str) -> SourceSession {
        let mut main = SourceSession::new(Agent::Gemini, session_id);
        main.cwd = self.cwd.clone();
        main.title = self.title.clone();
        if let Some(parent) = self.parent.clone().filter(|p| *p != session_id) {
            main.parent = Some(SourceLink {
                kind: LinkKind::Subagent,
                parent_source_id: parent,
                at_message: None,
            });
        }
        main.started_at_ms = self
            .started
            .or_else(|| self.entries.iter().map(|e| e.first_ms).find(|&t| t > 0));
        main
    }

    /// Each branch's source id, in order (a rewind to the same record
    /// twice gets its number appended).
    fn branch_ids(&self, session_id: &str) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut ids = Vec::new();
        for (n, branch) in self.branches.iter().enumerate() {
            let mut source_id = format!("{session_id}/branch/{}", branch.first);
            if !seen.insert(source_id.clone()) {
                source_id = format!("{source_id}-{n}");
            }
            ids.push(source_id);
        }
        ids
    }

    /// A branch's session, without its messages.
    fn branch_head(&self, session_id: &str, branch: &Branch, source_id: String) -> SourceSession {
        let mut s = SourceSession::new(Agent::Gemini, &source_id);
        s.source_session_id = session_id.to_owned();
        s.cwd = self.cwd.clone();
        s.title = self.title.clone();
        s.parent = Some(SourceLink {
            kind: LinkKind::Branch,
            parent_source_id: session_id.to_owned(),
            at_message: branch.after.clone(),
        });
        s.started_at_ms = branch.entries.iter().map(|e| e.first_ms).find(|&t| t > 0);
        s
    }

    fn flatten(&self, entries: Vec<Entry>, recorded: &HashSet<String>, session_id: &str) -> Vec<Message> {
        let mut out = Vec::new();
        for entry in entries {
            for (mut m, echo) in entry.messages.into_iter().zip(entry.echoes) {
                if echo && m.tool.as_ref().is_some_and(|t| recorded.contains(&t.call_id)) {
                    continue;
                }
                m.metadata.insert(meta::SESSION.into(), session_id.to_owned());
                if let Some(cwd) = &self.cwd {
                    m.metadata.insert(meta::CWD.into(), cwd.clone());
                }
                out.push(m);
            }
        }
        out
    }
}

impl LineParser for GeminiParser {
    fn line(&mut self, number: u64, line: &str) {
        let line = line.strip_prefix('\u{feff}').unwrap_or(line);
        if line.trim().is_empty() {
            return;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(value) => self.value(number, value),
            Err(err) => self.skip(number, format!("not JSON: {err}")),
        }
    }

    fn snapshot(&self) -> Parsed {
        self.clone().into_parsed()
    }

    /// The records read or read again since the last call, and the
    /// branches rewound since, rather than a copy of the whole recording:
    /// a line appended to a long session costs that line.
    fn changes(
        &mut self,
        _reread: &mut dyn FnMut(u64) -> Option<String>,
        _part_bytes: usize,
        _part: &mut dyn FnMut(Vec<SourceSession>) -> bool,
    ) -> Parsed {
        let Some(session_id) = self.session_id.clone() else {
            return self.snapshot();
        };
        let (version, branches) = self.handed;
        self.handed = (self.version, self.branches.len());
        let recorded = self.recorded();
        let ids = self.branch_ids(&session_id);
        let mut main = self.head(&session_id);
        let changed: Vec<Entry> = self.entries.iter().filter(|e| e.version > version).cloned().collect();
        main.continued = changed.len() < self.entries.len();
        main.messages = self.flatten(changed, &recorded, &session_id);
        let mut sessions = vec![main];
        for (branch, source_id) in self.branches.iter().zip(ids).skip(branches) {
            let mut s = self.branch_head(&session_id, branch, source_id);
            s.messages = self.flatten(branch.entries.clone(), &recorded, &session_id);
            if !s.messages.is_empty() {
                sessions.push(s);
            }
        }
        Parsed {
            sessions,
            skipped: self.skipped.clone(),
        }
    }

    fn finish(self: Box<Self>) -> Parsed {
        self.into_parsed()
    }
}

/// Reads the older single-file form, `session-*.json`: one
/// `{sessionId, projectHash, startTime, lastUpdated, messages: [...]}`
/// object. A skipped message's `line` is its position (1-based) in
/// `messages`; a file that is not such an object is skipped whole (line 0).
pub fn parse_json(file: &str, text: &str, cwd: Option<String>, opts: ParseOptions) -> Parsed {
    let mut parser = GeminiParser::new(file, opts).with_cwd(cwd);
    let value = match serde_json::from_str::<Value>(text.strip_prefix('\u{feff}').unwrap_or(text)) {
        Ok(Value::Object(v)) => v,
        Ok(other) => {
            parser.skip(0, format!("not a JSON object but {}", kind_of(&other)));
            return parser.into_parsed();
        }
        Err(err) => {
            parser.skip(0, format!("not JSON: {err}"));
            return parser.into_parsed();
        }
    };
    let mut head = value.clone();
    let messages = head.remove("messages");
    if str_of(&head, "sessionId").is_none() {
        parser.skip(0, "no sessionId: not a Gemini CLI session".into());
        return parser.into_parsed();
    }
    parser.metadata(0, &head);
    match messages {
        Some(Value::Array(messages)) => {
            for (n, m) in messages.into_iter().enumerate() {
                parser.value(n as u64 + 1, m);
            }
        }
        None | Some(Value::Null) => {}
        Some(other) => parser.skip(0, format!("messages is {}", kind_of(&other))),
    }
    parser.into_parsed()
}

#[derive(Debug, Default)]
struct Rendered {
    text: String,
    thoughts: String,
    tools: Vec<ToolCall>,
}

impl Rendered {
    fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
        self.text.push_str(text);
    }
}

/// Gemini's counts: `input` (the prompt, cached part included), `cached`,
/// `output`, `thoughts` (billed as output), `tool` (tool-use prompt).
fn usage(tokens: &Map<String, Value>) -> Usage {
    let n = |k: &str| tokens.get(k).and_then(Value::as_u64).unwrap_or(0);
    let cached = n("cached");
    Usage {
        sent_tokens: (n("input") + n("tool")).saturating_sub(cached),
        received_tokens: n("output") + n("thoughts"),
        cache_read_tokens: cached,
        ..Default::default()
    }
}

fn thought(value: &Value) -> Option<String> {
    let subject = value.get("subject").and_then(Value::as_str).unwrap_or("").trim();
    let description = value.get("description").and_then(Value::as_str).unwrap_or("").trim();
    match (subject.is_empty(), description.is_empty()) {
        (true, true) => None,
        (false, true) => Some(format!("**{subject}**")),
        (true, false) => Some(description.to_owned()),
        (false, false) => Some(format!("**{subject}** {description}")),
    }
}

fn str_of<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

mod rereading;
#[cfg(test)]
mod tests;
