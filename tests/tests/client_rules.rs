//! What `chronicle-client` promises every Rust frontend, checked through
//! the real CLI and the client crate against real sockets: the version
//! comes with the daemon's answers (no extra call), and a socket that
//! another user could control is refused before a single byte is sent —
//! whether its directory is open to others, owned by another user, or the
//! process listening runs as another user.

use std::{
    fs,
    io::{BufRead, BufReader},
    os::unix::fs::{PermissionsExt, chown},
    path::Path,
    process::{Child, Command, Stdio},
};

use chronicle_client::{Client, ErrorKind};
use chronicle_tests::Sandbox;

const NOBODY: u32 = 65534;

#[tokio::test]
async fn the_client_learns_the_daemon_version_from_its_first_answer() {
    let sandbox = Sandbox::new();
    let _daemon = sandbox.start();
    let client = Client::connect(&sandbox.socket()).await.expect("connect");
    assert_eq!(client.daemon_version(), None, "nothing was asked yet");
    client.projects().await.expect("ListProjects");
    assert_eq!(client.daemon_version(), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(client.older_daemon(), None, "the daemon is this build's");
}

/// A stand-in for whoever got to the socket first: a Python process that
/// binds `socket` (as root, where it must), drops to uid `listen_as`
/// before `listen()` (so that is the uid a client's peer check sees),
/// counts every connection and byte until its stdin closes, then prints
/// the counts.
struct FakeServer(Child);

impl FakeServer {
    const SCRIPT: &'static str = r#"
import os, select, socket, sys
path, uid = sys.argv[1], int(sys.argv[2])
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
os.chmod(path, 0o777)
if uid != os.getuid():
    os.setgroups([]); os.setresgid(uid, uid, uid); os.setresuid(uid, uid, uid)
server.listen(8)
print("ready", flush=True)
connections = received = 0
open_ = []
stopping = False
while True:
    # Once told to stop, only drain: connections still queued, bytes still in flight.
    ready, _, _ = select.select([server] + open_ + ([] if stopping else [sys.stdin]), [], [], 0.3 if stopping else 5)
    if stopping and not ready:
        break
    for s in ready:
        if s is sys.stdin:
            stopping = True
        elif s is server:
            conn, _ = server.accept(); connections += 1; open_.append(conn)
        else:
            data = s.recv(65536)
            received += len(data)
            if not data:
                open_.remove(s); s.close()
print(f"connections={connections} bytes={received}", flush=True)
"#;

    fn start(socket: &Path, listen_as: u32) -> FakeServer {
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(Self::SCRIPT)
            .arg(socket)
            .arg(listen_as.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the fake server");
        let mut line = String::new();
        let stdout = child.stdout.as_mut().expect("stdout");
        BufReader::new(stdout).read_line(&mut line).expect("read ready");
        assert_eq!(line.trim(), "ready", "the fake server did not start");
        FakeServer(child)
    }

    /// Stops the server; what it saw: (connections, bytes).
    fn finish(mut self) -> (u32, u64) {
        drop(self.0.stdin.take());
        let mut out = String::new();
        if let Some(stdout) = self.0.stdout.as_mut() {
            BufReader::new(stdout).read_line(&mut out).expect("read counts");
        }
        let _ = self.0.wait();
        let field = |name: &str| -> u64 {
            out.split_whitespace()
                .find_map(|kv| kv.strip_prefix(name))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {name} in {out:?}"))
        };
        (field("connections=") as u32, field("bytes="))
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// True when this test may act as another user; under `CI=true` a test
/// that cannot must fail rather than pass without checking anything.
fn can_play_another_user(what: &str) -> bool {
    if rustix::process::getuid().is_root() {
        return true;
    }
    crate::common::skip(&format!("{what} needs root (CI runs as root)"));
    false
}

fn run_cli(sandbox: &Sandbox, socket: &Path, args: &[&str]) -> chronicle_tests::CliRun {
    let out = sandbox
        .cli()
        .env("CHRONICLE_SOCKET", socket)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run chronicle");
    chronicle_tests::CliRun {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test]
async fn a_socket_in_a_directory_others_may_write_is_refused_and_gets_nothing() {
    let sandbox = Sandbox::new();
    let shared = sandbox.dir.path().join("shared");
    fs::create_dir(&shared).expect("mkdir");
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o777)).expect("chmod 777");
    let socket = shared.join("chronicle.sock");
    let server = FakeServer::start(&socket, rustix::process::getuid().as_raw());

    let run = run_cli(&sandbox, &socket, &["add", "a secret message"]);
    assert_eq!(run.code, Some(3), "exit 3: {run:?}");
    assert!(run.stderr.contains("others may write"), "{}", run.stderr);
    assert!(run.stderr.contains(&shared.display().to_string()), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "one line: {}", run.stderr);

    let err = Client::connect(&socket)
        .await
        .expect_err("the client crate refuses too");
    assert_eq!(err.kind(), ErrorKind::Unavailable);

    assert_eq!(server.finish(), (0, 0), "nobody even connected");
    assert!(
        !sandbox.data_dir().join("chronicled.lock").exists(),
        "no daemon was started into that directory"
    );
}

#[tokio::test]
async fn a_socket_directory_of_another_user_is_refused_and_gets_nothing() {
    if !can_play_another_user("a directory owned by 65534") {
        return;
    }
    let sandbox = Sandbox::new();
    let foreign = sandbox.dir.path().join("foreign");
    fs::create_dir(&foreign).expect("mkdir");
    fs::set_permissions(&foreign, fs::Permissions::from_mode(0o755)).expect("chmod");
    chown(&foreign, Some(NOBODY), Some(NOBODY)).expect("chown to 65534");
    let socket = foreign.join("chronicle.sock");
    let server = FakeServer::start(&socket, NOBODY);

    let run = run_cli(&sandbox, &socket, &["add", "a secret message"]);
    assert_eq!(run.code, Some(3), "exit 3: {run:?}");
    assert!(run.stderr.contains("belongs to uid 65534"), "{}", run.stderr);
    let err = Client::connect(&socket)
        .await
        .expect_err("the client crate refuses too");
    assert!(err.to_string().contains("belongs to uid 65534"), "{err}");

    assert_eq!(server.finish(), (0, 0));
}

#[tokio::test]
async fn a_listener_of_another_user_in_our_own_directory_gets_zero_bytes() {
    if !can_play_another_user("a listener running as 65534") {
        return;
    }
    let sandbox = Sandbox::new();
    let run_dir = sandbox.dir.path().join("run");
    fs::create_dir_all(&run_dir).expect("mkdir");
    fs::set_permissions(&run_dir, fs::Permissions::from_mode(0o700)).expect("chmod 700");
    let socket = run_dir.join("chronicle.sock");
    // Bound by us, listened on by 65534: the directory passes, the peer does not.
    let server = FakeServer::start(&socket, NOBODY);

    let run = run_cli(&sandbox, &socket, &["add", "a secret message"]);
    assert_eq!(run.code, Some(3), "exit 3: {run:?}");
    assert!(
        run.stderr.contains("the process listening there belongs to uid 65534"),
        "{}",
        run.stderr
    );
    let err = Client::connect(&socket)
        .await
        .expect_err("the client crate refuses too");
    assert!(err.to_string().contains("uid 65534"), "{err}");

    let (connections, bytes) = server.finish();
    assert!(connections >= 2, "both clients connected to look: {connections}");
    assert_eq!(bytes, 0, "and sent nothing");
}
