//! Interop verbs: `backup` and `restore` (the daemon's lossless bundles,
//! streamed to and from a file), `import aider`, `files load-aider` and
//! `save-aider`, `export --aider-history` (aider's files, parsed and
//! written here on the client with `chronicle_interop`, sent to the daemon
//! as ordinary calls), and `follow aider` (asks the daemon to follow).

use std::{
    collections::HashMap,
    fs,
    io::{self, Read, Write},
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use chronicle_interop::{
    aider,
    bundle::{self, ProjectRecord, Record, Scope, SessionKind, SessionRecord, Totals},
};
use chronicle_proto::v1::{
    AddContextFilesRequest, BundleSessionKind, ContextFile, ExportBundleRequest, FollowAiderRequest, GetSessionRequest,
    GetWorkingSessionRequest, ImportBundleChunk, ImportBundleResponse, ListAiderFollowsRequest, ListSessionsRequest,
    Message, RemoveContextFilesRequest, SessionContent, SetContextFilesRequest, UnfollowAiderRequest,
};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::cli::{BackupArgs, ExportArgs, FollowCommand, ImportCommand, RestoreArgs};
use crate::commands::Ctx;
use crate::daemon::Client;
use crate::error::Failure;
use crate::output;

type Out<'a> = io::StdoutLock<'a>;

/// Bytes per chunk sent to the daemon.
const CHUNK: usize = 1024 * 1024;
/// Chunks read ahead of the daemon.
const AHEAD: usize = 4;

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn stamp() -> String {
    jiff::ZonedDateTime::now().strftime("%Y%m%d-%H%M%S").to_string()
}

/// A file-name-safe stem: letters, digits, `-` and `_`.
fn stem(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() || c == '-' || c == '_' {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-');
    if out.is_empty() {
        "session".to_owned()
    } else {
        out.chars().take(64).collect()
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 10 * 1024 * 1024 => format!("{} MiB", b / (1024 * 1024)),
        b if b >= 10 * 1024 => format!("{} KiB", b / 1024),
        b => format!("{b} bytes"),
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

// ------------------------------------------------------------------- backup

pub async fn backup(ctx: &Ctx, args: BackupArgs, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = if args.all { String::new() } else { ctx.project()? };
    let mut client = ctx.client().await?;
    let mut stream = client
        .export_bundle(ExportBundleRequest {
            project: project.clone(),
        })
        .await
        .map_err(Failure::from)?
        .into_inner();
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
    // Written beside the target and renamed at the end, so a backup that
    // failed half-way never sits under the name of a good one.
    let partial = target.with_extension("jsonl.partial");
    let mut file = if to_stdout { None } else { Some(create(&partial)?) };
    let mut bytes = 0u64;
    // The end line (the stream's last) counts what the bundle holds.
    let mut tail: Vec<u8> = Vec::new();
    while let Some(chunk) = stream.message().await.map_err(Failure::from)? {
        bytes += chunk.data.len() as u64;
        match file.as_mut() {
            Some(file) => file
                .write_all(&chunk.data)
                .with_context(|| format!("cannot write {}", partial.display()))?,
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
        let _ = fs::remove_file(&partial);
        return Err(Failure::Refused("the daemon's bundle ended early — see `chronicle daemon logs`".into()).into());
    };
    if let Some(file) = file {
        file.sync_all()
            .with_context(|| format!("cannot write {}", partial.display()))?;
        fs::rename(&partial, &target).with_context(|| format!("cannot write {}", target.display()))?;
        writeln!(out, "{}", describe_backup(&totals, bytes, &target))?;
    } else {
        eprintln!("chronicle: {}", describe_backup(&totals, bytes, Path::new("stdout")));
    }
    Ok(())
}

fn describe_backup(totals: &Totals, bytes: u64, target: &Path) -> String {
    format!(
        "Backed up {}, {}, {} ({}) to {}",
        plural(totals.projects, "project", "projects"),
        plural(totals.sessions, "session", "sessions"),
        plural(totals.messages, "message", "messages"),
        size(bytes),
        target.display()
    )
}

fn create(path: &Path) -> anyhow::Result<fs::File> {
    fs::File::create(path).map_err(|err| Failure::Refused(format!("cannot create {}: {err}", path.display())).into())
}

// ------------------------------------------------------------------ restore

/// Streams `source` to `ImportBundle` in chunks (the first carries the
/// options), so a bundle of any size passes through in bounded memory.
async fn send_bundle(
    client: &mut Client,
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
        .map_err(|err| Failure::Refused(format!("reading {name} failed: {err}")))?;
    if let Err(err) = read {
        return Err(Failure::Refused(format!("cannot read {name}: {err}")));
    }
    answer.map(tonic::Response::into_inner).map_err(|status| {
        let failure = Failure::from(status);
        match failure {
            Failure::Usage(message) => Failure::Usage(format!("{name}: {message}")),
            other => other,
        }
    })
}

pub async fn restore(ctx: &Ctx, args: RestoreArgs, out: &mut Out<'_>) -> anyhow::Result<()> {
    let (source, name): (Box<dyn Read + Send>, String) = if args.file.as_os_str() == "-" {
        (Box::new(io::stdin()), "stdin".to_owned())
    } else {
        let file = fs::File::open(&args.file).map_err(|err| {
            Failure::Usage(format!(
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
    let mut client = ctx.client().await?;
    let report = send_bundle(&mut client, source, first, &name).await?;
    if args.json {
        return Ok(output::print_json(out, &report_json(&report))?);
    }
    writeln!(
        out,
        "Restored {}, {}, {} and {} from {name}",
        plural(u64::from(report.project_count), "project", "projects"),
        plural(u64::from(report.session_count), "session", "sessions"),
        plural(u64::from(report.trash_count), "trash entry", "trash entries"),
        plural(report.message_count, "message", "messages"),
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

fn report_json(report: &ImportBundleResponse) -> serde_json::Value {
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

// -------------------------------------------------------------- aider import

pub async fn import(ctx: &Ctx, command: ImportCommand, out: &mut Out<'_>) -> anyhow::Result<()> {
    match command {
        ImportCommand::Aider { path, working } => import_aider(ctx, path, working, out).await,
    }
}

/// The saved-session name of a run.
fn run_name(run: &aider::Run) -> String {
    match &run.started {
        Some(time) => format!("aider {time}"),
        None => "aider (no start time)".to_owned(),
    }
}

async fn import_aider(ctx: &Ctx, path: Option<PathBuf>, working: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let path = match path {
        Some(path) => path,
        None => Path::new(&project).join(aider::HISTORY_FILE),
    };
    let bytes = fs::read(&path).map_err(|err| {
        Failure::Usage(format!(
            "cannot read {}: {err} — give the path of aider's .aider.chat.history.md",
            path.display()
        ))
    })?;
    let text = String::from_utf8_lossy(&bytes);
    let runs: Vec<aider::Run> = aider::parse_history(&text)
        .into_iter()
        .filter(|run| !run.messages.is_empty())
        .collect();
    if runs.is_empty() {
        writeln!(out, "{} holds no chat messages — nothing to import", path.display())?;
        return Ok(());
    }
    let mut client = ctx.client().await?;
    let existing: HashMap<String, u64> = client
        .list_sessions(ListSessionsRequest {
            project: project.clone(),
        })
        .await
        .map_err(Failure::from)?
        .into_inner()
        .sessions
        .into_iter()
        .map(|s| (s.name, s.message_count))
        .collect();
    let now = now_ms();
    let newest = runs.len() - 1;
    let mut skipped = Vec::new();
    let mut writer = bundle::Writer::new(Vec::new(), &Scope::Project(project.clone()))?;
    writer.project(&ProjectRecord {
        project: project.clone(),
        created_at_ms: now,
    })?;
    let working_run = working.then(|| &runs[newest]);
    session_of_run(&mut writer, SessionKind::Working, String::new(), working_run, now)?;
    for (i, run) in runs.iter().enumerate() {
        if working && i == newest {
            continue;
        }
        let name = run_name(run);
        // Importing the same history again skips what is already there.
        if existing.get(&name) == Some(&(run.messages.len() as u64)) {
            skipped.push(name);
            continue;
        }
        session_of_run(&mut writer, SessionKind::Saved, name, Some(run), now)?;
    }
    let (data, _) = writer.finish()?;
    let first = ImportBundleChunk {
        project: project.clone(),
        replace_working: working,
        ..ImportBundleChunk::default()
    };
    let name = path.display().to_string();
    let report = send_bundle(&mut client, Box::new(io::Cursor::new(data)), first, &name).await?;
    // Without --working the bundle's working session is an empty stand-in.
    let imported: Vec<_> = report
        .sessions
        .iter()
        .filter(|s| working || s.kind != BundleSessionKind::Working as i32)
        .collect();
    if imported.is_empty() {
        writeln!(out, "Nothing new in {name}: every run was imported before")?;
    } else {
        writeln!(
            out,
            "Imported {} of aider history from {name} ({})",
            plural(imported.len() as u64, "run", "runs"),
            plural(report.message_count, "message", "messages"),
        )?;
    }
    for s in imported {
        if s.imported_as_kind == BundleSessionKind::Working as i32 {
            writeln!(
                out,
                "  the newest run is the working session ({} messages){}",
                s.message_count,
                if working {
                    " — what it replaced is in the trash"
                } else {
                    ""
                }
            )?;
        } else if s.imported_as != s.name {
            writeln!(out, "  \"{}\" was taken: saved as \"{}\"", s.name, s.imported_as)?;
        } else {
            writeln!(out, "  saved \"{}\" ({} messages)", s.imported_as, s.message_count)?;
        }
    }
    for name in skipped {
        writeln!(out, "  \"{name}\" was imported before: skipped")?;
    }
    Ok(())
}

/// Writes one run (or, without one, an empty working session) as a
/// session of the bundle; messages get ids from 1 and the run's time.
fn session_of_run(
    writer: &mut bundle::Writer<Vec<u8>>,
    kind: SessionKind,
    name: String,
    run: Option<&aider::Run>,
    now: i64,
) -> io::Result<()> {
    let messages = run.map_or(&[][..], |r| r.messages.as_slice());
    let at = run.and_then(|r| r.started_at_ms).unwrap_or(now);
    writer.session(&SessionRecord {
        kind,
        name,
        created_at_ms: at,
        updated_at_ms: at,
        next_message_id: messages.len() as u64 + 1,
        reason: String::new(),
        trashed_at_ms: 0,
    })?;
    for (i, message) in messages.iter().enumerate() {
        writer.message(&Message {
            id: i as u64 + 1,
            created_at_ms: at,
            ..message.clone()
        })?;
    }
    Ok(())
}

// ------------------------------------------------------------- aider files

async fn working_files(client: &mut Client, project: &str) -> Result<Vec<ContextFile>, Failure> {
    Ok(client
        .get_working_session(GetWorkingSessionRequest {
            project: project.to_owned(),
            after_message_id: u64::MAX,
            limit: 1,
        })
        .await?
        .into_inner()
        .files)
}

pub async fn load_aider(
    ctx: &Ctx,
    client: &mut Client,
    file: &Path,
    json: bool,
    out: &mut Out<'_>,
) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let text = fs::read_to_string(file).map_err(|err| {
        Failure::Usage(format!(
            "cannot read {}: {err} — give a file written by aider's /save",
            file.display()
        ))
    })?;
    let save = aider::parse_save(&text).map_err(|err| Failure::Usage(format!("{}: {err}", file.display())))?;
    for (line, text) in &save.skipped {
        eprintln!(
            "chronicle: note: {} line {line} is not a context command, skipped: {text}",
            file.display()
        );
    }
    let files: Vec<ContextFile> = save
        .files
        .iter()
        .map(|(path, read_only)| ContextFile {
            path: path.clone(),
            read_only: *read_only,
            ..ContextFile::default()
        })
        .collect();
    if save.replace {
        client
            .set_context_files(SetContextFilesRequest {
                project: project.clone(),
                files,
                expected_revision: None,
            })
            .await
            .map_err(Failure::from)?;
    } else {
        if !files.is_empty() {
            client
                .add_context_files(AddContextFilesRequest {
                    project: project.clone(),
                    files,
                    expected_revision: None,
                })
                .await
                .map_err(Failure::from)?;
        }
        let present = working_files(client, &project).await?;
        let removed: Vec<String> = save
            .removed
            .iter()
            .filter(|p| present.iter().any(|f| &&f.path == p))
            .cloned()
            .collect();
        if !removed.is_empty() {
            client
                .remove_context_files(RemoveContextFilesRequest {
                    project: project.clone(),
                    paths: removed,
                    expected_revision: None,
                })
                .await
                .map_err(Failure::from)?;
        }
    }
    let now = working_files(client, &project).await?;
    if json {
        return Ok(output::print_json(
            out,
            &json!(now.iter().map(output::file_json).collect::<Vec<_>>()),
        )?);
    }
    let how = if save.replace {
        "replacing the context"
    } else {
        "added to the context"
    };
    writeln!(
        out,
        "Loaded {} from {} ({how}); {} in context:",
        plural(save.files.len() as u64, "file", "files"),
        file.display(),
        now.len()
    )?;
    for f in &now {
        writeln!(out, "  {}{}", f.path, if f.read_only { "  (read-only)" } else { "" })?;
    }
    Ok(())
}

pub async fn save_aider(ctx: &Ctx, client: &mut Client, file: &Path, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let files: Vec<(String, bool)> = working_files(client, &project)
        .await?
        .into_iter()
        .map(|f| (f.path, f.read_only))
        .collect();
    fs::write(file, aider::write_save(&files))
        .map_err(|err| Failure::Refused(format!("cannot write {}: {err}", file.display())))?;
    writeln!(
        out,
        "Wrote {} to {} — load them in aider with `/load {}`",
        plural(files.len() as u64, "file", "files"),
        file.display(),
        file.display()
    )?;
    Ok(())
}

// ------------------------------------------------------------ aider export

async fn page(client: &mut Client, project: &str, name: &str, after: u64) -> Result<SessionContent, Failure> {
    Ok(if name.is_empty() {
        client
            .get_working_session(GetWorkingSessionRequest {
                project: project.to_owned(),
                after_message_id: after,
                limit: 0,
            })
            .await?
            .into_inner()
    } else {
        client
            .get_session(GetSessionRequest {
                project: project.to_owned(),
                name: name.to_owned(),
                after_message_id: after,
                limit: 0,
            })
            .await?
            .into_inner()
    })
}

pub async fn export_aider(ctx: &Ctx, args: ExportArgs, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let name = args.name.clone().unwrap_or_default();
    let mut client = ctx.client().await?;
    let mut content = page(&mut client, &project, &name, 0).await?;
    let info = if name.is_empty() {
        None
    } else {
        client
            .list_sessions(ListSessionsRequest {
                project: project.clone(),
            })
            .await
            .map_err(Failure::from)?
            .into_inner()
            .sessions
            .into_iter()
            .find(|s| s.name == content.name)
    };
    let started = info
        .map(|s| s.created_at_ms)
        .filter(|t| *t > 0)
        .or_else(|| content.messages.first().map(|m| m.created_at_ms))
        .unwrap_or_else(now_ms);
    let to_stdout = args.output.as_deref() == Some(Path::new("-"));
    let target = match &args.output {
        Some(path) => path.clone(),
        None => PathBuf::from(format!(
            "{}.aider.chat.history.md",
            stem(if name.is_empty() { "working-session" } else { &name })
        )),
    };
    let sink: Box<dyn Write> = if to_stdout {
        Box::new(io::stdout())
    } else {
        // Never over a history: aider's file holds the only copy of it.
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(|err| {
                Failure::Refused(format!(
                    "cannot create {}: {err} — pick another -o (an existing history is never overwritten)",
                    target.display()
                ))
            })?;
        Box::new(io::BufWriter::new(file))
    };
    let mut writer = aider::HistoryWriter::new(sink);
    writer.run(started)?;
    loop {
        for message in &content.messages {
            writer.message(message)?;
        }
        match (content.more, content.messages.last().map(|m| m.id)) {
            (true, Some(last)) => content = page(&mut client, &project, &name, last).await?,
            _ => break,
        }
    }
    writer
        .into_inner()
        .flush()
        .with_context(|| format!("cannot write {}", target.display()))?;
    if !to_stdout {
        writeln!(out, "{}", target.display())?;
    }
    Ok(())
}

// ------------------------------------------------------------------ follow

pub async fn follow(ctx: &Ctx, command: Option<FollowCommand>, json: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let mut client = ctx.client().await?;
    let Some(FollowCommand::Aider {
        project,
        history,
        catch_up,
        stop,
    }) = command
    else {
        let follows = client
            .list_aider_follows(ListAiderFollowsRequest {})
            .await
            .map_err(Failure::from)?
            .into_inner()
            .follows;
        if json {
            let list: Vec<_> = follows
                .iter()
                .map(|f| {
                    json!({"tool": "aider", "project": f.project, "path": f.path, "since": output::iso_time(f.since_ms),
                           "appended": f.messages_appended, "updated": f.messages_updated, "error": f.last_error})
                })
                .collect();
            return Ok(output::print_json(out, &json!(list))?);
        }
        if follows.is_empty() {
            writeln!(out, "Nothing is followed — start with `chronicle follow aider`")?;
            return Ok(());
        }
        let rows: Vec<Vec<String>> = follows
            .iter()
            .map(|f| {
                vec![
                    f.project.clone(),
                    output::relative_time(f.since_ms, now_ms()),
                    f.messages_appended.to_string(),
                    f.messages_updated.to_string(),
                    if f.last_error.is_empty() {
                        f.path.clone()
                    } else {
                        format!("{} ({})", f.path, f.last_error)
                    },
                ]
            })
            .collect();
        output::table(
            out,
            &["PROJECT", "SINCE", "APPENDED", "UPDATED", "FILE"],
            &rows,
            ctx.style,
        )?;
        return Ok(());
    };
    let ctx = Ctx {
        socket: ctx.socket.clone(),
        project_flag: project.or_else(|| ctx.project_flag.clone()),
        style: ctx.style,
    };
    let project = ctx.project()?;
    if stop {
        let response = client
            .unfollow_aider(UnfollowAiderRequest {
                project: project.clone(),
            })
            .await
            .map_err(Failure::from)?
            .into_inner();
        match response.follow {
            Some(f) => writeln!(
                out,
                "Stopped following {} ({} appended to the working session of {project})",
                f.path,
                plural(f.messages_appended, "message", "messages")
            )?,
            None => writeln!(out, "{project} was not being followed")?,
        }
        return Ok(());
    }
    let path = match history {
        Some(path) => std::env::current_dir()
            .map(|cwd| cwd.join(&path))
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned(),
        None => String::new(),
    };
    let follow = client
        .follow_aider(FollowAiderRequest {
            project: project.clone(),
            path,
            catch_up,
        })
        .await
        .map_err(Failure::from)?
        .into_inner();
    writeln!(
        out,
        "Following {}: what aider writes there is appended to the working session of {} — stop with `chronicle follow aider --stop`",
        follow.path, follow.project
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_safe_file_names() {
        assert_eq!(stem("aider 2024-08-05 19:33:02"), "aider-2024-08-05-19-33-02");
        assert_eq!(stem("///"), "session");
    }

    #[test]
    fn runs_are_named_after_their_start() {
        let run = aider::Run {
            started: Some("2024-08-05 19:33:02".into()),
            ..aider::Run::default()
        };
        assert_eq!(run_name(&run), "aider 2024-08-05 19:33:02");
    }
}
