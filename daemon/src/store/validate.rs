//! The rules every input must pass before the store touches the database:
//! project paths, session names, context-file paths, messages and limits.
//! Each error message says which rule was broken and how to fix it.

use std::{fmt, ops::Deref, path::Path};

use chronicle_proto::v1::{ContextFile, Message, Role};

use super::StoreError;

/// Longest saved-session name, in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// Longest context-file path, in bytes (Linux's PATH_MAX).
pub const MAX_PATH_BYTES: usize = 4096;
/// Most characters of a client's input quoted back in an error message.
const EXCERPT_CHARS: usize = 64;
/// Longest error message sent back, in bytes. Errors travel in a gRPC
/// trailer, which common clients cap at 8–16 KiB after percent-encoding
/// (up to three bytes per byte); a longer one reaches the client as an
/// HTTP/2 protocol error instead of its status code.
pub const MAX_ERROR_BYTES: usize = 1024;

/// Configurable limits, enforced by the store.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest message content, in bytes.
    pub max_content_bytes: usize,
    /// Most context files one session may hold.
    pub max_context_files: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_content_bytes: 8 * 1024 * 1024,
            max_context_files: 10_000,
        }
    }
}

fn invalid(msg: impl Into<String>) -> StoreError {
    StoreError::InvalidArgument(msg.into())
}

/// `raw`, cut to its first characters when long, for quoting a client's
/// input in an error message.
pub fn excerpt(raw: &str) -> String {
    match raw.char_indices().nth(EXCERPT_CHARS) {
        Some((end, _)) => format!("{}…", &raw[..end]),
        None => raw.to_owned(),
    }
}

/// An error message cut to [`MAX_ERROR_BYTES`] (on a character boundary).
pub fn bounded_message(mut message: String) -> String {
    if message.len() > MAX_ERROR_BYTES {
        let mut end = MAX_ERROR_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str("… (cut)");
    }
    message
}

/// A project path that passed the rules: absolute and lexically
/// normalised. Built once, where a request (or a file on disk) enters the
/// daemon; the store takes it as proof and never checks again.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProjectPath(String);

impl ProjectPath {
    /// Checks `raw` (see [`project_path`]) and keeps its normal form.
    pub fn new(raw: &str) -> Result<ProjectPath, StoreError> {
        project_path(raw).map(ProjectPath)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A saved session's name that passed the rules: trimmed, 1–128
/// characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionName(String);

impl SessionName {
    /// Trims and checks `raw` (see [`session_name`]).
    pub fn new(raw: &str) -> Result<SessionName, StoreError> {
        session_name(raw).map(SessionName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The id of a trash entry, parsed from the string clients pass around.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrashId(pub u64);

impl TrashId {
    /// Parses an id as `chronicle trash` lists it.
    pub fn parse(raw: &str) -> Result<TrashId, StoreError> {
        raw.trim().parse().map(TrashId).map_err(|_| {
            invalid(format!(
                "trash id {:?} is not a trash id — `chronicle trash` lists them",
                excerpt(raw)
            ))
        })
    }
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

string_newtype!(ProjectPath);
string_newtype!(SessionName);

/// Checks that `raw` is an absolute path and returns it normalised
/// lexically (no `.`, no `..`, no trailing or doubled slashes). Symlinks are
/// not resolved: the project need not exist, and the key must not change
/// when a link does.
fn project_path(raw: &str) -> Result<String, StoreError> {
    if raw.is_empty() {
        return Err(invalid(
            "project path is empty — pass the absolute path of the project root",
        ));
    }
    if raw.contains('\0') {
        return Err(invalid("project path contains a NUL byte — pass a real absolute path"));
    }
    if raw.len() > MAX_PATH_BYTES {
        return Err(invalid(format!("project path is longer than {MAX_PATH_BYTES} bytes")));
    }
    let path = Path::new(raw);
    if !path.is_absolute() {
        let raw = excerpt(raw);
        return Err(invalid(format!(
            "project path \"{raw}\" is relative — pass an absolute path such as /home/me/{raw}"
        )));
    }
    Ok(chronicle_client::paths::lexical(path).to_string_lossy().into_owned())
}

/// Trims a session name and checks it: 1–128 characters, no control
/// characters.
fn session_name(raw: &str) -> Result<String, StoreError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(invalid("session name is empty — give the session a name"));
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(invalid(format!(
            "session name is {chars} characters long — the limit is {MAX_NAME_CHARS}"
        )));
    }
    if let Some(bad) = name.chars().find(|c| c.is_control()) {
        return Err(invalid(format!(
            "session name contains the control character {:?} — use printable characters only",
            bad
        )));
    }
    Ok(name.to_owned())
}

/// Normalises a context-file path: paths inside the project become
/// relative to its root, paths outside stay absolute.
pub fn context_path(project: &str, raw: &str) -> Result<String, StoreError> {
    if raw.trim().is_empty() {
        return Err(invalid("context file path is empty"));
    }
    if raw.contains('\0') {
        return Err(invalid(format!(
            "context file path {:?} contains a NUL byte",
            excerpt(raw)
        )));
    }
    if raw.len() > MAX_PATH_BYTES {
        return Err(invalid(format!(
            "context file path is longer than {MAX_PATH_BYTES} bytes"
        )));
    }
    let root = Path::new(project);
    let absolute = chronicle_client::paths::lexical(&root.join(raw));
    match absolute.strip_prefix(root) {
        Ok(relative) if !relative.as_os_str().is_empty() => Ok(relative.to_string_lossy().into_owned()),
        Ok(_) => Err(invalid(format!(
            "context file path {:?} is the project root itself — name a file inside it",
            excerpt(raw)
        ))),
        Err(_) => Ok(absolute.to_string_lossy().into_owned()),
    }
}

/// Normalises and de-duplicates a list of context files (a later entry for
/// the same path wins) and checks the count against the limit.
pub fn context_files(project: &str, files: &[ContextFile], limits: &Limits) -> Result<Vec<ContextFile>, StoreError> {
    if files.len() > limits.max_context_files.saturating_mul(4) {
        // Refuse absurd requests before normalising every path.
        return Err(too_many_files(files.len(), limits));
    }
    let mut out: Vec<ContextFile> = Vec::with_capacity(files.len());
    let mut index = std::collections::HashMap::with_capacity(files.len());
    for file in files {
        let path = context_path(project, &file.path)?;
        let normalised = ContextFile {
            path: path.clone(),
            ..file.clone()
        };
        match index.get(&path) {
            Some(&at) => out[at] = normalised,
            None => {
                index.insert(path, out.len());
                out.push(normalised);
            }
        }
    }
    if out.len() > limits.max_context_files {
        return Err(too_many_files(out.len(), limits));
    }
    Ok(out)
}

pub fn too_many_files(count: usize, limits: &Limits) -> StoreError {
    StoreError::LimitExceeded(format!(
        "{count} context files would exceed the limit of {} per session — remove some first",
        limits.max_context_files
    ))
}

/// Checks a message a client wants stored.
pub fn message(message: &Message, limits: &Limits) -> Result<(), StoreError> {
    match Role::try_from(message.role) {
        Ok(Role::Unspecified) => {
            return Err(invalid(
                "message role is unspecified — set it to user, assistant, tool, system, command output or log",
            ));
        }
        Ok(_) => {}
        Err(_) => {
            return Err(invalid(format!(
                "message role {} is not a known role — use a value of chronicle.v1.Role",
                message.role
            )));
        }
    }
    if message.content.len() > limits.max_content_bytes {
        return Err(invalid(format!(
            "message content is {} bytes — the limit is {} bytes; split it into several messages",
            message.content.len(),
            limits.max_content_bytes
        )));
    }
    let other = message.reasoning.len()
        + message.command.len()
        + message
            .tool
            .as_ref()
            .map_or(0, |t| t.args_json.len() + t.result_json.len() + t.name.len());
    if other > limits.max_content_bytes {
        return Err(invalid(format!(
            "message reasoning, command and tool call together are {other} bytes — the limit is {} bytes",
            limits.max_content_bytes
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_paths_are_normalised_lexically() {
        assert_eq!(project_path("/a/./b//c/../d/").ok().as_deref(), Some("/a/b/d"));
        assert_eq!(project_path("/").ok().as_deref(), Some("/"));
    }

    #[test]
    fn bad_project_paths_are_refused() {
        for bad in ["", "relative/dir", "./x", "/a\0b"] {
            assert!(
                matches!(project_path(bad), Err(StoreError::InvalidArgument(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(session_name("  fix login ").ok().as_deref(), Some("fix login"));
        assert!(session_name("   ").is_err());
        assert!(session_name("a\u{7}b").is_err());
        assert!(session_name(&"x".repeat(128)).is_ok());
        assert!(session_name(&"x".repeat(129)).is_err());
        assert!(
            session_name(&"é".repeat(128)).is_ok(),
            "the limit counts characters, not bytes"
        );
    }

    #[test]
    fn context_paths_inside_become_relative_outside_stay_absolute() {
        assert_eq!(context_path("/p", "src/main.rs").ok().as_deref(), Some("src/main.rs"));
        assert_eq!(
            context_path("/p", "/p/src/./lib.rs").ok().as_deref(),
            Some("src/lib.rs")
        );
        assert_eq!(context_path("/p", "../q/x.rs").ok().as_deref(), Some("/q/x.rs"));
        assert_eq!(context_path("/p", "/etc/hosts").ok().as_deref(), Some("/etc/hosts"));
        assert!(context_path("/p", ".").is_err());
        assert!(context_path("/p", "").is_err());
    }

    #[test]
    fn duplicate_files_keep_the_last_entry() {
        let files = [
            ContextFile {
                path: "a".into(),
                read_only: false,
                ..Default::default()
            },
            ContextFile {
                path: "./a".into(),
                read_only: true,
                ..Default::default()
            },
        ];
        let out = context_files("/p", &files, &Limits::default()).unwrap_or_default();
        assert_eq!(out.len(), 1);
        assert!(out[0].read_only);
    }

    #[test]
    fn long_input_is_quoted_as_an_excerpt() {
        assert_eq!(excerpt("short"), "short");
        let quoted = excerpt(&"é".repeat(10_000));
        assert_eq!(quoted.chars().count(), EXCERPT_CHARS + 1, "{quoted}");
        assert!(quoted.ends_with('…'));
    }

    #[test]
    fn error_messages_are_cut_on_a_character_boundary() {
        assert_eq!(bounded_message("fine".into()), "fine");
        let cut = bounded_message("é".repeat(MAX_ERROR_BYTES));
        assert!(cut.len() <= MAX_ERROR_BYTES + "… (cut)".len(), "{}", cut.len());
        assert!(cut.ends_with("… (cut)"));
    }

    #[test]
    fn too_many_files_is_a_limit_error() {
        let limits = Limits {
            max_context_files: 2,
            ..Limits::default()
        };
        let files: Vec<_> = ["a", "b", "c"]
            .iter()
            .map(|p| ContextFile {
                path: (*p).into(),
                ..Default::default()
            })
            .collect();
        assert!(matches!(
            context_files("/p", &files, &limits),
            Err(StoreError::LimitExceeded(_))
        ));
    }
}
