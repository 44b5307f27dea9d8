//! Following other agents' sessions (`FollowSource`) through the
//! `chronicle` CLI and the real daemon: Claude Code lines imported as the
//! agent appends them, a new session file picked up, the saved session
//! kept after the agent deletes its file, a follow resumed after a restart
//! that catches up on what was written meanwhile, `chronicle follow`
//! listing it and `--stop` ending it; and a follow whose daemon is killed
//! again and again while the agent writes, which ends with every line
//! imported exactly once.

use std::{
    fs,
    io::Write as _,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use chronicle_tests::Sandbox;
use serde_json::json;

use crate::common::{self, path_str, saved, sessions};

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
    let writer = {
        let file = file.clone();
        let cwd = cwd.clone();
        std::thread::spawn(move || {
            for n in 1..LINES {
                append(&file, &claude_line("s-crash", &cwd, n, &format!("line {n}")));
                std::thread::sleep(Duration::from_millis(4));
            }
        })
    };
    // Kill the daemon at uneven moments while the agent writes.
    for pause in [170u64, 260, 90, 330, 140] {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        daemon.crash();
        daemon = sandbox.start();
    }
    writer.join().expect("writer");
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
