//! One picture of the main window with a fixed session, rendered by wgpu
//! (on Mesa's llvmpipe where there is no GPU) and compared with
//! `tests/snapshots/main_window.png` (and, popup open,
//! `sessions_popup.png`). A layout or style regression shows up
//! as a failed comparison with a diff image next to the snapshot;
//! `UPDATE_SNAPSHOTS=1` accepts a deliberate change.

use crate::common;

use crate::common::{demo_session, wait_for_text, wait_until};
use chronicle_gui::{App, AppConfig, Phase, StartChoice, ThemeChoice};
use egui_kittest::Harness;

/// A fixed path, so the project bar reads the same on every run.
const PROJECT: &str = "/tmp/chronicle-gui-snapshot/login-service";

#[test]
fn main_window() {
    let sandbox = chronicle_tests::Sandbox::new();
    let daemon = sandbox.start();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a test runtime");
    let mut client = runtime.block_on(daemon.client());
    // A leftover from an earlier run must not add a file.
    let _ = std::fs::remove_file(std::path::Path::new(PROJECT).join("src/legacy_auth.rs"));
    demo_session(&mut client, &runtime, PROJECT);

    let prefs_path = sandbox.dir.path().join("gui.json");
    let prefs = chronicle_gui::Prefs {
        theme: ThemeChoice::Light,
        ..chronicle_gui::Prefs::default()
    };
    prefs.save(&prefs_path).expect("write preferences");
    let app = App::new(AppConfig {
        socket: sandbox.socket(),
        project: PROJECT.into(),
        prefs_path: Some(prefs_path),
        start: Some(StartChoice::Last),
        time_zone: jiff::tz::TimeZone::UTC,
    })
    .expect("start the app");
    let mut harness = Harness::builder()
        .with_size(eframe::egui::vec2(1180.0, 760.0))
        .wgpu()
        .with_render_cursor(false)
        .build_ui_state(|ui, app: &mut App| app.show(ui), app);
    wait_until(&mut harness, "the project to open", |h| {
        *h.state().phase() == Phase::Open
    });
    wait_for_text(&mut harness, "test result: ok");
    wait_for_text(&mut harness, "src/legacy_auth.rs");
    harness.run_ok();
    harness.snapshot("main_window");

    // The same window with the Sessions popup open: the picture the README
    // shows (relative times there read "just now" within 45 seconds).
    common::click(&mut harness, "History");
    common::wait_for_label(&mut harness, "Load messages: fix login");
    harness.run_ok();
    harness.snapshot("sessions_popup");
}
