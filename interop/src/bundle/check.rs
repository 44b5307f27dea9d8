//! The grammar of a bundle: records in the order `docs/BUNDLE.md` gives,
//! checked one line at a time.

use std::collections::HashSet;

use super::read::excerpt;
use super::*;

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
