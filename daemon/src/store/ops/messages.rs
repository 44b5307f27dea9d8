//! The working session's messages: append, append to, update, delete
//! (to the trash), rewind, fork and clear. Each checks what it can refuse
//! on before its first write (see the parent module).

use chronicle_proto::v1::{Event, EventKind, Message};

use super::{Done, Outcome, ProjectCtx, trash_label};
use crate::store::StoreError;
use crate::store::records;
use crate::store::tables::WriteTables;
use crate::store::validate::{self, Limits, SessionName};

impl ProjectCtx {
    pub(super) fn append(
        &mut self,
        t: &mut WriteTables<'_>,
        message: &Message,
        limits: &Limits,
        events: &mut Vec<Event>,
    ) -> Result<Outcome, StoreError> {
        validate::message(message, limits)?;
        let mut message = message.clone();
        message.id = self.working.next_message_id;
        if message.created_at_ms == 0 {
            message.created_at_ms = self.now;
        }
        self.working.next_message_id += 1;
        self.working.message_count += 1;
        records::add_usage(&mut self.working.usage, message.usage.as_ref(), 1);
        t.put_message(self.record.working_session, &message)?;
        let done = Done {
            message_id: message.id,
            message: Some(message),
            ..Done::default()
        };
        self.finish(t, EventKind::MessageAppended, events, done)
    }

    pub(super) fn existing_message(&self, t: &WriteTables<'_>, id: u64) -> Result<Message, StoreError> {
        t.message(self.record.working_session, id)?.ok_or_else(|| {
            StoreError::NotFound(format!(
                "message {id} is not in the working session of {} — list ids with `chronicle show`",
                self.project
            ))
        })
    }

    pub(super) fn append_to(
        &mut self,
        t: &mut WriteTables<'_>,
        id: u64,
        delta: &str,
        limits: &Limits,
        events: &mut Vec<Event>,
    ) -> Result<Outcome, StoreError> {
        let mut message = self.existing_message(t, id)?;
        if message.content.len() + delta.len() > limits.max_content_bytes {
            // Oversize content, as for an append: INVALID_ARGUMENT.
            return Err(StoreError::InvalidArgument(format!(
                "message {id} would grow past the limit of {} bytes — start a new message",
                limits.max_content_bytes
            )));
        }
        message.content.push_str(delta);
        t.put_message(self.record.working_session, &message)?;
        let done = Done {
            delta: delta.to_owned(),
            message: Some(message),
            message_id: id,
            ..Done::default()
        };
        self.finish(t, EventKind::MessageUpdated, events, done)
    }

    pub(super) fn update(
        &mut self,
        t: &mut WriteTables<'_>,
        message: &Message,
        limits: &Limits,
        events: &mut Vec<Event>,
    ) -> Result<Outcome, StoreError> {
        validate::message(message, limits)?;
        let old = self.existing_message(t, message.id)?;
        let mut message = message.clone();
        if message.created_at_ms == 0 {
            message.created_at_ms = old.created_at_ms;
        }
        records::add_usage(&mut self.working.usage, old.usage.as_ref(), -1);
        records::add_usage(&mut self.working.usage, message.usage.as_ref(), 1);
        t.put_message(self.record.working_session, &message)?;
        let done = Done {
            message_id: message.id,
            message: Some(message),
            ..Done::default()
        };
        self.finish(t, EventKind::MessageUpdated, events, done)
    }

    /// Deleted messages go to the trash like everything else destroyed.
    pub(super) fn delete(
        &mut self,
        t: &mut WriteTables<'_>,
        id: u64,
        truncate_after: bool,
        events: &mut Vec<Event>,
    ) -> Result<Outcome, StoreError> {
        self.existing_message(t, id)?;
        let session = self.record.working_session;
        let removed = if truncate_after {
            t.take_messages_from(session, id)?
        } else {
            t.take_message(session, id)?.into_iter().collect()
        };
        let trash_id = self.trash_messages(t, &removed, "messages-deleted")?;
        let done = Done {
            message_id: id,
            trash_id: Some(trash_id),
            ..Done::default()
        };
        self.finish(t, EventKind::MessagesDeleted, events, done)
    }

    /// Puts messages just taken out of the working session into one new
    /// trash entry, and takes them off the working session's totals.
    pub(super) fn trash_messages(
        &mut self,
        t: &mut WriteTables<'_>,
        removed: &[Message],
        reason: &str,
    ) -> Result<u64, StoreError> {
        let label = trash_label(reason, self.now);
        let (trash_session, mut record) = t.new_session(&self.project, &label, self.now)?;
        for message in removed {
            records::add_usage(&mut self.working.usage, message.usage.as_ref(), -1);
            records::add_usage(&mut record.usage, message.usage.as_ref(), 1);
            t.put_message(trash_session, message)?;
        }
        record.message_count = removed.len() as u64;
        record.next_message_id = removed.last().map_or(1, |m| m.id + 1);
        t.put_session(trash_session, &record)?;
        let trash_id = t.trash_session(trash_session, &self.project, &label, reason, self.now)?;
        self.working.message_count = self.working.message_count.saturating_sub(removed.len() as u64);
        Ok(trash_id)
    }

    /// Refused when the message is unknown or already the last one, so a
    /// rewind always moves something and never leaves an empty entry.
    pub(super) fn rewind(
        &mut self,
        t: &mut WriteTables<'_>,
        keep_through: u64,
        events: &mut Vec<Event>,
    ) -> Result<Outcome, StoreError> {
        self.existing_message(t, keep_through)?;
        let session = self.record.working_session;
        let removed = t.take_messages_from(session, keep_through.saturating_add(1))?;
        if removed.is_empty() {
            return Err(StoreError::InvalidArgument(format!(
                "message {keep_through} is the last message of the working session of {} — nothing to rewind",
                self.project
            )));
        }
        let trash_id = self.trash_messages(t, &removed, "rewound")?;
        let done = Done {
            message_id: keep_through,
            trash_id: Some(trash_id),
            ..Done::default()
        };
        self.finish(t, EventKind::MessagesDeleted, events, done)
    }

    /// Copies the source's messages through `at` and its files into a new
    /// saved session; everything is checked before the first write.
    pub(super) fn fork(
        &mut self,
        t: &mut WriteTables<'_>,
        source: Option<&SessionName>,
        at: u64,
        new_name: &SessionName,
        events: &mut Vec<Event>,
    ) -> Result<Outcome, StoreError> {
        let (source_id, source_name, what) = match source {
            Some(name) => {
                let name = name.to_string();
                let id = t.saved(&self.project, &name)?.ok_or_else(|| self.not_saved(&name))?;
                let what = format!("saved session \"{name}\"");
                (id, name, what)
            }
            None => (
                self.record.working_session,
                String::new(),
                "the working session".to_owned(),
            ),
        };
        if t.message(source_id, at)?.is_none() {
            return Err(StoreError::NotFound(format!(
                "message {at} is not in {what} of {} — list ids with `chronicle show`",
                self.project
            )));
        }
        let new_name = new_name.to_string();
        if t.saved(&self.project, &new_name)?.is_some() {
            return Err(StoreError::AlreadyExists(format!(
                "session \"{new_name}\" already exists in {} — pick another name for the fork",
                self.project
            )));
        }
        let (id, mut record) = t.new_session(&self.project, &new_name, self.now)?;
        let (count, usage) = t.copy_messages_through(source_id, id, at)?;
        let files = t.files(source_id)?;
        record.file_count = u32::try_from(files.len()).unwrap_or(u32::MAX);
        t.put_files(id, files)?;
        record.message_count = count;
        record.usage = usage;
        record.next_message_id = at + 1;
        record.updated_revision = self.next_revision();
        record.forked_from = source_name;
        record.forked_at_message_id = at;
        t.put_session(id, &record)?;
        t.saved.insert((self.project.as_str(), new_name.as_str()), id)?;
        self.finish(
            t,
            EventKind::SessionSaved,
            events,
            Done::saved_session(new_name, &record),
        )
    }

    pub(super) fn clear(&mut self, t: &mut WriteTables<'_>, events: &mut Vec<Event>) -> Result<Outcome, StoreError> {
        if self.working.message_count > 0 {
            self.replace_working(t, "cleared", false)?;
        }
        let done = Done {
            files: t.files(self.record.working_session)?,
            ..Done::default()
        };
        self.finish(t, EventKind::MessagesCleared, events, done)
    }
}
