//! A followed JSON Lines file (Claude, Codex, Gemini) read as it grows.
//! Agents only ever append to these files, so a follow keeps the parser
//! that read a file up to its last whole line, and the next change is
//! read from there: a line appended to a gigabyte rollout costs that
//! line, not the gigabyte. What the store is handed after each read,
//! [`LineParser::changes`] less every message handed out before
//! unchanged, leaves it holding what a read from the start would: a line
//! appended to a Claude transcript sends the store that line's message,
//! not the whole conversation again for the store to compare.
//!
//! A [`Tail`] is only continued while the file is plainly the one it read
//! with more appended: the same device and inode, no shorter, and the
//! bytes just before where it stopped unchanged. Anything else (a
//! rotation, a truncation, a rewrite in place) reads the file from its
//! start with a new parser. Tails live in memory only: a restarted daemon
//! reads a changed file from its start once, as before.

use std::{
    collections::HashMap,
    fs::File,
    hash::{DefaultHasher, Hash, Hasher},
    io::{BufReader, Seek, SeekFrom},
    os::unix::fs::{FileExt, MetadataExt},
    path::Path,
};

use chronicle_interop::sources::{Agent, LineParser, ParseOptions, Parsed, SourceSession, message_bytes, meta};
use chronicle_proto::v1::Message;
use prost::Message as _;

use super::import;

/// How many bytes before a tail's end are compared to tell an append from
/// a rewrite.
const CHECK_BYTES: u64 = 64;

/// About what one message's digest in [`Tail::handed`] takes: a map entry
/// of two `u64` and the map's control byte and slack.
const DIGEST_BYTES: usize = 32;

/// A parser that has read a file up to `offset`, ready to read on.
pub struct Tail {
    parser: Box<dyn LineParser + Send + Sync>,
    dev: u64,
    ino: u64,
    /// Bytes read, up to the end of the last line fed.
    offset: u64,
    /// Lines fed, so skipped lines keep their numbers.
    lines: u64,
    /// The file's bytes just before `offset`.
    before: Vec<u8>,
    /// About how many bytes the parser and [`Tail::handed`] hold, for the
    /// follow's memory budget.
    held: usize,
    /// By session (source id), the digests of the messages handed out
    /// last, by [`message_key`].
    handed: HashMap<String, HashMap<u64, u64>>,
    /// Where each line fed sits, for a parser that reads lines again (a
    /// Claude transcript's); empty for the others.
    spans: import::LineSpans,
}

impl Tail {
    /// About how many bytes of messages this tail keeps in memory.
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// Whether `file` (open, with `meta`) is what this tail read with only
    /// appends since.
    fn continues(&self, file: &File, meta: &std::fs::Metadata) -> bool {
        if meta.dev() != self.dev || meta.ino() != self.ino || meta.len() < self.offset {
            return false;
        }
        let mut now = vec![0u8; self.before.len()];
        file.read_exact_at(&mut now, self.offset - self.before.len() as u64)
            .is_ok()
            && now == self.before
    }
}

/// Reads `file` for a follow: on from where `tail` stopped when the file
/// only grew since, else from its start. Each part of at least `part_bytes`
/// the parser settles goes to `part` (which returns false to stop), then
/// whatever else it settled; returns the rest (the parser's changes, less
/// the messages handed out before unchanged) and the tail to keep.
/// A format that is not JSON Lines is read whole as an import reads it,
/// and keeps no tail.
pub fn read_on(
    agent: Agent,
    file: &Path,
    options: ParseOptions,
    tail: Option<Tail>,
    part_bytes: usize,
    part: &mut dyn FnMut(Vec<SourceSession>) -> bool,
) -> (Parsed, Option<Tail>) {
    let Some(format) = import::LineFormat::of(agent, file) else {
        let (parsed, _) = import::parse_file_in_parts(agent, file, options, part_bytes, &mut |s, _| part(s));
        return (parsed, None);
    };
    let label = file.display().to_string();
    let opened = import::open_regular(file).and_then(|f| {
        let meta = f.metadata()?;
        Ok((f, meta))
    });
    let (f, meta) = match opened {
        Ok(opened) => opened,
        Err(e) => return (import::whole_file_skipped(label, format!("cannot be read: {e}")), None),
    };
    let mut tail = match tail.filter(|t| t.continues(&f, &meta)) {
        Some(tail) => tail,
        None => Tail {
            parser: format.parser(file, options),
            dev: meta.dev(),
            ino: meta.ino(),
            offset: 0,
            lines: 0,
            before: Vec::new(),
            held: 0,
            handed: HashMap::new(),
            spans: import::LineSpans::default(),
        },
    };
    let mut reader = BufReader::with_capacity(1 << 20, &f);
    let mut skipped = Vec::new();
    if let Err(e) = reader.seek(SeekFrom::Start(tail.offset)) {
        let reason = format!("read failed: {e}");
        return (import::whole_file_skipped(label, reason), None);
    }
    let mut going = true;
    let base = tail.offset;
    let rereads = format.rereads();
    let mut settled = |parser: &mut dyn LineParser, fed: &import::Fed| {
        if rereads {
            tail.spans.push(fed, base);
        }
        let sessions = parser.take_settled(part_bytes);
        going = sessions.is_empty() || part(sessions);
        going
    };
    let read = import::feed(
        reader,
        &label,
        tail.parser.as_mut(),
        &mut skipped,
        &mut tail.lines,
        &mut settled,
    );
    tail.offset += read;
    let check = tail.offset.min(CHECK_BYTES);
    let mut before = vec![0u8; check as usize];
    if f.read_exact_at(&mut before, tail.offset - check).is_err() {
        // Unreadable now: the next read starts over rather than trust it.
        before.clear();
        tail.dev = u64::MAX;
    }
    tail.before = before;
    let rest = tail.parser.take_settled(0);
    if going && !rest.is_empty() {
        going = part(rest);
    }
    let spans = &tail.spans;
    let handed = &mut tail.handed;
    let mut reread = |number| spans.read(&f, number);
    let mut parsed = tail.parser.changes(&mut reread, part_bytes, &mut |mut sessions| {
        leave_out_handed(&mut sessions, handed);
        going = going && (sessions.is_empty() || part(sessions));
        going
    });
    parsed.skipped.extend(skipped);
    // The parser's texts and shape, or its snapshot's messages; and what
    // was handed out, a digest a message.
    let parser_held = tail.parser.held_bytes().unwrap_or_else(|| {
        parsed
            .sessions
            .iter()
            .flat_map(|s| &s.messages)
            .map(message_bytes)
            .sum()
    });
    leave_out_handed(&mut parsed.sessions, &mut tail.handed);
    let digests: usize = tail.handed.values().map(HashMap::len).sum();
    tail.held = parser_held + digests * DIGEST_BYTES;
    (parsed, going.then_some(tail))
}

/// Takes out of `sessions` the messages `handed` holds unchanged, marking
/// the sessions that lost some as continued and dropping those left
/// empty, and records what each session held. A session the parser
/// already continued (it left out its settled start) adds to what was
/// handed out of it; any other replaces it, so a parser that hands its
/// settled messages out in parts is not remembered for them.
fn leave_out_handed(sessions: &mut Vec<SourceSession>, handed: &mut HashMap<String, HashMap<u64, u64>>) {
    let mut scratch = Vec::new();
    for session in sessions.iter_mut() {
        let before = session.messages.len();
        let earlier = handed.remove(&session.source_id).unwrap_or_default();
        let (mut now, earlier) = if session.continued {
            (earlier, HashMap::new())
        } else {
            (HashMap::new(), earlier)
        };
        session.messages.retain_mut(|m| {
            let Some(key) = message_key(m) else {
                return true;
            };
            let digest = digest(m, &mut scratch);
            let was = now.insert(key, digest).or_else(|| earlier.get(&key).copied());
            was != Some(digest)
        });
        session.continued |= session.messages.len() < before;
        handed.insert(session.source_id.clone(), now);
    }
    sessions.retain(|s| !s.messages.is_empty());
}

/// A message's source id, hashed; `None` for one without.
fn message_key(m: &Message) -> Option<u64> {
    let id = m.metadata.get(meta::ID)?;
    let mut h = DefaultHasher::new();
    id.hash(&mut h);
    Some(h.finish())
}

/// Everything a message says: its encoding without its metadata (a map,
/// encoded in no fixed order), then the metadata sorted.
fn digest(m: &mut Message, scratch: &mut Vec<u8>) -> u64 {
    let metadata = std::mem::take(&mut m.metadata);
    scratch.clear();
    // Encoding into a Vec cannot fail: it grows as needed.
    let _ = m.encode(scratch);
    m.metadata = metadata;
    let mut pairs: Vec<(&String, &String)> = m.metadata.iter().collect();
    pairs.sort_unstable();
    let mut h = DefaultHasher::new();
    scratch.hash(&mut h);
    pairs.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn line(n: u32, role: &str, text: &str) -> String {
        let payload = if role == "user" {
            format!(r#"{{"type":"message","role":"user","content":[{{"type":"input_text","text":"{text}"}}]}}"#)
        } else {
            format!(r#"{{"type":"message","role":"assistant","content":[{{"type":"output_text","text":"{text}"}}]}}"#)
        };
        format!(r#"{{"timestamp":"2026-03-02T09:00:{n:02}.000Z","type":"response_item","payload":{payload}}}"#) + "\n"
    }

    const META: &str = r#"{"timestamp":"2026-03-02T09:00:00.000Z","type":"session_meta","payload":{"id":"0199a000-0000-7000-8000-00000000aaaa","cwd":"/tmp/p","cli_version":"0.50.0"}}"#;

    /// Reads `path` on from `tail`, collecting every message handed out.
    fn read(path: &Path, tail: Option<Tail>) -> (Vec<String>, Option<Tail>) {
        let mut texts = Vec::new();
        let (rest, tail) = read_on(Agent::Codex, path, ParseOptions::default(), tail, 1 << 20, &mut |s| {
            texts.extend(s.into_iter().flat_map(|s| s.messages).map(|m| m.content));
            true
        });
        texts.extend(rest.sessions.into_iter().flat_map(|s| s.messages).map(|m| m.content));
        (texts, tail)
    }

    #[test]
    fn an_append_is_read_from_where_the_tail_stopped_and_a_rewrite_from_the_start() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("rollout.jsonl");
        let mut f = File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        write!(f, "{META}\n{}{}", line(1, "user", "first"), line(2, "assistant", "one"))
            .unwrap_or_else(|e| panic!("{e}"));
        let (texts, tail) = read(&path, None);
        assert_eq!(texts, ["first", "one"]);
        let tail = tail.unwrap_or_else(|| panic!("a rollout keeps a tail"));
        let read_up_to = tail.offset;

        // A half-written line is held back; the appended whole one is read
        // on its own.
        write!(f, "{}{{\"timestamp\":", line(3, "user", "second")).unwrap_or_else(|e| panic!("{e}"));
        let (texts, tail) = read(&path, Some(tail));
        assert_eq!(texts, ["second"], "the last reply is unchanged: not handed out again");
        let tail = tail.unwrap_or_else(|| panic!("still a tail"));
        assert_eq!(tail.offset, read_up_to + line(3, "user", "second").len() as u64);
        assert_eq!(tail.lines, 4);

        // The file rewritten in place, as long, different just before the
        // tail's end: read again from the start.
        drop(f);
        let rewritten = [
            META.to_owned() + "\n",
            line(1, "user", "FIRST"),
            line(2, "assistant", "uno"),
            line(3, "user", "SECOND"),
        ];
        std::fs::write(&path, rewritten.concat()).unwrap_or_else(|e| panic!("{e}"));
        let (texts, _) = read(&path, Some(tail));
        assert_eq!(texts, ["FIRST", "uno", "SECOND"]);
    }

    fn claude(uuid: &str, parent: Option<&str>, body: serde_json::Value) -> String {
        let kind = body["role"].clone();
        serde_json::json!({"type": kind, "uuid": uuid, "parentUuid": parent, "sessionId": "s",
            "cwd": "/tmp/p", "timestamp": "2026-03-02T09:00:00.000Z", "message": body})
        .to_string()
            + "\n"
    }

    fn user(uuid: &str, parent: Option<&str>, text: &str) -> String {
        claude(uuid, parent, serde_json::json!({"role": "user", "content": text}))
    }

    fn reply(uuid: &str, parent: &str, id: &str, text: &str) -> String {
        let body = serde_json::json!({"role": "assistant", "id": id, "model": "m",
            "content": [{"type": "text", "text": text}]});
        claude(uuid, Some(parent), body)
    }

    /// Reads a Claude transcript on from `tail`: the sessions handed out,
    /// as (source id, continued, texts), a session's parts joined.
    fn read_claude(path: &Path, tail: Option<Tail>) -> (Vec<(String, bool, Vec<String>)>, Tail) {
        let mut parts = Vec::new();
        let (rest, tail) = read_on(Agent::Claude, path, ParseOptions::default(), tail, 1 << 20, &mut |s| {
            parts.extend(s);
            true
        });
        let mut sessions: Vec<(String, bool, Vec<String>)> = Vec::new();
        for s in parts.into_iter().chain(rest.sessions) {
            let texts = s.messages.into_iter().map(|m| m.content);
            match sessions.last_mut() {
                Some((id, _, held)) if *id == s.source_id => {
                    assert!(s.continued, "a later part of {id} continues it");
                    held.extend(texts);
                }
                _ => sessions.push((s.source_id, s.continued, texts.collect())),
            }
        }
        (sessions, tail.unwrap_or_else(|| panic!("a transcript keeps a tail")))
    }

    #[test]
    fn a_claude_snapshot_hands_out_only_what_changed_since_the_last() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("s.jsonl");
        let mut f = File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        write!(
            f,
            "{}{}",
            user("u1", None, "fix it"),
            reply("a1", "u1", "msg_1", "Looking.")
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (sessions, tail) = read_claude(&path, None);
        assert_eq!(
            sessions,
            [("s".to_owned(), false, vec!["fix it".to_owned(), "Looking.".to_owned()])]
        );

        // A later line of the same reply: only the reply, now longer.
        write!(f, "{}", reply("a2", "a1", "msg_1", "Found it.")).unwrap_or_else(|e| panic!("{e}"));
        let (sessions, tail) = read_claude(&path, Some(tail));
        assert_eq!(
            sessions,
            [("s".to_owned(), true, vec!["Looking.\n\nFound it.".to_owned()])]
        );

        // Nothing new: nothing handed out.
        let (sessions, tail) = read_claude(&path, Some(tail));
        assert!(sessions.is_empty(), "{sessions:?}");

        write!(
            f,
            "{}{}",
            user("u2", Some("a2"), "and test it"),
            reply("a3", "u2", "msg_2", "Done.")
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (sessions, tail) = read_claude(&path, Some(tail));
        assert_eq!(
            sessions,
            [("s".to_owned(), true, vec!["and test it".to_owned(), "Done.".to_owned()])]
        );

        // A rewind to before the second prompt: the new one continues the
        // conversation; what it replaced becomes a branch, handed out whole.
        write!(f, "{}", user("u3", Some("a2"), "no, document it")).unwrap_or_else(|e| panic!("{e}"));
        let (mut sessions, _) = read_claude(&path, Some(tail));
        sessions.sort();
        let texts = |t: &[&str]| t.iter().map(|t| (*t).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            sessions,
            [
                ("s".to_owned(), true, texts(&["no, document it"])),
                ("s/branch/u2".to_owned(), false, texts(&["and test it", "Done."])),
            ]
        );
    }

    #[test]
    fn texts_a_claude_tail_did_not_keep_are_read_again_from_their_lines() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("s.jsonl");
        let mut f = File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        // Five prompts of 1000 KiB: the fifth is past the 4 MiB the parser
        // keeps, and so is any line of over 96 KiB after it.
        let big = |c: char| c.to_string().repeat(1000 << 10);
        let mut parent = None;
        let mut prompts = Vec::new();
        for (n, c) in ('a'..='e').enumerate() {
            let uuid = format!("u{}", n + 1);
            write!(f, "{}", user(&uuid, parent.as_deref(), &big(c))).unwrap_or_else(|e| panic!("{e}"));
            parent = Some(uuid);
            prompts.push(big(c));
        }
        let (sessions, tail) = read_claude(&path, None);
        assert_eq!(sessions, [("s".to_owned(), false, prompts.clone())]);

        // A line of a later read is found where that read found it.
        let later = "f".repeat(100 << 10);
        write!(f, "{}", user("u6", Some("u5"), &later)).unwrap_or_else(|e| panic!("{e}"));
        let (sessions, tail) = read_claude(&path, Some(tail));
        assert_eq!(sessions, [("s".to_owned(), true, vec![later.clone()])]);

        // A rewind to the first prompt: the abandoned turns, read again.
        write!(f, "{}", user("u7", Some("u1"), "instead")).unwrap_or_else(|e| panic!("{e}"));
        let (mut sessions, _) = read_claude(&path, Some(tail));
        sessions.sort();
        let mut abandoned = prompts[1..].to_vec();
        abandoned.push(later);
        assert_eq!(
            sessions,
            [
                ("s".to_owned(), true, vec!["instead".to_owned()]),
                ("s/branch/u2".to_owned(), false, abandoned),
            ]
        );
    }

    #[test]
    fn a_directory_format_is_read_whole_and_keeps_no_tail() {
        // opencode's older JSON tree: a directory, never opened as a file.
        let tree = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../interop/tests/fixtures/opencode/storage"
        ));
        let (parsed, tail) = read_on(
            Agent::Opencode,
            tree,
            ParseOptions::default(),
            None,
            1 << 20,
            &mut |_| true,
        );
        assert!(tail.is_none());
        // The fixture's two broken records are skipped; the tree is not.
        assert!(
            parsed.skipped.iter().all(|s| Path::new(&s.file) != tree),
            "{:?}",
            parsed.skipped
        );
        assert_eq!(parsed.skipped.len(), 2, "{:?}", parsed.skipped);
        assert!(parsed.sessions.iter().any(|s| !s.messages.is_empty()), "{parsed:?}");
    }

    #[test]
    fn a_shorter_file_is_read_from_the_start() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("rollout.jsonl");
        std::fs::write(
            &path,
            format!("{META}\n{}{}", line(1, "user", "a"), line(2, "assistant", "b")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (_, tail) = read(&path, None);
        std::fs::write(&path, format!("{META}\n{}", line(1, "user", "c"))).unwrap_or_else(|e| panic!("{e}"));
        let (texts, _) = read(&path, tail);
        assert_eq!(texts, ["c"]);
    }
}
