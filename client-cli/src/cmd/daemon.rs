//! `chronicle status` and `chronicle daemon start|stop|restart|logs`: is the
//! daemon there, and its lifecycle by hand (every other command starts it
//! when needed).

use std::{fs, io::Write};

use chronicle_client::{Client, daemon, paths};
use serde_json::json;

use crate::cli::DaemonCommand;
use crate::ctx::{Ctx, Out};
use crate::error::Failure;
use crate::output;

pub async fn status(ctx: &Ctx, json: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let client = match Client::try_connect(&ctx.socket).await? {
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
    ctx.adopt(&client);
    let status = client.status().await?;
    let project = ctx.project()?;
    let projects = client.projects().await?;
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
        output::relative_time(status.started_at_ms)
    )?;
    writeln!(out, "{}  {}", s.bold("socket   "), status.socket)?;
    writeln!(out, "{}  {}", s.bold("data dir "), status.data_dir)?;
    writeln!(out, "{}  {}", s.bold("projects "), status.project_count)?;
    writeln!(out, "{}  {}", s.bold("sessions "), status.saved_session_count)?;
    writeln!(
        out,
        "{}  {}",
        s.bold("trash    "),
        output::count_as(u64::from(status.trash_count), "entry", "entries")
    )?;
    match here {
        Some(p) => writeln!(
            out,
            "{}  {} (revision {}, {}, {}, {} saved)",
            s.bold("project  "),
            p.project,
            p.revision,
            output::count(p.message_count, "message"),
            output::count(u64::from(p.file_count), "file"),
            p.saved_session_count
        )?,
        None => writeln!(out, "{}  {} (not opened yet)", s.bold("project  "), project)?,
    }
    Ok(())
}

pub async fn daemon(ctx: &Ctx, command: DaemonCommand, out: &mut Out<'_>) -> anyhow::Result<()> {
    match command {
        DaemonCommand::Start => {
            if let Some(client) = Client::try_connect(&ctx.socket).await? {
                let status = client.status().await?;
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
            let path = paths::daemon_log_path()
                .ok_or_else(|| Failure::usage("no data directory: set CHRONICLE_DATA_DIR or HOME"))?;
            let text = fs::read_to_string(&path).map_err(|err| {
                Failure::refused(format!(
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
