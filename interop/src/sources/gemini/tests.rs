use super::*;
use crate::sources::RereadingParser;
use crate::sources::tests::{joined, line_of};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gemini/tmp/myproj");

fn fixture(rel: &str) -> (String, String) {
    let path = format!("{DIR}/{rel}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    (path, text)
}

/// Feeds `text` the way the importer does: every complete line, and the
/// unterminated rest only when `complete`. Returns the rest held back.
fn feed(parser: &mut GeminiParser, text: &str, complete: bool) -> String {
    let mut number = 0;
    let mut rest = text;
    while let Some(at) = rest.find('\n') {
        number += 1;
        parser.line(number, &rest[..at]);
        rest = &rest[at + 1..];
    }
    if complete && !rest.is_empty() {
        parser.line(number + 1, rest);
        return String::new();
    }
    rest.to_owned()
}

fn parse(rel: &str, opts: ParseOptions) -> Parsed {
    let (path, text) = fixture(rel);
    let mut parser = GeminiParser::new(&path, opts).with_cwd(Some("/home/dev/src/weather-app".into()));
    feed(&mut parser, &text, true);
    Box::new(parser).finish()
}

fn id(m: &Message) -> &str {
    m.metadata.get(meta::ID).map_or("", String::as_str)
}

fn role(m: &Message) -> Role {
    Role::try_from(m.role).unwrap_or(Role::Unspecified)
}

#[test]
fn a_plain_session_with_a_tool_call_reads_as_the_cli_showed_it() {
    let parsed = parse("chats/session-2026-03-14T09-12-3f0c9e52.jsonl", ParseOptions::default());
    assert_eq!(parsed.skipped, vec![]);
    assert_eq!(parsed.sessions.len(), 1);
    let s = &parsed.sessions[0];
    assert_eq!(s.source_id, "3f0c9e52-7d1a-4b8e-9c61-2a5d8e4f1b07");
    assert_eq!(s.title.as_deref(), Some("Stale forecast caused by a 24 h cache TTL"));
    assert_eq!(s.cwd.as_deref(), Some("/home/dev/src/weather-app"));
    assert_eq!(s.started_at_ms, rfc3339_ms("2026-03-14T09:12:05.120Z"));
    assert_eq!(s.parent, None);
    let ids: Vec<&str> = s.messages.iter().map(id).collect();
    // The record appended twice is one message (its later version); the
    // synthetic user record echoing the tool response is not a second copy.
    assert_eq!(ids, ["u-0001", "g-0001", "read_file-1710407534-0", "g-0002", "i-0001"]);
    let roles: Vec<Role> = s.messages.iter().map(role).collect();
    assert_eq!(
        roles,
        [Role::User, Role::Assistant, Role::Tool, Role::Assistant, Role::Log]
    );

    let first = &s.messages[0];
    assert_eq!(first.content, "Why does the forecast page show yesterday's data?");
    assert_eq!(
        first.created_at_ms,
        rfc3339_ms("2026-03-14T09:12:10.000Z").unwrap_or(-1)
    );
    for m in &s.messages {
        assert_eq!(m.metadata.get(meta::AGENT).map(String::as_str), Some("gemini"));
        assert_eq!(
            m.metadata.get(meta::SESSION).map(String::as_str),
            Some(s.source_id.as_str())
        );
        assert_eq!(
            m.metadata.get(meta::CWD).map(String::as_str),
            Some("/home/dev/src/weather-app")
        );
        assert_eq!(m.id, 0);
    }

    let thinking = &s.messages[1];
    assert_eq!(
        thinking.reasoning,
        "**Checking the cache** The page probably reads a stale cache entry."
    );
    assert_eq!(thinking.model, "gemini-2.5-pro");
    let usage = thinking.usage.unwrap_or_default();
    // 5210 prompt tokens of which 4096 were cached; thoughts bill as output.
    assert_eq!(
        (usage.sent_tokens, usage.cache_read_tokens, usage.received_tokens),
        (1114, 4096, 168)
    );

    let tool = s.messages[2].tool.clone().unwrap_or_default();
    assert_eq!(tool.name, "read_file");
    assert_eq!(tool.call_id, "read_file-1710407534-0");
    assert_eq!(
        tool.args_json,
        r#"{"absolute_path":"/home/dev/src/weather-app/src/cache.ts"}"#
    );
    assert_eq!(tool.result_json, "export const TTL_HOURS = 24;\n");
    assert!(!tool.is_error);

    assert!(
        s.messages[3]
            .content
            .starts_with("The cache keeps entries for 24 hours")
    );
    assert_eq!(s.messages[4].log_level, "info");
    assert_eq!(s.messages[4].content, "Request cancelled.");
}

#[test]
fn a_subagent_file_is_its_own_session_linked_to_the_parent_named_by_its_directory() {
    let parsed = parse(
        "chats/3f0c9e52-7d1a-4b8e-9c61-2a5d8e4f1b07/c0ffee00-1111-4a2b-8c3d-5e6f7a8b9c0d.jsonl",
        ParseOptions::default(),
    );
    assert_eq!(parsed.skipped, vec![]);
    let s = &parsed.sessions[0];
    assert_eq!(s.source_id, "c0ffee00-1111-4a2b-8c3d-5e6f7a8b9c0d");
    assert_eq!(
        s.parent,
        Some(SourceLink {
            kind: LinkKind::Subagent,
            parent_source_id: "3f0c9e52-7d1a-4b8e-9c61-2a5d8e4f1b07".into(),
            at_message: None
        })
    );
    assert_eq!(s.messages.len(), 2);
    assert_eq!(s.messages[1].model, "gemini-2.5-flash");
}

#[test]
fn a_rewind_keeps_the_abandoned_turns_as_a_branch_forked_after_the_last_kept_message() {
    let parsed = parse("chats/session-2026-03-15T10-00-9a8b7c6d.jsonl", ParseOptions::default());
    assert_eq!(parsed.skipped, vec![]);
    assert_eq!(parsed.sessions.len(), 2);
    let main = &parsed.sessions[0];
    let ids: Vec<&str> = main.messages.iter().map(id).collect();
    assert_eq!(ids, ["r-u1", "r-g1", "r-u3", "r-g3"]);
    let branch = &parsed.sessions[1];
    assert_eq!(branch.source_id, "9a8b7c6d-0000-4e5f-8a9b-0c1d2e3f4a5b/branch/r-u2");
    assert_eq!(branch.source_session_id, main.source_id);
    assert_eq!(
        branch.parent,
        Some(SourceLink {
            kind: LinkKind::Branch,
            parent_source_id: main.source_id.clone(),
            at_message: Some("r-g1".into())
        })
    );
    let ids: Vec<&str> = branch.messages.iter().map(id).collect();
    assert_eq!(ids, ["r-u2", "r-g2"]);
    assert_eq!(branch.messages[0].metadata.get(meta::SESSION), Some(&main.source_id));
}

#[test]
fn a_compression_checkpoint_keeps_the_full_history_and_adds_the_summary_as_system_messages() {
    let parsed = parse("chats/session-2026-03-16T08-30-5e5e5e5e.jsonl", ParseOptions::default());
    assert_eq!(parsed.skipped, vec![]);
    let s = &parsed.sessions[0];
    let ids: Vec<&str> = s.messages.iter().map(id).collect();
    assert_eq!(ids, ["c-u1", "c-g1", "c-s1", "c-s2", "c-u2"]);
    let summary = &s.messages[2];
    assert_eq!(role(summary), Role::System);
    assert_eq!(
        summary.metadata.get(meta::KIND).map(String::as_str),
        Some("compaction-summary")
    );
    assert!(summary.content.contains("state_snapshot"));
    assert_eq!(role(&s.messages[4]), Role::User);
}

#[test]
fn bad_lines_are_skipped_with_their_line_and_the_rest_is_read() {
    let (path, text) = fixture("chats/session-2026-03-17T12-00-b4d11e55.jsonl");
    let mut parser = GeminiParser::new(&path, ParseOptions::default());
    // The agent is still writing the last line: it is held back, not reported.
    let rest = feed(&mut parser, &text, false);
    assert!(rest.starts_with("{\"id\":\"b-g3\""));
    let parsed = Box::new(parser).finish();
    let lines: Vec<(u64, &str)> = parsed.skipped.iter().map(|s| (s.line, s.reason.as_str())).collect();
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert!(lines[0].0 == 2 && lines[0].1.starts_with("not JSON: "), "{lines:?}");
    assert_eq!(lines[1], (3, "not a JSON object but an array"));
    assert_eq!(lines[2], (4, "not a JSON object but a string"));
    assert_eq!(lines[3], (5, "unknown message type \"telemetry\""));
    assert_eq!(
        lines[4],
        (6, "neither a message (no \"id\"), metadata, $set nor $rewindTo")
    );
    assert_eq!(lines[5], (7, "unknown content part with videoMetadata"));
    assert!(parsed.skipped.iter().all(|s| s.file == path));
    let ids: Vec<&str> = parsed.sessions[0].messages.iter().map(id).collect();
    assert_eq!(ids, ["b-u2", "b-g2"]);

    // Once the file is known complete, the cut line is reported too.
    let mut parser = GeminiParser::new(&path, ParseOptions::default());
    feed(&mut parser, &text, true);
    let parsed = Box::new(parser).finish();
    let last = parsed
        .skipped
        .last()
        .map(|s| (s.line, s.reason.starts_with("not JSON: EOF")));
    assert_eq!(last, Some((9, true)));
}

#[test]
fn a_huge_inline_image_becomes_a_placeholder_naming_its_type_and_size() {
    let (path, text) = fixture("chats/session-2026-03-17T12-00-b4d11e55.jsonl");
    let image = "iVBORw0K".repeat(400_000); // 3.2 MB of base64, 2.4 MB of PNG
    let text = text.replace("IMAGE_PLACEHOLDER", &image);
    let mut parser = GeminiParser::new(&path, ParseOptions::default());
    feed(&mut parser, &text, false);
    let parsed = Box::new(parser).finish();
    let m = &parsed.sessions[0].messages[0];
    assert_eq!(m.content, "What is in this screenshot?\n[image/png omitted: 2.3 MiB]");

    // A small one fits and stays, as an inline image.
    let text = fixture("chats/session-2026-03-17T12-00-b4d11e55.jsonl")
        .1
        .replace("IMAGE_PLACEHOLDER", "iVBORw0K");
    let mut parser = GeminiParser::new(&path, ParseOptions::default());
    feed(&mut parser, &text, false);
    let parsed = Box::new(parser).finish();
    assert!(
        parsed.sessions[0].messages[0]
            .content
            .ends_with("![image/png](data:image/png;base64,iVBORw0K)")
    );
}

#[test]
fn the_older_single_file_form_reads_the_same_and_reports_a_bad_message_by_position() {
    let (path, text) = fixture("chats/session-2025-11-02T14-20-0ld5e551.json");
    let parsed = parse_json(&path, &text, None, ParseOptions::default());
    assert_eq!(
        parsed.skipped,
        vec![Skipped {
            file: path.clone(),
            line: 3,
            reason: "not a JSON object but a string".into()
        }]
    );
    let s = &parsed.sessions[0];
    assert_eq!(s.source_id, "0ld5e551-0000-4000-8000-000000000001");
    assert_eq!(s.cwd, None);
    let ids: Vec<&str> = s.messages.iter().map(id).collect();
    assert_eq!(ids, ["l-u1", "l-g1", "grep-1", "l-e1"]);
    let tool = s.messages[2].tool.clone().unwrap_or_default();
    assert!(tool.is_error);
    assert_eq!(tool.result_json, "ripgrep not found");
    assert_eq!(s.messages[3].log_level, "error");

    let parsed = parse_json(&path, "[]", None, ParseOptions::default());
    assert_eq!(parsed.sessions, vec![]);
    assert_eq!(parsed.skipped[0].line, 0);
}

#[test]
fn re_reading_grown_data_gives_the_same_ids_so_an_import_is_idempotent() {
    let (path, text) = fixture("chats/session-2026-03-14T09-12-3f0c9e52.jsonl");
    let cut_at = text.match_indices('\n').nth(4).map_or(0, |(i, _)| i + 1);
    let mut early = GeminiParser::new(&path, ParseOptions::default());
    feed(&mut early, &text[..cut_at], false);
    let early = Box::new(early).finish();
    let full = parse("chats/session-2026-03-14T09-12-3f0c9e52.jsonl", ParseOptions::default());
    let early_ids: Vec<&str> = early.sessions[0].messages.iter().map(id).collect();
    let full_ids: Vec<&str> = full.sessions[0].messages.iter().map(id).collect();
    assert_eq!(early_ids, full_ids[..early_ids.len()]);
    assert_eq!(early.sessions[0].source_id, full.sessions[0].source_id);
}

#[test]
fn recording_paths_are_recognised_and_lead_to_their_project_root_file() {
    let file = std::path::Path::new("/h/.gemini/tmp/myproj/chats/session-2026-03-14T09-12-3f0c9e52.jsonl");
    assert!(is_recording(file));
    assert_eq!(
        project_root_file(file),
        Some(std::path::PathBuf::from("/h/.gemini/tmp/myproj/.project_root"))
    );
    let sub = std::path::Path::new("/h/.gemini/tmp/myproj/chats/3f0c/c0ff.jsonl");
    assert!(is_recording(sub));
    assert_eq!(
        project_root_file(sub),
        Some(std::path::PathBuf::from("/h/.gemini/tmp/myproj/.project_root"))
    );
    assert!(!is_recording(std::path::Path::new("/h/.gemini/tmp/myproj/logs.json")));
    assert!(!is_recording(std::path::Path::new(
        "/h/.gemini/tmp/myproj/chats/notes.txt"
    )));
    let root = std::fs::read_to_string(format!("{DIR}/.project_root")).unwrap_or_default();
    assert_eq!(root.trim(), "/home/dev/src/weather-app");
}

#[test]
fn a_record_appended_to_a_long_recording_carries_its_own_messages_not_the_rest() {
    let mut parser = GeminiParser::new("g.jsonl", ParseOptions::default());
    parser.line(
        1,
        r#"{"sessionId":"s","projectHash":"p","startTime":"2026-03-15T10:00:00.000Z"}"#,
    );
    let call = |n: usize, result: bool| {
        let result = if result { r#","result":"done""# } else { "" };
        format!(
            r#"{{"id":"g{n}","timestamp":"2026-03-15T10:00:01.000Z","type":"gemini","content":"Step {n}.","toolCalls":[{{"id":"c{n}","name":"run","args":{{}}{result}}}]}}"#
        )
    };
    let mut carried = Vec::new();
    for n in 0..50 {
        let prompt =
            format!(r#"{{"id":"u{n}","timestamp":"2026-03-15T10:00:01.000Z","type":"user","content":"Do {n}"}}"#);
        // The reply, then the same record again once its call returned.
        for (k, line) in [prompt, call(n, false), call(n, true)].iter().enumerate() {
            parser.line(2 + 3 * n as u64 + k as u64, line);
            let changes = parser.changes(&mut |_| None, usize::MAX, &mut |_| true);
            let messages: Vec<&str> = changes.sessions.iter().flat_map(|s| &s.messages).map(id).collect();
            carried.push(messages.len());
            if n > 0 {
                assert!(changes.sessions[0].continued, "after {n} turns");
            }
        }
    }
    // A prompt is one message; a reply with its call two, again when the
    // call's result rewrites the record.
    let expected: Vec<usize> = (0..50).flat_map(|_| [1, 2, 2]).collect();
    assert_eq!(carried, expected);
    let whole = Box::new(parser).finish();
    assert_eq!(whole.sessions[0].messages.len(), 150);
}

const RECORDINGS: [&str; 5] = [
    "chats/session-2026-03-14T09-12-3f0c9e52.jsonl",
    "chats/session-2026-03-15T10-00-9a8b7c6d.jsonl",
    "chats/session-2026-03-16T08-30-5e5e5e5e.jsonl",
    "chats/session-2026-03-17T12-00-b4d11e55.jsonl",
    "chats/3f0c9e52-7d1a-4b8e-9c61-2a5d8e4f1b07/c0ffee00-1111-4a2b-8c3d-5e6f7a8b9c0d.jsonl",
];

/// `rel` read by a parser keeping `keep` bytes of messages, ended by
/// [`RereadingParser::finish_in_parts`] in parts of `part_bytes`.
fn parse_rereading(
    rel: &str,
    keep: usize,
    part_bytes: usize,
    reread: &mut dyn FnMut(u64) -> Option<String>,
) -> (Vec<SourceSession>, Vec<Skipped>) {
    let (path, text) = fixture(rel);
    let mut parser = GeminiParser::new(&path, ParseOptions::default())
        .with_cwd(Some("/home/dev/src/weather-app".into()))
        .rereading(keep);
    for (i, line) in text.lines().enumerate() {
        parser.line(i as u64 + 1, line);
    }
    let mut parts = Vec::new();
    let skipped = Box::new(parser).finish_in_parts(reread, part_bytes, &mut |s| {
        parts.push(s);
        true
    });
    (parts, skipped)
}

#[test]
fn records_read_back_from_their_lines_in_parts_give_the_same_sessions() {
    for rel in RECORDINGS {
        let whole = parse(rel, ParseOptions::default());
        let (_, text) = fixture(rel);
        for keep in [0, 200, usize::MAX] {
            // One byte per part: each record's messages go out on their own.
            let (parts, skipped) = parse_rereading(rel, keep, 1, &mut line_of(&text));
            assert_eq!(skipped, whole.skipped, "{rel}, keep {keep}");
            let mut ids: Vec<&str> = parts.iter().map(|p| p.source_id.as_str()).collect();
            ids.dedup();
            let expected: Vec<&str> = whole.sessions.iter().map(|s| s.source_id.as_str()).collect();
            assert_eq!(
                ids, expected,
                "{rel}, keep {keep}: the same sessions in order, each in consecutive parts"
            );
            for session in &whole.sessions {
                assert_eq!(&joined(&parts, &session.source_id), session, "{rel}, keep {keep}");
            }
        }
    }
    // With nothing kept, the rewound recording's branch still forks after
    // r-g1 (compared above), and each record went out in a part of its own.
    let rel = RECORDINGS[1];
    let (_, text) = fixture(rel);
    let (parts, _) = parse_rereading(rel, 0, 1, &mut line_of(&text));
    assert!(parts.len() >= 6, "{} parts", parts.len());
}

#[test]
fn a_record_whose_line_cannot_be_read_again_or_changed_is_reported_and_the_rest_kept() {
    let rel = RECORDINGS[1];
    let (_, text) = fixture(rel);
    // Line 2 (r-u1) is gone; line 3 (r-g1) now holds another record.
    let mut reread = |n: u64| match n {
        2 => None,
        3 => Some(r#"{"id":"someone-else","type":"gemini","content":"x"}"#.to_owned()),
        n => line_of(&text)(n),
    };
    let (parts, skipped) = parse_rereading(rel, 0, usize::MAX, &mut reread);
    let reasons: Vec<(u64, &str)> = skipped.iter().map(|s| (s.line, s.reason.as_str())).collect();
    assert_eq!(
        reasons,
        [
            (2, "cannot be read again"),
            (3, "changed since it was read: it no longer holds record \"r-g1\"")
        ]
    );
    let main = joined(&parts, "9a8b7c6d-0000-4e5f-8a9b-0c1d2e3f4a5b");
    let ids: Vec<&str> = main.messages.iter().map(id).collect();
    assert_eq!(ids, ["r-u3", "r-g3"]);
}

#[test]
fn a_rereading_parser_ended_without_its_file_reports_what_it_dropped() {
    let (path, text) = fixture(RECORDINGS[1]);
    let mut parser = GeminiParser::new(&path, ParseOptions::default()).rereading(0);
    feed(&mut parser, &text, true);
    let parsed = Box::new(parser).finish();
    let lines: Vec<u64> = parsed.skipped.iter().map(|s| s.line).collect();
    assert_eq!(lines, [2, 3, 7, 8, 4, 5], "{:?}", parsed.skipped);
    assert!(parsed.skipped.iter().all(|s| s.reason.contains("not kept")));
}
