//! `chronicle service`: the generated systemd units parse and say what
//! they must (the socket on `%t`, private modes, `Type=notify`, the
//! absolute path of chronicled, restart on failure); `--dry-run` and
//! `--print` write nothing; `install` writes the units where systemd looks
//! and enables the socket through `systemctl --user`, or says what to run
//! when that is not available; `status` and `uninstall` follow. The launchd
//! agent is checked as a document. A stand-in `systemctl` (named by
//! `CHRONICLE_SYSTEMCTL`) records what would have been run, so nothing
//! touches the machine's real service manager.

use std::{
    collections::HashMap,
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Command,
};

use chronicle_tests::{CliRun, Sandbox, binary};

/// One unit file: section → key → values (a key may repeat).
type Unit = HashMap<String, HashMap<String, Vec<String>>>;

/// Parses systemd's INI dialect: `[Section]`, `Key=Value`, `#`/`;` comments.
fn parse_unit(text: &str) -> Unit {
    let mut unit = Unit::new();
    let mut section = String::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            unit.entry(section.clone()).or_default();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("line {}: not Key=Value: {line:?}\n{text}", number + 1));
        assert!(!section.is_empty(), "line {}: a key outside any section", number + 1);
        unit.entry(section.clone())
            .or_default()
            .entry(key.trim().to_owned())
            .or_default()
            .push(value.trim().to_owned());
    }
    unit
}

fn value<'u>(unit: &'u Unit, section: &str, key: &str) -> &'u str {
    let values = unit
        .get(section)
        .and_then(|s| s.get(key))
        .unwrap_or_else(|| panic!("[{section}] {key} is missing in {unit:?}"));
    assert_eq!(values.len(), 1, "[{section}] {key} appears once");
    &values[0]
}

/// Splits `--dry-run` output (`==> PATH <==` headers) into its files.
fn split_files(stdout: &str) -> Vec<(PathBuf, String)> {
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for line in stdout.lines() {
        if let Some(path) = line.strip_prefix("==> ").and_then(|l| l.strip_suffix(" <==")) {
            files.push((PathBuf::from(path), String::new()));
        } else if let Some((_, text)) = files.last_mut() {
            text.push_str(line);
            text.push('\n');
        } else {
            panic!("output before the first file header: {line:?}");
        }
    }
    files
}

/// The sandbox's CLI with its own config dir and a stand-in `systemctl`.
struct Setup {
    sandbox: Sandbox,
    config: PathBuf,
    systemctl_log: PathBuf,
}

impl Setup {
    fn new() -> Self {
        let sandbox = Sandbox::new();
        let config = sandbox.dir.path().join("config");
        let systemctl_log = sandbox.dir.path().join("systemctl.log");
        Setup {
            sandbox,
            config,
            systemctl_log,
        }
    }

    fn unit_dir(&self) -> PathBuf {
        self.config.join("systemd").join("user")
    }

    /// A `systemctl` that logs its arguments and answers like a healthy
    /// user manager.
    fn fake_systemctl(&self) -> PathBuf {
        let script = self.sandbox.dir.path().join("systemctl");
        fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$*\" >> '{}'\ncase \"$2\" in\n  is-enabled) echo enabled ;;\n  is-active) echo active ;;\nesac\nexit 0\n",
                self.systemctl_log.display()
            ),
        )
        .expect("write the stand-in systemctl");
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("make it executable");
        script
    }

    fn run(&self, systemctl: &Path, args: &[&str]) -> CliRun {
        let mut command: Command = self.sandbox.cli();
        command
            .env("XDG_CONFIG_HOME", &self.config)
            .env("CHRONICLE_SYSTEMCTL", systemctl)
            .args(args);
        let out = command.output().expect("run chronicle");
        CliRun {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn systemctl_calls(&self) -> Vec<String> {
        fs::read_to_string(&self.systemctl_log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

#[test]
fn dry_run_prints_units_that_parse_and_say_what_they_must() {
    let setup = Setup::new();
    let missing = setup.sandbox.dir.path().join("no-systemctl");
    let run = setup
        .run(&missing, &["service", "install", "--dry-run", "--idle-exit", "10m"])
        .ok();
    let files = split_files(&run.stdout);
    let paths: Vec<&Path> = files.iter().map(|(p, _)| p.as_path()).collect();
    assert_eq!(
        paths,
        [
            setup.unit_dir().join("chronicled.socket"),
            setup.unit_dir().join("chronicled.service")
        ],
        "units go to $XDG_CONFIG_HOME/systemd/user"
    );
    assert!(!setup.unit_dir().exists(), "a dry run writes nothing");
    assert!(
        run.stderr.contains("systemctl --user enable --now chronicled.socket"),
        "{}",
        run.stderr
    );

    let socket = parse_unit(&files[0].1);
    assert_eq!(value(&socket, "Socket", "ListenStream"), "%t/chronicle/chronicle.sock");
    assert_eq!(value(&socket, "Socket", "SocketMode"), "0600");
    assert_eq!(value(&socket, "Socket", "DirectoryMode"), "0700");
    assert_eq!(value(&socket, "Install", "WantedBy"), "sockets.target");

    let service = parse_unit(&files[1].1);
    assert_eq!(value(&service, "Service", "Type"), "notify");
    assert_eq!(value(&service, "Service", "Restart"), "on-failure");
    assert_eq!(value(&service, "Unit", "Requires"), "chronicled.socket");
    let exec: Vec<&str> = value(&service, "Service", "ExecStart").split(' ').collect();
    let daemon = Path::new(exec[0]);
    assert!(daemon.is_absolute(), "ExecStart names an absolute path: {exec:?}");
    assert_eq!(daemon, binary("chronicled"), "the chronicled next to the CLI");
    assert!(daemon.is_file());
    assert_eq!(
        &exec[1..],
        [
            "--data-dir",
            setup.sandbox.data_dir().to_str().expect("utf-8"),
            "--idle-exit",
            "10m"
        ],
        "the data dir the CLI uses, and the idle exit asked for"
    );

    // systemd's own checker agrees, where it is installed.
    if Path::new("/usr/bin/systemd-analyze").exists() {
        let dir = setup.sandbox.dir.path().join("verify");
        fs::create_dir_all(&dir).expect("mkdir");
        for (path, text) in &files {
            fs::write(dir.join(path.file_name().expect("a file name")), text).expect("write a unit");
        }
        let out = Command::new("/usr/bin/systemd-analyze")
            .current_dir(&dir)
            .args(["verify", "./chronicled.socket", "./chronicled.service"])
            .output()
            .expect("run systemd-analyze");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "systemd-analyze verify: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn print_shows_where_the_files_go_and_writes_nothing() {
    let setup = Setup::new();
    let missing = setup.sandbox.dir.path().join("no-systemctl");
    for verb in ["install", "uninstall", "status"] {
        let run = setup.run(&missing, &["service", verb, "--print"]).ok();
        assert_eq!(
            run.stdout.lines().collect::<Vec<_>>(),
            [
                setup.unit_dir().join("chronicled.socket").to_str().expect("utf-8"),
                setup.unit_dir().join("chronicled.service").to_str().expect("utf-8"),
            ],
            "{verb} --print"
        );
    }
    assert!(!setup.unit_dir().exists());

    // Without XDG_CONFIG_HOME: ~/.config/systemd/user.
    let mut command = setup.sandbox.cli();
    let out = command
        .env_remove("XDG_CONFIG_HOME")
        .args(["service", "install", "--print"])
        .output()
        .expect("run chronicle");
    let home = setup.sandbox.dir.path().join("home");
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with(&format!(
            "{}\n",
            home.join(".config/systemd/user/chronicled.socket").display()
        )),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn install_writes_the_units_and_enables_the_socket_then_uninstall_undoes_it() {
    let setup = Setup::new();
    let systemctl = setup.fake_systemctl();
    let run = setup.run(&systemctl, &["service", "install"]).ok();
    let socket = setup.unit_dir().join("chronicled.socket");
    let service = setup.unit_dir().join("chronicled.service");
    for unit in [&socket, &service] {
        let mode = fs::metadata(unit).expect("the unit is written").permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{}", unit.display());
    }
    let written = parse_unit(&fs::read_to_string(&service).expect("read the service"));
    assert_eq!(value(&written, "Service", "Type"), "notify");
    assert_eq!(
        setup.systemctl_calls(),
        ["--user daemon-reload", "--user enable --now chronicled.socket"],
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("enabled chronicled.socket"), "{}", run.stdout);

    let status = setup.run(&systemctl, &["service", "status"]).ok();
    assert_eq!(
        status.stdout.matches("(installed)").count(),
        2,
        "both units current:\n{}",
        status.stdout
    );
    assert!(
        status
            .stdout
            .contains("chronicled.socket enabled, active; chronicled.service active"),
        "{}",
        status.stdout
    );

    // A unit edited by hand (or an older install) is out of date.
    fs::write(&service, "[Service]\nExecStart=/old/chronicled\n").expect("edit the unit");
    let status = setup.run(&systemctl, &["service", "status"]).ok();
    assert!(status.stdout.contains("differs"), "{}", status.stdout);

    let dry = setup.run(&systemctl, &["service", "uninstall", "--dry-run"]).ok();
    assert!(dry.stdout.contains("would remove"), "{}", dry.stdout);
    assert!(socket.exists() && service.exists(), "a dry run removes nothing");

    fs::remove_file(&setup.systemctl_log).expect("reset the log");
    let run = setup.run(&systemctl, &["service", "uninstall"]).ok();
    assert!(!socket.exists() && !service.exists(), "{}", run.stdout);
    assert_eq!(
        setup.systemctl_calls(),
        [
            "--user disable --now chronicled.socket chronicled.service",
            "--user daemon-reload"
        ]
    );
    let again = setup.run(&systemctl, &["service", "uninstall"]).ok();
    assert!(again.stdout.contains("nothing to remove"), "{}", again.stdout);
}

#[test]
fn install_without_a_user_manager_writes_the_units_and_says_what_to_run() {
    let setup = Setup::new();
    let missing = setup.sandbox.dir.path().join("no-systemctl");
    let run = setup.run(&missing, &["service", "install"]).ok();
    assert!(setup.unit_dir().join("chronicled.socket").is_file());
    assert!(setup.unit_dir().join("chronicled.service").is_file());
    assert!(
        run.stdout.contains("systemctl --user daemon-reload")
            && run.stdout.contains("systemctl --user enable --now chronicled.socket"),
        "it says what to run:\n{}",
        run.stdout
    );

    // A systemctl that cannot reach a user manager is the same case.
    let offline = setup.sandbox.dir.path().join("offline-systemctl");
    fs::write(
        &offline,
        "#!/bin/sh\necho 'Failed to connect to bus: No medium found' >&2\nexit 1\n",
    )
    .expect("write");
    fs::set_permissions(&offline, fs::Permissions::from_mode(0o755)).expect("chmod");
    let run = setup.run(&offline, &["service", "install"]).ok();
    assert!(run.stdout.contains("Failed to connect to bus"), "{}", run.stdout);
    assert!(run.stdout.contains("systemctl --user enable --now chronicled.socket"));
}

#[test]
fn the_launchd_agent_starts_chronicled_at_login() {
    let setup = Setup::new();
    let missing = setup.sandbox.dir.path().join("no-systemctl");
    let run = setup
        .run(&missing, &["service", "install", "--manager", "launchd", "--dry-run"])
        .ok();
    let files = split_files(&run.stdout);
    assert_eq!(files.len(), 1);
    let (path, plist) = &files[0];
    assert_eq!(
        path,
        &setup
            .sandbox
            .dir
            .path()
            .join("home/Library/LaunchAgents/dev.chronicle.chronicled.plist")
    );
    assert!(plist.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist"));
    let strings: Vec<&str> = plist
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("<string>")
                .and_then(|l| l.strip_suffix("</string>"))
        })
        .collect();
    assert_eq!(strings[0], "dev.chronicle.chronicled", "the label");
    let chronicled = binary("chronicled");
    assert_eq!(
        strings[1],
        chronicled.to_str().expect("utf-8"),
        "an absolute chronicled"
    );
    assert_eq!(
        &strings[2..4],
        ["--socket", setup.sandbox.socket().to_str().expect("utf-8")],
        "the socket the CLI dials"
    );
    for needle in [
        "<key>RunAtLoad</key>\n\t<true/>",
        "<key>KeepAlive</key>\n\t<dict>\n\t\t<key>SuccessfulExit</key>\n\t\t<false/>",
    ] {
        assert!(plist.contains(needle), "{needle:?} in\n{plist}");
    }
    assert_eq!(plist.matches("<dict>").count(), plist.matches("</dict>").count());
    assert_eq!(plist.matches("<array>").count(), plist.matches("</array>").count());

    if !cfg!(target_os = "macos") {
        let run = setup.run(&missing, &["service", "install", "--manager", "launchd"]);
        assert_eq!(run.code, Some(2), "not this system's manager: {}", run.stderr);
        assert!(run.stderr.contains("--dry-run"), "{}", run.stderr);
    }
}

#[test]
fn a_bad_idle_exit_is_a_usage_error_and_writes_nothing() {
    let setup = Setup::new();
    let missing = setup.sandbox.dir.path().join("no-systemctl");
    let run = setup.run(&missing, &["service", "install", "--idle-exit", "soon"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(run.stderr.contains("not a duration"), "{}", run.stderr);
    assert!(!setup.unit_dir().exists());
}
