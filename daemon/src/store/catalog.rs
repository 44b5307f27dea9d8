//! What the search index needs to know about sessions, read from one
//! snapshot: every session of a project (or of all) with its kind, name
//! and context files, and each project's revision and working session;
//! and the messages of one session, page by page. Plain data out, so the
//! index never touches redb's tables.

use std::collections::HashMap;

use chronicle_proto::v1::Message;
use redb::ReadableTable;

use super::records::{self, ProjectRecord, TrashRecord};
use super::{Reader, Store, StoreError, tables};

/// Where a session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Working,
    Saved,
    Trash,
}

/// One session as search sees it.
#[derive(Clone, Debug)]
pub struct CatalogSession {
    pub project: String,
    pub kind: SessionKind,
    /// Saved name or trash label; empty for a working session.
    pub name: String,
    /// Paths of its context files, as stored.
    pub files: Vec<String>,
    /// The id its next message will get: grows with every message added.
    pub next_message_id: u64,
}

/// One project's revision and working session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CatalogProject {
    pub revision: u64,
    pub working_session: u64,
}

/// Every session of the projects read, as of one snapshot.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    pub projects: HashMap<String, CatalogProject>,
    pub sessions: HashMap<u64, CatalogSession>,
}

impl Catalog {
    /// Replaces what this catalog holds of the projects `other` covers.
    pub fn merge(&mut self, other: Catalog) {
        self.sessions.retain(|_, s| !other.projects.contains_key(&s.project));
        self.projects.extend(other.projects);
        self.sessions.extend(other.sessions);
    }
}

impl Store {
    /// The catalog of one project (empty if unknown) or of every project.
    pub fn catalog(&self, project: Option<&str>) -> Result<Catalog, StoreError> {
        let r = self.read()?;
        let mut catalog = Catalog::default();
        let add = |catalog: &mut Catalog, r: &Reader, id: u64, project: &str, kind, name: String| {
            let files = tables::read_files(&r.files, id)?.into_iter().map(|f| f.path).collect();
            let next_message_id = tables::read_session(&r.sessions, id)?.next_message_id;
            catalog.sessions.insert(
                id,
                CatalogSession {
                    project: project.to_owned(),
                    kind,
                    name,
                    files,
                    next_message_id,
                },
            );
            Ok::<(), StoreError>(())
        };
        let mut projects = Vec::new();
        match project {
            Some(project) => {
                if let Some(record) = r.project(project)? {
                    projects.push((project.to_owned(), record));
                }
            }
            None => {
                for row in r.projects.iter()? {
                    let (key, value) = row?;
                    let name = key.value().to_owned();
                    let record: ProjectRecord = records::decode(value.value(), || format!("project {name}"))?;
                    projects.push((name, record));
                }
            }
        }
        for (name, record) in &projects {
            let working = tables::read_session(&r.sessions, record.working_session)?;
            catalog.projects.insert(
                name.clone(),
                CatalogProject {
                    revision: working.revision,
                    working_session: record.working_session,
                },
            );
            add(
                &mut catalog,
                &r,
                record.working_session,
                name,
                SessionKind::Working,
                String::new(),
            )?;
            for row in r.saved.range((name.as_str(), "")..)? {
                let (key, id) = row?;
                let (owner, saved_name) = key.value();
                if owner != name {
                    break;
                }
                add(
                    &mut catalog,
                    &r,
                    id.value(),
                    name,
                    SessionKind::Saved,
                    saved_name.to_owned(),
                )?;
            }
        }
        for row in r.trash.iter()? {
            let (key, value) = row?;
            let id = key.value();
            let entry: TrashRecord = records::decode(value.value(), || format!("trash entry {id}"))?;
            if catalog.projects.contains_key(&entry.project) {
                add(
                    &mut catalog,
                    &r,
                    entry.session_id,
                    &entry.project,
                    SessionKind::Trash,
                    entry.name,
                )?;
            }
        }
        Ok(catalog)
    }

    /// Up to `limit` messages of a session with ids above `after`.
    pub fn session_messages(&self, session: u64, after: u64, limit: usize) -> Result<Vec<Message>, StoreError> {
        let r = self.read()?;
        let mut messages = Vec::new();
        for row in r
            .messages
            .range((session, after.saturating_add(1))..=(session, u64::MAX))?
            .take(limit)
        {
            let (key, value) = row?;
            let id = key.value().1;
            messages.push(records::decode(value.value(), || {
                format!("message {id} of session {session}")
            })?);
        }
        Ok(messages)
    }

    /// One message of a session, if it is there.
    pub fn session_message(&self, session: u64, id: u64) -> Result<Option<Message>, StoreError> {
        let r = self.read()?;
        match r.messages.get((session, id))? {
            Some(value) => records::decode(value.value(), || format!("message {id} of session {session}")).map(Some),
            None => Ok(None),
        }
    }
}
