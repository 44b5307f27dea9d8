//! opencode's sessions, in its three forms: the SQLite database
//! `opencode.db` of 1.2+ ([`read_database`]), the older JSON tree under
//! `storage/` ([`read_storage`]), and the files `opencode export` writes
//! ([`parse_export`]). All three hold the same records — a session's info,
//! its messages' info, each message's parts — and go through one assembly.
//!
//! How opencode stores them (packages/opencode/src/session/session.sql.ts,
//! message-v2.ts, storage/json-migration.ts): the `session` table has one
//! column per field (`id, project_id, parent_id, directory, title, version,
//! revert, time_created, …`); `message` and `part` rows hold their record
//! as JSON in `data`, without the ids kept in columns. The tree stores the
//! same JSON, ids included, as `session/<project>/<id>.json`,
//! `message/<session>/<id>.json`, `part/<message>/<id>.json`. Ids ascend in
//! time within a session, so they order messages and parts.
//!
//! The database is opened read-only while opencode may be writing it
//! (WAL): each session is read in one short read transaction, which takes
//! no lock a writer waits on; nothing is ever written, not even the
//! journal mode. Each form's reading lives in its own module ([`database`],
//! [`tree`]; an export file is small enough to sit here), behind the one
//! `Records` trait the assembly reads through.
//!
//! Mapping: a user message's text parts → user (synthetic text opencode
//! added, e.g. a file it read for an `@mention`, → a system message with
//! `source.kind` = `context`); an assistant message → assistant (text,
//! `reasoning` parts, `modelID`, `tokens` and `cost` as usage, `patch` files
//! as edited files), then one tool message per `tool` part (`state.input`,
//! `state.output` or `state.error`); an assistant `error` → an error log
//! message. A `compaction` part → a system message (`compaction`), the
//! `summary: true` reply after it → a system message
//! (`compaction-summary`). A child session (`parentID`, the task tool) is
//! a [`LinkKind::Subagent`]; a fork (`fork.sessionID`, or a title ending
//! `(fork #N)` whose first messages copy another session's) keeps only
//! what came after the copy, as a [`LinkKind::Fork`]; messages after a
//! pending `revert` point are a [`LinkKind::Branch`].

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use chronicle_proto::v1::{Message, Role, ToolCall, Usage};
use serde_json::{Map, Value};

use super::{Agent, LinkKind, ParseOptions, Parsed, Skipped, SourceLink, SourceSession, cut, meta, placeholder};

mod database;
mod tree;

use self::database::Database;
use self::tree::Tree;

/// The database's name in opencode's data directory.
pub const DB_FILE: &str = "opencode.db";
/// The older JSON tree's directory in opencode's data directory.
pub const STORAGE_DIR: &str = "storage";

/// opencode's data directory: `$XDG_DATA_HOME/opencode`, else
/// `~/.local/share/opencode`. `None` without either variable.
pub fn default_data_dir() -> Option<PathBuf> {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(xdg).join("opencode"));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".local/share/opencode"))
}

/// What stops a read of the database or the tree as a whole (a single bad
/// record is a [`Skipped`], never this).
#[derive(Debug, thiserror::Error)]
pub enum OpencodeError {
    #[error("cannot read opencode's database {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path} is not opencode's database: it has no {table} table")]
    NotOpencode { path: String, table: &'static str },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Where a record came from, for [`Skipped`].
#[derive(Clone, Debug)]
struct Loc {
    file: String,
    line: u64,
}

/// One stored record: its id, where it is, its JSON (or why it is not).
#[derive(Debug)]
struct Row {
    id: String,
    loc: Loc,
    data: Result<Map<String, Value>, String>,
}

/// The three forms, as the records assembly needs.
trait Records {
    /// Every session's info, oldest first; `since_ms` keeps those updated
    /// at or after it.
    fn sessions(&mut self, since_ms: Option<i64>) -> Result<Vec<Row>, OpencodeError>;
    /// A session's messages in order.
    fn messages(&mut self, session: &str) -> Result<Vec<Row>, OpencodeError>;
    /// A message's parts in order.
    fn parts(&mut self, session: &str, message: &str) -> Result<Vec<Row>, OpencodeError>;
    /// Whether opencode may still be writing these records (its database
    /// or storage tree; not an export, which is finished).
    fn live(&self) -> bool {
        true
    }
    /// Runs `f` on a consistent snapshot, where the form has snapshots.
    fn snapshot<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, OpencodeError>) -> Result<T, OpencodeError>
    where
        Self: Sized,
    {
        f(self)
    }
}

/// Reads every session in opencode's database at `path` (read-only; safe
/// while opencode writes it), or only those updated at or after `since_ms`
/// (a follow's catch-up), handing each to `each` as it is assembled, so
/// memory holds one session at a time. Returns what was skipped: a bad
/// row's `line` is its `rowid`, its reason names the table and id.
pub fn read_database(
    path: &Path,
    opts: ParseOptions,
    since_ms: Option<i64>,
    each: &mut dyn FnMut(SourceSession),
) -> Result<Vec<Skipped>, OpencodeError> {
    let mut db = Database::open(path)?;
    read_all(&mut db, opts, since_ms, each)
}

/// Reads the older JSON tree at `storage` (the `storage/` directory), the
/// same way as [`read_database`]. A bad file is skipped with line 0.
pub fn read_storage(
    storage: &Path,
    opts: ParseOptions,
    since_ms: Option<i64>,
    each: &mut dyn FnMut(SourceSession),
) -> Result<Vec<Skipped>, OpencodeError> {
    let mut tree = Tree {
        root: storage.to_owned(),
    };
    read_all(&mut tree, opts, since_ms, each)
}

/// Parses one file `opencode export` wrote: `{info, messages: [{info,
/// parts: [...]}]}`. A bad message or part is skipped with `line` = the
/// message's position (1-based) in `messages`. Text before the first `{`
/// (a progress line captured with the JSON) is ignored.
pub fn parse_export(file: &str, text: &str, opts: ParseOptions) -> Parsed {
    let loc0 = Loc {
        file: file.to_owned(),
        line: 0,
    };
    let fail = |reason: String| Parsed {
        sessions: Vec::new(),
        skipped: vec![Skipped {
            file: loc0.file.clone(),
            line: 0,
            reason,
        }],
    };
    let start = text.find('{').unwrap_or(0);
    let mut root = match serde_json::from_str::<Value>(&text[start..]) {
        Ok(Value::Object(o)) => o,
        Ok(_) => return fail("not an opencode export: not a JSON object".into()),
        Err(err) => return fail(format!("not JSON: {err}")),
    };
    let Some(Value::Object(info)) = root.remove("info") else {
        return fail("not an opencode export: no \"info\" object".into());
    };
    let Some(id) = info.get("id").and_then(Value::as_str).map(str::to_owned) else {
        return fail("not an opencode export: the info has no id".into());
    };
    let mut export = Export {
        id: id.clone(),
        info: Some(Row {
            id,
            loc: loc0.clone(),
            data: Ok(info),
        }),
        messages: Vec::new(),
        parts: HashMap::new(),
    };
    if let Some(Value::Array(messages)) = root.remove("messages") {
        for (n, m) in messages.into_iter().enumerate() {
            let loc = Loc {
                file: file.to_owned(),
                line: n as u64 + 1,
            };
            let Value::Object(mut m) = m else {
                export.messages.push(Row {
                    id: String::new(),
                    loc,
                    data: Err("a message is not an object".into()),
                });
                continue;
            };
            let info = match m.remove("info") {
                Some(Value::Object(info)) => info,
                _ => {
                    export.messages.push(Row {
                        id: String::new(),
                        loc,
                        data: Err("a message has no info object".into()),
                    });
                    continue;
                }
            };
            let id = info.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
            let parts = match m.remove("parts") {
                Some(Value::Array(parts)) => parts
                    .into_iter()
                    .map(|p| {
                        let id = p.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
                        let data = match p {
                            Value::Object(p) => Ok(p),
                            _ => Err("a part is not an object".into()),
                        };
                        Row {
                            id,
                            loc: loc.clone(),
                            data,
                        }
                    })
                    .collect(),
                _ => Vec::new(),
            };
            export.parts.insert(id.clone(), parts);
            export.messages.push(Row {
                id,
                loc,
                data: Ok(info),
            });
        }
    }
    let mut sessions = Vec::new();
    let skipped = read_all(&mut export, opts, None, &mut |s| sessions.push(s)).unwrap_or_default();
    Parsed { sessions, skipped }
}

fn read_all<R: Records>(
    src: &mut R,
    opts: ParseOptions,
    since_ms: Option<i64>,
    each: &mut dyn FnMut(SourceSession),
) -> Result<Vec<Skipped>, OpencodeError> {
    let mut skipped = Vec::new();
    let infos = src.sessions(since_ms)?;
    for info in infos {
        let data = match info.data {
            Ok(d) => d,
            Err(reason) => {
                skipped.push(skip(&info.loc, format!("session {}: {reason}", info.id)));
                continue;
            }
        };
        let built = src.snapshot(|src| assemble(src, &info.id, &data, opts, &mut skipped))?;
        for s in built {
            each(s);
        }
    }
    Ok(skipped)
}

/// One session's records into the sessions Chronicle keeps: the session,
/// and a branch when a revert is pending.
fn assemble<R: Records>(
    src: &mut R,
    id: &str,
    info: &Map<String, Value>,
    opts: ParseOptions,
    skipped: &mut Vec<Skipped>,
) -> Result<Vec<SourceSession>, OpencodeError> {
    let mut session = SourceSession::new(Agent::Opencode, id);
    session.cwd = str_at(info, &["directory"])
        .filter(|d| !d.is_empty())
        .map(str::to_owned);
    session.title = str_at(info, &["title"])
        .filter(|t| !is_default_title(t))
        .map(str::to_owned);
    session.started_at_ms = int_at(info, &["time", "created"]);
    session.agent_version = str_at(info, &["version"]).filter(|v| !v.is_empty()).map(str::to_owned);
    let mut rows = src.messages(id)?;

    if let Some(parent) = str_at(info, &["parentID"]).filter(|p| !p.is_empty()) {
        let at = subagent_call(src, parent, id)?;
        session.parent = Some(SourceLink {
            kind: LinkKind::Subagent,
            parent_source_id: parent.to_owned(),
            at_message: at,
        });
    } else if let Some((parent, copied)) = fork_of(src, id, info, &rows)? {
        let at = match copied {
            0 => None,
            n => {
                let last_copied = rows_id_at(src, &parent, n - 1)?;
                last_id_of(src, &parent, &last_copied, opts)?
            }
        };
        rows.drain(..copied);
        session.parent = Some(SourceLink {
            kind: LinkKind::Fork,
            parent_source_id: parent,
            at_message: at,
        });
    }

    let revert_at = str_at(info, &["revert", "messageID"]).map(str::to_owned);
    let mut main = Vec::new();
    let mut reverted = Vec::new();
    let count = rows.len();
    for (n, row) in rows.into_iter().enumerate() {
        let data = match row.data {
            Ok(d) => d,
            Err(reason) => {
                skipped.push(skip(&row.loc, format!("message {}: {reason}", row.id)));
                continue;
            }
        };
        let parts = src.parts(id, &row.id)?;
        if n + 1 == count && parts.is_empty() && src.live() && being_written(&data) {
            // opencode writes a message's row before its parts: the newest
            // one without any is read once they are there, rather than
            // shown empty and filled in later.
            continue;
        }
        let messages = convert(&row.id, &row.loc, &data, parts, session.cwd.as_deref(), opts, skipped);
        let target = if revert_at.as_deref().is_some_and(|r| row.id.as_str() >= r) {
            &mut reverted
        } else {
            &mut main
        };
        target.extend(messages);
    }
    for m in main.iter_mut().chain(reverted.iter_mut()) {
        m.metadata.insert(meta::SESSION.into(), id.to_owned());
        if let Some(v) = &session.agent_version {
            m.metadata.insert(meta::AGENT_VERSION.into(), v.clone());
        }
    }
    if session.started_at_ms.is_none() {
        session.started_at_ms = main.iter().map(|m| m.created_at_ms).find(|&t| t > 0);
    }
    let mut out = Vec::new();
    if !reverted.is_empty() {
        let first = revert_at.unwrap_or_default();
        let mut branch = SourceSession::new(Agent::Opencode, &format!("{id}/branch/{first}"));
        branch.source_session_id = id.to_owned();
        branch.cwd = session.cwd.clone();
        branch.title = session.title.clone();
        branch.agent_version = session.agent_version.clone();
        branch.started_at_ms = reverted.iter().map(|m| m.created_at_ms).find(|&t| t > 0);
        branch.parent = Some(SourceLink {
            kind: LinkKind::Branch,
            parent_source_id: id.to_owned(),
            at_message: main.last().and_then(|m| m.metadata.get(meta::ID)).cloned(),
        });
        branch.messages = reverted;
        session.messages = main;
        out.push(session);
        out.push(branch);
    } else {
        session.messages = main;
        out.push(session);
    }
    Ok(out)
}

/// Whether a message row with no parts yet may still get some: not one
/// that failed, nor a reply opencode marked completed.
fn being_written(data: &Map<String, Value>) -> bool {
    data.get("error").is_none() && int_at(data, &["time", "completed"]).is_none()
}

/// The parent's tool message that started the child session, if found.
fn subagent_call<R: Records>(src: &mut R, parent: &str, child: &str) -> Result<Option<String>, OpencodeError> {
    for m in src.messages(parent)? {
        if !m.data.as_ref().is_ok_and(|d| str_at(d, &["role"]) == Some("assistant")) {
            continue;
        }
        for p in src.parts(parent, &m.id)? {
            let Ok(p) = p.data else { continue };
            if str_at(&p, &["type"]) == Some("tool") && str_at(&p, &["state", "metadata", "sessionId"]) == Some(child) {
                return Ok(str_at(&p, &["callID"]).map(str::to_owned));
            }
        }
    }
    Ok(None)
}

/// Whether the session is a fork, and of which session and how many
/// leading messages it copied. opencode's fork copies each message's info
/// (its `time.created` and role included) under new ids.
fn fork_of<R: Records>(
    src: &mut R,
    id: &str,
    info: &Map<String, Value>,
    rows: &[Row],
) -> Result<Option<(String, usize)>, OpencodeError> {
    let named = str_at(info, &["fork", "sessionID"]).map(str::to_owned);
    let parent = match named {
        Some(p) => Some(p),
        None => {
            let Some(base) = str_at(info, &["title"]).and_then(fork_base) else {
                return Ok(None);
            };
            let created = int_at(info, &["time", "created"]).unwrap_or(i64::MAX);
            let directory = str_at(info, &["directory"]).unwrap_or("").to_owned();
            src.sessions(None)?
                .into_iter()
                .filter(|s| s.id != id)
                .filter_map(|s| s.data.ok().map(|d| (s.id, d)))
                .filter(|(_, d)| str_at(d, &["title"]) == Some(base.as_str()))
                .filter(|(_, d)| str_at(d, &["directory"]).unwrap_or("") == directory)
                .filter(|(_, d)| int_at(d, &["time", "created"]).unwrap_or(0) <= created)
                .map(|(sid, _)| sid)
                .next_back()
        }
    };
    let Some(parent) = parent else { return Ok(None) };
    let theirs = src.messages(&parent)?;
    let print = |r: &Row| {
        r.data
            .as_ref()
            .ok()
            .map(|d| (str_at(d, &["role"]).map(str::to_owned), int_at(d, &["time", "created"])))
    };
    let copied = rows
        .iter()
        .zip(&theirs)
        .take_while(|(a, b)| print(a).is_some() && print(a) == print(b))
        .count();
    if copied == 0 && str_at(info, &["fork", "sessionID"]).is_none() {
        return Ok(None);
    }
    Ok(Some((parent, copied)))
}

fn rows_id_at<R: Records>(src: &mut R, session: &str, n: usize) -> Result<String, OpencodeError> {
    Ok(src
        .messages(session)?
        .into_iter()
        .nth(n)
        .map(|r| r.id)
        .unwrap_or_default())
}

/// The id ([`meta::ID`]) of the last message `message` of `session` becomes.
fn last_id_of<R: Records>(
    src: &mut R,
    session: &str,
    message: &str,
    opts: ParseOptions,
) -> Result<Option<String>, OpencodeError> {
    let Some(row) = src.messages(session)?.into_iter().find(|r| r.id == message) else {
        return Ok(None);
    };
    let Ok(data) = row.data else { return Ok(None) };
    let parts = src.parts(session, message)?;
    let messages = convert(message, &row.loc, &data, parts, None, opts, &mut Vec::new());
    Ok(messages.last().and_then(|m| m.metadata.get(meta::ID)).cloned())
}

/// `Title (fork #N)` → the title of the session it forked: `Title` for
/// N = 1, `Title (fork #N-1)` after.
fn fork_base(title: &str) -> Option<String> {
    let open = title.rfind(" (fork #")?;
    let n: u32 = title[open + 8..].strip_suffix(')')?.parse().ok()?;
    let base = &title[..open];
    match n {
        0 => None,
        1 => Some(base.to_owned()),
        n => Some(format!("{base} (fork #{})", n - 1)),
    }
}

/// opencode's placeholder titles (`New session - <ISO time>`), no title at all.
fn is_default_title(title: &str) -> bool {
    let t = title.trim();
    t.is_empty() || t.starts_with("New session - ") || t.starts_with("Child session - ")
}

/// One message's info and parts as Chronicle messages.
fn convert(
    id: &str,
    loc: &Loc,
    info: &Map<String, Value>,
    parts: Vec<Row>,
    session_cwd: Option<&str>,
    opts: ParseOptions,
    skipped: &mut Vec<Skipped>,
) -> Vec<Message> {
    let role = match str_at(info, &["role"]) {
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        other => {
            skipped.push(skip(
                loc,
                format!("message {id}: unknown role {:?}", other.unwrap_or("")),
            ));
            return Vec::new();
        }
    };
    let at_ms = int_at(info, &["time", "created"]).unwrap_or(0);
    let cwd = str_at(info, &["path", "cwd"]).or(session_cwd);
    let base = |role: Role, mid: String, at: i64| {
        let mut m = Message {
            role: role as i32,
            created_at_ms: at,
            ..Default::default()
        };
        m.metadata.insert(meta::AGENT.into(), Agent::Opencode.as_str().into());
        m.metadata.insert(meta::ID.into(), mid);
        if let Some(cwd) = cwd {
            m.metadata.insert(meta::CWD.into(), cwd.to_owned());
        }
        m
    };
    let mut main = base(role, id.to_owned(), at_ms);
    let mut context = Vec::new();
    let mut tools = Vec::new();
    let mut compaction = None;
    let mut step_usage: Option<Usage> = None;
    for part in parts {
        let data = match part.data {
            Ok(d) => d,
            Err(reason) => {
                skipped.push(skip(&part.loc, format!("part {}: {reason}", part.id)));
                continue;
            }
        };
        match str_at(&data, &["type"]).unwrap_or("") {
            "text" => {
                let text = str_at(&data, &["text"]).unwrap_or("");
                if data.get("synthetic").and_then(Value::as_bool) == Some(true) && role == Role::User {
                    context.push(text.to_owned());
                } else if data.get("ignored").and_then(Value::as_bool) != Some(true) {
                    push_text(&mut main.content, text);
                }
            }
            "reasoning" => push_text(&mut main.reasoning, str_at(&data, &["text"]).unwrap_or("")),
            "file" => push_text(&mut main.content, &file_text(&data, opts)),
            "tool" => {
                let mut m = base(
                    Role::Tool,
                    // The call id, unique within the session, like every source's.
                    str_at(&data, &["callID"]).unwrap_or(&part.id).to_owned(),
                    int_at(&data, &["state", "time", "start"]).unwrap_or(at_ms),
                );
                m.content = str_at(&data, &["state", "title"]).unwrap_or("").to_owned();
                let status = str_at(&data, &["state", "status"]).unwrap_or("");
                let args = data
                    .get("state")
                    .and_then(|s| s.get("input"))
                    .map(Value::to_string)
                    .unwrap_or_default();
                let result = match status {
                    "completed" => str_at(&data, &["state", "output"]).unwrap_or("").to_owned(),
                    "error" => str_at(&data, &["state", "error"]).unwrap_or("").to_owned(),
                    _ => String::new(),
                };
                m.tool = Some(ToolCall {
                    name: str_at(&data, &["tool"]).unwrap_or("").to_owned(),
                    call_id: str_at(&data, &["callID"]).unwrap_or("").to_owned(),
                    args_json: fit(opts, "arguments", args),
                    result_json: fit(opts, "tool output", result),
                    is_error: status == "error",
                });
                tools.push(m);
            }
            "patch" => {
                if let Some(Value::Array(files)) = data.get("files") {
                    main.edited_files
                        .extend(files.iter().filter_map(Value::as_str).map(str::to_owned));
                }
            }
            "step-finish" => {
                let u = usage_of(&data);
                let total = step_usage.get_or_insert_with(Usage::default);
                total.sent_tokens += u.sent_tokens;
                total.received_tokens += u.received_tokens;
                total.cache_read_tokens += u.cache_read_tokens;
                total.cache_write_tokens += u.cache_write_tokens;
                total.cost += u.cost;
            }
            "compaction" => {
                let how = if data.get("auto").and_then(Value::as_bool) == Some(true) {
                    "automatically"
                } else {
                    "on request"
                };
                compaction = Some(format!("[conversation compacted {how}]"));
            }
            "subtask" => push_text(
                &mut main.content,
                &format!(
                    "[subtask for agent {}: {}]",
                    str_at(&data, &["agent"]).unwrap_or("?"),
                    str_at(&data, &["description"]).unwrap_or("")
                ),
            ),
            // Bookkeeping with nothing a reader needs: step boundaries,
            // file snapshots, retried API calls, an @agent mention (its
            // text is in the prompt).
            "step-start" | "snapshot" | "retry" | "agent" => {}
            other => skipped.push(skip(
                &part.loc,
                format!("part {}: unknown part type {other:?}", part.id),
            )),
        }
    }
    if role == Role::Assistant {
        main.model = str_at(info, &["modelID"]).unwrap_or("").to_owned();
        main.usage = if info.get("tokens").is_some() {
            Some(usage_of(info))
        } else {
            step_usage
        };
        if info.get("summary").and_then(Value::as_bool) == Some(true) {
            main.role = Role::System as i32;
            main.metadata.insert(meta::KIND.into(), "compaction-summary".into());
        }
    } else {
        main.model = str_at(info, &["model", "modelID"]).unwrap_or("").to_owned();
    }
    main.content = fit_text(opts, main.content);
    main.reasoning = fit_text(opts, main.reasoning);
    let mut out = Vec::new();
    if let Some(note) = compaction {
        if main.content.is_empty() {
            main.role = Role::System as i32;
            main.content = note;
            main.metadata.insert(meta::KIND.into(), "compaction".into());
        } else {
            let mut m = base(Role::System, format!("{id}/compaction"), at_ms);
            m.content = note;
            m.metadata.insert(meta::KIND.into(), "compaction".into());
            out.push(m);
        }
    }
    let keep_main = role == Role::User
        || !main.content.is_empty()
        || !main.reasoning.is_empty()
        || main.usage.is_some()
        || tools.is_empty();
    if keep_main {
        out.push(main);
    }
    if !context.is_empty() {
        let mut m = base(Role::System, format!("{id}/context"), at_ms);
        m.content = fit_text(opts, context.join("\n\n"));
        m.metadata.insert(meta::KIND.into(), "context".into());
        out.push(m);
    }
    out.extend(tools);
    if let Some(Value::Object(error)) = info.get("error") {
        let mut m = base(
            Role::Log,
            format!("{id}/error"),
            int_at(info, &["time", "completed"]).unwrap_or(at_ms),
        );
        m.log_level = "error".into();
        let name = str_at(error, &["name"]).unwrap_or("error");
        m.content = match str_at(error, &["data", "message"]) {
            Some(msg) => format!("{name}: {msg}"),
            None => name.to_owned(),
        };
        out.push(m);
    }
    out
}

/// opencode's counts: `input` (without cache), `output`, `reasoning`
/// (billed as output), `cache.read`, `cache.write`; `cost` in USD.
fn usage_of(data: &Map<String, Value>) -> Usage {
    let n = |path: &[&str]| {
        let mut v = data.get("tokens");
        for k in path {
            v = v.and_then(|v| v.get(k));
        }
        v.and_then(Value::as_f64)
            .filter(|f| f.is_finite() && *f > 0.0)
            .map_or(0, |f| f as u64)
    };
    Usage {
        sent_tokens: n(&["input"]),
        received_tokens: n(&["output"]) + n(&["reasoning"]),
        cache_read_tokens: n(&["cache", "read"]),
        cache_write_tokens: n(&["cache", "write"]),
        cost: data
            .get("cost")
            .and_then(Value::as_f64)
            .filter(|c| c.is_finite())
            .unwrap_or(0.0),
    }
}

/// A file part as text: a small inline image stays (a data URL), anything
/// else is named, with its size when it was inline.
fn file_text(data: &Map<String, Value>, opts: ParseOptions) -> String {
    let mime = str_at(data, &["mime"]).unwrap_or("application/octet-stream");
    let name = str_at(data, &["filename"])
        .or_else(|| str_at(data, &["source", "path"]))
        .unwrap_or("file");
    let url = str_at(data, &["url"]).unwrap_or("");
    match url.strip_prefix("data:") {
        Some(inline) => {
            let payload = inline.split_once(',').map_or(inline, |(_, p)| p);
            if mime.starts_with("image/") && url.len() + name.len() + 8 <= opts.max_inline_bytes {
                format!("![{name}]({url})")
            } else {
                let bytes = if inline.contains(";base64,") {
                    payload.len() / 4 * 3
                } else {
                    payload.len()
                };
                format!("{name}: {}", placeholder(mime, bytes))
            }
        }
        None => format!("[{mime}: {}]", if url.is_empty() { name } else { url }),
    }
}

fn fit(opts: ParseOptions, kind: &str, text: String) -> String {
    if text.len() > opts.max_inline_bytes {
        placeholder(kind, text.len())
    } else {
        text
    }
}

fn fit_text(opts: ParseOptions, text: String) -> String {
    if text.len() <= opts.max_inline_bytes {
        return text;
    }
    let keep = opts.max_inline_bytes / 2;
    format!(
        "{}\n{}",
        cut(&text, keep),
        placeholder("rest of the text", text.len() - keep)
    )
}

fn push_text(out: &mut String, text: &str) {
    if text.is_empty() {
        return;
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(text);
}

fn skip(loc: &Loc, reason: String) -> Skipped {
    Skipped {
        file: loc.file.clone(),
        line: loc.line,
        reason,
    }
}

fn str_at<'a>(map: &'a Map<String, Value>, path: &[&str]) -> Option<&'a str> {
    let (last, head) = path.split_last()?;
    let mut cur = map;
    for k in head {
        cur = cur.get(*k)?.as_object()?;
    }
    cur.get(*last)?.as_str()
}

fn int_at(map: &Map<String, Value>, path: &[&str]) -> Option<i64> {
    let (last, head) = path.split_last()?;
    let mut cur = map;
    for k in head {
        cur = cur.get(*k)?.as_object()?;
    }
    let v = cur.get(*last)?;
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

fn parse_object(text: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err("data is not a JSON object".into()),
        Err(err) => Err(format!("data is not JSON: {err}")),
    }
}

/// One export file, in memory.
struct Export {
    id: String,
    info: Option<Row>,
    messages: Vec<Row>,
    parts: HashMap<String, Vec<Row>>,
}

impl Records for Export {
    fn live(&self) -> bool {
        false
    }

    fn sessions(&mut self, _since_ms: Option<i64>) -> Result<Vec<Row>, OpencodeError> {
        Ok(self.info.take().into_iter().collect())
    }

    fn messages(&mut self, session: &str) -> Result<Vec<Row>, OpencodeError> {
        // An export holds one session; another (a parent) is not in it.
        Ok(if session == self.id {
            std::mem::take(&mut self.messages)
        } else {
            Vec::new()
        })
    }

    fn parts(&mut self, _session: &str, message: &str) -> Result<Vec<Row>, OpencodeError> {
        Ok(self.parts.remove(message).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests;
