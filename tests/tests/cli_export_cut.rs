//! A Markdown export whose stream ends before the daemon's last chunk
//! (`last_in_page`) — a renderer that died, a connection cut — is reported
//! as failed by the CLI, and no file appears under the export's name. A
//! stand-in server on the sandbox's socket sends one chunk and a clean end.

use std::{
    convert::Infallible,
    pin::Pin,
    task::{Context, Poll},
};

use chronicle_proto::v1::{ExportChunk, ExportRequest};
use chronicle_tests::Sandbox;
use tonic::{
    Status,
    body::Body,
    codegen::{BoxFuture, http},
    server::{Grpc, NamedService, ServerStreamingService},
};

type ChunkStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<ExportChunk, Status>> + Send>>;

/// Answers `ExportMarkdown` with the first part of a document only.
#[derive(Clone)]
struct CutShortExport;

impl NamedService for CutShortExport {
    const NAME: &'static str = "chronicle.v1.Sessions";
}

impl ServerStreamingService<ExportRequest> for CutShortExport {
    type Response = ExportChunk;
    type ResponseStream = ChunkStream;
    type Future = BoxFuture<tonic::Response<ChunkStream>, Status>;

    fn call(&mut self, _request: tonic::Request<ExportRequest>) -> Self::Future {
        let first = ExportChunk {
            data: b"# half a document\n".to_vec(),
            page: 1,
            page_count: 1,
            last_in_page: false,
            suggested_file_name: "cut.md".into(),
            ..ExportChunk::default()
        };
        let stream: ChunkStream = Box::pin(tokio_stream::iter([Ok(first)]));
        Box::pin(async move { Ok(tonic::Response::new(stream)) })
    }
}

impl tower::Service<http::Request<Body>> for CutShortExport {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        Box::pin(async move {
            if request.uri().path() != "/chronicle.v1.Sessions/ExportMarkdown" {
                return Ok(Status::unimplemented("only ExportMarkdown here").into_http());
            }
            let mut grpc = Grpc::new(tonic_prost::ProstCodec::default());
            Ok(grpc.server_streaming(CutShortExport, request).await)
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_markdown_export_cut_short_fails_and_leaves_no_file() {
    let sandbox = Sandbox::new();
    let socket = sandbox.socket();
    let run_dir = socket.parent().expect("socket dir");
    std::fs::create_dir_all(run_dir).expect("socket dir");
    std::fs::set_permissions(run_dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).expect("chmod");
    let listener = tokio::net::UnixListener::bind(&socket).expect("bind");
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(CutShortExport)
            .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(listener)),
    );
    let dir = sandbox.project("app");
    let target = dir.join("out.md");
    let run = tokio::task::block_in_place(|| {
        sandbox.chronicle(&dir, &["export", "--markdown", "-o", target.to_str().expect("utf-8")])
    });
    server.abort();
    assert_ne!(
        run.code,
        Some(0),
        "a cut export must fail:\n{}{}",
        run.stdout,
        run.stderr
    );
    assert!(
        run.stderr.contains("ended before its last chunk"),
        "the CLI says what failed: {}",
        run.stderr
    );
    assert!(!target.exists(), "no file appears under the export's name");
    let leftovers: Vec<_> = std::fs::read_dir(&dir).expect("list").collect();
    assert!(leftovers.is_empty(), "no temporary file is left behind: {leftovers:?}");
}
