//! The daemon under a service manager: it serves on a listening socket
//! passed in the way systemd passes one (fd 3, `LISTEN_FDS=1`,
//! `LISTEN_PID` = its own pid) and leaves that socket to its owner; it
//! ignores such variables meant for another process; with `--idle-exit` it
//! exits 0 once no client called and no stream was open for that long (and
//! the next instance serves the same socket); and it reports READY=1 and
//! STOPPING=1 to `NOTIFY_SOCKET`.

use std::{
    fs,
    os::{
        fd::OwnedFd,
        unix::{
            fs::PermissionsExt,
            net::{UnixDatagram, UnixListener},
        },
    },
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant},
};

use crate::common::{open, path_str};
use chronicle_proto::v1::{GetStatusRequest, WatchRequest};
use chronicle_tests::{STARTUP_TIMEOUT, Sandbox, binary};
use command_fds::{CommandFdExt, FdMapping};
use rustix::process::{Pid, Signal, kill_process};

/// A daemon process this test started itself; killed if still running
/// when dropped.
struct Running {
    child: Child,
    log: PathBuf,
}

impl Running {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("poll the daemon")
    }

    /// Waits for the process to end by itself.
    fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.exited() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "chronicled still runs after {within:?}:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the daemon's own socket answers.
    fn wait_serving(&mut self, socket: &Path) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while std::os::unix::net::UnixStream::connect(socket).is_err() {
            assert!(self.exited().is_none(), "chronicled exited:\n{}", self.log());
            assert!(Instant::now() < deadline, "chronicled never bound its socket");
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn terminate(&mut self) -> ExitStatus {
        kill_process(Pid::from_child(&self.child), Signal::TERM).expect("signal the daemon");
        self.wait_exit(STARTUP_TIMEOUT)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// chronicled on the sandbox's data dir with its stderr in the sandbox log.
fn daemon_command(sandbox: &Sandbox, program: &Path) -> Command {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(sandbox.log())
        .expect("open the daemon log");
    let mut command = Command::new(program);
    command
        .env("CHRONICLE_LOG", "info")
        .env_remove("CHRONICLE_SOCKET")
        .env_remove("CHRONICLE_DATA_DIR")
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_PID")
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    command
}

/// Starts chronicled the way systemd does for a socket unit: `listener` as
/// fd 3, `LISTEN_FDS=1`, and `LISTEN_PID` set to the daemon's own pid —
/// which only the process itself knows, so a shell sets it and then execs.
fn start_activated(sandbox: &Sandbox, listener: &UnixListener, extra: &[&str]) -> Running {
    let fd: OwnedFd = listener.try_clone().expect("duplicate the listener").into();
    let mut command = daemon_command(sandbox, Path::new("/bin/sh"));
    command
        .arg("-c")
        .arg(r#"LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@""#)
        .arg(binary("chronicled"))
        .arg("--data-dir")
        .arg(sandbox.data_dir())
        // Where it would bind if it ignored the socket passed in.
        .arg("--socket")
        .arg(sandbox.dir.path().join("own").join("own.sock"))
        .args(extra)
        .env("LISTEN_FDS", "1")
        .fd_mappings(vec![FdMapping {
            parent_fd: fd,
            child_fd: 3,
        }])
        .expect("map the listener to fd 3");
    let child = command.spawn().expect("spawn chronicled");
    Running {
        child,
        log: sandbox.log(),
    }
}

/// A listening socket where the sandbox's socket would be, made by the
/// test as systemd makes one; mode 0660 so a chmod by the daemon shows.
fn systemd_socket(sandbox: &Sandbox) -> UnixListener {
    let path = sandbox.socket();
    fs::create_dir_all(path.parent().expect("socket dir")).expect("create the socket dir");
    fs::set_permissions(path.parent().expect("socket dir"), fs::Permissions::from_mode(0o700))
        .expect("chmod the socket dir");
    let listener = UnixListener::bind(&path).expect("bind the test's listener");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o660)).expect("chmod the socket");
    listener
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).expect("stat").permissions().mode() & 0o7777
}

/// GetStatus through the socket; answers once the daemon serves, even on
/// a socket that queued the connection before the daemon existed.
async fn status_of(socket: &Path) -> chronicle_proto::v1::DaemonStatus {
    let mut client = chronicle_client::Client::connect(socket).await.expect("connect").stub();
    tokio::time::timeout(STARTUP_TIMEOUT, client.get_status(GetStatusRequest {}))
        .await
        .expect("GetStatus answered in time")
        .expect("GetStatus")
        .into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn serves_on_an_inherited_socket_and_leaves_it_to_its_owner() {
    let sandbox = Sandbox::new();
    let listener = systemd_socket(&sandbox);
    let mut daemon = start_activated(&sandbox, &listener, &[]);

    let status = status_of(&sandbox.socket()).await;
    assert_eq!(status.pid, daemon.pid(), "the exec'd daemon answers");
    assert_eq!(
        Path::new(&status.socket),
        sandbox.socket(),
        "it reports the inherited socket"
    );
    assert!(
        !sandbox.dir.path().join("own").join("own.sock").exists(),
        "it bound no socket of its own"
    );
    let mut client = chronicle_client::Client::connect(&sandbox.socket())
        .await
        .expect("connect")
        .stub();
    let project = path_str(&sandbox.project("app"));
    assert_eq!(open(&mut client, &project).await.revision, 0);
    drop(client);
    assert_eq!(mode(&sandbox.socket()), 0o660, "the owner's socket is not chmod'ed");
    assert!(
        daemon.log().contains("socket_activated=true"),
        "the log says so:\n{}",
        daemon.log()
    );

    let exit = daemon.terminate();
    assert_eq!(exit.code(), Some(0), "SIGTERM is a clean exit");
    assert!(
        fs::symlink_metadata(sandbox.socket()).is_ok(),
        "the socket file belongs to the service manager and stays"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_activated_daemon_exits_and_the_next_one_serves_the_same_socket() {
    let sandbox = Sandbox::new();
    let listener = systemd_socket(&sandbox);
    let mut first = start_activated(&sandbox, &listener, &["--idle-exit", "1s"]);
    let first_pid = status_of(&sandbox.socket()).await.pid;
    assert_eq!(first_pid, first.pid());

    let exit = first.wait_exit(Duration::from_secs(10));
    assert_eq!(exit.code(), Some(0), "an idle exit is a clean exit:\n{}", first.log());
    assert!(first.log().contains("no client for the idle time"), "{}", first.log());
    assert!(fs::symlink_metadata(sandbox.socket()).is_ok(), "the socket stays");

    // As systemd does on the next connection: start another on the same fd.
    let second = start_activated(&sandbox, &listener, &["--idle-exit", "1s"]);
    let status = status_of(&sandbox.socket()).await;
    assert_eq!(status.pid, second.pid(), "the next instance answers");
}

#[tokio::test(flavor = "multi_thread")]
async fn listen_fds_meant_for_another_process_are_ignored() {
    let sandbox = Sandbox::new();
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(sandbox.log())
        .expect("open log");
    let child = sandbox
        .daemon_command()
        .env("LISTEN_FDS", "1")
        .env("LISTEN_PID", "1")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn chronicled");
    let mut daemon = Running {
        child,
        log: sandbox.log(),
    };
    daemon.wait_serving(&sandbox.socket());
    assert_eq!(mode(&sandbox.socket()), 0o600, "its own socket, bound as always");
    // The socket accepts (connections queue) a moment before the daemon
    // logs that it serves: wait for the line rather than race it.
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    while !daemon.log().contains("chronicled is serving") && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert!(daemon.log().contains("socket_activated=false"), "{}", daemon.log());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_inherited_fd_that_is_no_socket_is_a_clear_error() {
    let sandbox = Sandbox::new();
    let file = fs::File::create(sandbox.dir.path().join("not-a-socket")).expect("create a file");
    let mut command = daemon_command(&sandbox, Path::new("/bin/sh"));
    command
        .arg("-c")
        .arg(r#"LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@""#)
        .arg(binary("chronicled"))
        .arg("--data-dir")
        .arg(sandbox.data_dir())
        .env("LISTEN_FDS", "1")
        .stderr(Stdio::piped())
        .fd_mappings(vec![FdMapping {
            parent_fd: file.into(),
            child_fd: 3,
        }])
        .expect("map the file to fd 3");
    let output = command.output().expect("run chronicled");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not a Unix stream socket"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_exit_waits_for_quiet_and_for_open_streams() {
    let sandbox = Sandbox::new();
    let mut command = daemon_command(&sandbox, &binary("chronicled"));
    command
        .arg("--socket")
        .arg(sandbox.socket())
        .arg("--data-dir")
        .arg(sandbox.data_dir())
        .args(["--idle-exit", "1s"]);
    let mut daemon = Running {
        child: command.spawn().expect("spawn chronicled"),
        log: sandbox.log(),
    };
    daemon.wait_serving(&sandbox.socket());
    let mut client = chronicle_client::Client::connect(&sandbox.socket())
        .await
        .expect("connect")
        .stub();

    // Calls every 300 ms keep it up well past its idle time.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2500) {
        client.get_status(GetStatusRequest {}).await.expect("still serving");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // An open Watch stream is activity however long it is quiet.
    let project = path_str(&sandbox.project("app"));
    let stream = client
        .watch(WatchRequest { project })
        .await
        .expect("Watch")
        .into_inner();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(
        daemon.exited().is_none(),
        "exited with a stream open:\n{}",
        daemon.log()
    );
    drop(stream);
    drop(client);

    let exit = daemon.wait_exit(Duration::from_secs(10));
    assert_eq!(exit.code(), Some(0), "an idle exit is a clean exit:\n{}", daemon.log());
    assert!(
        fs::symlink_metadata(sandbox.socket()).is_err(),
        "its own socket is removed as at any clean exit"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_and_stopping_are_reported_to_the_notify_socket() {
    let sandbox = Sandbox::new();
    let notify_path = sandbox.dir.path().join("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).expect("bind the notify socket");
    notify
        .set_read_timeout(Some(STARTUP_TIMEOUT))
        .expect("set a read timeout");
    let mut command = daemon_command(&sandbox, &binary("chronicled"));
    command
        .arg("--socket")
        .arg(sandbox.socket())
        .arg("--data-dir")
        .arg(sandbox.data_dir())
        .env("NOTIFY_SOCKET", &notify_path);
    let mut daemon = Running {
        child: command.spawn().expect("spawn chronicled"),
        log: sandbox.log(),
    };

    let mut buffer = [0u8; 512];
    let n = notify.recv(&mut buffer).expect("a notification before the timeout");
    let message = String::from_utf8_lossy(&buffer[..n]).into_owned();
    assert!(message.lines().any(|l| l == "READY=1"), "{message:?}");
    // Ready means ready: the socket answers at once.
    assert_eq!(status_of(&sandbox.socket()).await.pid, daemon.pid());

    let exit = daemon.terminate();
    assert_eq!(exit.code(), Some(0));
    let n = notify.recv(&mut buffer).expect("a notification at shutdown");
    let message = String::from_utf8_lossy(&buffer[..n]).into_owned();
    assert!(message.lines().any(|l| l == "STOPPING=1"), "{message:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_daemon_refused_a_socket_in_use_leaves_it_to_its_owner() {
    let sandbox = Sandbox::new();
    let first = sandbox.start();
    let mut command = daemon_command(&sandbox, &binary("chronicled"));
    command
        .arg("--socket")
        .arg(sandbox.socket())
        .arg("--data-dir")
        .arg(sandbox.dir.path().join("other-data"))
        .stderr(Stdio::piped());
    let output = command.output().expect("run a second chronicled");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("served by another running daemon"), "{stderr}");
    assert!(
        fs::symlink_metadata(sandbox.socket()).is_ok(),
        "the first daemon's socket is still there"
    );
    assert_eq!(status_of(&sandbox.socket()).await.pid, first.pid());
}
