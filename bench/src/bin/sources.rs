//! `chronicle-bench-sources`: how fast a real `chronicled` imports other
//! agents' files, how much memory it takes doing so, and how soon a
//! followed line shows up. Not a test: it prints figures.
//!
//! - Import throughput (MB/s of source files) and the daemon's peak RSS
//!   (VmHWM, and the peaks of its anonymous and file-backed parts sampled
//!   every 20 ms: the search index's memory-mapped segments are file
//!   pages the kernel can drop, heap is not) for a generated Claude Code
//!   project (many transcripts) and one generated Codex CLI rollout, each
//!   `CHRONICLE_BENCH_SOURCE_MB` MB (default 200; `--quick`: 20). The baseline, measured in the same run
//!   on the same files: reading them and parsing every line with
//!   `serde_json` in this process — the least any JSON Lines importer does.
//!   Then how long until the search index holds what was imported (it
//!   takes an import's sessions once the import ends), the daemon's peak
//!   RssAnon meanwhile, and its VmHWM once searchable: the peak over the
//!   import and its indexing.
//! - Follow latency: a followed Claude transcript (a short one, and ones
//!   that start at 8 MB and at 80 MB), a Gemini CLI recording that starts
//!   at 8 MB, and the generated Codex
//!   rollout once the follow has read it, each get a line every 50 ms; the
//!   time from its write to the `Watch` event of the project, p50/p99, and
//!   the daemon's peak RSS over the whole follow (its first read included).
//!
//! Run it through `scripts/bench-sources.sh` (release build first).
//! `CHRONICLE_BENCH_DAEMON_ARGS` adds arguments to every `chronicled` it
//! starts (`--no-search-index` to see what the index costs).

use std::{
    fs,
    io::{BufRead, BufReader, BufWriter, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use chronicle_client::{
    Client,
    v1::{FollowSourceRequest, ImportSourceRequest, SearchRequest, SourceKind},
};
use serde_json::json;

const MIB: u64 = 1024 * 1024;

struct Daemon {
    child: Child,
    socket: PathBuf,
}

impl Daemon {
    fn start(data_dir: &Path) -> anyhow::Result<Daemon> {
        let binary = std::env::current_exe()?.with_file_name("chronicled");
        if !binary.is_file() {
            bail!("{} is missing — run scripts/bench-sources.sh", binary.display());
        }
        let socket = data_dir.join("chronicle.sock");
        let child = Command::new(&binary)
            .arg("--socket")
            .arg(&socket)
            .arg("--data-dir")
            .arg(data_dir)
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

    /// VmHWM (peak resident set) in MiB.
    fn peak_rss_mib(&self) -> f64 {
        status_mib(self.child.id(), "VmHWM:")
    }

    /// Samples the daemon's anonymous and file-backed RSS every 20 ms
    /// until [`RssSampler::peaks`].
    fn sample_rss(&self) -> RssSampler {
        let pid = self.child.id();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut anon, mut file) = (0.0f64, 0.0f64);
            while !stopped.load(Ordering::Relaxed) {
                anon = anon.max(status_mib(pid, "RssAnon:"));
                file = file.max(status_mib(pid, "RssFile:"));
                std::thread::sleep(Duration::from_millis(20));
            }
            (anon, file)
        });
        RssSampler { stop, thread }
    }
}

/// A daemon's RSS, sampled on a thread of its own.
struct RssSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(f64, f64)>,
}

impl RssSampler {
    /// Stops sampling: the peaks of RssAnon and RssFile in MiB.
    fn peaks(self) -> (f64, f64) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// One `kB` line of `/proc/PID/status`, in MiB (0 when absent).
fn status_mib(pid: u32, key: &str) -> f64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// ~1.5 KiB of prose, varied by `n`.
fn prose(n: u64) -> String {
    let mut text = format!("Step {n}: ");
    while text.len() < 1500 {
        text.push_str("The handler validates the token, looks the session up and renews its expiry; ");
    }
    text
}

/// A Claude Code project of transcripts of ~8 MB each, `total` bytes in all.
fn claude_project(dir: &Path, cwd: &str, total: u64) -> anyhow::Result<u64> {
    fs::create_dir_all(dir)?;
    let mut written = 0u64;
    let mut file_no = 0u64;
    while written < total {
        let sid = format!("00000000-0000-4000-8000-{file_no:012}");
        let mut out = BufWriter::new(fs::File::create(dir.join(format!("{sid}.jsonl")))?);
        let mut in_file = 0u64;
        let mut parent = serde_json::Value::Null;
        let mut n = 0u64;
        while in_file < 8 * MIB && written + in_file < total {
            let ts = format!("2026-03-01T{:02}:{:02}:{:02}Z", n / 3600 % 24, n / 60 % 60, n % 60);
            let uuid = format!("{sid}-{n}");
            let line = if n.is_multiple_of(3) {
                json!({"type": "user", "uuid": uuid, "parentUuid": parent, "sessionId": sid, "cwd": cwd,
                    "version": "2.1.0", "gitBranch": "main", "timestamp": ts,
                    "message": {"role": "user", "content": prose(n)}})
            } else if n % 3 == 1 {
                json!({"type": "assistant", "uuid": uuid, "parentUuid": parent, "sessionId": sid, "cwd": cwd,
                    "timestamp": ts, "message": {"id": format!("msg_{sid}_{n}"), "role": "assistant",
                    "model": "claude-opus-4-1", "content": [
                        {"type": "text", "text": prose(n)},
                        {"type": "tool_use", "id": format!("toolu_{sid}_{n}"), "name": "Read", "input": {"file_path": "/src/auth.rs"}}],
                    "usage": {"input_tokens": 1200, "output_tokens": 300, "cache_read_input_tokens": 9000, "cache_creation_input_tokens": 100}}})
            } else {
                json!({"type": "user", "uuid": uuid, "parentUuid": parent, "sessionId": sid, "cwd": cwd,
                    "timestamp": ts, "message": {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": format!("toolu_{sid}_{}", n - 1), "content": prose(n)}]}})
            };
            let text = line.to_string();
            writeln!(out, "{text}")?;
            in_file += text.len() as u64 + 1;
            parent = json!(uuid);
            n += 1;
        }
        out.flush()?;
        written += in_file;
        file_no += 1;
    }
    Ok(written)
}

/// One Codex CLI rollout of `total` bytes.
fn codex_rollout(path: &Path, cwd: &str, total: u64) -> anyhow::Result<u64> {
    fs::create_dir_all(path.parent().context("rollout dir")?)?;
    let mut out = BufWriter::new(fs::File::create(path)?);
    let meta = json!({"timestamp": "2026-03-02T09:00:00.000Z", "type": "session_meta", "payload": {
        "id": "0199a000-0000-7000-8000-000000000001", "timestamp": "2026-03-02T09:00:00.000Z", "cwd": cwd,
        "originator": "codex_cli_rs", "cli_version": "0.50.0"}})
    .to_string();
    writeln!(out, "{meta}")?;
    let mut written = meta.len() as u64 + 1;
    let mut n = 0u64;
    while written < total {
        let ts = format!("2026-03-02T09:{:02}:{:02}.000Z", n / 60 % 60, n % 60);
        let lines = [
            json!({"timestamp": ts, "type": "response_item", "payload": {"type": "message", "role": "user",
                "content": [{"type": "input_text", "text": prose(n)}]}}),
            json!({"timestamp": ts, "type": "response_item", "payload": {"type": "function_call", "name": "shell",
                "arguments": "{\"command\":[\"cargo\",\"test\"]}", "call_id": format!("call_{n}")}}),
            json!({"timestamp": ts, "type": "response_item", "payload": {"type": "function_call_output",
                "call_id": format!("call_{n}"), "output": prose(n + 1)}}),
            json!({"timestamp": ts, "type": "response_item", "payload": {"type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": prose(n + 2)}]}}),
            json!({"timestamp": ts, "type": "event_msg", "payload": {"type": "token_count", "info": {
                "total_token_usage": {"input_tokens": 1000 * (n + 1), "cached_input_tokens": 800 * (n + 1),
                "output_tokens": 200 * (n + 1), "total_tokens": 1200 * (n + 1)}}}}),
        ];
        for line in lines {
            let text = line.to_string();
            writeln!(out, "{text}")?;
            written += text.len() as u64 + 1;
        }
        n += 1;
    }
    out.flush()?;
    Ok(written)
}

/// The baseline: every line of every file under `dir` read and parsed by
/// `serde_json`, in this process. Seconds.
fn parse_baseline(paths: &[PathBuf]) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut lines = 0u64;
    for path in paths {
        let reader = BufReader::with_capacity(1 << 20, fs::File::open(path)?);
        for line in reader.lines() {
            let value: serde_json::Value = serde_json::from_str(&line?)?;
            lines += u64::from(value.is_object());
        }
    }
    std::hint::black_box(lines);
    Ok(started.elapsed().as_secs_f64())
}

fn files_under(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(files_under(&path)?);
        } else {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

struct ImportFigures {
    mb: f64,
    seconds: f64,
    baseline_seconds: f64,
    peak_rss_mib: f64,
    peak_anon_mib: f64,
    peak_file_mib: f64,
    messages: u64,
    /// From the start until searches stop saying the index is catching up
    /// (the index takes an import's sessions after it).
    searchable_seconds: f64,
    /// Peak RssAnon while the index takes them.
    indexing_anon_mib: f64,
    /// VmHWM once searchable: the peak over the import and its indexing.
    searchable_peak_rss_mib: f64,
}

async fn import(root: &Path, name: &str, kind: SourceKind, source: &Path, bytes: u64) -> anyhow::Result<ImportFigures> {
    let files = files_under(source)?;
    let baseline_seconds = parse_baseline(&files)?;
    let data = root.join(format!("data-{name}"));
    fs::create_dir_all(&data)?;
    let daemon = Daemon::start(&data)?;
    let client = Client::connect(&daemon.socket).await?;
    let sampler = daemon.sample_rss();
    let started = Instant::now();
    let summary = client
        .import_source_all(
            ImportSourceRequest {
                kind: kind as i32,
                paths: vec![source.to_string_lossy().into_owned()],
                project: root.join("project").to_string_lossy().into_owned(),
                dry_run: false,
            },
            |_| {},
        )
        .await?;
    let seconds = started.elapsed().as_secs_f64();
    let (peak_anon_mib, peak_file_mib) = sampler.peaks();
    let peak_rss_mib = daemon.peak_rss_mib();
    if !summary.skipped.is_empty() {
        bail!("{name}: the import skipped lines: {:?}", &summary.skipped[..1]);
    }
    let sampler = daemon.sample_rss();
    let search = SearchRequest {
        query: "expiry".into(),
        project: root.join("project").to_string_lossy().into_owned(),
        limit: 1,
        ..SearchRequest::default()
    };
    // A daemon without an index refuses the search: searchable at once.
    while client.search(search.clone()).await.is_ok_and(|r| r.index_catching_up) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let searchable_seconds = started.elapsed().as_secs_f64();
    let (indexing_anon_mib, _) = sampler.peaks();
    let searchable_peak_rss_mib = daemon.peak_rss_mib();
    Ok(ImportFigures {
        mb: bytes as f64 / MIB as f64,
        seconds,
        baseline_seconds,
        peak_rss_mib,
        peak_anon_mib,
        peak_file_mib,
        messages: summary.messages_imported,
        searchable_seconds,
        indexing_anon_mib,
        searchable_peak_rss_mib,
    })
}

/// Line written → `Watch` event, for `samples` lines of a followed
/// Claude transcript that starts with `prefill` lines of ~1.5 KiB (one
/// line when 0), under `name` in `root`.
async fn follow_claude_latency(
    root: &Path,
    name: &str,
    prefill: usize,
    samples: usize,
) -> anyhow::Result<FollowFigures> {
    let project = root.join(format!("{name}-project"));
    fs::create_dir_all(&project)?;
    let cwd = project.to_string_lossy().into_owned();
    let dir = root.join(format!("{name}-claude/projects/-p"));
    fs::create_dir_all(&dir)?;
    let sid = "11111111-0000-4000-8000-000000000001";
    let file = dir.join(format!("{sid}.jsonl"));
    let line = |n: usize| {
        let parent = if n == 0 {
            serde_json::Value::Null
        } else {
            json!(format!("u{}", n - 1))
        };
        json!({"type": "user", "uuid": format!("u{n}"), "parentUuid": parent, "sessionId": sid, "cwd": cwd,
            "timestamp": "2026-03-01T10:00:00Z", "message": {"role": "user", "content": format!("line {n}: {}", prose(n as u64))}})
        .to_string()
            + "\n"
    };
    let first: String = (0..prefill.max(1)).map(line).collect();
    fs::write(&file, first)?;
    let followed = Followed {
        kind: SourceKind::Claude,
        paths: root.join(format!("{name}-claude/projects")),
        file,
        cwd: cwd.clone(),
    };
    let next = prefill.max(1);
    follow_latency(
        &root.join(format!("data-{name}")),
        &followed,
        &|n| line(n + next),
        samples,
    )
    .await
}

/// Line written → `Watch` event for a followed Gemini CLI recording that
/// starts with `prefill` records of ~1.5 KiB, under `name` in `root`.
async fn follow_gemini_latency(
    root: &Path,
    name: &str,
    prefill: usize,
    samples: usize,
) -> anyhow::Result<FollowFigures> {
    let project = root.join(format!("{name}-project"));
    fs::create_dir_all(&project)?;
    let cwd = project.to_string_lossy().into_owned();
    let tmp = root.join(format!("{name}-gemini"));
    let chats = tmp.join("p/chats");
    fs::create_dir_all(&chats)?;
    fs::write(tmp.join("p/.project_root"), &cwd)?;
    let file = chats.join("session-2026-03-15T10-00-bench0001.jsonl");
    let record = |n: usize| {
        let kind = if n.is_multiple_of(2) { "user" } else { "gemini" };
        json!({"id": format!("r{n}"), "timestamp": "2026-03-15T10:00:00.000Z", "type": kind,
            "content": format!("record {n}: {}", prose(n as u64))})
        .to_string()
            + "\n"
    };
    let meta = json!({"sessionId": "bench-0001", "projectHash": "p", "startTime": "2026-03-15T10:00:00.000Z"});
    let first: String = std::iter::once(meta.to_string() + "\n")
        .chain((0..prefill.max(1)).map(record))
        .collect();
    fs::write(&file, first)?;
    let followed = Followed {
        kind: SourceKind::Gemini,
        paths: tmp,
        file,
        cwd,
    };
    let next = prefill.max(1);
    follow_latency(
        &root.join(format!("data-{name}")),
        &followed,
        &|n| record(n + next),
        samples,
    )
    .await
}

/// A file a follow latency is measured on.
struct Followed {
    kind: SourceKind,
    /// What the follow watches.
    paths: PathBuf,
    /// The file lines are appended to.
    file: PathBuf,
    /// The project its sessions go into.
    cwd: String,
}

/// What a follow measured: line written → `Watch` event in milliseconds,
/// sorted, and the daemon's memory over the whole follow (the first read of
/// what the file held, its indexing, the lines after).
struct FollowFigures {
    latencies: Vec<f64>,
    peak_rss_mib: f64,
    peak_anon_mib: f64,
}

/// Follows `followed` and measures `samples` lines appended to it once the
/// follow has read what the file held.
async fn follow_latency(
    data: &Path,
    followed: &Followed,
    line: &dyn Fn(usize) -> String,
    samples: usize,
) -> anyhow::Result<FollowFigures> {
    fs::create_dir_all(data)?;
    let daemon = Daemon::start(data)?;
    let sampler = daemon.sample_rss();
    let client = Client::connect(&daemon.socket).await?;
    let mut events = client.watch(&followed.cwd).await?;
    events.message().await?; // the snapshot
    client
        .follow_source(FollowSourceRequest {
            kind: followed.kind as i32,
            project: followed.cwd.clone(),
            paths: vec![followed.paths.to_string_lossy().into_owned()],
            ..FollowSourceRequest::default()
        })
        .await?;
    // The first read is done when the follow counts the file; its events
    // are let through before the first line is written.
    let deadline = Instant::now() + Duration::from_secs(1800);
    while client.source_follows().await?.iter().all(|f| f.files == 0) {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the follow never read {}",
            followed.file.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    while tokio::time::timeout(Duration::from_millis(500), events.message())
        .await
        .is_ok()
    {}
    let mut out = fs::OpenOptions::new().append(true).open(&followed.file)?;
    let mut latencies = Vec::with_capacity(samples);
    for n in 0..samples {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let written = Instant::now();
        out.write_all(line(n).as_bytes())?;
        tokio::time::timeout(Duration::from_secs(30), events.message())
            .await
            .context("no Watch event within 30 s")??
            .context("the Watch stream ended")?;
        latencies.push(written.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    let (peak_anon_mib, _) = sampler.peaks();
    Ok(FollowFigures {
        latencies,
        peak_rss_mib: daemon.peak_rss_mib(),
        peak_anon_mib,
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let mb: u64 = match std::env::var("CHRONICLE_BENCH_SOURCE_MB") {
        Ok(v) => v.parse().context("CHRONICLE_BENCH_SOURCE_MB must be a number of MB")?,
        Err(_) if quick => 20,
        Err(_) => 200,
    };
    let scratch = tempfile::Builder::new()
        .prefix("chronicle-bench-sources-")
        .tempdir_in(std::env::var_os("CHRONICLE_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from))?;
    let root = scratch.path();
    let cwd = root.join("project").to_string_lossy().into_owned();

    eprintln!("generating {mb} MB of Claude Code transcripts and a {mb} MB Codex rollout…");
    let claude_dir = root.join("claude/projects/-project");
    let claude_bytes = claude_project(&claude_dir, &cwd, mb * MIB)?;
    let codex_file = root.join("codex/sessions/2026/03/02/rollout-2026-03-02T09-00-00-bench.jsonl");
    let codex_bytes = codex_rollout(&codex_file, &cwd, mb * MIB)?;

    eprintln!("importing…");
    let claude = import(root, "claude", SourceKind::Claude, &claude_dir, claude_bytes).await?;
    let codex = import(
        root,
        "codex",
        SourceKind::Codex,
        codex_file.parent().context("dir")?,
        codex_bytes,
    )
    .await?;
    eprintln!("following…");
    let samples = if quick { 40 } else { 200 };
    let claude_follow = follow_claude_latency(root, "follow", 0, samples).await?;
    eprintln!("following an 8 MB transcript…");
    // An afternoon's session: ~5,000 lines of ~1.6 KiB.
    let long_follow = follow_claude_latency(root, "follow-long", 5_000, samples).await?;
    eprintln!("following an 80 MB transcript…");
    let longer_follow = follow_claude_latency(root, "follow-longer", 50_000, samples).await?;
    eprintln!("following an 8 MB Gemini recording…");
    let gemini_follow = follow_gemini_latency(root, "follow-gemini", 5_000, samples).await?;
    eprintln!("following the {mb} MB rollout…");
    let rollout = Followed {
        kind: SourceKind::Codex,
        paths: codex_file.parent().context("dir")?.to_path_buf(),
        file: codex_file.clone(),
        cwd: cwd.clone(),
    };
    let rollout_line = |n: usize| {
        json!({"timestamp": "2026-03-02T10:00:00.000Z", "type": "response_item", "payload": {"type": "message",
            "role": "user", "content": [{"type": "input_text", "text": format!("appended line {n}")}]}})
        .to_string()
            + "\n"
    };
    let rollout_follow = follow_latency(&root.join("data-follow-codex"), &rollout, &rollout_line, samples).await?;

    println!(
        "| import | MB | messages | seconds | MB/s | baseline MB/s (serde_json parse, in-process) | ratio | daemon peak RSS (VmHWM) MiB | peak RssAnon MiB | peak RssFile MiB | searchable after s | peak RssAnon while indexing MiB | daemon peak RSS (VmHWM) once searchable MiB |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (name, f) in [("Claude Code project", &claude), ("Codex rollout (one file)", &codex)] {
        let rate = f.mb / f.seconds;
        let baseline = f.mb / f.baseline_seconds;
        println!(
            "| {name} | {:.0} | {} | {:.2} | {:.1} | {:.1} | {:.2} | {:.0} | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} |",
            f.mb,
            f.messages,
            f.seconds,
            rate,
            baseline,
            rate / baseline,
            f.peak_rss_mib,
            f.peak_anon_mib,
            f.peak_file_mib,
            f.searchable_seconds,
            f.indexing_anon_mib,
            f.searchable_peak_rss_mib
        );
    }
    println!();
    println!(
        "| follow latency (line written → Watch event) | samples | p50 ms | p99 ms | max ms | daemon peak RSS (VmHWM) MiB | peak RssAnon MiB |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (name, f) in [
        ("Claude transcript, a line every 50 ms".to_owned(), &claude_follow),
        ("Claude transcript of 8 MB, a line every 50 ms".to_owned(), &long_follow),
        (
            "Claude transcript of 80 MB, a line every 50 ms".to_owned(),
            &longer_follow,
        ),
        (
            "Gemini CLI recording of 8 MB, a record every 50 ms".to_owned(),
            &gemini_follow,
        ),
        (
            format!("the {mb} MB Codex rollout, a line every 50 ms"),
            &rollout_follow,
        ),
    ] {
        let latencies = &f.latencies;
        println!(
            "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.0} | {:.0} |",
            latencies.len(),
            percentile(latencies, 50.0),
            percentile(latencies, 99.0),
            latencies.last().copied().unwrap_or(0.0),
            f.peak_rss_mib,
            f.peak_anon_mib
        );
    }
    Ok(())
}
