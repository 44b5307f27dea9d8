//! Typed access to the tables inside one write transaction. Every helper
//! here is a small, obvious step; the decisions live in `ops`. Every write
//! goes through [`Logged`], which records it for the write-ahead log.

use std::{
    borrow::Borrow,
    cell::{OnceCell, RefCell},
    ops::RangeBounds,
    rc::Rc,
};

use chronicle_proto::v1::{ContextFile, Message};
use redb::{AccessGuard, Key, Range, ReadableTable, Table, TableDefinition, Value, WriteTransaction};

use super::StoreError;
use super::records::{
    self, FILES, FileList, KEY_NEXT_SESSION, KEY_NEXT_TRASH, MESSAGES, META, PROJECTS, ProjectRecord, SAVED, SESSIONS,
    SOURCE_CURSORS, SOURCE_FOLLOWS, SOURCE_IDS, SOURCES, SessionRecord, TRASH, TrashRecord,
};
use super::wal::Redo;

fn logged<'t, K: Key + 'static, V: Value + 'static>(
    txn: &'t WriteTransaction,
    definition: TableDefinition<'static, K, V>,
    id: u8,
    redo: &Rc<RefCell<Redo>>,
) -> Logged<'t, K, V> {
    Logged {
        txn,
        definition,
        table: OnceCell::new(),
        id,
        redo: redo.clone(),
    }
}

/// Rows copied per step when a session is duplicated, so a copy of a
/// 100,000-message session never holds them all in memory.
const COPY_CHUNK: usize = 512;

/// A table whose writes are recorded (table id, key and value bytes as
/// redb stores them) for the write-ahead log. There is no mutable access
/// but [`Logged::insert`] and [`Logged::remove`], so no write can escape
/// the record.
///
/// The table is opened on first use: a batch of appends touches three of
/// the eleven tables, and opening all of them (each checks its stored
/// definition) took about a tenth of the writer thread's time under 16
/// clients, and about a sixth of a lone append's CPU (docs/BENCHMARKS.md).
pub struct Logged<'t, K: Key + 'static, V: Value + 'static> {
    txn: &'t WriteTransaction,
    definition: TableDefinition<'static, K, V>,
    table: OnceCell<Table<'t, K, V>>,
    id: u8,
    redo: Rc<RefCell<Redo>>,
}

impl<'t, K: Key + 'static, V: Value + 'static> Logged<'t, K, V> {
    /// The table, opened if this is its first use in the transaction.
    pub fn table(&self) -> Result<&Table<'t, K, V>, StoreError> {
        if let Some(table) = self.table.get() {
            return Ok(table);
        }
        let opened = self.txn.open_table(self.definition)?;
        Ok(self.table.get_or_init(|| opened))
    }

    fn table_mut(&mut self) -> Result<&mut Table<'t, K, V>, StoreError> {
        self.table()?;
        self.table.get_mut().ok_or_else(|| StoreError::Corrupt {
            what: format!("table {}", self.definition),
            detail: "it was opened and then lost".into(),
        })
    }

    pub fn get<'k>(&self, key: impl Borrow<K::SelfType<'k>>) -> Result<Option<AccessGuard<'_, V>>, StoreError> {
        Ok(self.table()?.get(key)?)
    }

    pub fn range<'k, KR>(&self, range: impl RangeBounds<KR> + 'k) -> Result<Range<'_, K, V>, StoreError>
    where
        KR: Borrow<K::SelfType<'k>> + 'k,
    {
        Ok(self.table()?.range(range)?)
    }

    pub fn iter(&self) -> Result<Range<'_, K, V>, StoreError> {
        Ok(self.table()?.iter()?)
    }

    pub fn insert<'k, 'v>(
        &mut self,
        key: impl Borrow<K::SelfType<'k>>,
        value: impl Borrow<V::SelfType<'v>>,
    ) -> Result<Option<AccessGuard<'_, V>>, StoreError> {
        self.redo.borrow_mut().record(
            self.id,
            K::as_bytes(key.borrow()).as_ref(),
            Some(V::as_bytes(value.borrow()).as_ref()),
        );
        Ok(self.table_mut()?.insert(key, value)?)
    }

    pub fn remove<'k>(&mut self, key: impl Borrow<K::SelfType<'k>>) -> Result<Option<AccessGuard<'_, V>>, StoreError> {
        self.redo
            .borrow_mut()
            .record(self.id, K::as_bytes(key.borrow()).as_ref(), None);
        Ok(self.table_mut()?.remove(key)?)
    }

    /// Puts back one logged write, unrecorded.
    fn replay(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<(), StoreError> {
        let table = self.table_mut()?;
        match value {
            Some(value) => table.insert(K::from_bytes(key), V::from_bytes(value)).map(drop)?,
            None => table.remove(K::from_bytes(key)).map(drop)?,
        }
        Ok(())
    }
}

/// Every table, each opened at most once per write transaction.
pub struct WriteTables<'t> {
    pub meta: Logged<'t, &'static str, u64>,
    pub projects: Logged<'t, &'static str, &'static [u8]>,
    pub sessions: Logged<'t, u64, &'static [u8]>,
    pub files: Logged<'t, u64, &'static [u8]>,
    pub messages: Logged<'t, (u64, u64), &'static [u8]>,
    pub saved: Logged<'t, (&'static str, &'static str), u64>,
    pub trash: Logged<'t, u64, &'static [u8]>,
    pub sources: Logged<'t, (&'static str, &'static str), u64>,
    pub source_follows: Logged<'t, (&'static str, &'static str), &'static [u8]>,
    pub source_cursors: Logged<'t, (&'static str, &'static str, &'static str), &'static [u8]>,
    pub source_ids: Logged<'t, (u64, &'static str), u64>,
    redo: Rc<RefCell<Redo>>,
}

impl<'t> WriteTables<'t> {
    /// The tables, writes not recorded.
    pub fn open(txn: &'t WriteTransaction) -> Result<Self, StoreError> {
        Self::recording(txn, 0)
    }

    /// The tables, recording up to `limit` bytes of writes (see [`Redo`]).
    pub fn recording(txn: &'t WriteTransaction, limit: usize) -> Result<Self, StoreError> {
        let redo = Rc::new(RefCell::new(Redo::new(limit)));
        let redo_ = &redo;
        // The ids are the log's format: never renumber one.
        Ok(WriteTables {
            meta: logged(txn, META, 0, redo_),
            projects: logged(txn, PROJECTS, 1, redo_),
            sessions: logged(txn, SESSIONS, 2, redo_),
            files: logged(txn, FILES, 3, redo_),
            messages: logged(txn, MESSAGES, 4, redo_),
            saved: logged(txn, SAVED, 5, redo_),
            trash: logged(txn, TRASH, 6, redo_),
            sources: logged(txn, SOURCES, 7, redo_),
            source_follows: logged(txn, SOURCE_FOLLOWS, 8, redo_),
            source_cursors: logged(txn, SOURCE_CURSORS, 9, redo_),
            source_ids: logged(txn, SOURCE_IDS, 10, redo_),
            redo,
        })
    }

    /// What was recorded; the tables are closed.
    pub fn into_redo(self) -> Redo {
        let redo = self.redo.clone();
        drop(self);
        Rc::try_unwrap(redo).map_or_else(|shared| shared.replace(Redo::new(0)), RefCell::into_inner)
    }

    /// Puts back one logged write; false for an unknown table.
    pub fn replay(&mut self, table: u8, key: &[u8], value: Option<&[u8]>) -> Result<bool, StoreError> {
        match table {
            0 => self.meta.replay(key, value)?,
            1 => self.projects.replay(key, value)?,
            2 => self.sessions.replay(key, value)?,
            3 => self.files.replay(key, value)?,
            4 => self.messages.replay(key, value)?,
            5 => self.saved.replay(key, value)?,
            6 => self.trash.replay(key, value)?,
            7 => self.sources.replay(key, value)?,
            8 => self.source_follows.replay(key, value)?,
            9 => self.source_cursors.replay(key, value)?,
            10 => self.source_ids.replay(key, value)?,
            _ => return Ok(false),
        }
        Ok(true)
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
        read_session(self.sessions.table()?, id)
    }

    pub fn put_session(&mut self, id: u64, record: &SessionRecord) -> Result<(), StoreError> {
        self.sessions.insert(id, records::encode(record).as_slice())?;
        Ok(())
    }

    pub fn files(&self, id: u64) -> Result<Vec<ContextFile>, StoreError> {
        read_files(self.files.table()?, id)
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
        let mut ids = Vec::new();
        for entry in self.messages.range((session, from)..=(session, u64::MAX))? {
            let (key, value) = entry?;
            let id = key.value().1;
            taken.push(records::decode::<Message>(value.value(), || {
                format!("message {id} of session {session}")
            })?);
            ids.push(id);
        }
        for id in ids {
            self.messages.remove((session, id))?;
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
        let mut after = 0u64;
        loop {
            // In chunks, so a huge session's keys are never all in memory.
            let mut ids = Vec::with_capacity(COPY_CHUNK);
            for entry in self.messages.range((id, after)..=(id, u64::MAX))?.take(COPY_CHUNK) {
                ids.push(entry?.0.value().1);
            }
            for &message in &ids {
                self.messages.remove((id, message))?;
            }
            match ids.last() {
                Some(&last) if ids.len() == COPY_CHUNK && last < u64::MAX => after = last + 1,
                _ => break,
            }
        }
        let sources: Vec<String> = self
            .source_ids
            .range((id, "")..(id + 1, ""))?
            .map(|entry| entry.map(|(key, _)| key.value().1.to_owned()))
            .collect::<Result<_, _>>()?;
        for source in sources {
            self.source_ids.remove((id, source.as_str()))?;
        }
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
        count_saved(self.saved.table()?, project)
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
