//! What the app remembers between runs: recent projects, the start-up
//! choice and the theme. Only UI state lives here — sessions belong to the
//! daemon. The file is small JSON, written whole through a temporary file
//! and a rename, so a crash never leaves half a file; an unreadable file
//! means defaults, never a refusal to start.

use std::{
    fs,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

/// How many recent projects the project bar offers.
const MAX_RECENT: usize = 10;

/// What to do when the opened project's working session is not empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartChoice {
    /// Offer "Load last session" and "Start with empty session".
    #[default]
    Ask,
    /// Keep the working session as it is.
    Last,
    /// Move it to the trash and start empty.
    Empty,
}

impl StartChoice {
    pub fn label(self) -> &'static str {
        match self {
            StartChoice::Ask => "Always ask",
            StartChoice::Last => "Always load last session",
            StartChoice::Empty => "Always start empty",
        }
    }
}

/// The window's theme: the system's, or one the user picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThemeChoice {
    #[default]
    System,
    Light,
    Dark,
}

/// Everything remembered, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    /// Most recent first.
    pub recent_projects: Vec<String>,
    pub start: StartChoice,
    pub theme: ThemeChoice,
}

impl Prefs {
    /// Reads `path`; a missing or damaged file gives the defaults.
    pub fn load(path: &Path) -> Prefs {
        fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Writes `path` atomically.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        chronicle_client::fs::write_atomic(path, &text)
    }

    /// Puts `project` first in the recent list.
    pub fn remember(&mut self, project: &str) {
        self.recent_projects.retain(|p| p != project);
        self.recent_projects.insert(0, project.to_owned());
        self.recent_projects.truncate(MAX_RECENT);
    }
}

/// `$XDG_CONFIG_HOME/chronicle/gui.json`, else `~/.config/chronicle/gui.json`.
pub fn default_path() -> Option<PathBuf> {
    let from_env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    from_env("XDG_CONFIG_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| from_env("HOME").map(|home| home.join(".config")))
        .map(|dir| dir.join("chronicle").join("gui.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_keeps_recent_unique() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sub").join("gui.json");
        let mut prefs = Prefs::default();
        prefs.remember("/a");
        prefs.remember("/b");
        prefs.remember("/a");
        prefs.start = StartChoice::Empty;
        prefs.save(&path).expect("save");
        let back = Prefs::load(&path);
        assert_eq!(back.recent_projects, vec!["/a", "/b"]);
        assert_eq!(back, prefs);
    }

    #[test]
    fn a_damaged_file_gives_defaults() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("gui.json");
        fs::write(&path, b"{not json").expect("write");
        assert_eq!(Prefs::load(&path), Prefs::default());
    }
}
