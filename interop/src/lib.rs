//! The formats Chronicle reads and writes to talk to the world outside the
//! daemon, shared by the daemon (which streams bundles and follows aider's
//! history file) and the CLI (which parses aider's files on the client).
//!
//! - [`bundle`] — the lossless, versioned JSON Lines backup format of
//!   `docs/BUNDLE.md`: records, a deterministic writer, a line-by-line
//!   reader that names the line and field that is wrong, and the grammar
//!   check that makes a truncated bundle fail.
//! - [`aider`] — aider's `.aider.chat.history.md` (parsed into runs of
//!   messages, and written back) and its `/save` files of context files.
//! - [`sources`] — other agents' session files (Claude Code, Codex CLI,
//!   opencode, Gemini CLI) read into one intermediate form to import.
//!
//! Pure data in, data out: no I/O beyond `io::Write`, no daemon, no gRPC.
//! It depends only on the generated types of `chronicle-proto`.

pub mod aider;
pub mod bundle;
pub mod sources;
