//! `chronicle service`: the daemon at login. On Linux this is a systemd
//! user unit pair — `chronicled.socket` listens on the default socket from
//! login on, and `chronicled.service` runs the daemon on the first
//! connection (`Type=notify`, restarted on failure) — and on macOS a
//! launchd agent that starts the daemon at login and restarts it if it
//! fails. `install` writes the files and enables them with
//! `systemctl --user` / `launchctl` when those answer, and otherwise says
//! what to run; `uninstall` undoes that; `status` compares what is there
//! with what `install` would write now.
//!
//! `CHRONICLE_SYSTEMCTL` and `CHRONICLE_LAUNCHCTL` name other programs to
//! run in place of `systemctl` and `launchctl` (the tests use stand-ins).

use std::{
    ffi::OsString,
    fs,
    io::{self, Write},
    os::unix::fs::{DirBuilderExt, PermissionsExt},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use chronicle_client::{Client, daemon, fs::write_atomic_with, paths, time};

use crate::cli::{ManagerArg, ServiceCommand, ServiceTarget};
use crate::ctx::Ctx;
use crate::error::Failure;

/// The socket unit's file name.
pub const SOCKET_UNIT: &str = "chronicled.socket";
/// The service unit's file name.
pub const SERVICE_UNIT: &str = "chronicled.service";
/// The launchd agent's label (its plist is `<label>.plist`).
pub const LAUNCHD_LABEL: &str = "dev.chronicle.chronicled";
/// Where the socket unit listens: the default socket path, with `%t` for
/// the user's runtime directory (`$XDG_RUNTIME_DIR`).
pub const LISTEN_STREAM: &str = "%t/chronicle/chronicle.sock";

/// Which service manager the files are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Manager {
    Systemd,
    Launchd,
}

impl Manager {
    fn pick(arg: Option<ManagerArg>) -> Manager {
        match arg {
            Some(ManagerArg::Systemd) => Manager::Systemd,
            Some(ManagerArg::Launchd) => Manager::Launchd,
            None if cfg!(target_os = "macos") => Manager::Launchd,
            None => Manager::Systemd,
        }
    }

    fn native(self) -> bool {
        match self {
            Manager::Systemd => !cfg!(target_os = "macos"),
            Manager::Launchd => cfg!(target_os = "macos"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Manager::Systemd => "systemd",
            Manager::Launchd => "launchd",
        }
    }
}

/// One file `install` writes.
#[derive(Debug)]
struct ServiceFile {
    path: PathBuf,
    contents: String,
}

/// What `install` would write, and where.
#[derive(Debug)]
struct Plan {
    manager: Manager,
    files: Vec<ServiceFile>,
}

pub async fn run(ctx: &Ctx, command: ServiceCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match command {
        ServiceCommand::Install {
            target,
            dry_run,
            idle_exit,
        } => install(ctx, &target, dry_run, idle_exit.as_deref(), out).await,
        ServiceCommand::Uninstall { target, dry_run } => uninstall(&target, dry_run, out),
        ServiceCommand::Status { target } => status(ctx, &target, out),
    }
}

// ------------------------------------------------------------------ files

/// `$XDG_CONFIG_HOME/systemd/user`, else `~/.config/systemd/user`.
fn systemd_dir() -> Result<PathBuf, Failure> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    env("XDG_CONFIG_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| env("HOME").map(|home| home.join(".config")))
        .map(|config| config.join("systemd").join("user"))
        .ok_or_else(|| Failure::usage("cannot find your config directory: set HOME or XDG_CONFIG_HOME"))
}

/// `~/Library/LaunchAgents`.
fn launchd_dir() -> Result<PathBuf, Failure> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|home| PathBuf::from(home).join("Library").join("LaunchAgents"))
        .ok_or_else(|| Failure::usage("cannot find your home directory: set HOME"))
}

fn file_paths(manager: Manager) -> Result<Vec<PathBuf>, Failure> {
    Ok(match manager {
        Manager::Systemd => {
            let dir = systemd_dir()?;
            vec![dir.join(SOCKET_UNIT), dir.join(SERVICE_UNIT)]
        }
        Manager::Launchd => vec![launchd_dir()?.join(format!("{LAUNCHD_LABEL}.plist"))],
    })
}

/// The absolute path of `chronicled`: next to this executable, else the
/// first on `PATH`. A service manager needs it spelled out.
fn daemon_path() -> Result<PathBuf, Failure> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("chronicled")))
        .filter(|p| p.is_file());
    let on_path = || {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("chronicled"))
                .find(|p| p.is_file())
        })
    };
    let found = beside.or_else(on_path).ok_or_else(|| {
        Failure::usage(
            "cannot find chronicled next to chronicle or on PATH — install it first (`cargo install --path daemon`)",
        )
    })?;
    Ok(if found.is_absolute() {
        found
    } else {
        std::env::current_dir().map(|cwd| cwd.join(&found)).unwrap_or(found)
    })
}

/// Checks a duration for `--idle-exit` the way chronicled reads it, so a
/// typo never ends up inside a unit file.
fn check_duration(text: &str) -> Result<(), Failure> {
    time::parse_duration(text).map(drop).map_err(|_| {
        Failure::usage(format!(
            "--idle-exit {text:?} is not a duration — write e.g. 10m, 30s or 2h"
        ))
    })
}

/// What the daemon is started with: its own path, then flags that make it
/// use the data (and, for launchd, the socket) this CLI uses now.
fn daemon_argv(ctx: &Ctx, manager: Manager, idle_exit: Option<&str>) -> Result<Vec<String>, Failure> {
    let lossless = |p: &Path, what: &str| {
        p.to_str()
            .map(str::to_owned)
            .ok_or_else(|| Failure::usage(format!("the {what} path {} is not UTF-8", p.display())))
    };
    let mut argv = vec![lossless(&daemon_path()?, "chronicled")?];
    if manager == Manager::Launchd {
        // launchd passes no socket in: the daemon binds the one the CLI dials.
        argv.push("--socket".into());
        argv.push(lossless(&ctx.socket, "socket")?);
    }
    // The service manager's environment may lack this shell's
    // CHRONICLE_DATA_DIR or XDG_DATA_HOME: name the data dir outright.
    if let Some(data_dir) = paths::default_data_dir() {
        argv.push("--data-dir".into());
        argv.push(lossless(&data_dir, "data directory")?);
    }
    if let Some(idle) = idle_exit {
        check_duration(idle)?;
        argv.push("--idle-exit".into());
        argv.push(idle.to_owned());
    }
    Ok(argv)
}

fn plan(ctx: &Ctx, manager: Manager, idle_exit: Option<&str>) -> Result<Plan, Failure> {
    let argv = daemon_argv(ctx, manager, idle_exit)?;
    let paths = file_paths(manager)?;
    let files = match manager {
        Manager::Systemd => {
            let (socket, service) = systemd_units(&argv);
            paths
                .into_iter()
                .zip([socket, service])
                .map(|(path, contents)| ServiceFile { path, contents })
                .collect()
        }
        Manager::Launchd => {
            let log = paths::daemon_log_path();
            paths
                .into_iter()
                .map(|path| ServiceFile {
                    path,
                    contents: launchd_plist(&argv, log.as_deref()),
                })
                .collect()
        }
    };
    Ok(Plan { manager, files })
}

/// One argument of `ExecStart=`, quoted for systemd: `%` and `$` would
/// otherwise be expanded, and spaces split.
fn systemd_quote(arg: &str) -> String {
    let escaped = arg.replace('%', "%%").replace('$', "$$");
    let plain = !escaped.is_empty()
        && escaped
            .chars()
            .all(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | '\\' | ';'));
    if plain {
        return escaped;
    }
    let mut quoted = String::with_capacity(escaped.len() + 2);
    quoted.push('"');
    for c in escaped.chars() {
        if matches!(c, '"' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// The socket unit and the service unit.
fn systemd_units(argv: &[String]) -> (String, String) {
    let socket = format!(
        "\
# Written by `chronicle service install`; `chronicle service uninstall` removes it.
[Unit]
Description=Chronicle daemon socket (chat sessions of AI coding tools)

[Socket]
ListenStream={LISTEN_STREAM}
SocketMode=0600
DirectoryMode=0700
RemoveOnStop=yes

[Install]
WantedBy=sockets.target
"
    );
    let exec: Vec<String> = argv.iter().map(|a| systemd_quote(a)).collect();
    let service = format!(
        "\
# Written by `chronicle service install`; `chronicle service uninstall` removes it.
# Started by chronicled.socket on the first connection.
[Unit]
Description=Chronicle daemon: keeps the chat sessions of AI coding tools safe
Requires={SOCKET_UNIT}
After={SOCKET_UNIT}

[Service]
Type=notify
ExecStart={exec}
Restart=on-failure

[Install]
Also={SOCKET_UNIT}
",
        exec = exec.join(" ")
    );
    (socket, service)
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The launchd agent: started at login, restarted when it fails (an exit
/// 0, from a stop or the idle exit, is left alone: the CLI starts it again).
fn launchd_plist(argv: &[String], log: Option<&Path>) -> String {
    let mut plist = String::from(
        "\
<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">
<!-- Written by `chronicle service install`; `chronicle service uninstall` removes it. -->
<plist version=\"1.0\">
<dict>
",
    );
    plist.push_str(&format!(
        "\t<key>Label</key>\n\t<string>{}</string>\n",
        xml_escape(LAUNCHD_LABEL)
    ));
    plist.push_str("\t<key>ProgramArguments</key>\n\t<array>\n");
    for arg in argv {
        plist.push_str(&format!("\t\t<string>{}</string>\n", xml_escape(arg)));
    }
    plist.push_str("\t</array>\n");
    plist.push_str("\t<key>RunAtLoad</key>\n\t<true/>\n");
    plist.push_str("\t<key>KeepAlive</key>\n\t<dict>\n\t\t<key>SuccessfulExit</key>\n\t\t<false/>\n\t</dict>\n");
    plist.push_str("\t<key>ProcessType</key>\n\t<string>Background</string>\n");
    if let Some(log) = log {
        plist.push_str(&format!(
            "\t<key>StandardErrorPath</key>\n\t<string>{}</string>\n",
            xml_escape(&log.to_string_lossy())
        ));
    }
    plist.push_str("</dict>\n</plist>\n");
    plist
}

/// Writes a file whole or not at all, readable by the service manager.
fn write_file(file: &ServiceFile) -> Result<(), Failure> {
    let refused = |err: io::Error| Failure::refused(format!("cannot write {}: {err}", file.path.display()));
    if let Some(dir) = file.path.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)
            .map_err(refused)?;
    }
    write_atomic_with(&file.path, |out| {
        out.write_all(file.contents.as_bytes())?;
        out.file().set_permissions(fs::Permissions::from_mode(0o644))
    })
    .map_err(refused)
}

// ------------------------------------------------------------------ tools

/// Why a `systemctl`/`launchctl` call did not succeed.
#[derive(Debug)]
enum ToolError {
    /// The program is not there.
    Missing(String),
    /// It ran and failed; its first line of complaint.
    Failed(String),
}

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ToolError::Missing(what) | ToolError::Failed(what) => f.write_str(what),
        }
    }
}

fn tool_program(manager: Manager) -> OsString {
    let (variable, default) = match manager {
        Manager::Systemd => ("CHRONICLE_SYSTEMCTL", "systemctl"),
        Manager::Launchd => ("CHRONICLE_LAUNCHCTL", "launchctl"),
    };
    std::env::var_os(variable)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.into())
}

/// Runs the manager's tool: whether it succeeded, and its stdout.
fn tool_output(manager: Manager, args: &[&str]) -> Result<(std::process::Output, String), ToolError> {
    let program = tool_program(manager);
    let output = Command::new(&program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| ToolError::Missing(format!("{} cannot run: {err}", program.to_string_lossy())))?;
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Ok((output, stdout))
}

/// Runs the manager's tool; its stdout when it succeeded.
fn tool(manager: Manager, args: &[&str]) -> Result<String, ToolError> {
    let program = tool_program(manager);
    let (output, stdout) = tool_output(manager, args)?;
    if output.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let why = stderr
        .lines()
        .chain(stdout.lines())
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
        .trim()
        .to_owned();
    Err(ToolError::Failed(format!(
        "`{} {}` failed ({}): {why}",
        program.to_string_lossy(),
        args.join(" "),
        output.status
    )))
}

fn systemctl(args: &[&str]) -> Result<String, ToolError> {
    let mut all = vec!["--user"];
    all.extend_from_slice(args);
    tool(Manager::Systemd, &all)
}

fn gui_domain() -> String {
    format!("gui/{}", rustix::process::getuid().as_raw())
}

/// The commands that make the installed files take effect.
fn activation_commands(plan: &Plan) -> Vec<String> {
    match plan.manager {
        Manager::Systemd => vec![
            "systemctl --user daemon-reload".into(),
            format!("systemctl --user enable --now {SOCKET_UNIT}"),
        ],
        Manager::Launchd => plan
            .files
            .iter()
            .map(|f| format!("launchctl bootstrap {} {}", gui_domain(), f.path.display()))
            .collect(),
    }
}

// ----------------------------------------------------------------- verbs

fn print_paths(paths: &[PathBuf], out: &mut impl Write) -> io::Result<()> {
    for path in paths {
        writeln!(out, "{}", path.display())?;
    }
    Ok(())
}

fn foreign(manager: Manager) -> Failure {
    Failure::usage(format!(
        "{} is not this system's service manager — add --dry-run to see its files, or drop --manager",
        manager.name()
    ))
}

/// Where the socket unit listens, as this shell would spell it; `None`
/// when `XDG_RUNTIME_DIR` (systemd's `%t`) is not set here.
fn systemd_listen_path() -> Option<PathBuf> {
    std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .map(|runtime| runtime.join("chronicle").join("chronicle.sock"))
}

/// Whether the daemon the service manager runs is the one this CLI dials.
fn same_socket(ctx: &Ctx, manager: Manager) -> bool {
    match manager {
        Manager::Systemd => systemd_listen_path().is_some_and(|p| p == ctx.socket),
        Manager::Launchd => true,
    }
}

async fn install(
    ctx: &Ctx,
    target: &ServiceTarget,
    dry_run: bool,
    idle_exit: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let manager = Manager::pick(target.manager);
    if target.print && !dry_run {
        print_paths(&file_paths(manager)?, out)?;
        return Ok(());
    }
    let plan = plan(ctx, manager, idle_exit)?;
    if dry_run {
        for (i, file) in plan.files.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            writeln!(out, "==> {} <==", file.path.display())?;
            write!(out, "{}", file.contents)?;
        }
        eprintln!(
            "chronicle: dry run, nothing written; install would then run: {}",
            activation_commands(&plan).join(" && ")
        );
        return Ok(());
    }
    if !manager.native() {
        return Err(foreign(manager).into());
    }
    for file in &plan.files {
        write_file(file)?;
        writeln!(out, "wrote {}", file.path.display())?;
    }
    if manager == Manager::Systemd && !same_socket(ctx, manager) {
        match systemd_listen_path() {
            Some(listen) => eprintln!(
                "chronicle: note: systemd listens on {}, but this shell's chronicle uses {} (--socket or CHRONICLE_SOCKET) — unset it to reach the service",
                listen.display(),
                ctx.socket.display()
            ),
            None => eprintln!(
                "chronicle: note: XDG_RUNTIME_DIR is not set in this shell; systemd listens on {LISTEN_STREAM} of your login session"
            ),
        }
    }
    let activated = match manager {
        Manager::Systemd => systemctl(&["daemon-reload"]).map(|_| ()),
        Manager::Launchd => tool(Manager::Launchd, &["version"]).map(|_| ()),
    };
    if let Err(err) = activated {
        writeln!(
            out,
            "{} is not available here ({err}). To start chronicled at login, run:\n  {}",
            match manager {
                Manager::Systemd => "systemctl --user",
                Manager::Launchd => "launchctl",
            },
            activation_commands(&plan).join("\n  ")
        )?;
        return Ok(());
    }
    // A daemon the CLI started holds the data directory: the managed one
    // could not start beside it, so it makes way.
    if same_socket(ctx, manager)
        && let Some(pid) = daemon::stop(&ctx.socket).await?
    {
        writeln!(
            out,
            "stopped the running chronicled (pid {pid}) so {} can take over",
            manager.name()
        )?;
    }
    match manager {
        Manager::Systemd => {
            systemctl(&["enable", "--now", SOCKET_UNIT]).map_err(|e| Failure::refused(e.to_string()))?;
            writeln!(
                out,
                "enabled {SOCKET_UNIT}: listening from login on, chronicled starts on the first connection"
            )?;
        }
        Manager::Launchd => {
            let domain = gui_domain();
            // Replace an agent loaded by an earlier install.
            let _ = tool(Manager::Launchd, &["bootout", &format!("{domain}/{LAUNCHD_LABEL}")]);
            for file in &plan.files {
                let path = file.path.to_string_lossy();
                tool(Manager::Launchd, &["bootstrap", &domain, &path]).map_err(|e| Failure::refused(e.to_string()))?;
            }
            writeln!(out, "loaded {LAUNCHD_LABEL}: chronicled runs now and at every login")?;
        }
    }
    if same_socket(ctx, manager) {
        verify(ctx, manager, out).await?;
    }
    Ok(())
}

/// Dials the daemon the service manager now runs (which, with socket
/// activation, is what starts it).
async fn verify(ctx: &Ctx, manager: Manager, out: &mut impl Write) -> anyhow::Result<()> {
    let logs = match manager {
        Manager::Systemd => "journalctl --user -u chronicled",
        Manager::Launchd => "chronicle daemon logs",
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        if let Ok(Some(client)) = Client::try_connect(&ctx.socket).await
            && let Ok(status) = client.status().await
        {
            writeln!(out, "chronicled answers on {} (pid {})", status.socket, status.pid)?;
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(Failure::unavailable(format!(
                "installed, but chronicled does not answer on {} — see `{logs}`",
                ctx.socket.display()
            ))
            .into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn uninstall(target: &ServiceTarget, dry_run: bool, out: &mut impl Write) -> anyhow::Result<()> {
    let manager = Manager::pick(target.manager);
    let paths = file_paths(manager)?;
    let present: Vec<PathBuf> = paths.iter().filter(|p| p.exists()).cloned().collect();
    if target.print {
        print_paths(&paths, out)?;
        return Ok(());
    }
    let deactivate: Vec<String> = match manager {
        Manager::Systemd => vec![format!("systemctl --user disable --now {SOCKET_UNIT} {SERVICE_UNIT}")],
        Manager::Launchd => vec![format!("launchctl bootout {}/{LAUNCHD_LABEL}", gui_domain())],
    };
    if dry_run {
        for path in &present {
            writeln!(out, "would remove {}", path.display())?;
        }
        if present.is_empty() {
            writeln!(out, "nothing to remove: the {} files are not installed", manager.name())?;
        } else {
            writeln!(out, "would run: {}", deactivate.join(" && "))?;
        }
        return Ok(());
    }
    if !manager.native() {
        return Err(foreign(manager).into());
    }
    if present.is_empty() {
        writeln!(out, "nothing to remove: the {} files are not installed", manager.name())?;
        return Ok(());
    }
    let stopped = match manager {
        Manager::Systemd => systemctl(&["disable", "--now", SOCKET_UNIT, SERVICE_UNIT]).map(|_| ()),
        Manager::Launchd => tool(
            Manager::Launchd,
            &["bootout", &format!("{}/{LAUNCHD_LABEL}", gui_domain())],
        )
        .map(|_| ()),
    };
    match &stopped {
        Ok(()) => writeln!(out, "stopped and disabled chronicled")?,
        Err(ToolError::Missing(_)) => {}
        Err(err) => eprintln!("chronicle: warning: {err}"),
    }
    for path in &present {
        fs::remove_file(path).map_err(|err| Failure::refused(format!("cannot remove {}: {err}", path.display())))?;
        writeln!(out, "removed {}", path.display())?;
    }
    if manager == Manager::Systemd && stopped.is_ok() {
        let _ = systemctl(&["daemon-reload"]);
    }
    if let Err(ToolError::Missing(why)) = stopped {
        writeln!(
            out,
            "the service manager is not available here ({why}); if it runs elsewhere, also run: {}",
            deactivate.join(" && ")
        )?;
    }
    Ok(())
}

fn status(ctx: &Ctx, target: &ServiceTarget, out: &mut impl Write) -> anyhow::Result<()> {
    let manager = Manager::pick(target.manager);
    if target.print {
        print_paths(&file_paths(manager)?, out)?;
        return Ok(());
    }
    // What install would write now; a file that differs is out of date.
    let expected = plan(ctx, manager, None).ok();
    let mut installed = 0;
    let paths = file_paths(manager)?;
    writeln!(out, "manager:  {}", manager.name())?;
    for path in &paths {
        let state = match fs::read_to_string(path) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => "not installed".to_owned(),
            Err(err) => format!("unreadable: {err}"),
            Ok(text) => {
                installed += 1;
                let current = expected
                    .as_ref()
                    .and_then(|p| p.files.iter().find(|f| &f.path == path))
                    .map(|f| without_idle_exit(&f.contents) == without_idle_exit(&text));
                match current {
                    Some(true) => "installed".to_owned(),
                    _ => "installed, but differs from what `chronicle service install` writes now — run it again"
                        .to_owned(),
                }
            }
        };
        writeln!(out, "file:     {} ({state})", path.display())?;
    }
    match manager {
        Manager::Systemd => {
            let listen = systemd_listen_path()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "XDG_RUNTIME_DIR is not set here".into());
            writeln!(out, "listens:  {LISTEN_STREAM} ({listen})")?;
            // is-enabled/is-active print the state and exit non-zero for
            // "disabled", "inactive" and the like: the word is the answer.
            let query = |verb: &str, unit: &str| match tool_output(Manager::Systemd, &["--user", verb, unit]) {
                Ok((_, state)) if !state.is_empty() => Ok(state),
                Ok((output, _)) => Err(String::from_utf8_lossy(&output.stderr)
                    .lines()
                    .next()
                    .unwrap_or("no answer")
                    .to_owned()),
                Err(err) => Err(err.to_string()),
            };
            match query("is-enabled", SOCKET_UNIT) {
                Ok(enabled) => writeln!(
                    out,
                    "systemd:  {SOCKET_UNIT} {enabled}, {}; {SERVICE_UNIT} {}",
                    query("is-active", SOCKET_UNIT).unwrap_or_else(|_| "unknown".into()),
                    query("is-active", SERVICE_UNIT).unwrap_or_else(|_| "unknown".into())
                )?,
                Err(why) => writeln!(out, "systemd:  systemctl --user does not answer here ({why})")?,
            }
            writeln!(out, "logs:     journalctl --user -u chronicled")?;
        }
        Manager::Launchd => {
            let loaded = tool(
                Manager::Launchd,
                &["print", &format!("{}/{LAUNCHD_LABEL}", gui_domain())],
            )
            .is_ok();
            writeln!(out, "launchd:  {}", if loaded { "loaded" } else { "not loaded" })?;
        }
    }
    if installed == 0 {
        writeln!(
            out,
            "not installed — `chronicle service install` starts chronicled at login"
        )?;
    }
    Ok(())
}

/// A file's text without its `--idle-exit` choice, which `status` cannot
/// know and which does not make an install out of date.
fn without_idle_exit(text: &str) -> String {
    const FLAG: &str = " --idle-exit ";
    let mut kept = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "<string>--idle-exit</string>" {
            // Its value is the next line.
            lines.next();
            continue;
        }
        match line.find(FLAG) {
            Some(at) if line.starts_with("ExecStart=") => {
                let value_and_rest = &line[at + FLAG.len()..];
                let rest = value_and_rest.find(' ').map_or("", |end| &value_and_rest[end..]);
                kept.push(format!("{}{rest}", &line[..at]));
            }
            _ => kept.push(line.to_owned()),
        }
    }
    kept.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_arguments_stay_plain() {
        assert_eq!(systemd_quote("/usr/bin/chronicled"), "/usr/bin/chronicled");
        assert_eq!(systemd_quote("--idle-exit"), "--idle-exit");
    }

    #[test]
    fn specifiers_and_variables_are_escaped() {
        assert_eq!(systemd_quote("/home/a%b/x"), "/home/a%%b/x");
        assert_eq!(systemd_quote("/opt/$HOME"), "/opt/$$HOME");
    }

    #[test]
    fn spaces_and_quotes_are_quoted() {
        assert_eq!(
            systemd_quote("/Users/me/My Tools/chronicled"),
            "\"/Users/me/My Tools/chronicled\""
        );
        assert_eq!(systemd_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(systemd_quote(""), "\"\"");
    }

    #[test]
    fn the_service_unit_names_the_daemon_and_its_policy() {
        let argv = vec![
            "/opt/chronicle bin/chronicled".to_owned(),
            "--idle-exit".into(),
            "10m".into(),
        ];
        let (socket, service) = systemd_units(&argv);
        assert!(
            socket.contains("\nListenStream=%t/chronicle/chronicle.sock\n"),
            "{socket}"
        );
        assert!(socket.contains("\nSocketMode=0600\n") && socket.contains("\nDirectoryMode=0700\n"));
        assert!(service.contains("\nType=notify\n"), "{service}");
        assert!(service.contains("\nRestart=on-failure\n"));
        assert!(
            service.contains("\nExecStart=\"/opt/chronicle bin/chronicled\" --idle-exit 10m\n"),
            "{service}"
        );
    }

    #[test]
    fn the_plist_escapes_its_strings() {
        let plist = launchd_plist(&["/a&b/chronicled".to_owned()], Some(Path::new("/d/<log>")));
        assert!(plist.contains("<string>/a&amp;b/chronicled</string>"), "{plist}");
        assert!(plist.contains("<string>/d/&lt;log&gt;</string>"), "{plist}");
        assert!(plist.contains("<key>RunAtLoad</key>\n\t<true/>"));
    }

    #[test]
    fn idle_exit_must_be_a_duration() {
        for good in ["10m", "30s", "500ms", "2h", "1d", "90"] {
            assert!(check_duration(good).is_ok(), "{good}");
        }
        for bad in ["", "m", "ten", "10 m", "10m; rm -rf", "-1s"] {
            assert!(check_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_ignores_the_idle_exit_choice() {
        assert_eq!(
            without_idle_exit("ExecStart=/x --data-dir /d --idle-exit 10m\nRestart=on-failure"),
            without_idle_exit("ExecStart=/x --data-dir /d\nRestart=on-failure")
        );
        assert_eq!(
            without_idle_exit("ExecStart=/x --idle-exit 10m --data-dir /d\n"),
            "ExecStart=/x --data-dir /d"
        );
        let with = launchd_plist(&["/x".into(), "--idle-exit".into(), "10m".into()], None);
        let without = launchd_plist(&["/x".into()], None);
        assert_eq!(without_idle_exit(&with), without_idle_exit(&without));
        assert_ne!(
            without_idle_exit("ExecStart=/x --data-dir /a"),
            without_idle_exit("ExecStart=/x --data-dir /b")
        );
    }
}
