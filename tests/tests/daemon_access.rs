//! Who may use a daemon. Run as root (CI is), a daemon started as the
//! unprivileged uid 65534 answers every call from root — every method of
//! every service it registers (`chronicle.v1.Sessions`, grpc.health.v1,
//! reflection v1 and v1alpha, read from their descriptors so that new
//! RPCs are covered too), raw and through the generated clients — with
//! PERMISSION_DENIED, although root can open its socket. At start the daemon refuses a socket directory that is a
//! symbolic link or belongs to another user, saying which and why, and
//! even under umask 000 nothing it creates is readable by anyone else.
//! (The default modes are checked in daemon_lifecycle.rs.) Tests that need
//! root say so and pass when run without it.

use crate::common;

use std::{
    fs,
    os::unix::fs::{PermissionsExt, chown},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    thread,
    time::{Duration, Instant},
};

use chronicle_proto::{
    SessionsClient,
    v1::{AppendMessageRequest, GetStatusRequest, WatchRequest},
};
use chronicle_tests::{STARTUP_TIMEOUT, Sandbox, binary};
use prost::Message as _;
use prost_types::FileDescriptorSet;
use tonic::{Code, Status};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
use tonic_reflection::pb::{v1, v1alpha};

/// The unprivileged user the foreign daemon runs as.
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    rustix::process::getuid().is_root()
}

/// Says why a root-only test did nothing.
fn skip_unless_root(what: &str) -> bool {
    if is_root() {
        return false;
    }
    crate::common::skip(&format!("{what} needs root (CI runs as root)"));
    true
}

/// A child process, killed when dropped so a failing test leaves none.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A daemon running as uid 65534; killed when dropped.
struct ForeignDaemon {
    child: KillOnDrop,
    socket: PathBuf,
    log: PathBuf,
}

impl ForeignDaemon {
    /// Starts `chronicled` through `setpriv` as 65534, in directories that
    /// user owns, and waits until its socket accepts connections.
    fn start(sandbox: &Sandbox) -> Self {
        let root = sandbox.dir.path();
        // Let 65534 through the sandbox, into directories of its own.
        fs::set_permissions(root, fs::Permissions::from_mode(0o711)).expect("open the sandbox for traversal");
        let run = root.join("foreign-run");
        let data = root.join("foreign-data");
        for dir in [&run, &data] {
            fs::create_dir(dir).expect("create a directory for 65534");
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).expect("chmod 0700");
            chown(dir, Some(NOBODY), Some(NOBODY)).expect("chown to 65534");
        }
        // A copy of the binary 65534 can certainly execute, wherever the
        // workspace lives.
        let exe = root.join("chronicled");
        fs::copy(binary("chronicled"), &exe).expect("copy chronicled into the sandbox");
        fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).expect("chmod the copy");
        let socket = run.join("chronicle.sock");
        let log = root.join("foreign.log");
        let log_file = fs::File::create(&log).expect("create the log");
        let child = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&exe)
            .arg("--socket")
            .arg(&socket)
            .arg("--data-dir")
            .arg(&data)
            .env("CHRONICLE_LOG", "info")
            .env_remove("CHRONICLE_SOCKET")
            .env_remove("CHRONICLE_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("spawn setpriv (util-linux)");
        let mut daemon = ForeignDaemon {
            child: KillOnDrop(child),
            socket,
            log,
        };
        daemon.wait_until_listening();
        daemon
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while std::os::unix::net::UnixStream::connect(&self.socket).is_err() {
            if let Ok(Some(status)) = self.child.0.try_wait() {
                panic!("the daemon of 65534 exited with {status}:\n{}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "the daemon of 65534 did not start:\n{}",
                self.log_text()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Asserts that a call was refused as coming from another user.
#[track_caller]
fn denied<T: std::fmt::Debug>(result: Result<T, Status>, what: &str) {
    match result {
        Ok(answer) => panic!("{what}: root was served by 65534's daemon: {answer:?}"),
        Err(status) => {
            assert_eq!(status.code(), Code::PermissionDenied, "{what}: {}", status.message());
            assert!(
                status.message().contains("serves only the user who started it"),
                "{what}: the message says why: {}",
                status.message()
            );
        }
    }
}

/// Every method of every service the daemon serves, as gRPC paths, read
/// from the descriptors it registers for reflection: an RPC added later is
/// covered without touching this test.
fn every_method() -> Vec<String> {
    let sets = [
        chronicle_proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        v1::FILE_DESCRIPTOR_SET,
        v1alpha::FILE_DESCRIPTOR_SET,
    ];
    let mut paths = Vec::new();
    for set in sets {
        let set = FileDescriptorSet::decode(set).expect("a valid descriptor set");
        for file in set.file {
            for service in &file.service {
                for method in &service.method {
                    paths.push(format!("/{}.{}/{}", file.package(), service.name(), method.name()));
                }
            }
        }
    }
    paths
}

#[tokio::test(flavor = "multi_thread")]
async fn every_call_from_another_uid_is_permission_denied() {
    if skip_unless_root("starting a daemon as uid 65534") {
        return;
    }
    let sandbox = Sandbox::new();
    let daemon = ForeignDaemon::start(&sandbox);
    let status = fs::read_to_string(format!("/proc/{}/status", daemon.child.0.id())).expect("read the daemon's status");
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap_or_default();
    assert!(
        uid.split_whitespace().skip(1).all(|id| id == "65534"),
        "the daemon runs as 65534: {uid}"
    );
    let channel = chronicle_tests::unchecked_channel(&daemon.socket).await;

    // Every method, raw: an empty message, refused before it is decoded.
    let methods = every_method();
    let mut raw = channel.clone();
    for path in &methods {
        denied::<()>(Err(common::raw_grpc_call(&mut raw, path, vec![0; 5]).await), path);
    }
    let sessions_methods = methods
        .iter()
        .filter(|p| p.starts_with("/chronicle.v1.Sessions/"))
        .count();
    assert!(sessions_methods >= 24, "only {sessions_methods} Sessions methods found");

    // And through the generated clients, as a real caller would.
    let mut sessions = SessionsClient::new(channel.clone());
    denied(sessions.get_status(GetStatusRequest {}).await, "GetStatus");
    denied(sessions.watch(WatchRequest::default()).await.map(drop), "Watch");
    denied(
        sessions
            .append_message(AppendMessageRequest {
                project: "/root/project".into(),
                message: None,
                expected_revision: None,
            })
            .await,
        "AppendMessage",
    );

    let mut health = HealthClient::new(channel.clone());
    denied(
        health.check(HealthCheckRequest::default()).await,
        "grpc.health.v1 Check",
    );
    denied(
        health.watch(HealthCheckRequest::default()).await.map(drop),
        "grpc.health.v1 Watch",
    );

    let mut reflection = v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let ask = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    denied(
        reflection
            .server_reflection_info(tokio_stream::iter([ask]))
            .await
            .map(drop),
        "reflection v1",
    );
    let mut reflection_alpha = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let ask = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1alpha::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    denied(
        reflection_alpha
            .server_reflection_info(tokio_stream::iter([ask]))
            .await
            .map(drop),
        "reflection v1alpha",
    );
    eprintln!(
        "another uid: {} methods of {} services raw, and 7 calls through generated clients, all PERMISSION_DENIED",
        methods.len(),
        methods
            .iter()
            .filter_map(|p| p.rsplit_once('/').map(|(service, _)| service))
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );

    let log = daemon.log_text();
    assert!(
        log.contains("refused a call from another user"),
        "the daemon logs the refusals:\n{log}"
    );
}

/// Runs `chronicled` to its exit (it must not start), with a deadline.
fn run_refused(sandbox: &Sandbox, socket: &Path) -> Output {
    let mut child = Command::new(binary("chronicled"))
        .arg("--socket")
        .arg(socket)
        .arg("--data-dir")
        .arg(sandbox.data_dir())
        .env("CHRONICLE_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chronicled");
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    while child.try_wait().expect("wait for chronicled").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("collect the output");
            panic!(
                "chronicled started on {} instead of refusing:\n{}",
                socket.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("collect the output")
}

#[test]
fn a_symlinked_socket_directory_is_refused_at_start() {
    let sandbox = Sandbox::new();
    let real = sandbox.dir.path().join("real-run");
    fs::create_dir(&real).expect("create the real directory");
    fs::set_permissions(&real, fs::Permissions::from_mode(0o700)).expect("chmod");
    let link = sandbox.dir.path().join("linked-run");
    std::os::unix::fs::symlink(&real, &link).expect("create the symlink");

    let output = run_refused(&sandbox, &link.join("chronicle.sock"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("symbolic link"), "stderr says why:\n{stderr}");
    assert!(
        stderr.contains(&link.display().to_string()),
        "stderr names the directory:\n{stderr}"
    );
    assert!(
        fs::read_dir(&real).expect("list the real directory").next().is_none(),
        "nothing was created behind the link"
    );
}

#[test]
fn a_socket_directory_owned_by_another_user_is_refused_at_start() {
    if skip_unless_root("a directory owned by uid 65534") {
        return;
    }
    let sandbox = Sandbox::new();
    let foreign = sandbox.dir.path().join("foreign-run");
    fs::create_dir(&foreign).expect("create the directory");
    fs::set_permissions(&foreign, fs::Permissions::from_mode(0o700)).expect("chmod");
    chown(&foreign, Some(NOBODY), Some(NOBODY)).expect("chown to 65534");

    let output = run_refused(&sandbox, &foreign.join("chronicle.sock"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("belongs to uid 65534"),
        "stderr names the owner:\n{stderr}"
    );
    assert!(
        stderr.contains(&foreign.display().to_string()),
        "stderr names the directory:\n{stderr}"
    );
    assert!(
        fs::read_dir(&foreign).expect("list the directory").next().is_none(),
        "no socket was created in it"
    );
}

/// Every file and directory under `dir`, with its permission bits.
fn modes_under(dir: &Path) -> Vec<(PathBuf, u32)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(path) = todo.pop() {
        let meta = fs::symlink_metadata(&path).unwrap_or_else(|e| panic!("stat {}: {e}", path.display()));
        out.push((path.clone(), meta.permissions().mode() & 0o777));
        if meta.is_dir() {
            for entry in fs::read_dir(&path).expect("list a directory") {
                todo.push(entry.expect("a directory entry").path());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn under_umask_000_nothing_the_daemon_creates_is_open_to_others() {
    let sandbox = Sandbox::new();
    let log = fs::File::create(sandbox.log()).expect("create the log");
    let exe = binary("chronicled");
    // A shell sets the umask: the workspace forbids the unsafe pre_exec.
    let child = Command::new("sh")
        .arg("-c")
        .arg("umask 000 && exec \"$0\" --socket \"$1\" --data-dir \"$2\"")
        .arg(&exe)
        .arg(sandbox.socket())
        .arg(sandbox.data_dir())
        .env("CHRONICLE_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn chronicled under umask 000");
    let mut child = KillOnDrop(child);
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    while std::os::unix::net::UnixStream::connect(sandbox.socket()).is_err() {
        assert!(
            child.0.try_wait().expect("poll the daemon").is_none() && Instant::now() < deadline,
            "chronicled did not start:\n{}",
            fs::read_to_string(sandbox.log()).unwrap_or_default()
        );
        thread::sleep(Duration::from_millis(20));
    }
    // Make it write, so the database has grown.
    let mut client = chronicle_client::Client::connect(&sandbox.socket())
        .await
        .expect("connect")
        .stub();
    let project = common::path_str(&sandbox.project("app"));
    common::append(&mut client, &project, chronicle_proto::v1::Role::User, "private").await;

    let socket_dir = sandbox.socket().parent().expect("socket dir").to_path_buf();
    let mut open = Vec::new();
    for dir in [socket_dir, sandbox.data_dir()] {
        for (path, mode) in modes_under(&dir) {
            if mode & 0o077 != 0 {
                open.push(format!("{} {mode:o}", path.display()));
            }
        }
    }
    drop(child);
    assert!(open.is_empty(), "open to group or others: {open:?}");
}

/// A socket directory of ours that others may write to is refused at start
/// (they could replace the socket), with one line naming it and saying why;
/// no socket is created in it.
#[test]
fn a_socket_directory_others_may_write_is_refused_at_start() {
    let sandbox = Sandbox::new();
    let open_dir = sandbox.dir.path().join("open-run");
    fs::create_dir(&open_dir).expect("create the directory");
    fs::set_permissions(&open_dir, fs::Permissions::from_mode(0o777)).expect("chmod");

    let output = run_refused(&sandbox, &open_dir.join("chronicle.sock"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("others may write to it"), "stderr says why:\n{stderr}");
    assert!(
        stderr.contains(&open_dir.display().to_string()),
        "stderr names the directory:\n{stderr}"
    );
    assert!(
        fs::read_dir(&open_dir).expect("list").next().is_none(),
        "no socket was created there"
    );
}

/// A data directory that others may read or enter is tightened to 0700
/// when the daemon starts, and the daemon serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_data_directory_is_tightened_at_start() {
    let sandbox = Sandbox::new();
    let data = sandbox.data_dir();
    fs::create_dir_all(&data).expect("create the data directory");
    fs::set_permissions(&data, fs::Permissions::from_mode(0o755)).expect("chmod");
    let daemon = sandbox.start();
    let mode = fs::metadata(&data).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "the data directory is private now ({mode:o})");
    let mut client = daemon.client().await;
    crate::common::open(&mut client, &crate::common::path_str(&sandbox.project("tight"))).await;
}
