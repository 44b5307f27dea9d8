//! Where Chronicle's programs meet and what they work on: the default
//! socket and data directory (the daemon and every client read them from
//! here, so they can never disagree), where a client-started daemon logs,
//! and which project a directory means (the CLI and the desktop app must
//! agree, or one would open a different working session than the other).

use std::{
    env, fs, io,
    path::{Component, Path, PathBuf},
};

/// Environment variable that selects the socket, for daemon and clients.
pub const SOCKET_ENV: &str = "CHRONICLE_SOCKET";

/// Environment variable that selects the daemon's data directory.
pub const DATA_DIR_ENV: &str = "CHRONICLE_DATA_DIR";

/// The value of `name` when it is set and not empty.
fn env_nonempty(name: &str) -> Option<PathBuf> {
    env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// The socket path every Chronicle program uses unless told otherwise:
/// `$CHRONICLE_SOCKET`, else `$XDG_RUNTIME_DIR/chronicle/chronicle.sock`,
/// else a directory private to the user: on macOS under `$TMPDIR` (which
/// is per-user there), elsewhere `/tmp/chronicle-$UID/chronicle.sock`.
pub fn default_socket_path() -> PathBuf {
    if let Some(path) = env_nonempty(SOCKET_ENV) {
        return path;
    }
    if let Some(runtime) = env_nonempty("XDG_RUNTIME_DIR").filter(|p| p.is_absolute()) {
        return runtime.join("chronicle").join("chronicle.sock");
    }
    let uid = rustix::process::getuid().as_raw();
    if cfg!(target_os = "macos")
        && let Some(tmp) = env_nonempty("TMPDIR").filter(|p| p.is_absolute())
    {
        return tmp.join(format!("chronicle-{uid}")).join("chronicle.sock");
    }
    PathBuf::from(format!("/tmp/chronicle-{uid}/chronicle.sock"))
}

/// The data directory the daemon uses unless told otherwise:
/// `$CHRONICLE_DATA_DIR`, else `$XDG_DATA_HOME/chronicle`, else
/// `~/.local/share/chronicle`. `None` when not even `HOME` is set.
pub fn default_data_dir() -> Option<PathBuf> {
    env_nonempty(DATA_DIR_ENV)
        .or_else(|| {
            env_nonempty("XDG_DATA_HOME")
                .filter(|p| p.is_absolute())
                .map(|p| p.join("chronicle"))
        })
        .or_else(|| env_nonempty("HOME").map(|home| home.join(".local/share/chronicle")))
}

/// Where the daemon's log goes when a client starts it.
pub fn daemon_log_path() -> Option<PathBuf> {
    default_data_dir().map(|dir| dir.join("chronicled.log"))
}

/// The `chronicled` next to this executable, else the one on `PATH`.
pub fn daemon_binary() -> PathBuf {
    env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("chronicled")))
        .filter(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from("chronicled"))
}

/// The project root a client works on: `flag` when given, else the git
/// top-level of the current directory, else the current directory; always
/// absolute, symlinks resolved when the path exists.
pub fn resolve_project(flag: Option<&Path>) -> io::Result<String> {
    let cwd = env::current_dir()?;
    let root = match flag {
        Some(path) => {
            let path = absolute(&cwd, path);
            fs::canonicalize(&path).unwrap_or(path)
        }
        None => {
            let cwd = fs::canonicalize(&cwd).unwrap_or(cwd);
            cwd.ancestors()
                .find(|dir| dir.join(".git").exists())
                .unwrap_or(&cwd)
                .to_path_buf()
        }
    };
    Ok(root.to_string_lossy().into_owned())
}

/// The project a directory an agent ran in belongs to: the git top-level
/// of that directory when it exists here (symlinks resolved), else the
/// path as written (another machine's sessions keep their own paths).
pub fn project_of_dir(dir: &Path) -> PathBuf {
    let written = lexical(dir);
    match fs::canonicalize(&written) {
        Ok(real) => real
            .ancestors()
            .find(|d| d.join(".git").exists())
            .unwrap_or(&real)
            .to_path_buf(),
        Err(_) => written,
    }
}

/// Where an agent keeps its sessions by default, as this process's
/// environment names it: Claude Code `$CLAUDE_CONFIG_DIR/projects` (else
/// `~/.claude/projects`), Codex CLI `$CODEX_HOME/sessions` and
/// `archived_sessions` (else under `~/.codex`), opencode
/// `$XDG_DATA_HOME/opencode` (else `~/.local/share/opencode`), Gemini CLI
/// `~/.gemini/tmp`. Empty for an unknown agent or without a home.
pub fn agent_session_dirs(agent: &str) -> Vec<PathBuf> {
    let var = |name: &str| env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = var("HOME");
    let under_home = |rel: &str| home.as_ref().map(|h| h.join(rel));
    match agent {
        "claude" => var("CLAUDE_CONFIG_DIR")
            .or_else(|| under_home(".claude"))
            .map(|d| vec![d.join("projects")])
            .unwrap_or_default(),
        "codex" => var("CODEX_HOME")
            .or_else(|| under_home(".codex"))
            .map(|d| vec![d.join("sessions"), d.join("archived_sessions")])
            .unwrap_or_default(),
        "opencode" => var("XDG_DATA_HOME")
            .or_else(|| under_home(".local/share"))
            .map(|d| vec![d.join("opencode")])
            .unwrap_or_default(),
        "gemini" => under_home(".gemini/tmp").into_iter().collect(),
        _ => Vec::new(),
    }
}

/// `base.join(path)`, with `.` and `..` resolved lexically.
pub fn absolute(base: &Path, path: &Path) -> PathBuf {
    lexical(&base.join(path))
}

/// `path` with `.` and `..` resolved without touching the disk (a `..` at
/// the root stays at the root); symlinks are not followed.
pub fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_made_absolute_lexically() {
        assert_eq!(
            absolute(Path::new("/p/src"), Path::new("../a.rs")),
            PathBuf::from("/p/a.rs")
        );
        assert_eq!(absolute(Path::new("/p"), Path::new("/etc/x")), PathBuf::from("/etc/x"));
        assert_eq!(absolute(Path::new("/"), Path::new("../../x")), PathBuf::from("/x"));
        assert_eq!(absolute(Path::new("/p"), Path::new("./a/./b")), PathBuf::from("/p/a/b"));
    }

    #[test]
    fn an_explicit_project_is_made_absolute_and_resolved() {
        let dir = tempfile::tempdir().expect("temp dir");
        let real = fs::canonicalize(dir.path()).expect("canonical");
        let inner = real.join("inner");
        fs::create_dir(&inner).expect("mkdir");
        let given = inner.join("..").join("inner");
        assert_eq!(resolve_project(Some(&given)).expect("resolve"), inner.to_string_lossy());
    }

    #[test]
    fn a_missing_project_path_is_kept_as_written() {
        let missing = Path::new("/definitely/not/here/chronicle-project");
        assert_eq!(
            resolve_project(Some(missing)).expect("resolve"),
            missing.to_string_lossy()
        );
    }
}
