//! The working session's context files: set, added, removed, and marked
//! missing or back on disk as the checks made before the job found them.

use chronicle_proto::v1::{ContextFile, Event, EventKind};

use super::{Done, FileProbes, Outcome, ProjectCtx};
use crate::store::StoreError;
use crate::store::tables::WriteTables;
use crate::store::validate::{self, Limits};

impl ProjectCtx {
    pub(super) fn write_files(
        &mut self,
        t: &mut WriteTables<'_>,
        files: Vec<ContextFile>,
        events: &mut Vec<Event>,
    ) -> Result<Outcome, StoreError> {
        self.working.file_count = u32::try_from(files.len()).unwrap_or(u32::MAX);
        t.put_files(self.record.working_session, files.clone())?;
        let done = Done {
            files,
            ..Done::default()
        };
        self.finish(t, EventKind::FilesChanged, events, done)
    }

    pub(super) fn add_files(
        &mut self,
        t: &mut WriteTables<'_>,
        added: &[ContextFile],
        probes: &FileProbes,
        limits: &Limits,
        events: &mut Vec<Event>,
    ) -> Result<Outcome, StoreError> {
        let added = validate::context_files(&self.project, added, limits)?;
        let mut files = t.files(self.record.working_session)?;
        let mut index: std::collections::HashMap<String, usize> =
            files.iter().enumerate().map(|(i, f)| (f.path.clone(), i)).collect();
        for mut file in added {
            match index.get(&file.path) {
                Some(&at) => files[at].read_only = file.read_only,
                None => {
                    if file.added_at_ms == 0 {
                        file.added_at_ms = self.now;
                    }
                    // Not checked can only mean the check disagreed with
                    // this validation: count the file as unseen.
                    file.missing = probes.missing(&file.path).unwrap_or(true);
                    index.insert(file.path.clone(), files.len());
                    files.push(file);
                }
            }
        }
        if files.len() > limits.max_context_files {
            return Err(validate::too_many_files(files.len(), limits));
        }
        self.write_files(t, files, events)
    }

    pub(super) fn remove_files(
        &mut self,
        t: &mut WriteTables<'_>,
        paths: &[String],
        events: &mut Vec<Event>,
    ) -> Result<Outcome, StoreError> {
        let mut files = t.files(self.record.working_session)?;
        let mut remove = std::collections::HashSet::with_capacity(paths.len());
        for raw in paths {
            remove.insert(validate::context_path(&self.project, raw)?);
        }
        let missing: Vec<&String> = remove.iter().filter(|p| !files.iter().any(|f| &&f.path == p)).collect();
        if !missing.is_empty() {
            let mut missing: Vec<_> = missing.into_iter().cloned().collect();
            missing.sort();
            // Name a few: the error must stay small however many were sent.
            let named: Vec<String> = missing.iter().take(5).map(|p| validate::excerpt(p)).collect();
            let more = match missing.len().saturating_sub(named.len()) {
                0 => String::new(),
                n => format!(" and {n} more"),
            };
            return Err(StoreError::NotFound(format!(
                "not in the context of {}: {}{more} — list the files with `chronicle files`",
                self.project,
                named.join(", ")
            )));
        }
        files.retain(|f| !remove.contains(&f.path));
        self.write_files(t, files, events)
    }

    pub(super) fn set_files(
        &mut self,
        t: &mut WriteTables<'_>,
        files: &[ContextFile],
        probes: &FileProbes,
        limits: &Limits,
        events: &mut Vec<Event>,
    ) -> Result<Outcome, StoreError> {
        let previous = t.files(self.record.working_session)?;
        let mut files = validate::context_files(&self.project, files, limits)?;
        for file in &mut files {
            let kept = previous.iter().find(|p| p.path == file.path);
            if file.added_at_ms == 0 {
                file.added_at_ms = kept.map_or(self.now, |p| p.added_at_ms);
            }
            file.missing = probes.missing(&file.path).unwrap_or(true);
        }
        self.write_files(t, files, events)
    }

    /// One revision and one event (FILE_MISSING or FILE_RESTORED) for every
    /// file whose flag flips; the disk was asked again just before the job
    /// was queued (`probes`), so a stale report from the watcher changes
    /// nothing.
    pub(super) fn mark_files(
        &mut self,
        t: &mut WriteTables<'_>,
        paths: &[String],
        missing: bool,
        probes: &FileProbes,
        events: &mut Vec<Event>,
    ) -> Result<Outcome, StoreError> {
        let reported: std::collections::HashSet<&str> = paths.iter().map(String::as_str).collect();
        let mut files = t.files(self.record.working_session)?;
        if !files.iter().any(|f| reported.contains(f.path.as_str())) {
            // Also undoes the registration of a project nobody opened.
            return Err(StoreError::NotFound(format!(
                "none of the {} reported files is in the context of {}",
                reported.len(),
                self.project
            )));
        }
        let mut changed = false;
        for file in &mut files {
            if file.missing != missing
                && reported.contains(file.path.as_str())
                && probes.missing(&file.path) == Some(missing)
            {
                file.missing = missing;
                changed = true;
            }
        }
        if !changed {
            return Ok(self.ack(0));
        }
        t.put_files(self.record.working_session, files.clone())?;
        let kind = if missing {
            EventKind::FileMissing
        } else {
            EventKind::FileRestored
        };
        self.finish(
            t,
            kind,
            events,
            Done {
                files,
                ..Done::default()
            },
        )
    }
}
