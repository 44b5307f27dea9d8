//! The real `chronicle-gui` binary in a real X server: Xvfb on a display it
//! picks itself, the app pointed at a test daemon, a screenshot of the
//! screen with ImageMagick's `import` (or `xwd`), and a check that the
//! window drew something. Skipped, with the reason printed, where Xvfb is
//! not installed (`.ci/run` installs it).
//!
//! `CHRONICLE_GUI_SCREENSHOT=path.png` also keeps the screenshot, which is
//! how `docs/gui.png` is made.

use std::{
    io::Read as _,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use crate::common::demo_session;

/// Kills a child process when dropped, so a failing test leaves none.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    })
}

/// Starts Xvfb on a free display (it picks one and tells us through a
/// pipe) and returns it with the display name.
fn start_xvfb(xvfb: &Path) -> (KillOnDrop, String) {
    let mut child = Command::new(xvfb)
        .args(["-displayfd", "1", "-screen", "0", "1180x760x24", "-nolisten", "tcp"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Xvfb");
    let mut out = child.stdout.take().expect("Xvfb's stdout");
    let child = KillOnDrop(child);
    let mut number = String::new();
    let mut byte = [0u8; 1];
    // Xvfb writes the display number and a newline once it accepts clients.
    while out.read(&mut byte).expect("read Xvfb's display") == 1 && byte[0] != b'\n' {
        number.push(byte[0] as char);
    }
    assert!(!number.trim().is_empty(), "Xvfb did not report a display");
    (child, format!(":{}", number.trim()))
}

fn screenshot(display: &str, target: &Path) -> bool {
    if on_path("import").is_some() {
        let status = Command::new("import")
            .args(["-display", display, "-window", "root"])
            .arg(target)
            .stderr(Stdio::null())
            .status();
        return status.is_ok_and(|s| s.success());
    }
    if on_path("xwd").is_some() && on_path("convert").is_some() {
        let xwd = target.with_extension("xwd");
        let ok = Command::new("xwd")
            .args(["-display", display, "-root", "-silent", "-out"])
            .arg(&xwd)
            .status()
            .is_ok_and(|s| s.success());
        return ok
            && Command::new("convert")
                .arg(&xwd)
                .arg(target)
                .status()
                .is_ok_and(|s| s.success());
    }
    false
}

/// Distinct colours in the picture: a blank screen has one, a drawn window
/// with text has hundreds.
fn distinct_colours(path: &Path) -> usize {
    let image = image::open(path).expect("read the screenshot").to_rgb8();
    let mut colours: Vec<[u8; 3]> = image.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    colours.len()
}

#[test]
fn the_window_opens_under_xvfb() {
    let Some(xvfb) = on_path("Xvfb") else {
        println!("skipped: Xvfb is not installed (apt-get install xvfb imagemagick)");
        return;
    };
    if on_path("import").is_none() && on_path("xwd").is_none() {
        println!("skipped: neither ImageMagick's import nor xwd is installed");
        return;
    }
    let sandbox = chronicle_tests::Sandbox::new();
    let daemon = sandbox.start();
    let runtime = crate::common::runtime();
    let mut client = runtime.block_on(daemon.client());
    let project = sandbox.project("login-service");
    demo_session(&mut client, &runtime, &project.to_string_lossy());

    let (_xvfb, display) = start_xvfb(&xvfb);
    let home = sandbox.dir.path().join("home");
    let config = home.join(".config").join("chronicle");
    std::fs::create_dir_all(&config).expect("create a config dir");
    std::fs::write(config.join("gui.json"), r#"{"theme":"light"}"#).expect("write preferences");
    let mut app = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_chronicle-gui"))
            .arg("--socket")
            .arg(sandbox.socket())
            .arg("--project")
            .arg(&project)
            .args(["--start", "last"])
            .env("DISPLAY", &display)
            .env("HOME", &home)
            .env("TZ", "UTC")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("CHRONICLE_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chronicle-gui"),
    );

    let shot = sandbox.dir.path().join("screen.png");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut colours = 0;
    // The window needs a moment to map, connect and draw the chat: retake
    // the picture until it shows a full window, or time runs out.
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1500));
        if let Ok(Some(status)) = app.0.try_wait() {
            let mut stderr = String::new();
            if let Some(mut pipe) = app.0.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            panic!("chronicle-gui exited ({status}) under Xvfb:\n{stderr}");
        }
        if screenshot(&display, &shot) {
            colours = distinct_colours(&shot);
            if colours > 200 {
                break;
            }
        }
    }
    if let Some(keep) = std::env::var_os("CHRONICLE_GUI_SCREENSHOT") {
        std::fs::copy(&shot, &keep).expect("keep the screenshot");
    }
    assert!(
        colours > 200,
        "the screen looks blank ({colours} colours) — is the window drawing?"
    );
}
