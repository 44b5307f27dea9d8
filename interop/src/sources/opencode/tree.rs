//! The JSON tree of opencode before 1.2: `session/<project>/<id>.json`,
//! `message/<session>/<id>.json`, `part/<message>/<id>.json`.

use std::path::{Path, PathBuf};

use super::{Loc, OpencodeError, Records, Row, int_at, parse_object};

/// The older JSON tree.
pub(super) struct Tree {
    pub(super) root: PathBuf,
}

impl Tree {
    /// The `*.json` files of a directory, by name; a missing one is empty.
    fn files(&self, dir: &Path) -> Result<Vec<PathBuf>, OpencodeError> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(OpencodeError::Io {
                    path: dir.display().to_string(),
                    source,
                });
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        Ok(files)
    }

    fn row(path: &Path) -> Row {
        let id = path.file_stem().and_then(|s| s.to_str()).unwrap_or("").to_owned();
        let loc = Loc {
            file: path.display().to_string(),
            line: 0,
        };
        let data = std::fs::read_to_string(path)
            .map_err(|e| format!("unreadable: {e}"))
            .and_then(|t| parse_object(&t));
        Row { id, loc, data }
    }
}

impl Records for Tree {
    fn sessions(&mut self, since_ms: Option<i64>) -> Result<Vec<Row>, OpencodeError> {
        let mut out = Vec::new();
        let session_dir = self.root.join("session");
        let projects = match std::fs::read_dir(&session_dir) {
            Ok(e) => e,
            Err(source) => {
                return Err(OpencodeError::Io {
                    path: session_dir.display().to_string(),
                    source,
                });
            }
        };
        let mut dirs: Vec<PathBuf> = projects
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect();
        dirs.sort();
        for dir in dirs {
            for file in self.files(&dir)? {
                let row = Tree::row(&file);
                let updated = row.data.as_ref().ok().and_then(|d| int_at(d, &["time", "updated"]));
                if since_ms.is_some_and(|s| updated.is_some_and(|u| u < s)) {
                    continue;
                }
                out.push(row);
            }
        }
        out.sort_by_key(|r| {
            (
                r.data
                    .as_ref()
                    .ok()
                    .and_then(|d| int_at(d, &["time", "created"]))
                    .unwrap_or(0),
                r.id.clone(),
            )
        });
        Ok(out)
    }

    fn messages(&mut self, session: &str) -> Result<Vec<Row>, OpencodeError> {
        let mut rows: Vec<Row> = self
            .files(&self.root.join("message").join(session))?
            .iter()
            .map(|p| Tree::row(p))
            .collect();
        rows.sort_by_key(|r| {
            (
                r.data
                    .as_ref()
                    .ok()
                    .and_then(|d| int_at(d, &["time", "created"]))
                    .unwrap_or(0),
                r.id.clone(),
            )
        });
        Ok(rows)
    }

    fn parts(&mut self, _session: &str, message: &str) -> Result<Vec<Row>, OpencodeError> {
        Ok(self
            .files(&self.root.join("part").join(message))?
            .iter()
            .map(|p| Tree::row(p))
            .collect())
    }
}
