//! An export saved where the user chooses: the first chunk read before
//! any dialog (so a daemon that cannot export says so first), then every
//! page written to its own file, each appearing only once it is whole.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use chronicle_client::{fs::AtomicFile, v1::ExportChunk};
use tonic::Streaming;

use super::Failure;

/// Asks where to save and writes every page there; the files written, or
/// `None` when the dialog was cancelled.
pub(super) async fn save(
    stream: &mut Streaming<ExportChunk>,
    kind: &str,
    extension: &str,
) -> Result<Option<Vec<PathBuf>>, Failure> {
    let Some(first) = stream.message().await? else {
        return Err(Failure {
            message: "the daemon sent an empty export".into(),
            lost: false,
        });
    };
    let suggested = if first.suggested_file_name.is_empty() {
        format!("chronicle.{extension}")
    } else {
        // Pages are numbered from the chosen name; offer it without
        // the first page's number.
        let page_suffix = format!("-{:03}.{extension}", first.page);
        match first.suggested_file_name.strip_suffix(&page_suffix) {
            Some(stem) if first.page_count > 1 => format!("{stem}.{extension}"),
            _ => first.suggested_file_name.clone(),
        }
    };
    let Some(target) = rfd::AsyncFileDialog::new()
        .set_title(format!("Export as {kind}"))
        .set_file_name(&suggested)
        .add_filter(kind, &[extension])
        .save_file()
        .await
    else {
        return Ok(None);
    };
    write_export(target.path(), first, stream).await.map(Some)
}

/// Writes an export to `target`; a multi-page image becomes
/// `stem-001.png`, `stem-002.png`, … beside it. Each file appears only
/// once it is whole.
async fn write_export(
    target: &Path,
    first: ExportChunk,
    stream: &mut Streaming<ExportChunk>,
) -> Result<Vec<PathBuf>, Failure> {
    let pages = first.page_count.max(1);
    let path_of = |page: u32| -> PathBuf {
        if pages <= 1 {
            return target.to_path_buf();
        }
        let stem = target.with_extension("");
        let extension = target.extension().and_then(|e| e.to_str()).unwrap_or("png");
        PathBuf::from(format!("{}-{page:03}.{extension}", stem.display()))
    };
    let failed = |what: &str, path: &Path, err: std::io::Error| Failure {
        message: format!("cannot {what} {}: {err}", path.display()),
        lost: false,
    };
    let mut written = Vec::new();
    let mut current: Option<AtomicFile> = None;
    let mut chunk = Some(first);
    while let Some(c) = chunk {
        let file = match current.as_mut() {
            Some(file) => file,
            None => {
                let path = path_of(c.page.max(1));
                current.insert(AtomicFile::create(&path).map_err(|err| failed("create", &path, err))?)
            }
        };
        file.write_all(&c.data)
            .map_err(|err| failed("write", file.target(), err))?;
        // Each page of a longer image is its own file.
        if c.last_in_page
            && pages > 1
            && let Some(file) = current.take()
        {
            written.push(commit(file)?);
        }
        chunk = stream.message().await?;
    }
    // Markdown and one-page images end with the stream.
    if let Some(file) = current.take() {
        written.push(commit(file)?);
    }
    Ok(written)
}

fn commit(file: AtomicFile) -> Result<PathBuf, Failure> {
    let path = file.target().to_path_buf();
    file.commit().map_err(|err| Failure {
        message: format!("cannot write {}: {err}", path.display()),
        lost: false,
    })
}
