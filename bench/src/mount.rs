//! Which filesystem the bench writes to, read from `/proc/self/mountinfo`:
//! every fsync figure depends on it, so the results record it, and a
//! memory-backed filesystem (where fsync returns at once) is refused.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Mount {
    pub mount_point: PathBuf,
    pub fs_type: String,
    pub source: String,
    pub mount_options: String,
    pub super_options: String,
}

impl std::fmt::Display for Mount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, mounted at {}, {}; {})",
            self.fs_type,
            self.source,
            self.mount_point.display(),
            self.mount_options,
            self.super_options
        )
    }
}

/// The mount that holds `dir` (the deepest mount point above it).
pub fn of(dir: &Path) -> anyhow::Result<Mount> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("cannot resolve the bench directory {}", dir.display()))?;
    let table = std::fs::read_to_string("/proc/self/mountinfo").context("cannot read /proc/self/mountinfo")?;
    let mut best: Option<Mount> = None;
    for line in table.lines() {
        let Some(mount) = parse(line) else { continue };
        let deeper = best
            .as_ref()
            .is_none_or(|b| mount.mount_point.components().count() >= b.mount_point.components().count());
        // Of two mounts at the same point the later one is on top.
        if dir.starts_with(&mount.mount_point) && deeper {
            best = Some(mount);
        }
    }
    best.with_context(|| format!("no mount in /proc/self/mountinfo holds {}", dir.display()))
}

/// `36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
fn parse(line: &str) -> Option<Mount> {
    let (head, tail) = line.split_once(" - ")?;
    let head: Vec<&str> = head.split(' ').collect();
    let mut tail = tail.split(' ');
    Some(Mount {
        mount_point: PathBuf::from(unescape(head.get(4)?)),
        mount_options: (*head.get(5)?).to_owned(),
        fs_type: tail.next()?.to_owned(),
        source: unescape(tail.next()?),
        super_options: tail.next().unwrap_or_default().to_owned(),
    })
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut rest = field;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 4).and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[at + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Refuses a filesystem whose fsync does not reach a disk.
pub fn refuse_memory_backed(dir: &Path, mount: &Mount) -> anyhow::Result<()> {
    if matches!(mount.fs_type.as_str(), "tmpfs" | "ramfs") {
        bail!(
            "the bench directory {} is on {} (mounted at {}): fsync does not reach a disk there, so every durable figure would be meaningless — give a directory on a disk with --dir PATH (or TMPDIR)",
            dir.display(),
            mount.fs_type,
            mount.mount_point.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_mountinfo_line_with_optional_fields_and_escapes() {
        let mount =
            parse("36 35 98:0 / /mnt/my\\040disk rw,noatime shared:1 master:2 - ext4 /dev/vda rw,errors=remount-ro")
                .expect("a valid line");
        assert_eq!(mount.mount_point, PathBuf::from("/mnt/my disk"));
        assert_eq!(mount.fs_type, "ext4");
        assert_eq!(mount.source, "/dev/vda");
        assert_eq!(mount.mount_options, "rw,noatime");
        assert_eq!(mount.super_options, "rw,errors=remount-ro");
    }

    #[test]
    fn refuses_tmpfs_and_accepts_a_disk() {
        let mut mount = parse("40 1 0:33 / /dev/shm rw,nosuid - tmpfs tmpfs rw,size=65536k").expect("a valid line");
        let refused = refuse_memory_backed(Path::new("/dev/shm/x"), &mount).expect_err("tmpfs is refused");
        assert!(refused.to_string().contains("on tmpfs"), "{refused}");
        mount.fs_type = "ext4".into();
        refuse_memory_backed(Path::new("/dev/shm/x"), &mount).expect("a disk is accepted");
    }
}
