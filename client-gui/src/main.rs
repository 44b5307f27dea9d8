//! `chronicle-gui [--project PATH] [--socket PATH] [--start ask|last|empty]`:
//! parses flags, picks the project like the CLI does, and opens the window.
//! Everything else lives in the library, where tests can reach it.

use std::{path::PathBuf, process::ExitCode};

use chronicle_gui::{App, AppConfig, StartChoice, prefs};
use clap::{Parser, ValueEnum};
use eframe::egui;

/// The desktop client of the Chronicle daemon.
#[derive(Debug, Parser)]
#[command(name = "chronicle-gui", version, about)]
struct Cli {
    /// The project to open (default: the git top-level of the current
    /// directory, else the current directory).
    #[arg(short = 'C', long, value_name = "PATH")]
    project: Option<PathBuf>,
    /// The daemon's socket (default: $CHRONICLE_SOCKET, else the user's
    /// runtime directory).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// What to do when the project has a last session, for this run only
    /// (default: the remembered choice).
    #[arg(long, value_enum)]
    start: Option<StartArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StartArg {
    Ask,
    Last,
    Empty,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let project = match chronicle_gui::resolve_project(cli.project.as_deref()) {
        Ok(project) => project,
        Err(err) => {
            eprintln!("chronicle-gui: error: cannot read the current directory: {err}");
            return ExitCode::from(2);
        }
    };
    let config = AppConfig {
        socket: cli.socket.unwrap_or_else(chronicle_client::paths::default_socket_path),
        project,
        prefs_path: prefs::default_path(),
        start: cli.start.map(|s| match s {
            StartArg::Ask => StartChoice::Ask,
            StartArg::Last => StartChoice::Last,
            StartArg::Empty => StartChoice::Empty,
        }),
        time_zone: jiff::tz::TimeZone::system(),
    };
    let app = match App::new(config) {
        Ok(app) => app,
        Err(err) => {
            eprintln!("chronicle-gui: error: cannot start the background runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("Chronicle")
            .with_app_id("chronicle")
            .with_inner_size([1180.0, 760.0])
            .with_min_inner_size([640.0, 400.0]),
        // The app installs the system font provider itself (also under test).
        system_font_fallback: false,
        ..eframe::NativeOptions::default()
    };
    match eframe::run_native("Chronicle", options, Box::new(|_cc| Ok(Box::new(app)))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("chronicle-gui: error: cannot open the window: {err}");
            ExitCode::FAILURE
        }
    }
}
