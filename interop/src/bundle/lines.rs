//! Cutting a byte stream into numbered lines, each of bounded length.

use super::*;

/// Cuts a stream of bytes into numbered lines (`\n`, or `\r\n`), each at
/// most `max_line` bytes and valid UTF-8; blank lines are skipped but
/// counted. Holds at most one line.
#[derive(Debug)]
pub struct LineSplitter {
    partial: Vec<u8>,
    line: u64,
    max_line: usize,
}

impl LineSplitter {
    pub fn new(max_line: usize) -> Self {
        LineSplitter {
            partial: Vec::new(),
            line: 0,
            max_line,
        }
    }

    /// Lines seen so far.
    pub fn lines(&self) -> u64 {
        self.line
    }

    /// Feeds the next bytes; `each(number, line)` gets every line they
    /// complete.
    pub fn push(
        &mut self,
        mut data: &[u8],
        each: &mut impl FnMut(u64, &str) -> Result<(), BundleError>,
    ) -> Result<(), BundleError> {
        while let Some(at) = data.iter().position(|&b| b == b'\n') {
            let (head, rest) = data.split_at(at);
            data = &rest[1..];
            if self.partial.is_empty() {
                self.emit(head, each)?;
            } else {
                self.partial.extend_from_slice(head);
                let line = std::mem::take(&mut self.partial);
                self.emit(&line, each)?;
            }
        }
        self.partial.extend_from_slice(data);
        if self.partial.len() > self.max_line {
            return Err(self.too_long(self.line + 1));
        }
        Ok(())
    }

    /// The input ended: a last line without a newline still counts.
    /// Returns the number of lines.
    pub fn finish(mut self, each: &mut impl FnMut(u64, &str) -> Result<(), BundleError>) -> Result<u64, BundleError> {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.emit(&line, each)?;
        }
        Ok(self.line)
    }

    fn too_long(&self, line: u64) -> BundleError {
        BundleError {
            line,
            field: String::new(),
            message: format!(
                "is longer than {} bytes, more than any record may be — this is not a Chronicle bundle, or it is damaged",
                self.max_line
            ),
        }
    }

    fn emit(
        &mut self,
        bytes: &[u8],
        each: &mut impl FnMut(u64, &str) -> Result<(), BundleError>,
    ) -> Result<(), BundleError> {
        self.line += 1;
        if bytes.len() > self.max_line {
            return Err(self.too_long(self.line));
        }
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        // A byte-order mark some editors add is not part of the header.
        let bytes = if self.line == 1 {
            bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes)
        } else {
            bytes
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let text = std::str::from_utf8(bytes).map_err(|err| BundleError {
            line: self.line,
            field: String::new(),
            message: format!(
                "is not valid UTF-8 (at byte {}) — the bundle is damaged",
                err.valid_up_to()
            ),
        })?;
        each(self.line, text)
    }
}
