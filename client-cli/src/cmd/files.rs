//! `chronicle files [ls|add|rm|set|load-aider|save-aider]`: the files in
//! the working session's context. Paths are taken relative to where the
//! command runs and sent absolute; the daemon stores them relative to the
//! project root.

use std::{io::Write, path::PathBuf};

use anyhow::Context as _;
use chronicle_client::{Session, paths, v1::ContextFile};
use serde_json::json;

use crate::cli::FilesCommand;
use crate::cmd::{aider, show::print_files};
use crate::ctx::{Ctx, Out};
use crate::output::{self, count};

pub async fn files(ctx: &Ctx, command: Option<FilesCommand>, json: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = ctx.project()?;
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let to_files = |paths: &[PathBuf], read_only: bool| -> Vec<ContextFile> {
        paths
            .iter()
            .map(|p| ContextFile {
                path: paths::absolute(&cwd, p).to_string_lossy().into_owned(),
                read_only,
                ..ContextFile::default()
            })
            .collect()
    };
    let client = ctx.client().await?;
    let summary = match command.unwrap_or(FilesCommand::Ls) {
        FilesCommand::Ls => None,
        FilesCommand::Add { read_only, paths } => {
            client.add_files(&project, to_files(&paths, read_only)).await?;
            Some(format!("Added {}", count(paths.len() as u64, "file")))
        }
        FilesCommand::Rm { paths } => {
            let paths: Vec<String> = to_files(&paths, false).into_iter().map(|f| f.path).collect();
            let removed = paths.len() as u64;
            client.remove_files(&project, paths).await?;
            Some(format!("Removed {}", count(removed, "file")))
        }
        FilesCommand::LoadAider { file } => return aider::load_files(ctx, &file, json, out).await,
        FilesCommand::SaveAider { file } => return aider::save_files(ctx, &file, out).await,
        FilesCommand::Set { read_only, paths } => {
            client.set_files(&project, to_files(&paths, read_only)).await?;
            Some("Replaced the context".to_owned())
        }
    };
    let files = client.page(&project, &Session::Working, 0, 1).await?.files;
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
