//! Every script and every emoji in the picture, and times in the user's
//! zone, through the real daemon: a message in Chinese, Japanese, Korean,
//! Arabic and Hebrew with emoji is exported as PNG and read back by
//! tesseract; its emoji are in colour when the system has a colour emoji
//! font, and still drawn — not the missing-glyph box — when the daemon
//! cannot see one; a character that no font has is named on the first
//! chunk and by the CLI; Markdown and PNG show times in the zone the
//! client runs in.
//!
//! The script and colour checks need Debian's fonts-noto-cjk,
//! fonts-noto-color-emoji and tesseract's Korean and Simplified Chinese
//! data, which `.ci/run` installs: on CI their absence fails the test, on
//! a developer's machine it is skipped with a note.

use std::{
    ffi::OsStr,
    fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use crate::common::{Client, append, path_str};
use chronicle_client::text;
use chronicle_proto::v1::{ExportChunk, ExportImageRequest, GetWorkingSessionRequest, Role, Theme};
use chronicle_tests::{Daemon, Sandbox};
use image::RgbImage;
use tonic::Code;

const SAMPLE: &str = "Why does the **login** test hang? 你好 こんにちは 한국어 🚀 ✅ مرحبا שלום";
/// Unassigned in Unicode: no font can have it.
const NO_FONT: char = '\u{0378}';

/// Whether `needed` is here; on CI it must be, elsewhere the test is
/// skipped with a note saying what to install.
fn available(present: bool, needed: &str) -> bool {
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "{needed} is missing on CI — .ci/run installs it"
        );
        eprintln!("skipped: {needed} is not installed");
    }
    present
}

/// Every font file under the system's font directory, recursively.
fn system_font_files() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![PathBuf::from("/usr/share/fonts")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .and_then(OsStr::to_str)
                .is_some_and(|e| matches!(e, "ttf" | "otf" | "ttc" | "otc"))
            {
                found.push(path);
            }
        }
    }
    found
}

fn has_font(files: &[PathBuf], name: &str) -> bool {
    files
        .iter()
        .any(|f| f.file_name().and_then(OsStr::to_str).is_some_and(|n| n.contains(name)))
}

fn tesseract_has(languages: &[&str]) -> bool {
    Command::new("tesseract")
        .arg("--list-langs")
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|out| {
            let listed = String::from_utf8_lossy(&out.stdout);
            languages.iter().all(|l| listed.lines().any(|line| line.trim() == *l))
        })
}

/// A fontconfig file that shows the daemon every system font except the
/// emoji ones, as on a machine that has no emoji font.
fn fonts_without_emoji(dir: &Path) -> PathBuf {
    let fonts = dir.join("fonts-without-emoji");
    fs::create_dir_all(&fonts).expect("create font dir");
    for (i, file) in system_font_files().iter().enumerate() {
        let name = file.file_name().and_then(OsStr::to_str).unwrap_or("font");
        if !name.contains("Emoji") {
            std::os::unix::fs::symlink(file, fonts.join(format!("{i}-{name}"))).expect("link font");
        }
    }
    let config = dir.join("fonts.conf");
    fs::write(
        &config,
        format!(
            "<?xml version=\"1.0\"?>\n<fontconfig><dir>{}</dir></fontconfig>\n",
            fonts.display()
        ),
    )
    .expect("write fonts.conf");
    config
}

async fn export(client: &mut Client, request: ExportImageRequest) -> Vec<ExportChunk> {
    let mut stream = client.export_image(request).await.expect("ExportImage").into_inner();
    let mut chunks = Vec::new();
    while let Some(chunk) = stream.message().await.expect("a whole export") {
        chunks.push(chunk);
    }
    assert!(!chunks.is_empty(), "an export has at least one chunk");
    chunks
}

/// Exports message `id` alone; its first page, and the characters the
/// first chunk says no font could draw.
async fn export_one(client: &mut Client, project: &str, id: u64, time_zone: &str) -> (RgbImage, String) {
    let chunks = export(
        client,
        ExportImageRequest {
            project: project.to_owned(),
            theme: Theme::Light as i32,
            scale: 2.0,
            first_message_id: id,
            last_message_id: id,
            time_zone: time_zone.to_owned(),
            ..ExportImageRequest::default()
        },
    )
    .await;
    assert!(
        chunks[1..].iter().all(|c| c.missing_characters.is_empty()),
        "only the first chunk names missing characters"
    );
    let png: Vec<u8> = chunks
        .iter()
        .take_while(|c| c.page == 1)
        .flat_map(|c| c.data.iter().copied())
        .collect();
    let image = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
        .expect("a PNG page")
        .to_rgb8();
    (image, chunks[0].missing_characters.clone())
}

/// Pixels of strong colour: the role avatars have some, grey text and
/// monochrome glyphs none.
fn colourful(image: &RgbImage) -> usize {
    image
        .pixels()
        .filter(|p| {
            let (max, min) = (p.0.iter().max().copied(), p.0.iter().min().copied());
            matches!((max, min), (Some(max), Some(min)) if max - min > 80)
        })
        .count()
}

fn differing(a: &RgbImage, b: &RgbImage) -> usize {
    assert_eq!(a.dimensions(), b.dimensions(), "same layout");
    a.pixels().zip(b.pixels()).filter(|(x, y)| x != y).count()
}

fn ocr(image: &RgbImage, languages: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("page.png");
    image.save(&path).expect("write page");
    let out = Command::new("tesseract")
        .arg(&path)
        .arg("stdout")
        .args(["-l", languages])
        .output()
        .expect("run tesseract");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One message of `count` copies of `text`, so its glyphs dominate the
/// card and two such cards differ by them alone.
async fn repeated(client: &mut Client, project: &str, text: &str, count: usize) -> u64 {
    let content = vec![text; count].join(" ");
    append(client, project, Role::Assistant, &content).await;
    let working = client
        .get_working_session(GetWorkingSessionRequest {
            project: project.to_owned(),
            ..GetWorkingSessionRequest::default()
        })
        .await
        .expect("GetWorkingSession")
        .into_inner();
    working.messages.last().map(|m| m.id).expect("the message just added")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_script_reads_back_and_emoji_are_in_colour() {
    let fonts = system_font_files();
    if !available(has_font(&fonts, "NotoSansCJK"), "fonts-noto-cjk")
        || !available(has_font(&fonts, "NotoColorEmoji"), "fonts-noto-color-emoji")
        || !available(
            tesseract_has(&["eng", "kor", "chi_sim"]),
            "tesseract-ocr-kor and tesseract-ocr-chi-sim",
        )
    {
        return;
    }
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("scripts"));
    let sample = repeated(&mut client, &project, SAMPLE, 1).await;
    let rockets = repeated(&mut client, &project, "🚀", 12).await;
    let letters = repeated(&mut client, &project, "A", 12).await;

    let (page, missing) = export_one(&mut client, &project, sample, "Asia/Seoul").await;
    assert_eq!(missing, "", "every character of the sample has a font");
    let read = ocr(&page, "eng+kor+chi_sim");
    let flat: String = read.split_whitespace().collect();
    for expected in ["login", "你好", "한국어", "KST"] {
        assert!(flat.contains(expected), "OCR found {expected:?} in:\n{read}");
    }

    let (with_rockets, missing) = export_one(&mut client, &project, rockets, "").await;
    assert_eq!(missing, "");
    let (with_letters, _) = export_one(&mut client, &project, letters, "").await;
    let (rocket_colour, letter_colour) = (colourful(&with_rockets), colourful(&with_letters));
    assert!(
        rocket_colour > letter_colour + 2_000,
        "twelve colour rockets add colour: {rocket_colour} colourful pixels against {letter_colour} for letters"
    );
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_an_emoji_font_emoji_are_still_drawn_and_what_has_no_font_is_named() {
    let sandbox = Sandbox::new();
    let config = fonts_without_emoji(sandbox.dir.path());
    let daemon = sandbox.start_with_env(&[], &[("FONTCONFIG_FILE", config.as_os_str())]);
    let mut client = daemon.client().await;
    let dir = sandbox.project("no-emoji-font");
    let project = path_str(&dir);
    // Twenty of each fit on one line, so both cards have one size.
    let rockets = repeated(&mut client, &project, "🚀", 20).await;
    let boxes = repeated(&mut client, &project, &NO_FONT.to_string(), 20).await;
    let letters = repeated(&mut client, &project, "A", 20).await;

    let (with_rockets, missing) = export_one(&mut client, &project, rockets, "UTC").await;
    assert_eq!(missing, "", "the embedded emoji font draws the rocket");
    let (with_boxes, missing) = export_one(&mut client, &project, boxes, "UTC").await;
    assert_eq!(missing, NO_FONT.to_string(), "the unassigned character is named, once");
    let (with_letters, _) = export_one(&mut client, &project, letters, "UTC").await;
    assert!(
        colourful(&with_rockets) <= colourful(&with_letters) + 200,
        "no colour font is visible, so the rockets are monochrome: {} colourful pixels against {}",
        colourful(&with_rockets),
        colourful(&with_letters)
    );
    let changed = differing(&with_rockets, &with_boxes);
    assert!(
        changed > 1_000,
        "twenty rockets are not twenty missing-glyph boxes: only {changed} pixels differ"
    );

    // The CLI says, in one line, which characters came out as boxes.
    let run = sandbox.chronicle(&dir, &["export", "--image", "-o", "page.png"]).ok();
    let warnings: Vec<&str> = run.stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "one warning line: {}", run.stderr);
    assert!(warnings[0].contains("U+0378"), "{}", warnings[0]);
    assert!(
        !warnings[0].contains("U+1F680"),
        "the rocket had a font: {}",
        warnings[0]
    );
    assert!(dir.join("page.png").is_file());
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread")]
async fn times_show_in_the_clients_zone_with_its_abbreviation() {
    let sandbox = Sandbox::new();
    let daemon: Daemon = sandbox.start();
    let mut client = daemon.client().await;
    let dir = sandbox.project("zones");
    let project = path_str(&dir);
    append(&mut client, &project, Role::User, "what time is it?").await;
    let created = client
        .get_working_session(GetWorkingSessionRequest {
            project: project.clone(),
            ..GetWorkingSessionRequest::default()
        })
        .await
        .expect("GetWorkingSession")
        .into_inner()
        .messages[0]
        .created_at_ms;

    let out = sandbox
        .cli()
        .current_dir(&dir)
        .env("TZ", "Asia/Seoul")
        .args(["export", "--markdown", "-o", "-"])
        .output()
        .expect("run chronicle");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc = String::from_utf8_lossy(&out.stdout);
    let seoul = jiff::tz::TimeZone::get("Asia/Seoul").expect("the time zone database");
    let shown = text::local_time_seconds(created, &seoul).expect("a time");
    assert!(shown.ends_with(" KST"), "{shown}");
    assert!(
        doc.lines().any(|l| l.starts_with("### ") && l.ends_with(&shown)),
        "the message heading shows {shown}:\n{doc}"
    );
    let exported = doc
        .lines()
        .find(|l| l.starts_with("- **Exported:**"))
        .expect("an Exported line");
    assert!(exported.ends_with(" KST"), "{exported}");

    // A zone the daemon does not know is refused and names the zone.
    let status = client
        .export_image(ExportImageRequest {
            project,
            time_zone: "Mars/Olympus_Mons".into(),
            ..ExportImageRequest::default()
        })
        .await
        .expect_err("an unknown zone is refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("Mars/Olympus_Mons"), "{}", status.message());
    drop(daemon);
}
