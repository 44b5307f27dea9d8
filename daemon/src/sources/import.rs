//! Reading other agents' session files for an import: finding the files
//! under the paths asked for, reading each one line by line into its
//! agent's parser (`chronicle_interop::sources`), and deciding which
//! project each source session goes into. Blocking code: callers run it
//! on a blocking thread, never on the async workers.
//!
//! Only regular files are read. A FIFO, a device or a socket among the
//! paths is refused (when named) or skipped (when found in a directory),
//! and opened never — so nothing waits on a writer that never comes;
//! directories are walked without following symlinks, so a link loop ends
//! the walk instead of repeating it. A line longer than [`MAX_LINE_BYTES`]
//! is skipped and reported, so memory stays bounded whatever the file. A
//! last line without its newline is the agent still writing: it is held
//! back (imported next time) unless it already parses whole. A parser that
//! can settle messages early hands them out in parts while the file is read
//! ([`parse_file_in_parts`]), so a rollout of gigabytes is never held whole.

use std::{
    collections::HashMap,
    fs::{self, File, OpenOptions},
    io::{self, BufRead, BufReader},
    os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt},
    path::{Path, PathBuf},
};

use chronicle_interop::sources::{
    Agent, LineParser, ParseOptions, Parsed, RereadingParser, Skipped, SourceSession, claude, codex, gemini,
    message_bytes, opencode,
};

/// Largest whole-file JSON read (Gemini's older `.json` recordings,
/// `opencode export` files): they cannot be streamed, so a bigger one is
/// skipped rather than held in memory.
pub const MAX_WHOLE_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// The first bytes of every SQLite database.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Longest line read; a longer one is skipped (Codex has written
/// multi-megabyte base64 screenshots on one line).
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// A file to read, with its size when listed.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub bytes: u64,
}

/// What a walk of the paths found.
#[derive(Debug, Default)]
pub struct Found {
    pub files: Vec<SourceFile>,
    /// Things found in a directory that are not read (FIFOs, devices).
    pub skipped: Vec<Skipped>,
    /// Codex thread names from any `session_index.jsonl` met.
    pub titles: HashMap<String, String>,
}

/// Why an import cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Refused(String),
}

/// Whether the walk reads a file found in a directory.
fn wanted(agent: Agent, path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    match agent {
        Agent::Claude => name.ends_with(".jsonl"),
        Agent::Codex => name.starts_with("rollout-") && name.ends_with(".jsonl"),
        Agent::Gemini => gemini::is_recording(path),
        Agent::Opencode => name == opencode::DB_FILE,
        Agent::Aider => false,
    }
}

/// An opencode data directory's readable forms: its database and the
/// older JSON tree, both when both are there (the upgrade keeps the tree;
/// import by source id takes each session once).
fn opencode_forms(dir: &Path) -> Vec<PathBuf> {
    let mut forms = Vec::new();
    if dir.join(opencode::DB_FILE).is_file() {
        forms.push(dir.join(opencode::DB_FILE));
    }
    let storage = dir.join(opencode::STORAGE_DIR);
    if storage.join("session").is_dir() {
        forms.push(storage);
    } else if dir.join("session").is_dir() && dir.join("message").is_dir() {
        // The tree itself was named.
        forms.push(dir.to_path_buf());
    }
    forms
}

/// Lists the files to read under `paths`: a named file is read whatever
/// its name; a directory is searched recursively for the agent's files, in
/// path order (Codex's dated paths put a fork's parent first).
pub fn find(agent: Agent, paths: &[PathBuf]) -> Result<Found, ImportError> {
    let mut found = Found::default();
    for path in paths {
        let meta = fs::metadata(path).map_err(|e| {
            ImportError::Refused(format!(
                "cannot read {}: {e} — name a file or directory that exists",
                path.display()
            ))
        })?;
        let kind = meta.file_type();
        if kind.is_dir() && agent == Agent::Opencode && !opencode_forms(path).is_empty() {
            for form in opencode_forms(path) {
                let bytes = fs::metadata(&form)
                    .map(|m| if m.is_file() { m.len() } else { 0 })
                    .unwrap_or(0);
                found.files.push(SourceFile { path: form, bytes });
            }
        } else if kind.is_dir() {
            walk(agent, path, &mut found);
        } else if kind.is_file() {
            found.files.push(SourceFile {
                path: path.clone(),
                bytes: meta.len(),
            });
        } else {
            return Err(ImportError::Refused(format!(
                "{} is {} — name a regular file or a directory",
                path.display(),
                describe(&kind)
            )));
        }
    }
    found.files.sort_by(|a, b| a.path.cmp(&b.path));
    found.files.dedup_by(|a, b| a.path == b.path);
    Ok(found)
}

fn describe(kind: &fs::FileType) -> &'static str {
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

fn walk(agent: Agent, dir: &Path, found: &mut Found) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            found.skipped.push(Skipped {
                file: dir.display().to_string(),
                line: 0,
                reason: "directory could not be read".into(),
            });
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            // The entry itself, links not followed: a link to a directory
            // is not entered, so a loop cannot form.
            let Ok(own) = fs::symlink_metadata(&path) else { continue };
            if own.is_dir() {
                if agent == Agent::Opencode && path.file_name().is_some_and(|n| n == opencode::STORAGE_DIR) {
                    // The JSON tree is read as one source, never file by file.
                    if path.join("session").is_dir() {
                        found.files.push(SourceFile { path, bytes: 0 });
                    }
                    continue;
                }
                stack.push(path);
                continue;
            }
            let is_index = agent == Agent::Codex && path.file_name().is_some_and(|n| n == "session_index.jsonl");
            if !is_index && !wanted(agent, &path) {
                continue;
            }
            let Ok(meta) = fs::metadata(&path) else { continue };
            if !meta.is_file() {
                found.skipped.push(Skipped {
                    file: path.display().to_string(),
                    line: 0,
                    reason: format!("{} — not read", describe(&meta.file_type())),
                });
            } else if is_index {
                if let Ok(text) = fs::read_to_string(&path) {
                    found.titles.extend(codex::thread_names(&text));
                }
            } else {
                found.files.push(SourceFile {
                    path,
                    bytes: meta.len(),
                });
            }
        }
    }
}

/// Opens a file for reading without ever blocking on it: non-blocking, and
/// refused unless it is a regular file once open.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"));
    }
    Ok(file)
}

/// How many bytes of messages a parser gathers before it hands them out as
/// one part: a rollout of gigabytes is read, stored and forgotten a part
/// at a time, by an import and by a follow alike.
pub const PART_BYTES: usize = 4 * 1024 * 1024;

/// Reads one file into its agent's parser, handing each part the parser
/// settles early (at least `part_bytes` of messages, see
/// [`LineParser::take_settled`]) to `part` with the bytes read so far, so a
/// long file never sits in memory whole; `part` returns false to stop
/// reading (the rest is not returned). Never fails: what cannot be read is
/// reported as skipped. Returns the rest of the file and the bytes read.
pub fn parse_file_in_parts(
    agent: Agent,
    file: &Path,
    options: ParseOptions,
    part_bytes: usize,
    part: &mut dyn FnMut(Vec<SourceSession>, u64) -> bool,
) -> (Parsed, u64) {
    let label = file.display().to_string();
    let Some(format) = LineFormat::of(agent, file) else {
        return match agent {
            Agent::Gemini => match read_whole(file) {
                Ok(text) => {
                    let bytes = text.len() as u64;
                    (gemini::parse_json(&label, &text, gemini_cwd(file), options), bytes)
                }
                Err(reason) => (whole_file_skipped(label, reason), 0),
            },
            Agent::Opencode => parse_opencode(file, options, part_bytes, part),
            _ => (
                whole_file_skipped(label, "aider's history imports with `chronicle import aider`".into()),
                0,
            ),
        };
    };
    match format {
        LineFormat::Claude => {
            let parser = claude::Parser::new(label.clone(), options).rereading(KEEP_BYTES);
            return in_parts_rereading(file, label, Box::new(parser), part_bytes, part);
        }
        LineFormat::Gemini => {
            let parser = gemini::GeminiParser::new(&label, options)
                .with_cwd(gemini_cwd(file))
                .rereading(KEEP_BYTES);
            return in_parts_rereading(file, label, Box::new(parser), part_bytes, part);
        }
        LineFormat::Codex => {}
    }
    let mut parser = format.parser(file, options);
    let mut extra = Vec::new();
    let bytes = match open_regular(file) {
        Ok(f) => {
            let mut settled = |parser: &mut dyn LineParser, fed: &Fed| {
                let sessions = parser.take_settled(part_bytes);
                sessions.is_empty() || part(sessions, fed.end)
            };
            feed(
                BufReader::with_capacity(1 << 20, f),
                &label,
                parser.as_mut(),
                &mut extra,
                &mut 0,
                &mut settled,
            )
        }
        Err(e) => {
            extra.push(Skipped {
                file: label,
                line: 0,
                reason: format!("cannot be read: {e}"),
            });
            0
        }
    };
    let mut parsed = parser.finish();
    parsed.skipped.extend(extra);
    parsed.skipped.sort_by_key(|s| s.line);
    (parsed, bytes)
}

/// How many bytes of texts a Claude transcript's or a Gemini recording's
/// parser keeps while it reads; the texts of later lines are read again
/// from the file once the whole is known.
pub const KEEP_BYTES: usize = 4 * 1024 * 1024;

/// A Claude transcript or a Gemini recording: its conversations are known
/// only once the whole file is read (a later line may rewind into any
/// earlier one), so the parser keeps their shape and at most
/// [`KEEP_BYTES`] of texts, then reads the other lines again to make the
/// messages, handed to `part` in parts as [`parse_file_in_parts`] does.
fn in_parts_rereading(
    file: &Path,
    label: String,
    mut parser: Box<dyn RereadingParser>,
    part_bytes: usize,
    part: &mut dyn FnMut(Vec<SourceSession>, u64) -> bool,
) -> (Parsed, u64) {
    let f = match open_regular(file) {
        Ok(f) => f,
        Err(e) => return (whole_file_skipped(label, format!("cannot be read: {e}")), 0),
    };
    let mut spans = LineSpans::default();
    let mut skipped = Vec::new();
    let bytes = feed(
        BufReader::with_capacity(1 << 20, &f),
        &label,
        parser.as_mut(),
        &mut skipped,
        &mut 0,
        &mut |_, fed| {
            spans.push(fed, 0);
            true
        },
    );
    let mut reread = |number: u64| spans.read(&f, number);
    // Small sessions (branches, subagents) travel together.
    let mut batch = Batch::new(part_bytes, part);
    let lost = parser.finish_in_parts(&mut reread, part_bytes, &mut |session| batch.push(session, bytes));
    skipped.extend(lost);
    skipped.sort_by_key(|s| s.line);
    (
        Parsed {
            sessions: batch.sessions,
            skipped,
        },
        bytes,
    )
}

/// Sessions gathered until they hold `part_bytes` of messages, then handed
/// to `part` together, so many small sessions make one part.
struct Batch<'a> {
    sessions: Vec<SourceSession>,
    bytes: usize,
    part_bytes: usize,
    part: &'a mut dyn FnMut(Vec<SourceSession>, u64) -> bool,
}

impl<'a> Batch<'a> {
    fn new(part_bytes: usize, part: &'a mut dyn FnMut(Vec<SourceSession>, u64) -> bool) -> Self {
        Batch {
            sessions: Vec::new(),
            bytes: 0,
            part_bytes,
            part,
        }
    }

    /// Adds `session`; a full batch goes to `part` with `read` (the bytes
    /// of the file read so far). False when `part` says to stop.
    fn push(&mut self, session: SourceSession, read: u64) -> bool {
        self.bytes += session.messages.iter().map(message_bytes).sum::<usize>();
        self.sessions.push(session);
        if self.bytes < self.part_bytes {
            return true;
        }
        self.bytes = 0;
        (self.part)(std::mem::take(&mut self.sessions), read)
    }
}

/// Where each line of a file sits, for reading lines again by number:
/// eight bytes a line (its start; it ends where the next starts), as a
/// transcript of any length keeps one for every line.
#[derive(Default)]
pub struct LineSpans {
    /// The number of the line `starts[0]` is the start of.
    first: u64,
    starts: Vec<u64>,
    /// Where the last line pushed ends.
    end: u64,
}

impl LineSpans {
    /// Notes where line `fed` sits, its offsets counted from `base`.
    /// Lines skipped before it (too long to feed) start where the line
    /// before them ended, so that line ends there too.
    pub fn push(&mut self, fed: &Fed, base: u64) {
        if self.starts.is_empty() {
            self.first = fed.number;
        }
        while self.first + (self.starts.len() as u64) < fed.number {
            self.starts.push(self.end);
        }
        self.starts.push(base + fed.start);
        self.end = base + fed.end;
    }

    /// Line `number` of `f` as it was fed; `None` when it cannot be read.
    pub fn read(&self, f: &File, number: u64) -> Option<String> {
        let at = usize::try_from(number.checked_sub(self.first)?).ok()?;
        let start = *self.starts.get(at)?;
        let end = self.starts.get(at + 1).copied().unwrap_or(self.end);
        let mut buf = vec![0u8; usize::try_from(end.checked_sub(start)?).ok()?];
        f.read_exact_at(&mut buf, start).ok()?;
        Some(String::from_utf8_lossy(&buf).trim_end_matches(['\n', '\r']).to_owned())
    }
}

/// A JSON Lines format, read line by line into its agent's parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineFormat {
    Claude,
    Codex,
    /// Gemini's `.jsonl` recordings (its older `.json` is read whole).
    Gemini,
}

impl LineFormat {
    /// The format of `file`; `None` for one read whole or from a database
    /// (opencode's, Gemini's `.json`, aider's history).
    pub fn of(agent: Agent, file: &Path) -> Option<LineFormat> {
        match agent {
            Agent::Claude => Some(LineFormat::Claude),
            Agent::Codex => Some(LineFormat::Codex),
            Agent::Gemini if file.extension().is_none_or(|e| e != "json") => Some(LineFormat::Gemini),
            Agent::Gemini | Agent::Opencode | Agent::Aider => None,
        }
    }

    /// Whether its [`LineFormat::parser`] reads lines again (by their
    /// [`LineSpans`]) for the texts it did not keep.
    pub fn rereads(self) -> bool {
        self == LineFormat::Claude
    }

    /// A parser of this format for `file`, to be read on as it grows. A
    /// Claude transcript's keeps at most [`KEEP_BYTES`] of texts:
    /// its [`LineParser::changes`] reads the others again from the file.
    pub fn parser(self, file: &Path, options: ParseOptions) -> Box<dyn LineParser + Send + Sync> {
        let label = file.display().to_string();
        match self {
            LineFormat::Claude => Box::new(claude::Parser::new(label, options).rereading(KEEP_BYTES)),
            LineFormat::Codex => Box::new(codex::Parser::new(label, options)),
            LineFormat::Gemini => Box::new(gemini::GeminiParser::new(&label, options).with_cwd(gemini_cwd(file))),
        }
    }
}

/// A file none of which could be read: one skipped entry, line 0.
pub fn whole_file_skipped(file: String, reason: String) -> Parsed {
    Parsed {
        sessions: Vec::new(),
        skipped: vec![Skipped { file, line: 0, reason }],
    }
}

/// A whole (non-streamable) JSON file, bounded by [`MAX_WHOLE_FILE_BYTES`].
fn read_whole(file: &Path) -> Result<String, String> {
    let f = open_regular(file).map_err(|e| format!("cannot be read: {e}"))?;
    let len = f.metadata().map_err(|e| format!("cannot be read: {e}"))?.len();
    if len > MAX_WHOLE_FILE_BYTES {
        return Err(format!(
            "a {} MiB JSON file is larger than the {} MiB limit for files read whole",
            len >> 20,
            MAX_WHOLE_FILE_BYTES >> 20
        ));
    }
    let mut text = String::new();
    io::Read::read_to_string(&mut io::Read::take(f, MAX_WHOLE_FILE_BYTES), &mut text)
        .map_err(|e| format!("cannot be read: {e}"))?;
    Ok(text)
}

/// The project directory of a Gemini recording: its project temp dir's
/// `.project_root` (newer Gemini CLI); `None` for older hash-named dirs.
pub fn gemini_cwd(recording: &Path) -> Option<String> {
    let root = gemini::project_root_file(recording)?;
    let f = open_regular(&root).ok()?;
    let mut text = String::new();
    io::Read::read_to_string(&mut io::Read::take(f, 64 * 1024), &mut text).ok()?;
    Some(text)
}

/// One of opencode's forms: its database, its older JSON tree (a
/// directory) or an `opencode export` file (read whole), its sessions
/// handed to `part` in parts of `part_bytes` as [`parse_file_in_parts`]
/// does. A database or tree that cannot be read as a whole is one skipped
/// entry (line 0).
fn parse_opencode(
    path: &Path,
    options: ParseOptions,
    part_bytes: usize,
    part: &mut dyn FnMut(Vec<SourceSession>, u64) -> bool,
) -> (Parsed, u64) {
    let label = path.display().to_string();
    // The readers hand over one session at a time: they go on in parts,
    // so a database of any size is never held whole. Parts report no
    // bytes read: a database is not read front to back.
    let mut batch = Batch::new(part_bytes, part);
    let mut stopped = false;
    let mut take = |s: SourceSession| {
        if !stopped {
            stopped = !batch.push(s, 0);
        }
    };
    let result = if path.is_dir() {
        opencode::read_storage(path, options, None, &mut take).map(|skipped| (skipped, 0))
    } else if is_sqlite(path) {
        let bytes = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        opencode::read_database(path, options, None, &mut take).map(|skipped| (skipped, bytes))
    } else {
        return match read_whole(path) {
            Ok(text) => {
                let bytes = text.len() as u64;
                (opencode::parse_export(&label, &text, options), bytes)
            }
            Err(reason) => (whole_file_skipped(label, reason), 0),
        };
    };
    let (skipped, bytes) = result.unwrap_or_else(|e| {
        let whole = Skipped {
            file: label,
            line: 0,
            reason: e.to_string(),
        };
        (vec![whole], 0)
    });
    let parsed = Parsed {
        sessions: batch.sessions,
        skipped,
    };
    (parsed, bytes)
}

/// Whether `path` is a regular file starting with SQLite's header.
fn is_sqlite(path: &Path) -> bool {
    let Ok(mut f) = open_regular(path) else { return false };
    let mut head = [0u8; 16];
    io::Read::read_exact(&mut f, &mut head).is_ok() && &head == SQLITE_MAGIC
}

/// Where a line just fed sits in what [`feed`] reads.
pub struct Fed {
    /// 1-based, counting the lines before the reader's first.
    pub number: u64,
    /// Its first byte's offset from the reader's start.
    pub start: u64,
    /// The offset just past it (and its newline): the bytes read so far.
    pub end: u64,
}

/// Feeds every line of `reader` to `parser`, bounded by [`MAX_LINE_BYTES`],
/// calling `after_line` with where it sat after each one; reading
/// stops when it returns false. `number` is the number of lines before the
/// reader's first (0 at the file's start), and after it the last line fed.
/// Returns the bytes read, up to the end of the last line fed.
pub fn feed(
    mut reader: impl BufRead,
    label: &str,
    parser: &mut dyn LineParser,
    skipped: &mut Vec<Skipped>,
    number: &mut u64,
    after_line: &mut dyn FnMut(&mut dyn LineParser, &Fed) -> bool,
) -> u64 {
    let mut line = Vec::new();
    let mut total = 0u64;
    loop {
        line.clear();
        let (read, complete, too_long) = match read_line(&mut reader, &mut line) {
            Ok(r) => r,
            Err(e) => {
                skipped.push(Skipped {
                    file: label.to_owned(),
                    line: *number + 1,
                    reason: format!("read failed: {e}"),
                });
                return total;
            }
        };
        if read == 0 {
            return total;
        }
        total += read as u64;
        *number += 1;
        if too_long {
            skipped.push(Skipped {
                file: label.to_owned(),
                line: *number,
                reason: format!(
                    "line of {read} bytes is longer than the {} MiB limit",
                    MAX_LINE_BYTES >> 20
                ),
            });
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        if !complete && serde_json::from_str::<serde_json::Value>(text).is_err() {
            // The agent is still writing it: held back, read next time.
            total -= read as u64;
            *number -= 1;
            return total;
        }
        parser.line(*number, text);
        let fed = Fed {
            number: *number,
            start: total - read as u64,
            end: total,
        };
        if !after_line(parser, &fed) {
            return total;
        }
    }
}

/// One line into `buf` (without keeping more than [`MAX_LINE_BYTES`]):
/// bytes consumed, whether it ended in a newline, whether it was too long.
fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<(usize, bool, bool)> {
    let mut read = 0usize;
    let mut too_long = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok((read, false, too_long));
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if !too_long {
            if buf.len() + take > MAX_LINE_BYTES {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        reader.consume(take);
        read += take;
        if done {
            return Ok((read, true, too_long));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Lines(Vec<(u64, String)>);
    impl LineParser for Lines {
        fn line(&mut self, number: u64, line: &str) {
            self.0.push((number, line.to_owned()));
        }
        fn finish(self: Box<Self>) -> Parsed {
            Parsed::default()
        }
        fn snapshot(&self) -> Parsed {
            Parsed::default()
        }
    }

    fn lines(input: &str) -> (Vec<(u64, String)>, u64) {
        let mut parser = Lines(Vec::new());
        let mut skipped = Vec::new();
        let bytes = feed(input.as_bytes(), "f", &mut parser, &mut skipped, &mut 0, &mut |_, _| {
            true
        });
        assert!(skipped.is_empty());
        (parser.0, bytes)
    }

    #[test]
    fn a_partial_last_line_is_held_back_and_a_whole_one_without_newline_is_read() {
        let (got, bytes) = lines("{\"a\":1}\n{\"b\":");
        assert_eq!(got, vec![(1, "{\"a\":1}".to_owned())]);
        assert_eq!(bytes, 8);
        let (got, _) = lines("{\"a\":1}\r\n{\"b\":2}");
        assert_eq!(got.len(), 2);
        assert_eq!(got[1], (2, "{\"b\":2}".to_owned()));
    }

    #[test]
    fn a_line_is_read_again_by_number_past_a_line_too_long_to_feed_and_across_reads() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("t.jsonl");
        // Line 2 stands for one too long to feed: it was never pushed.
        fs::write(&path, "{\"a\":1}\nxxxxxxxxxxx\n{\"c\":3}\n{\"d\":4}\n").unwrap_or_else(|e| panic!("{e}"));
        let f = File::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut spans = LineSpans::default();
        spans.push(
            &Fed {
                number: 1,
                start: 0,
                end: 8,
            },
            0,
        );
        spans.push(
            &Fed {
                number: 3,
                start: 20,
                end: 28,
            },
            0,
        );
        // A later read of the file starts where the first stopped.
        spans.push(
            &Fed {
                number: 4,
                start: 0,
                end: 8,
            },
            28,
        );
        let read = |n| spans.read(&f, n);
        assert_eq!(read(1).as_deref(), Some("{\"a\":1}"));
        assert_eq!(read(3).as_deref(), Some("{\"c\":3}"));
        assert_eq!(read(4).as_deref(), Some("{\"d\":4}"));
        assert_eq!((read(0), read(5)), (None, None));
    }

    #[test]
    fn a_fifo_is_refused_by_name_and_skipped_in_a_directory() {
        let dir = std::env::temp_dir().join(format!("chronicle-import-fifo-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let fifo = dir.join("x.jsonl");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let err = find(Agent::Claude, std::slice::from_ref(&fifo))
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("is a FIFO")));
        let found = find(Agent::Claude, std::slice::from_ref(&dir)).unwrap_or_else(|e| panic!("{e}"));
        assert!(found.files.is_empty());
        assert_eq!(found.skipped.len(), 1);
        assert!(found.skipped[0].reason.contains("FIFO"));
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_link_loop_ends_the_walk() {
        let dir = std::env::temp_dir().join(format!("chronicle-import-loop-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("a")).unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink(&dir, dir.join("a/up")).unwrap_or_else(|e| panic!("{e}"));
        fs::write(dir.join("a/s.jsonl"), "{}\n").unwrap_or_else(|e| panic!("{e}"));
        let found = find(Agent::Claude, std::slice::from_ref(&dir)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found.files.len(), 1);
        let _ = fs::remove_dir_all(&dir);
    }
}
