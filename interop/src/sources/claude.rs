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
//!
//! The newest leaf is known only at the file's end, so the parser keeps
//! the tree's shape (ids, parents, times, what each line will show as)
//! until then. An import that can read the file again makes it
//! [`Parser::rereading`]: past a budget the texts are dropped and read back
//! from their lines at the end, and every session comes out in parts of a
//! bounded size, so a transcript of any size is imported in bounded memory.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use hashbrown::HashTable;

use chronicle_proto::v1::Usage;
use serde_json::{Map, Value};

use super::{
    LineParser, ParseOptions, Parsed, RereadingParser, Skipped, SourceSession, message_bytes, placeholder, rfc3339_ms,
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

/// About how much memory the tree keeps for a line besides its texts (its
/// node, uuid and index entry): importing a 300 MB transcript of 161,137
/// lines peaked 20 MiB lower once the index stopped copying uuids and the
/// node shrank, from about 0.4 KB a line.
const SHAPE_BYTES_PER_LINE: usize = 300;

/// Reads one transcript file (a session's own, or a subagent's).
pub struct Parser {
    file: String,
    options: ParseOptions,
    nodes: Vec<Node>,
    /// Each node's number, found by its uuid (hashed with `uuids`).
    by_uuid: HashTable<u32>,
    uuids: RandomState,
    /// The parents not read yet when a line named them.
    later: Vec<Box<str>>,
    titles: Vec<(String, String)>,
    custom_title: Option<String>,
    skipped: Vec<Skipped>,
    /// `Some(budget)` once [`Parser::rereading`]: the bytes of texts kept
    /// in memory before later lines keep only their shape.
    keep_bytes: Option<usize>,
    held_bytes: usize,
    /// The last line's context, shared by the lines after it that repeat
    /// it (a transcript names the same cwd and version on every line).
    recent: Option<Arc<Context>>,
    /// By session (source id): the start of its path whose messages
    /// [`LineParser::changes`] handed out settled, left out next time.
    handed: HashMap<String, sessions::Settled>,
}

/// Where and by what a line was written: the fields every line repeats.
#[derive(PartialEq, Eq)]
struct Context {
    session_id: Option<String>,
    agent_id: Option<String>,
    cwd: Option<String>,
    git_branch: Option<String>,
    version: Option<String>,
}

impl Context {
    fn of(obj: &Map<String, Value>) -> Context {
        let field = |key: &str| str_field(obj, key).filter(|v| !v.is_empty()).map(str::to_owned);
        Context {
            session_id: field("sessionId"),
            agent_id: field("agentId"),
            cwd: field("cwd"),
            git_branch: field("gitBranch"),
            version: field("version"),
        }
    }
}

/// The line a node follows: eight bytes a line, as a tree has a node for
/// every line of a transcript of any length.
enum Parent {
    None,
    /// Read before it (the usual case): its node.
    Read(u32),
    /// Not read yet when it came: its uuid, in [`Parser::later`], looked
    /// up at the end.
    Later(u32),
}

struct Node {
    uuid: Box<str>,
    parent: Parent,
    line: u64,
    context: Arc<Context>,
    sidechain: bool,
    timestamp_ms: i64,
    shape: Shape,
    entry: Entry,
}

/// What a line will show as, known without its texts: enough to choose
/// the sessions, link them and cut them into parts.
enum Shape {
    /// No message (a bookkeeping line, an empty text).
    Hidden,
    /// A user, system or log message of its own.
    Shown,
    /// A user line with tool results: the calls they answer, and whether
    /// it also has text to show.
    Answers { shown: bool, calls: Box<[Box<str>]> },
    /// A reply, or part of one: its API message id.
    Reply(Option<Box<str>>),
}

impl Node {
    /// The `source.id` of the message this line ends up in, if any. A line
    /// of only tool results is no message of its own: its results go into
    /// the calls' messages.
    fn message_id(&self) -> Option<String> {
        match &self.shape {
            Shape::Hidden | Shape::Answers { shown: false, .. } => None,
            Shape::Shown | Shape::Answers { shown: true, .. } => Some(self.uuid.to_string()),
            Shape::Reply(id) => Some(id.as_deref().unwrap_or(&self.uuid).to_owned()),
        }
    }
}

impl Entry {
    fn shape(&self) -> Shape {
        match self {
            Entry::Silent | Entry::Dropped => Shape::Hidden,
            Entry::Log(log) if log.text.is_empty() => Shape::Hidden,
            Entry::Log(_) => Shape::Shown,
            Entry::User(u) if !u.results.is_empty() => Shape::Answers {
                shown: !u.text.is_empty(),
                calls: u.results.iter().map(|r| r.tool_use_id.as_str().into()).collect(),
            },
            Entry::User(u) if u.text.is_empty() => Shape::Hidden,
            Entry::User(_) => Shape::Shown,
            Entry::Assistant(a) => Shape::Reply(a.message_id.as_deref().map(Into::into)),
        }
    }

    /// About how many bytes of text it holds.
    fn bytes(&self) -> usize {
        match self {
            Entry::Silent | Entry::Dropped => 0,
            Entry::Log(log) => log.text.len(),
            Entry::User(u) => u.text.len() + u.results.iter().map(|r| r.text.len() + 64).sum::<usize>(),
            Entry::Assistant(a) => {
                a.text.len() + a.thinking.len() + a.tools.iter().map(|t| t.input.len() + 64).sum::<usize>()
            }
        }
    }
}

#[derive(Clone)]
enum Entry {
    /// In the chain but not shown (progress lines and the like).
    Silent,
    /// Not kept in memory: read again from its line at the end.
    Dropped,
    // Boxed: a node whose texts were dropped keeps two words, not the
    // largest entry's room.
    User(Box<UserEntry>),
    Assistant(Box<AssistantEntry>),
    /// A system line other than a compaction boundary: a log line.
    Log(Box<LogEntry>),
}

#[derive(Clone)]
struct LogEntry {
    text: String,
    level: &'static str,
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
            by_uuid: HashTable::new(),
            uuids: RandomState::new(),
            later: Vec::new(),
            titles: Vec::new(),
            custom_title: None,
            skipped: Vec::new(),
            keep_bytes: None,
            held_bytes: 0,
            recent: None,
            handed: HashMap::new(),
        }
    }

    /// A parser whose input can be read again by line number: it keeps
    /// the texts of at most `keep_bytes` and drops the rest, which
    /// [`Parser::finish_rereading`] reads back from their lines. Finish it
    /// that way; [`LineParser::finish`] reports a dropped line as skipped.
    pub fn rereading(mut self, keep_bytes: usize) -> Self {
        self.keep_bytes = Some(keep_bytes);
        self
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
        if BOOKKEEPING.contains(&kind) && obj.get("uuid").and_then(Value::as_str).is_none() {
            return Ok(());
        }
        let mut entry = self.entry(kind, obj)?;
        let uuid = str_field(obj, "uuid").ok_or("no \"uuid\" field")?;
        if self.find(uuid).is_some() {
            // A line written twice (a resumed session re-logs its tail)
            // keeps its first copy.
            return Ok(());
        }
        // Node numbers are u32: eight bytes a line for `Parent`, four for
        // the uuid index.
        let index = u32::try_from(self.nodes.len()).map_err(|_| "more lines than a transcript may have")?;
        let shape = entry.shape();
        let bytes = entry.bytes();
        if self.keep_bytes.is_some_and(|budget| self.held_bytes + bytes > budget) {
            entry = Entry::Dropped;
        } else {
            self.held_bytes += bytes;
        }
        // A compaction boundary starts a new root; its logical parent is
        // what the conversation had before, which the path keeps.
        let parent = match str_field(obj, "parentUuid").or_else(|| str_field(obj, "logicalParentUuid")) {
            None => Parent::None,
            Some(p) => match self.find(p) {
                // `find` gives only numbers of nodes, which fit in u32.
                Some(i) => Parent::Read(i as u32),
                None => {
                    // At most one a line: no more of them than nodes.
                    let k = self.later.len() as u32;
                    self.later.push(p.into());
                    Parent::Later(k)
                }
            },
        };
        let context = Context::of(obj);
        let context = match &self.recent {
            Some(last) if **last == context => last.clone(),
            _ => {
                let new = Arc::new(context);
                self.recent = Some(new.clone());
                new
            }
        };
        let node = Node {
            uuid: uuid.into(),
            parent,
            line: number,
            context,
            sidechain: obj.get("isSidechain").and_then(Value::as_bool).unwrap_or(false),
            timestamp_ms: str_field(obj, "timestamp").and_then(rfc3339_ms).unwrap_or(0),
            shape,
            entry,
        };
        let hash = self.uuids.hash_one(uuid);
        self.nodes.push(node);
        let (nodes, uuids) = (&self.nodes, &self.uuids);
        self.by_uuid
            .insert_unique(hash, index, |&i| uuids.hash_one(&*nodes[i as usize].uuid));
        Ok(())
    }

    /// The node of `uuid`, if read.
    fn find(&self, uuid: &str) -> Option<usize> {
        let hash = self.uuids.hash_one(uuid);
        self.by_uuid
            .find(hash, |&i| &*self.nodes[i as usize].uuid == uuid)
            .map(|&i| i as usize)
    }

    /// What a line of type `kind` holds.
    fn entry(&self, kind: &str, obj: &Map<String, Value>) -> Result<Entry, String> {
        Ok(match kind {
            "user" => self.user(obj)?,
            "assistant" => self.assistant(obj)?,
            "system" => system(obj),
            other if BOOKKEEPING.contains(&other) => Entry::Silent,
            other => return Err(format!("unknown record type {other:?}")),
        })
    }

    /// The entry of a node whose texts were dropped, from its line read
    /// again; an error says why it could not be.
    fn reread(&self, node: &Node, line: Option<String>) -> Result<Entry, String> {
        let line = line.ok_or("could not be read again")?;
        let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(&line) else {
            return Err("changed while it was read: no longer a JSON object".into());
        };
        if str_field(&obj, "uuid") != Some(&*node.uuid) {
            return Err("changed while it was read: another uuid".into());
        }
        let kind = obj.get("type").and_then(Value::as_str).ok_or("no \"type\" field")?;
        self.entry(kind, &obj)
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
        Ok(Entry::User(Box::new(entry)))
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
        Ok(Entry::Assistant(Box::new(entry)))
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
    Entry::Log(Box::new(LogEntry { text, level }))
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

impl RereadingParser for Parser {
    fn finish_in_parts(
        self: Box<Self>,
        reread: &mut dyn FnMut(u64) -> Option<String>,
        part_bytes: usize,
        part: &mut dyn FnMut(SourceSession) -> bool,
    ) -> Vec<Skipped> {
        self.finish_rereading(reread, part_bytes, part)
    }
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

    /// Made from the tree as it stands, each entry cloned as its message
    /// is made: a follow snapshots after every change, and cloning the
    /// whole parser first (its tree and uuid map) made that grow with the
    /// transcript for nothing.
    fn snapshot(&self) -> Parsed {
        let mut sessions = Vec::new();
        let mut lost = Vec::new();
        let mut fetch = |i: usize| match &self.nodes[i].entry {
            Entry::Dropped => self.unread(i, None, &mut lost),
            entry => entry.clone(),
        };
        self.emit_sessions(&mut fetch, usize::MAX, &mut |s| {
            sessions.push(s);
            true
        });
        let mut skipped = self.skipped.clone();
        skipped.extend(lost);
        Parsed { sessions, skipped }
    }

    /// Each session's path is remembered up to where its messages had
    /// settled; next time, while that start is unchanged, it makes no
    /// messages again. A line appended to a long transcript then costs
    /// the messages after that point, not the whole conversation.
    fn changes(
        &mut self,
        reread: &mut dyn FnMut(u64) -> Option<String>,
        part_bytes: usize,
        part: &mut dyn FnMut(Vec<SourceSession>) -> bool,
    ) -> Parsed {
        let mut sessions = Vec::new();
        let mut held = 0;
        let mut going = true;
        let mut handed = HashMap::new();
        let mut lost = Vec::new();
        {
            let build = sessions::Build::new(self);
            let mut fetch = |i: usize| match &self.nodes[i].entry {
                Entry::Dropped => self.unread(i, reread(self.nodes[i].line), &mut lost),
                entry => entry.clone(),
            };
            for plan in build.plan() {
                let skip = match self.handed.get(plan.source_id()) {
                    Some(s) if build.still_settled(&plan, s) => s.len,
                    _ => 0,
                };
                let source_id = plan.source_id().to_owned();
                let mut first = true;
                let emitted = build.emit(plan, &mut fetch, skip, part_bytes, &mut |mut s| {
                    // A later part continues the part before it.
                    s.continued = skip > 0 || !first;
                    first = false;
                    held += s.messages.iter().map(message_bytes).sum::<usize>();
                    sessions.push(s);
                    if held >= part_bytes {
                        held = 0;
                        going = part(std::mem::take(&mut sessions));
                    }
                    going
                });
                if emitted.stopped {
                    break;
                }
                if let Some(settled) = emitted.settled {
                    handed.insert(source_id, settled);
                }
            }
        }
        self.handed = handed;
        let mut skipped = self.skipped.clone();
        skipped.extend(lost);
        Parsed { sessions, skipped }
    }

    /// The texts it keeps, and its tree's shape: about
    /// [`SHAPE_BYTES_PER_LINE`] a line whatever the line holds.
    fn held_bytes(&self) -> Option<usize> {
        Some(self.held_bytes + self.nodes.len() * SHAPE_BYTES_PER_LINE)
    }

    fn finish(self: Box<Self>) -> Parsed {
        let mut sessions = Vec::new();
        let skipped = self.finish_rereading(&mut |_| None, usize::MAX, &mut |s| {
            sessions.push(s);
            true
        });
        Parsed { sessions, skipped }
    }
}

impl Parser {
    /// Ends the input: hands every session to `part` (in conversation
    /// order, each in parts of at least `part_bytes` of messages where a
    /// part can end; `part` returns false to stop) and returns what was
    /// skipped. `reread` gives back line `n` of the input as it was fed,
    /// for the texts a [`Parser::rereading`] parser dropped.
    pub fn finish_rereading(
        mut self,
        reread: &mut dyn FnMut(u64) -> Option<String>,
        part_bytes: usize,
        part: &mut dyn FnMut(SourceSession) -> bool,
    ) -> Vec<Skipped> {
        // Each node goes into one session at most: its entry's texts move
        // into the messages rather than being copied beside the tree.
        let mut entries: Vec<Entry> = self
            .nodes
            .iter_mut()
            .map(|n| std::mem::replace(&mut n.entry, Entry::Silent))
            .collect();
        let mut lost = Vec::new();
        let mut fetch = |i: usize| match std::mem::replace(&mut entries[i], Entry::Silent) {
            Entry::Dropped => self.unread(i, reread(self.nodes[i].line), &mut lost),
            entry => entry,
        };
        self.emit_sessions(&mut fetch, part_bytes, part);
        self.skipped.extend(lost);
        self.skipped
    }

    /// Node `i`'s dropped entry from its `line` read again; when it cannot
    /// be, nothing shows for it and `lost` says why.
    fn unread(&self, i: usize, line: Option<String>, lost: &mut Vec<Skipped>) -> Entry {
        let node = &self.nodes[i];
        self.reread(node, line).unwrap_or_else(|reason| {
            lost.push(Skipped {
                file: self.file.clone(),
                line: node.line,
                reason,
            });
            Entry::Silent
        })
    }

    /// Plans the sessions and makes each one's messages from `entries`,
    /// handing them to `part`; stops when `part` returns false.
    fn emit_sessions(
        &self,
        entries: &mut dyn FnMut(usize) -> Entry,
        part_bytes: usize,
        part: &mut dyn FnMut(SourceSession) -> bool,
    ) {
        let build = sessions::Build::new(self);
        for plan in build.plan() {
            if build.emit(plan, entries, 0, part_bytes, part).stopped {
                break;
            }
        }
    }
}

/// Parses a whole transcript held in memory (tests, small files).
pub fn parse(file: &str, text: &str, options: ParseOptions) -> Parsed {
    let mut parser = Box::new(Parser::new(file, options));
    for (i, line) in text.lines().enumerate() {
        parser.line(i as u64 + 1, line);
    }
    parser.finish()
}

mod sessions;

#[cfg(test)]
mod tests;
