//! opencode 1.2+'s SQLite database, read-only: opened without taking any
//! lock a writer waits on (opencode keeps it in WAL mode and may be
//! writing it), each session read in one short read transaction.

use std::{path::Path, time::Duration};

use rusqlite::{OpenFlags, OptionalExtension, types::ValueRef};
use serde_json::{Map, Value};

use super::{Loc, OpencodeError, Records, Row, parse_object};

/// opencode.db, opened read-only.
pub(super) struct Database {
    conn: rusqlite::Connection,
    path: String,
}

impl Database {
    /// The `(rowid, id, data)` rows `sql` selects for `key`, each located
    /// by its rowid so a bad one is reported where it is.
    fn rows(&mut self, sql: &str, key: &str) -> Result<Vec<Row>, OpencodeError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([key], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (rowid, id, data) = row.map_err(|e| self.err(e))?;
            let loc = Loc {
                file: self.path.clone(),
                line: rowid.max(0) as u64,
            };
            out.push(Row {
                id,
                loc,
                data: parse_object(&data),
            });
        }
        Ok(out)
    }

    pub(super) fn open(path: &Path) -> Result<Self, OpencodeError> {
        let name = path.display().to_string();
        let err = |source| OpencodeError::Sqlite {
            path: name.clone(),
            source,
        };
        // Read-only, and never `immutable`: opencode's latest writes may
        // still be in the WAL, which a reader must see.
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = rusqlite::Connection::open_with_flags(path, flags).map_err(err)?;
        // A writer's checkpoint can hold the WAL index briefly; wait a
        // little for it rather than fail.
        conn.busy_timeout(Duration::from_millis(500)).map_err(err)?;
        for table in ["session", "message", "part"] {
            let found: Option<String> = conn
                .query_row(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?1",
                    [table],
                    |r| r.get(0),
                )
                .optional()
                .map_err(err)?;
            if found.is_none() {
                return Err(OpencodeError::NotOpencode { path: name, table });
            }
        }
        Ok(Database { conn, path: name })
    }

    pub(super) fn err(&self, source: rusqlite::Error) -> OpencodeError {
        OpencodeError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// A `session` row as the info object the tree and exports hold.
    fn session_rows(&self, filter: &str, arg: rusqlite::types::Value) -> Result<Vec<Row>, OpencodeError> {
        let sql = format!("SELECT rowid, * FROM session WHERE {filter} ORDER BY time_created, id");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let names: Vec<String> = stmt.column_names().into_iter().map(str::to_owned).collect();
        let mut rows = stmt.query([arg]).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.err(e))? {
            let mut columns = Map::new();
            let mut rowid = 0;
            for (i, name) in names.iter().enumerate() {
                let value = match row.get_ref(i).map_err(|e| self.err(e))? {
                    ValueRef::Null => Value::Null,
                    ValueRef::Integer(n) => Value::from(n),
                    ValueRef::Real(f) => Value::from(f),
                    ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
                    ValueRef::Blob(_) => Value::Null,
                };
                if i == 0 {
                    rowid = value.as_u64().unwrap_or(0);
                } else {
                    columns.insert(name.clone(), value);
                }
            }
            let id = columns.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
            let loc = Loc {
                file: self.path.clone(),
                line: rowid,
            };
            out.push(Row {
                id,
                loc,
                data: Ok(session_info(columns)),
            });
        }
        Ok(out)
    }
}

/// The `session` table's columns in the shape of a session's info JSON.
fn session_info(mut c: Map<String, Value>) -> Map<String, Value> {
    let mut info = Map::new();
    for (column, key) in [
        ("id", "id"),
        ("directory", "directory"),
        ("parent_id", "parentID"),
        ("title", "title"),
        ("version", "version"),
    ] {
        if let Some(v) = c.remove(column).filter(|v| !v.is_null()) {
            info.insert(key.into(), v);
        }
    }
    let mut time = Map::new();
    for (column, key) in [("time_created", "created"), ("time_updated", "updated")] {
        if let Some(v) = c.remove(column).filter(|v| !v.is_null()) {
            time.insert(key.into(), v);
        }
    }
    info.insert("time".into(), Value::Object(time));
    // JSON columns: a pending revert, and (newer versions) the fork origin.
    for column in ["revert", "fork"] {
        if let Some(Value::String(text)) = c.remove(column)
            && let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(&text)
        {
            info.insert(column.into(), v);
        }
    }
    info
}

impl Records for Database {
    fn sessions(&mut self, since_ms: Option<i64>) -> Result<Vec<Row>, OpencodeError> {
        self.session_rows("time_updated >= ?1", since_ms.unwrap_or(i64::MIN).into())
    }

    fn messages(&mut self, session: &str) -> Result<Vec<Row>, OpencodeError> {
        self.rows(
            "SELECT rowid, id, data FROM message WHERE session_id = ?1 ORDER BY time_created, id",
            session,
        )
    }

    fn parts(&mut self, _session: &str, message: &str) -> Result<Vec<Row>, OpencodeError> {
        self.rows(
            "SELECT rowid, id, data FROM part WHERE message_id = ?1 ORDER BY id",
            message,
        )
    }

    fn snapshot<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, OpencodeError>) -> Result<T, OpencodeError> {
        // A deferred read transaction: one consistent view of the session,
        // holding only a WAL read mark, which no writer waits on.
        self.conn.execute_batch("BEGIN DEFERRED").map_err(|e| self.err(e))?;
        let result = f(self);
        let end = self.conn.execute_batch("COMMIT").map_err(|e| self.err(e));
        let value = result?;
        end?;
        Ok(value)
    }
}
