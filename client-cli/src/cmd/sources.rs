//! `import claude|codex|opencode|gemini [PATH...]`, `import --discover`,
//! and `follow` (every agent's follows, listed and started here):
//! the daemon reads the agent's files (`ImportSource`) and this command
//! names them, shows progress on a terminal, and says what happened.
//! Paths are resolved here (relative to the current directory) and the
//! default locations come from this shell's environment (CLAUDE_CONFIG_DIR,
//! CODEX_HOME, XDG_DATA_HOME, HOME), so the user's setting wins over the daemon's.

use std::{
    io::{IsTerminal, Write},
    path::PathBuf,
};

use anyhow::Context as _;
use chronicle_client::{
    paths,
    v1::{FollowSourceRequest, ImportSourceRequest, ImportSourceSummary, SourceKind, UnfollowSourceRequest},
};
use serde_json::json;

use crate::cli::{FollowArgs, SourceArgs};
use crate::ctx::{Ctx, Out};
use crate::error::Failure;
use crate::output::{self, count};

/// The agents `--discover` looks for.
const DISCOVERED: [(&str, SourceKind); 4] = [
    ("claude", SourceKind::Claude),
    ("codex", SourceKind::Codex),
    ("opencode", SourceKind::Opencode),
    ("gemini", SourceKind::Gemini),
];

pub async fn import(
    ctx: &Ctx,
    agent: &str,
    kind: SourceKind,
    args: SourceArgs,
    out: &mut Out<'_>,
) -> anyhow::Result<()> {
    let cwd = std::env::current_dir()?;
    let paths: Vec<String> = if args.paths.is_empty() {
        let defaults: Vec<PathBuf> = paths::agent_session_dirs(agent)
            .into_iter()
            .filter(|d| d.exists())
            .collect();
        if defaults.is_empty() {
            return Err(Failure::usage(format!(
                "found no {agent} sessions in {} — name the files or directories to import",
                paths::agent_session_dirs(agent)
                    .first()
                    .map_or_else(|| "its default location".to_owned(), |d| d.display().to_string())
            ))
            .into());
        }
        defaults.iter().map(|p| p.to_string_lossy().into_owned()).collect()
    } else {
        args.paths
            .iter()
            .map(|p| paths::absolute(&cwd, p).to_string_lossy().into_owned())
            .collect()
    };
    let project = match &ctx.project_flag {
        Some(_) => ctx.project()?,
        None => String::new(),
    };
    let request = ImportSourceRequest {
        kind: kind as i32,
        paths,
        project,
        dry_run: args.dry_run,
    };
    let client = ctx.client().await?;
    let show_progress = !args.json && std::io::stderr().is_terminal();
    let summary = client
        .import_source_all(request, |p| {
            if show_progress {
                eprint!("\r{} of {} files read", p.files_done, p.files_total);
            }
        })
        .await?;
    if show_progress {
        eprint!("\r\x1b[K");
    }
    // `--working`: the newest session imported becomes the working
    // session, as `load` makes it (what it replaces goes to the trash).
    let loaded = match summary.sessions.first() {
        Some(newest) if args.working && !summary.dry_run => {
            client.load(&newest.project, &newest.name, true, true).await?;
            Some(newest)
        }
        _ => None,
    };
    if args.json {
        let mut value = summary_json(&summary);
        value["working"] = loaded.map_or(
            serde_json::Value::Null,
            |s| json!({"project": s.project, "name": s.name}),
        );
        return Ok(output::print_json(out, &value)?);
    }
    let verb = if summary.dry_run { "Would import" } else { "Imported" };
    let mut into = vec![count(summary.sessions_imported.into(), "new session")];
    if summary.sessions_updated > 0 {
        into.push(format!(
            "{} imported before",
            count(summary.sessions_updated.into(), "session")
        ));
    }
    writeln!(
        out,
        "{verb} {} into {}, from {} ({}).",
        count(summary.messages_imported, "message"),
        into.join(" and "),
        count(summary.files_read.into(), "file"),
        output::size(summary.bytes_read),
    )?;
    if summary.messages_updated > 0 {
        writeln!(
            out,
            "Updated {} whose source changed since (a tool result or usage written later).",
            count(summary.messages_updated, "message")
        )?;
    }
    if !summary.skipped.is_empty() {
        writeln!(
            out,
            "Skipped {} (not imported):",
            count(summary.skipped.len() as u64, "line")
        )?;
        for s in summary.skipped.iter().take(10) {
            writeln!(out, "  {}:{}: {}", s.file, s.line, s.reason)?;
        }
        if summary.skipped.len() > 10 {
            writeln!(out, "  … `--json` lists every one")?;
        }
    }
    match loaded {
        Some(s) => writeln!(
            out,
            "Loaded \"{}\" into the working session of {} — what it replaced is in the trash.",
            s.name, s.project
        )?,
        None if args.working && !summary.dry_run => writeln!(
            out,
            "Nothing new was imported, so the working session is unchanged — load an earlier import with `chronicle load NAME`."
        )?,
        None => {}
    }
    for project in &summary.projects {
        writeln!(out, "See them with `chronicle ls -C {project}`")?;
    }
    Ok(())
}

/// The `--json` shape of an import's summary.
pub fn summary_json(s: &ImportSourceSummary) -> serde_json::Value {
    json!({
        "sessions_imported": s.sessions_imported,
        "sessions_updated": s.sessions_updated,
        "messages_imported": s.messages_imported,
        "messages_updated": s.messages_updated,
        "skipped": s.skipped.iter().map(|k| json!({"file": k.file, "line": k.line, "reason": k.reason})).collect::<Vec<_>>(),
        "projects": s.projects,
        "sessions": s.sessions.iter().map(|i| json!({
            "project": i.project, "name": i.name, "created": i.created, "started_at_ms": i.started_at_ms,
        })).collect::<Vec<_>>(),
        "dry_run": s.dry_run,
    })
}

/// What each agent has on this machine, and what is not yet in Chronicle:
/// a dry-run import of each agent's default location.
pub async fn discover(ctx: &Ctx, json_out: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let mut rows = Vec::new();
    for (agent, kind) in DISCOVERED {
        let dirs: Vec<String> = paths::agent_session_dirs(agent)
            .into_iter()
            .filter(|d| d.exists())
            .map(|d| d.to_string_lossy().into_owned())
            .collect();
        let summary = if dirs.is_empty() {
            None
        } else {
            let request = ImportSourceRequest {
                kind: kind as i32,
                paths: dirs.clone(),
                project: String::new(),
                dry_run: true,
            };
            Some(client.import_source_all(request, |_| {}).await?)
        };
        rows.push((agent, dirs, summary));
    }
    if json_out {
        let value: serde_json::Map<String, serde_json::Value> = rows
            .iter()
            .map(|(agent, dirs, s)| {
                let s = s.clone().unwrap_or_default();
                (
                    agent.to_string(),
                    json!({
                        "locations": dirs,
                        "sessions": s.sessions_found,
                        "messages": s.messages_found,
                        "oldest_ms": s.oldest_ms,
                        "newest_ms": s.newest_ms,
                        "not_imported_sessions": s.sessions_imported,
                        "not_imported_messages": s.messages_imported,
                        "skipped_lines": s.skipped.len(),
                    }),
                )
            })
            .collect();
        return Ok(output::print_json(out, &serde_json::Value::Object(value))?);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|(agent, _, s)| match s {
            None => vec![
                agent.to_string(),
                "—".into(),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
            ],
            Some(s) => vec![
                agent.to_string(),
                s.sessions_found.to_string(),
                s.messages_found.to_string(),
                if s.oldest_ms > 0 {
                    output::local_time(s.oldest_ms)
                } else {
                    String::new()
                },
                if s.newest_ms > 0 {
                    output::local_time(s.newest_ms)
                } else {
                    String::new()
                },
                format!("{} sessions, {} messages", s.sessions_imported, s.messages_imported),
            ],
        })
        .collect();
    output::table(
        out,
        &["AGENT", "SESSIONS", "MESSAGES", "OLDEST", "NEWEST", "NOT YET IMPORTED"],
        &table,
        ctx.style,
    )?;
    writeln!(out, "Import with `chronicle import AGENT`.")?;
    Ok(())
}

/// `chronicle follow claude|codex|opencode|gemini [--all | PROJECT]`, and
/// `--stop`.
pub async fn follow(
    ctx: &Ctx,
    agent: &str,
    kind: SourceKind,
    args: FollowArgs,
    out: &mut Out<'_>,
) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let project = if args.all {
        String::new()
    } else {
        paths::resolve_project(args.project.as_deref().or(ctx.project_flag.as_deref()))
            .context("cannot read the current directory")?
    };
    let scope = if args.all {
        format!("every {agent} session")
    } else {
        format!("the {agent} sessions of {project}")
    };
    if args.stop {
        let response = client
            .unfollow_source(UnfollowSourceRequest {
                kind: kind as i32,
                project,
                all: args.all,
            })
            .await?;
        match response.follow {
            Some(f) => writeln!(
                out,
                "Stopped following {scope} ({} imported since the daemon started; the sessions stay)",
                count(f.messages_imported, "message")
            )?,
            None => writeln!(out, "{scope} were not being followed")?,
        }
        return Ok(());
    }
    let cwd = std::env::current_dir()?;
    let watched: Vec<String> = if args.paths.is_empty() {
        paths::agent_session_dirs(agent)
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    } else {
        args.paths
            .iter()
            .map(|p| paths::absolute(&cwd, p).to_string_lossy().into_owned())
            .collect()
    };
    if watched.is_empty() {
        return Err(Failure::usage(format!(
            "no default location for {agent} sessions (HOME is not set) — name one with --path DIR"
        ))
        .into());
    }
    let follow = client
        .follow_source(FollowSourceRequest {
            kind: kind as i32,
            project,
            all: args.all,
            paths: watched,
            ..FollowSourceRequest::default()
        })
        .await?;
    writeln!(
        out,
        "Following {scope} in {}: each becomes a saved session and keeps up as {agent} writes — stop with `chronicle follow {agent}{} --stop`",
        follow.paths.join(", "),
        if args.all { " --all" } else { "" }
    )?;
    Ok(())
}

fn kind_name(kind: i32) -> &'static str {
    match SourceKind::try_from(kind) {
        Ok(SourceKind::Claude) => "claude",
        Ok(SourceKind::Codex) => "codex",
        Ok(SourceKind::Opencode) => "opencode",
        Ok(SourceKind::Gemini) => "gemini",
        Ok(SourceKind::Aider) => "aider",
        _ => "unknown",
    }
}

/// `chronicle follow`: every follow, aider's included.
pub async fn list_follows(ctx: &Ctx, json_out: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let follows = client.source_follows().await?;
    if json_out {
        let list: Vec<_> = follows
            .iter()
            .map(|f| {
                json!({"agent": kind_name(f.kind), "project": f.project, "all": f.all, "paths": f.paths,
                       "since": output::iso_time(f.since_ms), "imported": f.messages_imported,
                       "files": f.files, "error": f.last_error})
            })
            .collect();
        return Ok(output::print_json(out, &json!(list))?);
    }
    if follows.is_empty() {
        writeln!(
            out,
            "Nothing is followed — start with `chronicle follow claude|codex|opencode|gemini|aider`"
        )?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = follows
        .iter()
        .map(|f| {
            let watching = f.paths.join(", ");
            vec![
                kind_name(f.kind).to_owned(),
                if f.all { "(all)".to_owned() } else { f.project.clone() },
                output::relative_time(f.since_ms),
                f.messages_imported.to_string(),
                if f.last_error.is_empty() {
                    watching
                } else {
                    format!("{watching} ({})", f.last_error)
                },
            ]
        })
        .collect();
    output::table(
        out,
        &["AGENT", "PROJECT", "SINCE", "IMPORTED", "WATCHING"],
        &rows,
        ctx.style,
    )?;
    Ok(())
}
