//! Other agents' sessions through the `chronicle` CLI and the real daemon
//! (`ImportSource`): Claude Code transcripts (with a subagent file) and
//! Codex CLI rollouts (with a fork) from the hand-made fixtures of
//! `interop/tests/fixtures`, imported into the project their working
//! directory names; imported again without duplicates; new lines added
//! on a later import; bad lines reported with file and line; a partial
//! last line waited for; `-C`, `--dry-run` and `--json`; a FIFO refused;
//! a rollout longer than an import part stored as one session, once, and
//! a Claude transcript longer than its parser keeps read back in parts,
//! with its abandoned branch.
//! opencode's SQLite database (made here in opencode's schema, kept open
//! in WAL mode as opencode keeps it) and Gemini CLI recordings (written
//! here, `.project_root` naming the project) from their default places,
//! with bad rows and lines reported and `--discover` counting them.

use std::{fs, io::Write as _, path::Path};

use chronicle_tests::Sandbox;
use serde_json::Value;

use crate::common::{self, path_str, saved, sessions};
use crate::daemon_search::{request, search_until};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/tests/fixtures");
const WRITTEN_CWD: &str = "/home/ana/src/shop";
const SID: &str = "5b1f0c1e-1111-4a5b-9c2d-000000000001";

/// A Claude config dir holding the fixtures, their cwd moved to `cwd`.
fn claude_home(root: &Path, cwd: &str) -> std::path::PathBuf {
    let dir = root.join("claude/projects/-work-shop");
    let subagents = dir.join(SID).join("subagents");
    fs::create_dir_all(&subagents).expect("mkdir");
    let read = |name: &str| {
        fs::read_to_string(format!("{FIXTURES}/claude/{name}"))
            .expect("fixture")
            .replace(WRITTEN_CWD, cwd)
    };
    fs::write(dir.join(format!("{SID}.jsonl")), read("session.jsonl")).expect("write");
    fs::write(subagents.join("agent-ab12.jsonl"), read("agent-ab12.jsonl")).expect("write");
    root.join("claude")
}

/// An import's `--json` that found nothing new and nothing changed.
fn assert_nothing_new(summary: &Value) {
    let counts = [
        "sessions_imported",
        "sessions_updated",
        "messages_imported",
        "messages_updated",
    ]
    .map(|k| &summary[k]);
    assert_eq!(counts, [&Value::from(0); 4], "{summary}");
}

fn json(run: chronicle_tests::CliRun) -> Value {
    let run = run.ok();
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", run.stdout))
}

#[tokio::test]
async fn claude_sessions_import_once_into_the_git_project_and_again_only_what_is_new() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = sandbox.project("shop");
    fs::create_dir_all(project.join(".git")).expect("git dir");
    fs::create_dir_all(project.join("web")).expect("subdir");
    let home = claude_home(&sandbox.project("src"), &format!("{}/web", path_str(&project)));
    let cwd = sandbox.project("elsewhere");
    let home_arg = path_str(&home);

    let first = json(sandbox.chronicle(&cwd, &["import", "claude", &home_arg, "--json"]));
    assert_eq!(first["sessions_imported"], 4, "{first}");
    assert_eq!(first["sessions_updated"], 0);
    assert_eq!(first["messages_imported"], 16);
    assert_eq!(first["projects"], serde_json::json!([path_str(&project)]));
    let skipped: Vec<(String, u64)> = first["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| {
            (
                s["file"].as_str().unwrap_or_default().to_owned(),
                s["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(skipped.len(), 3, "{first}");
    assert!(skipped.iter().all(|(f, _)| f.ends_with(&format!("{SID}.jsonl"))));
    assert_eq!(skipped.iter().map(|(_, l)| *l).collect::<Vec<_>>(), [9, 10, 11]);

    let listed = sessions(&mut client, &path_str(&project)).await;
    assert_eq!(listed.len(), 4);
    let main = listed
        .iter()
        .find(|s| s.name.ends_with("Fix login and add rate limiting"))
        .unwrap_or_else(|| panic!("no main session among {listed:?}"));
    assert!(main.name.starts_with("claude 2026-03-0"), "{}", main.name);
    assert_eq!(main.message_count, 10);
    assert!(listed.iter().any(|s| s.name.ends_with("(branch)")));
    assert_eq!(listed.iter().filter(|s| s.name.ends_with("(subagent)")).count(), 2);
    let content = saved(&mut client, &path_str(&project), &main.name).await;
    assert_eq!(content.messages[0].content, "Fix the login bug in auth.py");
    assert_eq!(content.messages[0].metadata["source.agent"], "claude");
    let read = content.messages[2].tool.as_ref().expect("tool call");
    assert_eq!(read.result_json, "def login(): return False");

    // Again: nothing new, nothing added.
    let again = json(sandbox.chronicle(&cwd, &["import", "claude", &home_arg, "--json"]));
    assert_eq!(
        (again["sessions_imported"].as_u64(), again["messages_imported"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(sessions(&mut client, &path_str(&project)).await.len(), 4);

    // Claude writes on: a reply and a half-written line.
    let file = home.join(format!("projects/-work-shop/{SID}.jsonl"));
    let mut out = fs::OpenOptions::new().append(true).open(&file).expect("open");
    let line = serde_json::json!({"type": "user", "uuid": "u9", "parentUuid": "u7", "sessionId": SID,
        "cwd": format!("{}/web", path_str(&project)), "timestamp": "2026-03-01T10:01:00Z",
        "message": {"role": "user", "content": "One more thing"}});
    writeln!(out, "{line}").expect("append");
    write!(out, "{{\"type\": \"assistant\", \"uuid\": \"a9\", \"parentUu").expect("append partial");
    drop(out);
    let later = json(sandbox.chronicle(&cwd, &["import", "claude", &home_arg, "--json"]));
    assert_eq!(later["sessions_updated"], 1, "{later}");
    assert_eq!(later["messages_imported"], 1);
    assert_eq!(
        later["skipped"].as_array().map(Vec::len),
        Some(3),
        "the partial line is waited for: {later}"
    );
    let content = saved(&mut client, &path_str(&project), &main.name).await;
    assert_eq!(
        content.messages.last().map(|m| m.content.as_str()),
        Some("One more thing")
    );
}

#[tokio::test]
async fn dry_run_counts_and_changes_nothing_and_minus_c_picks_the_project() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let codex = sandbox.project("codex-home");
    fs::create_dir_all(codex.join("sessions/2026/03/02")).expect("mkdir");
    for entry in fs::read_dir(format!("{FIXTURES}/codex")).expect("fixtures") {
        let entry = entry.expect("entry");
        fs::copy(entry.path(), codex.join("sessions/2026/03/02").join(entry.file_name())).expect("copy");
    }
    let cwd = sandbox.project("here");
    let dir = path_str(&codex);

    let dry = json(sandbox.chronicle(&cwd, &["import", "codex", &dir, "--dry-run", "--json"]));
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["sessions_imported"], 2, "{dry}");
    assert_eq!(common::project_count(&mut client).await, 0, "a dry run writes nothing");

    let target = sandbox.project("target");
    let target_arg = path_str(&target);
    let run = json(sandbox.chronicle(&cwd, &["-C", &target_arg, "import", "codex", &dir, "--json"]));
    assert_eq!(run["projects"], serde_json::json!([target_arg]), "{run}");
    assert_eq!(run["sessions_imported"], 2);
    let listed = sessions(&mut client, &target_arg).await;
    let main = listed
        .iter()
        .find(|s| s.name.ends_with("Failing tests"))
        .expect("named from session_index");
    assert_eq!(main.message_count, 11);
    let fork = listed.iter().find(|s| s.name.ends_with("(fork)")).expect("fork");
    assert_eq!(fork.message_count, 2, "the copied history is imported once");
    assert_eq!(run["skipped"].as_array().map(Vec::len), Some(3));

    // The human form says where to look.
    let again = sandbox
        .chronicle(&cwd, &["-C", &target_arg, "import", "codex", &dir])
        .ok();
    assert!(
        again
            .stdout
            .starts_with("Imported 0 messages into 0 new sessions, from "),
        "{}",
        again.stdout
    );
}

/// A short Codex rollout: its meta line (session `id`, begun at `started`)
/// and one prompt and reply.
fn short_rollout(id: &str, started: &str, prompt: &str) -> String {
    let line = |kind: &str, payload: String| {
        format!(r#"{{"timestamp":"{started}","type":"{kind}","payload":{payload}}}"#) + "\n"
    };
    line(
        "session_meta",
        format!(r#"{{"id":"{id}","timestamp":"{started}","cwd":"/elsewhere","cli_version":"0.98.0"}}"#),
    ) + &line(
        "response_item",
        format!(r#"{{"type":"message","role":"user","content":[{{"type":"input_text","text":"{prompt}"}}]}}"#),
    ) + &line(
        "response_item",
        r#"{"type":"message","role":"assistant","content":[{"type":"output_text","text":"done"}]}"#.to_owned(),
    )
}

#[tokio::test]
async fn working_loads_the_newest_session_imported_into_the_working_session() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let dir = sandbox.project("codex-working");
    fs::write(
        dir.join("rollout-2026-03-01T09-00-00-older.jsonl"),
        short_rollout("older", "2026-03-01T09:00:00Z", "the older question"),
    )
    .expect("write");
    fs::write(
        dir.join("rollout-2026-03-02T09-00-00-newer.jsonl"),
        short_rollout("newer", "2026-03-02T09:00:00Z", "the newer question"),
    )
    .expect("write");
    let cwd = sandbox.project("here");
    let target = path_str(&sandbox.project("target"));
    common::append_message(
        &mut client,
        &target,
        common::message(chronicle_proto::v1::Role::User, "what I was typing"),
    )
    .await;
    let dir_arg = path_str(&dir);
    let import = |extra: &[&str]| {
        let mut args = vec!["-C", target.as_str(), "import", "codex", dir_arg.as_str(), "--working"];
        args.extend_from_slice(extra);
        sandbox.chronicle(&cwd, &args)
    };

    // A dry run names nothing and loads nothing.
    let dry = json(import(&["--dry-run", "--json"]));
    assert_eq!(dry["working"], Value::Null, "{dry}");
    assert_eq!(common::working(&mut client, &target).await.messages.len(), 1);

    let run = json(import(&["--json"]));
    assert_eq!(run["sessions_imported"], 2, "{run}");
    let newest = run["sessions"][0]["name"].as_str().expect("a name").to_owned();
    assert!(newest.ends_with("the newer question"), "{run}");
    assert_eq!(run["working"]["name"], newest.as_str(), "{run}");
    assert_eq!(run["working"]["project"], target.as_str(), "{run}");
    let working = common::working(&mut client, &target).await;
    let said: Vec<&str> = working.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(said, ["the newer question", "done"]);
    // What it replaced is in the trash, restorable.
    let trash = common::trash(&mut client, &target).await;
    assert!(
        trash
            .iter()
            .any(|e| e.reason == "replaced-by-load" && e.message_count == 1),
        "{trash:?}"
    );
    assert_eq!(
        sessions(&mut client, &target).await.len(),
        2,
        "both stay saved sessions"
    );

    // Nothing new: the working session is left as it is, and it says so.
    let again = import(&[]).ok().stdout;
    assert!(again.contains("the working session is unchanged"), "{again}");
    assert_eq!(common::working(&mut client, &target).await.messages.len(), 2);
}

/// A Codex rollout of `turns` turns (a prompt, two calls answered after
/// both were made, a reply of ~6 KiB), numbered from `from`.
fn long_rollout(from: usize, turns: usize) -> String {
    let mut out = String::new();
    if from == 0 {
        out.push_str(r#"{"timestamp":"2026-03-04T10:00:00Z","type":"session_meta","payload":{"id":"long-1","cwd":"/p","cli_version":"0.98.0"}}"#);
        out.push('\n');
    }
    let filler = "The parser reads this line and the store keeps it. ".repeat(120);
    for turn in from..from + turns {
        let line = |payload: String| {
            format!(r#"{{"timestamp":"2026-03-04T10:00:01Z","type":"response_item","payload":{payload}}}"#) + "\n"
        };
        out += &line(format!(
            r#"{{"type":"message","role":"user","content":[{{"type":"input_text","text":"turn {turn}"}}]}}"#
        ));
        for call in ["a", "b"] {
            out += &line(format!(
                r#"{{"type":"function_call","name":"shell","arguments":"{{\"cmd\":\"{call}\"}}","call_id":"c{turn}{call}"}}"#
            ));
        }
        for call in ["a", "b"] {
            out += &line(format!(
                r#"{{"type":"function_call_output","call_id":"c{turn}{call}","output":"{call} of turn {turn}"}}"#
            ));
        }
        out += &line(format!(
            r#"{{"type":"message","role":"assistant","content":[{{"type":"output_text","text":"reply {turn}: {filler}"}}]}}"#
        ));
    }
    out
}

#[tokio::test]
async fn a_long_rollout_goes_in_parts_and_is_one_whole_session_imported_once() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let dir = sandbox.project("codex-long");
    let file = dir.join("rollout-2026-03-04T10-00-00-long-1.jsonl");
    // ~20 MiB: more than four of the import's 4 MiB parts.
    let turns = 3000;
    fs::write(&file, long_rollout(0, turns)).expect("write");
    assert!(fs::metadata(&file).expect("size").len() > 18 << 20);
    let cwd = sandbox.project("here");
    let target = path_str(&sandbox.project("target"));
    let import = |extra: &[&str]| {
        let mut args = vec!["-C", target.as_str(), "import", "codex", "--json"];
        args.push(file.to_str().expect("utf-8 path"));
        args.extend_from_slice(extra);
        json(sandbox.chronicle(&cwd, &args))
    };

    let first = import(&[]);
    assert_eq!(first["sessions_imported"], 1, "{first}");
    assert_eq!(first["sessions_updated"], 0, "{first}");
    assert_eq!(first["messages_imported"], 4 * turns, "{first}");
    let listed = sessions(&mut client, &target).await;
    assert_eq!(listed.len(), 1, "one session, not one per part");
    let content = saved(&mut client, &target, &listed[0].name).await;
    assert_eq!(content.messages.len(), 4 * turns);
    let tools: Vec<_> = content.messages.iter().filter_map(|m| m.tool.as_ref()).collect();
    assert_eq!(tools.len(), 2 * turns);
    for (i, tool) in tools.iter().enumerate() {
        let (turn, call) = (i / 2, if i % 2 == 0 { "a" } else { "b" });
        assert_eq!(tool.result_json, format!("{call} of turn {turn}"), "call {i}");
    }
    let last = content.messages.last().expect("messages");
    assert!(last.content.starts_with(&format!("reply {}:", turns - 1)));
    // Every part reaches the search index, the last one too.
    let found = |response: &chronicle_proto::v1::SearchResponse, text: &str| {
        response.hits.iter().any(|hit| hit.snippet.contains(text))
    };
    search_until(&mut client, request("\"turn 2999\"", &target), |r| {
        found(r, "turn 2999")
    })
    .await;

    let again = import(&[]);
    assert_nothing_new(&again);

    let mut more = fs::OpenOptions::new().append(true).open(&file).expect("open");
    more.write_all(long_rollout(turns, 5).as_bytes()).expect("append");
    let grown = import(&[]);
    assert_eq!(grown["sessions_updated"], 1, "{grown}");
    assert_eq!(grown["messages_imported"], 4 * 5, "{grown}");
    assert_eq!(
        sessions(&mut client, &target).await[0].message_count,
        4 * (turns as u64 + 5)
    );
    // The index holds every call once, with its result, however many
    // parts and tails the session took to get there.
    let calls = 2 * (turns as u64 + 5);
    search_until(&mut client, request("\"of turn\"", &target), |r| r.total_hits == calls).await;
}

// Two workers: the client's connection winds down while `stop` waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_cache_far_smaller_than_a_session_imports_and_reads_it_whole_across_a_restart() {
    let sandbox = Sandbox::new();
    let small_cache = ["--cache-mib", "1"];
    let daemon = sandbox.start_with(&small_cache);
    let file = sandbox
        .project("codex-cache")
        .join("rollout-2026-03-04T10-00-00-long-1.jsonl");
    // ~7 MiB of messages through a 1 MiB page cache.
    let turns = 1000;
    fs::write(&file, long_rollout(0, turns)).expect("write");
    let target = path_str(&sandbox.project("target"));
    let file_arg = path_str(&file);
    let args = ["-C", target.as_str(), "import", "codex", "--json", file_arg.as_str()];
    let first = json(sandbox.chronicle(&sandbox.project("here"), &args));
    assert_eq!(first["messages_imported"], 4 * turns, "{first}");

    let mut client = daemon.client().await;
    let name = sessions(&mut client, &target).await[0].name.clone();
    let before = saved(&mut client, &target, &name).await;
    assert_eq!(before.messages.len(), 4 * turns);
    drop(client);
    assert!(daemon.stop().success());

    // A cold cache: every page comes from the file again.
    let daemon = sandbox.start_with(&small_cache);
    let mut client = daemon.client().await;
    let after = saved(&mut client, &target, &name).await;
    assert_eq!(after, before);
    let last = after.messages.last().expect("messages");
    assert!(
        last.content.starts_with(&format!("reply {}:", turns - 1)),
        "{}",
        last.content
    );
}

/// A Claude transcript of `turns` turns (a prompt; a reply written as two
/// lines sharing its message id, the first with a call; the call's result
/// between them), then a rewind: a prompt under turn `rewind_at`'s reply,
/// written last, so the conversation goes through it and the turns after
/// `rewind_at` are the abandoned branch.
fn long_transcript(turns: usize, rewind_at: usize) -> String {
    let filler = "The parser reads this line and the store keeps it. ".repeat(60);
    let mut out = String::new();
    let mut parent = Value::Null;
    let mut line = |uuid: String, body: Value, parent: &mut Value| {
        let mut line = serde_json::json!({"uuid": uuid, "parentUuid": parent.clone(), "sessionId": "long-claude",
            "cwd": "/p", "timestamp": "2026-03-05T10:00:00Z"});
        if let (Some(line), Some(body)) = (line.as_object_mut(), body.as_object()) {
            line.extend(body.clone());
        }
        out.push_str(&line.to_string());
        out.push('\n');
        *parent = Value::from(uuid);
    };
    for turn in 0..turns {
        line(
            format!("u{turn}"),
            serde_json::json!({"type": "user",
            "message": {"role": "user", "content": format!("turn {turn}")}}),
            &mut parent,
        );
        line(
            format!("a{turn}"),
            serde_json::json!({"type": "assistant", "message": {"id": format!("m{turn}"),
            "role": "assistant", "model": "claude-opus-4-1", "content": [{"type": "text", "text": format!("reply {turn}: {filler}")},
            {"type": "tool_use", "id": format!("t{turn}"), "name": "Read", "input": {"file_path": "/src/a.rs"}}]}}),
            &mut parent,
        );
        line(
            format!("r{turn}"),
            serde_json::json!({"type": "user", "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": format!("t{turn}"), "content": format!("result of turn {turn}")}]}}),
            &mut parent,
        );
        line(
            format!("b{turn}"),
            serde_json::json!({"type": "assistant", "message": {"id": format!("m{turn}"),
            "role": "assistant", "content": [{"type": "text", "text": format!("done {turn}")}]}}),
            &mut parent,
        );
    }
    let mut at = Value::from(format!("b{rewind_at}"));
    line(
        "again".into(),
        serde_json::json!({"type": "user",
        "message": {"role": "user", "content": "Start over from here"}}),
        &mut at,
    );
    out
}

#[tokio::test]
async fn a_long_claude_transcript_is_read_back_in_parts_with_its_branch_and_imported_once() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let file = sandbox.project("claude-long").join("long-claude.jsonl");
    let (turns, rewind_at) = (3000, 9);
    fs::write(&file, long_transcript(turns, rewind_at)).expect("write");
    let target = path_str(&sandbox.project("target"));
    // Both lines of each reply in one message.
    let reply_ends = |turn: usize| format!("\n\ndone {turn}");
    imports_long_file_with_branch(&sandbox, &mut client, "claude", &file, (turns, rewind_at), &reply_ends).await;
    search_until(&mut client, request("\"done 2999\"", &target), |r| {
        r.hits.iter().any(|hit| hit.snippet.contains("done 2999"))
    })
    .await;
}

/// Imports `file` of `agent` (~10 MiB: more than the 4 MiB of texts its
/// parser keeps, and than two parts) into the sandbox's `target` project
/// twice, as a long file of `turns` turns (a prompt, a reply whose text
/// ends as `reply_ends` says, a call with its result) rewound after turn
/// `rewind_at` to one last prompt, and checks both sessions it makes and
/// that the second import brings nothing new.
async fn imports_long_file_with_branch(
    sandbox: &Sandbox,
    client: &mut common::Client,
    agent: &str,
    file: &Path,
    (turns, rewind_at): (usize, usize),
    reply_ends: &dyn Fn(usize) -> String,
) {
    assert!(fs::metadata(file).expect("size").len() > 9 << 20);
    let cwd = sandbox.project("here");
    let target = path_str(&sandbox.project("target"));
    let import = || {
        json(sandbox.chronicle(
            &cwd,
            &[
                "-C",
                &target,
                "import",
                agent,
                "--json",
                file.to_str().expect("utf-8 path"),
            ],
        ))
    };

    let first = import();
    assert_eq!(first["sessions_imported"], 2, "{first}");
    assert_eq!(first["skipped"], serde_json::json!([]), "{first}");
    // Each turn: the prompt, the reply, its call; and the last prompt.
    assert_eq!(first["messages_imported"], 3 * turns + 1, "{first}");
    let listed = sessions(client, &target).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let (branch, main): (Vec<_>, Vec<_>) = listed.iter().partition(|s| s.name.ends_with("(branch)"));
    let (main, branch) = (&main[0].name, &branch[0].name);

    let main = saved(client, &target, main).await;
    assert_eq!(main.messages.len(), 3 * (rewind_at + 1) + 1);
    assert_eq!(
        main.messages.last().map(|m| m.content.as_str()),
        Some("Start over from here")
    );
    let branch = saved(client, &target, branch).await;
    let kept = turns - rewind_at - 1;
    assert_eq!(branch.messages.len(), 3 * kept);
    for (k, turn) in (rewind_at + 1..turns).enumerate() {
        let [prompt, reply, call] = &branch.messages[3 * k..3 * k + 3] else {
            unreachable!()
        };
        assert_eq!(prompt.content, format!("turn {turn}"));
        assert!(reply.content.starts_with(&format!("reply {turn}: ")), "turn {turn}");
        assert!(reply.content.ends_with(&reply_ends(turn)), "turn {turn}");
        let tool = call.tool.as_ref().expect("the call");
        assert_eq!(tool.result_json, format!("result of turn {turn}"));
    }

    let again = import();
    assert_nothing_new(&again);
}

#[tokio::test]
async fn a_fifo_is_refused_with_a_message_naming_it() {
    let sandbox = Sandbox::new();
    let _daemon = sandbox.start();
    let dir = sandbox.project("fifo");
    let fifo = dir.join("pipe.jsonl");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let run = sandbox.chronicle(&dir, &["import", "claude", &path_str(&fifo)]);
    assert_ne!(run.code, Some(0));
    assert!(run.stderr.contains("is a FIFO"), "{}", run.stderr);
    assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
}

/// The HOME the sandbox's CLI runs with (`<sandbox>/home`).
fn cli_home(sandbox: &Sandbox) -> std::path::PathBuf {
    let projects = sandbox.project("x");
    projects
        .parent()
        .and_then(Path::parent)
        .expect("the sandbox root")
        .join("home")
}

/// An opencode database in opencode 1.2's schema, in WAL mode as opencode
/// runs it, with one session in `directory`.
pub(crate) fn opencode_db(path: &Path, directory: &str) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("create opencode.db");
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
    .expect("schema");
    conn.execute(
        "INSERT INTO session (id, project_id, slug, directory, title, version, time_created, time_updated)
         VALUES ('ses_1', 'prj_1', 'calm-fox', ?1, 'Speed up search', '1.2.4', 1772359200000, 1772359200000)",
        [directory],
    )
    .expect("session");
    conn
}

pub(crate) fn opencode_message(conn: &rusqlite::Connection, id: &str, data: &str, parts: &[(&str, String)]) {
    conn.execute(
        "INSERT INTO message (id, session_id, time_created, time_updated, data) VALUES (?1, 'ses_1', 0, 0, ?2)",
        [id, data],
    )
    .expect("message");
    for (part_id, part) in parts {
        conn.execute(
            "INSERT INTO part (id, message_id, session_id, time_created, time_updated, data) VALUES (?1, ?2, 'ses_1', 0, 0, ?3)",
            [part_id, id, part.as_str()],
        )
        .expect("part");
    }
    conn.execute(
        "UPDATE session SET time_updated = time_updated + 1 WHERE id = 'ses_1'",
        [],
    )
    .expect("touch session");
}

pub(crate) fn opencode_text(text: &str) -> String {
    serde_json::json!({"type": "text", "text": text}).to_string()
}

pub(crate) fn opencode_user(at: i64) -> String {
    serde_json::json!({"role": "user", "time": {"created": at}, "agent": "build",
        "model": {"providerID": "anthropic", "modelID": "claude-opus-4-1"}})
    .to_string()
}

#[tokio::test]
async fn opencode_database_imports_from_its_default_place_while_open_and_again_only_what_is_new() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = sandbox.project("shop");
    fs::create_dir_all(project.join(".git")).expect("git dir");
    // The CLI's HOME is the sandbox's `home`; without XDG_DATA_HOME the
    // default is ~/.local/share/opencode.
    let data = cli_home(&sandbox).join(".local/share/opencode");
    fs::create_dir_all(&data).expect("opencode data dir");
    let db = data.join("opencode.db");
    let conn = opencode_db(&db, &path_str(&project));
    opencode_message(
        &conn,
        "msg_01",
        &opencode_user(1772359201000),
        &[("prt_01", opencode_text("Search is slow."))],
    );
    let assistant = serde_json::json!({"role": "assistant", "time": {"created": 1772359202000i64},
        "modelID": "claude-opus-4-1", "providerID": "anthropic", "mode": "build",
        "path": {"cwd": path_str(&project), "root": path_str(&project)}, "cost": 0.25,
        "tokens": {"input": 10, "output": 20, "reasoning": 0, "cache": {"read": 300, "write": 40}}})
    .to_string();
    let tool = serde_json::json!({"type": "tool", "callID": "call_1", "tool": "grep",
        "state": {"status": "completed", "input": {"pattern": "index"}, "output": "src/search.rs:12",
        "title": "grep index", "time": {"start": 1772359203000i64, "end": 1772359203500i64}}})
    .to_string();
    opencode_message(
        &conn,
        "msg_02",
        &assistant,
        &[
            ("prt_02", opencode_text("The index is rebuilt per query.")),
            ("prt_03", tool),
            ("prt_04", r#"{"type":"quantum","spin":1}"#.to_owned()),
        ],
    );
    opencode_message(&conn, "msg_03", "{not json", &[]);
    let cwd = sandbox.project("elsewhere");

    let first = json(sandbox.chronicle(&cwd, &["import", "opencode", "--json"]));
    assert_eq!(first["sessions_imported"], 1, "{first}");
    assert_eq!(first["messages_imported"], 3, "user, assistant, tool: {first}");
    assert_eq!(first["projects"], serde_json::json!([path_str(&project)]));
    let skipped = first["skipped"].as_array().expect("skipped");
    assert_eq!(skipped.len(), 2, "{first}");
    assert!(skipped.iter().all(|s| s["file"] == path_str(&db)), "{first}");
    assert!(
        skipped
            .iter()
            .any(|s| s["line"] == 3 && s["reason"].as_str().is_some_and(|r| r.contains("msg_03"))),
        "the bad message row by rowid: {first}"
    );

    let listed = sessions(&mut client, &path_str(&project)).await;
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].name.starts_with("opencode ") && listed[0].name.ends_with("Speed up search"),
        "{}",
        listed[0].name
    );
    let content = saved(&mut client, &path_str(&project), &listed[0].name).await;
    assert_eq!(content.messages[0].content, "Search is slow.");
    assert_eq!(content.messages[1].content, "The index is rebuilt per query.");
    let usage = content.messages[1].usage.as_ref().expect("usage");
    assert_eq!(
        (usage.sent_tokens, usage.cache_read_tokens, usage.cache_write_tokens),
        (10, 300, 40)
    );
    let call = content.messages[2].tool.as_ref().expect("tool call");
    assert_eq!(
        (call.name.as_str(), call.result_json.as_str()),
        ("grep", "src/search.rs:12")
    );

    let again = json(sandbox.chronicle(&cwd, &["import", "opencode", "--json"]));
    assert_eq!(
        (again["sessions_imported"].as_u64(), again["messages_imported"].as_u64()),
        (Some(0), Some(0)),
        "{again}"
    );

    // opencode writes on (its connection still open): one more message.
    opencode_message(
        &conn,
        "msg_04",
        &opencode_user(1772359260000),
        &[("prt_05", opencode_text("Cache the index then."))],
    );
    let later = json(sandbox.chronicle(&cwd, &["import", "opencode", &path_str(&data), "--json"]));
    assert_eq!(
        (later["sessions_updated"].as_u64(), later["messages_imported"].as_u64()),
        (Some(1), Some(1)),
        "{later}"
    );
    let content = saved(&mut client, &path_str(&project), &listed[0].name).await;
    assert_eq!(content.messages.len(), 4);
    assert_eq!(content.messages[3].content, "Cache the index then.");
}

#[tokio::test]
async fn gemini_recordings_import_into_the_project_root_they_name_and_again_only_what_is_new() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = sandbox.project("weather");
    fs::create_dir_all(project.join(".git")).expect("git dir");
    let tmp = cli_home(&sandbox).join(".gemini/tmp");
    let chats = tmp.join("weather/chats");
    fs::create_dir_all(&chats).expect("chats dir");
    fs::write(tmp.join("weather/.project_root"), format!("{}\n", path_str(&project))).expect("project root");
    let file = chats.join("session-2026-03-20T10-00-aa11bb22.jsonl");
    let lines = [
        r#"{"sessionId":"aa11bb22-0000-4000-8000-000000000001","projectHash":"weather","startTime":"2026-03-20T10:00:00.000Z","lastUpdated":"2026-03-20T10:00:00.000Z","kind":"main"}"#,
        r#"{"id":"u1","timestamp":"2026-03-20T10:00:01.000Z","type":"user","content":[{"text":"Why is the forecast stale?"}]}"#,
        r#"{"id":"g1","timestamp":"2026-03-20T10:00:03.000Z","type":"gemini","content":"","toolCalls":[{"id":"read-1","name":"read_file","args":{"absolute_path":"/w/cache.ts"},"status":"executing"}],"model":"gemini-2.5-pro"}"#,
        r#"{"id":"g1","timestamp":"2026-03-20T10:00:03.000Z","type":"gemini","content":"","toolCalls":[{"id":"read-1","name":"read_file","args":{"absolute_path":"/w/cache.ts"},"result":[{"functionResponse":{"id":"read-1","name":"read_file","response":{"output":"TTL_HOURS = 24"}}}],"status":"success"}],"model":"gemini-2.5-pro"}"#,
        r#"{"id":"g2","timestamp":"2026-03-20T10:00:05.000Z","type":"gemini","content":"The cache keeps entries for 24 hours.","tokens":{"input":500,"output":12,"cached":400,"thoughts":3,"tool":0,"total":515},"model":"gemini-2.5-pro"}"#,
        r#"{"id":"g3", "type": "gemini", "content": "#,
        r#"[1, 2, 3]"#,
        r#"{"$set":{"summary":"Stale forecast from a 24 h TTL"}}"#,
    ];
    fs::write(&file, lines.join("\n") + "\n{\"id\":\"u2\",\"timest").expect("recording");
    let cwd = sandbox.project("elsewhere");

    let first = json(sandbox.chronicle(&cwd, &["import", "gemini", "--json"]));
    assert_eq!(first["sessions_imported"], 1, "{first}");
    assert_eq!(
        first["messages_imported"], 3,
        "user, the tool call with its result, the answer: {first}"
    );
    assert_eq!(first["projects"], serde_json::json!([path_str(&project)]));
    let lines_skipped: Vec<u64> = first["skipped"]
        .as_array()
        .expect("skipped")
        .iter()
        .map(|s| s["line"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(
        lines_skipped,
        [6, 7],
        "the malformed and the non-object line; the partial last one is waited for: {first}"
    );
    assert!(
        first["skipped"][0]["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("session-2026-03-20T10-00-aa11bb22.jsonl"))
    );

    let listed = sessions(&mut client, &path_str(&project)).await;
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].name.starts_with("gemini ") && listed[0].name.ends_with("Stale forecast from a 24 h TTL"),
        "{}",
        listed[0].name
    );
    let content = saved(&mut client, &path_str(&project), &listed[0].name).await;
    assert_eq!(content.messages[0].content, "Why is the forecast stale?");
    let call = content
        .messages
        .iter()
        .find_map(|m| m.tool.as_ref())
        .expect("a tool call");
    assert_eq!(
        (call.name.as_str(), call.result_json.as_str()),
        ("read_file", "TTL_HOURS = 24"),
        "the record appended again replaced the first"
    );
    let answer = content.messages.last().expect("answer");
    let usage = answer.usage.as_ref().expect("usage");
    assert_eq!(
        (usage.sent_tokens, usage.received_tokens, usage.cache_read_tokens),
        (100, 15, 400)
    );

    let again = json(sandbox.chronicle(&cwd, &["import", "gemini", "--json"]));
    assert_eq!(
        (again["sessions_imported"].as_u64(), again["messages_imported"].as_u64()),
        (Some(0), Some(0)),
        "{again}"
    );

    // --discover finds it in its default place, nothing left to import,
    // and says where the agents without files would be looked for.
    let found = json(sandbox.chronicle(&cwd, &["import", "--discover", "--json"]));
    assert_eq!(found["gemini"]["sessions"], 1, "{found}");
    assert_eq!(found["gemini"]["messages"], 3, "{found}");
    assert_eq!(found["gemini"]["not_imported_messages"], 0, "{found}");
    assert_eq!(found["opencode"]["locations"], serde_json::json!([]), "{found}");
    assert_eq!(found["claude"]["sessions"], 0, "{found}");

    // Gemini finishes the line it was writing, adds its reply, and writes
    // the answer's record again, corrected: that one is updated in place.
    let mut out = fs::OpenOptions::new().append(true).open(&file).expect("open");
    writeln!(
        out,
        "amp\":\"2026-03-20T10:01:00.000Z\",\"type\":\"user\",\"content\":[{{\"text\":\"Lower it to 1.\"}}]}}"
    )
    .expect("append");
    out.write_all(concat!(r#"{"id":"g4","timestamp":"2026-03-20T10:01:02.000Z","type":"gemini","content":"Done: TTL_HOURS = 1.","model":"gemini-2.5-pro"}"#, "\n").as_bytes()).expect("append");
    out.write_all(concat!(r#"{"id":"g2","timestamp":"2026-03-20T10:00:05.000Z","type":"gemini","content":"The cache keeps entries for 24 hours (TTL_HOURS).","tokens":{"input":500,"output":14,"cached":400,"thoughts":3,"tool":0,"total":517},"model":"gemini-2.5-pro"}"#, "\n").as_bytes()).expect("append");
    drop(out);
    let later = json(sandbox.chronicle(&cwd, &["import", "gemini", &path_str(&tmp), "--json"]));
    assert_eq!(
        (
            later["sessions_updated"].as_u64(),
            later["messages_imported"].as_u64(),
            later["messages_updated"].as_u64()
        ),
        (Some(1), Some(2), Some(1)),
        "{later}"
    );
    let content = saved(&mut client, &path_str(&project), &listed[0].name).await;
    let tail: Vec<&str> = content
        .messages
        .iter()
        .rev()
        .take(2)
        .map(|m| m.content.as_str())
        .collect();
    assert_eq!(tail, ["Done: TTL_HOURS = 1.", "Lower it to 1."]);
    let corrected = content
        .messages
        .iter()
        .find(|m| m.metadata.get("source.id").map(String::as_str) == Some("g2"))
        .expect("the answer");
    assert_eq!(corrected.content, "The cache keeps entries for 24 hours (TTL_HOURS).");
    assert_eq!(corrected.usage.as_ref().map(|u| u.received_tokens), Some(17));
}

/// A Gemini CLI recording of `turns` turns (a prompt; a reply of ~3 KiB
/// with a tool call and its result), then a `$rewindTo` the prompt of turn
/// `rewind_at + 1` and a last prompt.
fn long_recording(turns: usize, rewind_at: usize) -> String {
    let filler = "The recording keeps this reply and the store keeps it too. ".repeat(50);
    let at = |n: usize| format!("2026-11-01T{:02}:{:02}:{:02}.000Z", 8 + n / 3600, (n / 60) % 60, n % 60);
    let mut out = serde_json::json!({"sessionId": "long-gemini", "projectHash": "p", "startTime": at(0)}).to_string();
    out.push('\n');
    for n in 0..turns {
        let prompt = serde_json::json!({"id": format!("u{n}"), "timestamp": at(n), "type": "user",
            "content": [{"text": format!("turn {n}")}]});
        let reply = serde_json::json!({"id": format!("g{n}"), "timestamp": at(n), "type": "gemini",
            "content": format!("reply {n}: {filler}done {n}"), "model": "gemini-2.5-pro",
            "toolCalls": [{"id": format!("call-{n}"), "name": "read_file", "args": {"path": format!("f{n}.txt")},
                "result": format!("result of turn {n}"), "status": "success"}]});
        out.push_str(&format!("{prompt}\n{reply}\n"));
    }
    let rewind = serde_json::json!({"$rewindTo": format!("u{}", rewind_at + 1)});
    let last = serde_json::json!({"id": "last", "timestamp": at(turns), "type": "user",
        "content": [{"text": "Start over from here"}]});
    out.push_str(&format!("{rewind}\n{last}\n"));
    out
}

/// More than the 4 MiB of texts the parser keeps: the records are read
/// back from their lines once the rewind at the end is known, in parts.
#[tokio::test]
async fn a_long_gemini_recording_is_read_back_in_parts_with_its_branch_and_imported_once() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let chats = sandbox.project("gemini-long").join("tmp/p/chats");
    fs::create_dir_all(&chats).expect("mkdir");
    let file = chats.join("session-2026-11-01T08-00-long.jsonl");
    let (turns, rewind_at) = (3000, 9);
    fs::write(&file, long_recording(turns, rewind_at)).expect("write");
    let reply_ends = |turn: usize| format!("done {turn}");
    imports_long_file_with_branch(&sandbox, &mut client, "gemini", &file, (turns, rewind_at), &reply_ends).await;
}

/// An opencode database of more sessions than one part holds (4 MiB of
/// messages): its reader hands them on as it assembles them, every one
/// arrives once, whole, and a second import brings nothing new.
#[tokio::test]
async fn an_opencode_database_larger_than_a_part_goes_in_parts_each_session_whole() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let dir = sandbox.project("opencode-big");
    let db = dir.join("opencode.db");
    let conn = opencode_db(&db, &path_str(&sandbox.project("shop")));
    let (sessions_made, each): (i64, i64) = (40, 60);
    let filler = "opencode keeps this text and so does Chronicle. ".repeat(40);
    for s in 2..=sessions_made {
        conn.execute(
            "INSERT INTO session (id, project_id, slug, directory, title, version, time_created, time_updated)
             VALUES (?1, 'prj_1', 'calm-fox', '/elsewhere', ?2, '1.2.4', 1772359200000, 1772359200000)",
            [format!("ses_{s}"), format!("Session {s}")],
        )
        .expect("session");
    }
    for s in 1..=sessions_made {
        for m in 0..each {
            let id = format!("msg_{s}_{m:03}");
            conn.execute(
                "INSERT INTO message (id, session_id, time_created, time_updated, data) VALUES (?1, ?2, ?3, ?3, ?4)",
                rusqlite::params![
                    id,
                    format!("ses_{s}"),
                    1772359201000i64 + m,
                    opencode_user(1772359201000 + m)
                ],
            )
            .expect("message");
            conn.execute(
                "INSERT INTO part (id, message_id, session_id, time_created, time_updated, data) VALUES (?1, ?2, ?3, 0, 0, ?4)",
                rusqlite::params![format!("prt_{s}_{m:03}"), id, format!("ses_{s}"), opencode_text(&format!("{s}/{m}: {filler}"))],
            )
            .expect("part");
        }
    }
    drop(conn);
    assert!(fs::metadata(&db).expect("size").len() > 4 << 20);
    let target = path_str(&sandbox.project("target"));
    let import = || json(sandbox.chronicle(&dir, &["-C", &target, "import", "opencode", "--json", &path_str(&db)]));

    let first = import();
    assert_eq!(first["sessions_imported"], sessions_made, "{first}");
    assert_eq!(first["messages_imported"], sessions_made * each, "{first}");
    assert_eq!(first["skipped"], serde_json::json!([]), "{first}");
    let listed = sessions(&mut client, &target).await;
    assert_eq!(listed.len(), sessions_made as usize);
    for info in &listed {
        let content = saved(&mut client, &target, &info.name).await;
        assert_eq!(content.messages.len(), each as usize, "{}", info.name);
        let s = content.messages[0]
            .content
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        for (m, message) in content.messages.iter().enumerate() {
            assert!(message.content.starts_with(&format!("{s}/{m}: ")), "{}: {m}", info.name);
        }
    }
    assert_nothing_new(&import());
}
