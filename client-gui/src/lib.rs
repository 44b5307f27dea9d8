//! `chronicle-gui`: the desktop client of the Chronicle daemon, in
//! eframe/egui. It keeps no sessions of its own: every change is a call to
//! the daemon (on a background runtime, so the window never waits), and
//! everything shown comes back from the daemon, kept current by `Watch` —
//! a message added with the CLI or in another window appears at once.
//!
//! The crate is a library so tests can drive the real [`App`] with
//! egui_kittest; `main.rs` only parses flags and opens the window.

mod app;
pub mod backend;
mod chat;
mod messages;
pub mod prefs;
mod sessions;
mod toasts;
mod widgets;

pub use app::{App, AppConfig, Connection, Phase};
pub use prefs::{Prefs, StartChoice, ThemeChoice};

use std::{
    fs,
    path::{Component, Path, PathBuf},
};

/// The project a bare `chronicle-gui` opens, by the CLI's rule: `--project`,
/// else the git top-level of the current directory, else the current
/// directory; always absolute.
pub fn resolve_project(flag: Option<&Path>) -> std::io::Result<String> {
    let cwd = std::env::current_dir()?;
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

/// `base.join(path)`, with `.` and `..` resolved lexically.
fn absolute(base: &Path, path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in base.join(path).components() {
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
            absolute(Path::new("/a/b"), Path::new("../c/./d")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(absolute(Path::new("/a"), Path::new("/x")), PathBuf::from("/x"));
    }
}
