//! Following other agents' sessions (`FollowSource`) through the
//! `chronicle` CLI and the real daemon: Claude Code lines imported as the
//! agent appends them, a new session file picked up, the saved session
//! kept after the agent deletes its file, a follow resumed after a restart
//! that catches up on what was written meanwhile, `chronicle follow`
//! listing it and `--stop` ending it; and a follow whose daemon is killed
//! again and again while the agent writes, which ends with every line
//! imported exactly once; and a conversation followed line by line, through
//! two kills, that ends as an import of the finished file makes it. Codex
//! CLI rollouts followed as Codex appends
//! to them (a call and its later output, a partial last line, a token
//! count after the reply, a new rollout file) and an opencode database
//! written by another connection in WAL mode (a running tool call
//! completed in place), each message once.

use std::{
    fs,
    io::Write as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use chronicle_tests::{Daemon, Sandbox};
use serde_json::json;

use crate::common::{self, path_str, saved, sessions};
use crate::interop_sources::{opencode_db, opencode_message, opencode_text, opencode_user};

/// Long enough for any look of a loaded machine; the follow's own promise
/// (a second) is measured by the benchmark, not asserted here.
const PATIENCE: Duration = Duration::from_secs(30);

/// A Claude Code user line of session `sid`, numbered `n`.
fn claude_line(sid: &str, cwd: &str, n: u32, text: &str) -> String {
    let parent = if n == 0 {
        serde_json::Value::Null
    } else {
        json!(format!("{sid}-u{}", n - 1))
    };
    json!({"type": "user", "uuid": format!("{sid}-u{n}"), "parentUuid": parent, "sessionId": sid,
        "cwd": cwd, "timestamp": format!("2026-03-01T10:{:02}:{:02}Z", n / 60 % 60, n % 60),
        "message": {"role": "user", "content": text}})
    .to_string()
}

fn append(path: &Path, line: &str) {
    let mut out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open transcript");
    out.write_all(format!("{line}\n").as_bytes()).expect("append");
}

/// The message counts of `project`'s saved sessions, by name.
async fn counts(socket_client: &mut common::Client, project: &str) -> Vec<(String, u64)> {
    let mut listed: Vec<(String, u64)> = sessions(socket_client, project)
        .await
        .into_iter()
        .map(|s| (s.name, s.message_count))
        .collect();
    listed.sort();
    listed
}

/// Polls until `want` holds of the project's sessions, or panics with
/// what it saw.
async fn wait_for(
    client: &mut common::Client,
    project: &str,
    what: &str,
    want: impl Fn(&[(String, u64)]) -> bool,
) -> Vec<(String, u64)> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let now = counts(client, project).await;
        if want(&now) {
            return now;
        }
        assert!(Instant::now() < deadline, "{what}: still {now:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Appends `lines` to `file` from another thread, `gap` apart, as an agent
/// writes, while the daemon is killed and started again after each of
/// `pauses` (ms); returns the daemon running once every line is written.
async fn write_through_kills(
    sandbox: &Sandbox,
    mut daemon: Daemon,
    file: &Path,
    lines: Vec<String>,
    gap: Duration,
    pauses: &[u64],
) -> Daemon {
    let writer = {
        let file = file.to_path_buf();
        std::thread::spawn(move || {
            for line in &lines {
                append(&file, line);
                std::thread::sleep(gap);
            }
        })
    };
    for &pause in pauses {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        daemon.crash();
        daemon = sandbox.start();
    }
    writer.join().expect("writer");
    daemon
}

fn setup(sandbox: &Sandbox) -> (PathBuf, PathBuf, String) {
    let project = sandbox.project("shop");
    fs::create_dir_all(project.join(".git")).expect("git dir");
    let transcripts = sandbox.project("claude").join("projects/-shop");
    fs::create_dir_all(&transcripts).expect("transcripts dir");
    let cwd = path_str(&project);
    (project, transcripts, cwd)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_claude_follow_keeps_up_with_new_lines_and_files_keeps_deleted_ones_and_resumes_after_a_restart() {
    let sandbox = Sandbox::new();
    let mut daemon = sandbox.start();
    let mut client = daemon.client().await;
    let (project, transcripts, cwd) = setup(&sandbox);
    let first = transcripts.join("s-one.jsonl");
    append(&first, &claude_line("s-one", &cwd, 0, "Fix the login bug"));
    let root = path_str(&transcripts.join(".."));

    let started = sandbox
        .chronicle(&project, &["follow", "claude", "--path", &root])
        .ok()
        .stdout;
    assert!(started.contains("Following the claude sessions of"), "{started}");
    let project_arg = path_str(&project);
    wait_for(&mut client, &project_arg, "what the file held", |s| {
        s.len() == 1 && s[0].1 == 1
    })
    .await;

    // Claude writes on: each line arrives.
    append(&first, &claude_line("s-one", &cwd, 1, "and add a test"));
    wait_for(&mut client, &project_arg, "an appended line", |s| {
        s.len() == 1 && s[0].1 == 2
    })
    .await;

    // A new session starts in a new file.
    let second = transcripts.join("s-two.jsonl");
    append(&second, &claude_line("s-two", &cwd, 0, "Rename the module"));
    let now = wait_for(&mut client, &project_arg, "a new session file", |s| s.len() == 2).await;
    let first_name = now
        .iter()
        .find(|(n, _)| n.ends_with("Fix the login bug"))
        .map(|(n, _)| n.clone())
        .expect("the first session by its prompt");

    // Claude deletes its transcript: Chronicle's copy stays.
    fs::remove_file(&first).expect("delete");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let content = saved(&mut client, &project_arg, &first_name).await;
    assert_eq!(
        content.messages.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(),
        ["Fix the login bug", "and add a test"]
    );

    let listed = sandbox.chronicle(&project, &["follow", "--json"]).ok().stdout;
    let listed: serde_json::Value = serde_json::from_str(&listed).expect("json");
    assert_eq!(listed[0]["agent"], "claude", "{listed}");
    assert_eq!(listed[0]["project"], project_arg.as_str());

    // The daemon stops; Claude writes meanwhile; the follow catches up.
    drop(client);
    daemon.stop();
    append(&second, &claude_line("s-two", &cwd, 1, "and update the imports"));
    daemon = sandbox.start();
    let mut client = daemon.client().await;
    wait_for(&mut client, &project_arg, "the catch-up after a restart", |s| {
        s.iter().any(|(n, c)| n.ends_with("Rename the module") && *c == 2)
    })
    .await;

    let stopped = sandbox.chronicle(&project, &["follow", "claude", "--stop"]).ok().stdout;
    assert!(stopped.contains("Stopped following"), "{stopped}");
    append(&second, &claude_line("s-two", &cwd, 2, "not followed any more"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = counts(&mut client, &project_arg).await;
    assert!(
        after.iter().any(|(n, c)| n.ends_with("Rename the module") && *c == 2),
        "{after:?}"
    );
    let listed = sandbox.chronicle(&project, &["follow"]).ok().stdout;
    assert!(listed.contains("Nothing is followed"), "{listed}");
}

#[tokio::test]
async fn a_follow_whose_daemon_is_killed_again_and_again_imports_every_line_exactly_once() {
    let _heavy = common::heavy().await;
    let sandbox = Sandbox::new();
    let mut daemon = sandbox.start();
    let (project, transcripts, cwd) = setup(&sandbox);
    let file = transcripts.join("s-crash.jsonl");
    append(&file, &claude_line("s-crash", &cwd, 0, "line 0"));
    let root = path_str(&transcripts.join(".."));
    sandbox
        .chronicle(&project, &["follow", "claude", "--all", "--path", &root])
        .ok();

    const LINES: u32 = 400;
    let lines = (1..LINES).map(|n| claude_line("s-crash", &cwd, n, &format!("line {n}")));
    // Kill the daemon at uneven moments while the agent writes.
    daemon = write_through_kills(
        &sandbox,
        daemon,
        &file,
        lines.collect(),
        Duration::from_millis(4),
        &[170, 260, 90, 330, 140],
    )
    .await;
    let mut client = daemon.client().await;
    let project_arg = path_str(&project);
    let done = wait_for(&mut client, &project_arg, "every line", |s| {
        s.len() == 1 && s[0].1 >= u64::from(LINES)
    })
    .await;
    assert_eq!(done[0].1, u64::from(LINES), "no line twice");
    let content = saved(&mut client, &project_arg, &done[0].0).await;
    let texts: Vec<String> = content.messages.iter().map(|m| m.content.clone()).collect();
    let expected: Vec<String> = (0..LINES).map(|n| format!("line {n}")).collect();
    assert_eq!(texts, expected, "every line once, in order");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gemini_follow_updates_a_tool_call_when_gemini_writes_its_result() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = sandbox.project("weather");
    fs::create_dir_all(project.join(".git")).expect("git dir");
    let tmp = sandbox.project("gemini-tmp");
    fs::create_dir_all(tmp.join("weather/chats")).expect("chats");
    fs::write(tmp.join("weather/.project_root"), path_str(&project)).expect("project root");
    let file = tmp.join("weather/chats/session-2026-03-20T10-00-cc33dd44.jsonl");
    append(
        &file,
        r#"{"sessionId":"cc33dd44-0000-4000-8000-000000000001","projectHash":"weather","startTime":"2026-03-20T10:00:00.000Z","kind":"main"}"#,
    );
    append(
        &file,
        r#"{"id":"u1","timestamp":"2026-03-20T10:00:01.000Z","type":"user","content":[{"text":"Read the cache config"}]}"#,
    );
    let project_arg = path_str(&project);
    sandbox
        .chronicle(&project, &["follow", "gemini", "--path", &path_str(&tmp)])
        .ok();
    wait_for(&mut client, &project_arg, "the prompt", |s| s.len() == 1 && s[0].1 == 1).await;

    // The call starts, then Gemini writes its record again with the result.
    append(
        &file,
        r#"{"id":"g1","timestamp":"2026-03-20T10:00:03.000Z","type":"gemini","content":"","toolCalls":[{"id":"read-1","name":"read_file","args":{"absolute_path":"/w/cache.ts"},"status":"executing"}],"model":"gemini-2.5-pro"}"#,
    );
    let now = wait_for(&mut client, &project_arg, "the running call", |s| {
        s.len() == 1 && s[0].1 == 2
    })
    .await;
    append(
        &file,
        r#"{"id":"g1","timestamp":"2026-03-20T10:00:03.000Z","type":"gemini","content":"","toolCalls":[{"id":"read-1","name":"read_file","args":{"absolute_path":"/w/cache.ts"},"result":[{"functionResponse":{"id":"read-1","name":"read_file","response":{"output":"TTL_HOURS = 24"}}}],"status":"success"}],"model":"gemini-2.5-pro"}"#,
    );
    let deadline = Instant::now() + PATIENCE;
    loop {
        let content = saved(&mut client, &project_arg, &now[0].0).await;
        let result = content
            .messages
            .iter()
            .find_map(|m| m.tool.as_ref())
            .map(|t| t.result_json.clone())
            .unwrap_or_default();
        if result == "TTL_HOURS = 24" {
            assert_eq!(content.messages.len(), 2, "updated, not added");
            break;
        }
        assert!(Instant::now() < deadline, "the result never arrived: {result:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A Claude Code line of session `sid`: a user prompt, or (`reply` =
/// the API message id) one line of an assistant reply.
fn claude_turn(sid: &str, cwd: &str, uuid: &str, parent: &str, reply: Option<&str>, text: &str) -> String {
    let message = match reply {
        Some(id) => json!({"role": "assistant", "id": id, "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": text}]}),
        None => json!({"role": "user", "content": text}),
    };
    json!({"type": message["role"], "uuid": uuid, "parentUuid": parent, "sessionId": sid, "cwd": cwd,
        "timestamp": "2026-03-01T11:00:00Z", "message": message})
    .to_string()
}

/// A follow hands the store only what changed since its last batch: a
/// reply's later line updates the reply, and once the user has purged the
/// followed session, the next line brings it back whole rather than as a
/// session of that line alone.
#[tokio::test(flavor = "multi_thread")]
async fn a_followed_reply_grows_in_place_and_a_purged_session_comes_back_whole() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let (project, transcripts, cwd) = setup(&sandbox);
    let file = transcripts.join("s-grow.jsonl");
    append(&file, &claude_line("s-grow", &cwd, 0, "Fix the login bug"));
    append(
        &file,
        &claude_turn("s-grow", &cwd, "a1", "s-grow-u0", Some("msg_1"), "Looking."),
    );
    let project_arg = path_str(&project);
    sandbox
        .chronicle(
            &project,
            &["follow", "claude", "--path", &path_str(&transcripts.join(".."))],
        )
        .ok();
    let now = wait_for(&mut client, &project_arg, "the prompt and reply", |s| {
        s.len() == 1 && s[0].1 == 2
    })
    .await;
    let name = now[0].0.clone();
    let texts = |content: &chronicle_proto::v1::SessionContent| {
        content.messages.iter().map(|m| m.content.clone()).collect::<Vec<_>>()
    };

    append(
        &file,
        &claude_turn("s-grow", &cwd, "a2", "a1", Some("msg_1"), "Found it."),
    );
    wait_for_content(&mut client, &project_arg, &name, "the reply, grown", |content| {
        texts(content) == ["Fix the login bug", "Looking.\n\nFound it."]
    })
    .await;

    sandbox.chronicle(&project, &["rm", &name]).ok();
    sandbox.chronicle(&project, &["trash", "purge", "--all"]).ok();
    assert!(counts(&mut client, &project_arg).await.is_empty());
    append(&file, &claude_turn("s-grow", &cwd, "u1", "a2", None, "now add a test"));
    wait_for(&mut client, &project_arg, "the purged session, whole", |s| {
        s.len() == 1 && s[0].1 == 3
    })
    .await;
    let content = saved(&mut client, &project_arg, &name).await;
    assert_eq!(
        texts(&content),
        ["Fix the login bug", "Looking.\n\nFound it.", "now add a test"]
    );
}

/// The lines of `turns` turns of a Claude Code session as Claude writes
/// them: a prompt; a reply whose text and tool call are two lines of one
/// API message; a progress line while the tool runs; its result; and a
/// closing reply with its reasoning.
fn claude_turns(sid: &str, cwd: &str, turns: u32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut parent = serde_json::Value::Null;
    let mut push = |uuid: String, kind: &str, message: serde_json::Value| {
        lines.push(
            json!({"type": kind, "uuid": uuid, "parentUuid": parent, "sessionId": sid, "cwd": cwd,
                "timestamp": "2026-03-01T12:00:00Z", "message": message})
            .to_string(),
        );
        parent = json!(uuid);
    };
    for t in 0..turns {
        push(
            format!("p{t}"),
            "user",
            json!({"role": "user", "content": format!("Step {t}: check the logs")}),
        );
        let call = format!("toolu_{t}");
        let reply = |block: serde_json::Value| json!({"role": "assistant", "id": format!("msg_{t}a"), "model": "claude-sonnet-4-5", "content": [block]});
        push(
            format!("a{t}"),
            "assistant",
            reply(json!({"type": "text", "text": format!("Reading log {t}.")})),
        );
        let input = json!({"file_path": format!("/var/log/{t}.log")});
        push(
            format!("c{t}"),
            "assistant",
            reply(json!({"type": "tool_use", "id": call, "name": "Read", "input": input})),
        );
        push(format!("g{t}"), "progress", json!({"role": "progress"}));
        let result = json!({"type": "tool_result", "tool_use_id": call, "content": format!("{t} errors")});
        push(format!("r{t}"), "user", json!({"role": "user", "content": [result]}));
        let blocks = json!([{"type": "thinking", "thinking": format!("Log {t} is fine.")},
            {"type": "text", "text": format!("Log {t} has {t} errors.")}]);
        push(
            format!("b{t}"),
            "assistant",
            json!({"role": "assistant", "id": format!("msg_{t}b"),
            "model": "claude-sonnet-4-5", "content": blocks,
            "usage": {"input_tokens": 10, "output_tokens": t, "cache_read_input_tokens": 100}}),
        );
    }
    lines
}

/// What a reader of a session sees of each message.
fn seen(content: &chronicle_proto::v1::SessionContent) -> Vec<String> {
    content
        .messages
        .iter()
        .map(|m| {
            let tool = m.tool.as_ref().map(|t| (&t.name, &t.args_json, &t.result_json));
            format!(
                "{} {:?} {:?} {:?} {:?} {:?}",
                m.role, m.content, m.reasoning, tool, m.usage, m.model
            )
        })
        .collect()
}

/// A follow hands the store only what each write changed. Followed line
/// by line while Claude writes (a reply over two lines, a call answered
/// lines later) and through two kills of the daemon, the session ends
/// holding exactly what importing the finished file makes.
#[tokio::test]
async fn a_conversation_followed_as_it_is_written_ends_as_an_import_of_the_finished_file() {
    let _heavy = common::heavy().await;
    let sandbox = Sandbox::new();
    let mut daemon = sandbox.start();
    let (project, transcripts, cwd) = setup(&sandbox);
    let file = transcripts.join("s-live.jsonl");
    let lines = claude_turns("s-live", &cwd, 60);
    append(&file, &lines[0]);
    sandbox
        .chronicle(
            &project,
            &["follow", "claude", "--path", &path_str(&transcripts.join(".."))],
        )
        .ok();
    daemon = write_through_kills(
        &sandbox,
        daemon,
        &file,
        lines[1..].to_vec(),
        Duration::from_millis(3),
        &[300, 450],
    )
    .await;

    // The finished file, imported by another daemon.
    let fresh = Sandbox::new();
    let fresh_daemon = fresh.start();
    let other = fresh.project("fresh");
    fs::create_dir_all(other.join(".git")).expect("git dir");
    let other_arg = path_str(&other);
    fresh
        .chronicle(&other, &["import", "claude", &path_str(&file), "-C", &other_arg])
        .ok();
    let mut fresh_client = fresh_daemon.client().await;
    let imported = counts(&mut fresh_client, &other_arg).await;
    assert_eq!(imported.len(), 1, "{imported:?}");
    let expected = seen(&saved(&mut fresh_client, &other_arg, &imported[0].0).await);
    assert_eq!(
        expected.len(),
        60 * 4,
        "a prompt, a reply, its call and a closing reply a turn"
    );

    let mut client = daemon.client().await;
    let project_arg = path_str(&project);
    let now = wait_for(&mut client, &project_arg, "the followed session", |s| s.len() == 1).await;
    let what = "the followed session, as the import made it";
    wait_for_content(&mut client, &project_arg, &now[0].0, what, |c| seen(c) == expected).await;
    let sessions = counts(&mut client, &project_arg).await;
    assert_eq!(sessions.len(), 1, "{sessions:?}");
}

/// A Codex rollout line of `kind` (`session_meta`, `response_item`,
/// `event_msg`) written at second `at`.
fn codex_line(at: u32, kind: &str, payload: serde_json::Value) -> String {
    json!({"timestamp": format!("2026-03-05T10:00:{at:02}.000Z"), "type": kind, "payload": payload}).to_string()
}

fn codex_meta(id: &str, cwd: &str) -> String {
    codex_line(
        0,
        "session_meta",
        json!({"id": id, "timestamp": "2026-03-05T10:00:00.000Z", "cwd": cwd, "cli_version": "0.98.0",
            "originator": "codex_cli_rs"}),
    )
}

fn codex_message(at: u32, role: &str, text: &str) -> String {
    let part = if role == "user" { "input_text" } else { "output_text" };
    codex_line(
        at,
        "response_item",
        json!({"type": "message", "role": role, "content": [{"type": part, "text": text}]}),
    )
}

/// Polls the saved session `name` until `want` holds of it.
async fn wait_for_content(
    client: &mut common::Client,
    project: &str,
    name: &str,
    what: &str,
    want: impl Fn(&chronicle_proto::v1::SessionContent) -> bool,
) -> chronicle_proto::v1::SessionContent {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let content = saved(client, project, name).await;
        if want(&content) {
            return content;
        }
        assert!(Instant::now() < deadline, "{what}: still {:?}", content.messages);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A git project `shop` and a Codex home whose rollouts of `day`
/// (`YYYY/MM/DD`) go in the returned directory: (project, its path as a
/// string, the `sessions` dir to follow, the day's dir).
fn codex_setup(sandbox: &Sandbox, day: &str) -> (PathBuf, String, PathBuf, PathBuf) {
    let project = sandbox.project("shop");
    fs::create_dir_all(project.join(".git")).expect("git dir");
    let cwd = path_str(&project);
    let sessions_dir = sandbox.project("codex-home").join("sessions");
    let day = sessions_dir.join(day);
    fs::create_dir_all(&day).expect("day dir");
    (project, cwd, sessions_dir, day)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_codex_follow_takes_each_write_of_a_rollout_once_and_picks_up_a_new_rollout() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let (project, cwd, sessions_dir, day) = codex_setup(&sandbox, "2026/03/05");
    let first = day.join("rollout-2026-03-05T10-00-00-0199b000-0000-7000-8000-00000000000a.jsonl");
    append(&first, &codex_meta("0199b000-0000-7000-8000-00000000000a", &cwd));
    append(&first, &codex_message(1, "user", "Why do the tests fail?"));

    let started = sandbox
        .chronicle(&project, &["follow", "codex", "--path", &path_str(&sessions_dir)])
        .ok()
        .stdout;
    assert!(started.contains("Following the codex sessions of"), "{started}");
    let now = wait_for(&mut client, &cwd, "what the rollout held", |s| {
        s.len() == 1 && s[0].1 == 1
    })
    .await;
    let name = now[0].0.clone();
    assert!(name.ends_with("Why do the tests fail?"), "{name}");

    // Codex writes the call, and its output only when the command ends.
    append(
        &first,
        &codex_line(
            2,
            "response_item",
            json!({"type": "function_call", "name": "shell", "arguments": "{\"command\":[\"cargo\",\"test\"]}",
                "call_id": "call_1"}),
        ),
    );
    let running = wait_for_content(&mut client, &cwd, &name, "the call", |c| c.messages.len() == 2).await;
    let call = running.messages[1].tool.as_ref().expect("a tool message");
    assert_eq!((call.name.as_str(), call.result_json.as_str()), ("shell", ""));
    append(
        &first,
        &codex_line(
            3,
            "response_item",
            json!({"type": "function_call_output", "call_id": "call_1",
                "output": "{\"output\":\"test result: FAILED. 1 failed\",\"metadata\":{\"exit_code\":101}}"}),
        ),
    );
    let done = wait_for_content(&mut client, &cwd, &name, "the call's output", |c| {
        c.messages
            .iter()
            .filter_map(|m| m.tool.as_ref())
            .any(|t| t.result_json.contains("1 failed"))
    })
    .await;
    assert_eq!(done.messages.len(), 2, "the call is completed, not added again");

    // The reply is half written when the follow looks; a new rollout
    // (sorted after this one, so read after it in the same look) shows
    // the look happened.
    let reply = codex_message(4, "assistant", "The fixture path moved; the test reads the old one.");
    let (head, tail) = reply.split_at(reply.len() / 2);
    {
        let mut out = fs::OpenOptions::new().append(true).open(&first).expect("open");
        out.write_all(head.as_bytes()).expect("half a line");
    }
    let second = day.join("rollout-2026-03-05T11-00-00-0199b000-0000-7000-8000-00000000000b.jsonl");
    append(&second, &codex_meta("0199b000-0000-7000-8000-00000000000b", &cwd));
    append(&second, &codex_message(1, "user", "Add a changelog entry"));
    let both = wait_for(&mut client, &cwd, "the new rollout", |s| s.len() == 2).await;
    assert!(
        both.iter()
            .any(|(n, c)| n.ends_with("Add a changelog entry") && *c == 1),
        "{both:?}"
    );
    assert!(
        both.iter().any(|(n, c)| *n == name && *c == 2),
        "the half line waits: {both:?}"
    );

    // Codex finishes the line, then counts the turn's tokens.
    append(&first, tail);
    append(
        &first,
        &codex_line(
            5,
            "event_msg",
            json!({"type": "token_count", "info": {"total_token_usage": {"input_tokens": 1200,
                "cached_input_tokens": 1000, "output_tokens": 80, "total_tokens": 1280}}}),
        ),
    );
    let whole = wait_for_content(&mut client, &cwd, &name, "the finished reply and its usage", |c| {
        c.messages
            .last()
            .and_then(|m| m.usage.as_ref())
            .is_some_and(|u| u.received_tokens == 80)
    })
    .await;
    let roles: Vec<(i32, &str)> = whole.messages.iter().map(|m| (m.role, m.content.as_str())).collect();
    assert_eq!(
        roles,
        [
            (chronicle_proto::v1::Role::User as i32, "Why do the tests fail?"),
            (chronicle_proto::v1::Role::Tool as i32, ""),
            (
                chronicle_proto::v1::Role::Assistant as i32,
                "The fixture path moved; the test reads the old one."
            ),
        ],
        "every line once, in order"
    );
    let usage = whole.messages[2].usage.as_ref().expect("usage");
    assert_eq!((usage.sent_tokens, usage.cache_read_tokens), (200, 1000));
    let listed = counts(&mut client, &cwd).await;
    assert!(listed.iter().any(|(n, c)| *n == name && *c == 3), "{listed:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_followed_rollout_longer_than_a_part_is_stored_in_parts_and_each_message_once() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let (project, cwd, sessions_dir, day) = codex_setup(&sandbox, "2026/03/06");
    let rollout = day.join("rollout-2026-03-06T10-00-00-0199b000-0000-7000-8000-00000000000c.jsonl");
    // ~12 MiB of messages: more than one of the 8 MiB parts a follow
    // reads a file in.
    let turns = 1500u32;
    let mut text = codex_meta("0199b000-0000-7000-8000-00000000000c", &cwd);
    text.push('\n');
    for turn in 0..turns {
        let padding = "the fixture path moved again ".repeat(140);
        for (role, said) in [("user", "question"), ("assistant", "answer")] {
            text.push_str(&codex_message(turn % 60, role, &format!("{said} {turn}: {padding}")));
            text.push('\n');
        }
    }
    fs::write(&rollout, &text).expect("write the rollout");
    assert!(text.len() > 10 << 20, "{} bytes", text.len());

    sandbox
        .chronicle(&project, &["follow", "codex", "--path", &path_str(&sessions_dir)])
        .ok();
    let all = u64::from(turns) * 2;
    let now = wait_for(&mut client, &cwd, "the whole rollout", |s| {
        s.len() == 1 && s[0].1 == all
    })
    .await;
    let name = now[0].0.clone();
    append(&rollout, &codex_message(1, "user", "one more question"));
    wait_for(&mut client, &cwd, "the line written after", |s| {
        s.len() == 1 && s[0].1 == all + 1
    })
    .await;
    let content = wait_for_content(&mut client, &cwd, &name, "every message", |c| {
        c.messages.len() as u64 == all + 1
    })
    .await;
    let said: Vec<&str> = content
        .messages
        .iter()
        .map(|m| m.content.split(':').next().unwrap_or_default())
        .collect();
    let expected: Vec<String> = (0..turns)
        .flat_map(|t| [format!("question {t}"), format!("answer {t}")])
        .chain(["one more question".to_owned()])
        .collect();
    assert_eq!(said, expected, "each message once, in order, across the parts");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_opencode_follow_sees_rows_written_by_another_connection_in_wal_mode() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = sandbox.project("search");
    fs::create_dir_all(project.join(".git")).expect("git dir");
    let cwd = path_str(&project);
    let data = sandbox.project("opencode-data");
    // opencode keeps this connection open, in WAL mode, while it runs.
    let conn = opencode_db(&data.join("opencode.db"), &cwd);
    opencode_message(
        &conn,
        "msg_01",
        &opencode_user(1772359201000),
        &[("prt_01", opencode_text("Search is slow."))],
    );
    sandbox
        .chronicle(&project, &["follow", "opencode", "--path", &path_str(&data)])
        .ok();
    let now = wait_for(&mut client, &cwd, "the first message", |s| s.len() == 1 && s[0].1 == 1).await;
    let name = now[0].0.clone();
    assert!(name.ends_with("Speed up search"), "{name}");

    // The reply starts: a message row and a running tool call.
    let assistant = json!({"role": "assistant", "time": {"created": 1772359202000i64},
        "modelID": "claude-opus-4-1", "providerID": "anthropic", "mode": "build",
        "path": {"cwd": cwd, "root": cwd},
        "tokens": {"input": 10, "output": 20, "reasoning": 0, "cache": {"read": 300, "write": 40}}})
    .to_string();
    let tool = |state: serde_json::Value| {
        json!({"type": "tool", "callID": "call_1", "tool": "grep", "state": state}).to_string()
    };
    opencode_message(
        &conn,
        "msg_02",
        &assistant,
        &[(
            "prt_02",
            tool(json!({"status": "running", "input": {"pattern": "index"}, "time": {"start": 1772359203000i64}})),
        )],
    );
    let running = wait_for_content(&mut client, &cwd, &name, "the running call", |c| {
        c.messages.iter().any(|m| m.tool.is_some())
    })
    .await;
    let call = running.messages.iter().find_map(|m| m.tool.as_ref()).expect("call");
    assert_eq!((call.name.as_str(), call.result_json.as_str()), ("grep", ""));
    let before = running.messages.len();

    // The call ends (its part row updated) and the reply's text arrives.
    conn.execute(
        "UPDATE part SET data = ?1 WHERE id = 'prt_02'",
        [tool(
            json!({"status": "completed", "input": {"pattern": "index"}, "output": "src/search.rs:12",
                "title": "grep index", "time": {"start": 1772359203000i64, "end": 1772359203500i64}}),
        )],
    )
    .expect("complete the call");
    conn.execute(
        "INSERT INTO part (id, message_id, session_id, time_created, time_updated, data)
         VALUES ('prt_03', 'msg_02', 'ses_1', 0, 0, ?1)",
        [opencode_text("The index is rebuilt per query.")],
    )
    .expect("text part");
    conn.execute(
        "UPDATE session SET time_updated = time_updated + 1 WHERE id = 'ses_1'",
        [],
    )
    .expect("touch session");
    let done = wait_for_content(&mut client, &cwd, &name, "the finished reply", |c| {
        c.messages
            .iter()
            .any(|m| m.content == "The index is rebuilt per query.")
            && c.messages
                .iter()
                .filter_map(|m| m.tool.as_ref())
                .any(|t| t.result_json == "src/search.rs:12")
    })
    .await;
    assert_eq!(done.messages.len(), before, "updated in place, nothing added twice");
    let texts: Vec<&str> = done.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(
        texts,
        ["Search is slow.", "The index is rebuilt per query.", "grep index"]
    );

    // A later turn: one more row each.
    opencode_message(
        &conn,
        "msg_03",
        &opencode_user(1772359260000),
        &[("prt_04", opencode_text("Cache the index then."))],
    );
    let more = wait_for(&mut client, &cwd, "the next prompt", |s| s.len() == 1 && s[0].1 == 4).await;
    assert_eq!(more[0].0, name);
    let content = saved(&mut client, &cwd, &name).await;
    assert_eq!(
        content.messages.last().map(|m| m.content.as_str()),
        Some("Cache the index then.")
    );
    // opencode's connection was never blocked: it still writes.
    conn.execute(
        "UPDATE session SET title = 'Speed up search (done)' WHERE id = 'ses_1'",
        [],
    )
    .expect("opencode still writes");
}
