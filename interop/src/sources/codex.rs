//! Codex CLI rollouts: `<CODEX_HOME>/sessions/YYYY/MM/DD/rollout-*.jsonl`
//! and `archived_sessions/`, one session per file.
//!
//! Every line is `{timestamp, type, payload}`. The first `session_meta`
//! is the file's own session (`id`, `cwd`, `cli_version`, `git`, and
//! `forked_from_id` for a fork); `turn_context` sets the model of what
//! follows. The conversation is the `response_item`s: `message`s (user,
//! assistant, and developer/context messages Codex injects, kept as
//! system messages), `reasoning` summaries (put on the next reply),
//! `function_call`/`custom_tool_call`/`local_shell_call`/`web_search_call`
//! with their `*_output`s merged into one tool message by `call_id`.
//! `event_msg`s mostly repeat the response items and are not imported,
//! except `token_count`, whose usage goes on the last reply. `compacted`
//! holds the summary that replaced the history: a system message.
//!
//! Message ids are `line:<n>` (a rollout is only ever appended to, so a
//! line keeps its number) or the tool call's `call_id`. A fork's file
//! starts with a copy of its parent's history; [`drop_copied_history`]
//! removes what it shares with the parent so the copy is imported once.

use std::collections::HashMap;

use chronicle_proto::v1::{Message, Role, ToolCall, Usage};
use serde_json::{Map, Value};

use super::{
    Agent, LineParser, LinkKind, ParseOptions, Parsed, Skipped, SourceLink, SourceSession, message_bytes, meta,
    placeholder, rfc3339_ms,
};

/// Calls taken out in parts that may still wait for their output.
const MAX_WAITING_CALLS: usize = 256;

/// Response items that carry nothing a reader needs.
const QUIET_ITEMS: &[&str] = &["ghost_snapshot", "other", "compaction"];

/// Reads one rollout file.
#[derive(Clone)]
pub struct Parser {
    file: String,
    options: ParseOptions,
    session: Option<SourceSession>,
    model: String,
    messages: Vec<Message>,
    /// `call_id` → index in `messages` of the call's tool message.
    calls: HashMap<String, usize>,
    /// Calls already taken out by [`LineParser::take_settled`] whose output
    /// has not come yet (with the order they were taken in): the output
    /// brings the call back, completed. At most [`MAX_WAITING_CALLS`].
    taken_calls: HashMap<String, (u64, Message)>,
    taken_count: u64,
    /// About how many bytes `messages` holds.
    held_bytes: usize,
    /// Reasoning read but not yet on a message.
    reasoning: String,
    /// The last `total_token_usage`, to turn totals into per-reply usage.
    last_total: Option<Usage>,
    skipped: Vec<Skipped>,
}

impl Parser {
    pub fn new(file: impl Into<String>, options: ParseOptions) -> Self {
        Parser {
            file: file.into(),
            options,
            session: None,
            model: String::new(),
            messages: Vec::new(),
            calls: HashMap::new(),
            taken_calls: HashMap::new(),
            taken_count: 0,
            held_bytes: 0,
            reasoning: String::new(),
            last_total: None,
            skipped: Vec::new(),
        }
    }

    fn record(&mut self, number: u64, obj: &Map<String, Value>) -> Result<(), String> {
        let kind = obj.get("type").and_then(Value::as_str).ok_or("no \"type\" field")?;
        let payload = obj
            .get("payload")
            .and_then(Value::as_object)
            .ok_or("no \"payload\" object")?;
        let time = obj
            .get("timestamp")
            .and_then(Value::as_str)
            .and_then(rfc3339_ms)
            .unwrap_or(0);
        match kind {
            "session_meta" => {
                // Only the first: a fork's copy of its parent's history
                // starts with the parent's own session_meta.
                if self.session.is_none() {
                    let id = str_field(payload, "id").ok_or("session_meta without \"id\"")?;
                    let mut s = SourceSession::new(Agent::Codex, id);
                    s.cwd = str_field(payload, "cwd").map(str::to_owned);
                    s.agent_version = str_field(payload, "cli_version").map(str::to_owned);
                    s.started_at_ms = str_field(payload, "timestamp").and_then(rfc3339_ms).or(Some(time));
                    s.git_branch = payload
                        .get("git")
                        .and_then(|g| g.get("branch"))
                        .and_then(Value::as_str)
                        .map(str::to_owned);
                    s.parent = str_field(payload, "forked_from_id").map(|parent| SourceLink {
                        kind: LinkKind::Fork,
                        parent_source_id: parent.to_owned(),
                        at_message: None,
                    });
                    self.session = Some(s);
                }
            }
            "turn_context" => {
                if let Some(model) = str_field(payload, "model") {
                    self.model = model.to_owned();
                }
            }
            "response_item" => self.item(number, time, payload)?,
            "event_msg" => {
                if str_field(payload, "type") == Some("token_count") {
                    self.token_count(payload);
                }
            }
            "compacted" => {
                let text = str_field(payload, "message").unwrap_or_default();
                let mut m = self.message(number, time, Role::System, self.inline("summary", text));
                m.metadata.insert(meta::KIND.into(), "compaction-summary".into());
                self.push(m);
            }
            other => return Err(format!("unknown record type {other:?}")),
        }
        Ok(())
    }

    fn item(&mut self, number: u64, time: i64, item: &Map<String, Value>) -> Result<(), String> {
        let kind = str_field(item, "type").ok_or("response item without \"type\"")?;
        match kind {
            "message" => {
                let role = str_field(item, "role").unwrap_or_default();
                let text = self.content_text(item.get("content"));
                let (role, kind) = match role {
                    "assistant" => (Role::Assistant, None),
                    "user" if is_context(&text) => (Role::System, Some(context_kind(&text))),
                    "user" => (Role::User, None),
                    "developer" | "system" => (Role::System, Some("instructions")),
                    other => return Err(format!("message with unknown role {other:?}")),
                };
                let mut m = self.message(number, time, role, text);
                if let Some(kind) = kind {
                    m.metadata.insert(meta::KIND.into(), kind.into());
                }
                if role == Role::Assistant {
                    m.model = self.model.clone();
                    m.reasoning = std::mem::take(&mut self.reasoning);
                }
                self.push(m);
            }
            "reasoning" => {
                let summary = item
                    .get("summary")
                    .and_then(Value::as_array)
                    .map(|parts| {
                        parts
                            .iter()
                            .filter_map(|p| p.get("text").and_then(Value::as_str))
                            .collect::<Vec<_>>()
                            .join("\n\n")
                    })
                    .unwrap_or_default();
                if !summary.is_empty() {
                    if !self.reasoning.is_empty() {
                        self.reasoning.push_str("\n\n");
                    }
                    self.reasoning.push_str(&self.inline("reasoning", &summary));
                }
            }
            "function_call" | "custom_tool_call" | "local_shell_call" | "web_search_call" => {
                let name = match kind {
                    "local_shell_call" => "local_shell",
                    "web_search_call" => "web_search",
                    _ => str_field(item, "name").unwrap_or_default(),
                }
                .to_owned();
                let args = match kind {
                    "function_call" => str_field(item, "arguments").unwrap_or_default().to_owned(),
                    "custom_tool_call" => str_field(item, "input").unwrap_or_default().to_owned(),
                    _ => item.get("action").map(Value::to_string).unwrap_or_default(),
                };
                let call_id = str_field(item, "call_id").map(str::to_owned);
                let mut m = self.message(number, time, Role::Tool, String::new());
                m.model = self.model.clone();
                m.reasoning = std::mem::take(&mut self.reasoning);
                m.tool = Some(ToolCall {
                    name,
                    call_id: call_id.clone().unwrap_or_default(),
                    args_json: self.inline("tool input", &args),
                    ..ToolCall::default()
                });
                if let Some(id) = call_id {
                    m.metadata.insert(meta::ID.into(), id.clone());
                    self.calls.insert(id, self.messages.len());
                }
                self.push(m);
            }
            "function_call_output" | "custom_tool_call_output" => {
                let call_id = str_field(item, "call_id").ok_or("tool output without \"call_id\"")?;
                let (text, failed) = output_text(item.get("output"));
                let text = self.inline("tool output", &text);
                if let Some((_, mut call)) = self.taken_calls.remove(call_id) {
                    // Stored already without its output: again, completed.
                    if let Some(tool) = call.tool.as_mut() {
                        tool.result_json = text;
                        tool.is_error = failed;
                    }
                    self.push(call);
                    return Ok(());
                }
                let at = *self
                    .calls
                    .get(call_id)
                    .ok_or_else(|| format!("output of unknown call {call_id:?}"))?;
                self.held_bytes += text.len();
                if let Some(tool) = self.messages[at].tool.as_mut() {
                    tool.result_json = text;
                    tool.is_error = failed;
                }
            }
            quiet if QUIET_ITEMS.contains(&quiet) => {}
            other => return Err(format!("unknown response item type {other:?}")),
        }
        Ok(())
    }

    fn token_count(&mut self, payload: &Map<String, Value>) {
        let Some(info) = payload.get("info").and_then(Value::as_object) else {
            return;
        };
        let total = info.get("total_token_usage").and_then(Value::as_object).map(usage);
        let last = info.get("last_token_usage").and_then(Value::as_object).map(usage);
        let turn = match (last, total, self.last_total) {
            (Some(last), _, _) => last,
            (None, Some(total), Some(before)) => Usage {
                sent_tokens: total.sent_tokens.saturating_sub(before.sent_tokens),
                received_tokens: total.received_tokens.saturating_sub(before.received_tokens),
                cache_read_tokens: total.cache_read_tokens.saturating_sub(before.cache_read_tokens),
                ..Usage::default()
            },
            (None, Some(total), None) => total,
            (None, None, _) => return,
        };
        if total.is_some() {
            self.last_total = total;
        }
        let reply = self
            .messages
            .iter_mut()
            .rev()
            .find(|m| m.role == Role::Assistant as i32 || m.role == Role::Tool as i32);
        if let Some(reply) = reply {
            let u = reply.usage.get_or_insert_with(Usage::default);
            u.sent_tokens += turn.sent_tokens;
            u.received_tokens += turn.received_tokens;
            u.cache_read_tokens += turn.cache_read_tokens;
        }
    }

    fn push(&mut self, m: Message) {
        self.held_bytes += message_bytes(&m);
        self.messages.push(m);
    }

    fn message(&self, number: u64, time: i64, role: Role, content: String) -> Message {
        let mut m = Message {
            role: role as i32,
            content,
            created_at_ms: time,
            ..Message::default()
        };
        m.metadata.insert(meta::ID.into(), format!("line:{number}"));
        m
    }

    fn content_text(&self, content: Option<&Value>) -> String {
        let Some(parts) = content.and_then(Value::as_array) else {
            return match content.and_then(Value::as_str) {
                Some(s) => self.inline("text", s),
                None => String::new(),
            };
        };
        let mut out = String::new();
        for part in parts {
            let piece = match part.get("type").and_then(Value::as_str) {
                Some("input_text") | Some("output_text") | Some("text") => {
                    self.inline("text", part.get("text").and_then(Value::as_str).unwrap_or_default())
                }
                Some("input_image") => {
                    let url = part.get("image_url").and_then(Value::as_str).unwrap_or_default();
                    image(url, self.options.max_inline_bytes)
                }
                Some(other) => format!("[{other}]"),
                None => continue,
            };
            if piece.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&piece);
        }
        out
    }

    fn inline(&self, kind: &str, text: &str) -> String {
        if text.len() <= self.options.max_inline_bytes {
            text.to_owned()
        } else {
            placeholder(kind, text.len())
        }
    }
}

/// An `input_image` as Markdown: kept when small, else a placeholder
/// naming its media type and size.
fn image(url: &str, max: usize) -> String {
    if url.len() + 16 <= max {
        return format!("![image]({url})");
    }
    let media = url
        .strip_prefix("data:")
        .and_then(|rest| rest.split(';').next())
        .filter(|m| !m.is_empty())
        .unwrap_or("image");
    placeholder(media, url.len())
}

/// A tool output as text, and whether it reports a failure. Codex writes
/// a string (often itself JSON `{output, metadata{exit_code}}`) or an
/// object `{content, success}`.
fn output_text(output: Option<&Value>) -> (String, bool) {
    match output {
        Some(Value::String(s)) => {
            let failed = serde_json::from_str::<Value>(s)
                .ok()
                .and_then(|v| v.get("metadata")?.get("exit_code")?.as_i64())
                .is_some_and(|code| code != 0);
            (s.clone(), failed)
        }
        Some(Value::Object(o)) => {
            let text = match o.get("content") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => Value::Object(o.clone()).to_string(),
            };
            (text, o.get("success").and_then(Value::as_bool) == Some(false))
        }
        Some(other) => (other.to_string(), false),
        None => (String::new(), false),
    }
}

/// Text Codex injects as a user message to describe the environment or
/// pass instructions on.
fn is_context(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with("<environment_context>")
        || t.starts_with("<user_instructions>")
        || t.starts_with("# AGENTS.md instructions")
}

fn context_kind(text: &str) -> &'static str {
    if text.trim_start().starts_with("<environment_context>") {
        "environment-context"
    } else {
        "instructions"
    }
}

/// Codex's counts include cached input in `input_tokens`; Chronicle's
/// sent tokens are what was not read from the cache.
fn usage(u: &Map<String, Value>) -> Usage {
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let cached = n("cached_input_tokens");
    Usage {
        sent_tokens: n("input_tokens").saturating_sub(cached),
        received_tokens: n("output_tokens"),
        cache_read_tokens: cached,
        ..Usage::default()
    }
}

fn str_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

impl LineParser for Parser {
    fn line(&mut self, number: u64, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        let reason = match serde_json::from_str::<Value>(line) {
            Err(e) => format!("not JSON: {e}"),
            Ok(Value::Object(obj)) => match self.record(number, &obj) {
                Ok(()) => return,
                Err(reason) => reason,
            },
            Ok(_) => "not a JSON object".to_owned(),
        };
        self.skipped.push(Skipped {
            file: self.file.clone(),
            line: number,
            reason,
        });
    }

    fn snapshot(&self) -> Parsed {
        Box::new(self.clone()).finish()
    }

    fn finish(self: Box<Self>) -> Parsed {
        let mut this = *self;
        let Some(mut session) = this.session.take() else {
            if !this.messages.is_empty() {
                this.skipped.push(Skipped {
                    file: this.file.clone(),
                    line: 0,
                    reason: "no session_meta line: not a Codex rollout".into(),
                });
            }
            return Parsed {
                sessions: Vec::new(),
                skipped: this.skipped,
            };
        };
        for m in &mut this.messages {
            label(m, &session);
        }
        session.messages = this.messages;
        Parsed {
            sessions: vec![session],
            skipped: this.skipped,
        }
    }

    /// Everything before the last reply (which a `token_count` may still
    /// add usage to). A fork is kept whole: its copy of the parent's
    /// history is found by comparing from its first message.
    fn take_settled(&mut self, min_bytes: usize) -> Vec<SourceSession> {
        let Some(session) = self.session.as_ref().filter(|s| s.parent.is_none()) else {
            return Vec::new();
        };
        if self.held_bytes < min_bytes {
            return Vec::new();
        }
        let reply = |m: &Message| m.role == Role::Assistant as i32 || m.role == Role::Tool as i32;
        let keep_from = self.messages.iter().rposition(reply).unwrap_or(self.messages.len());
        if keep_from == 0 {
            return Vec::new();
        }
        let mut taken: Vec<Message> = self.messages.drain(..keep_from).collect();
        for m in &mut taken {
            label(m, session);
            self.held_bytes = self.held_bytes.saturating_sub(message_bytes(m));
        }
        let mut calls = HashMap::with_capacity(self.calls.len());
        for (id, at) in self.calls.drain() {
            if at >= keep_from {
                calls.insert(id, at - keep_from);
            } else if taken[at].tool.as_ref().is_some_and(|t| t.result_json.is_empty()) {
                // Only a call still waiting for its output is kept.
                self.taken_count += 1;
                self.taken_calls.insert(id, (self.taken_count, taken[at].clone()));
            }
        }
        // Some calls never get an output line (a `local_shell_call` may
        // not): the oldest waiting ones are let go, so memory stays bounded.
        while self.taken_calls.len() > MAX_WAITING_CALLS {
            let oldest = self
                .taken_calls
                .iter()
                .min_by_key(|(_, (order, _))| *order)
                .map(|(id, _)| id.clone());
            if let Some(id) = oldest {
                self.taken_calls.remove(&id);
            }
        }
        self.calls = calls;
        let mut part = session.clone();
        part.messages = taken;
        vec![part]
    }
}

/// The metadata every message of `session` carries.
fn label(m: &mut Message, session: &SourceSession) {
    m.metadata.insert(meta::AGENT.into(), Agent::Codex.as_str().into());
    m.metadata.insert(meta::SESSION.into(), session.source_id.clone());
    if let Some(b) = &session.git_branch {
        m.metadata.insert(meta::GIT_BRANCH.into(), b.clone());
    }
    if let Some(v) = &session.agent_version {
        m.metadata.insert(meta::AGENT_VERSION.into(), v.clone());
    }
}

/// Parses a whole rollout held in memory (tests, small files).
pub fn parse(file: &str, text: &str, options: ParseOptions) -> Parsed {
    let mut parser = Box::new(Parser::new(file, options));
    for (i, line) in text.lines().enumerate() {
        parser.line(i as u64 + 1, line);
    }
    parser.finish()
}

/// Removes from a fork the messages it copied from its parent: the
/// longest leading run that matches the parent's messages one for one
/// (role, content, tool call). Sets the link's `at_message` to the last
/// shared message of the parent. Returns how many were removed.
pub fn drop_copied_history(fork: &mut SourceSession, parent: &[Message]) -> usize {
    let shared = fork
        .messages
        .iter()
        .zip(parent)
        .take_while(|(a, b)| same_message(a, b))
        .count();
    if shared == 0 {
        return 0;
    }
    fork.messages.drain(..shared);
    if let Some(link) = fork.parent.as_mut() {
        link.at_message = parent[shared - 1].metadata.get(meta::ID).cloned();
    }
    shared
}

fn same_message(a: &Message, b: &Message) -> bool {
    let tool = |m: &Message| {
        m.tool
            .as_ref()
            .map(|t| (t.name.clone(), t.call_id.clone(), t.args_json.clone()))
    };
    a.role == b.role && a.content == b.content && tool(a) == tool(b)
}

/// Thread names from `session_index.jsonl` (`{id, thread_name}` per line,
/// the last line for an id winning); bad lines are left out.
pub fn thread_names(text: &str) -> HashMap<String, String> {
    let mut names = HashMap::new();
    for line in text.lines() {
        let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if let (Some(id), Some(name)) = (str_field(&obj, "id"), str_field(&obj, "thread_name"))
            && !name.is_empty()
        {
            names.insert(id.to_owned(), name.to_owned());
        }
    }
    names
}

#[cfg(test)]
mod tests;
