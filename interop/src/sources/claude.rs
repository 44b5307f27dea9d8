//! Claude Code transcripts (in progress).
