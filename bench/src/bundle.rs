//! Backup and restore of a large bundle through real daemons: a project of
//! 4 KiB messages is backed up over the socket (`ExportBundle`) to a file
//! (about 200 MB in the full run), then restored (`ImportBundle`) into a
//! fresh daemon with an empty data directory; each daemon's peak resident
//! memory (VmHWM) is read from /proc when its call has returned.

use std::{
    fs,
    io::{Read, Write},
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use chronicle_client::{
    Client,
    v1::{ExportBundleRequest, ImportBundleChunk},
};

use crate::{Daemon, chronicle_prepare};

pub const MESSAGE_BYTES: usize = 4096;

pub struct Outcome {
    pub messages: u64,
    pub bundle_bytes: u64,
    pub backup: Duration,
    pub backup_peak_mib: f64,
    pub restore: Duration,
    pub restore_idle_mib: f64,
    pub restore_peak_mib: f64,
}

pub async fn backup_and_restore(dir: &Path, project: &str, messages: u64) -> anyhow::Result<Outcome> {
    let source_dir = dir.join("source");
    chronicle_prepare(&source_dir, project, messages, 0, MESSAGE_BYTES).await?;
    let bundle_path = dir.join("bundle.jsonl");

    let (backup, backup_peak_mib) = {
        let daemon = Daemon::start(&source_dir)?;
        let client = daemon.client().await?;
        let started = Instant::now();
        let mut stream = client
            .export_bundle(ExportBundleRequest {
                project: project.to_owned(),
            })
            .await?;
        let mut out = std::io::BufWriter::new(fs::File::create(&bundle_path)?);
        while let Some(chunk) = Client::next_chunk(&mut stream).await? {
            out.write_all(&chunk.data)?;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        (started.elapsed(), daemon.rss_mib().1)
    };
    let bundle_bytes = fs::metadata(&bundle_path)?.len();

    let target_dir = dir.join("target");
    fs::create_dir_all(&target_dir)?;
    let daemon = Daemon::start(&target_dir)?;
    let client = daemon.client().await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let restore_idle_mib = daemon.rss_mib().0;
    let chunks = FileChunks(fs::File::open(&bundle_path).context("reopening the bundle")?);
    let started = Instant::now();
    let report = client.import_bundle(tokio_stream::iter(chunks)).await?;
    let restore = started.elapsed();
    let restore_peak_mib = daemon.rss_mib().1;
    if report.message_count != messages {
        bail!(
            "the restore reported {} messages, the bundle holds {messages}",
            report.message_count
        );
    }
    fs::remove_file(&bundle_path)?;
    Ok(Outcome {
        messages,
        bundle_bytes,
        backup,
        backup_peak_mib,
        restore,
        restore_idle_mib,
        restore_peak_mib,
    })
}

/// The bundle file in 1 MiB chunks, read as the daemon takes them, so the
/// bench never holds the whole bundle either.
struct FileChunks(fs::File);

impl Iterator for FileChunks {
    type Item = ImportBundleChunk;

    fn next(&mut self) -> Option<ImportBundleChunk> {
        let mut data = Vec::with_capacity(1 << 20);
        match (&mut self.0).take(1 << 20).read_to_end(&mut data) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(ImportBundleChunk {
                data,
                ..ImportBundleChunk::default()
            }),
        }
    }
}
