//! Exports of one session: `ExportMarkdown` and `ExportImage`. The
//! handler checks the request, takes a read snapshot of the session from
//! the store, builds the renderers' [`SessionHeader`] from it, and runs
//! `chronicle-export` on a blocking thread whose output streams to the
//! client through the [`ChunkSink`].

use chronicle_export::{
    self as export, SessionHeader, markdown,
    png::{self, ImageOptions},
};
use chronicle_proto::v1::{ExportChunk, ExportImageRequest, ExportRequest};
use jiff::tz::TimeZone;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::chunks::{CHUNK_QUEUE, ChunkSink};
use super::context::{SessionsService, project, session_name};
use super::errors::{fail, invalid, stream_failure};
use crate::store::{self, ExportSource, ProjectPath};

type Download = ReceiverStream<Result<ExportChunk, Status>>;

/// What the renderers show above the messages, from the store's snapshot.
fn header(source: &ExportSource, exported_at_ms: i64, time_zone: TimeZone) -> SessionHeader {
    SessionHeader {
        project: source.info.project.clone(),
        name: source.info.name.clone(),
        updated_at_ms: source.info.updated_at_ms,
        message_count: source.info.message_count,
        total_usage: source.info.total_usage,
        exported_at_ms,
        time_zone,
    }
}

/// The zone the client asked times to be shown in; empty = the daemon's.
fn time_zone(rpc: &'static str, name: &str) -> Result<TimeZone, Status> {
    match name {
        "" => Ok(TimeZone::system()),
        name => TimeZone::get(name).map_err(|_| {
            invalid(
                rpc,
                format!("time_zone {name:?} is not a known time zone — give an IANA name such as \"Europe/Berlin\", or leave it empty for the daemon's own"),
            )
        }),
    }
}

/// Checks the name and takes the read snapshot of the session (the
/// working one when `name` is empty).
fn snapshot(
    svc: &SessionsService,
    rpc: &'static str,
    project: &ProjectPath,
    name: &str,
) -> Result<ExportSource, Status> {
    let name = match name {
        "" => None,
        raw => Some(session_name(rpc, raw)?),
    };
    let source = svc
        .store
        .export_source(project, name.as_ref())
        .map_err(|e| fail(rpc, e))?;
    svc.activity.touch(project);
    Ok(source)
}

pub(super) async fn export_markdown(
    svc: &SessionsService,
    request: Request<ExportRequest>,
) -> Result<Response<Download>, Status> {
    const RPC: &str = "ExportMarkdown";
    let req = request.into_inner();
    let project = project(RPC, &req.project)?;
    let zone = time_zone(RPC, &req.time_zone)?;
    let source = snapshot(svc, RPC, &project, &req.name)?;
    let (tx, rx) = mpsc::channel(CHUNK_QUEUE);
    let file_name = format!("{}.md", export::file_stem(&source.info.name));
    // A long export is activity: the daemon must not idle out under it.
    let busy = svc.activity.stream(None);
    tokio::task::spawn_blocking(move || {
        let _busy = busy;
        let mut sink = ChunkSink::new(tx.clone(), file_name);
        let header = header(&source, store::now_ms(), zone);
        // As for images: a renderer panic must end the stream with a
        // status, never cut it short as if the document were whole (the
        // last chunk, `last_in_page`, is sent only after a clean finish).
        let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            source
                .messages(0, u64::MAX)
                .map_err(|err| export::ExportError::Source(Box::new(err)))
                .and_then(|messages| markdown::write(&mut sink, &header, &source.files, messages))
                .and_then(|()| sink.finish().map_err(export::ExportError::from))
        }));
        let failure = match rendered {
            Ok(Ok(())) => None,
            Ok(Err(err)) => Some(err.to_string()),
            Err(_) => Some("the Markdown renderer failed on this session — report the bug".to_owned()),
        };
        if let Some(message) = failure
            && !sink.client_gone
        {
            let _ = tx.blocking_send(Err(stream_failure(RPC, message)));
        }
    });
    Ok(Response::new(ReceiverStream::new(rx)))
}

pub(super) async fn export_image(
    svc: &SessionsService,
    request: Request<ExportImageRequest>,
) -> Result<Response<Download>, Status> {
    const RPC: &str = "ExportImage";
    let req = request.into_inner();
    let project = project(RPC, &req.project)?;
    let options = ImageOptions::new(
        req.theme,
        req.width_px,
        req.scale,
        req.max_page_height_px,
        req.first_message_id,
        req.last_message_id,
    )
    .map_err(|message| invalid(RPC, message))?;
    let zone = time_zone(RPC, &req.time_zone)?;
    let source = snapshot(svc, RPC, &project, &req.name)?;
    let (tx, rx) = mpsc::channel(CHUNK_QUEUE);
    let stem = export::file_stem(&source.info.name);
    // A long export is activity: the daemon must not idle out under it.
    let busy = svc.activity.stream(None);
    tokio::task::spawn_blocking(move || {
        let _busy = busy;
        let mut sink = ChunkSink::for_pages(tx.clone(), stem);
        let (first, last) = (options.first_message_id, options.last_message_id);
        let header = header(&source, store::now_ms(), zone);
        // The renderer is written not to panic on any input; if it
        // did, the client still gets a status instead of a cut stream.
        let rendered = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            png::write(&mut sink, &options, &header, &source.files, || {
                source.messages(first, last)
            })
        }));
        let failure = match rendered {
            Ok(Ok(_pages)) => None,
            Ok(Err(err)) => Some(err.to_string()),
            Err(_) => {
                Some("the image renderer failed on this session — export it as Markdown and report the bug".to_owned())
            }
        };
        if let Some(message) = failure
            && !sink.client_gone
        {
            let _ = tx.blocking_send(Err(stream_failure(RPC, message)));
        }
    });
    Ok(Response::new(ReceiverStream::new(rx)))
}
