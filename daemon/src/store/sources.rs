//! Other agents' sessions into the store: one [`SourceBatch`] (the sessions
//! of one source file that go into one project) is applied in one write
//! transaction, as one revision and one event of that project.
//!
//! What makes an import idempotent lives here: the `sources` table maps
//! (agent, source session id) to the session an earlier import made, and
//! a message whose source id (`metadata["source.id"]`) that session holds
//! already is not added again. A source session seen for the first time
//! becomes a saved session named `<agent> <local start time> <title>`
//! (suffixed when taken). A dry run answers the same question from a read
//! snapshot and writes nothing.
//!
//! A message the store holds already whose source copy has since changed
//! (Gemini CLI writes a tool call's record again with its result; Claude
//! Code writes a reply's later blocks on later lines) is updated in place.
//! A follow's cursor for the file a batch came from is written in the
//! batch's transaction, so a crash loses neither the cursor nor what it
//! read; the follows themselves are kept here too ([`set_follow`]).

use std::{
    collections::HashMap,
    hash::{DefaultHasher, Hash, Hasher},
};

use chronicle_interop::sources::{self as src, LinkKind, SourceSession, meta};
use chronicle_proto::v1::{Event, EventKind, Message};
use prost::Message as _;
use redb::ReadableTable;

use super::bundle::unique_name;
use super::ops::{Outcome, ProjectCtx};
use super::records;
use super::tables::WriteTables;
use super::validate::{self, Limits, MAX_NAME_CHARS, ProjectPath};
use super::{Store, StoreError};

/// Characters of a title or first prompt kept in a session name.
const TITLE_CHARS: usize = 60;

/// Sessions of one source file bound for one project.
#[derive(Debug)]
pub struct SourceBatch {
    pub project: ProjectPath,
    pub sessions: Vec<SourceSession>,
    /// A follow's cursor for the file, committed with the sessions.
    pub cursor: Option<FileCursor>,
}

/// A follow: (agent, scope), the scope being a project path or empty
/// for all of the agent's sessions.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FollowKey {
    pub agent: src::Agent,
    pub scope: String,
}

/// How far a follow has read one file; `state` is the follow's to define.
#[derive(Clone, Debug)]
pub struct FileCursor {
    pub follow: FollowKey,
    pub file: String,
    pub state: Vec<u8>,
}

/// What an import did (or, dry, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceCounts {
    pub sessions_imported: u32,
    pub sessions_updated: u32,
    pub messages_imported: u64,
    /// Messages already imported whose source copy changed since.
    pub messages_updated: u64,
    /// Each source session imported or updated: an import that stores one
    /// session in several parts counts it once.
    pub sessions: Vec<StoredSource>,
    /// Continued sessions (a follow's changes only) the store holds no
    /// copy of, purged since: left out, their file is to be read whole.
    pub unheld: u32,
}

/// One source session an import stored (or, dry, would store).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredSource {
    pub source_id: String,
    /// This import made its saved session (rather than adding to one).
    pub fresh: bool,
    /// The saved session's project and name; empty in a dry run.
    pub project: String,
    pub name: String,
    /// When the agent's session began; 0 when it does not say.
    pub started_at_ms: i64,
    /// Split off another session (a branch, a subagent, a fork's tail)
    /// rather than a conversation of its own.
    pub split_off: bool,
}

impl StoredSource {
    fn planned(session: &SourceSession, fresh: bool) -> StoredSource {
        StoredSource {
            source_id: session.source_id.clone(),
            fresh,
            started_at_ms: session.started_at_ms.unwrap_or(0),
            split_off: session.parent.is_some(),
            ..StoredSource::default()
        }
    }
}

impl SourceCounts {
    pub fn add(&mut self, other: &SourceCounts) {
        self.sessions_imported += other.sessions_imported;
        self.sessions_updated += other.sessions_updated;
        self.messages_imported += other.messages_imported;
        self.messages_updated += other.messages_updated;
        self.sessions.extend(other.sessions.iter().cloned());
        self.unheld += other.unheld;
    }
}

/// A message the store holds, by its source id: its id in the session and
/// a digest of what a later copy may change.
#[derive(Clone, Copy)]
struct Known {
    id: u64,
    digest: u64,
}

/// What a later copy of a source message may say differently: its text,
/// reasoning, tool call, usage and model (metadata and ids aside).
fn digest(m: &Message) -> u64 {
    let parts = Message {
        content: m.content.clone(),
        reasoning: m.reasoning.clone(),
        tool: m.tool.clone(),
        usage: m.usage,
        model: m.model.clone(),
        ..Message::default()
    };
    let mut h = DefaultHasher::new();
    parts.encode_to_vec().hash(&mut h);
    h.finish()
}

/// What a source session brings to the store's copy.
struct Changes<'a> {
    /// The messages the copy lacks.
    new: Vec<&'a Message>,
    /// The messages it holds whose source copy changed, with their id there.
    changed: Vec<(u64, Message)>,
}

/// What `session` brings to the store's copy (`held`: finds a source
/// message in that copy; `None`: no copy yet).
fn changes<'a>(
    session: &'a SourceSession,
    mut held: Option<impl FnMut(&str) -> Result<Option<Known>, StoreError>>,
    limits: &Limits,
) -> Result<Changes<'a>, StoreError> {
    let mut new = Vec::new();
    let mut changed = Vec::new();
    for m in &session.messages {
        let known = match (held.as_mut(), m.metadata.get(meta::ID)) {
            (Some(held), Some(id)) => held(id)?,
            _ => None,
        };
        match known {
            Some(known) => {
                let mut fitted = m.clone();
                fit(&mut fitted, limits);
                if digest(&fitted) != known.digest {
                    changed.push((known.id, fitted));
                }
            }
            None => new.push(m),
        }
    }
    Ok(Changes { new, changed })
}

/// The message of session `id` that came from source message `source`,
/// found through the `source_ids` index and checked against the message
/// itself (one deleted since is not held).
fn held_message(
    source_ids: &impl ReadableTable<(u64, &'static str), u64>,
    messages: &impl ReadableTable<(u64, u64), &'static [u8]>,
    id: u64,
    source: &str,
) -> Result<Option<Known>, StoreError> {
    let Some(n) = source_ids.get((id, source))?.map(|v| v.value()) else {
        return Ok(None);
    };
    let Some(bytes) = messages.get((id, n))? else {
        return Ok(None);
    };
    let message: Message = records::decode(bytes.value(), || format!("message {n} of session {id}"))?;
    if message.metadata.get(meta::ID).map(String::as_str) != Some(source) {
        return Ok(None);
    }
    Ok(Some(Known {
        id: n,
        digest: digest(&message),
    }))
}

/// The session an earlier import made of this source session, if it is
/// still in the store (a purged one is imported afresh).
fn earlier(
    sources: &impl ReadableTable<(&'static str, &'static str), u64>,
    sessions: &impl ReadableTable<u64, &'static [u8]>,
    session: &SourceSession,
) -> Result<Option<u64>, StoreError> {
    let Some(id) = sources.get((session.agent.as_str(), session.source_id.as_str()))? else {
        return Ok(None);
    };
    let id = id.value();
    Ok(sessions.get(id)?.is_some().then_some(id))
}

impl Store {
    /// What importing `sessions` would do, from a read snapshot.
    pub fn plan_sources(&self, sessions: &[SourceSession]) -> Result<SourceCounts, StoreError> {
        let r = self.read()?;
        let mut counts = SourceCounts::default();
        for session in sessions {
            match earlier(&r.sources, &r.sessions, session)? {
                Some(id) => {
                    let held = |source: &str| held_message(&r.source_ids, &r.messages, id, source);
                    let Changes { new, changed } = changes(session, Some(held), self.limits())?;
                    if !new.is_empty() || !changed.is_empty() {
                        counts.sessions_updated += 1;
                        counts.messages_imported += new.len() as u64;
                        counts.messages_updated += changed.len() as u64;
                        counts.sessions.push(StoredSource::planned(session, false));
                    }
                }
                None => {
                    counts.sessions_imported += 1;
                    counts.messages_imported += session.messages.len() as u64;
                    counts.sessions.push(StoredSource::planned(session, true));
                }
            }
        }
        Ok(counts)
    }

    /// The messages an earlier import stored for this source session
    /// (a Codex fork is compared with its parent's), oldest first; empty
    /// when there is none.
    pub fn source_messages(&self, agent: src::Agent, source_id: &str) -> Result<Vec<Message>, StoreError> {
        let r = self.read()?;
        let Some(id) = r.sources.get((agent.as_str(), source_id))?.map(|v| v.value()) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for row in r.messages.range((id, 0)..=(id, u64::MAX))? {
            let (key, value) = row?;
            let n = key.value().1;
            out.push(records::decode(value.value(), || {
                format!("message {n} of session {id}")
            })?);
        }
        Ok(out)
    }

    /// Every follow of an agent's sessions: its key and its record.
    pub fn source_follows(&self) -> Result<Vec<(FollowKey, Vec<u8>)>, StoreError> {
        let r = self.read()?;
        let mut out = Vec::new();
        for row in r.source_follows.iter()? {
            let (key, value) = row?;
            let (agent, scope) = key.value();
            // A follow of an agent this daemon does not know is left alone.
            if let Some(agent) = src::Agent::parse(agent) {
                out.push((
                    FollowKey {
                        agent,
                        scope: scope.to_owned(),
                    },
                    value.value().to_vec(),
                ));
            }
        }
        Ok(out)
    }

    /// A follow's cursors, by file.
    pub fn source_cursors(&self, follow: &FollowKey) -> Result<HashMap<String, Vec<u8>>, StoreError> {
        let r = self.read()?;
        let agent = follow.agent.as_str();
        let scope = follow.scope.as_str();
        let mut out = HashMap::new();
        for row in r.source_cursors.range((agent, scope, "")..)? {
            let (key, value) = row?;
            let (a, s, file) = key.value();
            if a != agent || s != scope {
                break;
            }
            out.insert(file.to_owned(), value.value().to_vec());
        }
        Ok(out)
    }
}

/// Writes a follow's cursor for one file.
pub fn put_cursor(t: &mut WriteTables<'_>, cursor: &FileCursor) -> Result<Outcome, StoreError> {
    t.source_cursors.insert(
        (
            cursor.follow.agent.as_str(),
            cursor.follow.scope.as_str(),
            cursor.file.as_str(),
        ),
        cursor.state.as_slice(),
    )?;
    Ok(Outcome::default())
}

/// Records a follow (`Some`), or forgets it and its cursors (`None`).
pub fn set_follow(t: &mut WriteTables<'_>, key: &FollowKey, record: Option<&[u8]>) -> Result<Outcome, StoreError> {
    let agent = key.agent.as_str();
    let scope = key.scope.as_str();
    match record {
        Some(bytes) => {
            t.source_follows.insert((agent, scope), bytes)?;
        }
        None => {
            t.source_follows.remove((agent, scope))?;
            let files: Vec<String> = t
                .source_cursors
                .range((agent, scope, "")..)?
                .map_while(|row| {
                    let (k, _) = row.ok()?;
                    let (a, s, file) = k.value();
                    (a == agent && s == scope).then(|| file.to_owned())
                })
                .collect();
            for file in files {
                t.source_cursors.remove((agent, scope, file.as_str()))?;
            }
        }
    }
    Ok(Outcome::default())
}

/// Applies a batch inside the writer's transaction. Nothing in it is
/// refused: a message the store's rules would refuse (too large) is cut to
/// a placeholder, so one bad message never costs the rest.
pub fn apply(
    t: &mut WriteTables<'_>,
    batch: &SourceBatch,
    now: i64,
    limits: &Limits,
    events: &mut Vec<Event>,
) -> Result<Outcome, StoreError> {
    if let Some(cursor) = &batch.cursor {
        put_cursor(t, cursor)?;
    }
    let mut counts = SourceCounts::default();
    if batch.sessions.is_empty() {
        // Only a cursor: no project is touched (or registered).
        return Ok(Outcome {
            sources: Some(counts),
            ..Outcome::default()
        });
    }
    let mut changed: Vec<String> = Vec::new();
    let project = batch.project.as_str();
    let mut ctx = ProjectCtx::load(t, project, now)?;
    let revision = ctx.working.revision + 1;
    for session in &batch.sessions {
        let (id, mut record, fresh) = match earlier(t.sources.table()?, t.sessions.table()?, session)? {
            Some(id) => (id, t.session(id)?, false),
            None => {
                if session.messages.is_empty() {
                    continue;
                }
                if session.continued {
                    // Its first messages are not here: a session of the
                    // rest alone would be named and linked by the wrong one.
                    counts.unheld += 1;
                    continue;
                }
                let name = unique_name(t, project, &session_name(session))?;
                let (id, mut record) = t.new_session(project, &name, now)?;
                t.saved.insert((project, name.as_str()), id)?;
                t.sources
                    .insert((session.agent.as_str(), session.source_id.as_str()), id)?;
                record.created_at_ms = session.started_at_ms.filter(|&t| t > 0).unwrap_or(now);
                (id, record, true)
            }
        };
        let held =
            (!fresh).then_some(|source: &str| held_message(t.source_ids.table()?, t.messages.table()?, id, source));
        let Changes { new, changed: updates } = changes(session, held, limits)?;
        if new.is_empty() && updates.is_empty() {
            continue;
        }
        for (message_id, fresh_copy) in &updates {
            let Some(mut held) = t.message(id, *message_id)? else {
                continue;
            };
            records::add_usage(&mut record.usage, held.usage.as_ref(), -1);
            held.content = fresh_copy.content.clone();
            held.reasoning = fresh_copy.reasoning.clone();
            held.tool = fresh_copy.tool.clone();
            held.usage = fresh_copy.usage;
            held.model = fresh_copy.model.clone();
            records::add_usage(&mut record.usage, held.usage.as_ref(), 1);
            t.put_message(id, &held)?;
        }
        counts.messages_updated += updates.len() as u64;
        for (i, message) in new.iter().enumerate() {
            let mut message = (*message).clone();
            message.id = record.next_message_id;
            if message.created_at_ms == 0 {
                message.created_at_ms = now;
            }
            if fresh && i == 0 {
                link_metadata(&mut message, session);
            }
            fit(&mut message, limits);
            record.next_message_id += 1;
            record.message_count += 1;
            records::add_usage(&mut record.usage, message.usage.as_ref(), 1);
            record.updated_at_ms = record.updated_at_ms.max(message.created_at_ms);
            t.put_message(id, &message)?;
            if let Some(source) = message.metadata.get(meta::ID) {
                t.source_ids.insert((id, source.as_str()), message.id)?;
            }
        }
        record.updated_revision = revision;
        t.put_session(id, &record)?;
        counts.messages_imported += new.len() as u64;
        if fresh {
            counts.sessions_imported += 1;
        } else {
            counts.sessions_updated += 1;
        }
        counts.sessions.push(StoredSource {
            project: project.to_owned(),
            name: record.name.clone(),
            ..StoredSource::planned(session, fresh)
        });
        changed.push(record.name.clone());
    }
    if changed.is_empty() {
        // Nothing new: no revision, no event (a project this batch
        // registered stays, empty, as opening it would leave it).
        return Ok(Outcome {
            revision: ctx.working.revision,
            sources: Some(counts),
            ..Outcome::default()
        });
    }
    let mut event = ctx.commit(t, EventKind::SessionSaved)?;
    if let [only] = changed.as_slice() {
        event.session_name = only.clone();
    }
    let revision = event.revision;
    events.push(event);
    Ok(Outcome {
        revision,
        sources: Some(counts),
        ..Outcome::default()
    })
}

/// The first message of an imported session says where it hangs off its
/// parent (sessions carry no metadata of their own).
fn link_metadata(message: &mut Message, session: &SourceSession) {
    if let Some(link) = &session.parent {
        message.metadata.insert("source.link".into(), link.kind.as_str().into());
        message
            .metadata
            .insert("source.parent".into(), link.parent_source_id.clone());
        if let Some(at) = &link.at_message {
            message.metadata.insert("source.parent_message".into(), at.clone());
        }
    }
    if let Some(cwd) = &session.cwd {
        message.metadata.insert(meta::CWD.into(), cwd.clone());
    }
}

/// Cuts what the store's limits would refuse down to a placeholder.
fn fit(message: &mut Message, limits: &Limits) {
    if validate::message(message, limits).is_ok() {
        return;
    }
    if message.content.len() > limits.max_content_bytes {
        message.content = src::placeholder("content", message.content.len());
    }
    if validate::message(message, limits).is_err() {
        let reasoning = std::mem::take(&mut message.reasoning);
        if !reasoning.is_empty() {
            message.reasoning = src::placeholder("reasoning", reasoning.len());
        }
        if let Some(tool) = message.tool.as_mut() {
            for field in [&mut tool.args_json, &mut tool.result_json] {
                if field.len() > limits.max_content_bytes / 4 {
                    *field = src::placeholder("tool payload", field.len());
                }
            }
        }
    }
}

/// `<agent> <local start time> <title or first prompt, shortened>`, plus
/// what a split-off session is.
pub fn session_name(session: &SourceSession) -> String {
    let when = session
        .started_at_ms
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map(|t| {
            t.to_zoned_datetime(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "undated".into());
    let text = session
        .title
        .as_deref()
        .or_else(|| session.first_prompt())
        .unwrap_or(session.source_id.as_str());
    let mut title: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if title.chars().count() > TITLE_CHARS {
        title = title
            .chars()
            .take(TITLE_CHARS - 1)
            .collect::<String>()
            .trim_end()
            .to_owned()
            + "…";
    }
    let suffix = match session.parent.as_ref().map(|l| l.kind) {
        Some(LinkKind::Branch) => " (branch)",
        Some(LinkKind::Subagent) => " (subagent)",
        Some(LinkKind::Fork) => " (fork)",
        None => "",
    };
    let name = format!("{} {when} {title}{suffix}", session.agent);
    let name: String = name.chars().take(MAX_NAME_CHARS - 8).collect();
    match validate::SessionName::new(&name) {
        Ok(checked) => checked.into_string(),
        Err(_) => format!("{} {when}", session.agent),
    }
}
