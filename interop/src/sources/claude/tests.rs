use chronicle_proto::v1::Role;

use super::*;
use crate::sources::tests::{follow_both_ways, joined, line_of};
use crate::sources::{LinkKind, SourceLink, meta};

const SESSION: &str = include_str!("../../../tests/fixtures/claude/session.jsonl");
const SUBAGENT: &str = include_str!("../../../tests/fixtures/claude/agent-ab12.jsonl");
const SID: &str = "5b1f0c1e-1111-4a5b-9c2d-000000000001";

fn small() -> ParseOptions {
    ParseOptions { max_inline_bytes: 2048 }
}

fn session<'a>(parsed: &'a Parsed, id: &str) -> &'a SourceSession {
    parsed.sessions.iter().find(|s| s.source_id == id).unwrap_or_else(|| {
        panic!(
            "no session {id} among {:?}",
            parsed.sessions.iter().map(|s| &s.source_id).collect::<Vec<_>>()
        )
    })
}

fn ids(s: &SourceSession) -> Vec<&str> {
    s.messages.iter().map(|m| m.metadata[meta::ID].as_str()).collect()
}

#[test]
fn the_main_conversation_is_the_path_to_the_newest_leaf_through_compaction() {
    let parsed = parse("session.jsonl", SESSION, small());
    let main = session(&parsed, SID);
    assert_eq!(
        ids(main),
        [
            "u1", "msg_01", "toolu_01", "u2", "msg_02", "u4", "msg_04", "u5", "u6", "msg_05", "toolu_02"
        ]
        .into_iter()
        .filter(|id| *id != "u2") // a line of only tool results is no message of its own
        .collect::<Vec<_>>()
    );
    assert_eq!(main.cwd.as_deref(), Some("/home/ana/src/shop"));
    assert_eq!(main.git_branch.as_deref(), Some("fix-login"));
    assert_eq!(main.agent_version.as_deref(), Some("2.1.3"));
    assert_eq!(main.started_at_ms, rfc3339_ms("2026-03-01T10:00:01Z"));
    assert_eq!(main.title.as_deref(), Some("Fix login and add rate limiting"));
    assert!(main.parent.is_none());
    for m in &main.messages {
        assert_eq!(m.metadata[meta::AGENT], "claude");
        assert_eq!(m.metadata[meta::SESSION], SID);
        assert_eq!(m.metadata[meta::GIT_BRANCH], "fix-login");
    }
}

#[test]
fn lines_sharing_a_message_id_merge_into_one_reply_with_its_tool_call_and_result() {
    let parsed = parse("session.jsonl", SESSION, small());
    let main = session(&parsed, SID);
    let reply = &main.messages[1];
    assert_eq!(reply.role, Role::Assistant as i32);
    assert_eq!(reply.content, "Let me read the file.");
    assert_eq!(reply.reasoning, "Look at auth.py first.");
    assert_eq!(reply.model, "claude-sonnet-4-5");
    let usage = reply.usage.expect("usage of msg_01");
    assert_eq!(
        (
            usage.sent_tokens,
            usage.received_tokens,
            usage.cache_read_tokens,
            usage.cache_write_tokens
        ),
        (1200, 80, 900, 300)
    );
    let call = &main.messages[2];
    assert_eq!(call.role, Role::Tool as i32);
    let tool = call.tool.as_ref().expect("tool call");
    assert_eq!(tool.name, "Read");
    assert_eq!(tool.call_id, "toolu_01");
    assert_eq!(tool.args_json, r#"{"file_path":"/home/ana/src/shop/auth.py"}"#);
    assert_eq!(tool.result_json, "def login(): return False");
    assert!(!tool.is_error);
    let failing = main
        .messages
        .last()
        .and_then(|m| m.tool.as_ref())
        .expect("last tool call");
    assert_eq!(
        (failing.name.as_str(), failing.result_json.as_str(), failing.is_error),
        ("Bash", "1 failed", true)
    );
}

#[test]
fn a_reply_of_only_tool_calls_shows_as_its_calls_alone() {
    let parsed = parse("session.jsonl", SESSION, small());
    let main = session(&parsed, SID);
    // msg_06 has no text: no empty assistant bubble, just the call.
    assert!(!ids(main).contains(&"msg_06"));
}

#[test]
fn the_abandoned_attempt_is_its_own_session_linked_where_it_forked() {
    let parsed = parse("session.jsonl", SESSION, small());
    let branch = session(&parsed, &format!("{SID}/branch/u3"));
    assert_eq!(ids(branch), ["u3", "msg_03"]);
    assert_eq!(branch.messages[1].content, "Added a dict-based limiter.");
    assert_eq!(
        branch.parent,
        Some(SourceLink {
            kind: LinkKind::Branch,
            parent_source_id: SID.into(),
            at_message: Some("msg_02".into())
        })
    );
    // The progress line under a4 is a leaf too, but holds nothing to keep.
    assert_eq!(
        parsed
            .sessions
            .iter()
            .filter(|s| s.source_id.contains("/branch/"))
            .count(),
        1
    );
}

#[test]
fn the_compaction_summary_is_a_system_message_after_the_full_history() {
    let parsed = parse("session.jsonl", SESSION, small());
    let main = session(&parsed, SID);
    let summary = main
        .messages
        .iter()
        .find(|m| m.metadata[meta::ID] == "u5")
        .expect("summary");
    assert_eq!(summary.role, Role::System as i32);
    assert_eq!(summary.metadata[meta::KIND], "compaction-summary");
    assert!(summary.content.starts_with("This session is being continued."));
    assert_eq!(main.first_prompt(), Some("Fix the login bug in auth.py"));
}

#[test]
fn a_huge_inline_image_becomes_a_placeholder_and_a_small_one_stays() {
    let parsed = parse("session.jsonl", SESSION, small());
    let main = session(&parsed, SID);
    let with_image = main.messages.iter().find(|m| m.metadata[meta::ID] == "u6").expect("u6");
    assert_eq!(
        with_image.content,
        "Does the page look right?\n\n[image/png omitted: 3.9 KiB]"
    );

    let roomy = parse("session.jsonl", SESSION, ParseOptions::default());
    let main = session(&roomy, SID);
    let with_image = main.messages.iter().find(|m| m.metadata[meta::ID] == "u6").expect("u6");
    assert!(with_image.content.contains("](data:image/png;base64,iVBOR"));
}

#[test]
fn a_sidechain_is_a_session_linked_to_its_parent() {
    let parsed = parse("session.jsonl", SESSION, small());
    let side = session(&parsed, &format!("{SID}/sidechain/s1"));
    assert_eq!(ids(side), ["s1", "msg_07"]);
    assert_eq!(side.messages[1].model, "claude-haiku-4-5");
    assert_eq!(
        side.parent.as_ref().map(|p| (p.kind, p.parent_source_id.as_str())),
        Some((LinkKind::Subagent, SID))
    );

    let parsed = parse("agent-ab12.jsonl", SUBAGENT, small());
    assert!(parsed.skipped.is_empty(), "{:?}", parsed.skipped);
    assert_eq!(parsed.sessions.len(), 1);
    let agent = session(&parsed, &format!("{SID}/agent-ab12"));
    assert_eq!(ids(agent), ["g1", "msg_08"]);
    assert_eq!(agent.source_session_id, SID);
    assert_eq!(agent.parent.as_ref().map(|p| p.kind), Some(LinkKind::Subagent));
}

#[test]
fn bad_lines_are_skipped_with_their_line_and_reason_and_nothing_else_is_lost() {
    let parsed = parse("session.jsonl", SESSION, small());
    let skipped: Vec<(u64, &str)> = parsed.skipped.iter().map(|s| (s.line, s.reason.as_str())).collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert_eq!(skipped[0].0, 9);
    assert!(skipped[0].1.starts_with("not JSON: "), "{}", skipped[0].1);
    assert_eq!(skipped[1], (10, "not a JSON object"));
    assert_eq!(skipped[2], (11, "unknown record type \"brand-new-thing\""));
    assert!(parsed.skipped.iter().all(|s| s.file == "session.jsonl"));
}

#[test]
fn a_truncated_last_line_is_reported_when_fed_and_the_rest_kept() {
    let cut_at = SESSION.trim_end().rfind('\n').expect("lines") + 20;
    let parsed = parse("session.jsonl", &SESSION[..cut_at], small());
    let last = parsed.skipped.last().expect("skipped");
    assert_eq!(last.line, SESSION.lines().count() as u64);
    assert!(session(&parsed, SID).messages.len() > 5);
}

#[test]
fn parsing_twice_gives_the_same_ids() {
    assert_eq!(parse("a", SESSION, small()), parse("a", SESSION, small()));
}

/// Reads `text` with a parser that keeps `keep` bytes of texts and reads
/// the rest back through `reread`, in parts of `part_bytes`: the parts and
/// what was skipped.
fn parse_rereading(
    text: &str,
    keep: usize,
    part_bytes: usize,
    reread: &mut dyn FnMut(u64) -> Option<String>,
) -> (Vec<SourceSession>, Vec<Skipped>) {
    let mut parser = Parser::new("session.jsonl", small()).rereading(keep);
    for (i, line) in text.lines().enumerate() {
        parser.line(i as u64 + 1, line);
    }
    let mut parts = Vec::new();
    let skipped = parser.finish_rereading(reread, part_bytes, &mut |s| {
        parts.push(s);
        true
    });
    (parts, skipped)
}

#[test]
fn texts_read_back_from_their_lines_in_parts_give_the_same_sessions() {
    let whole = parse("session.jsonl", SESSION, small());
    for keep in [0, 200, usize::MAX] {
        // One byte per part: a part ends wherever one may.
        let (parts, skipped) = parse_rereading(SESSION, keep, 1, &mut line_of(SESSION));
        assert_eq!(skipped, whole.skipped, "keep {keep}");
        let mut ids: Vec<&str> = parts.iter().map(|p| p.source_id.as_str()).collect();
        ids.dedup();
        let expected: Vec<&str> = whole.sessions.iter().map(|s| s.source_id.as_str()).collect();
        assert_eq!(ids, expected, "sessions in the same order, each in consecutive parts");
        for session in &whole.sessions {
            assert_eq!(&joined(&parts, &session.source_id), session, "keep {keep}");
        }
        let main_parts = parts.iter().filter(|p| p.source_id == SID).count();
        assert!(main_parts > 3, "the main conversation came in {main_parts} parts");
    }
}

#[test]
fn a_part_never_splits_a_reply_from_its_later_lines_or_a_call_from_its_result() {
    let (parts, _) = parse_rereading(SESSION, 0, 1, &mut line_of(SESSION));
    // msg_01's lines sit around other lines: its text, reasoning and call
    // come in one part, the call with the result a later line holds.
    let part = parts
        .iter()
        .find(|p| p.messages.iter().any(|m| m.metadata[meta::ID] == "msg_01"))
        .expect("msg_01");
    let reply = part
        .messages
        .iter()
        .find(|m| m.metadata[meta::ID] == "msg_01")
        .expect("reply");
    assert_eq!(reply.content, "Let me read the file.");
    assert_eq!(reply.reasoning, "Look at auth.py first.");
    let call = part
        .messages
        .iter()
        .find(|m| m.metadata[meta::ID] == "toolu_01")
        .expect("the call is in the reply's part");
    assert!(!call.tool.as_ref().expect("tool").result_json.is_empty());
}

#[test]
fn a_line_that_cannot_be_read_again_is_skipped_and_the_rest_kept() {
    let whole = parse("session.jsonl", SESSION, small());
    // Line 3 (msg_01's first line) is gone, line 4 now holds another uuid.
    let mut reread = |n: u64| match n {
        3 => None,
        4 => Some(r#"{"type":"user","uuid":"someone-else","message":{"content":"x"}}"#.to_owned()),
        n => line_of(SESSION)(n),
    };
    let (parts, skipped) = parse_rereading(SESSION, 0, usize::MAX, &mut reread);
    let reasons: Vec<(u64, &str)> = skipped
        .iter()
        .filter(|s| s.line <= 4)
        .map(|s| (s.line, s.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (3, "could not be read again"),
            (4, "changed while it was read: another uuid")
        ]
    );
    let main = joined(&parts, SID);
    let expected = session(&whole, SID);
    assert_eq!(main.messages.len() + 1, expected.messages.len(), "{:?}", ids(&main));
    assert_eq!(main.messages.last(), expected.messages.last());
}

#[test]
fn a_parser_finished_without_its_input_reports_what_it_dropped() {
    let mut parser = Box::new(Parser::new("session.jsonl", small()).rereading(0));
    for (i, line) in SESSION.lines().enumerate() {
        parser.line(i as u64 + 1, line);
    }
    let parsed = parser.finish();
    assert!(
        parsed.skipped.iter().any(|s| s.reason == "could not be read again"),
        "{:?}",
        parsed.skipped
    );
}

/// [`follow_both_ways`] with a parser that keeps no texts and reads each
/// line again when it needs it.
fn follow_rereading(text: &str) -> Vec<(usize, usize)> {
    let mut whole = Parser::new("session.jsonl", small());
    let mut parser = Parser::new("session.jsonl", small()).rereading(0);
    follow_both_ways(&mut whole, &mut parser, text)
}

#[test]
fn changes_line_by_line_leave_the_store_as_whole_snapshots_do() {
    // Replies over several lines, a call answered lines later, a rewind,
    // a compaction, a sidechain and a summary.
    let carried = follow_rereading(SESSION);
    let (whole, changes): (usize, usize) = carried.iter().fold((0, 0), |(w, c), (a, b)| (w + a, c + b));
    assert!(
        changes * 2 < whole,
        "changes carried {changes} messages, snapshots {whole}"
    );
}

/// A transcript of `turns` turns: a prompt, then a reply whose text and
/// call are two lines, a progress line while the call runs, the call's
/// result, and a closing reply. In turn `interleaved`, a progress line
/// comes before more of the reply's text.
fn linear_transcript(turns: usize, interleaved: usize) -> String {
    let mut out = String::new();
    let mut parent = serde_json::Value::Null;
    let mut line = |uuid: String, parent: &mut serde_json::Value, kind: &str, message: serde_json::Value| {
        out += &serde_json::json!({"type": kind, "uuid": uuid, "parentUuid": parent, "sessionId": "s",
            "cwd": "/w", "timestamp": "2026-03-02T09:00:00.000Z", "message": message})
        .to_string();
        out.push('\n');
        *parent = serde_json::Value::String(uuid);
    };
    for t in 0..turns {
        let user = |content: serde_json::Value| serde_json::json!({"role": "user", "content": content});
        let reply = |id: String, block: serde_json::Value| serde_json::json!({"role": "assistant", "id": id, "content": [block]});
        let progress = serde_json::json!({"role": "progress"});
        line(format!("u{t}"), &mut parent, "user", user(format!("step {t}").into()));
        let call = format!("toolu_{t}");
        let text = serde_json::json!({"type": "text", "text": "Reading."});
        line(
            format!("a{t}-0"),
            &mut parent,
            "assistant",
            reply(format!("msg_{t}"), text),
        );
        if t == interleaved {
            line(format!("p{t}-0"), &mut parent, "progress", progress.clone());
            let more = serde_json::json!({"type": "text", "text": "And more."});
            line(
                format!("a{t}-2"),
                &mut parent,
                "assistant",
                reply(format!("msg_{t}"), more),
            );
        }
        let block = serde_json::json!({"type": "tool_use", "id": call, "name": "Read", "input": {"n": t}});
        line(
            format!("a{t}-1"),
            &mut parent,
            "assistant",
            reply(format!("msg_{t}"), block),
        );
        line(format!("p{t}-1"), &mut parent, "progress", progress);
        let result = serde_json::json!({"type": "tool_result", "tool_use_id": call, "content": "ok"});
        line(format!("r{t}"), &mut parent, "user", user(serde_json::json!([result])));
        let done = serde_json::json!({"type": "text", "text": "Done."});
        line(
            format!("b{t}"),
            &mut parent,
            "assistant",
            reply(format!("msg_{t}b"), done),
        );
    }
    out
}

#[test]
fn a_line_appended_to_a_long_conversation_carries_its_own_messages_not_the_rest() {
    let carried = follow_rereading(&linear_transcript(40, 20));
    // By the end a snapshot carries the whole conversation each line;
    // the changes carry what that line made or changed (the reply a call
    // waits in, with its call) and no more, but for the one line of a
    // reply written after another line: that takes the whole again.
    let (last_whole, _) = carried[carried.len() - 1];
    assert!(last_whole >= 40 * 4, "{last_whole}");
    let large: Vec<(usize, usize)> = carried.iter().copied().filter(|&(_, c)| c > 3).collect();
    assert_eq!(large.len(), 1, "{carried:?}");
    assert_eq!(large[0].0, large[0].1, "{carried:?}");
}

#[test]
fn lines_whose_parents_loop_are_each_read_once() {
    // A damaged file: each line names the other as its parent.
    let line = |uuid: &str, parent: &str, text: &str| {
        serde_json::json!({"type": "user", "uuid": uuid, "parentUuid": parent, "sessionId": "s",
            "cwd": "/w", "timestamp": "2026-03-02T09:00:00.000Z", "message": {"role": "user", "content": text}})
        .to_string()
    };
    let text = format!("{}\n{}\n", line("u1", "u2", "first"), line("u2", "u1", "second"));
    let parsed = parse("s.jsonl", &text, small());
    let mut texts: Vec<&str> = parsed
        .sessions
        .iter()
        .flat_map(|s| &s.messages)
        .map(|m| m.content.as_str())
        .collect();
    texts.sort_unstable();
    assert_eq!(texts, ["first", "second"]);
}
