//! The window's copy of one project's working session: what the daemon
//! said, nothing more. It is filled page by page (a 10,000-message chat
//! never arrives in one piece) and kept current by `Watch` events; any event
//! it cannot apply exactly (a gap in revisions, a deletion, a load) makes it
//! ask for a re-read instead of guessing.

use chronicle_client::v1::{ContextFile, Event, EventKind, Message, SessionContent};

/// What the caller should do after an event was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing more.
    None,
    /// Re-read the working session from its first page.
    Reload,
    /// The saved sessions or the trash changed: list them again.
    RefreshLists,
}

/// The working session as far as it has been read.
#[derive(Debug, Default)]
pub struct Chat {
    /// Loaded messages, oldest first, ids increasing.
    pub messages: Vec<Message>,
    pub files: Vec<ContextFile>,
    /// Messages in the session, loaded or not.
    pub total: u64,
    /// The revision everything above reflects.
    pub revision: u64,
    /// True while messages after the last loaded one exist unread.
    pub more: bool,
    /// Bumped by every re-read, so pages of an older read are dropped.
    pub generation: u64,
    /// A page request is on its way.
    pub loading: bool,
    /// The first page of the current read has arrived.
    pub loaded_once: bool,
}

impl Chat {
    /// Forgets everything and starts a new read at `revision`.
    pub fn reset(&mut self, revision: u64) {
        let generation = self.generation + 1;
        *self = Chat {
            revision,
            generation,
            more: true,
            ..Chat::default()
        };
    }

    /// Rows the chat view shows: every message, loaded or still to come.
    pub fn rows(&self) -> usize {
        let total = usize::try_from(self.total).unwrap_or(usize::MAX);
        if self.more {
            total.max(self.messages.len())
        } else {
            self.messages.len()
        }
    }

    /// The id after which the next page starts.
    pub fn last_id(&self) -> u64 {
        self.messages.last().map_or(0, |m| m.id)
    }

    /// Takes one page of a read. Returns false when it belongs to an older
    /// read or does not continue the loaded messages (then it is dropped).
    pub fn apply_page(&mut self, generation: u64, after: u64, content: SessionContent) -> bool {
        if generation != self.generation || after != self.last_id() {
            return false;
        }
        self.loading = false;
        self.loaded_once = true;
        let last = self.last_id();
        self.messages
            .extend(content.messages.into_iter().filter(|m| m.id > last));
        // Events can overtake a page on its way: when the page is older than
        // what the events already said, its "no more" and its count are out
        // of date, so read on from here until a page is current.
        let stale = content.revision < self.revision;
        if !stale {
            self.files = content.files;
        }
        let total = if stale {
            // At most one message per newer event: an estimate until the
            // next, current page says exactly.
            let newer = self.revision - content.revision;
            self.total.max(content.total_messages + newer)
        } else {
            content.total_messages
        };
        self.total = total.max(self.messages.len() as u64);
        self.more = content.more || stale;
        self.revision = self.revision.max(content.revision);
        true
    }

    /// Applies one `Watch` event and says what else must happen.
    pub fn apply_event(&mut self, event: Event) -> Effect {
        let kind = EventKind::try_from(event.kind).unwrap_or(EventKind::Unspecified);
        match kind {
            EventKind::Snapshot | EventKind::Unspecified => return Effect::None,
            EventKind::Resync => return Effect::Reload,
            _ => {}
        }
        if event.revision <= self.revision {
            // Already part of what was read; an edit is still applied, as
            // it may concern a message read on an earlier page.
            if kind == EventKind::MessageUpdated
                && let Some(message) = event.message
            {
                self.replace(message);
            }
            return Effect::None;
        }
        // A gap means events were missed: re-read. While the first page of
        // a read is still on its way, that page will cover the gap.
        if event.revision > self.revision + 1 && self.loaded_once {
            return Effect::Reload;
        }
        self.revision = event.revision;
        match kind {
            EventKind::MessageAppended => {
                if let Some(message) = event.message {
                    if !self.more && message.id > self.last_id() {
                        self.messages.push(message);
                    }
                    self.total += 1;
                }
                Effect::None
            }
            EventKind::MessageUpdated => {
                if let Some(message) = event.message {
                    self.replace(message);
                }
                Effect::None
            }
            EventKind::MessagesCleared => {
                self.messages.clear();
                self.total = 0;
                self.more = false;
                self.files = event.files;
                Effect::RefreshLists
            }
            EventKind::FilesChanged | EventKind::FileMissing | EventKind::FileRestored => {
                self.files = event.files;
                Effect::None
            }
            EventKind::MessagesDeleted | EventKind::SessionLoaded => Effect::Reload,
            EventKind::SessionSaved
            | EventKind::SessionDeleted
            | EventKind::SessionRenamed
            | EventKind::TrashChanged => Effect::RefreshLists,
            EventKind::Snapshot | EventKind::Unspecified | EventKind::Resync => Effect::None,
        }
    }

    fn replace(&mut self, message: Message) {
        if let Ok(index) = self.messages.binary_search_by_key(&message.id, |m| m.id) {
            self.messages[index] = message;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: u64, text: &str) -> Message {
        Message {
            id,
            content: text.into(),
            ..Message::default()
        }
    }

    fn event(revision: u64, kind: EventKind, message: Option<Message>) -> Event {
        Event {
            revision,
            kind: kind as i32,
            message,
            ..Event::default()
        }
    }

    fn loaded(ids: &[u64], revision: u64) -> Chat {
        let mut chat = Chat::default();
        chat.reset(revision);
        let content = SessionContent {
            revision,
            messages: ids.iter().map(|&id| message(id, "x")).collect(),
            total_messages: ids.len() as u64,
            ..SessionContent::default()
        };
        let generation = chat.generation;
        assert!(chat.apply_page(generation, 0, content));
        chat
    }

    #[test]
    fn appends_extend_a_fully_read_chat() {
        let mut chat = loaded(&[1, 2], 5);
        assert_eq!(
            chat.apply_event(event(6, EventKind::MessageAppended, Some(message(3, "new")))),
            Effect::None
        );
        assert_eq!(chat.messages.len(), 3);
        assert_eq!(chat.rows(), 3);
    }

    #[test]
    fn events_already_read_are_skipped() {
        let mut chat = loaded(&[1, 2, 3], 6);
        chat.apply_event(event(6, EventKind::MessageAppended, Some(message(3, "dup"))));
        assert_eq!(chat.messages.len(), 3);
        assert_eq!(chat.total, 3);
    }

    #[test]
    fn a_gap_in_revisions_asks_for_a_reload() {
        let mut chat = loaded(&[1], 2);
        assert_eq!(
            chat.apply_event(event(4, EventKind::MessageAppended, Some(message(2, "x")))),
            Effect::Reload
        );
    }

    #[test]
    fn a_partly_read_chat_only_counts_appends() {
        let mut chat = Chat::default();
        chat.reset(1);
        let generation = chat.generation;
        chat.apply_page(
            generation,
            0,
            SessionContent {
                revision: 1,
                messages: vec![message(1, "a")],
                total_messages: 3,
                more: true,
                ..SessionContent::default()
            },
        );
        assert_eq!(chat.rows(), 3);
        chat.apply_event(event(2, EventKind::MessageAppended, Some(message(4, "d"))));
        assert_eq!(chat.messages.len(), 1);
        assert_eq!(chat.rows(), 4);
    }

    #[test]
    fn a_page_older_than_the_events_reads_on() {
        let mut chat = Chat::default();
        chat.reset(1);
        chat.apply_event(event(2, EventKind::MessageAppended, Some(message(2, "b"))));
        let generation = chat.generation;
        chat.apply_page(
            generation,
            0,
            SessionContent {
                revision: 1,
                messages: vec![message(1, "a")],
                total_messages: 1,
                more: false,
                ..SessionContent::default()
            },
        );
        assert!(chat.more, "the page missed message 2, so reading goes on");
        assert_eq!(chat.rows(), 2);
    }

    #[test]
    fn pages_of_an_older_read_are_dropped() {
        let mut chat = loaded(&[1], 1);
        let old = chat.generation;
        chat.reset(2);
        assert!(!chat.apply_page(old, 0, SessionContent::default()));
    }
}
