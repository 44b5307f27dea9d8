//! A followed JSON Lines file (Claude, Codex, Gemini) read as it grows.
//! Agents only ever append to these files, so a follow keeps the parser
//! that read a file up to its last whole line, and the next change is
//! read from there: a line appended to a gigabyte rollout costs that
//! line, not the gigabyte. The parser's [`LineParser::snapshot`] gives
//! the sessions as a full read would, so what the store gets is the same
//! either way.
//!
//! A [`Tail`] is only continued while the file is plainly the one it read
//! with more appended: the same device and inode, no shorter, and the
//! bytes just before where it stopped unchanged. Anything else (a
//! rotation, a truncation, a rewrite in place) reads the file from its
//! start with a new parser. Tails live in memory only: a restarted daemon
//! reads a changed file from its start once, as before.

use std::{
    fs::File,
    io::{BufReader, Seek, SeekFrom},
    os::unix::fs::{FileExt, MetadataExt},
    path::Path,
};

use chronicle_interop::sources::{Agent, LineParser, ParseOptions, Parsed, Skipped, SourceSession, message_bytes};

use super::import;

/// How many bytes before a tail's end are compared to tell an append from
/// a rewrite.
const CHECK_BYTES: u64 = 64;

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
    /// About how many bytes of messages the parser holds (its last
    /// snapshot's), for the follow's memory budget.
    held: usize,
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
/// whatever else it settled; returns the rest (the parser's snapshot: every
/// session, with the messages not handed out yet) and the tail to keep.
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
        },
    };
    let mut reader = BufReader::with_capacity(1 << 20, &f);
    let mut skipped = Vec::new();
    if let Err(e) = reader.seek(SeekFrom::Start(tail.offset)) {
        skipped.push(Skipped {
            file: label,
            line: tail.lines + 1,
            reason: format!("read failed: {e}"),
        });
        let mut parsed = tail.parser.snapshot();
        parsed.skipped.extend(skipped);
        return (parsed, None);
    }
    let mut going = true;
    let mut settled = |parser: &mut dyn LineParser, _: &import::Fed| {
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
    let mut parsed = tail.parser.snapshot();
    parsed.skipped.extend(skipped);
    tail.held = parsed
        .sessions
        .iter()
        .flat_map(|s| &s.messages)
        .map(message_bytes)
        .sum();
    (parsed, going.then_some(tail))
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
        // on its own, and the snapshot still holds the last reply.
        write!(f, "{}{{\"timestamp\":", line(3, "user", "second")).unwrap_or_else(|e| panic!("{e}"));
        let (texts, tail) = read(&path, Some(tail));
        assert_eq!(texts, ["one", "second"]);
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
