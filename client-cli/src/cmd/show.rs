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

/// Messages shown before and after the one `--at` opens at.
const AROUND: usize = 2;

pub struct ShowArgs {
    pub tail: Option<usize>,
    pub session: Option<String>,
    pub at: Option<u64>,
    pub full: bool,
    pub json: bool,
}

pub async fn show(ctx: &Ctx, args: ShowArgs, out: &mut Out<'_>) -> anyhow::Result<()> {
    let ShowArgs {
        tail,
        session,
        at,
        full,
        json,
    } = args;
    let project = ctx.project()?;
    let which = match &session {
        Some(name) => Session::Saved(name.trim().to_owned()),
        None => Session::Working,
    };
    let mut pages = ctx.client().await?.pages(&project, which);
    let mut header = None;
    let mut messages: VecDeque<Message> = VecDeque::new();
    // With --at: a window of AROUND messages on each side of the target.
    let mut after_target: Option<usize> = None;
    'read: while let Some(mut page) = pages.next().await? {
        if header.is_none() {
            header = Some((page.revision, page.total_messages, std::mem::take(&mut page.files)));
        }
        for message in page.messages {
            if let Some(target) = at {
                match after_target {
                    Some(n) if n >= AROUND => break 'read,
                    Some(n) => after_target = Some(n + 1),
                    None if message.id == target => after_target = Some(0),
                    None if message.id > target => break 'read,
                    None => {}
                }
                messages.push_back(message);
                if after_target.is_none() && messages.len() > AROUND {
                    messages.pop_front();
                }
                continue;
            }
            messages.push_back(message);
            if tail.is_some_and(|n| messages.len() > n) {
                messages.pop_front();
            }
        }
    }
    let what = match &session {
        Some(name) => format!("saved session \"{}\"", name.trim()),
        None => "the working session".to_owned(),
    };
    if let Some(target) = at
        && after_target.is_none()
    {
        return Err(chronicle_client::Error::refused(format!(
            "message {target} is not in {what} of {project} — `chronicle show{}` lists its ids",
            session
                .as_ref()
                .map(|n| format!(" --session '{}'", n.trim()))
                .unwrap_or_default()
        ))
        .into());
    }
    let (revision, total, files) = header.unwrap_or_default();
    if json {
        let value = json!({
            "project": project,
            "session": session.as_deref().map(str::trim),
            "revision": revision,
            "total_messages": total,
            "files": files.iter().map(output::file_json).collect::<Vec<_>>(),
            "messages": messages.iter().map(output::message_json).collect::<Vec<_>>(),
        });
        return Ok(output::print_json(out, &value)?);
    }
    let s = ctx.style;
    let title = match &session {
        Some(name) => format!("Saved session \"{}\" of {project}", name.trim()),
        None => format!("Working session of {project}"),
    };
    writeln!(
        out,
        "{} — revision {revision}, {}, {}",
        s.bold(&title),
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
        let target = at == Some(message.id);
        if target {
            writeln!(out, "{}", s.bold("▶ here"))?;
        }
        print_message(out, message, full || target, s)?;
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
