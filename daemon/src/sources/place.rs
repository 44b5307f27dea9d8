//! Where another agent's sessions go, shared by `ImportSource` and the
//! follows: the project a session's working directory names (its git
//! top-level here, else the path as written), and a Codex fork cut to what
//! came after the copy of its parent that the store already holds.

use chronicle_client::paths;
use chronicle_interop::sources::{Agent, LinkKind, SourceSession, codex};

use crate::store::{ProjectPath, Store, StoreError};

/// Prepares a parsed session for the store: a Codex fork loses the copy
/// of its parent's history an earlier import holds.
pub fn settle(store: &Store, session: &mut SourceSession) -> Result<(), StoreError> {
    if session.agent == Agent::Codex && session.parent.as_ref().is_some_and(|l| l.kind == LinkKind::Fork) {
        drop_copy(store, session)?;
    }
    Ok(())
}

/// A Codex fork re-copies its parent's history: what an earlier import of
/// the parent holds is dropped from the fork.
fn drop_copy(store: &Store, session: &mut SourceSession) -> Result<(), StoreError> {
    let Some(parent) = session.parent.as_ref().map(|l| l.parent_source_id.clone()) else {
        return Ok(());
    };
    let parent_messages = store.source_messages(session.agent, &parent)?;
    if !parent_messages.is_empty() {
        codex::drop_copied_history(session, &parent_messages);
    }
    Ok(())
}

/// The project a source session's working directory names; the path as
/// written when it does not exist here.
pub fn project_of(session: &SourceSession) -> Result<ProjectPath, String> {
    let no_project = || {
        format!(
            "session {} names no absolute working directory — import it with -C PROJECT",
            session.source_id
        )
    };
    let cwd = session
        .cwd
        .as_deref()
        .filter(|c| c.starts_with('/'))
        .ok_or_else(no_project)?;
    let dir = paths::project_of_dir(std::path::Path::new(cwd));
    ProjectPath::new(&dir.to_string_lossy()).map_err(|_| no_project())
}
