//! What every client shows the same way: which project a command means
//! (the CLI and the desktop app must agree, or one would open a different
//! working session than the other), and how usage reads.

use std::{
    fs, io,
    path::{Component, Path, PathBuf},
};

use crate::v1::Usage;

/// The project root a client works on: `flag` when given, else the git
/// top-level of the current directory, else the current directory; always
/// absolute, symlinks resolved when the path exists.
pub fn resolve_project(flag: Option<&Path>) -> io::Result<String> {
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
pub fn absolute(base: &Path, path: &Path) -> PathBuf {
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

/// "1.2k sent · 300 received · $0.0120", or empty without usage.
pub fn usage_line(usage: Option<&Usage>) -> String {
    let Some(u) = usage else { return String::new() };
    let mut parts = Vec::new();
    if u.sent_tokens > 0 || u.received_tokens > 0 {
        parts.push(format!(
            "{} sent · {} received",
            tokens(u.sent_tokens),
            tokens(u.received_tokens)
        ));
    }
    if u.cost > 0.0 {
        parts.push(format!("${:.4}", u.cost));
    }
    parts.join(" · ")
}

fn tokens(n: u64) -> String {
    if n >= 10_000 {
        format!("{:.0}k", n as f64 / 1000.0)
    } else if n >= 1000 {
        format!("{:.1}k", n as f64 / 1000.0)
    } else {
        n.to_string()
    }
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
    }

    #[test]
    fn usage_reads_in_thousands() {
        let usage = Usage {
            sent_tokens: 1234,
            received_tokens: 300,
            cost: 0.012,
            ..Usage::default()
        };
        assert_eq!(usage_line(Some(&usage)), "1.2k sent · 300 received · $0.0120");
        assert_eq!(usage_line(None), "");
    }
}
