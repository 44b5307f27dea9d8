//! `search`, `fork` and `rewind`: full-text search over every session
//! (hits grouped by session, the match highlighted, and the command that
//! opens each), a saved session forked from any message, and the working
//! session rewound to a message (the rest goes to the trash).

use std::io::Write;

use chronicle_client::v1::{SearchHit, SearchRequest, SessionKind};
use serde_json::json;

use crate::ctx::{Ctx, Out};
use crate::output::{self, Style, count};

pub struct SearchArgs {
    pub query: String,
    pub all_projects: bool,
    pub trash: bool,
    pub limit: u32,
    pub json: bool,
}

pub async fn search(ctx: &Ctx, args: SearchArgs, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = if args.all_projects {
        String::new()
    } else {
        ctx.project()?
    };
    let response = ctx
        .client()
        .await?
        .search(SearchRequest {
            query: args.query.clone(),
            project: project.clone(),
            include_trash: args.trash,
            limit: args.limit,
            page_token: String::new(),
        })
        .await?;
    if args.json {
        let value = json!({
            "query": args.query,
            "total_hits": response.total_hits,
            "index_catching_up": response.index_catching_up,
            "next_page_token": response.next_page_token,
            "hits": response.hits.iter().map(hit_json).collect::<Vec<_>>(),
        });
        return Ok(output::print_json(out, &value)?);
    }
    let s = ctx.style;
    if response.index_catching_up {
        writeln!(
            out,
            "{}",
            s.dim("The search index is still being built from the database — results may be incomplete")
        )?;
    }
    if response.hits.is_empty() {
        let scope = if args.all_projects {
            "any project".to_owned()
        } else {
            format!("{project} (--all-projects searches every project)")
        };
        writeln!(out, "No messages match in {scope}")?;
        return Ok(());
    }
    let shown = response.hits.len() as u64;
    let mut more = String::new();
    if response.total_hits > shown {
        more = format!(", the best {shown} shown (--limit N shows more)");
    }
    writeln!(out, "{}{more}", count(response.total_hits, "match"))?;
    // Grouped by session, in the order each session's best hit ranks.
    let mut groups: Vec<(String, i32, String, Vec<&SearchHit>)> = Vec::new();
    for hit in &response.hits {
        match groups
            .iter_mut()
            .find(|(p, k, n, _)| *p == hit.project && *k == hit.kind && *n == hit.session_name)
        {
            Some(group) => group.3.push(hit),
            None => groups.push((hit.project.clone(), hit.kind, hit.session_name.clone(), vec![hit])),
        }
    }
    for (project_of, kind, name, hits) in groups {
        writeln!(out)?;
        let mut title = session_title(kind, &name);
        if project_of != project {
            title = format!("{title} — {project_of}");
        }
        writeln!(out, "{}", s.bold(&title))?;
        for hit in hits {
            let mut head = format!(
                "  #{:<4} {}  {}",
                hit.message_id,
                s.role(hit.role, output::role_label(hit.role)),
                s.dim(&output::local_time(hit.created_at_ms))
            );
            if !hit.model.is_empty() {
                head.push_str(&format!("  {}", hit.model));
            }
            writeln!(out, "{head}")?;
            for line in highlighted(&hit.snippet, hit, s)
                .lines()
                .filter(|l| !l.trim().is_empty())
            {
                writeln!(out, "      {}", line.trim_end())?;
            }
            writeln!(out, "      {}", s.dim(&open_command(hit, &project)))?;
        }
    }
    Ok(())
}

fn session_title(kind: i32, name: &str) -> String {
    match SessionKind::try_from(kind).unwrap_or(SessionKind::Unspecified) {
        SessionKind::Working => "Working session".to_owned(),
        SessionKind::Trash => format!("Trash: {name}"),
        _ => format!("Saved session \"{name}\""),
    }
}

/// The snippet with each highlighted span in colour on a terminal, else
/// between `**`.
fn highlighted(snippet: &str, hit: &SearchHit, s: Style) -> String {
    let mut text = String::new();
    let mut at = 0usize;
    for span in &hit.highlights {
        let (start, end) = (span.start as usize, span.end as usize);
        let (Some(before), Some(matched)) = (snippet.get(at..start), snippet.get(start..end)) else {
            continue;
        };
        text.push_str(before);
        text.push_str(&s.highlight(matched));
        at = end;
    }
    text.push_str(snippet.get(at..).unwrap_or_default());
    text
}

/// The command that shows the hit in its session.
fn open_command(hit: &SearchHit, current: &str) -> String {
    let project = if hit.project == current {
        String::new()
    } else {
        format!(" -C {}", shell_quote(&hit.project))
    };
    match SessionKind::try_from(hit.kind).unwrap_or(SessionKind::Unspecified) {
        SessionKind::Working => format!("chronicle{project} show --at {}", hit.message_id),
        SessionKind::Trash => {
            format!("in the trash — `chronicle{project} trash` lists it, `trash restore ID` brings it back")
        }
        _ => format!(
            "chronicle{project} show --session {} --at {}",
            shell_quote(&hit.session_name),
            hit.message_id
        ),
    }
}

fn shell_quote(text: &str) -> String {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

fn hit_json(hit: &SearchHit) -> serde_json::Value {
    let kind = match SessionKind::try_from(hit.kind).unwrap_or(SessionKind::Unspecified) {
        SessionKind::Working => "working",
        SessionKind::Saved => "saved",
        SessionKind::Trash => "trash",
        SessionKind::Unspecified => "unspecified",
    };
    json!({
        "project": hit.project,
        "kind": kind,
        "session": hit.session_name,
        "message_id": hit.message_id,
        "role": output::role_label(hit.role),
        "created_at": output::iso_time(hit.created_at_ms),
        "model": hit.model,
        "score": hit.score,
        "snippet": hit.snippet,
        "highlights": hit.highlights.iter().map(|h| json!([h.start, h.end])).collect::<Vec<_>>(),
    })
}

pub async fn fork(
    ctx: &Ctx,
    source: Option<String>,
    at: u64,
    new_name: String,
    out: &mut Out<'_>,
) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let info = ctx
        .client()
        .await?
        .fork(&project, source.as_deref(), at, &new_name)
        .await?;
    let from = match source {
        Some(name) => format!("\"{}\"", name.trim()),
        None => "the working session".to_owned(),
    };
    writeln!(
        out,
        "Forked {from} at message {at} as \"{}\" ({}, {}) — load it with `chronicle load {}`",
        info.name,
        count(info.message_count, "message"),
        count(u64::from(info.file_count), "file"),
        shell_quote(&info.name)
    )?;
    Ok(())
}

pub async fn rewind(ctx: &Ctx, keep_through: u64, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let ack = ctx.client().await?.rewind(&project, keep_through, None).await?;
    writeln!(
        out,
        "Rewound the working session to message {keep_through} (revision {}) — the later messages are in the trash (`chronicle trash`), restorable",
        ack.revision
    )?;
    Ok(())
}
