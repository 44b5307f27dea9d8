//! The `chronicled` binary: flags in, [`chronicled::server::run`] out.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use anyhow::Context as _;
use clap::Parser;
use tokio::signal::unix::{SignalKind, signal};

/// Chronicle's daemon: keeps every chat session of your AI coding tools in
/// one crash-safe database and serves it over gRPC on a Unix socket.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Socket to listen on [default: $XDG_RUNTIME_DIR/chronicle/chronicle.sock,
    /// else /tmp/chronicle-$UID/chronicle.sock]
    #[arg(long, env = "CHRONICLE_SOCKET", value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Directory holding the database [default: $XDG_DATA_HOME/chronicle]
    #[arg(long, env = "CHRONICLE_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Days a trash entry is kept before it is purged for good
    #[arg(long, default_value_t = 30, value_name = "DAYS")]
    trash_retention_days: u64,
    /// Largest message content accepted, in bytes
    #[arg(long, default_value_t = 8 * 1024 * 1024, value_name = "BYTES")]
    max_content_bytes: usize,
    /// Most context files one session may hold
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    max_context_files: usize,
    /// Leave the caller's session and process group (used by `chronicle`
    /// when it starts the daemon in the background)
    #[arg(long)]
    detach: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CHRONICLE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("chronicled: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    if args.detach {
        // Already a group leader only if started that way; either way we
        // keep running.
        let _ = rustix::process::setsid();
    }
    let socket = args.socket.unwrap_or_else(chronicle_proto::default_socket_path);
    let data_dir = args
        .data_dir
        .or_else(chronicle_proto::default_data_dir)
        .context("no data directory: set --data-dir, CHRONICLE_DATA_DIR or HOME")?;
    let mut config = chronicled::server::Config::new(socket, data_dir);
    config.trash_retention = Duration::from_secs(args.trash_retention_days.saturating_mul(24 * 3600));
    config.store.limits.max_content_bytes = args.max_content_bytes;
    config.store.limits.max_context_files = args.max_context_files;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(async {
        let mut terminate = signal(SignalKind::terminate()).context("could not listen for SIGTERM")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("could not listen for SIGINT")?;
        let shutdown = async move {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = interrupt.recv() => {}
            }
        };
        chronicled::server::run(config, shutdown).await?;
        tracing::info!("stopped cleanly");
        Ok(())
    })
}
