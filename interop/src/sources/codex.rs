//! Codex CLI rollouts (in progress).
