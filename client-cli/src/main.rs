//! `chronicle`: the command-line client. It keeps no state and never opens
//! the database: every command is one or a few calls to the daemon, which
//! it starts when none answers.

mod cli;
mod commands;
mod daemon;
mod doctor;
mod error;
mod interop;
mod output;
mod service;

use std::{io, process::ExitCode};

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::commands::Ctx;
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
    match runtime.block_on(run(cli)) {
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
        Some(failure) => failure.exit_code(),
        None => ExitCode::FAILURE,
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = Ctx {
        socket: cli.socket.unwrap_or_else(chronicle_proto::default_socket_path),
        project_flag: cli.project,
        style: output::Style::detect(),
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Status(flag) => commands::status(&ctx, flag.json, &mut out).await,
        Command::Daemon(command) => commands::daemon_command(&ctx, command, &mut out).await,
        Command::Open { empty } => commands::open(&ctx, empty, &mut out).await,
        Command::Show { tail, full, json } => commands::show(&ctx, tail, full, json, &mut out).await,
        Command::Add { role, model, text } => commands::add(&ctx, role, model, text, &mut out).await,
        Command::Edit { id, text } => commands::edit(&ctx, id, text, &mut out).await,
        Command::RmMsg { id, after } => commands::rm_msg(&ctx, id, after, &mut out).await,
        Command::Clear => commands::clear(&ctx, &mut out).await,
        Command::Files { command, json } => commands::files(&ctx, command, json, &mut out).await,
        Command::Save { name, overwrite } => commands::save(&ctx, name, overwrite, &mut out).await,
        Command::Load { name, messages, files } => commands::load(&ctx, name, messages, files, &mut out).await,
        Command::Ls(flag) => commands::ls(&ctx, flag.json, &mut out).await,
        Command::Rename { old, new } => commands::rename(&ctx, old, new, &mut out).await,
        Command::Rm { name } => commands::rm(&ctx, name, &mut out).await,
        Command::Trash { command, all, json } => commands::trash(&ctx, command, all, json, &mut out).await,
        Command::Export(args) => commands::export(&ctx, args, &mut out).await,
        Command::Watch { all, json } => commands::watch(&ctx, all, json, &mut out).await,
        Command::Backup(args) => interop::backup(&ctx, args, &mut out).await,
        Command::Restore(args) => interop::restore(&ctx, args, &mut out).await,
        Command::Import(command) => interop::import(&ctx, command, &mut out).await,
        Command::Follow { command, json } => interop::follow(&ctx, command, json, &mut out).await,
        Command::Service(command) => service::run(&ctx, command, &mut out).await,
        Command::Doctor => doctor::run(&ctx, &mut out).await,
        Command::Completions { shell } => {
            commands::completions(shell, &mut out);
            Ok(())
        }
    }
}
