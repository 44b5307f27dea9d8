//! Typed access to the tables inside one write transaction. Every helper
//! here is a small, obvious step; the decisions live in `ops`.

use chronicle_proto::v1::{ContextFile, Message};
use redb::{ReadableTable, Table, WriteTransaction};

use super::StoreError;
use super::records::{
    self, FILES, FileList, KEY_NEXT_SESSION, KEY_NEXT_TRASH, MESSAGES, META, PROJECTS, ProjectRecord, SAVED, SESSIONS,
    SOURCE_CURSORS, SOURCE_FOLLOWS, SOURCE_IDS, SOURCES, SessionRecord, TRASH, TrashRecord,
};

/// Rows copied per step when a session is duplicated, so a copy of a
/// 100,000-message session never holds them all in memory.
const COPY_CHUNK: usize = 512;

/// Every table, opened once per write transaction.
pub struct WriteTables<'t> {
    pub meta: Table<'t, &'static str, u64>,
    pub projects: Table<'t, &'static str, &'static [u8]>,
    pub sessions: Table<'t, u64, &'static [u8]>,
    pub files: Table<'t, u64, &'static [u8]>,
    pub messages: Table<'t, (u64, u64), &'static [u8]>,
    pub saved: Table<'t, (&'static str, &'static str), u64>,
    pub trash: Table<'t, u64, &'static [u8]>,
    pub sources: Table<'t, (&'static str, &'static str), u64>,
    pub source_follows: Table<'t, (&'static str, &'static str), &'static [u8]>,
    pub source_cursors: Table<'t, (&'static str, &'static str, &'static str), &'static [u8]>,
    pub source_ids: Table<'t, (u64, &'static str), u64>,
}

impl<'t> WriteTables<'t> {
    pub fn open(txn: &'t WriteTransaction) -> Result<Self, StoreError> {
        Ok(WriteTables {
            meta: txn.open_table(META)?,
            projects: txn.open_table(PROJECTS)?,
            sessions: txn.open_table(SESSIONS)?,
            files: txn.open_table(FILES)?,
            messages: txn.open_table(MESSAGES)?,
            saved: txn.open_table(SAVED)?,
            trash: txn.open_table(TRASH)?,
            sources: txn.open_table(SOURCES)?,
            source_follows: txn.open_table(SOURCE_FOLLOWS)?,
            source_cursors: txn.open_table(SOURCE_CURSORS)?,
            source_ids: txn.open_table(SOURCE_IDS)?,
        })
    }

    fn next_counter(&mut self, key: &str) -> Result<u64, StoreError> {
        let next = self.meta.get(key)?.map_or(1, |v| v.value());
        self.meta.insert(key, next + 1)?;
        Ok(next)
    }

    pub fn project(&self, project: &str) -> Result<Option<ProjectRecord>, StoreError> {
        match self.projects.get(project)? {
            Some(bytes) => records::decode(bytes.value(), || format!("project {project}")).map(Some),
            None => Ok(None),
        }
    }

    pub fn put_project(&mut self, project: &str, record: &ProjectRecord) -> Result<(), StoreError> {
        self.projects.insert(project, records::encode(record).as_slice())?;
        Ok(())
    }

    pub fn session(&self, id: u64) -> Result<SessionRecord, StoreError> {
        read_session(&self.sessions, id)
    }

    pub fn put_session(&mut self, id: u64, record: &SessionRecord) -> Result<(), StoreError> {
        self.sessions.insert(id, records::encode(record).as_slice())?;
        Ok(())
    }

    pub fn files(&self, id: u64) -> Result<Vec<ContextFile>, StoreError> {
        read_files(&self.files, id)
    }

    pub fn put_files(&mut self, id: u64, files: Vec<ContextFile>) -> Result<(), StoreError> {
        let list = FileList { files };
        self.files.insert(id, records::encode(&list).as_slice())?;
        Ok(())
    }

    pub fn message(&self, session: u64, id: u64) -> Result<Option<Message>, StoreError> {
        match self.messages.get((session, id))? {
            Some(bytes) => records::decode(bytes.value(), || format!("message {id} of session {session}")).map(Some),
            None => Ok(None),
        }
    }

    pub fn put_message(&mut self, session: u64, message: &Message) -> Result<(), StoreError> {
        self.messages
            .insert((session, message.id), records::encode(message).as_slice())?;
        Ok(())
    }

    /// Removes one message and returns it.
    pub fn take_message(&mut self, session: u64, id: u64) -> Result<Option<Message>, StoreError> {
        match self.messages.remove((session, id))? {
            Some(bytes) => records::decode(bytes.value(), || format!("message {id} of session {session}")).map(Some),
            None => Ok(None),
        }
    }

    /// Removes messages `from..` of a session and returns them, in order.
    pub fn take_messages_from(&mut self, session: u64, from: u64) -> Result<Vec<Message>, StoreError> {
        let mut taken = Vec::new();
        for entry in self
            .messages
            .extract_from_if((session, from)..=(session, u64::MAX), |_, _| true)?
        {
            let (key, value) = entry?;
            let id = key.value().1;
            taken.push(records::decode(value.value(), || {
                format!("message {id} of session {session}")
            })?);
        }
        Ok(taken)
    }

    /// Copies every message of `from` into `to`, keeping their ids.
    pub fn copy_messages(&mut self, from: u64, to: u64) -> Result<(), StoreError> {
        let mut after = 0u64;
        loop {
            let mut chunk: Vec<(u64, Vec<u8>)> = Vec::with_capacity(COPY_CHUNK);
            for entry in self.messages.range((from, after)..=(from, u64::MAX))?.take(COPY_CHUNK) {
                let (key, value) = entry?;
                chunk.push((key.value().1, value.value().to_vec()));
            }
            let Some(&(last, _)) = chunk.last() else { return Ok(()) };
            for (id, bytes) in &chunk {
                self.messages.insert((to, *id), bytes.as_slice())?;
            }
            if chunk.len() < COPY_CHUNK || last == u64::MAX {
                return Ok(());
            }
            after = last + 1;
        }
    }

    /// Copies the messages of `from` with ids up to `through` into `to`,
    /// keeping their ids; returns how many and their summed usage.
    pub fn copy_messages_through(
        &mut self,
        from: u64,
        to: u64,
        through: u64,
    ) -> Result<(u64, Option<chronicle_proto::v1::Usage>), StoreError> {
        let mut after = 0u64;
        let mut count = 0u64;
        let mut usage = None;
        loop {
            let mut chunk: Vec<(u64, Vec<u8>)> = Vec::with_capacity(COPY_CHUNK);
            for entry in self.messages.range((from, after)..=(from, through))?.take(COPY_CHUNK) {
                let (key, value) = entry?;
                chunk.push((key.value().1, value.value().to_vec()));
            }
            let Some(&(last, _)) = chunk.last() else {
                return Ok((count, usage));
            };
            for (id, bytes) in &chunk {
                let message: Message = records::decode(bytes, || format!("message {id} of session {from}"))?;
                records::add_usage(&mut usage, message.usage.as_ref(), 1);
                self.messages.insert((to, *id), bytes.as_slice())?;
                count += 1;
            }
            if chunk.len() < COPY_CHUNK || last >= through {
                return Ok((count, usage));
            }
            after = last + 1;
        }
    }

    /// Creates an empty session record (no messages, no files).
    pub fn new_session(&mut self, project: &str, name: &str, now: i64) -> Result<(u64, SessionRecord), StoreError> {
        let id = self.next_counter(KEY_NEXT_SESSION)?;
        let record = SessionRecord {
            project: project.to_owned(),
            name: name.to_owned(),
            created_at_ms: now,
            updated_at_ms: now,
            next_message_id: 1,
            ..SessionRecord::default()
        };
        self.put_session(id, &record)?;
        self.put_files(id, Vec::new())?;
        Ok((id, record))
    }

    /// Undoes [`Self::new_session`] for a session nothing else refers to:
    /// removes its header and file list, and hands its id back when it was
    /// the last one given out.
    pub fn forget_new_session(&mut self, id: u64) -> Result<(), StoreError> {
        self.files.remove(id)?;
        self.sessions.remove(id)?;
        if self.meta.get(KEY_NEXT_SESSION)?.map(|v| v.value()) == Some(id + 1) {
            self.meta.insert(KEY_NEXT_SESSION, id)?;
        }
        Ok(())
    }

    /// Destroys a session for good: only purging the trash calls this.
    pub fn destroy_session(&mut self, id: u64) -> Result<(), StoreError> {
        self.messages.retain_in((id, 0)..=(id, u64::MAX), |_, _| false)?;
        self.source_ids.retain_in((id, "")..(id + 1, ""), |_, _| false)?;
        self.files.remove(id)?;
        self.sessions.remove(id)?;
        Ok(())
    }

    /// Gives a session to the trash and returns the new entry's id.
    pub fn trash_session(
        &mut self,
        session_id: u64,
        project: &str,
        name: &str,
        reason: &str,
        now: i64,
    ) -> Result<u64, StoreError> {
        let id = self.next_counter(KEY_NEXT_TRASH)?;
        let record = TrashRecord {
            session_id,
            project: project.to_owned(),
            name: name.to_owned(),
            reason: reason.to_owned(),
            trashed_at_ms: now,
        };
        self.trash.insert(id, records::encode(&record).as_slice())?;
        Ok(id)
    }

    pub fn trash_entry(&self, id: u64) -> Result<Option<TrashRecord>, StoreError> {
        match self.trash.get(id)? {
            Some(bytes) => records::decode(bytes.value(), || format!("trash entry {id}")).map(Some),
            None => Ok(None),
        }
    }

    pub fn saved(&self, project: &str, name: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.saved.get((project, name))?.map(|v| v.value()))
    }

    pub fn saved_count(&self, project: &str) -> Result<u32, StoreError> {
        count_saved(&self.saved, project)
    }
}

pub fn read_session(table: &impl ReadableTable<u64, &'static [u8]>, id: u64) -> Result<SessionRecord, StoreError> {
    match table.get(id)? {
        Some(bytes) => records::decode(bytes.value(), || format!("session {id}")),
        None => Err(StoreError::Corrupt {
            what: format!("session {id}"),
            detail: "its header is missing".into(),
        }),
    }
}

pub fn read_files(table: &impl ReadableTable<u64, &'static [u8]>, id: u64) -> Result<Vec<ContextFile>, StoreError> {
    match table.get(id)? {
        Some(bytes) => {
            records::decode::<FileList>(bytes.value(), || format!("file list of session {id}")).map(|l| l.files)
        }
        None => Ok(Vec::new()),
    }
}

pub fn count_saved(
    table: &impl ReadableTable<(&'static str, &'static str), u64>,
    project: &str,
) -> Result<u32, StoreError> {
    let mut count = 0u32;
    for entry in table.range((project, "")..)? {
        let (key, _) = entry?;
        if key.value().0 != project {
            break;
        }
        count = count.saturating_add(1);
    }
    Ok(count)
}
