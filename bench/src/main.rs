//! `chronicle-bench`: Chronicle beside its peers and the disk's own limit,
//! measured on one machine in one run, the contenders interleaved round by
//! round so that a noisy neighbour hurts them all alike.
//!
//! Contenders, per mutation, at session lengths 0, 10,000 and 100,000
//! messages of 2 KiB Markdown:
//! - `fsync-floor`: `write` + `fdatasync` of the same bytes — the physical limit.
//! - `chronicle`: a durable `AppendMessage` over the real Unix socket
//!   through tonic, to a real `chronicled` process; 1 and 16 clients.
//! - `json-rewrite`: AiderDesk's strategy — the whole session serialised to
//!   JSON and written, with the fsync that makes it honest.
//! - `sqlite-wal`: rusqlite, WAL, `synchronous=FULL`, one INSERT per
//!   transaction; 1 and 16 writers.
//!
//! Plus reading 10,000 messages, listing 1,000 saved sessions, exporting
//! 10,000 messages as Markdown, and the daemon's idle and peak RSS. Prints a
//! Markdown table and writes the same figures as JSON.

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

const MESSAGE_BYTES: usize = 2048;

struct Plan {
    lengths: Vec<u64>,
    rounds: usize,
    /// Iterations per contender per length, single client.
    single: usize,
    /// Appends per client in the 16-client runs.
    per_client: usize,
    json_path: PathBuf,
}

impl Plan {
    fn from_args() -> anyhow::Result<Plan> {
        let mut plan = Plan {
            lengths: vec![0, 10_000, 100_000],
            rounds: 5,
            single: 500,
            per_client: 100,
            json_path: PathBuf::from("target/bench/results.json"),
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => {
                    plan.lengths = vec![0, 1_000, 10_000];
                    plan.single = 100;
                    plan.per_client = 25;
                }
                "--json" => plan.json_path = args.next().context("--json needs a path")?.into(),
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
                        "chronicle-bench [--quick] [--lengths 0,10000,100000] [--json PATH]\n\nRun it through scripts/bench.sh, which builds chronicled in release first."
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
    let mut text = format!("## Step {n}\n\nThe failing check was in `login()`; here is the fix:\n\n```rust\n");
    while text.len() < MESSAGE_BYTES - 200 {
        text.push_str("fn verify(hash: &Hash, password: &str) -> bool { hash.matches(password) }\n");
    }
    text.push_str("```\n\nRun the tests again with `cargo test` and the login flow passes.\n");
    while text.len() < MESSAGE_BYTES {
        text.push('.');
    }
    text.truncate(MESSAGE_BYTES);
    text
}

fn message(n: u64) -> Message {
    Message {
        role: if n.is_multiple_of(2) {
            Role::User
        } else {
            Role::Assistant
        } as i32,
        content: markdown_message(n),
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

// ------------------------------------------------------------- sqlite WAL

fn sqlite_open(path: &Path) -> anyhow::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS messages (session INTEGER, id INTEGER, role TEXT, content TEXT, PRIMARY KEY (session, id))",
    )?;
    Ok(conn)
}

fn sqlite_prepare(path: &Path, length: u64) -> anyhow::Result<()> {
    let mut conn = sqlite_open(path)?;
    let txn = conn.transaction()?;
    {
        let mut insert = txn.prepare("INSERT INTO messages VALUES (1, ?1, 'assistant', ?2)")?;
        for n in 0..length {
            insert.execute(rusqlite::params![n as i64 + 1, markdown_message(n)])?;
        }
    }
    txn.commit()?;
    Ok(())
}

fn sqlite_append(conn: &rusqlite::Connection, content: &str) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO messages VALUES (1, (SELECT COALESCE(MAX(id), 0) + 1 FROM messages WHERE session = 1), 'user', ?1)",
        [content],
    )?;
    Ok(())
}

/// `writers` threads, each with its own connection, each appending `each`.
fn sqlite_concurrent(path: &Path, writers: usize, each: usize) -> anyhow::Result<(Samples, Duration)> {
    let content = Arc::new(markdown_message(7));
    let start = Instant::now();
    let handles: Vec<_> = (0..writers)
        .map(|_| {
            let path = path.to_path_buf();
            let content = content.clone();
            std::thread::spawn(move || -> anyhow::Result<Samples> {
                let conn = sqlite_open(&path)?;
                let mut samples = Samples::default();
                for _ in 0..each {
                    samples.time(|| sqlite_append(&conn, &content))?;
                }
                Ok(samples)
            })
        })
        .collect();
    let mut all = Samples::default();
    for handle in handles {
        let samples = handle
            .join()
            .map_err(|_| anyhow::anyhow!("a sqlite writer panicked"))??;
        all.0.extend(samples.0);
    }
    Ok((all, start.elapsed()))
}

// -------------------------------------------------------------- chronicle

/// Fills a data dir with `length` messages in one project, in-process and
/// concurrently (so group commit makes it quick), before the daemon starts.
async fn chronicle_prepare(data_dir: &Path, project: &str, length: u64, saved_sessions: usize) -> anyhow::Result<()> {
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
                    .mutate(&project, None, Mutation::Append { message: message(n) })
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
        connected.push(daemon.client().await?);
    }
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for client in connected {
        let project = project.to_owned();
        tasks.spawn(async move {
            let mut samples = Samples::default();
            for n in 0..each {
                let t = Instant::now();
                append(&client, &project, n as u64).await?;
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

async fn run(plan: Plan) -> anyhow::Result<()> {
    let work = tempfile::Builder::new().prefix("chronicle-bench-").tempdir()?;
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
        chronicle_prepare(&dir.join("chronicle"), project, length, 0).await?;
        let daemon = Daemon::start(&dir.join("chronicle"))?;
        let client = daemon.client().await?;
        if length == plan.lengths[0] {
            tokio::time::sleep(Duration::from_millis(500)).await;
            figures.push(figure("daemon idle RSS", daemon.rss_mib().0, "MiB"));
            // A round trip that touches no disk: what the socket and gRPC cost.
            let mut rpc = Samples::default();
            for _ in 0..plan.single {
                let t = Instant::now();
                client.status().await?;
                rpc.0.push(t.elapsed());
            }
            figures.push(figure(
                "RPC round trip without disk (GetStatus), p50",
                rpc.row("", 1, 0, None).p50_ms,
                "ms",
            ));
        }
        // The same store in this process, without gRPC: what the socket costs.
        chronicle_prepare(&dir.join("in-process"), project, length, 0).await?;
        let store = Store::open(&dir.join("in-process").join("chronicle.redb"), StoreConfig::default())?;
        let store_project = ProjectPath::new(project)?;
        let mut floor = Floor::new(&dir)?;
        let mut json = JsonRewrite::new(&dir, length);
        let sqlite_path = dir.join("sqlite.db");
        sqlite_prepare(&sqlite_path, length)?;
        let sqlite = sqlite_open(&sqlite_path)?;
        let sqlite_content = markdown_message(3);
        let json_iterations = match length {
            0..=1_000 => plan.single / 2,
            1_001..=10_000 => 20,
            _ => 5,
        }
        .max(plan.rounds);

        eprintln!("== session length {length}: single-client rounds");
        let (mut s_floor, mut s_chronicle, mut s_json, mut s_sqlite, mut s_store) = (
            Samples::default(),
            Samples::default(),
            Samples::default(),
            Samples::default(),
            Samples::default(),
        );
        let mut n = length;
        for _ in 0..plan.rounds {
            for _ in 0..plan.single / plan.rounds {
                s_floor.time(|| floor.once())?;
            }
            for _ in 0..plan.single / plan.rounds {
                n += 1;
                let t = Instant::now();
                append(&client, project, n).await?;
                s_chronicle.0.push(t.elapsed());
            }
            for _ in 0..plan.single / plan.rounds {
                n += 1;
                let t = Instant::now();
                store
                    .mutate(&store_project, None, Mutation::Append { message: message(n) })
                    .await?;
                s_store.0.push(t.elapsed());
            }
            for _ in 0..json_iterations / plan.rounds {
                s_json.time(|| json.once())?;
            }
            for _ in 0..plan.single / plan.rounds {
                s_sqlite.time(|| sqlite_append(&sqlite, &sqlite_content))?;
            }
        }
        rows.push(s_floor.row("fsync-floor", 1, length, None));
        rows.push(s_chronicle.row("chronicle", 1, length, None));
        rows.push(s_store.row("chronicle-in-process", 1, length, None));
        rows.push(s_json.row("json-rewrite", 1, length, None));
        rows.push(s_sqlite.row("sqlite-wal", 1, length, None));

        eprintln!("== session length {length}: 16 concurrent clients");
        let (samples, wall) = chronicle_concurrent(&daemon, project, 16, plan.per_client).await?;
        rows.push(samples.row("chronicle", 16, length, Some(wall)));
        let (samples, wall) = sqlite_concurrent(&sqlite_path, 16, plan.per_client)?;
        rows.push(samples.row("sqlite-wal", 16, length, Some(wall)));

        if length == 10_000 {
            eprintln!("== reads and export at 10,000 messages");
            let mut reads = Samples::default();
            let mut exports = Samples::default();
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
        tokio::task::spawn_blocking(move || store.close()).await?;
    }

    eprintln!("== ListSessions with 1,000 saved sessions");
    let dir = work.path().join("listing");
    chronicle_prepare(&dir, project, 1, 1000).await?;
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
    figures.push(figure("daemon peak RSS (VmHWM) over all runs", peak_rss, "MiB"));
    drop(daemon);

    report(&rows, &figures, &plan)?;
    Ok(())
}

fn find<'a>(rows: &'a [Row], contender: &str, clients: usize, length: u64) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.contender == contender && r.clients == clients && r.length == length)
}

fn report(rows: &[Row], figures: &[Figure], plan: &Plan) -> anyhow::Result<()> {
    println!("| contender | clients | session length | p50 ms | p99 ms | ops/s |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.3} | {:.3} | {:.0} |",
            r.contender, r.clients, r.length, r.p50_ms, r.p99_ms, r.ops_per_sec
        );
    }
    println!();
    println!("| figure | value |");
    println!("| --- | ---: |");
    for f in figures {
        println!("| {} | {:.2} {} |", f.name, f.value, f.unit);
    }
    println!();
    let mut ratios = Vec::new();
    for &length in &plan.lengths {
        if let (Some(c), Some(f)) = (find(rows, "chronicle", 1, length), find(rows, "fsync-floor", 1, length)) {
            ratios.push((
                format!("chronicle 1-client p50 / fsync-floor p50 at {length}"),
                c.p50_ms / f.p50_ms,
                "≤ 2.0",
            ));
        }
        if let (Some(c), Some(s)) = (
            find(rows, "chronicle", 16, length),
            find(rows, "sqlite-wal", 16, length),
        ) {
            ratios.push((
                format!("chronicle 16-client ops/s / sqlite-wal 16-writer ops/s at {length}"),
                c.ops_per_sec / s.ops_per_sec,
                "≥ 3",
            ));
        }
    }
    let (first, last) = (plan.lengths[0], plan.lengths[plan.lengths.len() - 1]);
    if let (Some(a), Some(b)) = (find(rows, "chronicle", 1, first), find(rows, "chronicle", 1, last)) {
        ratios.push((
            format!("chronicle p50 at {last} / at {first}"),
            b.p50_ms / a.p50_ms,
            "≤ 1.3",
        ));
    }
    if let (Some(a), Some(b)) = (
        find(rows, "json-rewrite", 1, first),
        find(rows, "json-rewrite", 1, last),
    ) {
        ratios.push((
            format!("json-rewrite p50 at {last} / at {first}"),
            b.p50_ms / a.p50_ms,
            "(grows with n)",
        ));
    }
    println!("| ratio | value | target |");
    println!("| --- | ---: | --- |");
    for (name, value, target) in &ratios {
        println!("| {name} | {value:.2} | {target} |");
    }
    if let Some(parent) = plan.json_path.parent() {
        fs::create_dir_all(parent)?;
    }
    let json = serde_json::json!({
        "rows": rows,
        "figures": figures,
        "ratios": ratios.iter().map(|(n, v, t)| serde_json::json!({"name": n, "value": v, "target": t})).collect::<Vec<_>>(),
        "machine": machine(),
    });
    fs::write(&plan.json_path, serde_json::to_vec_pretty(&json)?)?;
    eprintln!("wrote {}", plan.json_path.display());
    Ok(())
}

/// CPU model, cores and kernel, for the record.
fn machine() -> serde_json::Value {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown".to_owned(), |m| m.trim().to_owned());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    serde_json::json!({
        "cpu": model,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "kernel": kernel.trim(),
    })
}

fn main() -> anyhow::Result<()> {
    let plan = Plan::from_args()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()?;
    runtime.block_on(run(plan))
}
