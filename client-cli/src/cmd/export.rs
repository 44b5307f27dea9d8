//! `chronicle export NAME --markdown|--image`: the daemon renders, this
//! streams its chunks into files (or stdout). A file appears under its
//! name only once its last chunk has arrived ([`PendingFile`]).

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use chronicle_client::{
    Client,
    v1::{ExportImageRequest, Theme},
};

use crate::cli::{ExportArgs, ThemeArg};
use crate::cmd::aider;
use crate::ctx::{Ctx, Out};
use crate::error::Failure;
use crate::naming;
use crate::output;
use crate::pending::PendingFile;
use crate::progress::Progress;

pub async fn export(ctx: &Ctx, args: ExportArgs, out: &mut Out<'_>) -> anyhow::Result<()> {
    if args.aider_history {
        return aider::export_history(ctx, args, out).await;
    }
    if args.markdown {
        markdown(ctx, args, out).await
    } else {
        image(ctx, args, out).await
    }
}

async fn markdown(ctx: &Ctx, args: ExportArgs, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let name = args.name.clone().unwrap_or_default();
    let mut stream = ctx.client().await?.export_markdown(&project, &name).await?;
    let Some(first) = Client::next_chunk(&mut stream).await? else {
        return Err(Failure::refused("the daemon sent an empty export").into());
    };
    let target = match &args.output {
        Some(path) => path.clone(),
        None => PathBuf::from(format!("{}.md", naming::export_stem(&first.suggested_file_name))),
    };
    let mut progress = Progress::new();
    let mut file = if target.as_os_str() == "-" {
        None
    } else {
        Some(PendingFile::create(target)?)
    };
    let mut chunk = Some(first);
    let mut whole = false;
    while let Some(c) = chunk {
        match file.as_mut() {
            Some(file) => file.write(&c.data)?,
            None => out.write_all(&c.data)?,
        }
        progress.advance(c.data.len(), 1, 1);
        // The daemon marks the document's last chunk: a stream that ends
        // without it was cut short, whatever status came with the end.
        whole = c.last_in_page;
        chunk = Client::next_chunk(&mut stream).await?;
    }
    progress.finish();
    if !whole {
        return Err(Failure::refused(
            "the Markdown export ended before its last chunk — nothing was written; see `chronicle daemon logs` and retry",
        )
        .into());
    }
    if let Some(file) = file {
        writeln!(out, "{}", file.finish()?.display())?;
    }
    Ok(())
}

async fn image(ctx: &Ctx, args: ExportArgs, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let theme = match args.theme {
        ThemeArg::Light => Theme::Light,
        ThemeArg::Dark => Theme::Dark,
    };
    let request = ExportImageRequest {
        project,
        name: args.name.clone().unwrap_or_default(),
        theme: theme as i32,
        width_px: args.width.unwrap_or(0),
        scale: args.scale.unwrap_or(0.0),
        max_page_height_px: args.page_height.unwrap_or(0),
        first_message_id: args.from.unwrap_or(0),
        last_message_id: args.to.unwrap_or(0),
        // The client fills in this process's zone.
        time_zone: String::new(),
    };
    let mut stream = ctx.client().await?.export_image(request).await?;
    let to_stdout = args.output.as_deref() == Some(Path::new("-"));
    let mut progress = Progress::new();
    let mut current: Option<PendingFile> = None;
    let mut stem: Option<String> = None;
    let mut stdout_used = false;
    while let Some(chunk) = Client::next_chunk(&mut stream).await? {
        progress.advance(chunk.data.len(), chunk.page, chunk.page_count);
        if !chunk.missing_characters.is_empty() {
            warn_missing(&chunk.missing_characters);
        }
        if to_stdout {
            if chunk.page_count > 1 {
                return Err(Failure::usage(format!(
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
                None => naming::export_stem(&chunk.suggested_file_name),
            });
            let path = if chunk.page_count > 1 {
                PathBuf::from(format!("{base}-{:03}.png", chunk.page))
            } else {
                args.output
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(format!("{base}.png")))
            };
            current = Some(PendingFile::create(path)?);
        }
        if let Some(file) = current.as_mut() {
            file.write(&chunk.data)?;
        }
        if chunk.last_in_page
            && let Some(file) = current.take()
        {
            writeln!(out, "{}", file.finish()?.display())?;
        }
    }
    progress.finish();
    if current.is_some() || (stem.is_none() && !stdout_used) {
        return Err(Failure::refused("the image export ended before its last page was complete").into());
    }
    Ok(())
}

/// One line naming the characters drawn as boxes, with their code points
/// so a user can find a font that has them.
fn warn_missing(characters: &str) {
    let named: Vec<String> = characters
        .chars()
        .map(|c| format!("{c} (U+{:04X})", u32::from(c)))
        .collect();
    eprintln!(
        "chronicle: warning: no font could draw {}: {} — they show as boxes; install a font that has them (e.g. Debian's fonts-noto) and export again",
        output::count(named.len() as u64, "character"),
        named.join(", ")
    );
}
