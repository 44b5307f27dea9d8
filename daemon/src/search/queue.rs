//! How far the indexer may run ahead of tantivy's indexing threads.
//! `IndexWriter::add_document` only queues a document: tantivy's queue
//! takes 10,000 before it blocks, and a message's document holds its text
//! twice (stemmed and exact), so a catch-up after a large import held
//! ~40 MB of queued documents. Each document here carries a ticket that
//! tantivy drops once it has indexed it; the indexer waits while too many
//! are out.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use tantivy::{TantivyDocument, schema::document::Document};

/// Documents queued and not yet indexed, at most: enough to keep two
/// indexing threads busy between two looks of the indexer (~1 MB; at
/// 1,000 a 1 GB import's catch-up peaked about 9 MiB higher, with
/// `READ_CHUNK` at 1,000 too, and indexed no faster: docs/BENCHMARKS.md).
pub const MAX_QUEUED_DOCS: usize = 250;

/// Counts the documents handed to tantivy and not yet indexed.
#[derive(Clone, Default)]
pub struct Queue {
    queued: Arc<AtomicUsize>,
}

impl Queue {
    /// `doc`, counted until tantivy drops it.
    pub fn ticket(&self, doc: TantivyDocument) -> QueuedDoc {
        self.queued.fetch_add(1, Ordering::AcqRel);
        QueuedDoc {
            doc,
            _ticket: Ticket(self.queued.clone()),
        }
    }

    /// Whether another document may be queued now.
    pub fn has_room(&self) -> bool {
        self.queued.load(Ordering::Acquire) < MAX_QUEUED_DOCS
    }

    #[cfg(test)]
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }
}

struct Ticket(Arc<AtomicUsize>);

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A message's document as the index writer takes it.
pub struct QueuedDoc {
    doc: TantivyDocument,
    _ticket: Ticket,
}

impl Document for QueuedDoc {
    type Value<'a> = <TantivyDocument as Document>::Value<'a>;
    type FieldsValuesIter<'a> = <TantivyDocument as Document>::FieldsValuesIter<'a>;

    fn iter_fields_and_values(&self) -> Self::FieldsValuesIter<'_> {
        self.doc.iter_fields_and_values()
    }
}

#[cfg(test)]
mod tests {
    use tantivy::{
        Index, IndexWriter,
        collector::Count,
        query::AllQuery,
        schema::{STORED, Schema, TEXT},
    };

    use super::*;

    #[test]
    fn a_ticket_is_returned_once_its_document_is_indexed_and_the_document_is_whole() {
        let mut schema = Schema::builder();
        let body = schema.add_text_field("body", TEXT | STORED);
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter<QueuedDoc> = index.writer_with_num_threads(1, 15_000_000).expect("writer");
        let queue = Queue::default();
        for n in 0..50 {
            let mut doc = TantivyDocument::default();
            doc.add_text(body, format!("message number {n}"));
            writer.add_document(queue.ticket(doc)).expect("add");
        }
        writer.commit().expect("commit");
        assert_eq!(queue.queued(), 0, "every document indexed has given its ticket back");
        assert!(queue.has_room());
        let searcher = index.reader().expect("reader").searcher();
        assert_eq!(searcher.search(&AllQuery, &Count).expect("count"), 50);
        let parser = tantivy::query::QueryParser::for_index(&index, vec![body]);
        let hits = searcher
            .search(&parser.parse_query("\"number 42\"").expect("query"), &Count)
            .expect("search");
        assert_eq!(hits, 1, "the text went through whole");
    }

    #[test]
    fn the_queue_is_full_at_its_bound() {
        let queue = Queue::default();
        let held: Vec<QueuedDoc> = (0..MAX_QUEUED_DOCS)
            .map(|_| queue.ticket(TantivyDocument::default()))
            .collect();
        assert!(!queue.has_room());
        drop(held);
        assert!(queue.has_room());
        assert_eq!(queue.queued(), 0);
    }
}
