use chronicle_proto::v1::Role;

use super::*;

const ROLLOUT: &str = include_str!(
    "../../../tests/fixtures/codex/rollout-2026-03-02T09-00-00-0199a000-0000-7000-8000-00000000c0de.jsonl"
);
const FORK: &str = include_str!(
    "../../../tests/fixtures/codex/rollout-2026-03-03T08-00-00-0199a000-0000-7000-8000-00000000f0f0.jsonl"
);
const INDEX: &str = include_str!("../../../tests/fixtures/codex/session_index.jsonl");
const ID: &str = "0199a000-0000-7000-8000-00000000c0de";

fn small() -> ParseOptions {
    ParseOptions { max_inline_bytes: 2048 }
}

fn only(parsed: &Parsed) -> &SourceSession {
    assert_eq!(parsed.sessions.len(), 1);
    &parsed.sessions[0]
}

fn by_id<'a>(s: &'a SourceSession, id: &str) -> &'a Message {
    s.messages
        .iter()
        .find(|m| m.metadata[meta::ID] == id)
        .unwrap_or_else(|| panic!("no message {id}"))
}

#[test]
fn session_meta_names_the_session_and_every_message_carries_its_ids() {
    let parsed = parse("r.jsonl", ROLLOUT, small());
    let s = only(&parsed);
    assert_eq!(s.source_id, ID);
    assert_eq!(s.cwd.as_deref(), Some("/home/ana/src/shop"));
    assert_eq!(s.agent_version.as_deref(), Some("0.98.0"));
    assert_eq!(s.git_branch.as_deref(), Some("main"));
    assert_eq!(s.started_at_ms, rfc3339_ms("2026-03-02T09:00:00Z"));
    assert!(s.parent.is_none());
    assert_eq!(s.first_prompt(), Some("List the failing tests"));
    for m in &s.messages {
        assert_eq!(
            (m.metadata[meta::AGENT].as_str(), m.metadata[meta::SESSION].as_str()),
            ("codex", ID)
        );
    }
}

#[test]
fn response_items_are_the_conversation_and_event_messages_are_not_repeated() {
    let parsed = parse("r.jsonl", ROLLOUT, small());
    let s = only(&parsed);
    let roles: Vec<(i32, &str)> = s
        .messages
        .iter()
        .map(|m| (m.role, m.metadata[meta::ID].as_str()))
        .collect();
    let expected = [
        (Role::System, "line:2"),
        (Role::System, "line:3"),
        (Role::User, "line:5"),
        (Role::Tool, "call_1"),
        (Role::Assistant, "line:10"),
        (Role::User, "line:16"),
        (Role::Tool, "call_2"),
        (Role::Tool, "call_3"),
        (Role::Tool, "line:20"),
        (Role::System, "line:21"),
        (Role::Assistant, "line:22"),
    ];
    assert_eq!(roles, expected.map(|(r, id)| (r as i32, id)));
    assert_eq!(by_id(s, "line:2").metadata[meta::KIND], "instructions");
    assert_eq!(by_id(s, "line:3").metadata[meta::KIND], "environment-context");
    assert_eq!(by_id(s, "line:21").metadata[meta::KIND], "compaction-summary");
    assert_eq!(
        by_id(s, "line:10").content,
        "Two tests fail: test_login and test_limit."
    );
    assert_eq!(by_id(s, "line:10").model, "gpt-5-codex");
}

#[test]
fn calls_hold_their_outputs_and_reasoning_goes_on_what_follows_it() {
    let parsed = parse("r.jsonl", ROLLOUT, small());
    let s = only(&parsed);
    let shell = by_id(s, "call_1");
    let tool = shell.tool.as_ref().expect("tool");
    assert_eq!(
        (tool.name.as_str(), tool.args_json.as_str()),
        ("shell", r#"{"command":["pytest","-q"]}"#)
    );
    assert!(tool.result_json.contains("2 failed"));
    assert!(tool.is_error, "exit code 1 is a failure");
    assert_eq!(shell.reasoning, "**Running pytest**");
    let patch = by_id(s, "call_2").tool.as_ref().expect("tool");
    assert_eq!(patch.name, "apply_patch");
    assert_eq!(patch.result_json, "Success. Updated auth.py");
    assert!(!patch.is_error);
    assert_eq!(
        by_id(s, "call_3").tool.as_ref().map(|t| t.name.as_str()),
        Some("local_shell")
    );
    let search = by_id(s, "line:20").tool.as_ref().expect("web search");
    assert_eq!(search.name, "web_search");
    assert!(search.args_json.contains("pytest flaky"));
}

#[test]
fn token_counts_become_the_usage_of_the_reply_before_them() {
    let parsed = parse("r.jsonl", ROLLOUT, small());
    let s = only(&parsed);
    let first = by_id(s, "line:10").usage.expect("usage");
    assert_eq!(
        (first.sent_tokens, first.cache_read_tokens, first.received_tokens),
        (1000, 4000, 300)
    );
    // Only totals on the second: the difference from the first.
    let second = by_id(s, "line:22").usage.expect("usage");
    assert_eq!(
        (second.sent_tokens, second.cache_read_tokens, second.received_tokens),
        (1000, 3000, 200)
    );
}

#[test]
fn a_huge_inline_image_becomes_a_placeholder() {
    let parsed = parse("r.jsonl", ROLLOUT, small());
    let shot = by_id(only(&parsed), "line:16");
    assert_eq!(shot.content, "Here is a screenshot\n\n[image/png omitted: 4.9 KiB]");
}

#[test]
fn bad_and_unknown_lines_are_skipped_with_line_and_reason() {
    let parsed = parse("r.jsonl", ROLLOUT, small());
    let skipped: Vec<(u64, &str)> = parsed.skipped.iter().map(|s| (s.line, s.reason.as_str())).collect();
    assert_eq!(skipped.len(), 3, "{skipped:?}");
    assert!(
        skipped[0].0 == 13 && skipped[0].1.starts_with("not JSON: "),
        "{skipped:?}"
    );
    assert_eq!(skipped[1], (14, "not a JSON object"));
    assert_eq!(skipped[2], (15, "unknown record type \"future_record\""));
}

#[test]
fn a_fork_keeps_only_what_came_after_the_copy_of_its_parent() {
    let parent = parse("p.jsonl", ROLLOUT, small());
    let mut fork = parse("f.jsonl", FORK, small());
    assert!(fork.skipped.is_empty(), "{:?}", fork.skipped);
    let f = &mut fork.sessions[0];
    assert_eq!(f.source_id, "0199a000-0000-7000-8000-00000000f0f0");
    assert_eq!(f.messages.len(), 7);
    assert_eq!(drop_copied_history(f, &parent.sessions[0].messages), 5);
    let texts: Vec<&str> = f.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["Try fixing test_limit only", "Fixed test_limit."]);
    assert_eq!(
        f.parent,
        Some(SourceLink {
            kind: LinkKind::Fork,
            parent_source_id: ID.into(),
            at_message: Some("line:10".into())
        })
    );
    // Nothing shared: nothing dropped.
    assert_eq!(drop_copied_history(f, &parent.sessions[0].messages), 0);
}

#[test]
fn thread_names_come_from_the_session_index() {
    assert_eq!(thread_names(INDEX).get(ID).map(String::as_str), Some("Failing tests"));
    assert!(thread_names("not json\n[1]\n").is_empty());
}

#[test]
fn lines_before_any_session_meta_are_reported_not_imported() {
    let body: String = ROLLOUT.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let parsed = parse("r.jsonl", &body, small());
    assert!(parsed.sessions.is_empty());
    assert!(
        parsed
            .skipped
            .iter()
            .any(|s| s.line == 0 && s.reason.contains("session_meta"))
    );
}

/// The parts `take_settled` hands out while reading, merged the way the
/// store merges them (a message whose source id it holds is replaced in
/// place), then what `finish` leaves.
fn read_in_parts(text: &str, min_bytes: usize) -> (Vec<Message>, usize) {
    let mut parser: Box<dyn LineParser> = Box::new(Parser::new("r.jsonl", small()));
    let mut merged: Vec<Message> = Vec::new();
    let mut parts = 0;
    let take = |session: SourceSession, merged: &mut Vec<Message>| {
        for m in session.messages {
            match merged
                .iter_mut()
                .find(|held| held.metadata[meta::ID] == m.metadata[meta::ID])
            {
                Some(held) => *held = m,
                None => merged.push(m),
            }
        }
    };
    for (i, line) in text.lines().enumerate() {
        parser.line(i as u64 + 1, line);
        for part in parser.take_settled(min_bytes) {
            parts += 1;
            take(part, &mut merged);
        }
    }
    for session in parser.finish().sessions {
        take(session, &mut merged);
    }
    (merged, parts)
}

#[test]
fn a_rollout_read_in_parts_is_the_rollout_read_whole() {
    let whole = only(&parse("r.jsonl", ROLLOUT, small())).messages.clone();
    let (merged, parts) = read_in_parts(ROLLOUT, 1);
    assert!(parts >= 3, "only {parts} parts");
    assert_eq!(merged, whole);
    // Below the threshold nothing is taken early.
    assert_eq!(read_in_parts(ROLLOUT, usize::MAX), (whole, 0));
}

#[test]
fn a_call_taken_before_its_output_comes_back_completed() {
    let lines = [
        r#"{"timestamp":"2026-03-02T09:00:00Z","type":"session_meta","payload":{"id":"par","cwd":"/p"}}"#,
        r#"{"timestamp":"2026-03-02T09:00:01Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"run both"}]}}"#,
        r#"{"timestamp":"2026-03-02T09:00:02Z","type":"response_item","payload":{"type":"function_call","name":"shell","arguments":"{\"cmd\":\"a\"}","call_id":"call_a"}}"#,
        r#"{"timestamp":"2026-03-02T09:00:02Z","type":"response_item","payload":{"type":"function_call","name":"shell","arguments":"{\"cmd\":\"b\"}","call_id":"call_b"}}"#,
        r#"{"timestamp":"2026-03-02T09:00:03Z","type":"response_item","payload":{"type":"function_call_output","call_id":"call_a","output":"A done"}}"#,
        r#"{"timestamp":"2026-03-02T09:00:03Z","type":"response_item","payload":{"type":"function_call_output","call_id":"call_b","output":"B done"}}"#,
    ];
    let text = lines.join("\n");
    let (merged, parts) = read_in_parts(&text, 1);
    assert!(parts >= 1);
    let whole = only(&parse("r.jsonl", &text, small())).messages.clone();
    assert_eq!(merged, whole);
    let result = |id: &str| {
        merged
            .iter()
            .find(|m| m.metadata[meta::ID] == id)
            .and_then(|m| m.tool.as_ref())
            .map(|t| t.result_json.clone())
    };
    assert_eq!(result("call_a").as_deref(), Some("A done"));
    assert_eq!(result("call_b").as_deref(), Some("B done"));
}

#[test]
fn a_fork_is_never_taken_in_parts() {
    let (merged, parts) = read_in_parts(FORK, 1);
    assert_eq!(parts, 0);
    assert_eq!(merged, only(&parse("r.jsonl", FORK, small())).messages);
}

#[test]
fn only_calls_still_waiting_for_output_are_held_and_at_most_a_bounded_number() {
    let mut parser = Parser::new("r.jsonl", small());
    for (i, line) in ROLLOUT.lines().enumerate() {
        parser.line(i as u64 + 1, line);
        parser.take_settled(1);
    }
    // The fixture's local_shell_call never gets an output line.
    assert_eq!(parser.taken_calls.keys().collect::<Vec<_>>(), ["call_3"]);

    let mut parser = Parser::new("r.jsonl", small());
    parser.line(
        1,
        r#"{"timestamp":"2026-03-02T09:00:00Z","type":"session_meta","payload":{"id":"s","cwd":"/p"}}"#,
    );
    for n in 0..1000u64 {
        let call = format!(
            r#"{{"timestamp":"2026-03-02T09:00:01Z","type":"response_item","payload":{{"type":"local_shell_call","call_id":"c{n}","action":{{}}}}}}"#
        );
        parser.line(n + 2, &call);
        parser.take_settled(1);
    }
    assert_eq!(parser.taken_calls.len(), MAX_WAITING_CALLS);
    assert!(parser.taken_calls.contains_key("c998") && !parser.taken_calls.contains_key("c0"));
}
