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
pub mod sources;
pub mod trash;
pub mod watch;

use chronicle_client::v1::SourceKind;
use clap::CommandFactory;

use crate::cli::{Cli, Command, FollowCommand};
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
        Command::Import(args) => import(ctx, args, out).await,
        Command::Follow { command: None, json } => sources::list_follows(ctx, json, out).await,
        Command::Follow {
            command:
                Some(FollowCommand::Aider {
                    project,
                    history,
                    catch_up,
                    stop,
                }),
            ..
        } => aider::follow(ctx, project, history, catch_up, stop, out).await,
        Command::Follow {
            command: Some(FollowCommand::Claude(a)),
            ..
        } => sources::follow(ctx, "claude", SourceKind::Claude, a, out).await,
        Command::Follow {
            command: Some(FollowCommand::Codex(a)),
            ..
        } => sources::follow(ctx, "codex", SourceKind::Codex, a, out).await,
        Command::Follow {
            command: Some(FollowCommand::Opencode(a)),
            ..
        } => sources::follow(ctx, "opencode", SourceKind::Opencode, a, out).await,
        Command::Follow {
            command: Some(FollowCommand::Gemini(a)),
            ..
        } => sources::follow(ctx, "gemini", SourceKind::Gemini, a, out).await,
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

/// `import`: aider's history is parsed here; every other agent's files are
/// read by the daemon.
async fn import(ctx: &Ctx, args: crate::cli::ImportArgs, out: &mut Out<'_>) -> anyhow::Result<()> {
    use crate::cli::ImportCommand;
    use chronicle_client::v1::SourceKind;
    match args.command {
        None if args.discover => sources::discover(ctx, args.json, out).await,
        None => Err(crate::error::Failure::usage(
            "name the agent to import from — `chronicle import claude|codex|opencode|gemini|aider`, or `chronicle import --discover`",
        )
        .into()),
        Some(ImportCommand::Claude(a)) => sources::import(ctx, "claude", SourceKind::Claude, a, out).await,
        Some(ImportCommand::Codex(a)) => sources::import(ctx, "codex", SourceKind::Codex, a, out).await,
        Some(ImportCommand::Opencode(a)) => sources::import(ctx, "opencode", SourceKind::Opencode, a, out).await,
        Some(ImportCommand::Gemini(a)) => sources::import(ctx, "gemini", SourceKind::Gemini, a, out).await,
        Some(ImportCommand::Aider { path, working }) => aider::import(ctx, path, working, out).await,
    }
}
