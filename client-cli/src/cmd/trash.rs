//! `chronicle trash [ls|restore|purge]`: everything that was deleted,
//! overwritten, replaced or cleared, until it is purged for good.

use std::io::Write;

use chronicle_client::time;
use serde_json::json;

use crate::cli::{TrashCommand, TrashListArgs};
use crate::ctx::{Ctx, Out};
use crate::error::Failure;
use crate::output::{self, count_as};

pub async fn trash(
    ctx: &Ctx,
    command: Option<TrashCommand>,
    list: TrashListArgs,
    out: &mut Out<'_>,
) -> anyhow::Result<()> {
    match command.unwrap_or(TrashCommand::Ls(TrashListArgs::default())) {
        // `trash --json ls` and `trash ls --json` mean the same.
        TrashCommand::Ls(ls) => {
            list_entries(
                ctx,
                TrashListArgs {
                    all: list.all || ls.all,
                    json: list.json || ls.json,
                },
                out,
            )
            .await
        }
        TrashCommand::Restore { id, new_name } => {
            let info = ctx
                .client()
                .await?
                .restore(&id, new_name.as_deref().unwrap_or_default())
                .await?;
            writeln!(
                out,
                "Restored trash entry {id} as \"{}\" in {} ({}, {})",
                info.name,
                info.project,
                output::count(info.message_count, "message"),
                output::count(u64::from(info.file_count), "file")
            )?;
            Ok(())
        }
        TrashCommand::Purge {
            id,
            older_than,
            everything,
        } => {
            let (id, older_than_ms) = match (id, older_than, everything) {
                (Some(id), _, _) => (id, 0),
                (None, Some(age), _) => {
                    // An age needs its unit: `--older-than 30` is far
                    // likelier to mean days than the seconds it would read as.
                    let unitless = age.trim().bytes().all(|b| b.is_ascii_digit());
                    let age = time::parse_duration(&age).ok().filter(|_| !unitless).ok_or_else(|| {
                        Failure::usage(format!(
                            "{age:?} is not an age — write a number and a unit, such as 30d, 12h, 90m or 2w"
                        ))
                    })?;
                    (String::new(), time::now_ms().saturating_sub(time::duration_ms(age)))
                }
                (None, None, true) => (String::new(), i64::MAX),
                (None, None, false) => {
                    return Err(
                        Failure::usage("say what to purge: a trash ID, --older-than AGE (e.g. 30d) or --all").into(),
                    );
                }
            };
            let purged = ctx.client().await?.purge(&id, older_than_ms).await?;
            writeln!(
                out,
                "Purged {} for good",
                count_as(u64::from(purged), "trash entry", "trash entries")
            )?;
            Ok(())
        }
    }
}

async fn list_entries(ctx: &Ctx, args: TrashListArgs, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = if args.all { String::new() } else { ctx.project()? };
    let entries = ctx.client().await?.trash(&project).await?;
    if args.json {
        return Ok(output::print_json(
            out,
            &json!(entries.iter().map(output::trash_json).collect::<Vec<_>>()),
        )?);
    }
    if entries.is_empty() {
        let scope = if args.all {
            "anywhere".to_owned()
        } else {
            format!("for {project}")
        };
        writeln!(out, "The trash is empty {scope}")?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let mut row = vec![
                e.id.clone(),
                e.reason.clone(),
                output::relative_time(e.trashed_at_ms),
                e.message_count.to_string(),
                e.file_count.to_string(),
                e.name.clone(),
            ];
            if args.all {
                row.push(e.project.clone());
            }
            row
        })
        .collect();
    let mut header = vec!["ID", "REASON", "TRASHED", "MESSAGES", "FILES", "NAME"];
    if args.all {
        header.push("PROJECT");
    }
    output::table(out, &header, &rows, ctx.style)?;
    Ok(())
}
