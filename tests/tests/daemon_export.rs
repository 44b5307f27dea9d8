//! Markdown export through the real socket: whatever the messages contain
//! (unclosed ``` fences, `###` lines, setext headings, raw HTML), a
//! CommonMark parser sees exactly one `###` heading per message and no
//! other heading but the document's own; the document lists the context
//! files (read-only marked) and each message's model; chunks are at most
//! 1 MiB and the first names the file.

use std::fs;

use crate::common::{Client, add_files, append, append_message, file, message, open, path_str, save};
use chronicle_proto::v1::{ExportChunk, ExportRequest, Message, Role, SaveMode, ToolCall, Usage};
use chronicle_tests::Sandbox;
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

const MIB: usize = 1024 * 1024;

async fn export(client: &mut Client, project: &str, name: &str) -> Vec<ExportChunk> {
    let mut stream = client
        .export_markdown(ExportRequest {
            project: project.to_owned(),
            name: name.to_owned(),
            time_zone: "UTC".to_owned(),
        })
        .await
        .expect("ExportMarkdown")
        .into_inner();
    let mut chunks = Vec::new();
    while let Some(chunk) = stream.message().await.expect("the export stream is healthy") {
        chunks.push(chunk);
    }
    assert!(!chunks.is_empty(), "an export has at least one chunk");
    chunks
}

fn document(chunks: &[ExportChunk]) -> String {
    let bytes: Vec<u8> = chunks.iter().flat_map(|c| c.data.iter().copied()).collect();
    String::from_utf8(bytes).expect("the export is UTF-8")
}

/// Every heading of the document as (level, text), in order, as strict
/// CommonMark sees it.
fn headings(doc: &str) -> Vec<(HeadingLevel, String)> {
    headings_with(doc, Options::empty())
}

/// GitHub-flavoured extensions, as most Markdown viewers enable them.
fn gfm() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM
}

fn headings_with(doc: &str, options: Options) -> Vec<(HeadingLevel, String)> {
    let mut out = Vec::new();
    let mut current: Option<(HeadingLevel, String)> = None;
    for event in Parser::new_ext(doc, options) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => current = Some((level, String::new())),
            Event::End(TagEnd::Heading(_)) => out.extend(current.take()),
            Event::Text(text) | Event::Code(text) => {
                if let Some((_, heading)) = current.as_mut() {
                    heading.push_str(&text);
                }
            }
            _ => {}
        }
    }
    out
}

/// Message contents that try to break out of their section.
const HOSTILE: [&str; 12] = [
    "```rust\nfn open() {\n    // this fence is never closed",
    "### not a section\n\nsome text\n\n#### deeper\n\n## Summary",
    "Before\n\n```\ncode\n```\n\nAfter, with ### in the middle of a line",
    "````\na four-backtick fence with ``` inside\n````",
    "~~~\nan unclosed tilde fence",
    "Title\n=====\n\nSub\n---",
    "<!-- an HTML comment that never ends",
    "<div>\n\n### inside html\n",
    "> ### a quoted heading\n> ```\n> quoted unclosed fence",
    "- item\n\n  ### nested heading\n  ```\n  unclosed in a list",
    "    indented code\n### right after",
    "`````\n````\n```\n",
];

#[tokio::test(flavor = "multi_thread")]
async fn markdown_has_exactly_one_h3_per_message_whatever_the_content() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));

    let mut ids = Vec::new();
    for (i, content) in HOSTILE.iter().enumerate() {
        let role = if i.is_multiple_of(2) {
            Role::User
        } else {
            Role::Assistant
        };
        ids.push(append(&mut client, &project, role, content).await.message_id);
    }
    // Fences in every other place a message can carry text.
    let mut command = message(Role::CommandOutput, "```\nunclosed output\n### and a heading");
    command.command = "cat README.md".into();
    ids.push(append_message(&mut client, &project, command).await.message_id);
    let mut tool = message(Role::Tool, "");
    tool.tool = Some(ToolCall {
        name: "shell".into(),
        call_id: "c1".into(),
        args_json: r#"{"cmd":"echo '```'"}"#.into(),
        result_json: "not json ```\n### heading".into(),
        is_error: true,
    });
    ids.push(append_message(&mut client, &project, tool).await.message_id);
    let mut thinking = message(Role::Assistant, "the answer");
    thinking.reasoning = "```\nunclosed reasoning\n###".into();
    ids.push(append_message(&mut client, &project, thinking).await.message_id);
    ids.push(append(&mut client, &project, Role::User, "").await.message_id);

    let doc = document(&export(&mut client, &project, "").await);
    for options in [Options::empty(), gfm()] {
        let all = headings_with(&doc, options);
        let h3: Vec<&String> = all
            .iter()
            .filter(|(level, _)| *level == HeadingLevel::H3)
            .map(|(_, t)| t)
            .collect();
        assert_eq!(
            h3.len(),
            ids.len(),
            "one ### per message ({options:?}); headings {all:#?}\n\n{doc}"
        );
        for (heading, id) in h3.iter().zip(&ids) {
            assert!(
                heading.contains(&format!("#{id}")),
                "heading {heading:?} belongs to message {id}\n\n{doc}"
            );
        }
        let others: Vec<&(HeadingLevel, String)> = all.iter().filter(|(level, _)| *level != HeadingLevel::H3).collect();
        let expected = [
            (HeadingLevel::H1, "Working session".to_owned()),
            (HeadingLevel::H2, "Context files".to_owned()),
            (HeadingLevel::H2, "Messages".to_owned()),
        ];
        assert_eq!(
            others,
            expected.iter().collect::<Vec<_>>(),
            "no heading leaks out of a message ({options:?})\n\n{doc}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn markdown_lists_the_context_files_and_models() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let root = sandbox.project("app");
    let project = path_str(&root);
    fs::create_dir_all(root.join("src")).expect("mkdir src");
    fs::write(root.join("src/main.rs"), "fn main() {}").expect("write main.rs");
    fs::write(root.join("notes.md"), "notes").expect("write notes.md");

    add_files(
        &mut client,
        &project,
        vec![file("src/main.rs", false), file("notes.md", true)],
    )
    .await;
    append(&mut client, &project, Role::User, "Which file opens the socket?").await;
    let mut answer = message(Role::Assistant, "`server.rs` does.");
    answer.model = "claude-test-model-7".into();
    answer.usage = Some(Usage {
        sent_tokens: 1234,
        received_tokens: 56,
        cost: 0.0125,
        ..Usage::default()
    });
    append_message(&mut client, &project, answer).await;
    save(&mut client, &project, "Fix Login!", SaveMode::CreateNew).await;
    let revision = open(&mut client, &project).await.revision;

    let doc = document(&export(&mut client, &project, "Fix Login!").await);
    let lines: Vec<&str> = doc.lines().collect();
    let main = lines
        .iter()
        .find(|l| l.starts_with("- `src/main.rs`"))
        .unwrap_or_else(|| panic!("src/main.rs listed:\n{doc}"));
    assert!(!main.contains("read-only"), "{main}");
    let notes = lines
        .iter()
        .find(|l| l.starts_with("- `notes.md`"))
        .unwrap_or_else(|| panic!("notes.md listed:\n{doc}"));
    assert!(notes.contains("read-only"), "{notes}");
    assert!(doc.contains("claude-test-model-7"), "the model is shown:\n{doc}");
    assert!(doc.contains("1234"), "the usage is shown:\n{doc}");
    assert!(doc.contains(&project), "the project is named:\n{doc}");

    let all = headings(&doc);
    assert_eq!(
        all.first(),
        Some(&(HeadingLevel::H1, "Fix Login!".to_owned())),
        "the title is the session name"
    );
    // The files list is a section of its own, before the messages.
    let files_at = doc.find("## Context files").expect("a Context files section");
    let messages_at = doc.find("## Messages").expect("a Messages section");
    let main_at = doc.find("- `src/main.rs`").expect("main.rs listed");
    assert!(files_at < main_at && main_at < messages_at, "{doc}");

    assert_eq!(
        open(&mut client, &project).await.revision,
        revision,
        "exporting changes nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn markdown_chunks_are_at_most_one_mib_and_the_first_names_the_file() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    let mut sent = Vec::new();
    for i in 0..3 {
        let line = format!("line {i} of a long tool output\n");
        let content = line.repeat(700 * 1024 / line.len());
        sent.push(content.clone());
        append_message(&mut client, &project, message(Role::Tool, &content)).await;
    }

    let chunks = export(&mut client, &project, "").await;
    assert!(
        chunks.len() >= 3,
        "over 2 MiB of Markdown comes in several chunks, got {}",
        chunks.len()
    );
    for (i, chunk) in chunks.iter().enumerate() {
        assert!(chunk.data.len() <= MIB, "chunk {i} holds {} bytes", chunk.data.len());
        let is_last = i + 1 == chunks.len();
        assert_eq!(
            chunk.last_in_page, is_last,
            "only the last chunk ends the file (chunk {i})"
        );
        if i > 0 {
            assert!(chunk.suggested_file_name.is_empty(), "chunk {i} repeats the file name");
        }
    }
    assert_eq!(chunks[0].suggested_file_name, "working-session.md");
    let doc = document(&chunks);
    for content in &sent {
        assert!(doc.contains(content.trim_end()), "every message arrives whole");
    }
    let h3 = headings(&doc)
        .into_iter()
        .filter(|(level, _)| *level == HeadingLevel::H3)
        .count();
    assert_eq!(h3, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn markdown_of_a_saved_session_is_that_session() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut client, &project, Role::User, "saved question").await;
    save(&mut client, &project, "Fix login / part 2", SaveMode::CreateNew).await;
    append(&mut client, &project, Role::User, "only in the working session").await;

    let chunks = export(&mut client, &project, "Fix login / part 2").await;
    assert_eq!(chunks[0].suggested_file_name, "fix-login-part-2.md");
    let doc = document(&chunks);
    assert!(doc.contains("saved question"), "{doc}");
    assert!(!doc.contains("only in the working session"), "{doc}");

    let working_doc = document(&export(&mut client, &project, "").await);
    assert!(working_doc.contains("only in the working session"), "{working_doc}");
}

#[tokio::test(flavor = "multi_thread")]
async fn markdown_of_an_empty_session_says_so() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    open(&mut client, &project).await;

    let chunks = export(&mut client, &project, "").await;
    assert_eq!(chunks.len(), 1);
    assert!(chunks[0].last_in_page);
    let doc = document(&chunks);
    assert!(doc.contains("No messages"), "{doc}");
    assert!(doc.contains("No files in context"), "{doc}");
    assert!(headings(&doc).iter().all(|(level, _)| *level != HeadingLevel::H3));
}

/// A message using the fields an exporter shows, for the role check below.
fn shown(role: Role, content: &str) -> Message {
    Message {
        model: "m".into(),
        ..message(role, content)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn markdown_headings_name_each_role() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    let roles = [
        Role::User,
        Role::Assistant,
        Role::Tool,
        Role::System,
        Role::CommandOutput,
        Role::Log,
    ];
    for role in roles {
        append_message(&mut client, &project, shown(role, "text")).await;
    }

    let doc = document(&export(&mut client, &project, "").await);
    let h3: Vec<String> = headings(&doc)
        .into_iter()
        .filter(|(level, _)| *level == HeadingLevel::H3)
        .map(|(_, text)| text)
        .collect();
    let expected = ["User", "Assistant", "Tool", "System", "Command output", "Log"];
    assert_eq!(h3.len(), expected.len(), "{doc}");
    for (heading, role) in h3.iter().zip(expected) {
        assert!(heading.starts_with(role), "{heading:?} names {role}");
    }
}
