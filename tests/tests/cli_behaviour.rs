//! How the CLI behaves around the daemon: it starts one when none answers
//! and stops it on request, its exit codes are the documented ones for real
//! bad invocations, and it is a good citizen in pipes.

use std::{
    io::{BufRead, BufReader},
    os::unix::fs::PermissionsExt,
    process::Stdio,
};

use chronicle_tests::{Sandbox, StopDaemonOnDrop};

#[test]
fn status_starts_a_daemon_and_daemon_stop_stops_it() {
    let sandbox = Sandbox::new();
    let _stop = StopDaemonOnDrop(&sandbox);
    let dir = sandbox.project("p");
    assert!(
        std::os::unix::net::UnixStream::connect(sandbox.socket()).is_err(),
        "nothing runs yet"
    );

    let status = sandbox.chronicle(&dir, &["status"]).ok();
    assert!(status.stderr.contains("started chronicled"), "{}", status.stderr);
    assert!(status.stdout.contains("running (pid"), "{}", status.stdout);
    assert!(
        status.stdout.contains(&sandbox.data_dir().display().to_string()),
        "{}",
        status.stdout
    );
    assert!(
        sandbox.data_dir().join("chronicled.log").is_file(),
        "the daemon logs to its data dir"
    );

    let json: serde_json::Value =
        serde_json::from_str(&sandbox.chronicle(&dir, &["status", "--json"]).ok().stdout).expect("json");
    assert_eq!(json["running"], true);
    assert_eq!(json["socket"], sandbox.socket().display().to_string());
    let pid = json["pid"].as_u64().expect("pid");

    let stopped = sandbox.chronicle(&dir, &["daemon", "stop"]).ok();
    assert_eq!(stopped.stdout.trim(), format!("Stopped chronicled (pid {pid})"));
    assert!(
        std::os::unix::net::UnixStream::connect(sandbox.socket()).is_err(),
        "the socket is gone"
    );
    let again = sandbox.chronicle(&dir, &["daemon", "stop"]).ok();
    assert!(again.stdout.contains("No daemon is running"), "{}", again.stdout);

    let started = sandbox.chronicle(&dir, &["daemon", "start"]).ok();
    assert!(started.stdout.starts_with("Started chronicled"), "{}", started.stdout);
    let restarted = sandbox.chronicle(&dir, &["daemon", "restart"]).ok();
    assert!(
        restarted.stdout.contains("Stopped chronicled") && restarted.stdout.contains("Started chronicled"),
        "{}",
        restarted.stdout
    );
    let logs = sandbox.chronicle(&dir, &["daemon", "logs"]).ok();
    assert!(logs.stdout.contains("chronicled is serving"), "{}", logs.stdout);
}

#[test]
fn exit_codes_follow_the_documented_table() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let dir = sandbox.project("codes");
    sandbox.chronicle(&dir, &["add", "hi"]).ok();
    sandbox.chronicle(&dir, &["save", "s"]).ok();

    let cases: &[(&[&str], i32, &str)] = &[
        (&["save", "s"], 1, "already exists"),
        (&["rm", "nope"], 1, "no saved session named \"nope\""),
        (&["load", "nope"], 1, "chronicle ls"),
        (&["trash", "restore", "999"], 1, "does not exist"),
        (&["edit", "42", "x"], 1, "message 42"),
        (&["add"], 2, "stdin"),
        (&["save", "   "], 2, "name is empty"),
        (&["rename", "s", &"x".repeat(129)], 2, "129 characters"),
        (&["trash", "purge"], 2, "say what to purge"),
        (&["trash", "purge", "--older-than", "soon"], 2, "not an age"),
        (&["--no-such-flag"], 2, "--no-such-flag"),
        (&["export", "--image", "--width", "10"], 2, "480 to 2400"),
    ];
    for (args, code, needle) in cases {
        let run = sandbox.chronicle(&dir, args);
        assert_eq!(run.code, Some(*code), "chronicle {args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(needle),
            "chronicle {args:?}: stderr {:?} lacks {needle:?}",
            run.stderr
        );
        if *code != 2 || !args.contains(&"--no-such-flag") {
            assert_eq!(
                run.stderr.trim().lines().count(),
                1,
                "one-line error for {args:?}: {}",
                run.stderr
            );
        }
    }
    drop(daemon);
}

#[test]
fn an_unstartable_daemon_exits_3() {
    let sandbox = Sandbox::new();
    let dir = sandbox.project("nodaemon");
    let blocker = sandbox.dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").expect("write blocker");
    let run = sandbox
        .cli()
        .current_dir(&dir)
        .env("CHRONICLE_SOCKET", blocker.join("chronicle.sock"))
        .args(["ls"])
        .output()
        .expect("run chronicle");
    assert_eq!(run.status.code(), Some(3), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stderr).contains("chronicled exited"));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let sandbox = Sandbox::new();
    let _daemon = sandbox.start();
    let dir = sandbox.project("pipe");
    let big = "line of text\n".repeat(20_000);
    sandbox.chronicle_with_stdin(&dir, &["add", "-"], Some(&big)).ok();
    let mut child = sandbox
        .cli()
        .current_dir(&dir)
        .args(["show", "--full"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("read one line");
    assert!(first.starts_with("Working session of"), "{first}");
    // The reader is dropped here, like `head -1` exiting.
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Another user's `chronicle` pointed at this user's daemon: the client
/// refuses the socket (its directory is not that user's) before sending a
/// byte. The daemon's own refusal of other uids, for clients that skip the
/// check, is `daemon_access::every_call_from_another_uid_is_permission_denied`.
#[test]
fn another_user_is_refused() {
    if rustix::process::getuid().as_raw() != 0 {
        crate::common::skip("switching to another uid needs root (CI runs as root)");
        return;
    }
    let sandbox = Sandbox::new();
    let _daemon = sandbox.start();
    let dir = sandbox.project("shared");
    // Open the way to the socket for everyone.
    for path in [
        sandbox.dir.path().to_path_buf(),
        sandbox.socket().parent().expect("dir").to_path_buf(),
        sandbox.socket(),
    ] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    }
    std::fs::set_permissions(
        sandbox.dir.path().join("projects"),
        std::fs::Permissions::from_mode(0o777),
    )
    .expect("chmod");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let out = std::os::unix::process::CommandExt::uid(&mut sandbox.cli(), 65534)
        .current_dir(&dir)
        .args(["ls"])
        .output()
        .expect("run chronicle as nobody");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("belongs to uid 0, not to you (uid 65534)"), "{stderr}");
}
