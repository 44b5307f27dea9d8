//! `chronicle show`: the working session as a reader wants it — header,
//! files, then each message's first lines (or all of them with `--full`),
//! read page by page so a session of any length streams through.

use std::{
    collections::VecDeque,
    io::{self, Write},
};

use chronicle_client::{
    Session,
    v1::{ContextFile, Message},
};
use serde_json::json;

use crate::ctx::{Ctx, Out};
use crate::output::{self, Style, count};

pub async fn show(ctx: &Ctx, tail: Option<usize>, full: bool, json: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let mut pages = ctx.client().await?.pages(&project, Session::Working);
    let mut header = None;
    let mut messages: VecDeque<Message> = VecDeque::new();
    while let Some(mut page) = pages.next().await? {
        if header.is_none() {
            header = Some((page.revision, page.total_messages, std::mem::take(&mut page.files)));
        }
        for message in page.messages {
            messages.push_back(message);
            if tail.is_some_and(|n| messages.len() > n) {
                messages.pop_front();
            }
        }
    }
    let (revision, total, files) = header.unwrap_or_default();
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
        "{} — revision {revision}, {}, {}",
        s.bold(&format!("Working session of {project}")),
        count(total, "message"),
        count(files.len() as u64, "file")
    )?;
    writeln!(out)?;
    print_files(out, &files, s)?;
    writeln!(out)?;
    if messages.is_empty() {
        writeln!(out, "{}", s.dim("No messages yet — add one with `chronicle add TEXT`"))?;
    }
    for message in &messages {
        print_message(out, message, full, s)?;
    }
    Ok(())
}

fn print_message(out: &mut Out<'_>, message: &Message, full: bool, s: Style) -> io::Result<()> {
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
    Ok(())
}

/// The context files, one per line, flagged read-only or missing.
pub fn print_files(out: &mut Out<'_>, files: &[ContextFile], s: Style) -> io::Result<()> {
    writeln!(out, "{}", s.bold("Files"))?;
    if files.is_empty() {
        writeln!(out, "  {}", s.dim("none — add some with `chronicle files add PATH`"))?;
    }
    for file in files {
        let flags = chronicle_client::text::file_flags(file);
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!("  ({})", flags.join(", "))
        };
        writeln!(out, "  {}{}", file.path, s.dim(&flags))?;
    }
    Ok(())
}
