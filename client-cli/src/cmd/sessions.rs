//! Saved sessions: `save`, `load`, `ls`, `rename` and `rm`. A name is
//! never silently overwritten, and what a load or an overwrite replaces,
//! or what `rm` removes, goes to the trash.

use std::io::Write;

use chronicle_client::v1::SaveMode;
use serde_json::json;

use crate::ctx::{Ctx, Out};
use crate::output::{self, count};

pub async fn save(ctx: &Ctx, name: String, overwrite: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let mode = if overwrite {
        SaveMode::Overwrite
    } else {
        SaveMode::CreateNew
    };
    let info = ctx.client().await?.save(&project, &name, mode).await?;
    let verb = if overwrite { "Overwrote" } else { "Saved" };
    let note = if overwrite {
        " — the previous version is in the trash"
    } else {
        ""
    };
    writeln!(
        out,
        "{verb} \"{}\" ({}, {}){note}",
        info.name,
        count(info.message_count, "message"),
        count(u64::from(info.file_count), "file")
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
    let ack = ctx.client().await?.load(&project, &name, messages, files).await?;
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
    let sessions = ctx.client().await?.sessions(&project).await?;
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
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                output::relative_time(s.updated_at_ms),
                s.message_count.to_string(),
                s.file_count.to_string(),
                output::cost(s.total_usage.as_ref()),
                output::lineage(s),
            ]
        })
        .collect();
    output::table(
        out,
        &["NAME", "UPDATED", "MESSAGES", "FILES", "COST", "FORKED FROM"],
        &rows,
        ctx.style,
    )?;
    Ok(())
}

pub async fn rename(ctx: &Ctx, old: String, new: String, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let info = ctx.client().await?.rename(&project, &old, &new).await?;
    writeln!(out, "Renamed \"{}\" to \"{}\"", old.trim(), info.name)?;
    Ok(())
}

pub async fn rm(ctx: &Ctx, name: String, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let trash_id = ctx.client().await?.delete_session(&project, &name).await?;
    writeln!(
        out,
        "Moved \"{}\" to the trash — restore it with `chronicle trash restore {trash_id}`",
        name.trim()
    )?;
    Ok(())
}
