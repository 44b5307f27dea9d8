//! The `chronicled` binary: flags in, [`chronicled::server::run`] out. It
//! also takes over a listening socket that systemd passed in (socket
//! activation), before any thread exists to race the environment.

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
    /// Exit after this long with no client call, connection or open stream
    /// (e.g. 10m; 0 = never). Meant for socket activation: systemd starts
    /// the daemon again on the next connection
    #[arg(long, default_value = "0", value_parser = parse_duration, value_name = "DURATION")]
    idle_exit: Duration,
    /// Watch a project's context files while a client follows it and for
    /// this long after its last call
    #[arg(long, default_value = "10m", value_parser = parse_duration, value_name = "DURATION")]
    file_watch_window: Duration,
    /// Most directories watched for context files; files in the others are
    /// checked periodically instead
    #[arg(long, default_value_t = 1024, value_name = "N")]
    max_file_watches: usize,
    /// How often context files that cannot be watched are checked
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    file_poll_interval: Duration,
    /// Close a connection that has not completed its HTTP/2 handshake
    /// within this long
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    handshake_timeout: Duration,
    /// Leave the caller's session and process group (used by `chronicle`
    /// when it starts the daemon in the background)
    #[arg(long)]
    detach: bool,
    /// Check the database (every page verified) and exit; 0 when healthy
    #[arg(long, conflicts_with = "repair")]
    check: bool,
    /// Repair a damaged database: keep a copy of it, recover every record
    /// that can still be read into a fresh one, and put that in its place
    #[arg(long)]
    repair: bool,
    /// Rebuild the full-text search index from the database (in the
    /// background; searches meanwhile say the index is catching up)
    #[arg(long)]
    reindex: bool,
    /// redb's page cache, in MiB: reads of sessions that fit in it stay in
    /// memory; it is most of the daemon's memory during an import
    #[arg(long, default_value_t = (chronicled::store::DEFAULT_CACHE_BYTES / (1024 * 1024)) as u32, value_name = "MIB",
          value_parser = clap::value_parser!(u32).range(1..=65536))]
    cache_mib: u32,
    /// Run without the full-text search index (Search is refused); for
    /// measuring what the index costs
    #[arg(long, conflicts_with = "reindex")]
    no_search_index: bool,
    /// Make each write durable with its own database commit instead of the
    /// write-ahead log (chronicle.redb.wal); for measuring what the log
    /// gains. A log left by an earlier run is still replayed at start
    #[arg(long)]
    no_wal: bool,
}

/// A duration in humantime's grammar in whole units (`500ms`, `30s`,
/// `10m`, `2h`, `1d`, `1h 30m`), or a bare number of seconds as before.
fn parse_duration(text: &str) -> Result<Duration, String> {
    chronicle_client::time::parse_duration(text)
}

/// The listening socket systemd passed in, if it passed one to us: the
/// protocol's `LISTEN_PID` must name this process, else the variables were
/// meant for another one and are left alone.
fn inherited_listener() -> anyhow::Result<Option<std::os::unix::net::UnixListener>> {
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|pid| pid.trim().parse::<u32>().ok())
        == Some(std::process::id());
    if !ours {
        return Ok(None);
    }
    // Reads and clears LISTEN_PID/LISTEN_FDS, so children never see them.
    let mut fds = listenfd::ListenFd::from_env();
    if fds.len() > 1 {
        eprintln!(
            "chronicled: warning: {} sockets were passed in; serving on the first only",
            fds.len()
        );
    }
    fds.take_unix_listener(0)
        .context("the socket passed in as fd 3 (LISTEN_FDS) is not a Unix stream socket — check ListenStream= in chronicled.socket")
}

fn main() -> ExitCode {
    chronicled::memory::limit_heap();
    // Everything the daemon creates (database, search index, state files,
    // socket directory) is the user's alone, whatever umask it inherited.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let args = Args::parse();
    // Before anything could start a thread: taking the listener edits the
    // environment.
    let inherited = match inherited_listener() {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("chronicled: error: {err:#}");
            return ExitCode::FAILURE;
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CHRONICLE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour only on a terminal: not in a log file or the journal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    match run(args, inherited) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("chronicled: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args, inherited: Option<std::os::unix::net::UnixListener>) -> anyhow::Result<()> {
    if args.detach {
        // Already a group leader only if started that way; either way we
        // keep running.
        let _ = rustix::process::setsid();
    }
    let socket = args.socket.unwrap_or_else(chronicle_client::paths::default_socket_path);
    let data_dir = args
        .data_dir
        .or_else(chronicle_client::paths::default_data_dir)
        .context("no data directory: set --data-dir, CHRONICLE_DATA_DIR or HOME")?;
    if args.check || args.repair {
        let report = if args.check {
            chronicled::maintenance::check(&data_dir)?
        } else {
            chronicled::maintenance::repair(&data_dir)?
        };
        println!("{report}");
        return Ok(());
    }
    let mut config = chronicled::server::Config::new(socket, data_dir);
    config.trash_retention = Duration::from_secs(args.trash_retention_days.saturating_mul(24 * 3600));
    config.store.limits.max_content_bytes = args.max_content_bytes;
    config.store.limits.max_context_files = args.max_context_files;
    config.idle_exit = Some(args.idle_exit).filter(|d| !d.is_zero());
    config.watch_window = args.file_watch_window;
    config.watch.max_watches = args.max_file_watches;
    config.watch.poll_interval = args.file_poll_interval;
    config.handshake_timeout = args.handshake_timeout;
    config.search_index = !args.no_search_index;
    config.store.cache_bytes = args.cache_mib as usize * 1024 * 1024;
    config.store.wal = !args.no_wal;
    config.reindex = args.reindex;
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
        chronicled::server::run_with_listener(config, inherited, shutdown).await?;
        tracing::info!("stopped cleanly");
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_the_usual_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
    }

    #[test]
    fn a_bad_duration_says_how_to_write_one() {
        for bad in ["", "m", "10x", "-1s", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
