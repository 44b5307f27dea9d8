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
    /// Show the working session: files, then messages
    Show {
        /// Only the last N messages
        #[arg(long, value_name = "N")]
        tail: Option<usize>,
        /// Whole message contents instead of their first lines
        #[arg(long)]
        full: bool,
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
        /// Every project's trash, not only this project's
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Export a saved session (or the working session) as Markdown or PNG
    Export(ExportArgs),
    /// Follow live changes until Ctrl-C
    Watch {
        /// Every project, not only this one
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
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
}

#[derive(Debug, Subcommand)]
pub enum TrashCommand {
    /// List trash entries, newest first
    Ls,
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
    #[arg(long, conflicts_with = "image", required_unless_present = "image")]
    pub markdown: bool,
    /// Export PNG image pages
    #[arg(long)]
    pub image: bool,
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
