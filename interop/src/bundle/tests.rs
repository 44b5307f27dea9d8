use chronicle_proto::v1::{ContextFile, Message, Role, ToolCall, Usage};

use super::*;

fn line(record: &Record) -> String {
    let mut out = Vec::new();
    write_record(&mut out, record).expect("write to a Vec");
    String::from_utf8(out).expect("utf-8")
}

fn full_message() -> Message {
    Message {
        id: 7,
        role: Role::Assistant as i32,
        content: "Done:\n```rust\nfn x() {}\n```\t\u{0}é".into(),
        created_at_ms: 1_764_121_759_123,
        model: "gpt-5".into(),
        usage: Some(Usage {
            sent_tokens: 2100,
            received_tokens: 150,
            cost: 0.1 + 0.2,
            cache_read_tokens: 3,
            cache_write_tokens: 4,
        }),
        tool: Some(ToolCall {
            name: "edit".into(),
            call_id: "c1".into(),
            args_json: "{\"a\":1}".into(),
            result_json: "ok".into(),
            is_error: true,
        }),
        reasoning: "think".into(),
        command: "ls".into(),
        log_level: "info".into(),
        edited_files: vec!["a.rs".into(), "b.rs".into()],
        metadata: [("z".to_owned(), "1".to_owned()), ("a".to_owned(), "2".to_owned())]
            .into_iter()
            .collect(),
    }
}

#[test]
fn every_message_field_round_trips() {
    let message = full_message();
    let text = line(&Record::Message(message.clone()));
    assert!(text.ends_with("}\n") && text.matches('\n').count() == 1, "{text}");
    let back = parse_line(text.trim_end()).expect("parses");
    assert_eq!(back, Record::Message(message));
    assert!(
        text.find("\"a\":\"2\"") < text.find("\"z\":\"1\""),
        "metadata keys sorted: {text}"
    );
}

#[test]
fn present_but_zero_usage_differs_from_absent() {
    let zero = Message {
        id: 1,
        role: Role::User as i32,
        usage: Some(Usage::default()),
        ..Message::default()
    };
    let back = parse_line(line(&Record::Message(zero.clone())).trim_end()).expect("parses");
    assert_eq!(back, Record::Message(zero));
    let none = Message {
        id: 1,
        role: Role::User as i32,
        ..Message::default()
    };
    let back = parse_line(line(&Record::Message(none.clone())).trim_end()).expect("parses");
    assert_eq!(back, Record::Message(none));
}

#[test]
fn odd_costs_round_trip_bit_for_bit() {
    for cost in [f64::NAN, f64::INFINITY, -0.0, 1e-300, 0.1 + 0.2, f64::MAX, 5e-324] {
        let m = Message {
            id: 1,
            role: Role::User as i32,
            usage: Some(Usage {
                cost,
                ..Usage::default()
            }),
            ..Message::default()
        };
        let Ok(Record::Message(back)) = parse_line(line(&Record::Message(m)).trim_end()) else {
            panic!("parses")
        };
        let got = back.usage.map(|u| u.cost).unwrap_or_default();
        assert_eq!(got.to_bits(), cost.to_bits(), "{cost}");
    }
}

#[test]
fn the_same_data_gives_the_same_bytes() {
    let a = line(&Record::Message(full_message()));
    let b = line(&Record::Message(full_message()));
    assert_eq!(a, b);
}

#[test]
fn wrong_fields_are_named() {
    let err = parse_line(r#"{"type":"message","id":1,"role":"user","usage":{"cost":"x"}}"#).err();
    assert_eq!(err.map(|e| e.field), Some("usage.cost".into()));
    let err = parse_line(r#"{"type":"message","id":1,"role":"wizard"}"#).err();
    assert_eq!(err.map(|e| e.field), Some("role".into()));
    let err = parse_line(r#"{"type":"file","path":"a","colour":"red"}"#).err();
    assert_eq!(err.map(|e| e.field), Some("colour".into()));
    let err = parse_line(r#"{"type":"message","role":"user"}"#).err();
    assert_eq!(
        err.map(|e| (e.field, e.message)),
        Some(("id".into(), "is missing".into()))
    );
    let err = parse_line(r#"{"type":"message","id":-1,"role":"user"}"#).err();
    assert_eq!(err.map(|e| e.field), Some("id".into()));
    let err = parse_line(r#"{"type":"header","format":"chronicle-bundle","version":2}"#).err();
    assert!(err.is_some_and(|e| e.field == "version" && e.message.contains("upgrade")));
    let err = parse_line(r#"{"type":"message","id":1,"con"#).err();
    assert!(err.is_some_and(|e| e.message.contains("not valid JSON")));
}

fn records() -> Vec<Record> {
    vec![
        Record::Header(Scope::Project("/p".into())),
        Record::Project(ProjectRecord {
            project: "/p".into(),
            created_at_ms: 1,
        }),
        Record::Session(SessionRecord {
            kind: SessionKind::Working,
            name: String::new(),
            created_at_ms: 1,
            updated_at_ms: 2,
            next_message_id: 3,
            reason: String::new(),
            trashed_at_ms: 0,
            forked_from: String::new(),
            forked_at_message_id: 0,
        }),
        Record::File(ContextFile {
            path: "a.rs".into(),
            ..ContextFile::default()
        }),
        Record::Message(Message {
            id: 1,
            role: 1,
            ..Message::default()
        }),
        Record::Message(Message {
            id: 2,
            role: 2,
            ..Message::default()
        }),
        Record::Session(SessionRecord {
            kind: SessionKind::Trash,
            name: "old".into(),
            created_at_ms: 1,
            updated_at_ms: 2,
            next_message_id: 1,
            reason: "deleted".into(),
            trashed_at_ms: 5,
            // Lineage travels: a fork of the working session at message 7.
            forked_from: String::new(),
            forked_at_message_id: 7,
        }),
        Record::End(Totals {
            projects: 1,
            sessions: 2,
            files: 1,
            messages: 2,
        }),
    ]
}

#[test]
fn a_whole_bundle_passes_the_checker() {
    let mut checker = Checker::new();
    for (i, record) in records().iter().enumerate() {
        let text = line(record);
        let parsed = parse_line(text.trim_end()).expect("parses");
        assert_eq!(&parsed, record, "line {}", i + 1);
        checker.check(&parsed).expect("in order");
    }
    assert!(checker.finish(8).is_ok());
}

#[test]
fn out_of_order_and_truncated_bundles_are_refused() {
    let all = records();
    let mut checker = Checker::new();
    for record in &all[..5] {
        checker.check(record).expect("in order");
    }
    assert!(checker.finish(5).is_err(), "no end line");
    let repeated = all[4].clone();
    assert_eq!(checker.check(&repeated).map_err(|e| e.field), Err("id".into()));
    let mut wrong_end = Checker::new();
    for record in &all[..6] {
        wrong_end.check(record).expect("in order");
    }
    let end = Record::End(Totals {
        projects: 1,
        sessions: 1,
        files: 1,
        messages: 3,
    });
    assert_eq!(wrong_end.check(&end).map_err(|e| e.field), Err("messages".into()));
}

#[test]
fn lines_are_split_across_chunks() {
    let mut splitter = LineSplitter::new(64);
    let mut seen = Vec::new();
    let mut each = |n: u64, l: &str| {
        seen.push((n, l.to_owned()));
        Ok(())
    };
    splitter.push(b"\xef\xbb\xbfab", &mut each).expect("push");
    splitter.push(b"c\r\n\n  \nde", &mut each).expect("push");
    splitter.push(b"f", &mut each).expect("push");
    assert_eq!(splitter.finish(&mut each), Ok(4));
    assert_eq!(seen, [(1, "abc".to_owned()), (4, "def".to_owned())]);
}

#[test]
fn overlong_and_non_utf8_lines_are_refused() {
    let mut each = |_: u64, _: &str| Ok(());
    let mut splitter = LineSplitter::new(4);
    assert_eq!(splitter.push(b"ok\nlonger", &mut each).map_err(|e| e.line), Err(2));
    let mut splitter = LineSplitter::new(64);
    assert_eq!(splitter.push(b"a\n\xff\n", &mut each).map_err(|e| e.line), Err(2));
}
