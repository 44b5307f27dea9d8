//! [`AtomicFile`] with the CLI's wording: a file that appears under its
//! name only once it is whole, so an export or backup that fails half-way
//! leaves nothing behind, never a truncated file under a good name.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use chronicle_client::fs::AtomicFile;

use crate::error::Failure;

pub struct PendingFile(AtomicFile);

impl PendingFile {
    pub fn create(target: PathBuf) -> anyhow::Result<PendingFile> {
        AtomicFile::create(&target)
            .map(PendingFile)
            .map_err(|err| Failure::refused(format!("cannot create {}: {err}", target.display())).into())
    }

    fn target(&self) -> &Path {
        self.0.target()
    }

    pub fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        let target = self.target().display().to_string();
        self.0
            .write_all(bytes)
            .with_context(|| format!("cannot write {target}"))
    }

    /// Makes the file durable and gives it its name; returns that name.
    pub fn finish(self) -> anyhow::Result<PathBuf> {
        let target = self.target().display().to_string();
        self.0.commit().with_context(|| format!("cannot write {target}"))
    }
}
