//! PNG export benchmark: a 200-message chat with code blocks, rendered
//! (1) in-process by the exporter alone and (2) through a real release
//! `chronicled` over its socket (when one is built: `$CHRONICLED`, or
//! `target/release/chronicled` beside this benchmark), reporting the time per export and the
//! daemon's resident memory (idle, and peak during the exports). Targets
//! on this machine: ≤ 1 s per export, ≤ 200 MB peak RSS.
//!
//! When Chromium is on PATH the same chat is also written as an HTML page
//! and screenshotted at the same total size by headless Chromium — what a
//! browser-based exporter has to do — twice: a cold browser started per
//! screenshot, and a warm one (already running, page loaded) timed for the
//! screenshot alone. Each is printed beside chronicled's measured time.
//!
//! Run: `cargo build --release -p chronicled && cargo bench -p chronicle-export --bench png_export`.

use std::{
    convert::Infallible,
    io::{self, Write as _},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use chronicle_export::{
    SessionHeader,
    png::{self, ImageOptions, PageSink},
};
use chronicle_proto::v1::{
    AppendMessageRequest, ContextFile, ExportImageRequest, Message, OpenProjectRequest, Role, Usage,
};

const MESSAGES: usize = 200;
const RUNS: usize = 5;

/// Counts bytes, pages and their total height; keeps nothing else.
#[derive(Default)]
struct Count {
    bytes: u64,
    pages: u32,
    height: u64,
    /// The start of the current page: signature and IHDR, with the height.
    head: Vec<u8>,
}

impl io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes += buf.len() as u64;
        let want = 24usize.saturating_sub(self.head.len()).min(buf.len());
        self.head.extend_from_slice(&buf[..want]);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl PageSink for Count {
    fn begin_page(&mut self, _page: u32, _count: u32) -> io::Result<()> {
        self.pages += 1;
        self.head.clear();
        Ok(())
    }
    fn end_page(&mut self) -> io::Result<()> {
        if let Some(height) = self.head.get(20..24).and_then(|b| b.try_into().ok()) {
            self.height += u64::from(u32::from_be_bytes(height));
        }
        Ok(())
    }
}

const RUST: &str = "use std::collections::HashMap;\n\n/// Counts the words of a text.\npub fn count(text: &str) -> HashMap<&str, usize> {\n    let mut counts = HashMap::new();\n    for word in text.split_whitespace() {\n        *counts.entry(word).or_insert(0) += 1;\n    }\n    counts\n}\n\n#[test]\nfn counts_words() {\n    assert_eq!(count(\"a b a\")[\"a\"], 2);\n}";
const PYTHON: &str = "import json\nfrom pathlib import Path\n\n\ndef load(path: Path) -> dict:\n    \"\"\"Reads a settings file, with defaults.\"\"\"\n    with path.open() as f:\n        data = json.load(f)\n    return {\"debug\": False, **data}\n\n\nif __name__ == \"__main__\":\n    print(load(Path(\"settings.json\")))";

/// The benchmark chat: questions, and answers with prose, a list and a
/// highlighted code block.
fn chat() -> Vec<Message> {
    (0..MESSAGES)
        .map(|i| {
            let id = i as u64 + 1;
            let base = Message {
                id,
                created_at_ms: 1_764_121_759_000 + i as i64 * 30_000,
                ..Message::default()
            };
            if i % 2 == 0 {
                Message {
                    role: Role::User as i32,
                    content: format!(
                        "Question {id}: why does the **word counter** miss words after a `\\t`? It worked before the refactor."
                    ),
                    ..base
                }
            } else {
                let (lang, code) = if i % 4 == 1 { ("rust", RUST) } else { ("python", PYTHON) };
                Message {
                    role: Role::Assistant as i32,
                    model: "bench-model".into(),
                    usage: Some(Usage {
                        sent_tokens: 1200 + id,
                        received_tokens: 300,
                        cost: 0.0042,
                        ..Usage::default()
                    }),
                    content: format!(
                        "## Answer {id}\n\nThe split uses *spaces* only, so tabs glue words together. Use `split_whitespace`, which also handles newlines and runs of blanks:\n\n```{lang}\n{code}\n```\n\n1. Replace the split.\n2. Add a test with tabs.\n   - and one with newlines\n\n> Nothing else in the module depends on the old behaviour."
                    ),
                    ..base
                }
            }
        })
        .collect()
}

fn info() -> SessionHeader {
    SessionHeader {
        project: "/home/dev/src/counter".into(),
        name: "word counter".into(),
        updated_at_ms: 1_764_128_000_000,
        message_count: MESSAGES as u64,
        ..SessionHeader::default()
    }
}

fn files() -> Vec<ContextFile> {
    vec![
        ContextFile {
            path: "src/count.rs".into(),
            ..ContextFile::default()
        },
        ContextFile {
            path: "Cargo.toml".into(),
            read_only: true,
            ..ContextFile::default()
        },
    ]
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// VmRSS and VmHWM of a process, in MiB.
fn rss_mib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            / 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The exporter alone, in this process.
fn in_process(messages: &[Message]) -> (Duration, Count) {
    let options = ImageOptions::default();
    let mut times = Vec::new();
    let mut last = Count::default();
    for _ in 0..RUNS {
        let mut sink = Count::default();
        let started = Instant::now();
        png::write(&mut sink, &options, &info(), &files(), || {
            Ok::<_, Infallible>(messages.iter().cloned().map(Ok))
        })
        .expect("render");
        times.push(started.elapsed());
        last = sink;
    }
    (median(times), last)
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The daemon binary to measure: `$CHRONICLED`, else the release build in
/// this workspace's target directory (the benchmark runs from
/// `target/release/deps`).
fn daemon_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHRONICLED") {
        return Some(PathBuf::from(path));
    }
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.parent()?.join("chronicled");
    candidate.is_file().then_some(candidate)
}

/// The same chat through a release daemon: time per export and RSS.
fn through_daemon(binary: &Path, messages: &[Message], dir: &Path) -> (Duration, u64, u64, u64) {
    let socket = dir.join("chronicle.sock");
    let child = Command::new(binary)
        .arg("--socket")
        .arg(&socket)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("CHRONICLE_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chronicled");
    let daemon = Daemon(child);
    let pid = daemon.0.id();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "chronicled did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let project = dir.join("counter");
    std::fs::create_dir_all(&project).expect("project dir");
    let project = project.to_string_lossy().into_owned();
    runtime.block_on(async {
        let mut client = chronicle_client::Client::connect(&socket)
            .await
            .expect("connect")
            .stub();
        client
            .open_project(OpenProjectRequest {
                project: project.clone(),
                start: 0,
                expected_revision: None,
            })
            .await
            .expect("open");
        for message in messages {
            let message = Message {
                id: 0,
                created_at_ms: message.created_at_ms,
                ..message.clone()
            };
            client
                .append_message(AppendMessageRequest {
                    project: project.clone(),
                    message: Some(message),
                    expected_revision: None,
                })
                .await
                .expect("append");
        }
        let (idle, _) = rss_mib(pid);
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let started = Instant::now();
            let mut stream = client
                .export_image(ExportImageRequest {
                    project: project.clone(),
                    ..ExportImageRequest::default()
                })
                .await
                .expect("export")
                .into_inner();
            while stream.message().await.expect("chunk").is_some() {}
            times.push(started.elapsed());
        }
        let (after, peak) = rss_mib(pid);
        (median(times), idle, after, peak)
    })
}

/// The chat as an HTML page styled like the PNG export.
fn html(messages: &[Message]) -> String {
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut out = String::from(
        "<!doctype html><meta charset=utf-8><style>body{margin:0;background:#e6e9ef;font:14px/21px 'DejaVu Sans',sans-serif;color:#1f2328}\
         .w{margin:20px;background:#eef0f4;border:1px solid #d0d7de;border-radius:12px;padding:18px}\
         .c{background:#fff;border:1px solid #d8dee4;border-radius:10px;padding:16px;margin-bottom:12px}\
         .u{background:#eef5ff}.r{font-weight:bold;font-size:13px}pre{background:#f3f5f8;border:1px solid #d8dee4;border-radius:6px;padding:10px 12px;font:12.5px/18.5px 'DejaVu Sans Mono',monospace;white-space:pre-wrap}\
         blockquote{border-left:3px solid #d0d7de;margin:0;padding-left:11px;color:#59636e}</style><div class=w>",
    );
    for m in messages {
        let user = m.role == Role::User as i32;
        out.push_str(&format!(
            "<div class='c{}'><div class=r>{} #{}</div>",
            if user { " u" } else { "" },
            if user { "User" } else { "Assistant" },
            m.id
        ));
        let mut in_code = false;
        for line in m.content.lines() {
            if line.starts_with("```") {
                out.push_str(if in_code { "</pre>" } else { "<pre>" });
                in_code = !in_code;
            } else if in_code {
                out.push_str(&escape(line));
                out.push('\n');
            } else if let Some(h) = line.strip_prefix("## ") {
                out.push_str(&format!("<h3>{}</h3>", escape(h)));
            } else if let Some(q) = line.strip_prefix("> ") {
                out.push_str(&format!("<blockquote>{}</blockquote>", escape(q)));
            } else if !line.is_empty() {
                out.push_str(&format!("<p>{}</p>", escape(line)));
            }
        }
        out.push_str("</div>");
    }
    out.push_str("</div>");
    out
}

fn chromium() -> Option<PathBuf> {
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "chromium-headless-shell",
    ]
    .iter()
    .find_map(|name| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
    })
}

const BROWSER_FLAGS: [&str; 4] = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"];

/// A cold browser per screenshot, as a browser-based exporter without a
/// resident browser does: start-up, page load and screenshot, timed
/// together; the median of 3.
fn chromium_cold(browser: &Path, page: &Path, dir: &Path, height: u32) -> Result<(Duration, (u32, u32)), String> {
    let shot = dir.join("chromium.png");
    let mut times = Vec::new();
    let mut size = (0, 0);
    for _ in 0..3 {
        let _ = std::fs::remove_file(&shot);
        let started = Instant::now();
        let status = Command::new(browser)
            .args(BROWSER_FLAGS)
            .arg(format!("--window-size=960,{height}"))
            .arg(format!("--screenshot={}", shot.display()))
            .arg(format!("file://{}", page.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| format!("cannot start {}: {e}", browser.display()))?;
        let elapsed = started.elapsed();
        if !status.success() {
            return Err(format!("exited with {status}"));
        }
        let head = std::fs::read(&shot).unwrap_or_default();
        size = png_size(&head).ok_or("wrote no PNG screenshot")?;
        times.push(elapsed);
    }
    Ok((median(times), size))
}

/// A warm browser: already running, the page already loaded; only
/// `Page.captureScreenshot` is timed (DevTools protocol over
/// `--remote-debugging-pipe`), the median of `RUNS`.
fn chromium_warm(browser: &Path, page: &Path, height: u32) -> Result<(Duration, (u32, u32)), String> {
    // The protocol pipe is the child's fds 3 (commands) and 4 (replies):
    // the shell moves our stdin/stdout pipes there before it execs.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null"#)
        .arg(browser)
        .args(BROWSER_FLAGS)
        .arg("--remote-debugging-pipe")
        .arg(format!("--window-size=960,{height}"))
        .arg("about:blank")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", browser.display()))?;
    let (Some(commands), Some(replies)) = (child.stdin.take(), child.stdout.take()) else {
        return Err("no protocol pipe".into());
    };
    let mut devtools = DevTools {
        commands,
        replies: io::BufReader::new(replies),
        next_id: 0,
    };
    let outcome = (|| -> Result<(Duration, (u32, u32)), String> {
        let target = devtools.call(None, "Target.createTarget", serde_json::json!({"url": "about:blank"}))?;
        let target_id = target["targetId"].as_str().ok_or("no targetId")?.to_owned();
        let attached = devtools.call(
            None,
            "Target.attachToTarget",
            serde_json::json!({"targetId": target_id, "flatten": true}),
        )?;
        let session = attached["sessionId"].as_str().ok_or("no sessionId")?.to_owned();
        let session = Some(session.as_str());
        devtools.call(session, "Page.enable", serde_json::json!({}))?;
        devtools.call(
            session,
            "Emulation.setDeviceMetricsOverride",
            serde_json::json!({"width": 960, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )?;
        devtools.call(
            session,
            "Page.navigate",
            serde_json::json!({"url": format!("file://{}", page.display())}),
        )?;
        devtools.wait_for(session, "Page.loadEventFired")?;
        let mut times = Vec::new();
        let mut size = (0, 0);
        for _ in 0..RUNS {
            let started = Instant::now();
            let shot = devtools.call(session, "Page.captureScreenshot", serde_json::json!({"format": "png"}))?;
            let elapsed = started.elapsed();
            let head = base64_head(shot["data"].as_str().unwrap_or_default());
            size = png_size(&head).ok_or("the screenshot is not a PNG")?;
            times.push(elapsed);
        }
        let _ = devtools.call(None, "Browser.close", serde_json::json!({}));
        Ok((median(times), size))
    })();
    drop(devtools);
    let _ = child.kill();
    let _ = child.wait();
    outcome
}

/// Width and height from a PNG's IHDR, so the output says how many pixels
/// the browser really drew.
fn png_size(head: &[u8]) -> Option<(u32, u32)> {
    if head.len() < 24 || &head[..8] != b"\x89PNG\r\n\x1a\n" {
        return None;
    }
    let word = |at: usize| head.get(at..at + 4)?.try_into().ok().map(u32::from_be_bytes);
    Some((word(16)?, word(20)?))
}

/// The first 24 bytes of base64 text (enough for a PNG's size).
fn base64_head(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sextets: Vec<u32> = text
        .bytes()
        .take(32)
        .map_while(|c| ALPHABET.iter().position(|&a| a == c).map(|v| v as u32))
        .collect();
    sextets
        .chunks_exact(4)
        .flat_map(|q| {
            let n = (q[0] << 18) | (q[1] << 12) | (q[2] << 6) | q[3];
            [(n >> 16) as u8, (n >> 8) as u8, n as u8]
        })
        .collect()
}

/// The DevTools protocol over a pipe: JSON messages ended by a NUL byte.
struct DevTools {
    commands: std::process::ChildStdin,
    replies: io::BufReader<std::process::ChildStdout>,
    next_id: u64,
}

impl DevTools {
    fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = serde_json::json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            command["sessionId"] = session.into();
        }
        let mut bytes = command.to_string().into_bytes();
        bytes.push(0);
        self.commands
            .write_all(&bytes)
            .and_then(|()| self.commands.flush())
            .map_err(|e| format!("{method}: {e}"))?;
        loop {
            let message = self.read()?;
            if message["id"].as_u64() == Some(id) {
                if let Some(error) = message.get("error") {
                    return Err(format!("{method}: {error}"));
                }
                return Ok(message["result"].clone());
            }
        }
    }

    fn wait_for(&mut self, session: Option<&str>, event: &str) -> Result<(), String> {
        loop {
            let message = self.read()?;
            if message["method"].as_str() == Some(event) && message["sessionId"].as_str() == session {
                return Ok(());
            }
        }
    }

    fn read(&mut self) -> Result<serde_json::Value, String> {
        let mut bytes = Vec::new();
        let read = io::BufRead::read_until(&mut self.replies, 0, &mut bytes).map_err(|e| e.to_string())?;
        if read == 0 {
            return Err("the browser closed the protocol pipe".into());
        }
        bytes.pop();
        serde_json::from_slice(&bytes).map_err(|e| format!("unreadable protocol message: {e}"))
    }
}

fn main() {
    // `cargo bench` passes `--bench`; filters are not supported.
    let messages = chat();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut out = io::stdout().lock();
    let _ = writeln!(
        out,
        "PNG export of a {MESSAGES}-message chat with code blocks (960 px, scale 1, light)"
    );

    let (alone, count) = in_process(&messages);
    let _ = writeln!(
        out,
        "  exporter alone:     {} per export (median of {RUNS}), {} page(s), 960 × {} px in all, {:.1} MB of PNG",
        ms(alone),
        count.pages,
        count.height,
        count.bytes as f64 / 1e6
    );

    let Some(binary) = daemon_binary() else {
        let _ = writeln!(
            out,
            "  through chronicled: no release daemon found — `cargo build --release -p chronicled` (or set CHRONICLED) to measure it"
        );
        return;
    };
    let (daemon, idle, after, peak) = through_daemon(&binary, &messages, dir.path());
    let _ = writeln!(
        out,
        "  through chronicled: {} per export (median of {RUNS}) — target ≤ 1000 ms",
        ms(daemon)
    );
    let _ = writeln!(
        out,
        "  daemon RSS:         {idle} MiB idle with the chat stored, {after} MiB after, peak {peak} MiB — target ≤ 200 MB"
    );

    match chromium() {
        None => {
            let _ = writeln!(
                out,
                "  chromium:           none of chromium, chromium-browser, google-chrome, chromium-headless-shell on PATH — browser comparison skipped"
            );
        }
        Some(browser) => {
            // As tall as our pages together, so both draw the whole chat.
            let height = u32::try_from(count.height).unwrap_or(u32::MAX);
            let page = dir.path().join("chat.html");
            if let Err(err) = std::fs::write(&page, html(&messages)) {
                let _ = writeln!(
                    out,
                    "  chromium:           cannot write the HTML page ({err}) — comparison skipped"
                );
                return;
            }
            let _ = writeln!(
                out,
                "  chromium:           {}, the same chat as HTML, one 960 × {height} px screenshot",
                browser.display()
            );
            for (kind, timed) in [
                ("cold", chromium_cold(&browser, &page, dir.path(), height)),
                ("warm", chromium_warm(&browser, &page, height)),
            ] {
                match timed {
                    Ok((shot, (width, drawn))) => {
                        let what = if kind == "cold" {
                            "a new browser per screenshot, start-up and page load included (median of 3)".to_owned()
                        } else {
                            format!("browser running and page loaded, the screenshot alone (median of {RUNS})")
                        };
                        let _ = writeln!(
                            out,
                            "  chromium {kind}:      {} for a {width} × {drawn} px PNG — {what}; {:.1}× chronicled's export",
                            ms(shot),
                            shot.as_secs_f64() / daemon.as_secs_f64()
                        );
                    }
                    Err(err) => {
                        let _ = writeln!(out, "  chromium {kind}:      failed ({err}) — not measured");
                    }
                }
            }
        }
    }
}
