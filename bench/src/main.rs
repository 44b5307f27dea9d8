//! `chronicle-bench`: Chronicle beside its peers and the disk's own limit,
//! measured on one machine in one run, the contenders interleaved round by
//! round so that a noisy neighbour hurts them all alike.
//!
//! Contenders, per mutation, at session lengths 0, 10,000 and 100,000
//! messages of 2 KiB Markdown:
//! - `fsync-floor`: `write` + `fdatasync` of the same bytes — the physical limit.
//! - `chronicle`: a durable `AppendMessage` over the real Unix socket
//!   through tonic, to a real `chronicled` process; 1 and 16 clients.
//!   `chronicle --no-wal`: the same without the write-ahead log (1 client).
//!   `chronicle-stream`: the same daemon, each client appending over one
//!   `Mutate` stream kept open; 1 and 16 clients. `chronicle-burst`: the
//!   lone client sending each round's appends over its stream at once.
//! - `chronicle-in-process`: the same store in the bench's own process,
//!   with and without the log (`--no-wal`); and 16 tasks of this process
//!   appending through it, the same kind of clients `sqlite-wal-group`
//!   has, so the store's group commit is compared without gRPC.
//! - `json-rewrite`: AiderDesk's strategy — the whole session serialised to
//!   JSON and written, with the fsync that makes it honest.
//! - `sqlite-wal`: rusqlite, WAL, `synchronous=FULL`, one INSERT per
//!   transaction, 1 writer; `sqlite-wal-immediate`: 16 writers with
//!   `BEGIN IMMEDIATE` and a busy handler that retries without sleeping;
//!   `sqlite-wal-group`: 16 clients whose inserts one writer thread commits
//!   in batches (see `sqlite.rs`).
//!
//! The 16-client runs are interleaved by round too. The JSON contender's
//! long sessions (whose rewrites are gigabytes of writes) run after the
//! others at that length, not between them.
//!
//! Plus 16 clients appending without pause for 5 seconds, by calls and
//! over streams (appends/s and the daemon's CPU per append), reading
//! 10,000 messages, listing 1,000 saved sessions, exporting
//! 10,000 messages as Markdown, backing up and restoring a 200 MB bundle,
//! and the daemons' idle and peak RSS. Refuses a memory-backed bench
//! directory and records the filesystem it ran on. Prints Markdown tables
//! and writes the same figures as JSON. `CHRONICLE_BENCH_DAEMON_ARGS` adds
//! arguments to every `chronicled` it starts.

mod bundle;
mod cpu;
mod lone;
mod mount;
mod report;
mod sqlite;
mod sustained;

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use chronicle_client::{
    Client, Session,
    v1::{Message, Role},
};
use chronicled::store::{Mutation, ProjectPath, SessionName, Store, StoreConfig};
use serde::Serialize;

use self::lone::LoneClient;
use self::report::{Environment, load_average};

const MESSAGE_BYTES: usize = 2048;

struct Plan {
    lengths: Vec<u64>,
    rounds: usize,
    /// Iterations per contender per length, single client.
    single: usize,
    /// Appends per client in the 16-client runs.
    per_client: usize,
    /// Messages of 4 KiB in the backup/restore bundle.
    bundle_messages: u64,
    /// How long 16 clients append without pause, by calls and over
    /// streams, in the sustained runs.
    sustained: Duration,
    /// Where the bench's temporary directory goes (else TMPDIR).
    dir: Option<PathBuf>,
    json_path: PathBuf,
}

impl Plan {
    fn from_args() -> anyhow::Result<Plan> {
        let mut plan = Plan {
            lengths: vec![0, 10_000, 100_000],
            rounds: 5,
            single: 500,
            per_client: 100,
            bundle_messages: 50_000,
            sustained: Duration::from_secs(5),
            dir: None,
            json_path: PathBuf::from("target/bench/results.json"),
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => {
                    plan.lengths = vec![0, 1_000, 10_000];
                    plan.single = 100;
                    plan.per_client = 25;
                    plan.bundle_messages = 5_000;
                    plan.sustained = Duration::from_secs(2);
                }
                "--json" => plan.json_path = args.next().context("--json needs a path")?.into(),
                "--dir" => {
                    plan.dir = Some(
                        args.next()
                            .context("--dir needs a directory on the disk to bench")?
                            .into(),
                    )
                }
                "--lengths" => {
                    let list = args.next().context("--lengths needs a list such as 0,100000")?;
                    plan.lengths = list
                        .split(',')
                        .map(|n| {
                            n.trim()
                                .parse::<u64>()
                                .with_context(|| format!("{n:?} is not a session length"))
                        })
                        .collect::<anyhow::Result<_>>()?;
                    if plan.lengths.is_empty() {
                        bail!("--lengths needs at least one length");
                    }
                }
                "--help" | "-h" => {
                    println!(
                        "chronicle-bench [--quick] [--lengths 0,10000,100000] [--dir DIR] [--json PATH]\n\nRun it through scripts/bench.sh, which builds chronicled in release first.\n--dir: where the temporary bench directory goes (default TMPDIR); refused on tmpfs."
                    );
                    std::process::exit(0);
                }
                other => bail!("unknown argument {other:?} — try --help"),
            }
        }
        Ok(plan)
    }
}

#[derive(Clone, Debug, Serialize)]
struct Row {
    contender: String,
    clients: usize,
    length: u64,
    samples: usize,
    p50_ms: f64,
    p99_ms: f64,
    ops_per_sec: f64,
}

#[derive(Clone, Debug, Serialize)]
struct Figure {
    name: String,
    value: f64,
    unit: String,
}

#[derive(Default)]
struct Samples(Vec<Duration>);

impl Samples {
    fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        self.0.push(start.elapsed());
        out
    }

    fn row(mut self, contender: &str, clients: usize, length: u64, wall: Option<Duration>) -> Row {
        self.0.sort();
        let pick = |q: f64| {
            let i = ((self.0.len() as f64 - 1.0) * q).round() as usize;
            self.0.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        let total: Duration = wall.unwrap_or_else(|| self.0.iter().sum());
        Row {
            contender: contender.into(),
            clients,
            length,
            samples: self.0.len(),
            p50_ms: pick(0.5),
            p99_ms: pick(0.99),
            ops_per_sec: self.0.len() as f64 / total.as_secs_f64().max(1e-9),
        }
    }
}

/// A typical assistant message: 2 KiB of Markdown with a code block.
fn markdown_message(n: u64) -> String {
    markdown_of_size(n, MESSAGE_BYTES)
}

fn markdown_of_size(n: u64, bytes: usize) -> String {
    let mut text = format!("## Step {n}\n\nThe failing check was in `login()`; here is the fix:\n\n```rust\n");
    while text.len() < bytes - 200 {
        text.push_str("fn verify(hash: &Hash, password: &str) -> bool { hash.matches(password) }\n");
    }
    text.push_str("```\n\nRun the tests again with `cargo test` and the login flow passes.\n");
    while text.len() < bytes {
        text.push('.');
    }
    text.truncate(bytes);
    text
}

fn message(n: u64) -> Message {
    message_of_size(n, MESSAGE_BYTES)
}

fn message_of_size(n: u64, bytes: usize) -> Message {
    Message {
        role: if n.is_multiple_of(2) {
            Role::User
        } else {
            Role::Assistant
        } as i32,
        content: markdown_of_size(n, bytes),
        model: "bench-model".into(),
        ..Message::default()
    }
}

// ------------------------------------------------------------ fsync floor

struct Floor {
    file: fs::File,
    bytes: Vec<u8>,
}

impl Floor {
    fn new(dir: &Path) -> anyhow::Result<Floor> {
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("floor.bin"))?;
        Ok(Floor {
            file,
            bytes: markdown_message(0).into_bytes(),
        })
    }

    fn once(&mut self) -> anyhow::Result<()> {
        self.file.write_all(&self.bytes)?;
        self.file.sync_data()?;
        Ok(())
    }
}

// ----------------------------------------------------------- json rewrite

#[derive(Serialize)]
struct JsonMessage {
    id: u64,
    role: &'static str,
    content: String,
    created_at: i64,
}

#[derive(Serialize)]
struct JsonSession {
    messages: Vec<JsonMessage>,
    files: Vec<String>,
}

struct JsonRewrite {
    path: PathBuf,
    session: JsonSession,
}

impl JsonRewrite {
    fn new(dir: &Path, length: u64) -> JsonRewrite {
        let messages = (0..length)
            .map(|n| JsonMessage {
                id: n + 1,
                role: "assistant",
                content: markdown_message(n),
                created_at: 0,
            })
            .collect();
        JsonRewrite {
            path: dir.join("session.json"),
            session: JsonSession {
                messages,
                files: vec!["src/login.rs".into()],
            },
        }
    }

    fn once(&mut self) -> anyhow::Result<()> {
        let n = self.session.messages.len() as u64;
        self.session.messages.push(JsonMessage {
            id: n + 1,
            role: "user",
            content: markdown_message(n),
            created_at: 0,
        });
        let file = fs::File::create(&self.path)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        serde_json::to_writer(&mut out, &self.session)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_data()?;
        Ok(())
    }
}

// -------------------------------------------------------------- chronicle

/// Fills a data dir with `length` messages in one project, in-process and
/// concurrently (so group commit makes it quick), before the daemon starts.
async fn chronicle_prepare(
    data_dir: &Path,
    project: &str,
    length: u64,
    saved_sessions: usize,
    message_bytes: usize,
) -> anyhow::Result<()> {
    fs::create_dir_all(data_dir)?;
    let store = Store::open(&data_dir.join("chronicle.redb"), StoreConfig::default())?;
    let project = &ProjectPath::new(project)?;
    let mut next = 0;
    while next < length {
        let mut tasks = tokio::task::JoinSet::new();
        for n in next..(next + 2048).min(length) {
            let store = store.clone();
            let project = project.to_owned();
            tasks.spawn(async move {
                store
                    .mutate(
                        &project,
                        None,
                        Mutation::Append {
                            message: message_of_size(n, message_bytes),
                        },
                    )
                    .await
            });
        }
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        next = (next + 2048).min(length);
    }
    for n in 0..saved_sessions {
        let save = Mutation::Save {
            name: SessionName::new(&format!("session {n:04}"))?,
            overwrite: false,
        };
        store.mutate(project, None, save).await?;
    }
    tokio::task::spawn_blocking(move || store.close()).await?;
    Ok(())
}

struct Daemon {
    child: Child,
    socket: PathBuf,
}

impl Daemon {
    fn start(data_dir: &Path) -> anyhow::Result<Daemon> {
        Daemon::start_with(data_dir, &[])
    }

    fn start_with(data_dir: &Path, args: &[&str]) -> anyhow::Result<Daemon> {
        let exe = std::env::current_exe()?;
        let binary = exe.with_file_name("chronicled");
        if !binary.is_file() {
            bail!(
                "{} is missing — run the bench through scripts/bench.sh",
                binary.display()
            );
        }
        let socket = data_dir.join("chronicle.sock");
        let child = Command::new(&binary)
            .arg("--socket")
            .arg(&socket)
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            // e.g. `--no-search-index`, to see what the index costs.
            .args(
                std::env::var("CHRONICLE_BENCH_DAEMON_ARGS")
                    .unwrap_or_default()
                    .split_whitespace(),
            )
            .env("CHRONICLE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::os::unix::net::UnixStream::connect(&socket).is_err() {
            if Instant::now() > deadline {
                bail!("chronicled did not start");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(Daemon { child, socket })
    }

    async fn client(&self) -> anyhow::Result<Client> {
        Ok(Client::connect(&self.socket).await?)
    }

    /// (VmRSS, VmHWM) in MiB, from /proc.
    fn rss_mib(&self) -> (f64, f64) {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn append(client: &Client, project: &str, n: u64) -> anyhow::Result<()> {
    client.append(project, message(n), None).await?;
    Ok(())
}

async fn chronicle_concurrent(
    daemon: &Daemon,
    project: &str,
    clients: usize,
    each: usize,
) -> anyhow::Result<(Samples, Duration)> {
    let mut connected = Vec::with_capacity(clients);
    for _ in 0..clients {
        connected.push((daemon.client().await?, project.to_owned()));
    }
    appending_together(connected, each, |(client, project), n| async move {
        append(&client, &project, n).await
    })
    .await
}

/// As [`chronicle_concurrent`], each client appending over its own
/// `Mutate` stream (opened before the clock starts).
async fn chronicle_streams_concurrent(
    daemon: &Daemon,
    project: &str,
    clients: usize,
    each: usize,
) -> anyhow::Result<(Samples, Duration)> {
    let mut streams = Vec::with_capacity(clients);
    for _ in 0..clients {
        let stream = daemon.client().await?.mutations().await?;
        streams.push((Arc::new(tokio::sync::Mutex::new(stream)), project.to_owned()));
    }
    appending_together(streams, each, |(stream, project), n| async move {
        stream.lock().await.append(&project, message(n), None).await?;
        Ok(())
    })
    .await
}

/// `clients` tasks appending through the store in this process, no gRPC:
/// the store's group commit against SQLite's, with the same kind of
/// clients (tasks of the bench's own process).
async fn store_concurrent(
    store: &Store,
    project: &ProjectPath,
    clients: usize,
    each: usize,
) -> anyhow::Result<(Samples, Duration)> {
    let clients = vec![(store.clone(), project.clone()); clients];
    appending_together(clients, each, |(store, project), n| async move {
        let message = message(n);
        store.mutate(&project, None, Mutation::Append { message }).await?;
        Ok(())
    })
    .await
}

/// Every client appends `each` times, all at once, each append timed
/// (`append` gets a copy of the client's handles and the append's number);
/// the clients are ready before the clock starts. Returns the samples and
/// the wall time.
async fn appending_together<C, F, Fut>(clients: Vec<C>, each: usize, append: F) -> anyhow::Result<(Samples, Duration)>
where
    C: Clone + Send + 'static,
    F: Fn(C, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (c, client) in clients.into_iter().enumerate() {
        let append = append.clone();
        tasks.spawn(async move {
            let mut samples = Samples::default();
            for n in 0..each {
                let handles = client.clone();
                let t = Instant::now();
                append(handles, (c * each + n) as u64).await?;
                samples.0.push(t.elapsed());
            }
            anyhow::Ok(samples)
        });
    }
    let mut all = Samples::default();
    while let Some(done) = tasks.join_next().await {
        all.0.extend(done??.0);
    }
    Ok((all, start.elapsed()))
}

async fn read_all(client: &Client, project: &str) -> anyhow::Result<usize> {
    Ok(client.read_session(project, Session::Working).await?.messages.len())
}

async fn export_markdown(client: &Client, project: &str) -> anyhow::Result<usize> {
    let mut stream = client.export_markdown(project, "").await?;
    let mut bytes = 0;
    while let Some(chunk) = Client::next_chunk(&mut stream).await? {
        bytes += chunk.data.len();
    }
    Ok(bytes)
}

/// A JSON session this long is hundreds of MB per rewrite: it runs after
/// the other contenders at its length, so its writes do not land among
/// theirs.
const JSON_APART_FROM: u64 = 50_000;

async fn run(plan: Plan) -> anyhow::Result<()> {
    let parent = plan.dir.clone().unwrap_or_else(std::env::temp_dir);
    fs::create_dir_all(&parent).with_context(|| format!("cannot create the bench directory {}", parent.display()))?;
    let mount = mount::of(&parent)?;
    mount::refuse_memory_backed(&parent, &mount)?;
    let work = tempfile::Builder::new()
        .prefix("chronicle-bench-")
        .tempdir_in(&parent)?;
    eprintln!("== bench directory {} on {mount}", work.path().display());
    let load_before = load_average();
    let project = "/bench/project";
    let mut rows: Vec<Row> = Vec::new();
    let mut figures: Vec<Figure> = Vec::new();
    let mut peak_rss: f64 = 0.0;
    let figure = |name: &str, value: f64, unit: &str| Figure {
        name: name.into(),
        value,
        unit: unit.into(),
    };

    for &length in &plan.lengths {
        eprintln!("== session length {length}: preparing");
        let dir = work.path().join(format!("len-{length}"));
        fs::create_dir_all(&dir)?;
        chronicle_prepare(&dir.join("chronicle"), project, length, 0, MESSAGE_BYTES).await?;
        let daemon = Daemon::start(&dir.join("chronicle"))?;
        let client = LoneClient::connect(&daemon.socket)?;
        // The same daemon without its write-ahead log (`--no-wal`).
        chronicle_prepare(&dir.join("chronicle-no-wal"), project, length, 0, MESSAGE_BYTES).await?;
        let daemon_no_wal = Daemon::start_with(&dir.join("chronicle-no-wal"), &["--no-wal"])?;
        let client_no_wal = LoneClient::connect(&daemon_no_wal.socket)?;
        if length == plan.lengths[0] {
            tokio::time::sleep(Duration::from_millis(500)).await;
            figures.push(figure("daemon idle RSS", daemon.rss_mib().0, "MiB"));
            // A round trip that touches no disk: what the socket and gRPC
            // cost, in time and in CPU on each side. The daemon is idle
            // but for these calls, so its live threads' run time is theirs.
            let daemon_before = cpu::live_threads(daemon.child.id())?;
            let rpc = client.status(plan.single)?;
            let daemon_cpu = cpu::live_threads(daemon.child.id())? - daemon_before;
            let calls = rpc.times.len().max(1) as f64;
            figures.push(figure(
                "RPC round trip without disk (GetStatus), p50",
                Samples(rpc.times).row("", 1, 0, None).p50_ms,
                "ms",
            ));
            figures.push(figure(
                "GetStatus: the lone client's CPU per call",
                rpc.cpu.as_secs_f64() * 1e6 / calls,
                "µs",
            ));
            figures.push(figure(
                "GetStatus: the daemon's CPU per call",
                daemon_cpu.as_secs_f64() * 1e6 / calls,
                "µs",
            ));
        }
        // The same store in this process, without gRPC: what the socket costs.
        chronicle_prepare(&dir.join("in-process"), project, length, 0, MESSAGE_BYTES).await?;
        let store = Store::open(&dir.join("in-process").join("chronicle.redb"), StoreConfig::default())?;
        chronicle_prepare(&dir.join("in-process-no-wal"), project, length, 0, MESSAGE_BYTES).await?;
        let store_no_wal = Store::open(
            &dir.join("in-process-no-wal").join("chronicle.redb"),
            StoreConfig {
                wal: false,
                ..StoreConfig::default()
            },
        )?;
        let store_project = ProjectPath::new(project)?;
        let mut floor = Floor::new(&dir)?;
        let mut json = JsonRewrite::new(&dir, length);
        let sqlite_path = dir.join("sqlite.db");
        sqlite::prepare(&sqlite_path, length)?;
        let sqlite = sqlite::open(&sqlite_path)?;
        let sqlite_content = markdown_message(3);
        let json_iterations = match length {
            0..=1_000 => plan.single / 2,
            1_001..=10_000 => 20,
            _ => 5,
        }
        .max(plan.rounds);
        let json_apart = length >= JSON_APART_FROM;

        eprintln!("== session length {length}: single-client rounds");
        let (mut s_floor, mut s_chronicle, mut s_json, mut s_sqlite, mut s_store) = (
            Samples::default(),
            Samples::default(),
            Samples::default(),
            Samples::default(),
            Samples::default(),
        );
        let (mut s_chronicle_no_wal, mut s_store_no_wal) = (Samples::default(), Samples::default());
        let mut s_stream = Samples::default();
        // Each burst's time, spread evenly over its appends.
        let (mut s_burst, mut w_burst) = (Samples::default(), Duration::ZERO);
        let (mut store_cpu, mut sqlite_cpu) = (Duration::ZERO, Duration::ZERO);
        let mut n = length;
        for _ in 0..plan.rounds {
            for _ in 0..plan.single / plan.rounds {
                s_floor.time(|| floor.once())?;
            }
            let each = plan.single / plan.rounds;
            s_chronicle.0.extend(client.append(project, n + 1, each)?.times);
            n += each as u64;
            s_chronicle_no_wal
                .0
                .extend(client_no_wal.append(project, n + 1, each)?.times);
            n += each as u64;
            s_stream.0.extend(client.append_streamed(project, n + 1, each)?.times);
            n += each as u64;
            let burst: Duration = client.append_burst(project, n + 1, each)?.times.iter().sum();
            s_burst.0.extend(std::iter::repeat_n(burst / each.max(1) as u32, each));
            w_burst += burst;
            n += each as u64;
            let cpu_before = cpu::live_threads(std::process::id())?;
            for _ in 0..each {
                n += 1;
                let message = message(n);
                let t = Instant::now();
                store.mutate(&store_project, None, Mutation::Append { message }).await?;
                s_store.0.push(t.elapsed());
            }
            store_cpu += cpu::live_threads(std::process::id())? - cpu_before;
            for _ in 0..each {
                n += 1;
                let message = message(n);
                let t = Instant::now();
                store_no_wal
                    .mutate(&store_project, None, Mutation::Append { message })
                    .await?;
                s_store_no_wal.0.push(t.elapsed());
            }
            if !json_apart {
                for _ in 0..json_iterations / plan.rounds {
                    s_json.time(|| json.once())?;
                }
            }
            let cpu_before = cpu::live_threads(std::process::id())?;
            for _ in 0..plan.single / plan.rounds {
                s_sqlite.time(|| sqlite::append(&sqlite, &sqlite_content))?;
            }
            sqlite_cpu += cpu::live_threads(std::process::id())? - cpu_before;
        }
        // CPU per append, where time per append moves with the disk: the
        // bench's live threads, which then run only the contender timed.
        for (contender, cpu, samples) in [
            ("chronicle-in-process", store_cpu, &s_store),
            ("sqlite-wal", sqlite_cpu, &s_sqlite),
        ] {
            figures.push(figure(
                &format!("{contender}, 1 client: CPU per append at {length}"),
                cpu.as_secs_f64() * 1e6 / samples.0.len().max(1) as f64,
                "µs",
            ));
        }
        rows.push(s_floor.row("fsync-floor", 1, length, None));
        rows.push(s_chronicle.row("chronicle", 1, length, None));
        rows.push(s_stream.row("chronicle-stream", 1, length, None));
        rows.push(s_burst.row("chronicle-burst", 1, length, Some(w_burst)));
        rows.push(s_chronicle_no_wal.row("chronicle --no-wal", 1, length, None));
        rows.push(s_store.row("chronicle-in-process", 1, length, None));
        rows.push(s_store_no_wal.row("chronicle-in-process --no-wal", 1, length, None));
        rows.push(s_sqlite.row("sqlite-wal", 1, length, None));

        eprintln!("== session length {length}: 16 concurrent clients, interleaved rounds");
        let each = (plan.per_client / plan.rounds).max(1);
        let mut sixteen: [(Samples, Duration); 5] = Default::default();
        let mut group_commits = 0;
        for round in 0..plan.rounds {
            // A different contender goes first each round.
            for turn in 0..5 {
                let which = (round + turn) % 5;
                let (samples, wall) = match which {
                    0 => chronicle_concurrent(&daemon, project, 16, each).await?,
                    1 => sqlite::immediate_writers(&sqlite_path, 16, each)?,
                    3 => store_concurrent(&store, &store_project, 16, each).await?,
                    4 => chronicle_streams_concurrent(&daemon, project, 16, each).await?,
                    _ => {
                        let (samples, wall, commits) = sqlite::group_commit(&sqlite_path, 16, each)?;
                        group_commits += commits;
                        (samples, wall)
                    }
                };
                sixteen[which].0.0.extend(samples.0);
                sixteen[which].1 += wall;
            }
        }
        let [
            (s_c16, w_c16),
            (s_imm, w_imm),
            (s_grp, w_grp),
            (s_store16, w_store16),
            (s_stream16, w_stream16),
        ] = sixteen;
        let group_appends = s_grp.0.len();
        rows.push(s_c16.row("chronicle", 16, length, Some(w_c16)));
        rows.push(s_stream16.row("chronicle-stream", 16, length, Some(w_stream16)));
        rows.push(s_store16.row("chronicle-in-process", 16, length, Some(w_store16)));
        rows.push(s_imm.row("sqlite-wal-immediate", 16, length, Some(w_imm)));
        rows.push(s_grp.row("sqlite-wal-group", 16, length, Some(w_grp)));
        figures.push(figure(
            &format!("sqlite-wal-group: appends per commit at {length}"),
            group_appends as f64 / group_commits.max(1) as f64,
            "",
        ));

        if length == 10_000 {
            eprintln!("== reads and export at 10,000 messages");
            let mut reads = Samples::default();
            let mut exports = Samples::default();
            let client = daemon.client().await?;
            for _ in 0..5 {
                let t = Instant::now();
                let count = read_all(&client, project).await?;
                reads.0.push(t.elapsed());
                if count < 10_000 {
                    bail!("read {count} messages, expected at least 10,000");
                }
                let t = Instant::now();
                export_markdown(&client, project).await?;
                exports.0.push(t.elapsed());
            }
            let reads = reads.row("", 1, length, None);
            let exports = exports.row("", 1, length, None);
            figures.push(figure(
                "GetWorkingSession, 10,000 messages (all pages), p50",
                reads.p50_ms,
                "ms",
            ));
            figures.push(figure("ExportMarkdown, 10,000 messages, p50", exports.p50_ms, "ms"));
        }
        peak_rss = peak_rss.max(daemon.rss_mib().1);
        peak_rss = peak_rss.max(daemon_no_wal.rss_mib().1);
        drop((client, client_no_wal));
        drop((daemon, daemon_no_wal));
        tokio::task::spawn_blocking(move || {
            store.close();
            store_no_wal.close();
        })
        .await?;

        if json_apart {
            eprintln!("== session length {length}: json-rewrite on its own, after the others");
            for _ in 0..json_iterations {
                s_json.time(|| json.once())?;
            }
        }
        rows.push(s_json.row("json-rewrite", 1, length, None));
        // The long sessions' files are hundreds of MB: free the disk.
        drop(json);
        fs::remove_dir_all(&dir)?;
    }

    eprintln!(
        "== sustained: 16 clients appending for {} s, by calls and over streams, alternately",
        plan.sustained.as_secs()
    );
    let (sustained, sustained_peak) = sustained::figures(work.path(), project, plan.sustained).await?;
    figures.extend(sustained);
    peak_rss = peak_rss.max(sustained_peak);

    eprintln!("== ListSessions with 1,000 saved sessions");
    let dir = work.path().join("listing");
    chronicle_prepare(&dir, project, 1, 1000, MESSAGE_BYTES).await?;
    let daemon = Daemon::start(&dir)?;
    let client = daemon.client().await?;
    let mut listing = Samples::default();
    for _ in 0..30 {
        let t = Instant::now();
        let sessions = client.sessions(project).await?;
        listing.0.push(t.elapsed());
        if sessions.len() != 1000 {
            bail!("listed {} sessions, expected 1,000", sessions.len());
        }
    }
    figures.push(figure(
        "ListSessions, 1,000 saved sessions, p50",
        listing.row("", 1, 0, None).p50_ms,
        "ms",
    ));
    peak_rss = peak_rss.max(daemon.rss_mib().1);
    figures.push(figure("daemon peak RSS (VmHWM) over the runs above", peak_rss, "MiB"));
    drop(daemon);

    eprintln!(
        "== backup and restore of {} messages of {} KiB",
        plan.bundle_messages,
        bundle::MESSAGE_BYTES / 1024
    );
    let restore = bundle::backup_and_restore(&work.path().join("bundle"), project, plan.bundle_messages).await?;
    let mb = restore.bundle_bytes as f64 / 1e6;
    figures.push(figure("bundle size", mb, "MB"));
    figures.push(figure(
        &format!("backup (ExportBundle) of the {mb:.0} MB bundle"),
        restore.backup.as_secs_f64(),
        "s",
    ));
    figures.push(figure(
        "daemon peak RSS (VmHWM) after the backup",
        restore.backup_peak_mib,
        "MiB",
    ));
    figures.push(figure(
        &format!("restore (ImportBundle) of the {mb:.0} MB bundle into a fresh daemon"),
        restore.restore.as_secs_f64(),
        "s",
    ));
    figures.push(figure(
        "fresh daemon RSS before the restore",
        restore.restore_idle_mib,
        "MiB",
    ));
    figures.push(figure(
        &format!(
            "fresh daemon peak RSS (VmHWM) after restoring {} messages",
            restore.messages
        ),
        restore.restore_peak_mib,
        "MiB",
    ));

    let environment = Environment {
        bench_dir: work.path().to_path_buf(),
        mount,
        load_before,
        load_after: load_average(),
    };
    report::report(&rows, &figures, &plan, &environment)?;
    Ok(())
}

/// Where and under what load the run happened, for the record.
fn main() -> anyhow::Result<()> {
    let plan = Plan::from_args()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()?;
    runtime.block_on(run(plan))
}
