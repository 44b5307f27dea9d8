//! `chronicle`: the command-line client. It keeps no state and never opens
//! the database: every command is one or a few calls to the daemon, which
//! it starts when none answers.

mod cli;
mod cmd;
mod ctx;
mod error;
mod naming;
mod output;
mod pending;
mod progress;

use std::{io, process::ExitCode};

use clap::Parser;

use crate::cli::Cli;
use crate::ctx::Ctx;
use crate::error::Failure;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("chronicle: error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let ctx = Ctx::new(
        cli.socket.unwrap_or_else(chronicle_client::paths::default_socket_path),
        cli.project,
        output::Style::detect(),
    );
    let result = runtime.block_on(async {
        let stdout = io::stdout();
        let mut out = stdout.lock();
        cmd::run(&ctx, cli.command, &mut out).await
    });
    ctx.warn_if_older_daemon();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => report(&err),
    }
}

/// Prints the error as one line and picks the exit code. A closed pipe
/// (`chronicle show | head -1`) is not an error.
fn report(err: &anyhow::Error) -> ExitCode {
    if err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    }) {
        return ExitCode::SUCCESS;
    }
    eprintln!("chronicle: error: {err:#}");
    match err.downcast_ref::<Failure>() {
        Some(failure) => error::exit_code(failure),
        None => ExitCode::FAILURE,
    }
}
