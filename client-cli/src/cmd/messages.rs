//! The working session's messages: `open` (load last, or start empty),
//! `add`, `edit`, `rm-msg` and `clear`. What a verb replaces or removes
//! goes to the trash, and the output says so.

use std::io::{self, Read, Write};

use anyhow::Context as _;
use chronicle_client::{
    Session,
    v1::{Message, Role, StartMode},
};

use crate::cli::RoleArg;
use crate::ctx::{Ctx, Out};
use crate::error::Failure;
use crate::output::count;

/// How many messages the working session holds now.
async fn message_count(ctx: &Ctx, project: &str) -> Result<u64, Failure> {
    Ok(ctx
        .client()
        .await?
        .page(project, &Session::Working, 0, 1)
        .await?
        .total_messages)
}

pub async fn open(ctx: &Ctx, empty: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let client = ctx.client().await?;
    let before = if empty {
        Some(message_count(ctx, &project).await?)
    } else {
        None
    };
    let start = if empty { StartMode::Empty } else { StartMode::Last };
    let state = client.open_project(&project, start).await?;
    match before {
        Some(n) if n > 0 => writeln!(
            out,
            "Started an empty session in {project}; the previous one ({}) is in the trash — `chronicle trash` lists it",
            count(n, "message")
        )?,
        _ => writeln!(
            out,
            "Opened {project}: {}, {}, {} saved sessions (revision {})",
            count(state.message_count, "message"),
            count(u64::from(state.file_count), "file"),
            state.saved_session_count,
            state.revision
        )?,
    }
    Ok(())
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
        None => Err(Failure::usage("give the message text as an argument, or - to read it from stdin").into()),
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

pub async fn add(
    ctx: &Ctx,
    role_arg: RoleArg,
    model: Option<String>,
    text: Option<String>,
    out: &mut Out<'_>,
) -> anyhow::Result<()> {
    let content = read_text(text)?;
    let project = ctx.project()?;
    let message = Message {
        role: role(role_arg) as i32,
        content,
        model: model.unwrap_or_default(),
        ..Message::default()
    };
    let ack = ctx.client().await?.append(&project, message, None).await?;
    writeln!(out, "Added message #{} (revision {})", ack.message_id, ack.revision)?;
    Ok(())
}

pub async fn edit(ctx: &Ctx, id: u64, text: Option<String>, out: &mut Out<'_>) -> anyhow::Result<()> {
    let content = read_text(text)?;
    let project = ctx.project()?;
    let client = ctx.client().await?;
    let page = client
        .page(&project, &Session::Working, id.saturating_sub(1), 1)
        .await?;
    let mut message = page.messages.into_iter().find(|m| m.id == id).ok_or_else(|| {
        Failure::refused(format!(
            "message {id} is not in the working session of {project} — list ids with `chronicle show`"
        ))
    })?;
    message.content = content;
    let ack = client.update(&project, message, Some(page.revision)).await?;
    writeln!(out, "Updated message #{id} (revision {})", ack.revision)?;
    Ok(())
}

pub async fn rm_msg(ctx: &Ctx, id: u64, after: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let before = message_count(ctx, &project).await?;
    let ack = ctx.client().await?.delete_messages(&project, id, after).await?;
    let removed = before.saturating_sub(message_count(ctx, &project).await?);
    writeln!(
        out,
        "Removed {} from #{id} (revision {}) — they are in the trash: `chronicle trash`",
        count(removed, "message"),
        ack.revision
    )?;
    Ok(())
}

pub async fn clear(ctx: &Ctx, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let before = message_count(ctx, &project).await?;
    let ack = ctx.client().await?.clear(&project).await?;
    if before == 0 {
        writeln!(out, "The working session had no messages (revision {})", ack.revision)?;
    } else {
        writeln!(
            out,
            "Cleared {} (revision {}) — they are in the trash: `chronicle trash`",
            count(before, "message"),
            ack.revision
        )?;
    }
    Ok(())
}
