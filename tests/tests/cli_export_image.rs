//! `chronicle export --image` end to end: the CLI asks the real daemon
//! for the pages and writes one PNG file per page, named `NAME-001.png`,
//! `NAME-002.png`, … when there are several (`NAME.png` for one), printing
//! each path as it is written; `-o -` streams a single page to stdout;
//! bad sizes are bad usage (exit 2).

use std::{fs, path::Path};

use crate::common::{Client, append};
use chronicle_proto::v1::Role;
use chronicle_tests::Sandbox;

fn decode(bytes: &[u8]) -> image::RgbImage {
    image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
        .expect("a PNG file")
        .to_rgb8()
}

/// The project string the CLI uses for `dir` (its canonical path).
fn project_of(dir: &Path) -> String {
    fs::canonicalize(dir)
        .expect("canonical project dir")
        .to_string_lossy()
        .into_owned()
}

async fn fill(client: &mut Client, project: &str, messages: usize) {
    for i in 0..messages {
        let role = if i % 2 == 0 { Role::User } else { Role::Assistant };
        let text = format!("message {i}\n\nwith a second paragraph, **bold** and `code`");
        append(client, project, role, &text).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn several_pages_become_numbered_files_and_each_path_is_printed() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let dir = sandbox.project("long");
    // Enough messages for more than one 16,384-pixel page.
    fill(&mut client, &project_of(&dir), 400).await;

    let run = sandbox.chronicle(&dir, &["export", "--image", "-o", "chat.png"]).ok();
    let printed: Vec<&str> = run.stdout.lines().collect();
    assert!(printed.len() >= 2, "several pages: {}", run.stdout);
    for (i, path) in printed.iter().enumerate() {
        assert_eq!(*path, format!("chat-{:03}.png", i + 1), "{}", run.stdout);
        let image = decode(&fs::read(dir.join(path)).expect("the page file exists"));
        assert_eq!(image.width(), 960);
        assert!(image.height() <= 16_384);
    }
    assert!(!dir.join("chat.png").exists(), "no unnumbered file beside the pages");

    // Without -o: the daemon's suggested name plus the time, numbered.
    let run = sandbox.chronicle(&dir, &["export", "--image", "--theme", "dark"]).ok();
    let printed: Vec<&str> = run.stdout.lines().collect();
    assert!(printed.len() >= 2, "{}", run.stdout);
    for (i, path) in printed.iter().enumerate() {
        assert!(path.starts_with("working-session-"), "{path}");
        assert!(path.ends_with(&format!("-{:03}.png", i + 1)), "{path}");
        decode(&fs::read(dir.join(path)).expect("the page file exists"));
    }
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread")]
async fn page_height_and_message_range_reach_the_daemon() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let dir = sandbox.project("ranged");
    fill(&mut client, &project_of(&dir), 30).await;

    let run = sandbox
        .chronicle(&dir, &["export", "--image", "--page-height", "1024", "-o", "short.png"])
        .ok();
    let pages: Vec<&str> = run.stdout.lines().collect();
    assert!(
        pages.len() >= 2,
        "30 messages do not fit on one 1,024-pixel page: {}",
        run.stdout
    );
    for path in &pages {
        assert!(
            decode(&fs::read(dir.join(path)).expect("page")).height() <= 1024,
            "{path}"
        );
    }

    let whole = sandbox.chronicle(&dir, &["export", "--image", "-o", "all.png"]).ok();
    let one = sandbox
        .chronicle(
            &dir,
            &["export", "--image", "--from", "5", "--to", "5", "-o", "one.png"],
        )
        .ok();
    assert_eq!(whole.stdout.trim(), "all.png");
    assert_eq!(one.stdout.trim(), "one.png");
    let all_height = decode(&fs::read(dir.join("all.png")).expect("all")).height();
    let one_height = decode(&fs::read(dir.join("one.png")).expect("one")).height();
    assert!(
        one_height < all_height / 4,
        "one message renders far shorter: {one_height} vs {all_height}"
    );
    drop(daemon);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_page_is_one_file_at_the_asked_size_or_stdout() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let dir = sandbox.project("short");
    fill(&mut client, &project_of(&dir), 3).await;

    let run = sandbox
        .chronicle(
            &dir,
            &["export", "--image", "--width", "600", "--scale", "2", "-o", "one.png"],
        )
        .ok();
    assert_eq!(run.stdout.trim(), "one.png");
    let image = decode(&fs::read(dir.join("one.png")).expect("one.png"));
    assert_eq!(image.width(), 1200, "600 logical pixels at scale 2");

    let out = sandbox
        .cli()
        .current_dir(&dir)
        .args(["export", "--image", "-o", "-"])
        .output()
        .expect("run chronicle");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(decode(&out.stdout).width(), 960, "the PNG itself on stdout");
    drop(daemon);
}

#[test]
fn bad_image_sizes_are_bad_usage() {
    let sandbox = Sandbox::new();
    let _daemon = sandbox.start();
    let dir = sandbox.project("usage");
    sandbox.chronicle(&dir, &["add", "hi"]).ok();
    for (args, needle) in [
        (&["export", "--image", "--width", "10"][..], "480 to 2400"),
        (&["export", "--image", "--scale", "9"][..], "0.5 to 4"),
        (&["export", "--image", "--page-height", "100"][..], "1024"),
    ] {
        let run = sandbox.chronicle(&dir, args);
        assert_eq!(run.code, Some(2), "chronicle {args:?}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "chronicle {args:?}: {}", run.stderr);
        assert_eq!(run.stderr.trim().lines().count(), 1, "one-line error: {}", run.stderr);
    }
    // Image-only options are refused with --markdown by the parser itself.
    let run = sandbox.chronicle(&dir, &["export", "--markdown", "--from", "3"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
    assert!(
        fs::read_dir(&dir).expect("read dir").next().is_none(),
        "nothing was written"
    );
}
