//! Other agents' session files, read into one intermediate form that the
//! daemon imports: a [`SourceSession`] per conversation Chronicle keeps,
//! whose messages are already Chronicle's `Message`s carrying the agent's
//! own ids in `metadata` (the [`meta`] keys), so a re-import or a follow
//! can tell what it already has. What a parser could not read is a
//! [`Skipped`] naming the file and line, never an error that stops it.
//!
//! Each agent's module is pure data in, data out: the daemon opens the
//! files, splits lines and hands them over (a line-oriented format through
//! [`LineParser`]); no parser touches the disk. `docs/SOURCES.md` maps each
//! format onto Chronicle's model.

use std::fmt;

use chronicle_proto::v1::Message;

pub mod claude;
pub mod codex;
pub mod gemini;
pub mod opencode;

/// The agents whose sessions Chronicle imports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Agent {
    Claude,
    Codex,
    Opencode,
    Gemini,
    Aider,
}

impl Agent {
    pub const ALL: [Agent; 5] = [
        Agent::Claude,
        Agent::Codex,
        Agent::Opencode,
        Agent::Gemini,
        Agent::Aider,
    ];

    /// The name in metadata, on the command line and in session names.
    pub fn as_str(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Codex => "codex",
            Agent::Opencode => "opencode",
            Agent::Gemini => "gemini",
            Agent::Aider => "aider",
        }
    }

    pub fn parse(name: &str) -> Option<Agent> {
        Agent::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

impl fmt::Display for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `metadata` keys a parser sets. On every message: [`meta::AGENT`],
/// [`meta::SESSION`] and [`meta::ID`]; the others where the source has them.
pub mod meta {
    /// `claude`, `codex`, … ([`super::Agent::as_str`]).
    pub const AGENT: &str = "source.agent";
    /// The agent's own session id (for a subagent or branch: of the file's
    /// session, the conversation it belongs to).
    pub const SESSION: &str = "source.session";
    /// The message's id in the source, unique within its [`super::SourceSession`]
    /// and stable across re-reads of the same data: what makes an import
    /// idempotent (Claude: the API message id or the line uuid; Codex: the
    /// call id or the line number's content hash — see each module).
    pub const ID: &str = "source.id";
    /// Claude: the uuid of the last transcript line merged into this message
    /// (a `summary` line's `leafUuid` points at one).
    pub const UUID: &str = "source.uuid";
    pub const GIT_BRANCH: &str = "source.git_branch";
    pub const AGENT_VERSION: &str = "source.agent_version";
    /// The working directory the agent ran in when it wrote the message.
    pub const CWD: &str = "source.cwd";
    /// Why a message is what it is when its role alone does not say:
    /// `compaction-summary`, `environment-context`, `instructions`, ….
    pub const KIND: &str = "source.kind";
}

/// How a session hangs off another one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkKind {
    /// A conversation the user rewound away from (Claude), or a `$rewindTo`
    /// (Gemini): the messages after the fork point that are no longer on
    /// the conversation's path.
    Branch,
    /// A subagent or sidechain run by the parent (Claude's Task tool,
    /// opencode's child sessions).
    Subagent,
    /// A session started as a copy of another (Codex fork, opencode fork):
    /// only what came after the copy is in this session.
    Fork,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Branch => "branch",
            LinkKind::Subagent => "subagent",
            LinkKind::Fork => "fork",
        }
    }
}

/// Where a session hangs off its parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLink {
    pub kind: LinkKind,
    /// The parent's [`SourceSession::source_id`].
    pub parent_source_id: String,
    /// The parent's message ([`meta::ID`]) it forked after, when known.
    pub at_message: Option<String>,
}

/// One conversation as Chronicle will keep it: becomes one saved session.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceSession {
    pub agent: Agent,
    /// Unique among this agent's sessions and stable across re-reads: the
    /// key an import finds its earlier copy by. The agent's session id for
    /// a plain session; derived ids (`<session>/branch/<uuid>`,
    /// `<session>/agent-<id>`) for the sessions a file splits into.
    pub source_id: String,
    /// The agent's own session id (what [`meta::SESSION`] holds).
    pub source_session_id: String,
    /// The directory the agent ran in, as written in the source.
    pub cwd: Option<String>,
    /// A title the agent gave it (Claude's `summary`, Codex's thread name,
    /// opencode's and Gemini's titles).
    pub title: Option<String>,
    /// ms since the epoch; the first message's time when the source has
    /// no start time of its own.
    pub started_at_ms: Option<i64>,
    pub git_branch: Option<String>,
    pub agent_version: Option<String>,
    pub parent: Option<SourceLink>,
    /// In conversation order, ids left 0 (the daemon assigns them); times
    /// from the source (0 when it has none); every one with [`meta::AGENT`],
    /// [`meta::SESSION`] and [`meta::ID`] set.
    pub messages: Vec<Message>,
    /// Only what changed since a follow last handed this session out: the
    /// store already holds the rest, and must not make a session of these
    /// alone if it holds none (the follow then reads the file again whole).
    pub continued: bool,
}

impl SourceSession {
    /// An empty session of `agent` with both ids set to `id`.
    pub fn new(agent: Agent, id: &str) -> Self {
        SourceSession {
            agent,
            source_id: id.to_owned(),
            source_session_id: id.to_owned(),
            cwd: None,
            title: None,
            started_at_ms: None,
            git_branch: None,
            agent_version: None,
            parent: None,
            messages: Vec::new(),
            continued: false,
        }
    }

    /// The first user message's text, for a name when there is no title.
    pub fn first_prompt(&self) -> Option<&str> {
        self.messages
            .iter()
            .filter(|m| m.role == chronicle_proto::v1::Role::User as i32)
            .find(|m| !m.content.trim().is_empty() && !m.metadata.contains_key(meta::KIND))
            .map(|m| m.content.as_str())
    }
}

/// A line (or record) that was not imported, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The file as the caller named it to the parser.
    pub file: String,
    /// 1-based line number; for a non-line format, the record's position
    /// (1-based) or 0 when the whole file was skipped.
    pub line: u64,
    /// One line saying what was wrong, e.g. `not JSON: expected value at
    /// column 1`, `unknown record type "foo"`.
    pub reason: String,
}

/// What one parse produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parsed {
    pub sessions: Vec<SourceSession>,
    pub skipped: Vec<Skipped>,
}

/// Limits a parser applies while it reads.
#[derive(Clone, Copy, Debug)]
pub struct ParseOptions {
    /// Largest inline payload (an image's base64, a tool output) kept in a
    /// message as it is; a larger one becomes [`placeholder`]. Also caps a
    /// message's content as a whole.
    pub max_inline_bytes: usize,
}

impl Default for ParseOptions {
    fn default() -> Self {
        // Below the store's default 8 MiB message limit, so a message of
        // several parts still fits.
        ParseOptions {
            max_inline_bytes: 1024 * 1024,
        }
    }
}

/// A line-oriented format (JSON Lines): the caller feeds every complete
/// line in order and then calls `finish`. A last line without its newline
/// is the caller's to hold back while the agent may still be writing it;
/// when the file is known complete (an import of a file that stopped
/// growing), the caller feeds it too.
pub trait LineParser {
    /// One line without its line terminator; `number` is 1-based.
    fn line(&mut self, number: u64, line: &str);
    /// The end of the input: the sessions it held and what was skipped.
    fn finish(self: Box<Self>) -> Parsed;
    /// What [`LineParser::finish`] would return now, leaving the parser to
    /// read on: a follow stores it and feeds the parser only the lines the
    /// agent appends next, instead of reading the file again.
    fn snapshot(&self) -> Parsed;
    /// What changed since the last call, for a follow: the sessions of a
    /// snapshot, less what no line since can have changed. A session that
    /// leaves out messages handed out before is [`SourceSession::continued`].
    /// `reread` gives back line `n` as it was fed, for the texts a parser
    /// did not keep. Once sessions of at least `part_bytes` of messages are
    /// made, they may go to `part` (which returns false to stop) rather
    /// than wait in what is returned. A parser that cannot tell what
    /// changed gives its whole snapshot.
    fn changes(
        &mut self,
        reread: &mut dyn FnMut(u64) -> Option<String>,
        part_bytes: usize,
        part: &mut dyn FnMut(Vec<SourceSession>) -> bool,
    ) -> Parsed {
        let _ = (reread, part_bytes, part);
        self.snapshot()
    }
    /// About how many bytes the parser holds (texts and what it keeps of
    /// their structure), when it knows; else the follow counts those of
    /// the messages its snapshot makes.
    fn held_bytes(&self) -> Option<usize> {
        None
    }
    /// Messages no later line can change, taken out of the parser once it
    /// holds at least `min_bytes` of them, so a long file is stored in parts
    /// and read in bounded memory. A parser that must see its whole input
    /// first (a conversation tree, a fork compared with its parent) keeps
    /// everything until [`LineParser::finish`] and returns nothing here.
    fn take_settled(&mut self, min_bytes: usize) -> Vec<SourceSession> {
        let _ = min_bytes;
        Vec::new()
    }
}

/// A parser that keeps only some of its texts while it reads
/// ([`claude::Parser::rereading`], [`gemini::GeminiParser::rereading`])
/// and, once the input ends, makes the other messages from their lines
/// read again: a file of any length is never held whole.
pub trait RereadingParser: LineParser {
    /// Ends the input: hands every session to `part`, each in parts of at
    /// least `part_bytes` of messages (`part` returns false to stop), and
    /// returns what was skipped. `reread` gives back line `n` of the input
    /// as it was fed.
    fn finish_in_parts(
        self: Box<Self>,
        reread: &mut dyn FnMut(u64) -> Option<String>,
        part_bytes: usize,
        part: &mut dyn FnMut(SourceSession) -> bool,
    ) -> Vec<Skipped>;
}

/// About how many bytes a message holds, for [`LineParser::take_settled`].
pub fn message_bytes(m: &Message) -> usize {
    let tool = m.tool.as_ref().map_or(0, |t| t.args_json.len() + t.result_json.len());
    m.content.len() + m.reasoning.len() + tool + 128
}

/// The one-line stand-in for a payload too large to keep inline:
/// `[image/png omitted: 3.2 MiB]`.
pub fn placeholder(kind: &str, bytes: usize) -> String {
    format!("[{kind} omitted: {}]", human_bytes(bytes))
}

fn human_bytes(bytes: usize) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KIB {
        format!("{bytes} B")
    } else if b < KIB * KIB {
        format!("{:.1} KiB", b / KIB)
    } else if b < KIB * KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else {
        format!("{:.1} GiB", b / (KIB * KIB * KIB))
    }
}

/// `text` cut to at most `max` bytes at a character boundary.
pub fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// An RFC 3339 timestamp as ms since the epoch.
pub fn rfc3339_ms(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

    /// What the store holds after taking sessions as the daemon does: by
    /// session, each message by source id in the order first seen, a later
    /// copy replacing what an update replaces (texts, call, usage, model).
    #[derive(Debug, Default, PartialEq)]
    struct Stored(std::collections::BTreeMap<String, Vec<(String, Message)>>);

    impl Stored {
        /// Takes `parsed`; returns how many messages it carried.
        fn take(&mut self, parsed: Parsed) -> usize {
            let mut carried = 0;
            for s in parsed.sessions.into_iter().filter(|s| !s.messages.is_empty()) {
                assert!(
                    !s.continued || self.0.contains_key(&s.source_id),
                    "{} continues a session never handed out",
                    s.source_id
                );
                let held = self.0.entry(s.source_id).or_default();
                for m in s.messages {
                    carried += 1;
                    let seen = Message {
                        content: m.content,
                        reasoning: m.reasoning,
                        tool: m.tool,
                        usage: m.usage,
                        model: m.model,
                        ..Message::default()
                    };
                    let id = m.metadata[meta::ID].clone();
                    match held.iter_mut().find(|(i, _)| *i == id) {
                        Some(slot) => slot.1 = seen,
                        None => held.push((id, seen)),
                    }
                }
            }
            carried
        }
    }

    /// Line `n` of `text`, as an importer reads it again.
    pub(crate) fn line_of(text: &str) -> impl FnMut(u64) -> Option<String> + '_ {
        move |n| {
            text.lines()
                .nth(usize::try_from(n).ok()?.checked_sub(1)?)
                .map(str::to_owned)
        }
    }

    /// Parts of one session joined back into one (every part must carry
    /// the same session).
    pub(crate) fn joined(parts: &[SourceSession], source_id: &str) -> SourceSession {
        let mut of = parts.iter().filter(|p| p.source_id == source_id);
        let mut whole = of.next().unwrap_or_else(|| panic!("no part of {source_id}")).clone();
        for p in of {
            let (mut head, mut first) = (p.clone(), whole.clone());
            head.messages.clear();
            first.messages.clear();
            assert_eq!(head, first, "every part of {source_id} carries the same session");
            whole.messages.extend(p.messages.iter().cloned());
        }
        whole
    }

    /// Makes a fresh parser of one format.
    type NewParser = Box<dyn Fn() -> Box<dyn LineParser>>;

    /// Every line-oriented parser with a fixture of its format (the Gemini
    /// one has a `$rewindTo`, the Claude one a rewind and a compaction).
    fn cases() -> Vec<(NewParser, String)> {
        let read = |rel: &str| {
            let path = format!("{FIXTURES}/{rel}");
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
        };
        vec![
            (
                Box::new(|| Box::new(claude::Parser::new("s.jsonl", ParseOptions::default())) as Box<dyn LineParser>),
                read("claude/session.jsonl"),
            ),
            (
                Box::new(|| Box::new(codex::Parser::new("r.jsonl", ParseOptions::default()))),
                read("codex/rollout-2026-03-02T09-00-00-0199a000-0000-7000-8000-00000000c0de.jsonl"),
            ),
            (
                Box::new(|| Box::new(gemini::GeminiParser::new("g.jsonl", ParseOptions::default()))),
                read("gemini/tmp/myproj/chats/session-2026-03-15T10-00-9a8b7c6d.jsonl"),
            ),
        ]
    }

    #[test]
    fn a_snapshot_is_what_finish_would_return_and_the_parser_reads_on_unchanged() {
        for (new, text) in cases() {
            let lines: Vec<&str> = text.lines().collect();
            assert!(lines.len() > 4, "the fixture is too short to split");
            let mut whole = new();
            for (i, line) in lines.iter().enumerate() {
                whole.line(i as u64 + 1, line);
            }
            let whole = whole.finish();
            assert!(!whole.sessions.is_empty());
            for split in 1..lines.len() {
                let mut parser = new();
                let mut prefix = new();
                for (i, line) in lines[..split].iter().enumerate() {
                    parser.line(i as u64 + 1, line);
                    prefix.line(i as u64 + 1, line);
                }
                assert_eq!(parser.snapshot(), prefix.finish(), "snapshot after {split} lines");
                for (i, line) in lines.iter().enumerate().skip(split) {
                    parser.line(i as u64 + 1, line);
                }
                assert_eq!(parser.finish(), whole, "the whole read on after a snapshot at {split}");
            }
        }
    }

    /// Feeds `text` a line at a time to both parsers, taking after each
    /// line a whole snapshot of `whole_parser` and the changes of `parser`
    /// since the last (in parts of one byte, so whatever can goes out in
    /// parts; its dropped texts read again from `text`): the two must leave
    /// the store holding the same. Returns the messages each carried, line
    /// by line.
    pub(crate) fn follow_both_ways(
        whole_parser: &mut dyn LineParser,
        parser: &mut dyn LineParser,
        text: &str,
    ) -> Vec<(usize, usize)> {
        let line_of = |n: u64| {
            text.lines()
                .nth(usize::try_from(n).ok()?.checked_sub(1)?)
                .map(str::to_owned)
        };
        let (mut whole, mut changed) = (Stored::default(), Stored::default());
        let mut carried = Vec::new();
        for (i, line) in text.lines().enumerate() {
            whole_parser.line(i as u64 + 1, line);
            parser.line(i as u64 + 1, line);
            let by_snapshot = whole.take(whole_parser.snapshot());
            let mut parts = Vec::new();
            let mut rest = parser.changes(&mut |n| line_of(n), 1, &mut |s| {
                parts.extend(s);
                true
            });
            parts.append(&mut rest.sessions);
            rest.sessions = parts;
            let by_changes = changed.take(rest);
            assert_eq!(changed, whole, "after line {}", i + 1);
            carried.push((by_snapshot, by_changes));
        }
        carried
    }

    #[test]
    fn changes_after_every_line_leave_a_store_as_snapshots_do() {
        for (new, text) in cases() {
            follow_both_ways(new().as_mut(), new().as_mut(), &text);
        }
    }
}
