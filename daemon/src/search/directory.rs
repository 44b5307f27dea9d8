//! Where the index's files are read from. tantivy's `MmapDirectory` maps
//! every segment file into the daemon's memory, and each page a read
//! touches then counts in the daemon's resident size until the segment
//! is dropped. A merge reads every term's postings and positions in the
//! segments it merges, so while the index takes a large import, a dozen
//! whole positions files stood resident (about 55 MiB of a 1 GB import's
//! peak, measured from `/proc/PID/smaps`). [`IndexDirectory`] serves those
//! two kinds of file — postings (`.idx`) and positions (`.pos`), read one
//! term's range at a time — with positioned reads through the kernel's
//! page cache instead, which the daemon does not hold; every other file
//! (term dictionaries, fast fields, norms, the document store) stays
//! mapped, as tantivy reads those in place. The price is two open files
//! per open segment (a mapping needs none): the daemon's descriptors grow
//! with the index's segment count, which merges keep to a few dozen.

use std::{
    fs::File,
    io,
    ops::Range,
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
    sync::Arc,
};

use tantivy::{
    HasLen,
    directory::{
        Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, OwnedBytes, WatchCallback, WatchHandle, WritePtr,
        error::{DeleteError, LockError, OpenDirectoryError, OpenReadError, OpenWriteError},
    },
};

/// The file kinds read by range, one term at a time (tantivy's segment
/// component extensions).
const READ_BY_RANGE: [&str; 2] = ["idx", "pos"];

/// tantivy's `MmapDirectory`, except that postings and positions are read
/// with `pread` ([`RangeReadFile`]).
#[derive(Clone, Debug)]
pub struct IndexDirectory {
    root: PathBuf,
    mapped: MmapDirectory,
}

impl IndexDirectory {
    pub fn open(root: &Path) -> Result<IndexDirectory, OpenDirectoryError> {
        Ok(IndexDirectory {
            root: root.to_path_buf(),
            mapped: MmapDirectory::open(root)?,
        })
    }

    fn read_by_range(path: &Path) -> bool {
        path.extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| READ_BY_RANGE.contains(&ext))
    }
}

impl Directory for IndexDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        if !Self::read_by_range(path) {
            return self.mapped.get_file_handle(path);
        }
        let full = self.root.join(path);
        let file = File::open(&full).map_err(|err| match err.kind() {
            io::ErrorKind::NotFound => OpenReadError::FileDoesNotExist(path.to_path_buf()),
            _ => OpenReadError::wrap_io_error(err, path.to_path_buf()),
        })?;
        let len = file
            .metadata()
            .map_err(|err| OpenReadError::wrap_io_error(err, path.to_path_buf()))?
            .len();
        let len = usize::try_from(len).map_err(|_| {
            OpenReadError::wrap_io_error(io::Error::other("the file is too large to address"), path.to_path_buf())
        })?;
        Ok(Arc::new(RangeReadFile { file, len, path: full }))
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.mapped.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.mapped.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        self.mapped.open_write(path)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.mapped.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.mapped.atomic_write(path, data)
    }

    fn sync_directory(&self) -> io::Result<()> {
        self.mapped.sync_directory()
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.mapped.acquire_lock(lock)
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.mapped.watch(watch_callback)
    }
}

/// A segment file read with positioned reads: each range read is copied
/// out of the page cache into a buffer of its own, freed with the bytes.
/// Segment files are written once and never change, so the length taken
/// at open holds, and an open file outlives its deletion as a mapping does.
#[derive(Debug)]
struct RangeReadFile {
    file: File,
    len: usize,
    path: PathBuf,
}

impl HasLen for RangeReadFile {
    fn len(&self) -> usize {
        self.len
    }
}

impl FileHandle for RangeReadFile {
    fn read_bytes(&self, range: Range<usize>) -> io::Result<OwnedBytes> {
        if range.end > self.len || range.start > range.end {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "bytes {}..{} are outside {} ({} bytes)",
                    range.start,
                    range.end,
                    self.path.display(),
                    self.len
                ),
            ));
        }
        if range.is_empty() {
            return Ok(OwnedBytes::empty());
        }
        let mut buffer = vec![0; range.len()];
        self.file.read_exact_at(&mut buffer, range.start as u64)?;
        Ok(OwnedBytes::new(buffer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postings_and_positions_are_read_by_range_and_other_files_are_mapped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let directory = IndexDirectory::open(dir.path()).expect("open");
        let bytes: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        for name in ["a.pos", "a.idx", "a.term"] {
            std::fs::write(dir.path().join(name), &bytes).expect("write");
        }
        for name in ["a.pos", "a.idx", "a.term"] {
            let slice = directory.open_read(Path::new(name)).expect("open_read");
            assert_eq!(slice.len(), bytes.len(), "{name}");
            let middle = slice.slice(300..4_400).read_bytes().expect("read");
            assert_eq!(middle.as_slice(), &bytes[300..4_400], "{name}");
            assert!(slice.slice(10_000..10_000).read_bytes().expect("empty").is_empty());
        }
        let handle = directory.get_file_handle(Path::new("a.pos")).expect("handle");
        assert!(format!("{handle:?}").contains("RangeReadFile"), "{handle:?}");
        let err = handle.read_bytes(9_000..10_001).expect_err("past the end");
        assert!(err.to_string().contains("a.pos"), "{err}");
        let mapped = directory.get_file_handle(Path::new("a.term")).expect("handle");
        assert!(!format!("{mapped:?}").contains("RangeReadFile"), "{mapped:?}");
    }

    #[test]
    fn a_missing_segment_file_is_reported_as_missing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let directory = IndexDirectory::open(dir.path()).expect("open");
        let err = directory.get_file_handle(Path::new("gone.pos")).err();
        assert!(matches!(err, Some(OpenReadError::FileDoesNotExist(_))), "{err:?}");
    }
}
