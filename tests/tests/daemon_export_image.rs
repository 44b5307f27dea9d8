//! Image export through the real socket: pages are PNG files of exactly
//! `width_px × scale` pixels and never taller than `max_page_height_px`;
//! a 2,000-message chat becomes several pages while the daemon's memory
//! stays bounded; the dark theme is dark and the light one light, with
//! code on a background of its own; the text is really there (read back
//! with tesseract); the same session gives the same bytes; and hostile
//! content renders (or fails with a clear status) within a time bound,
//! after which the daemon still serves.

use std::{
    process::Command,
    time::{Duration, Instant},
};

use crate::common::{Client, add_files, append, append_message, file, heavy, message, path_str, save};
use chronicle_proto::v1::{ExportChunk, ExportImageRequest, GetStatusRequest, Role, SaveMode, Theme, ToolCall};
use chronicle_tests::{Daemon, Sandbox};
use image::RgbImage;
use tonic::{Code, Status};

const MIB: usize = 1024 * 1024;

fn request(project: &str, theme: Theme) -> ExportImageRequest {
    ExportImageRequest {
        project: project.to_owned(),
        theme: theme as i32,
        ..ExportImageRequest::default()
    }
}

/// Runs an export to its end; every chunk, or the status it failed with.
async fn export(client: &mut Client, request: ExportImageRequest) -> Result<Vec<ExportChunk>, Status> {
    let mut stream = client.export_image(request).await?.into_inner();
    let mut chunks = Vec::new();
    while let Some(chunk) = stream.message().await? {
        chunks.push(chunk);
    }
    Ok(chunks)
}

/// A finished page: its suggested name and its PNG bytes.
struct Page {
    name: String,
    png: Vec<u8>,
}

/// Joins chunks into pages, checking the chunk protocol on the way:
/// at most 1 MiB each, pages in order, the page count known from the
/// first chunk and never changing, a file name on each page's first
/// chunk only.
fn pages(chunks: &[ExportChunk]) -> Vec<Page> {
    assert!(!chunks.is_empty(), "an export has at least one chunk");
    let count = chunks[0].page_count;
    assert!(count >= 1);
    let mut pages: Vec<Page> = Vec::new();
    let mut open = false;
    for (i, chunk) in chunks.iter().enumerate() {
        assert!(chunk.data.len() <= MIB, "chunk {i} holds {} bytes", chunk.data.len());
        assert_eq!(chunk.page_count, count, "chunk {i} changes the page count");
        if !open {
            assert_eq!(chunk.page as usize, pages.len() + 1, "chunk {i} starts the next page");
            assert!(
                !chunk.suggested_file_name.is_empty(),
                "chunk {i} starts a page and names its file"
            );
            pages.push(Page {
                name: chunk.suggested_file_name.clone(),
                png: Vec::new(),
            });
        } else {
            assert_eq!(chunk.page as usize, pages.len(), "chunk {i} stays on its page");
            assert!(chunk.suggested_file_name.is_empty(), "chunk {i} repeats the file name");
        }
        if let Some(page) = pages.last_mut() {
            page.png.extend_from_slice(&chunk.data);
        }
        open = !chunk.last_in_page;
    }
    assert!(!open, "the last page was finished");
    assert_eq!(pages.len(), count as usize, "as many pages as announced");
    pages
}

fn decode(png: &[u8]) -> RgbImage {
    image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .expect("each page is a complete PNG")
        .to_rgb8()
}

fn luma(image: &RgbImage, x: u32, y: u32) -> u32 {
    let [r, g, b] = image.get_pixel(x, y).0;
    (u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114) / 1000
}

fn mean_luma(image: &RgbImage) -> u32 {
    let (w, h) = image.dimensions();
    let mut sum = 0u64;
    let mut n = 0u64;
    for y in (0..h).step_by(7) {
        for x in (0..w).step_by(7) {
            sum += u64::from(luma(image, x, y));
            n += 1;
        }
    }
    (sum / n.max(1)) as u32
}

/// The daemon's peak resident memory so far, in MiB (VmHWM).
fn peak_rss_mib(daemon: &Daemon) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.pid())).expect("read /proc status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmHWM in /proc status");
    kib / 1024
}

/// A chat with every kind of content a card shows.
async fn varied_chat(client: &mut Client, project: &str) {
    add_files(
        client,
        project,
        vec![file("src/login.rs", false), file("Cargo.toml", true)],
    )
    .await;
    append(
        client,
        project,
        Role::User,
        "Why does **login** fail after the redirect?",
    )
    .await;
    let mut answer = message(
        Role::Assistant,
        "## The cause\n\nThe *session cookie* is dropped; see `src/login.rs` and [the docs](https://example.com).\n\n```rust\nfn login(user: &str) -> Result<Session, Error> {\n    let session = Session::new(user)?;\n    Ok(session)\n}\n```\n\n1. keep the cookie\n2. set `SameSite=Lax`\n   - nested\n\n> quoted advice\n\n| header | value |\n|---|---|\n| a | 1 |\n\n---\n\n~~old~~ new",
    );
    answer.model = "test-model-1".into();
    append_message(client, project, answer).await;
    let mut tool = message(Role::Tool, "");
    tool.tool = Some(ToolCall {
        name: "grep".into(),
        call_id: "c1".into(),
        args_json: r#"{"pattern":"SameSite"}"#.into(),
        result_json: (0..100).map(|i| format!("hit {i}")).collect::<Vec<_>>().join("\n"),
        is_error: false,
    });
    append_message(client, project, tool).await;
    let mut output = message(Role::CommandOutput, "running 3 tests\ntest result: ok");
    output.command = "cargo test".into();
    append_message(client, project, output).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_are_pngs_of_width_times_scale_within_the_height_limit() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    varied_chat(&mut client, &project).await;
    for i in 0..12 {
        append(
            &mut client,
            &project,
            Role::User,
            &format!("filler message {i}\n\nwith two paragraphs"),
        )
        .await;
    }
    save(&mut client, &project, "Fix login", SaveMode::CreateNew).await;

    for (width, scale, max_height) in [(0, 0.0, 0), (700, 1.5, 1024), (480, 0.5, 1024), (2400, 2.0, 4096)] {
        let chunks = export(
            &mut client,
            ExportImageRequest {
                name: "Fix login".into(),
                width_px: width,
                scale,
                max_page_height_px: max_height,
                ..request(&project, Theme::Light)
            },
        )
        .await
        .expect("ExportImage");
        let pages = pages(&chunks);
        let width = if width == 0 { 960 } else { width };
        let scale = if scale == 0.0 { 1.0 } else { scale };
        let max_height = if max_height == 0 { 16_384 } else { max_height };
        for (i, page) in pages.iter().enumerate() {
            assert_eq!(page.name, format!("fix-login-{:03}.png", i + 1));
            let image = decode(&page.png);
            assert_eq!(
                image.width(),
                (width as f32 * scale).round() as u32,
                "width {width} × scale {scale}"
            );
            assert!(
                image.height() <= max_height,
                "page {} is {} tall, limit {max_height}",
                i + 1,
                image.height()
            );
        }
        if max_height == 1024 {
            assert!(pages.len() > 1, "a long chat on short pages takes several");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_thousand_messages_make_several_pages_in_bounded_memory() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("long"));
    for i in 0..2000 {
        let role = if i % 2 == 0 { Role::User } else { Role::Assistant };
        append(
            &mut client,
            &project,
            role,
            &format!("message {i}: a line of **chat** with `code`"),
        )
        .await;
    }
    let before = peak_rss_mib(&daemon);

    let chunks = export(&mut client, request(&project, Theme::Dark))
        .await
        .expect("ExportImage");
    let pages = pages(&chunks);
    assert!(
        pages.len() >= 3,
        "2,000 messages take several pages, got {}",
        pages.len()
    );
    for page in &pages {
        let image = decode(&page.png);
        assert_eq!(image.width(), 960);
        assert!(image.height() <= 16_384);
    }
    let peak = peak_rss_mib(&daemon);
    eprintln!(
        "2,000 messages: {} pages, daemon peak RSS {peak} MiB ({before} MiB before the export)",
        pages.len()
    );
    assert!(
        peak <= 200,
        "the daemon peaked at {peak} MiB during the export (it was at {before} MiB before)"
    );
}

/// The longest run of one colour down column `x`: `(colour, first row, length)`.
fn longest_run(image: &RgbImage, x: u32) -> ([u8; 3], u32, u32) {
    let mut best = ([0; 3], 0, 0);
    let mut start = 0;
    for y in 1..=image.height() {
        let ended = y == image.height() || image.get_pixel(x, y).0 != image.get_pixel(x, start).0;
        if ended {
            if y - start > best.2 {
                best = (image.get_pixel(x, start).0, start, y - start);
            }
            start = y;
        }
    }
    best
}

#[tokio::test(flavor = "multi_thread")]
async fn dark_is_dark_light_is_light_and_code_has_its_own_background() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    // A tall code block of short lines: down a column right of the text,
    // the code's background is the longest run of one colour.
    let code: String = (0..80).map(|i| format!("x = {i}\n")).collect();
    append(
        &mut client,
        &project,
        Role::Assistant,
        &format!("Some prose.\n\n```python\n{code}```\n\nMore prose."),
    )
    .await;

    for theme in [Theme::Light, Theme::Dark] {
        let chunks = export(&mut client, request(&project, theme))
            .await
            .expect("ExportImage");
        let pages = pages(&chunks);
        let image = decode(&pages[0].png);
        let (w, h) = image.dimensions();
        let corner = luma(&image, 2, 2);
        let mean = mean_luma(&image);
        match theme {
            Theme::Light => assert!(corner > 180 && mean > 180, "light: corner {corner}, mean {mean}"),
            Theme::Dark => assert!(corner < 60 && mean < 70, "dark: corner {corner}, mean {mean}"),
        }
        let x = w * 4 / 5;
        let (code_bg, top, len) = longest_run(&image, x);
        assert!(len > 900, "the code block is a long run of one colour, got {len} rows");
        let above = image.get_pixel(x, top.saturating_sub(4)).0;
        let below = image.get_pixel(x, (top + len + 4).min(h - 1)).0;
        assert_ne!(
            code_bg, above,
            "{theme:?}: the code background differs from the card above it"
        );
        assert_ne!(
            code_bg, below,
            "{theme:?}: the code background differs from the card below it"
        );
        let code_luma = luma(&image, x, top + len / 2);
        match theme {
            Theme::Light => assert!(code_luma > 180, "light code background, luma {code_luma}"),
            Theme::Dark => assert!(code_luma < 60, "dark code background, luma {code_luma}"),
        }
    }
}

fn tesseract_available() -> bool {
    Command::new("tesseract")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread")]
async fn ocr_reads_back_headings_bold_text_and_code() {
    if !tesseract_available() {
        // CI installs it (.ci/run); a developer without it is told, not failed.
        assert!(
            std::env::var_os("CI").is_none(),
            "tesseract is missing on CI — .ci/run installs tesseract-ocr"
        );
        eprintln!("skipped: tesseract is not installed (apt-get install tesseract-ocr)");
        return;
    }
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("ocr"));
    append(
        &mut client,
        &project,
        Role::Assistant,
        "# Quarterly Migration Report\n\nThe **database upgrade finished** before noon.\n\n```python\nprint(\"hello chronicle world\")\n```\n",
    )
    .await;
    let chunks = export(
        &mut client,
        ExportImageRequest {
            scale: 2.0,
            ..request(&project, Theme::Light)
        },
    )
    .await
    .expect("ExportImage");
    let pages = pages(&chunks);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("page.png");
    std::fs::write(&path, &pages[0].png).expect("write page");
    let out = Command::new("tesseract")
        .arg(&path)
        .arg("stdout")
        .output()
        .expect("run tesseract");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for phrase in [
        "Quarterly Migration Report",
        "database upgrade finished",
        "hello chronicle world",
    ] {
        assert!(flat.contains(phrase), "OCR found {phrase:?} in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_session_renders_to_the_same_bytes() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    varied_chat(&mut client, &project).await;
    for theme in [Theme::Light, Theme::Dark] {
        let first = export(&mut client, request(&project, theme))
            .await
            .expect("first export");
        let second = export(&mut client, request(&project, theme))
            .await
            .expect("second export");
        let bytes = |chunks: &[ExportChunk]| chunks.iter().flat_map(|c| c.data.iter().copied()).collect::<Vec<u8>>();
        assert!(bytes(&first) == bytes(&second), "{theme:?}: identical bytes");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_range_renders_only_that_range() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(
            append(&mut client, &project, Role::User, &format!("message {i}"))
                .await
                .message_id,
        );
    }
    let height = |chunks: &[ExportChunk]| -> u32 { pages(chunks).iter().map(|p| decode(&p.png).height()).sum() };
    let all = height(&export(&mut client, request(&project, Theme::Light)).await.expect("all"));
    let some = height(
        &export(
            &mut client,
            ExportImageRequest {
                first_message_id: ids[10],
                last_message_id: ids[14],
                ..request(&project, Theme::Light)
            },
        )
        .await
        .expect("a range"),
    );
    let one = height(
        &export(
            &mut client,
            ExportImageRequest {
                first_message_id: ids[10],
                last_message_id: ids[10],
                ..request(&project, Theme::Light)
            },
        )
        .await
        .expect("one message"),
    );
    assert!(one < some && some < all, "heights {one} < {some} < {all}");
    // A range past the end is an empty chat, not an error.
    let none = export(
        &mut client,
        ExportImageRequest {
            first_message_id: 10_000,
            ..request(&project, Theme::Light)
        },
    )
    .await
    .expect("an empty range");
    assert_eq!(pages(&none).len(), 1);
}

/// Contents meant to break a renderer.
fn hostile() -> Vec<(&'static str, String)> {
    let columns = 5000;
    let table = format!(
        "|{}|\n|{}|\n|{}|\n",
        (0..columns).map(|i| format!(" c{i} ")).collect::<Vec<_>>().join("|"),
        vec!["---"; columns].join("|"),
        (0..columns).map(|i| format!(" v{i} ")).collect::<Vec<_>>().join("|"),
    );
    vec![
        ("a 5 MiB single line", "0123456789abcdef".repeat(5 * MIB / 16)),
        ("10,000 nested list levels", format!("{}deep", "- ".repeat(10_000))),
        ("10,000 nested quotes", format!("{}deep", "> ".repeat(10_000))),
        ("a 5,000-column table", table),
        (
            "right-to-left and CJK text",
            "שלום עולם, זה טקסט מימין לשמאל. مرحبا بالعالم، هذا نص عربي. 漢字とかなとカナ、中文字符，한국어 문장. \u{202e}reversed\u{202c} mixed 123 ".repeat(200),
        ),
        (
            "emoji",
            "😀 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🇫🇷 🧑🏿‍💻 ❤️‍🔥 ".repeat(300),
        ),
        (
            "zero-width characters",
            "zero\u{200b}width\u{200c}non\u{200d}joiner\u{2060}word\u{feff}joiner\u{200e}\u{200f}\u{034f} ".repeat(2000),
        ),
        (
            "invalid fence languages",
            format!(
                "```<script>alert(1)</script>\nx\n```\n\n```{}\ny\n```\n\n```rust{{{{{{\nz\n```\n\n```\u{1}\u{7f}\nw\n```\n\n~~~~~~~~~~\nunclosed",
                "l".repeat(10_000)
            ),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_content_renders_or_fails_clearly_within_a_time_bound() {
    let _alone = heavy().await;
    // Generous for a debug build on a shared machine: this catches hangs,
    // it does not measure speed (the bench does). Pages are drawn at
    // scale 0.5: what is hostile here is the text (parsing, shaping,
    // wrapping, cutting into pages), which costs the same at any scale,
    // while the pixels — a quarter of them — only cost time.
    const BOUND: Duration = Duration::from_secs(90);
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    for (i, (what, content)) in hostile().into_iter().enumerate() {
        let project = path_str(&sandbox.project(&format!("hostile-{i}")));
        append(&mut client, &project, Role::Assistant, &content).await;
        let started = Instant::now();
        let hostile = ExportImageRequest {
            scale: 0.5,
            ..request(&project, Theme::Light)
        };
        let result = tokio::time::timeout(BOUND, export(&mut client, hostile)).await;
        let elapsed = started.elapsed();
        let Ok(result) = result else {
            panic!("{what}: no answer within {BOUND:?}");
        };
        match result {
            Ok(chunks) => {
                let pages = pages(&chunks);
                for page in &pages {
                    let image = decode(&page.png);
                    assert_eq!(image.width(), 480, "{what}");
                    assert!(image.height() <= 16_384, "{what}");
                }
                eprintln!("{what}: {} page(s) in {elapsed:.1?}", pages.len());
            }
            Err(status) => {
                assert!(
                    matches!(status.code(), Code::InvalidArgument | Code::ResourceExhausted),
                    "{what}: a refusal is a clear one, got {:?}: {}",
                    status.code(),
                    status.message()
                );
                assert!(!status.message().is_empty(), "{what}: the refusal says why");
            }
        }
        client
            .get_status(GetStatusRequest {})
            .await
            .unwrap_or_else(|err| panic!("{what}: the daemon still serves: {err}"));
    }
    assert!(
        !daemon.log_text().contains("panicked"),
        "no renderer panic:\n{}",
        daemon.log_text()
    );
}
