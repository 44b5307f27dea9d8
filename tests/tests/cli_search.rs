//! `chronicle search`, `show --session --at`, `fork`, `rewind` and the
//! lineage in `ls`, through the real binary: what the user reads (hits
//! grouped by session, the match between `**` off a terminal, the command
//! that opens each hit), the JSON shape, and one-line errors with their
//! exit codes.

use std::time::{Duration, Instant};

use chronicle_tests::{Sandbox, StopDaemonOnDrop};

/// Runs `chronicle search ARGS --json` until `done` holds (the index
/// follows commits a moment later), bounded.
fn search_until(
    sandbox: &Sandbox,
    dir: &std::path::Path,
    args: &[&str],
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut full = vec!["search"];
        full.extend_from_slice(args);
        full.push("--json");
        let run = sandbox.chronicle(dir, &full).ok();
        let value: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
        if done(&value) && value["index_catching_up"] == false {
            return value;
        }
        assert!(Instant::now() < deadline, "never got the expected answer: {value}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn search_show_at_fork_and_rewind_from_the_command_line() {
    let sandbox = Sandbox::new();
    let _stop = StopDaemonOnDrop(&sandbox);
    let project = sandbox.project("cli");
    let other = sandbox.project("elsewhere");
    let run = |args: &[&str]| sandbox.chronicle(&project, args).ok();
    run(&["add", "The parser chokes on trailing commas"]);
    run(&[
        "add",
        "--role",
        "assistant",
        "--model",
        "gpt-5",
        "Fixed the parser: commas are skipped now",
    ]);
    run(&["add", "Thanks, the parser works"]);
    run(&["add", "Now the lexer"]);
    sandbox.chronicle(&other, &["add", "parser notes from elsewhere"]).ok();
    run(&["save", "parser fix"]);

    let json = search_until(&sandbox, &project, &["parser"], |v| v["total_hits"] == 6);
    let hit = &json["hits"][0];
    for key in [
        "project",
        "kind",
        "session",
        "message_id",
        "role",
        "created_at",
        "model",
        "score",
        "snippet",
        "highlights",
    ] {
        assert!(hit.get(key).is_some(), "hit lacks {key}: {hit}");
    }
    let everywhere = search_until(&sandbox, &project, &["parser", "--all-projects"], |v| {
        v["total_hits"] == 7
    });
    assert!(
        everywhere["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .any(|h| h["project"].as_str().is_some_and(|p| p.ends_with("elsewhere")))
    );

    // Text output: grouped by session, highlighted with ** off a terminal,
    // each hit with the command that opens it.
    let text = run(&["search", "parser", "role:assistant"]).stdout;
    assert!(text.contains("Working session"), "{text}");
    assert!(text.contains("Saved session \"parser fix\""), "{text}");
    assert!(text.contains("**parser**"), "{text}");
    assert!(text.contains("chronicle show --at 2"), "{text}");
    assert!(text.contains("chronicle show --session 'parser fix' --at 2"), "{text}");
    let none = run(&["search", "zebra"]).stdout;
    assert!(none.contains("No messages match"), "{none}");
    let bad = sandbox.chronicle(&project, &["search", "role:robot"]);
    assert_eq!(bad.code, Some(2), "{bad:?}");
    assert!(
        bad.stderr.contains("`role:robot`") && bad.stderr.lines().count() == 1,
        "{}",
        bad.stderr
    );

    // show --session --at opens the saved session at that message, in full.
    let shown = run(&["show", "--session", "parser fix", "--at", "2"]).stdout;
    assert!(shown.contains("Saved session \"parser fix\""), "{shown}");
    assert!(
        shown.contains("▶ here") && shown.contains("commas are skipped now"),
        "{shown}"
    );
    let missing = sandbox.chronicle(&project, &["show", "--at", "99"]);
    assert_eq!(missing.code, Some(1));
    assert!(missing.stderr.contains("message 99"), "{}", missing.stderr);

    // fork, ls shows the lineage.
    let forked = run(&["fork", "--at", "2", "--as", "before thanks"]).stdout;
    assert!(forked.contains("2 messages"), "{forked}");
    run(&["fork", "parser fix", "--at", "1", "--as", "just the question"]);
    let listed = run(&["ls"]).stdout;
    assert!(listed.contains("FORKED FROM"), "{listed}");
    assert!(
        listed.contains("working session @2") && listed.contains("\"parser fix\" @1"),
        "{listed}"
    );
    let listed: serde_json::Value = serde_json::from_str(&run(&["ls", "--json"]).stdout).expect("json");
    let fork = listed
        .as_array()
        .expect("array")
        .iter()
        .find(|s| s["name"] == "just the question")
        .expect("listed");
    assert_eq!(fork["forked_from"]["session"], "parser fix");
    assert_eq!(fork["forked_from"]["message_id"], 1);
    let taken = sandbox.chronicle(&project, &["fork", "--at", "1", "--as", "parser fix"]);
    assert_eq!(taken.code, Some(1));
    assert!(taken.stderr.contains("already exists"), "{}", taken.stderr);
    let unknown = sandbox.chronicle(&project, &["fork", "--at", "42", "--as", "x"]);
    assert_eq!(unknown.code, Some(1));
    assert!(unknown.stderr.contains("message 42"), "{}", unknown.stderr);

    // rewind: the later messages go to the trash, restorable.
    let rewound = run(&["rewind", "2"]).stdout;
    assert!(rewound.contains("trash"), "{rewound}");
    let now: serde_json::Value = serde_json::from_str(&run(&["show", "--json"]).stdout).expect("json");
    assert_eq!(now["messages"].as_array().expect("messages").len(), 2);
    let trash = run(&["trash", "--json"]).stdout;
    assert!(trash.contains("\"rewound\""), "{trash}");
    let last = sandbox.chronicle(&project, &["rewind", "2"]);
    assert_eq!(last.code, Some(2), "nothing to rewind is a usage error: {last:?}");
    let unknown = sandbox.chronicle(&project, &["rewind", "77"]);
    assert_eq!(unknown.code, Some(1));
    assert!(unknown.stderr.contains("message 77"), "{}", unknown.stderr);
    // The rewound message is found in the trash only when asked; the
    // saved copy made before the rewind still has it.
    let kinds = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .map(|h| h["kind"].as_str().unwrap_or("").to_owned())
            .collect();
        k.sort();
        k
    };
    let plain = search_until(&sandbox, &project, &["lexer"], |v| v["total_hits"] == 1);
    assert_eq!(kinds(&plain), ["saved"]);
    let with_trash = search_until(&sandbox, &project, &["lexer", "--trash"], |v| v["total_hits"] == 2);
    assert_eq!(kinds(&with_trash), ["saved", "trash"]);
}
