//! Lossless backup and restore through the real daemon and the real
//! `chronicle backup` / `chronicle restore`: every field survives a trip
//! into a fresh daemon byte for byte; a damaged bundle is refused with its
//! line and field and changes nothing; a restore never overwrites.

use crate::common;

use std::{collections::HashMap, fs, path::Path};

use crate::common::{Client, add_files, append_message, path_str, save, saved, sessions, trash, working};
use chronicle_proto::v1::{
    ClearMessagesRequest, ContextFile, DeleteMessagesRequest, DeleteSessionRequest, ForkSessionRequest,
    GetStatusRequest, Message, Role, SaveMode, ToolCall, Usage,
};
use chronicle_tests::Sandbox;

/// A message with every field set, so a lost field shows.
fn rich(content: &str) -> Message {
    Message {
        role: Role::Assistant as i32,
        content: content.to_owned(),
        created_at_ms: 1_700_000_000_123,
        model: "gpt-5".into(),
        usage: Some(Usage {
            sent_tokens: 2100,
            received_tokens: 150,
            cost: 0.1 + 0.2,
            cache_read_tokens: 7,
            cache_write_tokens: 9,
        }),
        tool: Some(ToolCall {
            name: "edit_file".into(),
            call_id: "call-1".into(),
            args_json: r#"{"path":"src/a.rs"}"#.into(),
            result_json: "\"ok\"".into(),
            is_error: true,
        }),
        reasoning: "thinking about it\n".into(),
        command: "cargo test".into(),
        log_level: "warning".into(),
        edited_files: vec!["src/a.rs".into(), "src/b.rs".into()],
        metadata: HashMap::from([
            ("k".to_owned(), "v".to_owned()),
            ("a".to_owned(), "é\u{0}\"".to_owned()),
        ]),
        ..Message::default()
    }
}

fn file(path: &str, read_only: bool) -> ContextFile {
    ContextFile {
        path: path.to_owned(),
        read_only,
        ..ContextFile::default()
    }
}

/// Two projects with working sessions, saved sessions and every kind of
/// trash entry.
async fn fill(client: &mut Client, a: &str, b: &str, dir: &Path) {
    fs::write(dir.join("present.rs"), "x").expect("write");
    append_message(client, a, common::message(Role::User, "Why does login fail?")).await;
    append_message(client, a, rich("Because ```\n#### and > lines\n```\n")).await;
    add_files(
        client,
        a,
        vec![
            file("present.rs", false),
            file("gone.md", true),
            file("/etc/hosts", true),
        ],
    )
    .await;
    save(client, a, "fix login", SaveMode::CreateNew).await;
    append_message(client, a, common::message(Role::Log, "third")).await;
    save(client, a, "fix login", SaveMode::Overwrite).await;
    save(client, a, "to delete", SaveMode::CreateNew).await;
    client
        .delete_session(DeleteSessionRequest {
            project: a.to_owned(),
            name: "to delete".into(),
            expected_revision: None,
        })
        .await
        .expect("delete");
    client
        .delete_messages(DeleteMessagesRequest {
            project: a.to_owned(),
            message_id: 3,
            truncate_after: false,
            expected_revision: None,
        })
        .await
        .expect("delete message");
    client
        .clear_messages(ClearMessagesRequest {
            project: a.to_owned(),
            expected_revision: None,
        })
        .await
        .expect("clear");
    append_message(client, a, common::message(Role::User, "after the clear")).await;
    append_message(client, b, rich("project b")).await;
    append_message(client, b, common::message(Role::User, "a second thought")).await;
    save(client, b, "b's session", SaveMode::CreateNew).await;
    client
        .fork_session(ForkSessionRequest {
            project: b.to_owned(),
            source_name: "b's session".into(),
            at_message_id: 1,
            new_name: "b's fork".into(),
        })
        .await
        .expect("fork");
}

/// Each saved session's lineage: name → (forked from, at message).
async fn lineage(client: &mut Client, project: &str) -> Vec<(String, String, u64)> {
    sessions(client, project)
        .await
        .into_iter()
        .map(|s| (s.name, s.forked_from, s.forked_at_message_id))
        .collect()
}

fn backup(sandbox: &Sandbox, dir: &Path, out: &Path, extra: &[&str]) -> String {
    let out = path_str(out);
    let mut args = vec!["backup", "-o", out.as_str()];
    args.extend_from_slice(extra);
    sandbox.chronicle(dir, &args).ok().stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restored_into_a_fresh_daemon_exports_byte_identical() {
    let first = Sandbox::new();
    let daemon = first.start();
    let mut client = daemon.client().await;
    let dir = first.project("a");
    let (a, b) = (path_str(&dir), path_str(&first.project("b")));
    fill(&mut client, &a, &b, &dir).await;
    let before_a = working(&mut client, &a).await;
    let before_saved = saved(&mut client, &a, "fix login").await;
    let before_trash = trash(&mut client, &a).await;
    let before_lineage = lineage(&mut client, &b).await;
    assert!(
        before_lineage.contains(&("b's fork".into(), "b's session".into(), 1)),
        "{before_lineage:?}"
    );

    let all = first.dir.path().join("all.jsonl");
    let said = backup(&first, &dir, &all, &["--all"]);
    assert!(said.contains("Backed up 2 projects"), "{said}");
    let one = first.dir.path().join("a.jsonl");
    backup(&first, &dir, &one, &[]);
    let original = fs::read(&all).expect("read backup");
    let text = String::from_utf8(original.clone()).expect("utf-8");
    assert!(text.starts_with(r#"{"type":"header","format":"chronicle-bundle","version":1,"scope":"all"}"#));
    assert!(
        text.trim_end()
            .lines()
            .last()
            .is_some_and(|l| l.starts_with(r#"{"type":"end""#))
    );
    drop(daemon);

    let second = Sandbox::new();
    let daemon = second.start();
    let restored = second.chronicle(&dir, &["restore", &path_str(&all)]).ok().stdout;
    assert!(restored.contains("Restored 2 projects"), "{restored}");
    let again = second.dir.path().join("again.jsonl");
    backup(&second, &dir, &again, &["--all"]);
    assert_eq!(
        String::from_utf8(fs::read(&again).expect("read")).expect("utf-8"),
        text,
        "export → import into a fresh daemon → export is byte-identical"
    );

    // And every field reads back through the API as it was.
    let mut client = daemon.client().await;
    let after_a = working(&mut client, &a).await;
    assert_eq!(after_a.messages, before_a.messages);
    assert_eq!(after_a.files, before_a.files);
    assert_eq!(
        saved(&mut client, &a, "fix login").await.messages,
        before_saved.messages
    );
    assert_eq!(
        saved(&mut client, &a, "fix login").await.messages[1],
        Message {
            id: 2,
            ..rich("Because ```\n#### and > lines\n```\n")
        }
    );
    let after_trash = trash(&mut client, &a).await;
    let reasons = |t: &[chronicle_proto::v1::TrashEntry]| {
        t.iter()
            .map(|e| {
                (
                    e.name.clone(),
                    e.reason.clone(),
                    e.trashed_at_ms,
                    e.message_count,
                    e.file_count,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(reasons(&after_trash), reasons(&before_trash));
    assert_eq!(
        lineage(&mut client, &b).await,
        before_lineage,
        "a fork's lineage is restored"
    );
    assert!(
        ["overwritten", "deleted", "messages-deleted", "cleared"]
            .iter()
            .all(|r| after_trash.iter().any(|e| &e.reason == r)),
        "{after_trash:?}"
    );
    drop(daemon);

    // A one-project bundle round-trips the same way.
    let third = Sandbox::new();
    let _daemon = third.start();
    third.chronicle(&dir, &["restore", &path_str(&one)]).ok();
    let one_again = third.dir.path().join("one.jsonl");
    backup(&third, &dir, &one_again, &[]);
    assert_eq!(fs::read(&one_again).expect("read"), fs::read(&one).expect("read"));
}

/// What the daemon holds, in counts: the same before and after a refused
/// import proves it imported nothing.
async fn totals(client: &mut Client) -> (u32, u32, u32) {
    let s = client
        .get_status(GetStatusRequest {})
        .await
        .expect("status")
        .into_inner();
    (s.project_count, s.saved_session_count, s.trash_count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_or_malformed_bundle_is_refused_with_its_line_and_field_and_imports_nothing() {
    let source = Sandbox::new();
    let daemon = source.start();
    let mut client = daemon.client().await;
    let dir = source.project("a");
    let (a, b) = (path_str(&dir), path_str(&source.project("b")));
    fill(&mut client, &a, &b, &dir).await;
    let good = source.dir.path().join("good.jsonl");
    backup(&source, &dir, &good, &["--all"]);
    drop(daemon);
    let text = fs::read_to_string(&good).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    let message_line = lines
        .iter()
        .position(|l| l.contains(r#""type":"message""#) && l.contains(r#""role":"user""#))
        .expect("a user message");

    let target = Sandbox::new();
    let daemon = target.start();
    let mut client = daemon.client().await;
    // Something already there must stay exactly as it is.
    let here = path_str(&target.project("here"));
    append_message(&mut client, &here, common::message(Role::User, "mine")).await;
    save(&mut client, &here, "mine", SaveMode::CreateNew).await;
    let before = totals(&mut client).await;

    let cut_mid_line = &text[..text.len() - 20];
    let without_end = lines[..lines.len() - 1].join("\n") + "\n";
    let mut bad_role = lines.clone();
    let broken = bad_role[message_line].replace(r#""role":"user""#, r#""role":"wizard""#);
    bad_role[message_line] = &broken;
    let bad_role = bad_role.join("\n") + "\n";
    let mut missing_line = lines.clone();
    missing_line.remove(message_line);
    let missing_line = missing_line.join("\n") + "\n";
    let mut bad_type = lines.clone();
    let typed = bad_type[message_line].replace(r#""id":"#, r#""id":"seven","was":"#);
    bad_type[message_line] = &typed;
    let bad_type = bad_type.join("\n") + "\n";
    let n = message_line + 1;
    let cases: [(&str, &str, String); 6] = [
        ("cut mid-line", cut_mid_line, format!("line {}", lines.len())),
        ("without its end line", &without_end, "cut short".into()),
        ("a bad role", &bad_role, format!("line {n}, field `role`")),
        ("a wrongly typed id", &bad_type, format!("line {n}, field `id`")),
        ("a missing message", &missing_line, "field `messages`".into()),
        ("not a bundle at all", "# just markdown\n", "line 1".into()),
    ];
    for (what, bundle, expected) in cases {
        let file = target.dir.path().join("bad.jsonl");
        fs::write(&file, bundle).expect("write");
        let run = target.chronicle(&dir, &["restore", &path_str(&file)]);
        assert_eq!(run.code, Some(2), "{what}: {run:?}");
        assert!(
            run.stderr.contains(&expected),
            "{what}: wanted {expected:?} in {}",
            run.stderr
        );
        assert!(run.stderr.contains("nothing changed"), "{what}: {}", run.stderr);
        assert_eq!(totals(&mut client).await, before, "{what}: nothing was imported");
    }
    assert_eq!(sessions(&mut client, &here).await.len(), 1);
    assert_eq!(working(&mut client, &here).await.messages.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_never_overwrites_and_says_what_it_renamed() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let dir = sandbox.project("a");
    let (a, b) = (path_str(&dir), path_str(&sandbox.project("b")));
    fill(&mut client, &a, &b, &dir).await;
    let bundle = sandbox.dir.path().join("a.jsonl");
    backup(&sandbox, &dir, &bundle, &[]);
    let working_before = working(&mut client, &a).await;

    let said = sandbox.chronicle(&dir, &["restore", &path_str(&bundle)]).ok().stdout;
    assert!(
        said.contains("\"fix login\" was taken in") && said.contains("restored as \"fix login (2)\""),
        "{said}"
    );
    assert!(
        said.contains("the working session was saved as \"imported working session\""),
        "{said}"
    );
    let names: Vec<String> = sessions(&mut client, &a).await.into_iter().map(|s| s.name).collect();
    for name in ["fix login", "fix login (2)", "imported working session"] {
        assert!(names.iter().any(|n| n == name), "{name} in {names:?}");
    }
    assert_eq!(working(&mut client, &a).await.messages, working_before.messages, "kept");
    assert_eq!(
        saved(&mut client, &a, "fix login (2)").await.messages,
        saved(&mut client, &a, "fix login").await.messages
    );

    // Into another project, with the working session under a name.
    let other = sandbox.project("elsewhere");
    let said = sandbox
        .chronicle(
            &dir,
            &[
                "restore",
                &path_str(&bundle),
                "--project",
                &path_str(&other),
                "--as",
                "from a",
            ],
        )
        .ok()
        .stdout;
    assert!(said.contains("Restored 1 project"), "{said}");
    let other = path_str(&other);
    let names: Vec<String> = sessions(&mut client, &other)
        .await
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert!(
        names.contains(&"from a".to_owned()) && names.contains(&"fix login".to_owned()),
        "{names:?}"
    );
    assert_eq!(
        saved(&mut client, &other, "from a").await.messages,
        working_before.messages
    );
    assert!(working(&mut client, &other).await.messages.is_empty());

    // --replace-working: the bundle's working session takes over, and
    // what it replaced is in the trash.
    append_message(&mut client, &other, common::message(Role::User, "scratch")).await;
    sandbox
        .chronicle(
            &dir,
            &["restore", &path_str(&bundle), "-C", &other, "--replace-working"],
        )
        .ok();
    assert_eq!(working(&mut client, &other).await.messages, working_before.messages);
    assert!(
        trash(&mut client, &other)
            .await
            .iter()
            .any(|e| e.reason == "replaced-by-import" && e.message_count == 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_of_many_chunks_streams_both_ways() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let dir = sandbox.project("big");
    let project = path_str(&dir);
    // ~6 MiB: several 1 MiB chunks each way, and lines split across them.
    let body = "lorem ipsum dolor sit amet ".repeat(2000);
    for i in 0..120 {
        append_message(
            &mut client,
            &project,
            common::message(Role::User, &format!("{i} {body}")),
        )
        .await;
    }
    let bundle = sandbox.dir.path().join("big.jsonl");
    backup(&sandbox, &dir, &bundle, &[]);
    assert!(fs::metadata(&bundle).expect("stat").len() > 6_000_000);
    let elsewhere = sandbox.project("copy");
    sandbox
        .chronicle(&dir, &["restore", &path_str(&bundle), "-C", &path_str(&elsewhere)])
        .ok();
    let copy = working(&mut client, &path_str(&elsewhere)).await;
    assert_eq!(copy.messages, working(&mut client, &project).await.messages);
    // From stdin as well.
    let piped = sandbox.project("piped");
    let text = fs::read_to_string(&bundle).expect("read");
    sandbox
        .chronicle_with_stdin(&dir, &["restore", "-", "-C", &path_str(&piped)], Some(&text))
        .ok();
    assert_eq!(working(&mut client, &path_str(&piped)).await.messages.len(), 120);
}
