//! The command line, as clap sees it: every verb, flag and help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  operation refused (not found, already exists, conflict, storage failure)
  2  bad usage or invalid argument
  3  daemon unavailable (could not be reached or started)";

/// Keep every chat session of your AI coding tools safe: save, load,
/// rename, delete (to a trash) and export them, through the Chronicle
/// daemon (started for you when needed).
#[derive(Debug, Parser)]
#[command(name = "chronicle", version, about, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Project root [default: the git top-level of the current directory,
    /// else the current directory]
    #[arg(short = 'C', long, global = true, value_name = "PATH")]
    pub project: Option<PathBuf>,
    /// Daemon socket [default: $XDG_RUNTIME_DIR/chronicle/chronicle.sock]
    #[arg(long, global = true, env = "CHRONICLE_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Is the daemon running? Version, pid, socket, data dir and totals
    Status(JsonFlag),
    /// Start, stop or restart the daemon, or read its log
    #[command(subcommand)]
    Daemon(DaemonCommand),
    /// Open the project's working session ("load last session")
    Open {
        /// Start with an empty session; the current one goes to the trash
        #[arg(long)]
        empty: bool,
    },
    /// Show the working session (or a saved one): files, then messages
    Show {
        /// Only the last N messages
        #[arg(long, value_name = "N", conflicts_with = "at")]
        tail: Option<usize>,
        /// A saved session instead of the working session
        #[arg(long, value_name = "NAME")]
        session: Option<String>,
        /// Open at this message: it in full, with the messages around it
        #[arg(long, value_name = "ID")]
        at: Option<u64>,
        /// Whole message contents instead of their first lines
        #[arg(long)]
        full: bool,
        /// One JSON document on stdout, for scripts
        #[arg(long)]
        json: bool,
    },
    /// Append a message to the working session
    Add {
        /// Who wrote it
        #[arg(long, value_enum, default_value_t = RoleArg::User)]
        role: RoleArg,
        /// Model that produced it
        #[arg(long, value_name = "M")]
        model: Option<String>,
        /// Message text (Markdown), or - to read it from stdin
        text: Option<String>,
    },
    /// Replace a message's text
    Edit {
        /// Message id (see `chronicle show`)
        id: u64,
        /// New text, or - to read it from stdin
        text: Option<String>,
    },
    /// Remove a message (it goes to the trash)
    #[command(name = "rm-msg")]
    RmMsg {
        /// Message id (see `chronicle show`)
        id: u64,
        /// Also remove every later message
        #[arg(long)]
        after: bool,
    },
    /// Clear the working session's messages (they go to the trash)
    Clear,
    /// List or change the files in context
    Files {
        #[command(subcommand)]
        command: Option<FilesCommand>,
        /// One JSON document on stdout, for scripts
        #[arg(long)]
        json: bool,
    },
    /// Save the working session under a name
    Save {
        name: String,
        /// Replace the saved session of that name (the old one goes to the trash)
        #[arg(long)]
        overwrite: bool,
    },
    /// Load a saved session's messages and/or files into the working session
    Load {
        name: String,
        /// Load the messages
        #[arg(long)]
        messages: bool,
        /// Load the context files
        #[arg(long)]
        files: bool,
    },
    /// List saved sessions, most recently updated first
    Ls(JsonFlag),
    /// Rename a saved session
    Rename { old: String, new: String },
    /// Delete a saved session (it goes to the trash)
    Rm { name: String },
    /// List, restore or purge the trash
    Trash {
        #[command(subcommand)]
        command: Option<TrashCommand>,
        #[command(flatten)]
        list: TrashListArgs,
    },
    /// Export a saved session (or the working session) as Markdown, PNG or aider history
    Export(ExportArgs),
    /// Follow live changes until Ctrl-C
    Watch {
        /// Every project, not only this one
        #[arg(long)]
        all: bool,
        /// One JSON object per event on stdout, for scripts
        #[arg(long)]
        json: bool,
    },
    /// Back up this project (or everything) as a lossless bundle
    Backup(BackupArgs),
    /// Restore a bundle made by `chronicle backup` (never overwrites)
    ///
    /// Each project goes back where it came from; a bundle of one project
    /// goes into -C/--project P when given. A saved name that is taken gets
    /// a suffix, and the output says so.
    Restore(RestoreArgs),
    /// Import another agent's sessions (Claude Code, Codex CLI, opencode, Gemini CLI, aider)
    ///
    /// Each source session becomes a saved session of the project its
    /// working directory names (or of -C PATH). Importing again adds only
    /// what is new; bad lines are skipped and reported.
    Import(ImportArgs),
    /// Follow another agent's sessions as it writes them
    ///
    /// Claude Code, Codex CLI, opencode and Gemini CLI sessions become (and
    /// stay) saved sessions, as `chronicle import` makes them; aider's chat
    /// history is appended to the working session. The daemon keeps
    /// following (across its restarts) until `--stop`. Without an agent,
    /// lists what is followed.
    Follow {
        #[command(subcommand)]
        command: Option<FollowCommand>,
        /// One JSON document on stdout, for scripts
        #[arg(long)]
        json: bool,
    },
    /// Start the daemon at login: systemd user units (socket-activated) or
    /// a launchd agent
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Check the daemon and its database, and say what to do about them
    Doctor,
    /// Search the messages of every session by content (see docs/SEARCH.md)
    ///
    /// Words must all match (any form: "fixing" finds "fixed"), "quoted
    /// phrases" match as written, -word excludes; filters: role:assistant,
    /// model:gpt-5*, tool:NAME, project:FRAGMENT, session:NAME,
    /// file:PATH, before:2026-11-01, after:7d.
    Search {
        /// The query (quote it for the shell)
        #[arg(required = true, num_args = 1.., value_name = "QUERY")]
        query: Vec<String>,
        /// Every project, not only this one
        #[arg(long)]
        all_projects: bool,
        /// Also search the trash
        #[arg(long)]
        trash: bool,
        /// Most matches shown (1–200)
        #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=200))]
        limit: u32,
        /// One JSON document on stdout, for scripts
        #[arg(long)]
        json: bool,
    },
    /// Save a new session from the working (or a saved) session, up to a message
    Fork {
        /// Saved session to fork [default: the working session]
        name: Option<String>,
        /// The last message to keep (see `chronicle show`)
        #[arg(long, value_name = "ID")]
        at: u64,
        /// Name of the new saved session
        #[arg(long = "as", value_name = "NEW")]
        new_name: String,
    },
    /// Keep the working session up to a message; the later ones go to the trash
    Rewind {
        /// The last message to keep (see `chronicle show`)
        id: u64,
    },
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// How `chronicle trash` and `chronicle trash ls` list.
#[derive(Debug, Default, Args)]
pub struct TrashListArgs {
    /// Every project's trash, not only this project's
    #[arg(long)]
    pub all: bool,
    /// One JSON document on stdout, for scripts
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// One JSON document on stdout, for scripts
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// Start the daemon in the background (if it is not running)
    Start,
    /// Stop the running daemon
    Stop,
    /// Stop the daemon, then start it again
    Restart,
    /// Print the daemon's log
    Logs {
        /// Only the last N lines
        #[arg(short = 'n', long, default_value_t = 50)]
        lines: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Write the unit files (or agent), then enable and start them
    Install {
        #[command(flatten)]
        target: ServiceTarget,
        /// Print the files instead of writing them
        #[arg(long)]
        dry_run: bool,
        /// Let the daemon exit after this long without clients (e.g. 10m);
        /// the socket starts it again on the next connection
        #[arg(long, value_name = "DURATION")]
        idle_exit: Option<String>,
    },
    /// Stop and disable the daemon's service, and remove its files
    Uninstall {
        #[command(flatten)]
        target: ServiceTarget,
        /// Say what would be removed instead of removing it
        #[arg(long)]
        dry_run: bool,
    },
    /// Are the files installed and current, enabled and running?
    Status {
        #[command(flatten)]
        target: ServiceTarget,
    },
}

#[derive(Debug, Args)]
pub struct ServiceTarget {
    /// Only print where the files go
    #[arg(long)]
    pub print: bool,
    /// Service manager [default: launchd on macOS, else systemd]
    #[arg(long, value_enum)]
    pub manager: Option<ManagerArg>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ManagerArg {
    Systemd,
    Launchd,
}

#[derive(Debug, Subcommand)]
pub enum FilesCommand {
    /// List the files in context
    Ls,
    /// Add files to the context
    Add {
        /// Mark them read-only
        #[arg(long)]
        read_only: bool,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Remove files from the context
    Rm {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Replace the context with exactly these files
    Set {
        /// Mark them read-only
        #[arg(long)]
        read_only: bool,
        paths: Vec<PathBuf>,
    },
    /// Load the files of an aider `/save` file (`/add`, `/read-only`)
    LoadAider { file: PathBuf },
    /// Write the files in context as a file aider's `/load` reads
    SaveAider { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum TrashCommand {
    /// List trash entries, newest first
    Ls(TrashListArgs),
    /// Restore an entry as a saved session
    Restore {
        id: String,
        /// Restore under this name (when the old one is taken)
        #[arg(long = "as", value_name = "NAME")]
        new_name: Option<String>,
    },
    /// Delete entries for good
    Purge {
        /// One entry
        #[arg(conflicts_with_all = ["older_than", "everything"])]
        id: Option<String>,
        /// Every entry older than this (e.g. 30d, 12h, 2w)
        #[arg(long, value_name = "AGE", conflicts_with = "everything")]
        older_than: Option<String>,
        /// Every entry, of every project
        #[arg(long = "all")]
        everything: bool,
    },
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Saved session to export [default: the working session]
    pub name: Option<String>,
    /// Export Markdown
    #[arg(long, conflicts_with_all = ["image", "aider_history"], required_unless_present_any = ["image", "aider_history"])]
    pub markdown: bool,
    /// Export PNG image pages
    #[arg(long, conflicts_with = "aider_history")]
    pub image: bool,
    /// Export in aider's chat history format (`aider --restore-chat-history`)
    #[arg(long)]
    pub aider_history: bool,
    /// Output file (or - for stdout) [default: from the session name and time]
    #[arg(short = 'o', long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Image theme
    #[arg(long, value_enum, default_value_t = ThemeArg::Light)]
    pub theme: ThemeArg,
    /// Image width in logical pixels (480–2400)
    #[arg(long, value_name = "PX")]
    pub width: Option<u32>,
    /// Image scale for HiDPI (0.5–4)
    #[arg(long, value_name = "F")]
    pub scale: Option<f32>,
    /// Tallest image page, in physical pixels (1024–32767) [default: 16384]
    #[arg(long, value_name = "PX", conflicts_with = "markdown")]
    pub page_height: Option<u32>,
    /// Image: start at this message id
    #[arg(long, value_name = "ID", conflicts_with = "markdown")]
    pub from: Option<u64>,
    /// Image: end at this message id
    #[arg(long, value_name = "ID", conflicts_with = "markdown")]
    pub to: Option<u64>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ThemeArg {
    Light,
    Dark,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    User,
    Assistant,
    Tool,
    System,
    Command,
    Log,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Output file (or - for stdout) [default: chronicle-backup-<project>-<time>.jsonl]
    #[arg(short = 'o', long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Every project: working sessions, saved sessions and trash
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The bundle (or - for stdin)
    pub file: PathBuf,
    /// Restore the working session as a saved session of this name
    #[arg(long = "as", value_name = "NAME")]
    pub as_name: Option<String>,
    /// Let the bundle's working session replace a non-empty one (which
    /// goes to the trash) instead of being saved beside it
    #[arg(long)]
    pub replace_working: bool,
    /// One JSON document on stdout, for scripts
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub command: Option<ImportCommand>,
    /// What each agent has on this machine, and what is not yet in Chronicle
    #[arg(long)]
    pub discover: bool,
    /// One JSON document on stdout, for scripts
    #[arg(long)]
    pub json: bool,
}

/// Where to import from and how.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Files or directories (searched recursively) [default: the agent's
    /// own location]
    pub paths: Vec<PathBuf>,
    /// Load the newest session imported into the working session of its
    /// project (what it replaces goes to the trash)
    #[arg(long)]
    pub working: bool,
    /// Count what would be imported; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// One JSON document on stdout, for scripts
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Claude Code: ~/.claude/projects (or $CLAUDE_CONFIG_DIR/projects)
    Claude(SourceArgs),
    /// Codex CLI: ~/.codex/sessions and archived_sessions (or under $CODEX_HOME)
    Codex(SourceArgs),
    /// opencode: opencode.db and the older storage/ tree in
    /// $XDG_DATA_HOME/opencode (or ~/.local/share/opencode); also files
    /// `opencode export` wrote
    Opencode(SourceArgs),
    /// Gemini CLI: ~/.gemini/tmp/<project>/chats/session-*.jsonl (and .json)
    Gemini(SourceArgs),
    /// aider's chat history: each run becomes a saved session named after
    /// its start time
    Aider {
        /// The history file [default: <project>/.aider.chat.history.md]
        path: Option<PathBuf>,
        /// Make the newest run the working session (the current one goes
        /// to the trash)
        #[arg(long)]
        working: bool,
    },
}

/// Which sessions of an agent to follow, and where its files are.
#[derive(Debug, Args)]
pub struct FollowArgs {
    /// Follow the sessions run in this project [default: -C, else the
    /// current project]
    pub project: Option<PathBuf>,
    /// Follow every session of the agent, each into its own project
    #[arg(long, conflicts_with = "project")]
    pub all: bool,
    /// A directory (or file) to watch instead of the agent's own location;
    /// repeatable
    #[arg(long = "path", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Stop following
    #[arg(long, conflicts_with = "paths")]
    pub stop: bool,
}

#[derive(Debug, Subcommand)]
pub enum FollowCommand {
    /// Claude Code's transcripts (~/.claude/projects, or $CLAUDE_CONFIG_DIR)
    Claude(FollowArgs),
    /// Codex CLI's rollouts (~/.codex/sessions, or under $CODEX_HOME)
    Codex(FollowArgs),
    /// opencode's database ($XDG_DATA_HOME/opencode or ~/.local/share/opencode)
    Opencode(FollowArgs),
    /// Gemini CLI's recordings (~/.gemini/tmp)
    Gemini(FollowArgs),
    /// aider's .aider.chat.history.md: what aider writes is appended to
    /// the working session as it happens
    Aider {
        /// Project root [default: -C, else the current project]
        project: Option<PathBuf>,
        /// The history file [default: <project>/.aider.chat.history.md]
        #[arg(long, value_name = "FILE")]
        history: Option<PathBuf>,
        /// Also append what aider's latest run already wrote
        #[arg(long)]
        catch_up: bool,
        /// Stop following
        #[arg(long, conflicts_with_all = ["history", "catch_up"])]
        stop: bool,
    },
}
