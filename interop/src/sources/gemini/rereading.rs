//! Reading a recording back from its lines: a [`GeminiParser::rereading`]
//! parser drops the messages of records past its budget, and once the file
//! is read, [`RereadingParser::finish_in_parts`] makes them again from
//! their lines and hands the main session and each branch out in parts.

use std::collections::HashSet;

use serde_json::Value;

use super::{Entry, GeminiParser, kind_of, str_of};
use crate::sources::{RereadingParser, Skipped, SourceSession, message_bytes};

impl GeminiParser {
    /// A dropped entry's messages, made again from its line.
    fn reread_entry(&self, mut entry: Entry, line: Option<String>) -> Result<Entry, String> {
        let line = line.ok_or("cannot be read again")?;
        let line = line.strip_prefix('\u{feff}').unwrap_or(&line);
        let changed = |what: String| format!("changed since it was read: {what}");
        let record = match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(record)) => record,
            Ok(other) => return Err(changed(format!("now {}", kind_of(&other)))),
            Err(err) => return Err(changed(format!("not JSON now: {err}"))),
        };
        if str_of(&record, "id") != Some(entry.id.as_str()) {
            return Err(changed(format!("it no longer holds record {:?}", entry.id)));
        }
        // Its problems were reported when it was first read.
        let (messages, echoes, _) = self.convert(&entry.id, &record);
        entry.messages = messages;
        entry.echoes = echoes;
        Ok(entry)
    }
}

/// Hands sessions out in parts for [`RereadingParser::finish_in_parts`].
struct Emit<'a> {
    parser: &'a GeminiParser,
    recorded: &'a HashSet<String>,
    session_id: &'a str,
    reread: &'a mut dyn FnMut(u64) -> Option<String>,
    part_bytes: usize,
    part: &'a mut dyn FnMut(SourceSession) -> bool,
    lost: Vec<Skipped>,
}

impl Emit<'_> {
    /// Hands `head` out with the messages of `entries`, in parts; `always`
    /// hands it out even without messages (the main session). Returns
    /// false when `part` said to stop.
    fn session(&mut self, head: SourceSession, entries: Vec<Entry>, always: bool) -> bool {
        let mut messages = Vec::new();
        let mut bytes = 0;
        let mut handed = false;
        for entry in entries {
            let entry = if entry.dropped() {
                let line = entry.line;
                match self.parser.reread_entry(entry, (self.reread)(line)) {
                    Ok(entry) => entry,
                    Err(reason) => {
                        self.lost.push(Skipped {
                            file: self.parser.file.clone(),
                            line,
                            reason,
                        });
                        continue;
                    }
                }
            } else {
                entry
            };
            let made = self.parser.flatten(vec![entry], self.recorded, self.session_id);
            bytes += made.iter().map(message_bytes).sum::<usize>();
            messages.extend(made);
            if bytes >= self.part_bytes {
                let mut s = head.clone();
                s.messages = std::mem::take(&mut messages);
                bytes = 0;
                handed = true;
                if !(self.part)(s) {
                    return false;
                }
            }
        }
        if messages.is_empty() && (handed || !always) {
            return true;
        }
        let mut s = head;
        s.messages = messages;
        (self.part)(s)
    }
}

impl RereadingParser for GeminiParser {
    /// Ends the input: hands the main session, then each branch, to `part`
    /// (in parts of at least `part_bytes` of messages; `part` returns false
    /// to stop), making the messages a [`GeminiParser::rereading`] parser
    /// dropped from their lines, which `reread` gives back as they were
    /// fed. Returns what was skipped, with the records whose line could not
    /// be read again, or now holds something else.
    fn finish_in_parts(
        mut self: Box<Self>,
        reread: &mut dyn FnMut(u64) -> Option<String>,
        part_bytes: usize,
        part: &mut dyn FnMut(SourceSession) -> bool,
    ) -> Vec<Skipped> {
        let Some(session_id) = self.session_id.clone() else {
            return self.without_session().skipped;
        };
        let recorded = self.recorded();
        let ids = self.branch_ids(&session_id);
        let main = self.head(&session_id);
        let entries = std::mem::take(&mut self.entries);
        let branches = std::mem::take(&mut self.branches);
        let mut emit = Emit {
            parser: &self,
            recorded: &recorded,
            session_id: &session_id,
            reread,
            part_bytes,
            part,
            lost: Vec::new(),
        };
        let mut go_on = emit.session(main, entries, true);
        for (branch, source_id) in branches.into_iter().zip(ids) {
            if !go_on {
                break;
            }
            let head = self.branch_head(&session_id, &branch, source_id);
            go_on = emit.session(head, branch.entries, false);
        }
        let lost = emit.lost;
        self.skipped.extend(lost);
        self.skipped
    }
}
