//! The daemon process itself: its socket, directories and database are
//! private to the user; one daemon per data directory (a second one exits
//! non-zero naming the first one's pid and leaves it serving); a stale
//! socket left by a crash is replaced; SIGTERM ends open streams, exits
//! with code 0 and removes the socket, even while a client that stopped
//! answering holds its connection; GetStatus describes the running
//! daemon; and the standard grpc.health.v1 service answers on the same
//! socket.

use std::{
    fs,
    os::unix::fs::{FileTypeExt, PermissionsExt},
    path::Path,
    process::{Command, Output, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::common::{append, open, path_str, save, watch, working};
use chronicle_proto::v1::{DeleteSessionRequest, EventKind, GetStatusRequest, Role, SaveMode};
use chronicle_tests::{STARTUP_TIMEOUT, Sandbox, binary};
use tonic::Code;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path)
        .unwrap_or_else(|err| panic!("stat {}: {err}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Runs a command that must exit on its own, with a deadline so a daemon
/// that wrongly keeps running fails the test instead of hanging it.
fn run_to_exit(mut command: Command) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the second chronicled");
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    while child.try_wait().expect("wait for the second chronicled").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("collect the output");
            panic!(
                "the second chronicled kept running; stderr:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("collect the output")
}

#[tokio::test(flavor = "multi_thread")]
async fn socket_directories_and_database_are_private() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let socket = sandbox.socket();
    let socket_dir = socket.parent().expect("the socket has a directory");
    let data_dir = sandbox.data_dir();

    let meta = fs::symlink_metadata(&socket).expect("stat the socket");
    assert!(meta.file_type().is_socket(), "{} is a socket", socket.display());
    assert_eq!(mode(&socket), 0o600, "socket mode");
    assert_eq!(mode(socket_dir), 0o700, "socket directory mode");
    assert_eq!(mode(&data_dir), 0o700, "data directory mode");
    assert_eq!(mode(&data_dir.join("chronicle.redb")), 0o600, "database mode");
    assert_eq!(mode(&data_dir.join("chronicled.lock")), 0o600, "lock file mode");

    // Still private after the database has grown.
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut client, &project, Role::User, "x").await;
    assert_eq!(
        mode(&data_dir.join("chronicle.redb")),
        0o600,
        "database mode after a write"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_daemon_on_the_same_data_dir_refuses_to_start() {
    let sandbox = Sandbox::new();
    let first = sandbox.start();
    let other_socket = sandbox.dir.path().join("other-run").join("other.sock");

    let mut second = Command::new(binary("chronicled"));
    second
        .arg("--socket")
        .arg(&other_socket)
        .arg("--data-dir")
        .arg(sandbox.data_dir())
        .env("CHRONICLE_LOG", "info")
        .stdin(Stdio::null());
    let output = run_to_exit(second);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the second daemon must fail; stderr:\n{stderr}"
    );
    assert!(stderr.contains("already running"), "stderr says why:\n{stderr}");
    assert!(
        stderr.contains(&format!("(pid {})", first.pid())),
        "stderr names the first daemon's pid {}:\n{stderr}",
        first.pid()
    );
    assert!(!other_socket.exists(), "the refused daemon bound no socket");

    // The first daemon is unharmed.
    let mut client = first.client().await;
    let project = path_str(&sandbox.project("app"));
    assert_eq!(
        append(&mut client, &project, Role::User, "still here").await.revision,
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_daemon_with_the_same_flags_leaves_the_first_serving() {
    let sandbox = Sandbox::new();
    let first = sandbox.start();

    let output = run_to_exit(sandbox.daemon_command());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "the second daemon must fail; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "already running for {} (pid {})",
            sandbox.data_dir().display(),
            first.pid()
        )),
        "{stderr}"
    );

    assert!(
        fs::symlink_metadata(sandbox.socket()).is_ok_and(|m| m.file_type().is_socket()),
        "the first daemon's socket stays"
    );
    let mut client = first.client().await;
    let project = path_str(&sandbox.project("app"));
    assert_eq!(open(&mut client, &project).await.revision, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_socket_left_by_a_crash_is_replaced() {
    let sandbox = Sandbox::new();
    let project = path_str(&sandbox.project("app"));
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    append(&mut client, &project, Role::User, "acknowledged before the crash").await;
    drop(client);
    daemon.crash();

    let socket = sandbox.socket();
    let left = fs::symlink_metadata(&socket).expect("a crash leaves the socket file behind");
    assert!(left.file_type().is_socket());
    assert!(
        std::os::unix::net::UnixStream::connect(&socket).is_err(),
        "nobody answers on the stale socket"
    );

    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let content = working(&mut client, &project).await;
    assert_eq!(content.messages.len(), 1, "the acknowledged append survived the crash");
    assert_eq!(content.messages[0].content, "acknowledged before the crash");
    assert_eq!(mode(&socket), 0o600, "the new socket is private too");
    assert!(
        daemon.log_text().contains("stale socket"),
        "the daemon says it replaced the stale socket"
    );
}

#[test]
fn sigterm_exits_even_while_a_client_that_stopped_answering_holds_its_connection() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    // A client that made a call and then stopped running (a suspended
    // process): its connection stays open and never answers the daemon's
    // goodbye.
    let (connected, stalled) = std::sync::mpsc::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let socket = sandbox.socket();
    let client = thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let client = runtime.block_on(async {
            let client = chronicle_client::Client::connect(&socket).await.expect("connect");
            client.status().await.expect("GetStatus");
            client
        });
        connected.send(()).expect("signal");
        // Nothing polls the connection until the test lets go.
        let _ = released.recv();
        drop(client);
    });
    stalled.recv().expect("the client connected");

    let asked = Instant::now();
    let status = daemon.stop();
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean exit, got {status}");
    assert!(asked.elapsed() < STARTUP_TIMEOUT);
    assert!(
        fs::symlink_metadata(sandbox.socket()).is_err(),
        "the socket file is removed"
    );
    let log = fs::read_to_string(sandbox.log()).expect("daemon log");
    assert!(log.contains("a client did not close its connection"), "{log}");
    release.send(()).expect("release the client");
    client.join().expect("client thread");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_exits_cleanly_and_removes_the_socket() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut client, &project, Role::User, "x").await;
    drop(client);

    let status = daemon.stop();
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean exit, got {status}");
    assert!(
        fs::symlink_metadata(sandbox.socket()).is_err(),
        "the socket file is removed"
    );

    // The lock went with the process: a new daemon starts at once.
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    assert_eq!(open(&mut client, &project).await.message_count, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_ends_open_watch_streams_with_unavailable() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    let mut stream = watch(&mut client, &project).await;
    let hello = stream
        .message()
        .await
        .expect("a healthy stream")
        .expect("a first event");
    assert_eq!(hello.kind, EventKind::Snapshot as i32);

    let status = daemon.stop();
    assert_eq!(
        status.code(),
        Some(0),
        "an open Watch must not keep the daemon alive, got {status}"
    );
    let end = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("the stream ends once the daemon is gone");
    match end {
        Err(status) => assert_eq!(status.code(), Code::Unavailable, "{}", status.message()),
        Ok(event) => panic!("expected UNAVAILABLE, got {event:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn get_status_describes_the_running_daemon() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let a = path_str(&sandbox.project("a"));
    let b = path_str(&sandbox.project("b"));
    append(&mut client, &a, Role::User, "x").await;
    save(&mut client, &a, "one", SaveMode::CreateNew).await;
    save(&mut client, &a, "two", SaveMode::CreateNew).await;
    open(&mut client, &b).await;
    client
        .delete_session(DeleteSessionRequest {
            project: a.clone(),
            name: "two".into(),
            expected_revision: None,
        })
        .await
        .expect("DeleteSession");
    let revision = open(&mut client, &a).await.revision;

    let status = client
        .get_status(GetStatusRequest {})
        .await
        .expect("GetStatus")
        .into_inner();
    assert_eq!(status.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(status.pid, daemon.pid());
    assert_eq!(Path::new(&status.socket), sandbox.socket());
    assert_eq!(Path::new(&status.data_dir), sandbox.data_dir());
    assert_eq!(status.project_count, 2);
    assert_eq!(status.saved_session_count, 1);
    assert_eq!(status.trash_count, 1);
    assert_eq!(status.schema_version, 3, "the schema this build writes");
    assert!(status.started_at_ms > 0);

    let again = client
        .get_status(GetStatusRequest {})
        .await
        .expect("GetStatus")
        .into_inner();
    assert_eq!(again.started_at_ms, status.started_at_ms, "the start time is fixed");
    assert_eq!(
        open(&mut client, &a).await.revision,
        revision,
        "GetStatus never mutates"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_health_answers_on_the_same_socket() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let channel = chronicle_client::channel(&daemon.socket)
        .await
        .expect("connect to the health service");
    let mut health = HealthClient::new(channel);

    for service in ["", "chronicle.v1.Sessions"] {
        let response = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|status| panic!("health check of {service:?}: {status}"))
            .into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "service {service:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await;
    assert_eq!(unknown.err().map(|s| s.code()), Some(Code::NotFound));
}
