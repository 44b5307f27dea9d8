//! Saved sessions: save the working session under a name, load one into
//! it, rename, and delete (to the trash).

use chronicle_proto::v1::{Event, EventKind};

use super::{Done, FileProbes, Outcome, ProjectCtx};
use crate::store::StoreError;
use crate::store::records::SessionRecord;
use crate::store::tables::WriteTables;
use crate::store::validate::SessionName;

impl ProjectCtx {
    pub(super) fn not_saved(&self, name: &str) -> StoreError {
        StoreError::NotFound(format!(
            "no saved session named \"{name}\" in {} — `chronicle ls` lists the saved sessions",
            self.project
        ))
    }

    pub(super) fn save(
        &mut self,
        t: &mut WriteTables<'_>,
        name: &SessionName,
        overwrite: bool,
        events: &mut Vec<Event>,
    ) -> Result<Outcome, StoreError> {
        let name = name.to_string();
        let existing = t.saved(&self.project, &name)?;
        let created_at = match (existing, overwrite) {
            (Some(_), false) => {
                return Err(StoreError::AlreadyExists(format!(
                    "session \"{name}\" already exists in {} — use overwrite (`chronicle save \"{name}\" --overwrite`) to replace it",
                    self.project
                )));
            }
            (None, true) => return Err(self.not_saved(&name)),
            (Some(old), true) => t.session(old)?.created_at_ms,
            (None, false) => self.now,
        };
        if let Some(old) = existing {
            let mut record = t.session(old)?;
            record.updated_at_ms = self.now;
            t.put_session(old, &record)?;
            t.trash_session(old, &self.project, &name, "overwritten", self.now)?;
        }
        let (id, _) = t.new_session(&self.project, &name, self.now)?;
        let working_id = self.record.working_session;
        t.copy_messages(working_id, id)?;
        t.put_files(id, t.files(working_id)?)?;
        let saved = SessionRecord {
            project: self.project.clone(),
            name: name.clone(),
            created_at_ms: created_at,
            updated_at_ms: self.now,
            updated_revision: self.next_revision(),
            ..self.working.clone()
        };
        t.put_session(id, &saved)?;
        t.saved.insert((self.project.as_str(), name.as_str()), id)?;
        self.finish(t, EventKind::SessionSaved, events, Done::saved_session(name, &saved))
    }

    pub(super) fn load_session(
        &mut self,
        t: &mut WriteTables<'_>,
        name: &str,
        messages: bool,
        files: bool,
        probes: &FileProbes,
        events: &mut Vec<Event>,
    ) -> Result<Outcome, StoreError> {
        if !messages && !files {
            return Err(StoreError::InvalidArgument(
                "load needs messages, files or both — say which to load".into(),
            ));
        }
        let name = SessionName::new(name)?.into_string();
        let saved_id = t.saved(&self.project, &name)?.ok_or_else(|| self.not_saved(&name))?;
        let saved = t.session(saved_id)?;
        let mut loaded_files = None;
        if files {
            let mut list = t.files(saved_id)?;
            for file in &mut list {
                file.missing = probes.missing(&file.path).unwrap_or(file.missing);
            }
            loaded_files = Some(list);
        }
        // Only what is really replaced goes to the trash: an empty list of
        // messages or files leaves no entry behind.
        let replaces_files = files && self.working.file_count > 0;
        if messages && self.working.message_count > 0 {
            self.replace_working(t, "replaced-by-load", replaces_files)?;
        } else if replaces_files {
            self.trash_files(t, "replaced-by-load")?;
        }
        if messages {
            t.copy_messages(saved_id, self.record.working_session)?;
            self.working.message_count = saved.message_count;
            self.working.usage = saved.usage;
            self.working.next_message_id = saved.next_message_id.max(self.working.next_message_id);
        }
        if let Some(list) = loaded_files {
            self.working.file_count = u32::try_from(list.len()).unwrap_or(u32::MAX);
            t.put_files(self.record.working_session, list)?;
        }
        let done = Done {
            session_name: name,
            files: t.files(self.record.working_session)?,
            ..Done::default()
        };
        self.finish(t, EventKind::SessionLoaded, events, done)
    }

    pub(super) fn rename(
        &mut self,
        t: &mut WriteTables<'_>,
        name: &SessionName,
        new_name: &SessionName,
        events: &mut Vec<Event>,
    ) -> Result<Outcome, StoreError> {
        let (name, new_name) = (name.to_string(), new_name.to_string());
        let id = t.saved(&self.project, &name)?.ok_or_else(|| self.not_saved(&name))?;
        if name == new_name {
            return Err(StoreError::InvalidArgument(format!(
                "session \"{name}\" already has that name — pick a different new name"
            )));
        }
        if t.saved(&self.project, &new_name)?.is_some() {
            return Err(StoreError::AlreadyExists(format!(
                "session \"{new_name}\" already exists in {} — pick another name or delete that one first",
                self.project
            )));
        }
        let mut record = t.session(id)?;
        record.name = new_name.clone();
        t.put_session(id, &record)?;
        t.saved.remove((self.project.as_str(), name.as_str()))?;
        t.saved.insert((self.project.as_str(), new_name.as_str()), id)?;
        let done = Done::saved_session(new_name, &record);
        self.finish(t, EventKind::SessionRenamed, events, done)
    }

    pub(super) fn delete_session(
        &mut self,
        t: &mut WriteTables<'_>,
        name: &SessionName,
        events: &mut Vec<Event>,
    ) -> Result<Outcome, StoreError> {
        let name = name.to_string();
        let id = t.saved(&self.project, &name)?.ok_or_else(|| self.not_saved(&name))?;
        t.saved.remove((self.project.as_str(), name.as_str()))?;
        let trash_id = t.trash_session(id, &self.project, &name, "deleted", self.now)?;
        let done = Done {
            session_name: name,
            trash_id: Some(trash_id),
            ..Done::default()
        };
        self.finish(t, EventKind::SessionDeleted, events, done)
    }
}
