//! `search_bench`: the full-text index measured on generated sessions.
//!
//! 1. Generates `--messages` messages (realistic lengths, a third with a
//!    code block, a vocabulary with a long tail) across `--sessions`
//!    working sessions, through the daemon's own store.
//! 2. Builds the index from redb exactly as `chronicled --reindex` does
//!    (in process) and reports messages per second.
//! 3. Times queries on it: one word, two words, a phrase with filters.
//! 4. Reports the index's size beside the redb file's.
//! 5. Starts a release `chronicled` with the index and without it, in
//!    alternating rounds, and times the durable append of one client (p50
//!    ratio), and the index lag (commit → searchable) under 16 appending
//!    clients.
//!
//! `cargo run --release -p chronicle-bench --bin search_bench -- [--messages N] [--sessions N]`

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use chronicle_client::{
    Client,
    v1::{Message, Role, SearchRequest},
};
use chronicled::search::{SearchIndex, SearchParams};
use chronicled::store::{Mutation, ProjectPath, Store, StoreConfig};
use tokio_util::sync::CancellationToken;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: deterministic, so every run indexes the same text.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const SYLLABLES: [&str; 24] = [
    "lo", "gin", "par", "ser", "to", "ken", "ca", "che", "re", "fresh", "han", "dle", "buf", "fer", "sche", "ma",
    "rou", "ter", "que", "ry", "in", "dex", "mi", "grate",
];
const COMMON: [&str; 24] = [
    "the", "a", "to", "and", "is", "it", "this", "that", "we", "should", "fix", "error", "test", "function", "file",
    "change", "return", "value", "call", "when", "but", "with", "not", "now",
];

/// A word: mostly common ones, with a Zipf-like tail of made-up terms.
fn word(rng: &mut Rng) -> String {
    if rng.below(100) < 55 {
        return COMMON[rng.below(COMMON.len() as u64) as usize].to_owned();
    }
    let parts = 1 + rng.below(3);
    // Squaring skews towards the first syllables: a few frequent terms.
    (0..parts)
        .map(|_| {
            let r = rng.below(SYLLABLES.len() as u64);
            SYLLABLES[(r * r / SYLLABLES.len() as u64) as usize]
        })
        .collect()
}

fn text(rng: &mut Rng) -> String {
    let words = 8 + rng.below(250);
    let mut out = String::new();
    for i in 0..words {
        if i > 0 {
            out.push(if rng.below(14) == 0 { '\n' } else { ' ' });
        }
        out.push_str(&word(rng));
    }
    if rng.below(3) == 0 {
        out.push_str("\n\n```rust\nfn ");
        out.push_str(&word(rng));
        out.push_str("(input: &str) -> Result<(), Error> {\n    let value = ");
        out.push_str(&word(rng));
        out.push_str("(input)?;\n    Ok(())\n}\n```\n");
    }
    out
}

fn message(rng: &mut Rng) -> Message {
    let assistant = rng.below(2) == 0;
    Message {
        role: if assistant { Role::Assistant } else { Role::User } as i32,
        content: text(rng),
        model: if assistant {
            ["gpt-5", "gpt-5-mini", "claude-sonnet-4"][rng.below(3) as usize].to_owned()
        } else {
            String::new()
        },
        ..Message::default()
    }
}

struct Args {
    messages: u64,
    sessions: u64,
    queries: usize,
    rounds: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        messages: 1_000_000,
        sessions: 2_000,
        queries: 200,
        rounds: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || -> anyhow::Result<u64> {
            let text = it.next().with_context(|| format!("{flag} needs a number"))?;
            text.parse()
                .with_context(|| format!("{flag}: {text:?} is not a number"))
        };
        match flag.as_str() {
            "--messages" => args.messages = value()?,
            "--sessions" => args.sessions = value()?.max(1),
            "--queries" => args.queries = value()? as usize,
            "--rounds" => args.rounds = value()? as usize,
            other => bail!("unknown flag {other} — flags: --messages N --sessions N --queries N --rounds N"),
        }
    }
    Ok(args)
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort_unstable();
    let at = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples.get(at).map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

fn dir_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        dir_bytes(&p)
                    } else {
                        e.metadata().map_or(0, |m| m.len())
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

async fn generate(data_dir: &Path, args: &Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(data_dir)?;
    let store = Store::open(&data_dir.join("chronicle.redb"), StoreConfig::default())?;
    let projects: Vec<ProjectPath> = (0..args.sessions)
        .map(|n| ProjectPath::new(&format!("/bench/project-{n:04}")))
        .collect::<Result<_, _>>()?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    let mut next = 0;
    while next < args.messages {
        let mut tasks = tokio::task::JoinSet::new();
        for n in next..(next + 2048).min(args.messages) {
            let store = store.clone();
            let project = projects[(n % args.sessions) as usize].clone();
            let message = message(&mut rng);
            tasks.spawn(async move { store.mutate(&project, None, Mutation::Append { message }).await });
        }
        while let Some(done) = tasks.join_next().await {
            done??;
        }
        next = (next + 2048).min(args.messages);
    }
    eprintln!(
        "generated {} messages in {:.1}s",
        args.messages,
        started.elapsed().as_secs_f64()
    );
    tokio::task::spawn_blocking(move || store.close()).await?;
    Ok(())
}

fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.parent().map_or_else(|| PathBuf::from(name), |dir| dir.join(name))
}

struct Daemon {
    child: Child,
    client: Client,
}

impl Daemon {
    async fn start(root: &Path, index: bool) -> anyhow::Result<Daemon> {
        let socket = root.join("run/chronicle.sock");
        let mut cmd = Command::new(binary("chronicled"));
        cmd.arg("--socket")
            .arg(&socket)
            .arg("--data-dir")
            .arg(root.join("data"));
        if !index {
            cmd.arg("--no-search-index");
        }
        let child = cmd
            .env("CHRONICLE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start chronicled (build it in release first)")?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(client) = Client::connect(&socket).await {
                return Ok(Daemon { child, client });
            }
            if Instant::now() > deadline {
                bail!("chronicled did not answer on {}", socket.display());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn stop(mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

async fn append_p50(client: &Client, project: &str, n: usize, rng: &mut Rng) -> anyhow::Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let message = message(rng);
        let start = Instant::now();
        client.append(project, message, None).await?;
        samples.push(start.elapsed());
    }
    Ok(samples)
}

/// 16 clients append; each acknowledged message is then searched for by
/// its unique word until found: commit → searchable.
async fn index_lag(client: &Client, root: &Path) -> anyhow::Result<Vec<Duration>> {
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..16u64 {
        let client = client.clone();
        let project = root.join(format!("lag-{c}")).to_string_lossy().into_owned();
        tasks.spawn(async move {
            let mut lags = Vec::new();
            for i in 0..20u64 {
                let probe = format!("lagprobe{c}x{i}");
                let message = Message {
                    role: Role::User as i32,
                    content: format!("{probe} with some ordinary words around it"),
                    ..Message::default()
                };
                client.append(&project, message, None).await?;
                let acked = Instant::now();
                loop {
                    let found = client
                        .search(SearchRequest {
                            query: probe.clone(),
                            project: project.clone(),
                            ..SearchRequest::default()
                        })
                        .await?;
                    if found.total_hits > 0 {
                        lags.push(acked.elapsed());
                        break;
                    }
                    if acked.elapsed() > Duration::from_secs(30) {
                        anyhow::bail!("{probe} never became searchable");
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
            Ok::<_, anyhow::Error>(lags)
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done??);
    }
    Ok(all)
}

async fn run() -> anyhow::Result<()> {
    let args = args()?;
    let work = tempfile::Builder::new().prefix("chronicle-search-bench-").tempdir()?;
    let data_dir = work.path().join("data");
    generate(&data_dir, &args).await?;

    // Build, as --reindex does.
    let store = Store::open(&data_dir.join("chronicle.redb"), StoreConfig::default())?;
    let stop = CancellationToken::new();
    let started = Instant::now();
    let index = SearchIndex::start(store.clone(), data_dir.join("search"), true, stop.clone())?;
    let probe = SearchParams {
        query: "the",
        project: None,
        include_trash: false,
        limit: 1,
        page_token: "",
    };
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if !index.search(&probe)?.catching_up {
            break;
        }
    }
    let build = started.elapsed();
    let rate = args.messages as f64 / build.as_secs_f64();

    let queries: [(&str, &str); 3] = [
        ("one word", "parser"),
        ("two words", "token refresh"),
        ("phrase + filters", "\"fix the\" role:assistant model:gpt-5* after:30d"),
    ];
    let mut query_rows = Vec::new();
    for (label, query) in queries {
        let mut samples = Vec::with_capacity(args.queries);
        let mut total = 0;
        for _ in 0..args.queries {
            let start = Instant::now();
            let page = index.search(&SearchParams {
                query,
                project: None,
                include_trash: false,
                limit: 20,
                page_token: "",
            })?;
            samples.push(start.elapsed());
            total = page.total_hits;
        }
        query_rows.push((
            label,
            query,
            percentile(&mut samples, 0.5),
            percentile(&mut samples, 0.99),
            total,
        ));
    }
    stop.cancel();
    let joined = index.clone();
    tokio::task::spawn_blocking(move || joined.join()).await?;
    tokio::task::spawn_blocking(move || store.close()).await?;
    let index_bytes = dir_bytes(&data_dir.join("search"));
    let redb_bytes = std::fs::metadata(data_dir.join("chronicle.redb"))?.len();

    // Append with the index on and off, alternating rounds, fresh stores.
    let mut on = Vec::new();
    let mut off = Vec::new();
    let mut lags = Vec::new();
    let mut rng = Rng(7);
    for round in 0..args.rounds {
        for indexed in [true, false] {
            let root = work.path().join(format!("append-{round}-{indexed}"));
            std::fs::create_dir_all(root.join("run"))?;
            let daemon = Daemon::start(&root, indexed).await?;
            let project = root.join("p").to_string_lossy().into_owned();
            // Warm-up, then measure.
            append_p50(&daemon.client, &project, 50, &mut rng).await?;
            let samples = append_p50(&daemon.client, &project, 300, &mut rng).await?;
            if indexed {
                on.extend(samples);
                if round == 0 {
                    lags = index_lag(&daemon.client, &root).await?;
                }
            } else {
                off.extend(samples);
            }
            daemon.stop();
        }
    }
    let (on50, off50) = (percentile(&mut on, 0.5), percentile(&mut off, 0.5));

    println!(
        "## Search ({} messages across {} sessions)\n",
        args.messages, args.sessions
    );
    println!("| query | p50 ms | p99 ms | hits |");
    println!("| --- | ---: | ---: | ---: |");
    for (label, query, p50, p99, total) in &query_rows {
        println!("| {label}: `{query}` | {p50:.2} | {p99:.2} | {total} |");
    }
    println!();
    println!("| figure | value |");
    println!("| --- | ---: |");
    println!(
        "| index build (from redb, as --reindex) | {:.1} s, {rate:.0} messages/s |",
        build.as_secs_f64()
    );
    println!("| index size | {:.1} MiB |", index_bytes as f64 / 1048576.0);
    println!("| redb file size | {:.1} MiB |", redb_bytes as f64 / 1048576.0);
    println!("| append p50, index on | {on50:.3} ms |");
    println!("| append p50, index off | {off50:.3} ms |");
    println!("| append p50 ratio on/off | {:.2}× |", on50 / off50);
    println!(
        "| index lag, 16 appending clients, p50 / p99 ({} probes) | {:.1} / {:.1} ms |",
        lags.len(),
        percentile(&mut lags, 0.5),
        percentile(&mut lags, 0.99)
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}
