//! aider's files: the chat history `.aider.chat.history.md` (read and
//! written) and the `/save` files of context files (read and written).
//!
//! How aider writes its history (aider/io.py), which the parser relies on:
//! each start of aider appends `# aider chat started at YYYY-MM-DD HH:MM:SS`
//! (local time); each line of user input is `#### line` followed by two
//! spaces (a Markdown hard break); each line of aider's own output is
//! `> line` followed by two spaces (`>` alone for a blank line); the
//! model's reply is plain Markdown between blank lines; after a reply,
//! `> Tokens: 2.1k sent, 150 received. Cost: $0.01 message, $0.05 session.`
//! (with cache figures, the `Cost:` part on a line of its own).
//!
//! A reply may itself hold lines that start with `#### ` (a heading) or
//! `> ` (a quote), and code blocks may hold anything. So: inside a reply's
//! fenced code block nothing is a marker (only a token line ends an
//! unclosed fence, so a reply cut off mid-block does not swallow the run);
//! and when the run shows aider's trailing two spaces on its marker lines
//! (real files do), a `#### ` or `> ` line without them is part of the
//! reply. Files whose trailing spaces were stripped fall back to the plain
//! prefixes.

use std::{fmt::Write as _, io};

use chronicle_proto::v1::{Message, Role, Usage};

/// The history file's name, in the project root.
pub const HISTORY_FILE: &str = ".aider.chat.history.md";
/// What starts each run of aider in the history.
pub const RUN_HEADER: &str = "# aider chat started at ";
/// The time format of a run header (local time).
const HEADER_TIME: &str = "%Y-%m-%d %H:%M:%S";

/// One start of aider: the messages written until the next start.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Run {
    /// The header's time as written, e.g. `2024-08-05 19:33:02`; `None`
    /// for lines before the first header.
    pub started: Option<String>,
    /// That time in ms since the epoch, read as local time.
    pub started_at_ms: Option<i64>,
    pub messages: Vec<Message>,
}

/// The time of a run header line, if `line` is one.
pub fn run_header(line: &str) -> Option<&str> {
    line.strip_prefix(RUN_HEADER).map(str::trim)
}

/// A run header's time as ms since the epoch, read in the local time zone.
pub fn header_time_ms(text: &str) -> Option<i64> {
    let civil = jiff::civil::DateTime::strptime(HEADER_TIME, text.trim()).ok()?;
    let zoned = civil.to_zoned_datetime(jiff::tz::TimeZone::system()).ok()?;
    Some(zoned.timestamp().as_millisecond())
}

/// A time as a run header writes it, in the local time zone.
pub fn header_time(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t
            .to_zoned_datetime(jiff::tz::TimeZone::system())
            .strftime(HEADER_TIME)
            .to_string(),
        Err(_) => "1970-01-01 00:00:00".to_owned(),
    }
}

/// Parses a whole history file into its runs. Text before the first
/// header (a file that was truncated or rotated) is a run without a time.
pub fn parse_history(text: &str) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut started: Option<&str> = None;
    let mut body: Vec<&str> = Vec::new();
    for line in text.lines() {
        if let Some(time) = run_header(line) {
            if started.is_some() || body.iter().any(|l| !l.trim().is_empty()) {
                runs.push(make_run(started, &body));
            }
            started = Some(time);
            body.clear();
        } else {
            body.push(line);
        }
    }
    if started.is_some() || body.iter().any(|l| !l.trim().is_empty()) {
        runs.push(make_run(started, &body));
    }
    runs
}

fn make_run(started: Option<&str>, body: &[&str]) -> Run {
    Run {
        started: started.map(str::to_owned),
        started_at_ms: started.and_then(header_time_ms),
        messages: parse_run(body),
    }
}

/// Parses the lines of one run (without its header) into messages: user
/// input, the model's replies (with usage from the token lines), and
/// aider's output (`ROLE_COMMAND_OUTPUT`; `command` is the user's `/command`
/// when the output follows one directly). Messages get no id and no time.
pub fn parse_run(lines: &[&str]) -> Vec<Message> {
    let strict = lines.iter().any(|l| {
        let l = l.strip_suffix('\r').unwrap_or(l);
        (user_text(l).is_some() || output_text(l).is_some()) && l.ends_with("  ")
    });
    let mut parser = RunParser {
        strict,
        ..RunParser::default()
    };
    for line in lines {
        parser.line(line.strip_suffix('\r').unwrap_or(line));
    }
    parser.flush();
    parser.messages
}

/// `#### text` → `text` (trailing spaces dropped); `####` alone → "".
fn user_text(line: &str) -> Option<&str> {
    if let Some(rest) = line.strip_prefix("#### ") {
        Some(rest.trim_end())
    } else if line.trim_end() == "####" {
        Some("")
    } else {
        None
    }
}

/// `> text` → `text` (trimmed, as aider trims it); `>` alone → "".
fn output_text(line: &str) -> Option<&str> {
    if let Some(rest) = line.strip_prefix("> ") {
        Some(rest.trim())
    } else if line.trim_end() == ">" {
        Some("")
    } else {
        None
    }
}

#[derive(Debug, Default)]
enum Block {
    #[default]
    None,
    User(Vec<String>),
    Output(Vec<String>),
    Reply {
        lines: Vec<String>,
        /// The open code fence: its character and length.
        fence: Option<(char, usize)>,
    },
}

#[derive(Debug, Default)]
struct RunParser {
    strict: bool,
    messages: Vec<Message>,
    block: Block,
    /// The model aider last announced (`Main model: X with …`).
    model: String,
    /// The reply a token line belongs to: the last one since the last
    /// user input.
    last_reply: Option<usize>,
    /// A user `/command` just ended: output right after it is its output.
    command: Option<String>,
    /// The previous line was a token line: a `Cost:` line may follow.
    after_tokens: Option<usize>,
}

impl RunParser {
    fn line(&mut self, line: &str) {
        if let Some(at) = self.after_tokens.take()
            && let Some(cost) = cost_line(line)
        {
            if let Some(usage) = self.messages.get_mut(at).and_then(|m| m.usage.as_mut()) {
                usage.cost = cost;
            }
            return;
        }
        let tokens = output_text(line).and_then(tokens_line);
        if let Block::Reply { lines, fence } = &mut self.block
            && fence.is_some()
            && tokens.is_none()
        {
            *fence = fence_after(*fence, line);
            lines.push(line.to_owned());
            return;
        }
        // aider ends its marker lines with a hard break; where the run
        // shows that it kept them, a line without one is the model's text.
        let marker = !self.strict || line.ends_with("  ");
        if let Some(usage) = tokens {
            self.tokens(usage, line);
        } else if let (Some(text), true) = (user_text(line), marker) {
            if !matches!(self.block, Block::User(_)) {
                self.flush();
            }
            if let Block::User(lines) = &mut self.block {
                lines.push(text.to_owned());
            } else {
                self.block = Block::User(vec![text.to_owned()]);
            }
        } else if let (Some(text), true) = (output_text(line), marker) {
            self.output(text);
        } else if line.trim().is_empty() {
            match &mut self.block {
                Block::Reply { lines, .. } => lines.push(String::new()),
                Block::None => {}
                Block::User(_) | Block::Output(_) => self.flush(),
            }
        } else if let Block::Reply { lines, fence } = &mut self.block {
            *fence = fence_after(*fence, line);
            lines.push(line.to_owned());
        } else {
            self.flush();
            self.block = Block::Reply {
                lines: vec![line.to_owned()],
                fence: fence_after(None, line),
            };
        }
    }

    fn output(&mut self, text: &str) {
        if let Some(model) = announced_model(text) {
            self.model = model.to_owned();
        }
        if let Block::Output(lines) = &mut self.block {
            lines.push(text.to_owned());
        } else {
            self.flush();
            self.block = Block::Output(vec![text.to_owned()]);
        }
    }

    /// Usage for the reply it reports on; a token line with no reply to
    /// go to stays as output.
    fn tokens(&mut self, usage: Usage, line: &str) {
        if !matches!(self.block, Block::Output(_)) {
            self.flush();
        }
        match self.last_reply {
            Some(at) if self.messages.get(at).is_some_and(|m| m.usage.is_none()) => {
                if let Some(reply) = self.messages.get_mut(at) {
                    reply.usage = Some(usage);
                }
                self.after_tokens = Some(at);
            }
            _ => self.output(output_text(line).unwrap_or_default()),
        }
    }

    fn flush(&mut self) {
        let command = self.command.take();
        match std::mem::take(&mut self.block) {
            Block::None => {}
            Block::User(lines) => {
                let content = lines.join("\n");
                let content = if content == "<blank>" { String::new() } else { content };
                if content.starts_with('/') {
                    self.command = content.lines().next().map(str::to_owned);
                }
                self.last_reply = None;
                self.messages.push(message(Role::User, content));
            }
            Block::Output(lines) => {
                let mut m = message(Role::CommandOutput, lines.join("\n"));
                m.command = command.unwrap_or_default();
                self.messages.push(m);
            }
            Block::Reply { lines, .. } => {
                let start = lines.iter().position(|l| !l.trim().is_empty());
                let end = lines.iter().rposition(|l| !l.trim().is_empty());
                let (Some(start), Some(end)) = (start, end) else {
                    return;
                };
                let mut m = message(Role::Assistant, lines[start..=end].join("\n"));
                m.model = self.model.clone();
                self.last_reply = Some(self.messages.len());
                self.messages.push(m);
            }
        }
    }
}

fn message(role: Role, content: String) -> Message {
    Message {
        role: role as i32,
        content,
        ..Message::default()
    }
}

/// The fence state after `line`: opens a fence of ``` or ~~~ (three or
/// more, indented at most three spaces), or closes the open one with a
/// run at least as long and nothing after it.
fn fence_after(open: Option<(char, usize)>, line: &str) -> Option<(char, usize)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return open;
    }
    let rest = &line[indent..];
    let Some(c) = rest.chars().next().filter(|c| *c == '`' || *c == '~') else {
        return open;
    };
    let run = rest.chars().take_while(|x| *x == c).count();
    if run < 3 {
        return open;
    }
    match open {
        None => Some((c, run)),
        Some((oc, olen)) if oc == c && run >= olen && rest[run..].trim().is_empty() => None,
        Some(_) => open,
    }
}

/// `Main model: claude-3-5-sonnet with diff edit format` → the model.
fn announced_model(text: &str) -> Option<&str> {
    let rest = ["Main model: ", "Model: ", "Models: "]
        .iter()
        .find_map(|p| text.strip_prefix(p))?;
    rest.split_whitespace().next()
}

/// `2.1k` → 2100, `15k` → 15000, `1.2M` → 1200000, `150` → 150.
fn token_count(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, scale) = match text.chars().last()? {
        'k' | 'K' => (&text[..text.len() - 1], 1e3),
        'M' | 'm' => (&text[..text.len() - 1], 1e6),
        _ => (text, 1.0),
    };
    let value: f64 = number.trim().parse().ok()?;
    (value.is_finite() && value >= 0.0).then(|| (value * scale).round() as u64)
}

/// Reads `Tokens: 4.2k sent, 2.1k cache write, 1.5k cache hit, 150
/// received. Cost: $0.01 message, $0.05 session.` (the `Cost:` part is
/// optional); the cost kept is the message's.
pub fn tokens_line(text: &str) -> Option<Usage> {
    let rest = text.strip_prefix("Tokens: ")?;
    let (tokens, cost) = match rest.split_once("Cost:") {
        Some((tokens, cost)) => (tokens, Some(cost)),
        None => (rest, None),
    };
    let mut usage = Usage::default();
    let mut any = false;
    for item in tokens.trim().trim_end_matches('.').split(',') {
        let item = item.trim().trim_end_matches('.');
        let Some((number, label)) = item.split_once(' ') else {
            continue;
        };
        let Some(n) = token_count(number) else { continue };
        let slot = match label.trim() {
            "sent" => &mut usage.sent_tokens,
            "received" => &mut usage.received_tokens,
            "cache hit" => &mut usage.cache_read_tokens,
            "cache write" => &mut usage.cache_write_tokens,
            _ => continue,
        };
        *slot = n;
        any = true;
    }
    if let Some(cost) = cost.and_then(message_cost) {
        usage.cost = cost;
    }
    any.then_some(usage)
}

/// `Cost: $0.02 message, $0.10 session.` alone on a line (aider prints it
/// so when the report has cache figures), with or without `> `.
fn cost_line(line: &str) -> Option<f64> {
    let text = output_text(line).unwrap_or(line).trim();
    message_cost(text.strip_prefix("Cost:")?)
}

/// ` $0.01 message, $0.05 session.` → 0.01.
fn message_cost(text: &str) -> Option<f64> {
    let first = text.split(',').next()?.trim();
    let amount = first.strip_suffix("message")?.trim().strip_prefix('$')?;
    amount.trim().parse().ok()
}

/// A token count as aider prints it.
fn format_tokens(n: u64) -> String {
    if n < 1000 {
        n.to_string()
    } else if n < 10_000 {
        format!("{:.1}k", n as f64 / 1000.0)
    } else {
        // Python's round(), as aider uses: halves go to the even number.
        format!("{}k", (n as f64 / 1000.0).round_ties_even())
    }
}

/// A cost as aider prints it: two decimals, more for small amounts.
fn format_cost(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return "0.00".to_owned();
    }
    let magnitude = value.abs();
    if magnitude >= 0.01 {
        format!("{value:.2}")
    } else {
        let digits = (2 - magnitude.log10() as i64).max(2) as usize;
        format!("{value:.digits$}")
    }
}

/// aider's token report for one reply; `session_cost` is the running
/// total it ends with.
pub fn format_tokens_line(usage: &Usage, session_cost: f64) -> String {
    let mut text = format!("Tokens: {} sent", format_tokens(usage.sent_tokens));
    if usage.cache_write_tokens > 0 {
        let _ = write!(text, ", {} cache write", format_tokens(usage.cache_write_tokens));
    }
    if usage.cache_read_tokens > 0 {
        let _ = write!(text, ", {} cache hit", format_tokens(usage.cache_read_tokens));
    }
    let _ = write!(text, ", {} received.", format_tokens(usage.received_tokens));
    if usage.cost != 0.0 {
        let _ = write!(
            text,
            " Cost: ${} message, ${} session.",
            format_cost(usage.cost),
            format_cost(session_cost)
        );
    }
    text
}

/// Writes messages in aider's history format, so that
/// `aider --restore-chat-history` resumes them and [`parse_history`]
/// reads back the same user, reply and output messages. Other roles
/// (tool, system, log) become output lines; ids, times and fields aider
/// has no place for are not written.
#[derive(Debug)]
pub struct HistoryWriter<W: io::Write> {
    out: W,
    session_cost: f64,
    /// The model the output written so far announced, as the parser
    /// would track it; a reply by another model gets a `Model:` line.
    announced: String,
}

impl<W: io::Write> HistoryWriter<W> {
    pub fn new(out: W) -> Self {
        HistoryWriter {
            out,
            session_cost: 0.0,
            announced: String::new(),
        }
    }

    /// Starts a run, as aider does each time it starts.
    pub fn run(&mut self, started_at_ms: i64) -> io::Result<()> {
        self.session_cost = 0.0;
        self.announced.clear();
        write!(self.out, "\n{RUN_HEADER}{}\n\n", header_time(started_at_ms))
    }

    pub fn message(&mut self, m: &Message) -> io::Result<()> {
        match Role::try_from(m.role).unwrap_or(Role::Unspecified) {
            Role::User => {
                self.out.write_all(b"\n")?;
                if m.content.is_empty() {
                    return self.out.write_all(b"#### <blank>  \n");
                }
                for line in m.content.lines() {
                    writeln!(self.out, "#### {}  ", line.trim_end())?;
                }
                Ok(())
            }
            Role::Assistant => {
                if !m.model.is_empty() && m.model != self.announced {
                    self.output_lines(&format!("Model: {}", m.model))?;
                }
                if !m.content.trim().is_empty() {
                    write!(self.out, "\n{}\n\n", reply_text(&m.content))?;
                }
                if let Some(usage) = &m.usage {
                    if usage.cost.is_finite() {
                        self.session_cost += usage.cost;
                    }
                    writeln!(self.out, "> {}  ", format_tokens_line(usage, self.session_cost))?;
                }
                Ok(())
            }
            _ => {
                let text = match (&m.tool, m.content.trim().is_empty()) {
                    (Some(tool), true) => format!("tool call {}", tool.name),
                    _ => m.content.clone(),
                };
                if text.trim().is_empty() {
                    return Ok(());
                }
                self.output_lines(&text)
            }
        }
    }

    fn output_lines(&mut self, text: &str) -> io::Result<()> {
        for line in text.lines() {
            let line = line.trim();
            if let Some(model) = announced_model(line) {
                self.announced = model.to_owned();
            }
            if line.is_empty() {
                self.out.write_all(b">  \n")?;
            } else {
                writeln!(self.out, "> {line}  ")?;
            }
        }
        Ok(())
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// A reply as written: blank lines around it trimmed, and lines that would
/// read as aider's own markers (outside code blocks) lose their trailing
/// spaces, so they read back as part of the reply.
fn reply_text(content: &str) -> String {
    let lines: Vec<&str> = content.lines().collect();
    let start = lines.iter().position(|l| !l.trim().is_empty()).unwrap_or(0);
    let end = lines.iter().rposition(|l| !l.trim().is_empty()).map_or(0, |e| e + 1);
    let mut fence = None;
    let mut out = Vec::with_capacity(end.saturating_sub(start));
    for line in lines.get(start..end).unwrap_or_default() {
        let was_open = fence.is_some();
        fence = fence_after(fence, line);
        if !was_open && (user_text(line).is_some() || output_text(line).is_some()) {
            out.push(line.trim_end());
        } else {
            out.push(line);
        }
    }
    out.join("\n")
}

// ---------------------------------------------------------------- /save files

/// What an aider `/save` file (or any file of `/add`, `/read-only` and
/// `/drop` commands, as `/load` runs them) does to the context.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SaveFile {
    /// A bare `/drop` came first: the list replaces the context.
    pub replace: bool,
    /// Files in context afterwards, in order: (path, read-only).
    pub files: Vec<(String, bool)>,
    /// Paths a `/drop PATH` removed (only when not replacing).
    pub removed: Vec<String>,
    /// Lines that were not context commands, skipped: (line number, text).
    pub skipped: Vec<(usize, String)>,
}

/// Why a `/save` file cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct SaveError {
    pub line: usize,
    pub message: String,
}

/// Splits arguments as aider does: `"quoted names"` or runs of non-spaces.
fn split_args(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = args.trim_start();
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix('"')
            && let Some(end) = quoted.find('"').filter(|e| *e > 0)
        {
            out.push(quoted[..end].to_owned());
            rest = quoted[end + 1..].trim_start();
            continue;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        out.push(rest[..end].to_owned());
        rest = rest[end..].trim_start();
    }
    out
}

/// Reads a `/save` file: `/drop`, `/add PATH…`, `/read-only PATH…` (or
/// `/read`); `#` comments and blank lines are skipped, as `/load` skips
/// them; any other line is skipped and reported.
pub fn parse_save(text: &str) -> Result<SaveFile, SaveError> {
    let mut save = SaveFile::default();
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (command, args) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let paths = split_args(args);
        match command {
            "/drop" if paths.is_empty() => {
                save.replace = true;
                save.files.clear();
                save.removed.clear();
            }
            "/drop" => {
                save.files.retain(|(p, _)| !paths.contains(p));
                if !save.replace {
                    save.removed.extend(paths);
                }
            }
            "/add" | "/read-only" | "/read" => {
                if paths.is_empty() {
                    return Err(SaveError {
                        line: number,
                        message: format!("{command} names no file — write `{command} PATH`"),
                    });
                }
                let read_only = command != "/add";
                for path in paths {
                    save.removed.retain(|p| p != &path);
                    match save.files.iter_mut().find(|(p, _)| p == &path) {
                        Some(entry) => entry.1 = read_only,
                        None => save.files.push((path, read_only)),
                    }
                }
            }
            _ => save.skipped.push((number, line.to_owned())),
        }
    }
    Ok(save)
}

/// Writes a file aider's `/load` accepts, as aider's own `/save` does:
/// `/drop`, then the editable files, then the read-only ones, each sorted.
/// Names with spaces are quoted (aider's `/add` reads quotes).
pub fn write_save(files: &[(String, bool)]) -> String {
    let quote = |p: &str| {
        if p.chars().any(char::is_whitespace) || p.starts_with('"') {
            format!("\"{p}\"")
        } else {
            p.to_owned()
        }
    };
    let mut editable: Vec<&str> = files.iter().filter(|f| !f.1).map(|f| f.0.as_str()).collect();
    let mut read_only: Vec<&str> = files.iter().filter(|f| f.1).map(|f| f.0.as_str()).collect();
    editable.sort_unstable();
    read_only.sort_unstable();
    let mut out = String::from("/drop\n");
    for path in editable {
        let _ = writeln!(out, "/add       {}", quote(path));
    }
    for path in read_only {
        let _ = writeln!(out, "/read-only {}", quote(path));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HISTORY: &str = "
# aider chat started at 2024-08-05 19:33:02

> /usr/local/bin/aider --model gpt-4o  
> Aider v0.48.1  
> Main model: gpt-4o with diff edit format  
> Git repo: .git with 12 files  

#### /add src/lib.rs  
> Added src/lib.rs to the chat  

#### add a docstring to foo  
#### and keep it short  

#### Plan

Here is the change:

src/lib.rs
```rust
<<<<<<< SEARCH
fn foo() {}
=======
/// Foo.
#### not a user line  
> not output either  
fn foo() {}
>>>>>>> REPLACE
```

> a quote in the reply

> Tokens: 2.1k sent, 150 received. Cost: $0.01 message, $0.05 session.  
> Applied edit to src/lib.rs  
> Commit 1a2b3c4 feat: Add docstring to foo  

# aider chat started at 2024-08-06 09:00:00

#### <blank>  

Hi!

> Tokens: 15k sent, 2.1k cache write, 1.5k cache hit, 9 received.  
Cost: $0.0012 message, $0.10 session.  
";

    fn roles(messages: &[Message]) -> Vec<(i32, &str)> {
        messages.iter().map(|m| (m.role, m.content.as_str())).collect()
    }

    #[test]
    fn runs_and_messages_are_parsed() {
        let runs = parse_history(HISTORY);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].started.as_deref(), Some("2024-08-05 19:33:02"));
        assert!(runs[0].started_at_ms.is_some());
        let m = &runs[0].messages;
        let (user, reply, output) = (Role::User as i32, Role::Assistant as i32, Role::CommandOutput as i32);
        assert_eq!(
            roles(m)[..4],
            [
                (
                    output,
                    "/usr/local/bin/aider --model gpt-4o\nAider v0.48.1\nMain model: gpt-4o with diff edit format\nGit repo: .git with 12 files"
                ),
                (user, "/add src/lib.rs"),
                (output, "Added src/lib.rs to the chat"),
                (user, "add a docstring to foo\nand keep it short"),
            ]
        );
        assert_eq!(m[2].command, "/add src/lib.rs");
        assert_eq!(m[4].role, reply);
        assert!(
            m[4].content.starts_with("#### Plan\n\nHere is the change:"),
            "{}",
            m[4].content
        );
        assert!(m[4].content.contains("#### not a user line  \n> not output either  "));
        assert!(
            m[4].content.ends_with("```\n\n> a quote in the reply"),
            "{}",
            m[4].content
        );
        assert_eq!(m[4].model, "gpt-4o");
        let usage = m[4].usage.expect("usage");
        assert_eq!(
            (usage.sent_tokens, usage.received_tokens, usage.cost),
            (2100, 150, 0.01)
        );
        assert_eq!(
            roles(&m[5..]),
            [(
                output,
                "Applied edit to src/lib.rs\nCommit 1a2b3c4 feat: Add docstring to foo"
            )]
        );
        assert_eq!(m[5].command, "", "not right after a /command");

        let m = &runs[1].messages;
        assert_eq!(roles(m), [(user, ""), (reply, "Hi!")]);
        let usage = m[1].usage.expect("usage");
        assert_eq!(
            (
                usage.sent_tokens,
                usage.cache_write_tokens,
                usage.cache_read_tokens,
                usage.received_tokens,
                usage.cost
            ),
            (15_000, 2100, 1500, 9, 0.0012)
        );
    }

    #[test]
    fn written_history_reads_back_the_same() {
        for run in parse_history(HISTORY) {
            let mut writer = HistoryWriter::new(Vec::new());
            writer.run(run.started_at_ms.unwrap_or_default()).expect("write");
            for m in &run.messages {
                writer.message(m).expect("write");
            }
            let text = String::from_utf8(writer.into_inner()).expect("utf-8");
            let back = parse_history(&text);
            assert_eq!(back.len(), 1, "{text}");
            assert_eq!(back[0].started, run.started, "{text}");
            assert_eq!(back[0].messages, run.messages, "{text}");
        }
    }

    #[test]
    fn an_unclosed_fence_ends_at_the_token_line() {
        let text = "#### go  \n\n```python\ndef f():\n#### x  \n\n> Tokens: 10 sent, 5 received.  \n#### next  \n";
        let m = parse_history(text).remove(0).messages;
        assert_eq!(m.len(), 3, "{m:?}");
        assert!(m[1].usage.is_some());
        assert_eq!(m[2].content, "next");
    }

    #[test]
    fn stripped_trailing_spaces_fall_back_to_prefixes() {
        let text = "#### hello\n\nworld\n\n> Tokens: 1 sent, 2 received.\n> done\n";
        let m = parse_history(text).remove(0).messages;
        assert_eq!(
            roles(&m),
            [
                (Role::User as i32, "hello"),
                (Role::Assistant as i32, "world"),
                (Role::CommandOutput as i32, "done")
            ]
        );
    }

    #[test]
    fn token_counts_and_costs_print_as_aider_does() {
        assert_eq!(format_tokens(150), "150");
        assert_eq!(format_tokens(2100), "2.1k");
        assert_eq!(format_tokens(12_500), "12k");
        assert_eq!(format_cost(0.01), "0.01");
        assert_eq!(format_cost(0.0012), "0.0012");
        let usage = tokens_line("Tokens: 2.1k sent, 150 received. Cost: $0.01 message, $0.05 session.");
        assert_eq!(
            usage.map(|u| format_tokens_line(&u, 0.05)).as_deref(),
            Some("Tokens: 2.1k sent, 150 received. Cost: $0.01 message, $0.05 session.")
        );
    }

    #[test]
    fn save_files_round_trip() {
        let files = vec![
            ("src/b.rs".to_owned(), false),
            ("docs/with space.md".to_owned(), true),
            ("src/a.rs".to_owned(), false),
            ("/etc/hosts".to_owned(), true),
        ];
        let text = write_save(&files);
        assert_eq!(
            text,
            "/drop\n/add       src/a.rs\n/add       src/b.rs\n/read-only /etc/hosts\n/read-only \"docs/with space.md\"\n"
        );
        let back = parse_save(&text).expect("parses");
        assert!(back.replace);
        let mut got = back.files.clone();
        let mut want = files.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want);
    }

    #[test]
    fn save_files_without_drop_add_and_remove() {
        let save = parse_save("# mine\n/add a.rs b.rs\n/drop b.rs\n/model gpt-4o\n/read c.md\n").expect("parses");
        assert!(!save.replace);
        assert_eq!(save.files, [("a.rs".to_owned(), false), ("c.md".to_owned(), true)]);
        assert_eq!(save.removed, ["b.rs"]);
        assert_eq!(save.skipped, [(4, "/model gpt-4o".to_owned())]);
        assert!(parse_save("/add\n").is_err());
    }
}
