//! Other agents' sessions through the `chronicle` CLI and the real daemon
//! (`ImportSource`): Claude Code transcripts (with a subagent file) and
//! Codex CLI rollouts (with a fork) from the hand-made fixtures of
//! `interop/tests/fixtures`, imported into the project their working
//! directory names; imported again without duplicates; new lines added
//! on a later import; bad lines reported with file and line; a partial
//! last line waited for; `-C`, `--dry-run` and `--json`; a FIFO refused.

use std::{fs, io::Write as _, path::Path};

use chronicle_tests::Sandbox;
use serde_json::Value;

use crate::common::{self, path_str, saved, sessions};

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
    assert!(again.stdout.contains("Imported 0 new sessions"), "{}", again.stdout);
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
