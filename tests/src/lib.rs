//! The end-to-end harness: starts a real `chronicled` process on a
//! temporary socket and data directory, hands out tonic clients and `chronicle`
//! commands pointed at it, and stops it when dropped. Nothing here ever
//! touches the user's real socket or data.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant},
};

use chronicle_proto::SessionsClient;
use rustix::process::{Pid, Signal, kill_process};
use tempfile::TempDir;
use tonic::transport::Channel;

/// How long a daemon may take to come up or go down in a test.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// Path of a workspace binary, built next to the test executable
/// (`target/<profile>/`). `CHRONICLE_BIN_DIR` overrides the directory.
pub fn binary(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("CHRONICLE_BIN_DIR") {
        return PathBuf::from(dir).join(name);
    }
    let exe = std::env::current_exe().expect("the test knows its own path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} is missing — build the workspace first (`cargo test --workspace` builds it)",
        path.display()
    );
    path
}

/// A temporary home for one or more daemon runs: its socket, data dir and
/// log survive restarts of the daemon inside it.
#[derive(Debug)]
pub struct Sandbox {
    pub dir: TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("chronicle-e2e-")
            .tempdir()
            .expect("create a temp dir");
        Sandbox { dir }
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("run").join("chronicle.sock")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log(&self) -> PathBuf {
        self.dir.path().join("chronicled.log")
    }

    /// A directory usable as a project root.
    pub fn project(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join("projects").join(name);
        fs::create_dir_all(&path).expect("create project dir");
        path
    }

    /// The daemon command, pointed at this sandbox, not yet started.
    pub fn daemon_command(&self) -> Command {
        let mut cmd = Command::new(binary("chronicled"));
        cmd.arg("--socket")
            .arg(self.socket())
            .arg("--data-dir")
            .arg(self.data_dir())
            .env("CHRONICLE_LOG", "info")
            .env_remove("CHRONICLE_SOCKET")
            .env_remove("CHRONICLE_DATA_DIR")
            .stdin(Stdio::null());
        cmd
    }

    /// Starts a daemon and waits until its socket answers.
    pub fn start(&self) -> Daemon {
        self.start_with(&[])
    }

    /// Starts a daemon with extra flags and waits until it answers.
    pub fn start_with(&self, extra: &[&str]) -> Daemon {
        self.start_with_env(extra, &[])
    }

    /// Starts a daemon with extra flags and environment variables (a
    /// font configuration, a time zone) and waits until it answers.
    pub fn start_with_env(&self, extra: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Daemon {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .expect("open daemon log");
        let child = self
            .daemon_command()
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn chronicled");
        let mut daemon = Daemon {
            child: Some(child),
            socket: self.socket(),
            log: self.log(),
        };
        daemon.wait_until_serving();
        daemon
    }

    /// A `chronicle` CLI command pointed at this sandbox's daemon, with a
    /// private HOME so nothing of the user's leaks in.
    pub fn cli(&self) -> Command {
        let mut cmd = Command::new(binary("chronicle"));
        let home = self.dir.path().join("home");
        fs::create_dir_all(&home).expect("create home");
        cmd.env("CHRONICLE_SOCKET", self.socket())
            .env("CHRONICLE_DATA_DIR", self.data_dir())
            .env("HOME", &home)
            .env("NO_COLOR", "1")
            .env_remove("XDG_RUNTIME_DIR")
            .env_remove("XDG_DATA_HOME")
            .stdin(Stdio::null());
        cmd
    }
}

/// What one `chronicle` invocation printed and how it exited.
#[derive(Debug)]
pub struct CliRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CliRun {
    /// Panics with the full output unless the command exited 0.
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code,
            Some(0),
            "chronicle failed:\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }
}

impl Sandbox {
    /// Runs `chronicle ARGS` in `dir` and collects its output.
    pub fn chronicle(&self, dir: &Path, args: &[&str]) -> CliRun {
        self.chronicle_with_stdin(dir, args, None)
    }

    /// Like [`Sandbox::chronicle`], feeding `stdin` to the command.
    pub fn chronicle_with_stdin(&self, dir: &Path, args: &[&str], stdin: Option<&str>) -> CliRun {
        use std::io::Write as _;
        let mut cmd = self.cli();
        cmd.current_dir(dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().expect("spawn chronicle");
        if let Some(text) = stdin {
            let mut pipe = child.stdin.take().expect("stdin pipe");
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        let out = child.wait_with_output().expect("wait for chronicle");
        CliRun {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Stops, when dropped, a daemon that the CLI started in the background,
/// so a failing test leaves no process behind.
#[derive(Debug)]
pub struct StopDaemonOnDrop<'a>(pub &'a Sandbox);

impl Drop for StopDaemonOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .cli()
            .args(["daemon", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A running `chronicled`; killed when dropped.
#[derive(Debug)]
pub struct Daemon {
    child: Option<Child>,
    pub socket: PathBuf,
    log: PathBuf,
}

impl Daemon {
    fn wait_until_serving(&mut self) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if std::os::unix::net::UnixStream::connect(&self.socket).is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("chronicled exited with {status} before serving:\n{}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "chronicled did not start in time:\n{}",
                self.log_text()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A tonic client on the daemon's socket, dialled (and checked) by
    /// `chronicle-client` as every frontend does.
    pub async fn client(&self) -> SessionsClient<Channel> {
        chronicle_client::Client::connect(&self.socket)
            .await
            .expect("connect to the test daemon")
            .stub()
    }

    /// The typed client every Rust frontend uses, on the daemon's socket.
    pub async fn typed_client(&self) -> chronicle_client::Client {
        chronicle_client::Client::connect(&self.socket)
            .await
            .expect("connect to the test daemon")
    }

    /// Sends a signal to the daemon.
    pub fn signal(&self, signal: Signal) {
        if let Some(child) = &self.child {
            kill_process(Pid::from_child(child), signal).expect("signal the daemon");
        }
    }

    /// SIGTERM, then waits for the exit status.
    pub fn stop(mut self) -> ExitStatus {
        self.signal(Signal::TERM);
        self.wait()
    }

    /// SIGKILL: a crash, with no chance to clean up.
    pub fn crash(mut self) {
        self.signal(Signal::KILL);
        self.wait();
    }

    fn wait(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("daemon still owned");
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().expect("wait for chronicled") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("chronicled did not exit in time:\n{}", self.log_text());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A channel to `socket` *without* the client's ownership checks: for the
/// tests that play another user talking to a daemon that is not theirs,
/// which every real client would refuse to do.
pub async fn unchecked_channel(socket: &Path) -> Channel {
    let socket = socket.to_path_buf();
    tonic::transport::Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: tonic::transport::Uri| {
            let socket = socket.clone();
            async move {
                Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(
                    tokio::net::UnixStream::connect(socket).await?,
                ))
            }
        }))
        .await
        .expect("a raw channel to the socket")
}
