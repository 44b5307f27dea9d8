//! The seed workflow through the real `chronicle` binary, from a fresh data
//! directory with nothing started by hand: the CLI starts the daemon, and
//! every step is checked by what the user sees.

use chronicle_tests::{Sandbox, StopDaemonOnDrop};

#[test]
fn the_seed_workflow_end_to_end() {
    let sandbox = Sandbox::new();
    let _stop = StopDaemonOnDrop(&sandbox);
    let project = sandbox.project("app");
    std::fs::create_dir_all(project.join(".git")).expect("fake git repo");
    std::fs::create_dir_all(project.join("src")).expect("src");
    std::fs::write(project.join("src/login.rs"), "fn login() {}").expect("write file");
    let sub = project.join("src");
    let run = |args: &[&str]| sandbox.chronicle(&project, args).ok();

    // Add messages and files (a path relative to a subdirectory is stored
    // relative to the project root, found through .git).
    run(&["add", "Fix the login bug"]);
    sandbox
        .chronicle_with_stdin(
            &project,
            &["add", "--role", "assistant", "--model", "gpt-5", "-"],
            Some("Done:\n\n```rust\nfn login() {}\n```\n"),
        )
        .ok();
    sandbox.chronicle(&sub, &["files", "add", "login.rs"]).ok();
    run(&["files", "add", "--read-only", "README.md"]);
    let show = run(&["show"]).stdout;
    assert!(show.contains("src/login.rs"), "{show}");
    assert!(show.contains("README.md  (read-only, missing)"), "{show}");
    assert!(show.contains("Fix the login bug") && show.contains("gpt-5"), "{show}");

    // Save, then clear, then load messages only.
    let saved = run(&["save", "fix login"]).stdout;
    assert!(saved.contains("Saved \"fix login\" (2 messages, 2 files)"), "{saved}");
    run(&["clear"]);
    run(&["files", "set"]);
    let empty: serde_json::Value = serde_json::from_str(&run(&["show", "--json"]).stdout).expect("json");
    assert_eq!(empty["messages"].as_array().map(Vec::len), Some(0));
    assert_eq!(empty["files"].as_array().map(Vec::len), Some(0));
    run(&["load", "fix login", "--messages"]);
    let after_messages: serde_json::Value = serde_json::from_str(&run(&["show", "--json"]).stdout).expect("json");
    assert_eq!(after_messages["messages"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        after_messages["files"].as_array().map(Vec::len),
        Some(0),
        "files were not asked for"
    );

    // Load files only.
    run(&["load", "fix login", "--files"]);
    let after_files: serde_json::Value = serde_json::from_str(&run(&["show", "--json"]).stdout).expect("json");
    let paths: Vec<&str> = after_files["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert_eq!(paths, ["src/login.rs", "README.md"]);
    assert_eq!(after_files["messages"][1]["model"], "gpt-5");

    // Overwrite with a third message.
    run(&["add", "Also add a test"]);
    let taken = sandbox.chronicle(&project, &["save", "fix login"]);
    assert_eq!(taken.code, Some(1));
    assert!(taken.stderr.contains("--overwrite"), "{}", taken.stderr);
    run(&["save", "fix login", "--overwrite"]);
    let listed: serde_json::Value = serde_json::from_str(&run(&["ls", "--json"]).stdout).expect("json");
    assert_eq!(listed[0]["name"], "fix login");
    assert_eq!(listed[0]["messages"], 3);

    // Rename, remove, restore from the trash.
    run(&["rename", "fix login", "login fixed"]);
    let removed = run(&["rm", "login fixed"]).stdout;
    assert!(removed.contains("trash restore"), "{removed}");
    let id = removed
        .split("trash restore ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .expect("trash id in output")
        .to_owned();
    assert!(run(&["ls"]).stdout.contains("No saved sessions"));
    let trash: serde_json::Value = serde_json::from_str(&run(&["trash", "--json"]).stdout).expect("json");
    assert!(
        trash
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["id"] == id.as_str() && e["reason"] == "deleted")
    );
    run(&["trash", "restore", &id]);
    let table = run(&["ls"]).stdout;
    assert!(table.lines().next().is_some_and(|h| h.starts_with("NAME")), "{table}");
    assert!(table.contains("login fixed"), "{table}");

    // Export Markdown and read it back.
    let out = sandbox.dir.path().join("export.md");
    let out_arg = out.to_string_lossy().into_owned();
    let printed = run(&["export", "login fixed", "--markdown", "-o", &out_arg]).stdout;
    assert_eq!(printed.trim(), out_arg);
    let doc = std::fs::read_to_string(&out).expect("read export");
    assert!(doc.starts_with("# login fixed\n"), "{doc}");
    assert!(
        doc.contains("- `src/login.rs`") && doc.contains("- `README.md` *(read-only, missing)*"),
        "{doc}"
    );
    assert!(
        doc.contains("### User · #1 ·") && doc.contains("Fix the login bug"),
        "{doc}"
    );
    assert!(
        doc.contains("### Assistant · #2 ·") && doc.contains("*model `gpt-5`*"),
        "{doc}"
    );
    assert!(doc.contains("Also add a test"), "{doc}");
    let to_stdout = run(&["export", "--markdown", "-o", "-"]).stdout;
    assert!(to_stdout.starts_with("# Working session\n"), "{to_stdout}");
}

#[test]
fn a_default_export_name_comes_from_the_session() {
    let sandbox = Sandbox::new();
    let _stop = StopDaemonOnDrop(&sandbox);
    let project = sandbox.project("named");
    sandbox.chronicle(&project, &["add", "hello"]).ok();
    sandbox.chronicle(&project, &["save", "Fix login/bug"]).ok();
    let printed = sandbox
        .chronicle(&project, &["export", "Fix login/bug", "--markdown"])
        .ok()
        .stdout;
    let name = printed.trim();
    assert!(name.starts_with("fix-login-bug-") && name.ends_with(".md"), "{name}");
    assert!(!name.contains('/'));
    assert!(project.join(name).is_file());
}

#[test]
fn edit_and_remove_messages() {
    let sandbox = Sandbox::new();
    let _stop = StopDaemonOnDrop(&sandbox);
    let project = sandbox.project("edits");
    for text in ["one", "two", "three", "four"] {
        sandbox.chronicle(&project, &["add", text]).ok();
    }
    sandbox.chronicle(&project, &["edit", "2", "TWO"]).ok();
    sandbox.chronicle(&project, &["rm-msg", "3", "--after"]).ok();
    let shown: serde_json::Value =
        serde_json::from_str(&sandbox.chronicle(&project, &["show", "--json"]).ok().stdout).expect("json");
    let contents: Vec<&str> = shown["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert_eq!(contents, ["one", "TWO"]);
    let tail = sandbox
        .chronicle(&project, &["show", "--tail", "1", "--json"])
        .ok()
        .stdout;
    let tail: serde_json::Value = serde_json::from_str(&tail).expect("json");
    assert_eq!(tail["messages"][0]["content"], "TWO");
    assert_eq!(tail["messages"].as_array().map(Vec::len), Some(1));
}

#[test]
fn counts_of_one_are_singular_and_every_trash_listing_takes_json_and_all() {
    let sandbox = Sandbox::new();
    let _stop = StopDaemonOnDrop(&sandbox);
    let project = sandbox.project("single");
    let other = sandbox.project("other");
    let run = |dir: &std::path::Path, args: &[&str]| sandbox.chronicle(dir, args).ok();

    run(&project, &["add", "only one"]);
    let saved = run(&project, &["save", "one"]).stdout;
    assert!(saved.contains("Saved \"one\" (1 message, 0 files)"), "{saved}");
    let cleared = run(&project, &["clear"]).stdout;
    assert!(cleared.starts_with("Cleared 1 message "), "{cleared}");
    run(&other, &["add", "elsewhere"]);
    run(&other, &["clear"]);

    // `trash ls` and `trash` list the same, with --json and --all on either.
    let parse = |text: &str| -> serde_json::Value { serde_json::from_str(text).expect("json") };
    let here = parse(&run(&project, &["trash", "ls", "--json"]).stdout);
    assert_eq!(here, parse(&run(&project, &["trash", "--json"]).stdout));
    assert_eq!(here.as_array().map(Vec::len), Some(1), "{here}");
    let everywhere = parse(&run(&project, &["trash", "ls", "--all", "--json"]).stdout);
    assert_eq!(everywhere, parse(&run(&project, &["trash", "--all", "--json"]).stdout));
    assert_eq!(everywhere.as_array().map(Vec::len), Some(2), "{everywhere}");
    let table = run(&project, &["trash", "ls", "--all"]).stdout;
    assert!(table.lines().next().is_some_and(|h| h.contains("PROJECT")), "{table}");

    let purged = run(&project, &["trash", "purge", "--all"]).stdout;
    assert!(purged.contains("Purged 2 trash entries for good"), "{purged}");
    let help = run(&project, &["trash", "ls", "--help"]).stdout;
    assert!(help.contains("--json") && help.contains("One JSON document"), "{help}");
}
