//! One function per verb. Each reads what it needs from the daemon, asks
//! it to change what the user asked for, and says what happened in one or
//! two lines (or one JSON document).

use std::{
    collections::VecDeque,
    fs,
    io::{self, IsTerminal, Read, Write},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use chronicle_proto::v1::{
    AddContextFilesRequest, AppendMessageRequest, ClearMessagesRequest, ContextFile, DeleteMessagesRequest,
    DeleteSessionRequest, EventKind, ExportChunk, ExportImageRequest, ExportRequest, GetStatusRequest,
    GetWorkingSessionRequest, ListProjectsRequest, ListSessionsRequest, ListTrashRequest, LoadSessionRequest, Message,
    OpenProjectRequest, PurgeTrashRequest, RemoveContextFilesRequest, RenameSessionRequest, RestoreTrashRequest, Role,
    SaveMode, SaveSessionRequest, SessionContent, SetContextFilesRequest, StartMode, Theme, UpdateMessageRequest,
    WatchRequest,
};
use clap::CommandFactory;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use tonic::Streaming;

use crate::cli::{Cli, DaemonCommand, ExportArgs, FilesCommand, RoleArg, ThemeArg, TrashCommand};
use crate::daemon::{self, Client};
use crate::error::Failure;
use crate::output::{self, Style};

/// What every command shares: where the daemon is, which project, how to
/// print.
pub struct Ctx {
    pub socket: PathBuf,
    pub project_flag: Option<PathBuf>,
    pub style: Style,
}

type Out<'a> = io::StdoutLock<'a>;

impl Ctx {
    pub(crate) async fn client(&self) -> Result<Client, Failure> {
        daemon::connect_or_start(&self.socket).await
    }

    /// The project root: `-C`, else the git top-level of the current
    /// directory, else the current directory; always absolute (the rule
    /// the desktop app shares).
    pub(crate) fn project(&self) -> anyhow::Result<String> {
        chronicle_proto::client::resolve_project(self.project_flag.as_deref())
            .context("cannot read the current directory")
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// The message text: the argument, or stdin for `-`.
fn read_text(text: Option<String>) -> anyhow::Result<String> {
    match text.as_deref() {
        Some("-") => {
            let mut buffer = String::new();
            io::stdin()
                .read_to_string(&mut buffer)
                .context("cannot read the message from stdin")?;
            Ok(buffer)
        }
        Some(_) => Ok(text.unwrap_or_default()),
        None => Err(Failure::Usage("give the message text as an argument, or - to read it from stdin".into()).into()),
    }
}

fn role(arg: RoleArg) -> Role {
    match arg {
        RoleArg::User => Role::User,
        RoleArg::Assistant => Role::Assistant,
        RoleArg::Tool => Role::Tool,
        RoleArg::System => Role::System,
        RoleArg::Command => Role::CommandOutput,
        RoleArg::Log => Role::Log,
    }
}

pub async fn status(ctx: &Ctx, json: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let mut client = match daemon::try_connect(&ctx.socket).await? {
        Some(client) => client,
        None => {
            let (client, status) = daemon::start(&ctx.socket).await?;
            eprintln!(
                "chronicle: started chronicled (pid {}) on {}",
                status.pid, status.socket
            );
            client
        }
    };
    let status = client
        .get_status(GetStatusRequest {})
        .await
        .map_err(Failure::from)?
        .into_inner();
    let project = ctx.project()?;
    let projects = client
        .list_projects(ListProjectsRequest {})
        .await
        .map_err(Failure::from)?
        .into_inner()
        .projects;
    let here = projects.iter().find(|p| p.project == project);
    if json {
        let here = here.map(|p| {
            json!({"project": p.project, "revision": p.revision, "messages": p.message_count, "files": p.file_count,
                   "saved_sessions": p.saved_session_count, "updated_at": output::iso_time(p.updated_at_ms)})
        });
        return Ok(output::print_json(
            out,
            &json!({
                "running": true,
                "version": status.version,
                "cli_version": env!("CARGO_PKG_VERSION"),
                "pid": status.pid,
                "socket": status.socket,
                "data_dir": status.data_dir,
                "started_at": output::iso_time(status.started_at_ms),
                "projects": status.project_count,
                "saved_sessions": status.saved_session_count,
                "trash_entries": status.trash_count,
                "schema_version": status.schema_version,
                "project": here,
            }),
        )?);
    }
    let s = ctx.style;
    writeln!(
        out,
        "{}  running (pid {}, version {}, started {})",
        s.bold("daemon   "),
        status.pid,
        status.version,
        output::relative_time(status.started_at_ms, now_ms())
    )?;
    writeln!(out, "{}  {}", s.bold("socket   "), status.socket)?;
    writeln!(out, "{}  {}", s.bold("data dir "), status.data_dir)?;
    writeln!(out, "{}  {}", s.bold("projects "), status.project_count)?;
    writeln!(out, "{}  {}", s.bold("sessions "), status.saved_session_count)?;
    writeln!(out, "{}  {} entries", s.bold("trash    "), status.trash_count)?;
    match here {
        Some(p) => writeln!(
            out,
            "{}  {} (revision {}, {} messages, {} files, {} saved)",
            s.bold("project  "),
            p.project,
            p.revision,
            p.message_count,
            p.file_count,
            p.saved_session_count
        )?,
        None => writeln!(out, "{}  {} (not opened yet)", s.bold("project  "), project)?,
    }
    Ok(())
}

pub async fn daemon_command(ctx: &Ctx, command: DaemonCommand, out: &mut Out<'_>) -> anyhow::Result<()> {
    match command {
        DaemonCommand::Start => {
            if let Some(mut client) = daemon::try_connect(&ctx.socket).await? {
                let status = client
                    .get_status(GetStatusRequest {})
                    .await
                    .map_err(Failure::from)?
                    .into_inner();
                writeln!(
                    out,
                    "chronicled is already running (pid {}, version {}) on {}",
                    status.pid, status.version, status.socket
                )?;
                return Ok(());
            }
            let (_, status) = daemon::start(&ctx.socket).await?;
            writeln!(out, "Started chronicled (pid {}) on {}", status.pid, status.socket)?;
        }
        DaemonCommand::Stop => match daemon::stop(&ctx.socket).await? {
            Some(pid) => writeln!(out, "Stopped chronicled (pid {pid})")?,
            None => writeln!(out, "No daemon is running on {}", ctx.socket.display())?,
        },
        DaemonCommand::Restart => {
            if let Some(pid) = daemon::stop(&ctx.socket).await? {
                writeln!(out, "Stopped chronicled (pid {pid})")?;
            }
            let (_, status) = daemon::start(&ctx.socket).await?;
            writeln!(out, "Started chronicled (pid {}) on {}", status.pid, status.socket)?;
        }
        DaemonCommand::Logs { lines } => {
            let path = daemon::log_path()
                .ok_or_else(|| Failure::Usage("no data directory: set CHRONICLE_DATA_DIR or HOME".into()))?;
            let text = fs::read_to_string(&path).map_err(|err| {
                Failure::Refused(format!(
                    "cannot read the daemon log {}: {err} — it exists once `chronicle` has started the daemon",
                    path.display()
                ))
            })?;
            let all: Vec<&str> = text.lines().collect();
            for line in &all[all.len().saturating_sub(lines)..] {
                writeln!(out, "{line}")?;
            }
        }
    }
    Ok(())
}

pub async fn open(ctx: &Ctx, empty: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let mut client = ctx.client().await?;
    let before = if empty {
        Some(working_page(&mut client, &project, 0, 1).await?.total_messages)
    } else {
        None
    };
    let start = if empty { StartMode::Empty } else { StartMode::Last };
    let state = client
        .open_project(OpenProjectRequest {
            project: project.clone(),
            start: start as i32,
        })
        .await
        .map_err(Failure::from)?
        .into_inner();
    match before {
        Some(n) if n > 0 => writeln!(
            out,
            "Started an empty session in {project}; the previous one ({n} messages) is in the trash — `chronicle trash` lists it"
        )?,
        _ => writeln!(
            out,
            "Opened {project}: {} messages, {} files, {} saved sessions (revision {})",
            state.message_count, state.file_count, state.saved_session_count, state.revision
        )?,
    }
    Ok(())
}

async fn working_page(client: &mut Client, project: &str, after: u64, limit: u32) -> Result<SessionContent, Failure> {
    Ok(client
        .get_working_session(GetWorkingSessionRequest {
            project: project.to_owned(),
            after_message_id: after,
            limit,
        })
        .await?
        .into_inner())
}

pub async fn show(ctx: &Ctx, tail: Option<usize>, full: bool, json: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let mut client = ctx.client().await?;
    let mut page = working_page(&mut client, &project, 0, 0).await?;
    let (revision, total, files) = (page.revision, page.total_messages, std::mem::take(&mut page.files));
    let mut messages: VecDeque<Message> = VecDeque::new();
    loop {
        let more = page.more;
        let last = page.messages.last().map(|m| m.id);
        for message in page.messages {
            messages.push_back(message);
            if tail.is_some_and(|n| messages.len() > n) {
                messages.pop_front();
            }
        }
        match (more, last) {
            (true, Some(last)) => page = working_page(&mut client, &project, last, 0).await?,
            _ => break,
        }
    }
    if json {
        let value = json!({
            "project": project,
            "revision": revision,
            "total_messages": total,
            "files": files.iter().map(output::file_json).collect::<Vec<_>>(),
            "messages": messages.iter().map(output::message_json).collect::<Vec<_>>(),
        });
        return Ok(output::print_json(out, &value)?);
    }
    let s = ctx.style;
    writeln!(
        out,
        "{} — revision {revision}, {total} messages, {} files",
        s.bold(&format!("Working session of {project}")),
        files.len()
    )?;
    writeln!(out)?;
    print_files(out, &files, s)?;
    writeln!(out)?;
    if messages.is_empty() {
        writeln!(out, "{}", s.dim("No messages yet — add one with `chronicle add TEXT`"))?;
    }
    for message in &messages {
        let mut head = format!(
            "#{:<4} {}  {}",
            message.id,
            s.role(message.role, &format!("{:<9}", output::role_label(message.role))),
            s.dim(&output::local_time(message.created_at_ms))
        );
        if !message.model.is_empty() {
            head.push_str(&format!("  {}", message.model));
        }
        let usage = output::usage_line(message.usage.as_ref());
        if !usage.is_empty() {
            head.push_str(&format!("  {}", s.dim(&usage)));
        }
        writeln!(out, "{head}")?;
        let lines: Vec<&str> = message.content.lines().collect();
        let shown = if full { lines.len() } else { lines.len().min(3) };
        for line in &lines[..shown] {
            let line = if full || line.chars().count() <= 160 {
                (*line).to_owned()
            } else {
                format!("{}…", line.chars().take(159).collect::<String>())
            };
            writeln!(out, "{}", format!("      {line}").trim_end())?;
        }
        if shown < lines.len() {
            writeln!(
                out,
                "      {}",
                s.dim(&format!("… {} more lines (--full shows all)", lines.len() - shown))
            )?;
        }
        if let Some(tool) = &message.tool {
            writeln!(out, "      {}", s.dim(&format!("tool call: {}", tool.name)))?;
        }
    }
    Ok(())
}

fn print_files(out: &mut Out<'_>, files: &[ContextFile], s: Style) -> io::Result<()> {
    writeln!(out, "{}", s.bold("Files"))?;
    if files.is_empty() {
        writeln!(out, "  {}", s.dim("none — add some with `chronicle files add PATH`"))?;
    }
    for file in files {
        let mut flags = Vec::new();
        if file.read_only {
            flags.push("read-only");
        }
        if file.missing {
            flags.push("missing");
        }
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!("  ({})", flags.join(", "))
        };
        writeln!(out, "  {}{}", file.path, s.dim(&flags))?;
    }
    Ok(())
}

pub async fn add(
    ctx: &Ctx,
    role_arg: RoleArg,
    model: Option<String>,
    text: Option<String>,
    out: &mut Out<'_>,
) -> anyhow::Result<()> {
    let content = read_text(text)?;
    let project = ctx.project()?;
    let mut client = ctx.client().await?;
    let message = Message {
        role: role(role_arg) as i32,
        content,
        model: model.unwrap_or_default(),
        ..Message::default()
    };
    let ack = client
        .append_message(AppendMessageRequest {
            project,
            message: Some(message),
            expected_revision: None,
        })
        .await
        .map_err(Failure::from)?
        .into_inner();
    writeln!(out, "Added message #{} (revision {})", ack.message_id, ack.revision)?;
    Ok(())
}

pub async fn edit(ctx: &Ctx, id: u64, text: Option<String>, out: &mut Out<'_>) -> anyhow::Result<()> {
    let content = read_text(text)?;
    let project = ctx.project()?;
    let mut client = ctx.client().await?;
    let page = working_page(&mut client, &project, id.saturating_sub(1), 1).await?;
    let mut message = page.messages.into_iter().find(|m| m.id == id).ok_or_else(|| {
        Failure::Refused(format!(
            "message {id} is not in the working session of {project} — list ids with `chronicle show`"
        ))
    })?;
    message.content = content;
    let ack = client
        .update_message(UpdateMessageRequest {
            project,
            message: Some(message),
            expected_revision: Some(page.revision),
        })
        .await
        .map_err(Failure::from)?
        .into_inner();
    writeln!(out, "Updated message #{id} (revision {})", ack.revision)?;
    Ok(())
}

pub async fn rm_msg(ctx: &Ctx, id: u64, after: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let mut client = ctx.client().await?;
    let before = working_page(&mut client, &project, 0, 1).await?.total_messages;
    let request = DeleteMessagesRequest {
        project: project.clone(),
        message_id: id,
        truncate_after: after,
        expected_revision: None,
    };
    let ack = client
        .delete_messages(request)
        .await
        .map_err(Failure::from)?
        .into_inner();
    let removed = before.saturating_sub(working_page(&mut client, &project, 0, 1).await?.total_messages);
    let what = if removed == 1 {
        "1 message".to_owned()
    } else {
        format!("{removed} messages")
    };
    writeln!(
        out,
        "Removed {what} from #{id} (revision {}) — they are in the trash: `chronicle trash`",
        ack.revision
    )?;
    Ok(())
}

pub async fn clear(ctx: &Ctx, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let mut client = ctx.client().await?;
    let before = working_page(&mut client, &project, 0, 1).await?.total_messages;
    let ack = client
        .clear_messages(ClearMessagesRequest {
            project,
            expected_revision: None,
        })
        .await
        .map_err(Failure::from)?
        .into_inner();
    if before == 0 {
        writeln!(out, "The working session had no messages (revision {})", ack.revision)?;
    } else {
        writeln!(
            out,
            "Cleared {before} messages (revision {}) — they are in the trash: `chronicle trash`",
            ack.revision
        )?;
    }
    Ok(())
}

pub async fn files(ctx: &Ctx, command: Option<FilesCommand>, json: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let to_files = |paths: &[PathBuf], read_only: bool| -> Vec<ContextFile> {
        paths
            .iter()
            .map(|p| ContextFile {
                path: chronicle_proto::client::absolute(&cwd, p)
                    .to_string_lossy()
                    .into_owned(),
                read_only,
                ..ContextFile::default()
            })
            .collect()
    };
    let mut client = ctx.client().await?;
    let summary = match command.unwrap_or(FilesCommand::Ls) {
        FilesCommand::Ls => None,
        FilesCommand::Add { read_only, paths } => {
            let files = to_files(&paths, read_only);
            client
                .add_context_files(AddContextFilesRequest {
                    project: project.clone(),
                    files,
                    expected_revision: None,
                })
                .await
                .map_err(Failure::from)?;
            Some(format!(
                "Added {} file{}",
                paths.len(),
                if paths.len() == 1 { "" } else { "s" }
            ))
        }
        FilesCommand::Rm { paths } => {
            let paths: Vec<String> = to_files(&paths, false).into_iter().map(|f| f.path).collect();
            let count = paths.len();
            client
                .remove_context_files(RemoveContextFilesRequest {
                    project: project.clone(),
                    paths,
                    expected_revision: None,
                })
                .await
                .map_err(Failure::from)?;
            Some(format!("Removed {count} file{}", if count == 1 { "" } else { "s" }))
        }
        FilesCommand::LoadAider { file } => {
            return crate::interop::load_aider(ctx, &mut client, &file, json, out).await;
        }
        FilesCommand::SaveAider { file } => return crate::interop::save_aider(ctx, &mut client, &file, out).await,
        FilesCommand::Set { read_only, paths } => {
            let files = to_files(&paths, read_only);
            client
                .set_context_files(SetContextFilesRequest {
                    project: project.clone(),
                    files,
                    expected_revision: None,
                })
                .await
                .map_err(Failure::from)?;
            Some("Replaced the context".to_owned())
        }
    };
    let files = working_page(&mut client, &project, 0, 1).await?.files;
    if json {
        return Ok(output::print_json(
            out,
            &json!(files.iter().map(output::file_json).collect::<Vec<_>>()),
        )?);
    }
    if let Some(summary) = summary {
        writeln!(out, "{summary}; {} in context:", files.len())?;
    }
    print_files(out, &files, ctx.style)?;
    Ok(())
}

pub async fn save(ctx: &Ctx, name: String, overwrite: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let mut client = ctx.client().await?;
    let mode = if overwrite {
        SaveMode::Overwrite
    } else {
        SaveMode::CreateNew
    };
    let info = client
        .save_session(SaveSessionRequest {
            project,
            name,
            mode: mode as i32,
        })
        .await
        .map_err(Failure::from)?
        .into_inner();
    let verb = if overwrite { "Overwrote" } else { "Saved" };
    let note = if overwrite {
        " — the previous version is in the trash"
    } else {
        ""
    };
    writeln!(
        out,
        "{verb} \"{}\" ({} messages, {} files){note}",
        info.name, info.message_count, info.file_count
    )?;
    Ok(())
}

pub async fn load(ctx: &Ctx, name: String, messages: bool, files: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let (messages, files) = if !messages && !files {
        (true, true)
    } else {
        (messages, files)
    };
    let project = ctx.project()?;
    let mut client = ctx.client().await?;
    let request = LoadSessionRequest {
        project,
        name: name.clone(),
        messages,
        files,
        expected_revision: None,
    };
    let ack = client.load_session(request).await.map_err(Failure::from)?.into_inner();
    let what = match (messages, files) {
        (true, true) => "messages and files",
        (true, false) => "messages",
        _ => "files",
    };
    writeln!(
        out,
        "Loaded the {what} of \"{}\" (revision {}) — what they replaced is in the trash",
        name.trim(),
        ack.revision
    )?;
    Ok(())
}

pub async fn ls(ctx: &Ctx, json: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let mut client = ctx.client().await?;
    let sessions = client
        .list_sessions(ListSessionsRequest {
            project: project.clone(),
        })
        .await
        .map_err(Failure::from)?
        .into_inner()
        .sessions;
    if json {
        return Ok(output::print_json(
            out,
            &json!(sessions.iter().map(output::session_json).collect::<Vec<_>>()),
        )?);
    }
    if sessions.is_empty() {
        writeln!(
            out,
            "No saved sessions in {project} — save one with `chronicle save NAME`"
        )?;
        return Ok(());
    }
    let now = now_ms();
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                output::relative_time(s.updated_at_ms, now),
                s.message_count.to_string(),
                s.file_count.to_string(),
                output::cost(s.total_usage.as_ref()),
            ]
        })
        .collect();
    output::table(out, &["NAME", "UPDATED", "MESSAGES", "FILES", "COST"], &rows, ctx.style)?;
    Ok(())
}

pub async fn rename(ctx: &Ctx, old: String, new: String, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let mut client = ctx.client().await?;
    let info = client
        .rename_session(RenameSessionRequest {
            project,
            name: old.clone(),
            new_name: new,
        })
        .await
        .map_err(Failure::from)?
        .into_inner();
    writeln!(out, "Renamed \"{}\" to \"{}\"", old.trim(), info.name)?;
    Ok(())
}

pub async fn rm(ctx: &Ctx, name: String, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let mut client = ctx.client().await?;
    let response = client
        .delete_session(DeleteSessionRequest {
            project,
            name: name.clone(),
        })
        .await
        .map_err(Failure::from)?
        .into_inner();
    writeln!(
        out,
        "Moved \"{}\" to the trash — restore it with `chronicle trash restore {}`",
        name.trim(),
        response.trash_id
    )?;
    Ok(())
}

/// "30d", "12h", "90m", "2w", "45s" → milliseconds.
fn parse_age(text: &str) -> Result<i64, Failure> {
    let bad = || {
        Failure::Usage(format!(
            "{text:?} is not an age — write a number and a unit, such as 30d, 12h, 90m or 2w"
        ))
    };
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| bad())?;
    let unit_ms: i64 = match unit {
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return Err(bad()),
    };
    number.checked_mul(unit_ms).ok_or_else(bad)
}

pub async fn trash(
    ctx: &Ctx,
    command: Option<TrashCommand>,
    all: bool,
    json: bool,
    out: &mut Out<'_>,
) -> anyhow::Result<()> {
    let mut client = ctx.client().await?;
    match command.unwrap_or(TrashCommand::Ls) {
        TrashCommand::Ls => {
            let project = if all { String::new() } else { ctx.project()? };
            let entries = client
                .list_trash(ListTrashRequest {
                    project: project.clone(),
                })
                .await
                .map_err(Failure::from)?
                .into_inner()
                .entries;
            if json {
                return Ok(output::print_json(
                    out,
                    &json!(entries.iter().map(output::trash_json).collect::<Vec<_>>()),
                )?);
            }
            if entries.is_empty() {
                let scope = if all {
                    "anywhere".to_owned()
                } else {
                    format!("for {project}")
                };
                writeln!(out, "The trash is empty {scope}")?;
                return Ok(());
            }
            let now = now_ms();
            let rows: Vec<Vec<String>> = entries
                .iter()
                .map(|e| {
                    let mut row = vec![
                        e.id.clone(),
                        e.reason.clone(),
                        output::relative_time(e.trashed_at_ms, now),
                        e.message_count.to_string(),
                        e.file_count.to_string(),
                        e.name.clone(),
                    ];
                    if all {
                        row.push(e.project.clone());
                    }
                    row
                })
                .collect();
            let mut header = vec!["ID", "REASON", "TRASHED", "MESSAGES", "FILES", "NAME"];
            if all {
                header.push("PROJECT");
            }
            output::table(out, &header, &rows, ctx.style)?;
        }
        TrashCommand::Restore { id, new_name } => {
            let info = client
                .restore_trash(RestoreTrashRequest {
                    id: id.clone(),
                    new_name: new_name.unwrap_or_default(),
                })
                .await
                .map_err(Failure::from)?
                .into_inner();
            writeln!(
                out,
                "Restored trash entry {id} as \"{}\" in {} ({} messages, {} files)",
                info.name, info.project, info.message_count, info.file_count
            )?;
        }
        TrashCommand::Purge {
            id,
            older_than,
            everything,
        } => {
            let request = match (id, older_than, everything) {
                (Some(id), _, _) => PurgeTrashRequest { id, older_than_ms: 0 },
                (None, Some(age), _) => PurgeTrashRequest {
                    id: String::new(),
                    older_than_ms: now_ms().saturating_sub(parse_age(&age)?),
                },
                (None, None, true) => PurgeTrashRequest {
                    id: String::new(),
                    older_than_ms: i64::MAX,
                },
                (None, None, false) => {
                    return Err(Failure::Usage(
                        "say what to purge: a trash ID, --older-than AGE (e.g. 30d) or --all".into(),
                    )
                    .into());
                }
            };
            let purged = client
                .purge_trash(request)
                .await
                .map_err(Failure::from)?
                .into_inner()
                .purged;
            writeln!(
                out,
                "Purged {purged} trash entr{} for good",
                if purged == 1 { "y" } else { "ies" }
            )?;
        }
    }
    Ok(())
}

/// Shows a progress line on stderr, but only once an export has taken
/// more than a second and only when stderr is a terminal.
struct Progress {
    bar: ProgressBar,
    started: Instant,
    shown: bool,
    bytes: u64,
}

impl Progress {
    fn new() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template("{spinner} exporting… {msg}") {
            bar.set_style(style);
        }
        Progress {
            bar,
            started: Instant::now(),
            shown: false,
            bytes: 0,
        }
    }

    fn advance(&mut self, bytes: usize, page: u32, pages: u32) {
        self.bytes += bytes as u64;
        if !self.shown && self.started.elapsed() > Duration::from_secs(1) && io::stderr().is_terminal() {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown = true;
        }
        let mut msg = format!("{} KiB", self.bytes / 1024);
        if pages > 1 {
            msg.push_str(&format!(", page {page} of {pages}"));
        }
        self.bar.set_message(msg);
        self.bar.tick();
    }

    fn finish(self) {
        self.bar.finish_and_clear();
    }
}

/// The default export name: the daemon's suggestion plus the local time.
fn default_stem(suggested: &str) -> String {
    let stem = suggested.rsplit_once('.').map_or(suggested, |(stem, _)| stem);
    let stem = stem
        .rsplit_once('-')
        .filter(|(_, n)| n.len() == 3 && n.chars().all(|c| c.is_ascii_digit()))
        .map_or(stem, |(s, _)| s);
    let stem: String = stem
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let stem = if stem.is_empty() { "session".to_owned() } else { stem };
    let when = jiff::ZonedDateTime::now().strftime("%Y%m%d-%H%M%S").to_string();
    format!("{stem}-{when}")
}

async fn next_chunk(stream: &mut Streaming<ExportChunk>) -> Result<Option<ExportChunk>, Failure> {
    stream.message().await.map_err(Failure::from)
}

pub async fn export(ctx: &Ctx, args: ExportArgs, out: &mut Out<'_>) -> anyhow::Result<()> {
    if args.aider_history {
        return crate::interop::export_aider(ctx, args, out).await;
    }
    let project = ctx.project()?;
    let mut client = ctx.client().await?;
    let name = args.name.clone().unwrap_or_default();
    if args.markdown {
        let mut stream = client
            .export_markdown(ExportRequest { project, name })
            .await
            .map_err(Failure::from)?
            .into_inner();
        let Some(first) = next_chunk(&mut stream).await? else {
            return Err(Failure::Refused("the daemon sent an empty export".into()).into());
        };
        let target = match &args.output {
            Some(path) => path.clone(),
            None => PathBuf::from(format!("{}.md", default_stem(&first.suggested_file_name))),
        };
        let mut progress = Progress::new();
        if target.as_os_str() == "-" {
            let mut chunk = Some(first);
            while let Some(c) = chunk {
                out.write_all(&c.data)?;
                progress.advance(c.data.len(), 1, 1);
                chunk = next_chunk(&mut stream).await?;
            }
            progress.finish();
            return Ok(());
        }
        let mut file = create(&target)?;
        let mut chunk = Some(first);
        while let Some(c) = chunk {
            file.write_all(&c.data)
                .with_context(|| format!("cannot write {}", target.display()))?;
            progress.advance(c.data.len(), 1, 1);
            chunk = next_chunk(&mut stream).await?;
        }
        file.sync_all()
            .with_context(|| format!("cannot write {}", target.display()))?;
        progress.finish();
        writeln!(out, "{}", target.display())?;
        return Ok(());
    }
    let theme = match args.theme {
        ThemeArg::Light => Theme::Light,
        ThemeArg::Dark => Theme::Dark,
    };
    let request = ExportImageRequest {
        project,
        name,
        theme: theme as i32,
        width_px: args.width.unwrap_or(0),
        scale: args.scale.unwrap_or(0.0),
        max_page_height_px: args.page_height.unwrap_or(0),
        first_message_id: args.from.unwrap_or(0),
        last_message_id: args.to.unwrap_or(0),
    };
    let mut stream = client.export_image(request).await.map_err(Failure::from)?.into_inner();
    let mut progress = Progress::new();
    let mut current: Option<(PathBuf, fs::File)> = None;
    let mut stem: Option<String> = None;
    let mut stdout_used = false;
    while let Some(chunk) = next_chunk(&mut stream).await? {
        progress.advance(chunk.data.len(), chunk.page, chunk.page_count);
        if args.output.as_deref() == Some(Path::new("-")) {
            if chunk.page_count > 1 {
                return Err(Failure::Usage(format!(
                    "this export has {} pages and cannot go to stdout — give -o a file name",
                    chunk.page_count
                ))
                .into());
            }
            out.write_all(&chunk.data)?;
            stdout_used = true;
            continue;
        }
        if current.is_none() {
            let base = stem.get_or_insert_with(|| match &args.output {
                Some(path) => path.with_extension("").to_string_lossy().into_owned(),
                None => default_stem(&chunk.suggested_file_name),
            });
            let path = if chunk.page_count > 1 {
                PathBuf::from(format!("{base}-{:03}.png", chunk.page))
            } else {
                args.output
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(format!("{base}.png")))
            };
            let file = create(&path)?;
            current = Some((path, file));
        }
        if let Some((path, file)) = current.as_mut() {
            file.write_all(&chunk.data)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        if chunk.last_in_page
            && let Some((path, file)) = current.take()
        {
            file.sync_all()
                .with_context(|| format!("cannot write {}", path.display()))?;
            writeln!(out, "{}", path.display())?;
        }
    }
    progress.finish();
    if current.is_some() || (stem.is_none() && !stdout_used) {
        return Err(Failure::Refused("the image export ended before its last page was complete".into()).into());
    }
    Ok(())
}

fn create(path: &Path) -> anyhow::Result<fs::File> {
    fs::File::create(path).map_err(|err| Failure::Refused(format!("cannot create {}: {err}", path.display())).into())
}

pub async fn watch(ctx: &Ctx, all: bool, json: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = if all { String::new() } else { ctx.project()? };
    let mut client = ctx.client().await?;
    let mut stream = client
        .watch(WatchRequest { project })
        .await
        .map_err(Failure::from)?
        .into_inner();
    loop {
        let event = tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            event = stream.message() => event.map_err(Failure::from)?,
        };
        let Some(event) = event else {
            return Err(Failure::Unavailable("the daemon closed the watch stream".into()).into());
        };
        let kind = EventKind::try_from(event.kind).unwrap_or(EventKind::Unspecified);
        let kind_name = kind
            .as_str_name()
            .trim_start_matches("EVENT_KIND_")
            .to_lowercase()
            .replace('_', " ");
        if json {
            let value = json!({
                "project": event.project,
                "revision": event.revision,
                "kind": kind_name.replace(' ', "_"),
                "at": output::iso_time(event.at_ms),
                "session_name": event.session_name,
                "message": event.message.as_ref().map(output::message_json),
                "files": event.files.iter().map(output::file_json).collect::<Vec<_>>(),
                "delta": event.delta,
            });
            serde_json::to_writer(&mut *out, &value)?;
            writeln!(out)?;
        } else {
            let mut line = format!(
                "{}  rev {:<5} {}",
                ctx.style.dim(&output::local_time(event.at_ms)),
                event.revision,
                ctx.style.bold(&kind_name)
            );
            if all && !event.project.is_empty() {
                line.push_str(&format!("  {}", event.project));
            }
            if let Some(m) = &event.message {
                let first = m.content.lines().next().unwrap_or("");
                let first: String = first.chars().take(80).collect();
                line.push_str(&format!("  #{} {}: {first}", m.id, output::role_label(m.role)));
            }
            if !event.session_name.is_empty() {
                line.push_str(&format!("  \"{}\"", event.session_name));
            }
            writeln!(out, "{line}")?;
        }
        out.flush()?;
    }
}

pub fn completions(shell: clap_complete::Shell, out: &mut Out<'_>) {
    clap_complete::generate(shell, &mut Cli::command(), "chronicle", out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_with_units() {
        assert_eq!(parse_age("30d").ok(), Some(30 * 86_400_000));
        assert_eq!(parse_age("2w").ok(), Some(14 * 86_400_000));
        assert!(parse_age("30").is_err());
        assert!(parse_age("d").is_err());
        assert!(parse_age("5y").is_err());
    }

    #[test]
    fn default_names_keep_the_session_stem() {
        let stem = default_stem("fix-login-001.png");
        assert!(stem.starts_with("fix-login-2"), "{stem}");
        assert!(!stem.contains('/'));
    }
}
