//! The trash jobs: restoring an entry as a saved session, and purging
//! (one entry, or every entry trashed before a time) — the only place
//! data is destroyed. Each bumps the revision of every project it touches
//! once, with one TRASH_CHANGED event.

use chronicle_proto::v1::{Event, EventKind};

use super::{Done, Outcome, ProjectCtx};
use crate::store::StoreError;
use crate::store::records::{self, TrashRecord};
use crate::store::tables::WriteTables;
use crate::store::validate::{SessionName, TrashId};

pub(super) fn restore_trash(
    t: &mut WriteTables<'_>,
    TrashId(id): TrashId,
    new_name: Option<&SessionName>,
    expected_revision: Option<u64>,
    now: i64,
    events: &mut Vec<Event>,
) -> Result<Outcome, StoreError> {
    let entry = t.trash_entry(id)?.ok_or_else(|| {
        StoreError::NotFound(format!(
            "trash entry {id} does not exist — `chronicle trash` lists the entries"
        ))
    })?;
    // A stored trash label is a valid name unless it was written by an
    // older version under other rules: checked here, as data from disk.
    // Read-only until every refusal is checked: `load` writes only for a
    // project it has never seen, and an entry's project always exists.
    let mut ctx = ProjectCtx::load(t, &entry.project, now)?;
    ctx.check_revision(expected_revision)?;
    let name = match new_name {
        Some(name) => name.to_string(),
        None => SessionName::new(&entry.name)?.into_string(),
    };
    if t.saved(&entry.project, &name)?.is_some() {
        return Err(StoreError::AlreadyExists(format!(
            "session \"{name}\" already exists in {} — restore under another name (`chronicle trash restore {id} --as NAME`)",
            entry.project
        )));
    }
    let mut record = t.session(entry.session_id)?;
    record.name = name.clone();
    t.put_session(entry.session_id, &record)?;
    t.saved
        .insert((entry.project.as_str(), name.as_str()), entry.session_id)?;
    t.trash.remove(id)?;
    ctx.finish(t, EventKind::TrashChanged, events, Done::saved_session(name, &record))
}

pub(super) fn purge_trash(
    t: &mut WriteTables<'_>,
    id: Option<TrashId>,
    older_than_ms: i64,
    expected_revision: Option<u64>,
    now: i64,
    events: &mut Vec<Event>,
) -> Result<Outcome, StoreError> {
    let victims: Vec<(u64, TrashRecord)> = match id {
        Some(TrashId(id)) => {
            let entry = t.trash_entry(id)?.ok_or_else(|| {
                StoreError::NotFound(format!(
                    "trash entry {id} does not exist — `chronicle trash` lists the entries"
                ))
            })?;
            ProjectCtx::load(t, &entry.project, now)?.check_revision(expected_revision)?;
            vec![(id, entry)]
        }
        None if expected_revision.is_some() => {
            return Err(StoreError::InvalidArgument(
                "expected_revision needs a trash id: a purge by age touches many projects".into(),
            ));
        }
        None => {
            let mut victims = Vec::new();
            for row in t.trash.iter()? {
                let (key, value) = row?;
                let key = key.value();
                let entry: TrashRecord = records::decode(value.value(), || format!("trash entry {key}"))?;
                if entry.trashed_at_ms < older_than_ms {
                    victims.push((key, entry));
                }
            }
            victims
        }
    };
    let mut projects: Vec<String> = Vec::new();
    for (trash_id, entry) in &victims {
        t.trash.remove(*trash_id)?;
        t.destroy_session(entry.session_id)?;
        if !projects.contains(&entry.project) {
            projects.push(entry.project.clone());
        }
    }
    let mut outcome = Outcome {
        purged: u32::try_from(victims.len()).unwrap_or(u32::MAX),
        ..Outcome::default()
    };
    for project in projects {
        let mut ctx = ProjectCtx::load(t, &project, now)?;
        let event = ctx.commit(t, EventKind::TrashChanged)?;
        outcome.revision = event.revision;
        events.push(event);
    }
    Ok(outcome)
}
