//! One module per command or command group. Each command reads what it
//! needs from the daemon through the context's one connection, asks it to
//! change what the user asked for, and says what happened in one or two
//! lines (or one JSON document).

pub mod aider;
pub mod backup;
pub mod daemon;
pub mod doctor;
pub mod export;
pub mod files;
pub mod messages;
pub mod search;
pub mod service;
pub mod sessions;
pub mod show;
pub mod trash;
pub mod watch;

use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::ctx::{Ctx, Out};

/// Runs one parsed command.
pub async fn run(ctx: &Ctx, command: Command, out: &mut Out<'_>) -> anyhow::Result<()> {
    match command {
        Command::Status(flag) => daemon::status(ctx, flag.json, out).await,
        Command::Daemon(command) => daemon::daemon(ctx, command, out).await,
        Command::Open { empty } => messages::open(ctx, empty, out).await,
        Command::Show {
            tail,
            session,
            at,
            full,
            json,
        } => {
            show::show(
                ctx,
                show::ShowArgs {
                    tail,
                    session,
                    at,
                    full,
                    json,
                },
                out,
            )
            .await
        }
        Command::Add { role, model, text } => messages::add(ctx, role, model, text, out).await,
        Command::Edit { id, text } => messages::edit(ctx, id, text, out).await,
        Command::RmMsg { id, after } => messages::rm_msg(ctx, id, after, out).await,
        Command::Clear => messages::clear(ctx, out).await,
        Command::Files { command, json } => files::files(ctx, command, json, out).await,
        Command::Save { name, overwrite } => sessions::save(ctx, name, overwrite, out).await,
        Command::Load { name, messages, files } => sessions::load(ctx, name, messages, files, out).await,
        Command::Ls(flag) => sessions::ls(ctx, flag.json, out).await,
        Command::Rename { old, new } => sessions::rename(ctx, old, new, out).await,
        Command::Rm { name } => sessions::rm(ctx, name, out).await,
        Command::Trash { command, list } => trash::trash(ctx, command, list, out).await,
        Command::Export(args) => export::export(ctx, args, out).await,
        Command::Watch { all, json } => watch::watch(ctx, all, json, out).await,
        Command::Backup(args) => backup::backup(ctx, args, out).await,
        Command::Restore(args) => backup::restore(ctx, args, out).await,
        Command::Import(command) => aider::import(ctx, command, out).await,
        Command::Follow { command, json } => aider::follow(ctx, command, json, out).await,
        Command::Service(command) => service::run(ctx, command, out).await,
        Command::Doctor => doctor::run(ctx, out).await,
        Command::Search {
            query,
            all_projects,
            trash,
            limit,
            json,
        } => {
            let args = search::SearchArgs {
                query: query.join(" "),
                all_projects,
                trash,
                limit,
                json,
            };
            search::search(ctx, args, out).await
        }
        Command::Fork { name, at, new_name } => search::fork(ctx, name, at, new_name, out).await,
        Command::Rewind { id } => search::rewind(ctx, id, out).await,
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "chronicle", out);
            Ok(())
        }
    }
}
