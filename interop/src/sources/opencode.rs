//! opencode (being written).
