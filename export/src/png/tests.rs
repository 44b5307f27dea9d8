//! The whole pipeline without a daemon: options are checked as the
//! contract says, pages decode at the asked width and never pass the
//! height limit, output is byte-for-byte repeatable, and odd text renders.
//! The end-to-end suite (`tests/tests/daemon_export_image.rs`) covers the
//! same through the socket, plus OCR and hostile sizes.

use std::convert::Infallible;

use chronicle_proto::v1::{ToolCall, Usage};

use super::*;

/// Collects pages in memory.
#[derive(Default)]
struct Pages {
    pages: Vec<Vec<u8>>,
    announced: Vec<(u32, u32)>,
    open: bool,
}

impl io::Write for Pages {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        assert!(self.open, "bytes arrive only inside a page");
        if let Some(page) = self.pages.last_mut() {
            page.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl PageSink for Pages {
    fn begin_page(&mut self, page: u32, page_count: u32) -> io::Result<()> {
        self.announced.push((page, page_count));
        self.pages.push(Vec::new());
        self.open = true;
        Ok(())
    }

    fn end_page(&mut self) -> io::Result<()> {
        self.open = false;
        Ok(())
    }
}

fn msg(id: u64, role: Role, content: &str) -> Message {
    Message {
        id,
        role: role as i32,
        content: content.to_owned(),
        created_at_ms: 1_764_121_759_000 + id as i64 * 60_000,
        ..Message::default()
    }
}

fn info(count: usize) -> SessionHeader {
    SessionHeader {
        project: "/home/dev/src/app".into(),
        name: "fix login".into(),
        updated_at_ms: 1_764_121_759_000,
        message_count: count as u64,
        ..SessionHeader::default()
    }
}

fn render(options: &ImageOptions, messages: &[Message]) -> Pages {
    let mut sink = Pages::default();
    let files = [ContextFile {
        path: "src/login.rs".into(),
        read_only: true,
        ..ContextFile::default()
    }];
    let count = write(&mut sink, options, &info(messages.len()), &files, || {
        Ok::<_, Infallible>(messages.iter().cloned().map(Ok))
    })
    .expect("renders");
    assert_eq!(count as usize, sink.pages.len());
    sink
}

fn decode(png: &[u8]) -> image::RgbImage {
    image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .expect("a PNG")
        .to_rgb8()
}

fn chat() -> Vec<Message> {
    let mut answer = msg(
        2,
        Role::Assistant,
        "## Plan\n\nThe **session** cookie is *dropped*; see `login.rs` and [the docs](https://x).\n\n```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n\n1. first\n2. second\n   - nested\n\n> quoted\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\n---\n\n~~old~~ new",
    );
    answer.model = "gpt-test".into();
    answer.usage = Some(Usage {
        sent_tokens: 1234,
        received_tokens: 56,
        cost: 0.0125,
        ..Usage::default()
    });
    let mut tool = msg(3, Role::Tool, "");
    tool.tool = Some(ToolCall {
        name: "grep".into(),
        call_id: "c1".into(),
        args_json: r#"{"pattern":"login"}"#.into(),
        result_json: (0..80).map(|i| format!("hit {i}")).collect::<Vec<_>>().join("\n"),
        is_error: true,
    });
    let mut output = msg(4, Role::CommandOutput, "ok\nall tests passed");
    output.command = "cargo test".into();
    vec![msg(1, Role::User, "Why does login fail?"), answer, tool, output]
}

#[test]
fn options_apply_defaults_and_refuse_what_is_out_of_range() {
    let defaults = ImageOptions::new(0, 0, 0.0, 0, 0, 0).expect("zeros are defaults");
    assert_eq!(defaults, ImageOptions::default());
    assert!(ImageOptions::new(1, 480, 0.5, 1024, 1, 1).is_ok());
    assert!(ImageOptions::new(1, 2400, 4.0, 32_767, 0, 0).is_ok());
    for (theme, width, scale, height, first, last, needle) in [
        (7, 0, 0.0, 0, 0, 0, "theme 7"),
        (0, 479, 0.0, 0, 0, 0, "width_px 479"),
        (0, 2401, 0.0, 0, 0, 0, "width_px 2401"),
        (0, 0, 0.49, 0, 0, 0, "scale 0.49"),
        (0, 0, 4.01, 0, 0, 0, "scale 4.01"),
        (0, 0, -1.0, 0, 0, 0, "scale -1"),
        (0, 0, f32::NAN, 0, 0, 0, "scale NaN"),
        (0, 0, 0.0, 1023, 0, 0, "max_page_height_px 1023"),
        (0, 0, 0.0, 32_768, 0, 0, "max_page_height_px 32768"),
        (0, 0, 0.0, 0, 5, 4, "first_message_id 5"),
    ] {
        let err = ImageOptions::new(theme, width, scale, height, first, last).expect_err(needle);
        assert!(err.contains(needle), "{err:?} names {needle:?}");
    }
}

#[test]
fn pages_decode_at_the_requested_width() {
    let options = ImageOptions {
        width_px: 600,
        scale: 1.5,
        ..ImageOptions::default()
    };
    let pages = render(&options, &chat());
    assert_eq!(pages.pages.len(), 1);
    assert_eq!(pages.announced, [(1, 1)]);
    let image = decode(&pages.pages[0]);
    assert_eq!(image.width(), 900);
    assert!(image.height() > 300 && image.height() <= DEFAULT_PAGE_HEIGHT);
}

#[test]
fn rendering_is_repeatable_byte_for_byte() {
    let options = ImageOptions {
        theme: Theme::Dark,
        ..ImageOptions::default()
    };
    let a = render(&options, &chat());
    let b = render(&options, &chat());
    assert_eq!(a.pages, b.pages);
}

#[test]
fn long_chats_become_pages_within_the_limit() {
    let messages: Vec<Message> = (1..=80)
        .map(|i| {
            msg(
                i,
                if i % 2 == 0 { Role::Assistant } else { Role::User },
                &format!("message number {i}"),
            )
        })
        .collect();
    let options = ImageOptions {
        max_page_height_px: 1024,
        ..ImageOptions::default()
    };
    let pages = render(&options, &messages);
    assert!(pages.pages.len() > 3, "{} pages", pages.pages.len());
    let count = pages.pages.len() as u32;
    for (i, (page, announced)) in pages.pages.iter().zip(&pages.announced).enumerate() {
        assert_eq!(*announced, (i as u32 + 1, count));
        let image = decode(page);
        assert!(image.height() <= 1024, "page {i} is {} tall", image.height());
        assert_eq!(image.width(), 960);
    }
}

#[test]
fn cards_laid_out_again_at_paint_time_give_the_same_bytes() {
    // With no glyph budget every block is laid out a second time when its
    // page is painted, from a second read of the messages: it must land
    // exactly where the first pass measured it.
    // Quotes too: their bars reach into the gap above each block.
    let mut messages = chat();
    messages.push(msg(
        5,
        Role::Assistant,
        &(0..40)
            .map(|i| format!("> quoted paragraph {i}\n>\n"))
            .collect::<String>(),
    ));
    let messages: Vec<Message> = messages
        .into_iter()
        .cycle()
        .take(24)
        .enumerate()
        .map(|(i, m)| Message { id: i as u64 + 1, ..m })
        .collect();
    let options = ImageOptions {
        max_page_height_px: 2048,
        ..ImageOptions::default()
    };
    let kept = render(&options, &messages);
    assert!(kept.pages.len() > 1, "the check spans page breaks");
    let mut again = Pages::default();
    let files = [ContextFile {
        path: "src/login.rs".into(),
        read_only: true,
        ..ContextFile::default()
    }];
    write_kept(
        &mut again,
        &options,
        &info(messages.len()),
        &files,
        || Ok::<_, Infallible>(messages.iter().cloned().map(Ok)),
        0,
    )
    .expect("renders");
    assert!(
        again.pages == kept.pages,
        "identical pages whether layout was kept or redone"
    );
}

#[test]
fn odd_text_renders() {
    let odd = [
        "שלום עולם — مرحبا بالعالم — mixed RTL and LTR",
        "漢字かなカナ 한국어",
        "emoji 😀👍🏽 and a family 👨‍👩‍👧",
        "zero\u{200b}width\u{200c}join\u{200d}ers\u{2060}and\u{feff}bom",
        "controls \u{0}\u{7}\u{1b}[31m and a tab\tend",
        "```definitely-not-a-language {{{\ncode\n```\n\n```<script>\nx\n```",
        "combining: e\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}\u{301}",
    ];
    let messages: Vec<Message> = odd
        .iter()
        .enumerate()
        .map(|(i, text)| msg(i as u64 + 1, Role::User, text))
        .collect();
    let pages = render(&ImageOptions::default(), &messages);
    let image = decode(&pages.pages[0]);
    assert_eq!(image.width(), 960);
}

#[test]
fn an_empty_session_says_so() {
    let pages = render(&ImageOptions::default(), &[]);
    assert_eq!(pages.pages.len(), 1);
    decode(&pages.pages[0]);
}
