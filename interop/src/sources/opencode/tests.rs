use std::time::Duration;

use rusqlite::params;

use super::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/opencode");

fn ids(s: &SourceSession) -> Vec<&str> {
    s.messages
        .iter()
        .map(|m| m.metadata.get(meta::ID).map_or("", String::as_str))
        .collect()
}

fn role(m: &Message) -> Role {
    Role::try_from(m.role).unwrap_or(Role::Unspecified)
}

#[test]
fn the_older_json_tree_reads_a_session_with_its_tool_call_usage_and_edits() {
    let mut sessions = Vec::new();
    let skipped = read_storage(
        &Path::new(FIXTURES).join("storage"),
        ParseOptions::default(),
        None,
        &mut |s| sessions.push(s),
    );
    let skipped = skipped.unwrap_or_else(|e| panic!("{e}"));
    let reasons: Vec<(String, u64, &str)> = skipped
        .iter()
        .map(|s| {
            (
                s.file.rsplit('/').next().unwrap_or("").to_owned(),
                s.line,
                s.reason.split(':').next().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("msg_03.json".into(), 0, "message msg_03"),
            ("prt_08.json".into(), 0, "part prt_08")
        ]
    );
    assert!(skipped.iter().all(|s| s.reason.contains("not JSON")));

    assert_eq!(sessions.len(), 1);
    let s = &sessions[0];
    assert_eq!(s.source_id, "ses_01");
    assert_eq!(s.title.as_deref(), Some("Fix checkout rounding"));
    assert_eq!(s.cwd.as_deref(), Some("/home/dev/src/shop"));
    assert_eq!(s.agent_version.as_deref(), Some("0.15.3"));
    assert_eq!(s.started_at_ms, Some(1_760_000_000_000));
    assert_eq!(ids(s), ["msg_01", "msg_02", "toolu_01"]);
    assert_eq!(s.messages[0].content, "Checkout totals are off by a cent.");
    assert_eq!(s.messages[0].model, "claude-sonnet-4-5");
    let reply = &s.messages[1];
    assert_eq!(role(reply), Role::Assistant);
    assert_eq!(reply.content, "Totals are summed in integer cents now.");
    assert_eq!(reply.reasoning, "Floats again: the total sums prices as floats.");
    assert_eq!(reply.edited_files, ["/home/dev/src/shop/src/total.ts"]);
    let u = reply.usage.unwrap_or_default();
    assert_eq!(
        (
            u.sent_tokens,
            u.received_tokens,
            u.cache_read_tokens,
            u.cache_write_tokens
        ),
        (12, 270, 8000, 1500)
    );
    assert!((u.cost - 0.0123).abs() < 1e-12);
    let tool = &s.messages[2];
    assert_eq!(role(tool), Role::Tool);
    assert_eq!(tool.created_at_ms, 1_760_000_003_000);
    let call = tool.tool.clone().unwrap_or_default();
    assert_eq!(
        (call.name.as_str(), call.call_id.as_str(), call.result_json.as_str()),
        ("edit", "toolu_01", "Edit applied.")
    );
    assert!(call.args_json.contains("\"newString\":\"addCents(a, b)\""));
    for m in &s.messages {
        assert_eq!(m.metadata.get(meta::AGENT).map(String::as_str), Some("opencode"));
        assert_eq!(m.metadata.get(meta::SESSION).map(String::as_str), Some("ses_01"));
        assert_eq!(m.metadata.get(meta::AGENT_VERSION).map(String::as_str), Some("0.15.3"));
    }
}

#[test]
fn an_export_file_reads_compaction_errors_and_attachments_and_reports_bad_messages_by_position() {
    let path = format!("{FIXTURES}/export-ses_compact.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_default()
        .replace("SMALLIMAGE", "iVBORw0KGgo=");
    let parsed = parse_export(&path, &text, ParseOptions::default());
    let skipped: Vec<(u64, &str)> = parsed.skipped.iter().map(|s| (s.line, s.reason.as_str())).collect();
    assert_eq!(
        skipped,
        [
            (2, "part prt_c5: unknown part type \"hologram\""),
            (3, "message : a message is not an object"),
            (6, "message msg_c5: unknown role \"system\""),
        ]
    );
    let s = &parsed.sessions[0];
    assert_eq!(
        ids(s),
        [
            "msg_c1",
            "msg_c1/context",
            "msg_c2",
            "call_9",
            "msg_c2/error",
            "msg_c3",
            "msg_c4",
            "msg_c6"
        ]
    );
    assert_eq!(
        s.messages[0].content,
        "Add coupon codes to checkout. Mockup attached.\n![mockup.png](data:image/png;base64,iVBORw0KGgo=)"
    );
    assert_eq!(
        s.messages[1].metadata.get(meta::KIND).map(String::as_str),
        Some("context")
    );
    assert!(
        s.messages[3]
            .tool
            .as_ref()
            .is_some_and(|t| t.is_error && t.result_json == "Tool execution aborted")
    );
    assert_eq!(s.messages[4].log_level, "error");
    assert_eq!(s.messages[4].content, "MessageAbortedError: The operation was aborted.");
    assert_eq!(role(&s.messages[5]), Role::System);
    assert_eq!(s.messages[5].content, "[conversation compacted automatically]");
    assert_eq!(
        s.messages[5].metadata.get(meta::KIND).map(String::as_str),
        Some("compaction")
    );
    assert_eq!(role(&s.messages[6]), Role::System);
    assert_eq!(
        s.messages[6].metadata.get(meta::KIND).map(String::as_str),
        Some("compaction-summary")
    );
    assert_eq!(s.messages[6].content, "We added a coupon field; tests were aborted.");
    assert_eq!(s.messages[7].content, "Now run the tests again.");

    let parsed = parse_export(&path, "{\"messages\": []}", ParseOptions::default());
    assert_eq!(parsed.sessions, vec![]);
    assert_eq!(
        (parsed.skipped[0].line, parsed.skipped[0].reason.as_str()),
        (0, "not an opencode export: no \"info\" object")
    );
}

/// A database with opencode 1.2's three tables (the columns this reader
/// uses, and some it does not), in WAL mode as opencode runs it.
fn database(dir: &Path) -> (PathBuf, rusqlite::Connection) {
    let path = dir.join(DB_FILE);
    let _ = std::fs::remove_file(&path);
    let conn = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, parent_id TEXT, slug TEXT NOT NULL,
           directory TEXT NOT NULL, title TEXT NOT NULL, version TEXT NOT NULL, share_url TEXT, revert TEXT,
           cost REAL NOT NULL DEFAULT 0, time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL,
           time_compacting INTEGER, time_archived INTEGER);
         CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, time_created INTEGER NOT NULL,
           time_updated INTEGER NOT NULL, data TEXT NOT NULL);
         CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT NOT NULL, session_id TEXT NOT NULL,
           time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    (path, conn)
}

fn session(
    conn: &rusqlite::Connection,
    id: &str,
    parent: Option<&str>,
    title: &str,
    created: i64,
    revert: Option<&str>,
) {
    conn.execute(
        "INSERT INTO session (id, project_id, parent_id, slug, directory, title, version, revert, time_created, time_updated)
         VALUES (?1, 'prj_1', ?2, 'calm-fox', '/home/dev/src/shop', ?3, '1.2.4', ?4, ?5, ?5)",
        params![id, parent, title, revert, created],
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

fn message(conn: &rusqlite::Connection, session: &str, id: &str, data: &str) {
    // A damaged row keeps the time its column says: after what came before.
    let created = serde_json::from_str::<Value>(data)
        .ok()
        .and_then(|v| v["time"]["created"].as_i64())
        .unwrap_or(1030);
    conn.execute(
        "INSERT INTO message (id, session_id, time_created, time_updated, data) VALUES (?1, ?2, ?3, ?3, ?4)",
        params![id, session, created, data],
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

fn part(conn: &rusqlite::Connection, session: &str, message: &str, id: &str, data: &str) {
    conn.execute(
        "INSERT INTO part (id, message_id, session_id, time_created, time_updated, data) VALUES (?1, ?2, ?3, 0, 0, ?4)",
        params![id, message, session, data],
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

fn user(created: i64) -> String {
    format!(
        r#"{{"role":"user","time":{{"created":{created}}},"agent":"build","model":{{"providerID":"anthropic","modelID":"claude-opus-4-1"}}}}"#
    )
}

fn assistant(created: i64) -> String {
    format!(
        r#"{{"role":"assistant","time":{{"created":{created}}},"parentID":"x","modelID":"claude-opus-4-1","providerID":"anthropic","mode":"build","agent":"build","path":{{"cwd":"/home/dev/src/shop","root":"/home/dev/src/shop"}},"cost":0.5,"tokens":{{"input":10,"output":20,"reasoning":0,"cache":{{"read":300,"write":40}}}}}}"#
    )
}

fn text(t: &str) -> String {
    serde_json::json!({"type": "text", "text": t}).to_string()
}

/// A plain session, its subagent, a fork of it, one with a pending revert,
/// and bad rows.
fn populate(conn: &rusqlite::Connection) {
    session(conn, "ses_a", None, "Speed up search", 1000, None);
    message(conn, "ses_a", "msg_a1", &user(1001));
    part(conn, "ses_a", "msg_a1", "prt_a1", &text("Search is slow."));
    message(conn, "ses_a", "msg_a2", &assistant(1002));
    part(conn, "ses_a", "msg_a2", "prt_a2", &text("Delegating the profiling."));
    part(
        conn,
        "ses_a",
        "msg_a2",
        "prt_a3",
        r#"{"type":"tool","callID":"call_task","tool":"task","state":{"status":"completed","input":{"description":"profile"},"output":"The index is rebuilt per query.","title":"profile","metadata":{"sessionId":"ses_b"},"time":{"start":1003,"end":1010}}}"#,
    );
    part(conn, "ses_a", "msg_a2", "prt_a4", r#"{"type":"quantum","spin":1}"#);
    message(conn, "ses_a", "msg_a3", &user(1020));
    part(conn, "ses_a", "msg_a3", "prt_a5", &text("Cache the index then."));
    message(conn, "ses_a", "msg_a4", "{not json");
    message(conn, "ses_a", "msg_a5", "[1, 2]");

    session(conn, "ses_b", Some("ses_a"), "profile (@general subagent)", 1003, None);
    message(conn, "ses_b", "msg_b1", &user(1004));
    part(conn, "ses_b", "msg_b1", "prt_b1", &text("Profile the search endpoint."));

    // The fork copies msg_a1 and msg_a2 (new ids, same info), then goes on.
    session(conn, "ses_f", None, "Speed up search (fork #1)", 2000, None);
    message(conn, "ses_f", "msg_f1", &user(1001));
    part(conn, "ses_f", "msg_f1", "prt_f1", &text("Search is slow."));
    message(conn, "ses_f", "msg_f2", &assistant(1002));
    part(conn, "ses_f", "msg_f2", "prt_f2", &text("Delegating the profiling."));
    message(conn, "ses_f", "msg_f3", &user(2001));
    part(conn, "ses_f", "msg_f3", "prt_f3", &text("Try a trigram index instead."));

    session(
        conn,
        "ses_r",
        None,
        "Rename the API",
        3000,
        Some(r#"{"messageID":"msg_r2","snapshot":"abc"}"#),
    );
    message(conn, "ses_r", "msg_r1", &user(3001));
    part(conn, "ses_r", "msg_r1", "prt_r1", &text("Rename getUser to fetchUser."));
    message(conn, "ses_r", "msg_r2", &assistant(3002));
    part(conn, "ses_r", "msg_r2", "prt_r2", &text("Renamed in 14 files."));
    let huge = format!("data:image/png;base64,{}", "iVBORw0K".repeat(400_000));
    part(
        conn,
        "ses_r",
        "msg_r2",
        "prt_r3",
        &serde_json::json!({"type": "file", "mime": "image/png", "filename": "screen.png", "url": huge}).to_string(),
    );
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chronicle-opencode-{name}-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn read(path: &Path, since: Option<i64>) -> (Vec<SourceSession>, Vec<Skipped>) {
    let mut sessions = Vec::new();
    let skipped = read_database(path, ParseOptions::default(), since, &mut |s| sessions.push(s))
        .unwrap_or_else(|e| panic!("{e}"));
    (sessions, skipped)
}

#[test]
fn the_database_reads_sessions_subagents_forks_and_reverts_and_reports_bad_rows_by_rowid() {
    let dir = temp_dir("all");
    let (path, conn) = database(&dir);
    populate(&conn);
    let (sessions, skipped) = read(&path, None);

    let reasons: Vec<(u64, &str)> = skipped.iter().map(|s| (s.line, s.reason.as_str())).collect();
    assert_eq!(reasons[0], (4, "part prt_a4: unknown part type \"quantum\""));
    assert_eq!(reasons[1].0, 4);
    assert!(
        reasons[1].1.starts_with("message msg_a4: data is not JSON: "),
        "{reasons:?}"
    );
    assert_eq!(reasons[2], (5, "message msg_a5: data is not a JSON object"));
    assert_eq!(reasons.len(), 3);
    assert!(skipped.iter().all(|s| s.file == path.display().to_string()));

    let by_id: HashMap<&str, &SourceSession> = sessions.iter().map(|s| (s.source_id.as_str(), s)).collect();
    let a = by_id["ses_a"];
    assert_eq!(ids(a), ["msg_a1", "msg_a2", "call_task", "msg_a3"]);
    assert_eq!(a.parent, None);

    let b = by_id["ses_b"];
    assert_eq!(
        b.parent,
        Some(SourceLink {
            kind: LinkKind::Subagent,
            parent_source_id: "ses_a".into(),
            at_message: Some("call_task".into())
        })
    );
    assert_eq!(ids(b), ["msg_b1"]);

    let f = by_id["ses_f"];
    assert_eq!(
        f.parent,
        Some(SourceLink {
            kind: LinkKind::Fork,
            parent_source_id: "ses_a".into(),
            at_message: Some("call_task".into())
        })
    );
    assert_eq!(
        ids(f),
        ["msg_f3"],
        "the copied messages are the parent's, imported once"
    );

    let r = by_id["ses_r"];
    assert_eq!(ids(r), ["msg_r1"]);
    let branch = by_id["ses_r/branch/msg_r2"];
    assert_eq!(
        branch.parent,
        Some(SourceLink {
            kind: LinkKind::Branch,
            parent_source_id: "ses_r".into(),
            at_message: Some("msg_r1".into())
        })
    );
    assert_eq!(
        branch.messages[0].content,
        "Renamed in 14 files.\nscreen.png: [image/png omitted: 2.3 MiB]"
    );

    // A follow's catch-up reads only what changed since.
    let (since, _) = read(&path, Some(2000));
    let names: Vec<&str> = since.iter().map(|s| s.source_id.as_str()).collect();
    assert_eq!(names, ["ses_f", "ses_r", "ses_r/branch/msg_r2"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reading_never_blocks_opencode_writing_the_database() {
    let dir = temp_dir("wal");
    let (path, writer) = database(&dir);
    populate(&writer);
    // opencode is in the middle of a write transaction.
    writer
        .execute_batch("BEGIN IMMEDIATE")
        .unwrap_or_else(|e| panic!("{e}"));
    message(&writer, "ses_a", "msg_a9", &user(1100));
    part(&writer, "ses_a", "msg_a9", "prt_a9", &text("One more thing."));
    let (during, _) = read(&path, None);
    let a = during
        .iter()
        .find(|s| s.source_id == "ses_a")
        .map(ids)
        .unwrap_or_default();
    assert!(!a.contains(&"msg_a9"), "an uncommitted write is not seen");
    // The reader holds nothing the writer waits for: its commit goes through.
    writer.execute_batch("COMMIT").unwrap_or_else(|e| panic!("{e}"));

    // While a read is open on the snapshot, opencode still writes.
    let mut db = Database::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let seen = db
        .snapshot(|db| {
            let first = db.messages("ses_a")?.len();
            writer.busy_timeout(Duration::from_millis(0)).map_err(|e| db.err(e))?;
            message(&writer, "ses_a", "msg_a10", &user(1200));
            Ok((first, db.messages("ses_a")?.len()))
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(seen.0, seen.1, "one session is read from one consistent snapshot");
    part(&writer, "ses_a", "msg_a10", "prt_a10", &text("And the tests."));
    let (after, _) = read(&path, None);
    let a = after
        .iter()
        .find(|s| s.source_id == "ses_a")
        .map(ids)
        .unwrap_or_default();
    assert!(a.contains(&"msg_a9") && a.contains(&"msg_a10"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_that_is_not_opencodes_database_is_refused_by_name() {
    let dir = temp_dir("notdb");
    let path = dir.join("other.db");
    let _ = std::fs::remove_file(&path);
    let conn = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
    conn.execute_batch("CREATE TABLE notes (body TEXT)")
        .unwrap_or_else(|e| panic!("{e}"));
    let err = read_database(&path, ParseOptions::default(), None, &mut |_| {})
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err,
        Some(format!(
            "{} is not opencode's database: it has no session table",
            path.display()
        ))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fork_titles_name_the_session_they_forked() {
    assert_eq!(fork_base("Fix it (fork #1)").as_deref(), Some("Fix it"));
    assert_eq!(fork_base("Fix it (fork #3)").as_deref(), Some("Fix it (fork #2)"));
    assert_eq!(fork_base("Fix it"), None);
    assert_eq!(fork_base("Fix it (fork #x)"), None);
    assert_eq!(fork_base("Fix it (fork #0)"), None);
}

#[test]
fn the_newest_message_is_read_once_it_has_parts_unless_it_ended_without() {
    let dir = temp_dir("parts-later");
    let (path, writer) = database(&dir);
    populate(&writer);
    let last_of_a = |sessions: &[SourceSession]| {
        let a = sessions.iter().find(|s| s.source_id == "ses_a").expect("ses_a");
        ids(a).last().map(|id| (*id).to_owned())
    };
    let (before, _) = read(&path, None);
    let last = last_of_a(&before);

    // opencode has written the row, not yet its text: not read as empty.
    message(&writer, "ses_a", "msg_a9", &user(1100));
    let (sessions, _) = read(&path, None);
    assert_eq!(last_of_a(&sessions), last);
    part(&writer, "ses_a", "msg_a9", "prt_a9", &text("One more thing."));
    let (sessions, _) = read(&path, None);
    assert_eq!(last_of_a(&sessions).as_deref(), Some("msg_a9"));

    // A reply that failed before any part is shown with its error.
    let failed = r#"{"role":"assistant","time":{"created":1101},"modelID":"m","providerID":"p","error":{"name":"APIError","data":{"message":"overloaded"}}}"#;
    message(&writer, "ses_a", "msg_a10", failed);
    let (sessions, _) = read(&path, None);
    let a = sessions.iter().find(|s| s.source_id == "ses_a").expect("ses_a");
    let shown = a.messages.last().expect("a message");
    assert_eq!(shown.content, "APIError: overloaded");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_export_keeps_a_last_message_without_parts() {
    // An export is finished: nothing will add the parts later.
    let export = serde_json::json!({
        "info": {"id": "ses_x", "title": "t", "directory": "/w", "time": {"created": 1000, "updated": 1001}},
        "messages": [{"info": {"id": "msg_x1", "sessionID": "ses_x", "role": "user", "time": {"created": 1000}}, "parts": []}]
    });
    let parsed = parse_export("x.json", &export.to_string(), ParseOptions::default());
    let ids: Vec<&str> = parsed.sessions.iter().flat_map(ids).collect();
    assert_eq!(ids, ["msg_x1"], "{parsed:?}");
}
