//! The 1 MiB chunk writer behind every streamed download (`ExportMarkdown`,
//! `ExportImage`, `ExportBundle`): an `io::Write` on a blocking thread
//! that cuts what a renderer or the bundle writer produces into chunks of
//! at most [`EXPORT_CHUNK_BYTES`], as the contract promises, and sends
//! each as it fills, so memory holds one chunk per stream. A single
//! document is page 1 of 1; image pages each get their own numbered file
//! name.

use std::io;

use chronicle_export::png::PageSink;
use chronicle_proto::v1::ExportChunk;
use tokio::sync::mpsc;
use tonic::Status;

/// Largest export chunk, as the contract promises.
pub const EXPORT_CHUNK_BYTES: usize = 1024 * 1024;
/// Chunks buffered between the writer and a slow client.
pub(crate) const CHUNK_QUEUE: usize = 4;

/// The sending half of a download stream.
pub(crate) type ChunkSender = mpsc::Sender<Result<ExportChunk, Status>>;

/// An `io::Write` that sends ≤ 1 MiB chunks to the client as they fill.
pub(crate) struct ChunkSink {
    tx: ChunkSender,
    buffer: Vec<u8>,
    file_name: Option<String>,
    /// For image pages: the stem of every page's file name.
    page_stem: Option<String>,
    page: u32,
    page_count: u32,
    /// Characters no font could draw, told with the first chunk.
    missing_characters: String,
    /// The client stopped reading: a write error then says nothing new.
    pub(crate) client_gone: bool,
}

impl ChunkSink {
    /// A sink for one document, its first chunk suggesting `file_name`.
    pub(crate) fn new(tx: ChunkSender, file_name: String) -> Self {
        ChunkSink {
            tx,
            buffer: Vec::with_capacity(EXPORT_CHUNK_BYTES),
            file_name: Some(file_name),
            page_stem: None,
            page: 1,
            page_count: 1,
            missing_characters: String::new(),
            client_gone: false,
        }
    }

    /// A sink for image pages named `STEM-001.png`, `STEM-002.png`, …
    pub(crate) fn for_pages(tx: ChunkSender, stem: String) -> Self {
        ChunkSink {
            file_name: None,
            page_stem: Some(stem),
            ..ChunkSink::new(tx, String::new())
        }
    }

    fn send(&mut self, data: Vec<u8>, last: bool) -> io::Result<()> {
        let chunk = ExportChunk {
            data,
            page: self.page,
            page_count: self.page_count,
            last_in_page: last,
            suggested_file_name: self.file_name.take().unwrap_or_default(),
            missing_characters: std::mem::take(&mut self.missing_characters),
        };
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            self.client_gone = true;
            io::Error::new(io::ErrorKind::BrokenPipe, "the client stopped reading the download")
        })
    }

    /// Sends what is buffered as the last chunk of the current page.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        let rest = std::mem::take(&mut self.buffer);
        self.send(rest, true)
    }
}

impl io::Write for ChunkSink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let room = EXPORT_CHUNK_BYTES - self.buffer.len();
        let taken = bytes.len().min(room);
        self.buffer.extend_from_slice(&bytes[..taken]);
        if self.buffer.len() == EXPORT_CHUNK_BYTES {
            let full = std::mem::replace(&mut self.buffer, Vec::with_capacity(EXPORT_CHUNK_BYTES));
            self.send(full, false)?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl PageSink for ChunkSink {
    fn missing_characters(&mut self, characters: &str) -> io::Result<()> {
        characters.clone_into(&mut self.missing_characters);
        Ok(())
    }

    fn begin_page(&mut self, page: u32, page_count: u32) -> io::Result<()> {
        self.page = page;
        self.page_count = page_count;
        let stem = self.page_stem.as_deref().unwrap_or("export");
        self.file_name = Some(format!("{stem}-{page:03}.png"));
        Ok(())
    }

    fn end_page(&mut self) -> io::Result<()> {
        self.finish()
    }
}
