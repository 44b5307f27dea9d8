//! Writing a file so that a crash leaves either the old content or the
//! new, never a torn mix: a temporary file in the same directory, synced,
//! renamed over the target, then the directory synced so the rename
//! itself survives a power cut. New files are private (0600) unless the
//! caller widens them.

use std::{
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use tempfile::NamedTempFile;

/// A file that appears under its name only once it is whole.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    temp: NamedTempFile,
}

impl AtomicFile {
    /// Starts writing `target`; nothing is visible there until [`commit`].
    ///
    /// [`commit`]: AtomicFile::commit
    pub fn create(target: &Path) -> io::Result<AtomicFile> {
        // tempfile creates the file 0600.
        let temp = NamedTempFile::new_in(parent_dir(target))?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            temp,
        })
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The file being written, for permissions and the like.
    pub fn file(&self) -> &fs::File {
        self.temp.as_file()
    }

    /// Makes the content durable and gives it its name; returns the name.
    /// Dropping an uncommitted file removes it.
    pub fn commit(self) -> io::Result<PathBuf> {
        self.temp.as_file().sync_all()?;
        self.temp.persist(&self.target).map_err(|err| err.error)?;
        fs::File::open(parent_dir(&self.target))?.sync_all()?;
        Ok(self.target)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Replaces `path` with `bytes` atomically and durably.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// Like [`write_atomic`], with the content written by `fill`.
pub fn write_atomic_with(path: &Path, fill: impl FnOnce(&mut AtomicFile) -> io::Result<()>) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    fill(&mut file)?;
    file.commit().map(drop)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_file_is_replaced_whole_and_private() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("state.json");
        write_atomic(&path, b"first").expect("write");
        write_atomic(&path, b"second").expect("rewrite");
        assert_eq!(fs::read(&path).expect("read"), b"second");
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let leftovers = fs::read_dir(dir.path()).expect("list").count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn a_failed_fill_leaves_the_old_content_and_no_temporary() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("state.json");
        write_atomic(&path, b"old").expect("write");
        let err = write_atomic_with(&path, |file| {
            file.write_all(b"half")?;
            Err(io::Error::other("disk on fire"))
        });
        assert!(err.is_err());
        assert_eq!(fs::read(&path).expect("read"), b"old");
        assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 1);
    }

    #[test]
    fn nothing_is_visible_before_commit() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("export.md");
        let mut file = AtomicFile::create(&path).expect("create");
        file.write_all(b"# title").expect("write");
        assert!(!path.exists());
        assert_eq!(file.commit().expect("commit"), path);
        assert_eq!(fs::read(&path).expect("read"), b"# title");
    }
}
