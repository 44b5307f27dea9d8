//! Sources: the agents whose own session files Chronicle reads and
//! follows, each turning what its agent writes into ordinary store
//! mutations (the store still decides). [`aider`] follows aider's chat
//! history; [`import`] reads Claude Code's and Codex CLI's session files
//! for `ImportSource` (the formats themselves are parsed in
//! `chronicle_interop::sources`).

pub mod aider;
pub mod follow;
pub mod import;
pub mod place;
