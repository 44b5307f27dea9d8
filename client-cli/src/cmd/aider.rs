//! aider, on the client side: `import aider` (each run of aider's chat
//! history becomes a saved session, sent as one bundle), `files
//! load-aider` / `save-aider` (aider's `/save` files), `export
//! --aider-history`, and `follow aider` (asks the daemon to follow the
//! history as aider writes it). aider's files are parsed and written here
//! with `chronicle_interop`; the daemon sees ordinary calls.

use std::{
    collections::HashMap,
    fs,
    io::{self, Write},
    path::{Path, PathBuf},
};

use anyhow::Context as _;
use chronicle_client::{
    Client, Session, paths, time,
    v1::{BundleSessionKind, ContextFile, FollowAiderRequest, ImportBundleChunk, Message},
};
use chronicle_interop::{
    aider,
    bundle::{self, ProjectRecord, Scope, SessionKind, SessionRecord},
};
use serde_json::json;

use crate::cli::ExportArgs;
use crate::cmd::backup::send_bundle;
use crate::ctx::{Ctx, Out};
use crate::error::Failure;
use crate::naming::stem;
use crate::output::{self, count};

/// `import aider [PATH] [--working]`.
pub async fn import(ctx: &Ctx, path: Option<PathBuf>, working: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    import_history(ctx, path, working, out).await
}

/// The saved-session name of a run.
fn run_name(run: &aider::Run) -> String {
    match &run.started {
        Some(time) => format!("aider {time}"),
        None => "aider (no start time)".to_owned(),
    }
}

async fn import_history(ctx: &Ctx, path: Option<PathBuf>, working: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let path = match path {
        Some(path) => path,
        None => Path::new(&project).join(aider::HISTORY_FILE),
    };
    let bytes = fs::read(&path).map_err(|err| {
        Failure::usage(format!(
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
    let client = ctx.client().await?;
    let existing: HashMap<String, u64> = client
        .sessions(&project)
        .await?
        .into_iter()
        .map(|s| (s.name, s.message_count))
        .collect();
    let now = time::now_ms();
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
    let report = send_bundle(&client, Box::new(io::Cursor::new(data)), first, &name).await?;
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
            count(imported.len() as u64, "run"),
            count(report.message_count, "message"),
        )?;
    }
    for s in imported {
        if s.imported_as_kind == BundleSessionKind::Working as i32 {
            writeln!(
                out,
                "  the newest run is the working session ({}){}",
                count(s.message_count, "message"),
                if working {
                    " — what it replaced is in the trash"
                } else {
                    ""
                }
            )?;
        } else if s.imported_as != s.name {
            writeln!(out, "  \"{}\" was taken: saved as \"{}\"", s.name, s.imported_as)?;
        } else {
            writeln!(
                out,
                "  saved \"{}\" ({})",
                s.imported_as,
                count(s.message_count, "message")
            )?;
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
        forked_from: String::new(),
        forked_at_message_id: 0,
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

/// The working session's files, without reading any message.
async fn working_files(client: &Client, project: &str) -> Result<Vec<ContextFile>, Failure> {
    Ok(client.page(project, &Session::Working, u64::MAX, 1).await?.files)
}

/// `chronicle files load-aider FILE`.
pub async fn load_files(ctx: &Ctx, file: &Path, json: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let client = ctx.client().await?;
    let text = fs::read_to_string(file).map_err(|err| {
        Failure::usage(format!(
            "cannot read {}: {err} — give a file written by aider's /save",
            file.display()
        ))
    })?;
    let save = aider::parse_save(&text).map_err(|err| Failure::usage(format!("{}: {err}", file.display())))?;
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
        client.set_files(&project, files).await?;
    } else {
        if !files.is_empty() {
            client.add_files(&project, files).await?;
        }
        let present = working_files(&client, &project).await?;
        let removed: Vec<String> = save
            .removed
            .iter()
            .filter(|p| present.iter().any(|f| &&f.path == p))
            .cloned()
            .collect();
        if !removed.is_empty() {
            client.remove_files(&project, removed).await?;
        }
    }
    let now = working_files(&client, &project).await?;
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
        count(save.files.len() as u64, "file"),
        file.display(),
        now.len()
    )?;
    for f in &now {
        writeln!(out, "  {}{}", f.path, if f.read_only { "  (read-only)" } else { "" })?;
    }
    Ok(())
}

/// `chronicle files save-aider FILE`.
pub async fn save_files(ctx: &Ctx, file: &Path, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let client = ctx.client().await?;
    let files: Vec<(String, bool)> = working_files(&client, &project)
        .await?
        .into_iter()
        .map(|f| (f.path, f.read_only))
        .collect();
    fs::write(file, aider::write_save(&files))
        .map_err(|err| Failure::refused(format!("cannot write {}: {err}", file.display())))?;
    writeln!(
        out,
        "Wrote {} to {} — load them in aider with `/load {}`",
        count(files.len() as u64, "file"),
        file.display(),
        file.display()
    )?;
    Ok(())
}

/// `chronicle export --aider-history`.
pub async fn export_history(ctx: &Ctx, args: ExportArgs, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let name = args.name.clone().unwrap_or_default();
    let client = ctx.client().await?;
    let mut pages = client.pages(&project, Session::named(&name));
    let first = pages.next().await?.unwrap_or_default();
    let info = if name.is_empty() {
        None
    } else {
        client
            .sessions(&project)
            .await?
            .into_iter()
            .find(|s| s.name == first.name)
    };
    let started = info
        .map(|s| s.created_at_ms)
        .filter(|t| *t > 0)
        .or_else(|| first.messages.first().map(|m| m.created_at_ms))
        .unwrap_or_else(time::now_ms);
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
                Failure::refused(format!(
                    "cannot create {}: {err} — pick another -o (an existing history is never overwritten)",
                    target.display()
                ))
            })?;
        Box::new(io::BufWriter::new(file))
    };
    let mut writer = aider::HistoryWriter::new(sink);
    writer.run(started)?;
    let mut page = Some(first);
    while let Some(content) = page {
        for message in &content.messages {
            writer.message(message)?;
        }
        page = pages.next().await?;
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

pub async fn follow(
    ctx: &Ctx,
    project: Option<PathBuf>,
    history: Option<PathBuf>,
    catch_up: bool,
    stop: bool,
    out: &mut Out<'_>,
) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let project = paths::resolve_project(project.as_deref().or(ctx.project_flag.as_deref()))
        .context("cannot read the current directory")?;
    if stop {
        let response = client.unfollow_aider(&project).await?;
        match response.follow {
            Some(f) => writeln!(
                out,
                "Stopped following {} ({} appended to the working session of {project})",
                f.path,
                count(f.messages_appended, "message")
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
        .await?;
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
    fn runs_are_named_after_their_start() {
        let run = aider::Run {
            started: Some("2024-08-05 19:33:02".into()),
            ..aider::Run::default()
        };
        assert_eq!(run_name(&run), "aider 2024-08-05 19:33:02");
    }
}
