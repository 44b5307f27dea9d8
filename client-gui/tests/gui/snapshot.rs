//! One picture of the main window with a fixed session, rendered by wgpu
//! (on Mesa's llvmpipe where there is no GPU) and compared with
//! `tests/snapshots/main_window.png` (and, popup open,
//! `sessions_popup.png`; the search panel, `search_panel.png`; a hit opened
//! read-only, `read_only_view.png`). A layout or style regression shows up
//! as a failed comparison with a diff image next to the snapshot;
//! `UPDATE_SNAPSHOTS=1` accepts a deliberate change.

use crate::common;

use crate::common::{demo_session, wait_for_text, wait_until};
use chronicle_gui::{App, AppConfig, Phase, StartChoice, ThemeChoice};
use egui_kittest::{Harness, kittest::Queryable};

/// A fixed path, so the project bar reads the same on every run.
const PROJECT: &str = "/tmp/chronicle-gui-snapshot/login-service";

/// A daemon with a client of our own, for one picture of the window.
struct Scene {
    sandbox: chronicle_tests::Sandbox,
    _daemon: chronicle_tests::Daemon,
    runtime: tokio::runtime::Runtime,
    client: chronicle_proto::SessionsClient<tonic::transport::Channel>,
}

impl Scene {
    fn new() -> Scene {
        let sandbox = chronicle_tests::Sandbox::new();
        let daemon = sandbox.start();
        let runtime = common::runtime();
        let client = runtime.block_on(daemon.client());
        Scene {
            sandbox,
            _daemon: daemon,
            runtime,
            client,
        }
    }

    /// The real app on `project`, light theme, loading the last session,
    /// drawn by wgpu at `size`.
    fn window(&self, project: &str, time_zone: jiff::tz::TimeZone, size: eframe::egui::Vec2) -> Harness<'static, App> {
        let prefs_path = self.sandbox.dir.path().join("gui.json");
        let prefs = chronicle_gui::Prefs {
            theme: ThemeChoice::Light,
            ..chronicle_gui::Prefs::default()
        };
        prefs.save(&prefs_path).expect("write preferences");
        let app = App::new(AppConfig {
            socket: self.sandbox.socket(),
            project: project.into(),
            prefs_path: Some(prefs_path),
            start: Some(StartChoice::Last),
            time_zone,
        })
        .expect("start the app");
        Harness::builder()
            .with_size(size)
            .wgpu()
            .with_render_cursor(false)
            .build_ui_state(|ui, app: &mut App| app.show(ui), app)
    }
}

#[test]
fn main_window() {
    let scene = Scene::new();
    let mut client = scene.client.clone();
    // A leftover from an earlier run must not add a file.
    let _ = std::fs::remove_file(std::path::Path::new(PROJECT).join("src/legacy_auth.rs"));
    demo_session(&mut client, &scene.runtime, PROJECT);
    let mut harness = scene.window(PROJECT, jiff::tz::TimeZone::UTC, eframe::egui::vec2(1180.0, 760.0));
    wait_until(&mut harness, "the project to open", |h| {
        *h.state().phase() == Phase::Open
    });
    wait_for_text(&mut harness, "test result: ok");
    wait_for_text(&mut harness, "src/legacy_auth.rs");
    wait_until(&mut harness, "the system's emoji font", |h| h.state().fonts_ready());
    harness.run_ok();
    harness.snapshot("main_window");

    // The same window with the Sessions popup open: the picture the README
    // shows (relative times there read "just now" within 45 seconds).
    common::click(&mut harness, "History");
    common::wait_for_label(&mut harness, "Load messages: fix login");
    harness.run_ok();
    harness.snapshot("sessions_popup");

    // Search (Ctrl+K) with its hits, then the saved session opened
    // read-only at one of them.
    common::click(&mut harness, "History");
    let open = "Open saved session “fix login” at #2";
    common::search_until(&mut harness, "percent decoded", open);
    // The pointer is left wherever the last click was (History, or "Run
    // search" when the index was still catching up): away from both.
    harness.hover_at(eframe::egui::pos2(1030.0, 500.0));
    harness.run_ok();
    harness.snapshot("search_panel");
    common::click(&mut harness, open);
    wait_for_text(&mut harness, "(read-only)");
    wait_for_text(&mut harness, "percent-decoded");
    // The click left the pointer over the chat's scroll bar, which would
    // show it wide and dark.
    harness.hover_at(eframe::egui::pos2(1030.0, 500.0));
    harness.run_ok();
    harness.snapshot("read_only_view");
}

/// The window showing a message in Chinese, Japanese, Korean, Arabic and
/// Hebrew with emoji, and a task list, compared with
/// `tests/snapshots/every_script.png`: the scripts come from the system's
/// fonts (Debian's fonts-noto-cjk, which `.ci/run` installs; elsewhere the
/// test is skipped with a note), the rocket is Noto Color Emoji's (in
/// colour), each task has one box, not a bullet too,
/// and the time reads in the app's zone (Asia/Seoul here) with its
/// abbreviation.
#[test]
fn every_script() {
    let cjk = ["/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"];
    if !cjk.iter().any(|f| std::path::Path::new(f).exists()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "fonts-noto-cjk is missing on CI — .ci/run installs it"
        );
        eprintln!("skipped: fonts-noto-cjk is not installed");
        return;
    }
    const SCRIPTS: &str = "/tmp/chronicle-gui-snapshot/every-script";
    let scene = Scene::new();
    let mut client = scene.client.clone();
    std::fs::create_dir_all(SCRIPTS).expect("create the project");
    scene
        .runtime
        .block_on(
            client.append_message(chronicle_proto::v1::AppendMessageRequest {
                project: SCRIPTS.into(),
                message: Some(chronicle_proto::v1::Message {
                    role: chronicle_proto::v1::Role::Assistant as i32,
                    content: "Why does the **login** test hang? 你好 こんにちは 한국어 🚀 ✅ مرحبا שלום\n\n\
                          - [ ] write the test\n- [x] fix the cookie"
                        .into(),
                    created_at_ms: 1_764_121_740_000, // 2025-11-26 10:49 KST
                    ..chronicle_proto::v1::Message::default()
                }),
                expected_revision: None,
            }),
        )
        .expect("append the message");
    let seoul = jiff::tz::TimeZone::get("Asia/Seoul").expect("the time zone database");
    let mut harness = scene.window(SCRIPTS, seoul, eframe::egui::vec2(900.0, 420.0));
    wait_until(&mut harness, "the project to open", |h| {
        *h.state().phase() == Phase::Open
    });
    wait_for_text(&mut harness, "write the test");
    wait_for_text(&mut harness, "2025-11-26 10:49 KST");
    wait_until(&mut harness, "the system's emoji font", |h| h.state().fonts_ready());
    assert_eq!(
        harness.query_all_by_label_contains("☐ write the test").count(),
        1,
        "the open task is one line with its box"
    );
    harness.run_ok();
    harness.snapshot("every_script");
}
