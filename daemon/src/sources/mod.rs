//! Sources: the agents whose own session files Chronicle reads and
//! follows, each turning what its agent writes into ordinary store
//! mutations (the store still decides). Today that is [`aider`]'s chat
//! history; the importers and followers of the other agents — Claude
//! Code, Codex CLI, opencode, Gemini CLI — will sit beside it here, each
//! in its own module.

pub mod aider;
