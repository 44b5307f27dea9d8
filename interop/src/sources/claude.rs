//! Claude Code transcripts: `<config>/projects/<cwd, / and . as ->/<session>.jsonl`
//! and, for newer versions, `<session>/subagents/agent-*.jsonl` beside it.
//!
//! A transcript is a tree, not a list: every `user`, `assistant` and
//! `system` line (and some bookkeeping lines) has a `uuid` and the
//! `parentUuid` it follows. One API response is written as several
//! `assistant` lines sharing `message.id` (one per content block), merged
//! here into one reply. A rewind leaves a second child under one parent: the
//! conversation is the path to the newest leaf (the one written last), and
//! each abandoned branch becomes its own session linked to the message it
//! forked after. Compaction starts a new root (`compact_boundary`, whose
//! `logicalParentUuid` names what came before), so the path follows that
//! link and keeps the history before it; the summary line after it
//! (`isCompactSummary`) becomes a system message. Sidechain lines
//! (`isSidechain`, subagents) form their own session per `agentId` (or per
//! root), linked to the file's session. A `summary` line
//! (`{summary, leafUuid}`) titles the session holding that leaf.

use std::collections::{HashMap, HashSet};

use chronicle_proto::v1::{Message, Role, ToolCall, Usage};
use serde_json::{Map, Value};

use super::{
    Agent, LineParser, LinkKind, ParseOptions, Parsed, Skipped, SourceLink, SourceSession, cut, meta, placeholder,
    rfc3339_ms,
};

/// Line types that carry nothing a reader of the conversation needs.
const BOOKKEEPING: &[&str] = &[
    "file-history-snapshot",
    "queue-operation",
    "progress",
    "agent-name",
    "tag",
    "pr-link",
    "last-prompt",
    "attachment",
];

/// Reads one transcript file (a session's own, or a subagent's).
#[derive(Clone)]
pub struct Parser {
    file: String,
    options: ParseOptions,
    nodes: Vec<Node>,
    by_uuid: HashMap<String, usize>,
    titles: Vec<(String, String)>,
    custom_title: Option<String>,
    skipped: Vec<Skipped>,
}

#[derive(Clone)]
struct Node {
    uuid: String,
    parent: Option<String>,
    line: u64,
    session_id: String,
    sidechain: bool,
    agent_id: Option<String>,
    timestamp_ms: i64,
    cwd: Option<String>,
    git_branch: Option<String>,
    version: Option<String>,
    entry: Entry,
}

#[derive(Clone)]
enum Entry {
    /// In the chain but not shown (progress lines and the like).
    Silent,
    User(UserEntry),
    Assistant(AssistantEntry),
    /// A system line other than a compaction boundary: a log line.
    Log {
        text: String,
        level: String,
    },
}

#[derive(Clone)]
struct UserEntry {
    text: String,
    results: Vec<ToolResult>,
    kind: Option<&'static str>,
}

#[derive(Clone)]
struct ToolResult {
    tool_use_id: String,
    text: String,
    is_error: bool,
}

#[derive(Clone)]
struct AssistantEntry {
    message_id: Option<String>,
    model: String,
    text: String,
    thinking: String,
    tools: Vec<ToolUse>,
    usage: Option<Usage>,
}

#[derive(Clone)]
struct ToolUse {
    id: String,
    name: String,
    input: String,
}

impl Parser {
    /// `file` names the file in what is skipped.
    pub fn new(file: impl Into<String>, options: ParseOptions) -> Self {
        Parser {
            file: file.into(),
            options,
            nodes: Vec::new(),
            by_uuid: HashMap::new(),
            titles: Vec::new(),
            custom_title: None,
            skipped: Vec::new(),
        }
    }

    fn skip(&mut self, line: u64, reason: impl Into<String>) {
        self.skipped.push(Skipped {
            file: self.file.clone(),
            line,
            reason: reason.into(),
        });
    }

    fn record(&mut self, number: u64, obj: &Map<String, Value>) -> Result<(), String> {
        let kind = obj.get("type").and_then(Value::as_str).ok_or("no \"type\" field")?;
        match kind {
            "summary" => {
                let title = str_field(obj, "summary").ok_or("summary line without \"summary\"")?;
                let leaf = str_field(obj, "leafUuid").ok_or("summary line without \"leafUuid\"")?;
                self.titles.push((leaf.to_owned(), title.to_owned()));
                return Ok(());
            }
            "custom-title" => {
                if let Some(t) = str_field(obj, "customTitle") {
                    self.custom_title = Some(t.to_owned());
                }
                return Ok(());
            }
            _ => {}
        }
        let entry = match kind {
            "user" => self.user(obj)?,
            "assistant" => self.assistant(obj)?,
            "system" => system(obj),
            other if BOOKKEEPING.contains(&other) => {
                if obj.get("uuid").and_then(Value::as_str).is_none() {
                    return Ok(());
                }
                Entry::Silent
            }
            other => return Err(format!("unknown record type {other:?}")),
        };
        let uuid = str_field(obj, "uuid").ok_or("no \"uuid\" field")?.to_owned();
        // A compaction boundary starts a new root; its logical parent is
        // what the conversation had before, which the path keeps.
        let parent = str_field(obj, "parentUuid")
            .or_else(|| str_field(obj, "logicalParentUuid"))
            .map(str::to_owned);
        let node = Node {
            uuid: uuid.clone(),
            parent,
            line: number,
            session_id: str_field(obj, "sessionId").unwrap_or_default().to_owned(),
            sidechain: obj.get("isSidechain").and_then(Value::as_bool).unwrap_or(false),
            agent_id: str_field(obj, "agentId").map(str::to_owned),
            timestamp_ms: str_field(obj, "timestamp").and_then(rfc3339_ms).unwrap_or(0),
            cwd: str_field(obj, "cwd").map(str::to_owned),
            git_branch: str_field(obj, "gitBranch").filter(|b| !b.is_empty()).map(str::to_owned),
            version: str_field(obj, "version").map(str::to_owned),
            entry,
        };
        // A line written twice (a resumed session re-logs its tail) keeps
        // its first copy.
        if !self.by_uuid.contains_key(&uuid) {
            self.by_uuid.insert(uuid, self.nodes.len());
            self.nodes.push(node);
        }
        Ok(())
    }

    fn user(&self, obj: &Map<String, Value>) -> Result<Entry, String> {
        let message = obj
            .get("message")
            .and_then(Value::as_object)
            .ok_or("user line without \"message\"")?;
        let mut entry = UserEntry {
            text: String::new(),
            results: Vec::new(),
            kind: None,
        };
        if obj.get("isCompactSummary").and_then(Value::as_bool) == Some(true) {
            entry.kind = Some("compaction-summary");
        } else if obj.get("isMeta").and_then(Value::as_bool) == Some(true) {
            entry.kind = Some("meta");
        }
        match message.get("content") {
            Some(Value::String(s)) => entry.text = self.inline("text", s),
            Some(Value::Array(blocks)) => {
                let mut parts = Vec::new();
                for block in blocks {
                    match block.get("type").and_then(Value::as_str) {
                        Some("tool_result") => entry.results.push(ToolResult {
                            tool_use_id: block
                                .get("tool_use_id")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_owned(),
                            text: self.result_text(block.get("content")),
                            is_error: block.get("is_error").and_then(Value::as_bool).unwrap_or(false),
                        }),
                        _ => parts.push(self.block_text(block)),
                    }
                }
                entry.text = parts
                    .into_iter()
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n\n");
            }
            _ => return Err("user message without \"content\"".into()),
        }
        Ok(Entry::User(entry))
    }

    fn assistant(&self, obj: &Map<String, Value>) -> Result<Entry, String> {
        let message = obj
            .get("message")
            .and_then(Value::as_object)
            .ok_or("assistant line without \"message\"")?;
        let mut entry = AssistantEntry {
            message_id: str_field(message, "id").map(str::to_owned),
            model: str_field(message, "model").unwrap_or_default().to_owned(),
            text: String::new(),
            thinking: String::new(),
            tools: Vec::new(),
            usage: message.get("usage").and_then(Value::as_object).map(usage),
        };
        if entry.model == "<synthetic>" {
            entry.model.clear();
        }
        match message.get("content") {
            Some(Value::String(s)) => entry.text = self.inline("text", s),
            Some(Value::Array(blocks)) => {
                for block in blocks {
                    match block.get("type").and_then(Value::as_str) {
                        Some("thinking") => {
                            let t = block.get("thinking").and_then(Value::as_str).unwrap_or_default();
                            push_para(&mut entry.thinking, self.inline("thinking", t));
                        }
                        Some("redacted_thinking") => {}
                        Some("tool_use") => entry.tools.push(ToolUse {
                            id: block.get("id").and_then(Value::as_str).unwrap_or_default().to_owned(),
                            name: block.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
                            input: block
                                .get("input")
                                .map(|v| self.inline("tool input", &v.to_string()))
                                .unwrap_or_default(),
                        }),
                        _ => push_para(&mut entry.text, self.block_text(block)),
                    }
                }
            }
            _ => return Err("assistant message without \"content\"".into()),
        }
        Ok(Entry::Assistant(entry))
    }

    /// A text or image block as Markdown.
    fn block_text(&self, block: &Value) -> String {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => self.inline("text", block.get("text").and_then(Value::as_str).unwrap_or_default()),
            Some("image") | Some("document") => {
                let source = block.get("source");
                let media = source
                    .and_then(|s| s.get("media_type"))
                    .and_then(Value::as_str)
                    .unwrap_or("image");
                let data = source
                    .and_then(|s| s.get("data"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if data.len() + 64 <= self.options.max_inline_bytes && media.starts_with("image/") {
                    format!("![image](data:{media};base64,{data})")
                } else {
                    placeholder(media, data.len())
                }
            }
            Some(other) => format!("[{other} block]"),
            None => String::new(),
        }
    }

    fn result_text(&self, content: Option<&Value>) -> String {
        match content {
            Some(Value::String(s)) => self.inline("tool output", s),
            Some(Value::Array(blocks)) => blocks
                .iter()
                .map(|b| self.block_text(b))
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join("\n\n"),
            Some(Value::Null) | None => String::new(),
            Some(other) => self.inline("tool output", &other.to_string()),
        }
    }

    /// `text` as it is, or a placeholder when it is too large to keep.
    fn inline(&self, kind: &str, text: &str) -> String {
        if text.len() <= self.options.max_inline_bytes {
            text.to_owned()
        } else {
            placeholder(kind, text.len())
        }
    }
}

fn system(obj: &Map<String, Value>) -> Entry {
    if str_field(obj, "subtype") == Some("compact_boundary") {
        return Entry::Silent;
    }
    let text = str_field(obj, "content").unwrap_or_default().to_owned();
    let level = match str_field(obj, "level") {
        Some("warning") => "warning",
        Some("error") => "error",
        _ => "info",
    };
    Entry::Log {
        text,
        level: level.to_owned(),
    }
}

fn usage(u: &Map<String, Value>) -> Usage {
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    Usage {
        sent_tokens: n("input_tokens"),
        received_tokens: n("output_tokens"),
        cost: 0.0,
        cache_read_tokens: n("cache_read_input_tokens"),
        cache_write_tokens: n("cache_creation_input_tokens"),
    }
}

fn str_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

fn push_para(into: &mut String, text: String) {
    if text.is_empty() {
        return;
    }
    if into.is_empty() {
        *into = text;
        return;
    }
    into.push_str("\n\n");
    into.push_str(&text);
}

impl LineParser for Parser {
    fn line(&mut self, number: u64, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => return self.skip(number, format!("not JSON: {e}")),
        };
        let Value::Object(obj) = value else {
            return self.skip(number, "not a JSON object");
        };
        if let Err(reason) = self.record(number, &obj) {
            self.skip(number, reason);
        }
    }

    fn snapshot(&self) -> Parsed {
        Box::new(self.clone()).finish()
    }

    fn finish(self: Box<Self>) -> Parsed {
        let mut this = *self;
        // Each node goes into one session at most: its entry's texts move
        // into the messages rather than being copied beside the tree.
        let entries = this
            .nodes
            .iter_mut()
            .map(|n| std::mem::replace(&mut n.entry, Entry::Silent))
            .collect();
        let mut build = Build::new(&this, entries);
        build.run();
        let Build { sessions, .. } = build;
        let mut parsed = Parsed {
            sessions,
            skipped: this.skipped,
        };
        tidy(&mut parsed);
        parsed
    }
}

/// Turns the tree of one file into sessions.
struct Build<'a> {
    parser: &'a Parser,
    /// Each node's entry, taken out of the tree; `emit` takes it from here.
    entries: Vec<Entry>,
    children: Vec<Vec<usize>>,
    /// The session (index into `sessions`) each node went into.
    owner: Vec<Option<usize>>,
    /// The `source.id` of the message each node ended up in.
    node_message: HashMap<usize, String>,
    sessions: Vec<SourceSession>,
}

impl<'a> Build<'a> {
    fn new(parser: &'a Parser, entries: Vec<Entry>) -> Self {
        let mut children = vec![Vec::new(); parser.nodes.len()];
        for (i, node) in parser.nodes.iter().enumerate() {
            if let Some(p) = node.parent.as_ref().and_then(|p| parser.by_uuid.get(p)) {
                children[*p].push(i);
            }
        }
        Build {
            parser,
            entries,
            children,
            owner: vec![None; parser.nodes.len()],
            node_message: HashMap::new(),
            sessions: Vec::new(),
        }
    }

    fn parent(&self, i: usize) -> Option<usize> {
        let p = self.parser.nodes[i].parent.as_ref()?;
        self.parser.by_uuid.get(p).copied()
    }

    /// Leaves of the nodes `keep` selects, newest (written last) first.
    fn leaves(&self, keep: impl Fn(&Node) -> bool) -> Vec<usize> {
        let mut leaves: Vec<usize> = (0..self.parser.nodes.len())
            .filter(|&i| keep(&self.parser.nodes[i]))
            .filter(|&i| !self.children[i].iter().any(|&c| keep(&self.parser.nodes[c])))
            .collect();
        leaves.sort_by_key(|&i| std::cmp::Reverse(self.parser.nodes[i].line));
        leaves
    }

    /// From `leaf` up to (not including) the first node already in a
    /// session, in conversation order, and that node.
    fn path(&self, leaf: usize) -> (Vec<usize>, Option<usize>) {
        let mut path = Vec::new();
        let mut seen = HashSet::new();
        let mut at = Some(leaf);
        while let Some(i) = at {
            if self.owner[i].is_some() {
                path.reverse();
                return (path, Some(i));
            }
            if !seen.insert(i) {
                break;
            }
            path.push(i);
            at = self.parent(i);
        }
        path.reverse();
        (path, None)
    }

    fn run(&mut self) {
        let nodes = &self.parser.nodes;
        let Some(first) = nodes.iter().find(|n| !n.session_id.is_empty()) else {
            return;
        };
        let session_id = first.session_id.clone();

        // The main conversation and its abandoned branches.
        let main_leaves = self.leaves(|n| !n.sidechain);
        for (k, &leaf) in main_leaves.iter().enumerate() {
            let (path, fork) = self.path(leaf);
            if k == 0 {
                self.emit(&path, session_id.clone(), session_id.clone(), None);
            } else if let Some(start) = path.first() {
                let id = format!("{session_id}/branch/{}", nodes[*start].uuid);
                let link = fork.and_then(|f| {
                    let parent = self.owner[f]?;
                    if self.sessions[parent].source_id.is_empty() {
                        return None;
                    }
                    Some(SourceLink {
                        kind: LinkKind::Branch,
                        parent_source_id: self.sessions[parent].source_id.clone(),
                        at_message: self.node_message.get(&f).cloned(),
                    })
                });
                let link = link.or(Some(SourceLink {
                    kind: LinkKind::Branch,
                    parent_source_id: session_id.clone(),
                    at_message: None,
                }));
                self.emit(&path, id, session_id.clone(), link);
            }
        }

        // Sidechains: one session per agent (or per root), its newest path.
        let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, n) in nodes.iter().enumerate().filter(|(_, n)| n.sidechain) {
            let key = match &n.agent_id {
                Some(a) => format!("agent-{a}"),
                None => {
                    let mut root = i;
                    let mut hops = 0;
                    while let Some(p) = self.parent(root).filter(|&p| nodes[p].sidechain) {
                        root = p;
                        hops += 1;
                        if hops > nodes.len() {
                            break;
                        }
                    }
                    format!("sidechain/{}", nodes[root].uuid)
                }
            };
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(i),
                None => groups.push((key, vec![i])),
            }
        }
        for (key, members) in groups {
            let member_set: HashSet<usize> = members.iter().copied().collect();
            let leaf = self
                .leaves(|n| n.sidechain)
                .into_iter()
                .find(|l| member_set.contains(l));
            let Some(leaf) = leaf else { continue };
            let (path, _) = self.path(leaf);
            let path: Vec<usize> = path.into_iter().filter(|i| member_set.contains(i)).collect();
            let link = SourceLink {
                kind: LinkKind::Subagent,
                parent_source_id: session_id.clone(),
                at_message: None,
            };
            self.emit(&path, format!("{session_id}/{key}"), session_id.clone(), Some(link));
        }

        // Titles: a summary names the session holding its leaf; a custom
        // title names the file's own session.
        for (leaf, title) in self.parser.titles.iter().rev() {
            if let Some(s) = self.parser.by_uuid.get(leaf).and_then(|&i| self.owner[i]) {
                self.sessions[s].title.get_or_insert_with(|| title.clone());
            }
        }
        if let Some(title) = &self.parser.custom_title
            && let Some(s) = self.sessions.iter_mut().find(|s| s.source_id == session_id)
        {
            s.title = Some(title.clone());
        }
    }

    /// Makes one session of the nodes of `path` (in order).
    fn emit(&mut self, path: &[usize], source_id: String, session_id: String, parent: Option<SourceLink>) {
        let index = self.sessions.len();
        for &i in path {
            self.owner[i] = Some(index);
        }
        let nodes = &self.parser.nodes;
        let mut session = SourceSession::new(Agent::Claude, &source_id);
        session.source_session_id = session_id.clone();
        session.parent = parent;
        session.cwd = path.iter().find_map(|&i| nodes[i].cwd.clone());
        session.git_branch = path.iter().rev().find_map(|&i| nodes[i].git_branch.clone());
        session.agent_version = path.iter().rev().find_map(|&i| nodes[i].version.clone());
        session.started_at_ms = path.iter().map(|&i| nodes[i].timestamp_ms).find(|&t| t > 0);

        // Tool results by the call they answer, so each call's message
        // holds its result.
        let mut results: HashMap<String, ToolResult> = HashMap::new();
        for &i in path {
            if let Entry::User(u) = &mut self.entries[i] {
                for r in std::mem::take(&mut u.results) {
                    results.insert(r.tool_use_id.clone(), r);
                }
            }
        }

        // Assistant lines of one API response merge into the message of
        // their first line, even when other lines sit between them.
        enum Out {
            Plain(Message),
            Reply {
                message: Message,
                tools: Vec<(String, String, String)>,
                last_node: usize,
            },
        }
        let mut out: Vec<Out> = Vec::new();
        let mut reply_at: HashMap<String, usize> = HashMap::new();
        let mut node_out: Vec<(usize, usize)> = Vec::new();
        for &i in path {
            let node = &nodes[i];
            let base = |role: Role, id: &str| {
                let mut m = Message {
                    role: role as i32,
                    created_at_ms: node.timestamp_ms,
                    ..Message::default()
                };
                m.metadata.insert(meta::ID.into(), id.to_owned());
                m.metadata.insert(meta::UUID.into(), node.uuid.clone());
                m
            };
            match std::mem::replace(&mut self.entries[i], Entry::Silent) {
                Entry::Silent => {}
                Entry::Log { text, level } => {
                    if text.is_empty() {
                        continue;
                    }
                    let mut m = base(Role::Log, &node.uuid);
                    m.content = text;
                    m.log_level = level;
                    node_out.push((i, out.len()));
                    out.push(Out::Plain(m));
                }
                Entry::User(u) => {
                    if u.text.is_empty() {
                        continue;
                    }
                    let role = if u.kind.is_some() { Role::System } else { Role::User };
                    let mut m = base(role, &node.uuid);
                    m.content = u.text;
                    if let Some(kind) = u.kind {
                        m.metadata.insert(meta::KIND.into(), kind.into());
                    }
                    node_out.push((i, out.len()));
                    out.push(Out::Plain(m));
                }
                Entry::Assistant(a) => {
                    let existing = a.message_id.as_deref().and_then(|id| reply_at.get(id).copied());
                    let at = match existing {
                        Some(at) => at,
                        None => {
                            let id = a.message_id.clone().unwrap_or_else(|| node.uuid.clone());
                            let mut m = base(Role::Assistant, &id);
                            m.model = a.model.clone();
                            if let Some(mid) = &a.message_id {
                                reply_at.insert(mid.clone(), out.len());
                            }
                            out.push(Out::Reply {
                                message: m,
                                tools: Vec::new(),
                                last_node: i,
                            });
                            out.len() - 1
                        }
                    };
                    node_out.push((i, at));
                    if let Out::Reply {
                        message,
                        tools,
                        last_node,
                    } = &mut out[at]
                    {
                        push_para(&mut message.content, a.text);
                        push_para(&mut message.reasoning, a.thinking);
                        if a.usage.is_some() {
                            message.usage = a.usage;
                        }
                        if message.model.is_empty() {
                            message.model = a.model;
                        }
                        *last_node = i;
                        message.metadata.insert(meta::UUID.into(), node.uuid.clone());
                        for t in a.tools {
                            tools.push((t.id, t.name, t.input));
                        }
                    }
                }
            }
        }
        for (node, at) in node_out {
            let id = match &out[at] {
                Out::Plain(m) | Out::Reply { message: m, .. } => m.metadata.get(meta::ID).cloned(),
            };
            if let Some(id) = id {
                self.node_message.insert(node, id);
            }
        }

        let max = self.parser.options.max_inline_bytes;
        for o in out {
            match o {
                Out::Plain(m) => session.messages.push(m),
                Out::Reply {
                    mut message,
                    tools,
                    last_node,
                } => {
                    let kept = cut(&message.content, max).len();
                    message.content.truncate(kept);
                    let has_reply = !message.content.is_empty() || !message.reasoning.is_empty();
                    let model = message.model.clone();
                    let time = nodes[last_node].timestamp_ms;
                    // A reply that is only tool calls shows as those calls;
                    // its usage goes on the first.
                    let mut usage = None;
                    if has_reply || tools.is_empty() {
                        session.messages.push(message);
                    } else {
                        usage = message.usage;
                    }
                    for (call_id, name, input) in tools {
                        let result = results.remove(call_id.as_str());
                        let mut m = Message {
                            role: Role::Tool as i32,
                            created_at_ms: time,
                            model: model.clone(),
                            tool: Some(ToolCall {
                                name,
                                call_id: call_id.clone(),
                                args_json: input,
                                is_error: result.as_ref().is_some_and(|r| r.is_error),
                                result_json: result.map(|r| r.text).unwrap_or_default(),
                            }),
                            usage: usage.take(),
                            ..Message::default()
                        };
                        m.metadata.insert(meta::ID.into(), call_id);
                        session.messages.push(m);
                    }
                }
            }
        }
        for m in &mut session.messages {
            m.metadata.insert(meta::AGENT.into(), Agent::Claude.as_str().into());
            m.metadata.insert(meta::SESSION.into(), session_id.clone());
            if let Some(b) = &session.git_branch {
                m.metadata.insert(meta::GIT_BRANCH.into(), b.clone());
            }
            if let Some(v) = &session.agent_version {
                m.metadata.insert(meta::AGENT_VERSION.into(), v.clone());
            }
        }
        if session.messages.is_empty() {
            // Nothing to keep (a branch of bookkeeping lines); its nodes
            // stay claimed so no other branch stops at them.
            session.source_id.clear();
        }
        self.sessions.push(session);
    }
}

/// Drops the placeholder sessions `emit` keeps for indexing.
fn tidy(parsed: &mut Parsed) {
    parsed.sessions.retain(|s| !s.source_id.is_empty());
}

/// Parses a whole transcript held in memory (tests, small files).
pub fn parse(file: &str, text: &str, options: ParseOptions) -> Parsed {
    let mut parser = Box::new(Parser::new(file, options));
    for (i, line) in text.lines().enumerate() {
        parser.line(i as u64 + 1, line);
    }
    parser.finish()
}

#[cfg(test)]
mod tests;
