//! `chronicle backup` and `chronicle restore`: the daemon's lossless
//! bundles (docs/BUNDLE.md), streamed to a file and back in bounded
//! memory. A restore never overwrites: taken names get a suffix, and the
//! output says so.

use std::{
    fs,
    io::{self, Read, Write},
    path::{Path, PathBuf},
};

use chronicle_client::{
    Client, ErrorKind,
    v1::{BundleSessionKind, ExportBundleRequest, ImportBundleChunk, ImportBundleResponse},
};
use chronicle_interop::bundle::{self, Record, Totals};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::cli::{BackupArgs, RestoreArgs};
use crate::ctx::{Ctx, Out};
use crate::error::Failure;
use crate::naming::{stamp, stem};
use crate::output::{self, count, count_as, size};
use crate::pending::PendingFile;

/// Bytes per chunk sent to the daemon.
const CHUNK: usize = 1024 * 1024;
/// Chunks read ahead of the daemon.
const AHEAD: usize = 4;

pub async fn backup(ctx: &Ctx, args: BackupArgs, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = if args.all { String::new() } else { ctx.project()? };
    let mut stream = ctx
        .client()
        .await?
        .export_bundle(ExportBundleRequest {
            project: project.clone(),
        })
        .await?;
    let to_stdout = args.output.as_deref() == Some(Path::new("-"));
    let target = match &args.output {
        Some(path) => path.clone(),
        None => {
            let what = if args.all {
                "all".to_owned()
            } else {
                Path::new(&project)
                    .file_name()
                    .map_or_else(|| "project".to_owned(), |n| stem(&n.to_string_lossy()))
            };
            PathBuf::from(format!("chronicle-backup-{what}-{}.jsonl", stamp()))
        }
    };
    // A backup that failed half-way never sits under the name of a good one.
    let mut file = if to_stdout {
        None
    } else {
        Some(PendingFile::create(target)?)
    };
    let mut bytes = 0u64;
    // The end line (the stream's last) counts what the bundle holds.
    let mut tail: Vec<u8> = Vec::new();
    while let Some(chunk) = stream.message().await.map_err(Failure::from)? {
        bytes += chunk.data.len() as u64;
        match file.as_mut() {
            Some(file) => file.write(&chunk.data)?,
            None => out.write_all(&chunk.data)?,
        }
        tail.extend_from_slice(&chunk.data);
        if tail.len() > 64 * 1024 {
            tail.drain(..tail.len() - 4096);
        }
    }
    let totals = std::str::from_utf8(&tail)
        .ok()
        .and_then(|t| t.trim_end().rsplit('\n').next())
        .and_then(|line| bundle::parse_line(line).ok());
    let Some(Record::End(totals)) = totals else {
        return Err(Failure::refused("the daemon's bundle ended early — see `chronicle daemon logs`").into());
    };
    if let Some(file) = file {
        let target = file.finish()?;
        writeln!(out, "{}", describe_backup(&totals, bytes, &target))?;
    } else {
        eprintln!("chronicle: {}", describe_backup(&totals, bytes, Path::new("stdout")));
    }
    Ok(())
}

fn describe_backup(totals: &Totals, bytes: u64, target: &Path) -> String {
    format!(
        "Backed up {}, {}, {} ({}) to {}",
        count(totals.projects, "project"),
        count(totals.sessions, "session"),
        count(totals.messages, "message"),
        size(bytes),
        target.display()
    )
}

/// Streams `source` to `ImportBundle` in chunks (the first carries the
/// options), so a bundle of any size passes through in bounded memory.
pub async fn send_bundle(
    client: &Client,
    mut source: Box<dyn Read + Send>,
    first: ImportBundleChunk,
    name: &str,
) -> Result<ImportBundleResponse, Failure> {
    let (tx, rx) = mpsc::channel::<ImportBundleChunk>(AHEAD);
    let name = name.to_owned();
    let reader = tokio::task::spawn_blocking(move || -> io::Result<()> {
        let mut chunk = first;
        loop {
            let mut data = vec![0u8; CHUNK];
            let mut filled = 0;
            while filled < CHUNK {
                match source.read(&mut data[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(err) => return Err(err),
                }
            }
            data.truncate(filled);
            let end = filled < CHUNK;
            chunk.data = data;
            // The daemon stopped listening (it refused the bundle): its
            // answer says why.
            if tx.blocking_send(chunk).is_err() || end {
                return Ok(());
            }
            chunk = ImportBundleChunk::default();
        }
    });
    let answer = client.import_bundle(ReceiverStream::new(rx)).await;
    let read = reader
        .await
        .map_err(|err| Failure::refused(format!("reading {name} failed: {err}")))?;
    if let Err(err) = read {
        return Err(Failure::refused(format!("cannot read {name}: {err}")));
    }
    answer.map_err(|failure| match failure.kind() {
        ErrorKind::Usage => Failure::usage(format!("{name}: {failure}")),
        _ => failure,
    })
}

pub async fn restore(ctx: &Ctx, args: RestoreArgs, out: &mut Out<'_>) -> anyhow::Result<()> {
    let (source, name): (Box<dyn Read + Send>, String) = if args.file.as_os_str() == "-" {
        (Box::new(io::stdin()), "stdin".to_owned())
    } else {
        let file = fs::File::open(&args.file).map_err(|err| {
            Failure::usage(format!(
                "cannot open {}: {err} — give the file `chronicle backup` wrote",
                args.file.display()
            ))
        })?;
        (Box::new(file), args.file.display().to_string())
    };
    let project = match &ctx.project_flag {
        Some(_) => ctx.project()?,
        None => String::new(),
    };
    let first = ImportBundleChunk {
        project,
        as_name: args.as_name.unwrap_or_default(),
        replace_working: args.replace_working,
        ..ImportBundleChunk::default()
    };
    let report = send_bundle(&ctx.client().await?, source, first, &name).await?;
    if args.json {
        return Ok(output::print_json(out, &report_json(&report))?);
    }
    writeln!(
        out,
        "Restored {}, {}, {} and {} from {name}",
        count(u64::from(report.project_count), "project"),
        count(u64::from(report.session_count), "session"),
        count_as(u64::from(report.trash_count), "trash entry", "trash entries"),
        count(report.message_count, "message"),
    )?;
    print_changes(out, &report)?;
    Ok(())
}

fn kind_name(kind: i32) -> &'static str {
    match BundleSessionKind::try_from(kind) {
        Ok(BundleSessionKind::Working) => "working",
        Ok(BundleSessionKind::Saved) => "saved",
        Ok(BundleSessionKind::Trash) => "trash",
        _ => "unknown",
    }
}

pub fn report_json(report: &ImportBundleResponse) -> serde_json::Value {
    json!({
        "projects": report.project_count,
        "sessions": report.session_count,
        "trash_entries": report.trash_count,
        "messages": report.message_count,
        "bytes": report.bundle_bytes,
        "imported": report.sessions.iter().map(|s| json!({
            "project": s.project,
            "kind": kind_name(s.kind),
            "name": s.name,
            "imported_as_kind": kind_name(s.imported_as_kind),
            "imported_as": s.imported_as,
            "messages": s.message_count,
            "files": s.file_count,
        })).collect::<Vec<_>>(),
    })
}

/// Says what was not imported as it was: renamed sessions, and working
/// sessions saved beside a project's own.
fn print_changes(out: &mut Out<'_>, report: &ImportBundleResponse) -> io::Result<()> {
    for s in &report.sessions {
        let was_working = s.kind == BundleSessionKind::Working as i32;
        let now_saved = s.imported_as_kind == BundleSessionKind::Saved as i32;
        if was_working && now_saved {
            writeln!(
                out,
                "  the working session was saved as \"{}\" in {} — that project's own working session was kept",
                s.imported_as, s.project
            )?;
        } else if !was_working && s.imported_as != s.name {
            writeln!(
                out,
                "  \"{}\" was taken in {}: restored as \"{}\"",
                s.name, s.project, s.imported_as
            )?;
        }
    }
    Ok(())
}
