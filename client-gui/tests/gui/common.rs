//! What the GUI tests share: a real daemon on a temporary socket (the
//! end-to-end harness), the real [`App`] inside an egui_kittest harness,
//! a second tonic client playing "another window or the CLI", and waiting
//! for the UI to show something — the backend answers asynchronously, so a
//! test steps frames until the accessibility tree says what it expects.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use chronicle_gui::{App, AppConfig, StartChoice};
use chronicle_proto::{
    SessionsClient,
    v1::{
        AddContextFilesRequest, AppendMessageRequest, ContextFile, ListSessionsRequest, ListTrashRequest, Message,
        OpenProjectRequest, Role, SaveMode, SaveSessionRequest, SessionInfo, TrashEntry,
    },
};
use chronicle_tests::{Daemon, Sandbox};
use egui_kittest::{Harness, kittest::Queryable};
use tonic::transport::Channel;

/// How long the UI may take to show what a test waits for.
pub const UI_TIMEOUT: Duration = Duration::from_secs(15);

/// The runtime a test's own client runs on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a test runtime")
}

/// A daemon, a project in it, and a client of our own.
pub struct World {
    pub sandbox: Sandbox,
    pub daemon: Option<Daemon>,
    pub project: String,
    pub runtime: tokio::runtime::Runtime,
    pub client: SessionsClient<Channel>,
}

impl World {
    pub fn new() -> World {
        let sandbox = Sandbox::new();
        let daemon = sandbox.start();
        let project = sandbox.project("demo").to_string_lossy().into_owned();
        let runtime = runtime();
        let mut client = runtime.block_on(daemon.client());
        runtime
            .block_on(client.open_project(OpenProjectRequest {
                project: project.clone(),
                start: 0,
                expected_revision: None,
            }))
            .expect("open the project");
        World {
            sandbox,
            daemon: Some(daemon),
            project,
            runtime,
            client,
        }
    }

    /// The app's configuration for this world, preferences in the sandbox.
    pub fn config(&self, start: Option<StartChoice>) -> AppConfig {
        AppConfig {
            socket: self.sandbox.socket(),
            project: self.project.clone(),
            prefs_path: Some(self.prefs_path()),
            start,
            time_zone: jiff::tz::TimeZone::UTC,
        }
    }

    pub fn prefs_path(&self) -> PathBuf {
        self.sandbox.dir.path().join("config").join("gui.json")
    }

    /// The real app in a kittest harness, after it has opened the project.
    pub fn harness(&self, start: Option<StartChoice>) -> Harness<'static, App> {
        let app = App::new(self.config(start)).expect("start the app");
        let mut harness = Harness::builder()
            .with_size(eframe::egui::vec2(1180.0, 760.0))
            .build_ui_state(|ui, app: &mut App| app.show(ui), app);
        if start != Some(StartChoice::Ask) {
            wait_until(&mut harness, "the project to open", |h| {
                *h.state().phase() == chronicle_gui::Phase::Open
            });
        }
        harness
    }

    pub fn append(&mut self, role: Role, text: &str) {
        self.runtime
            .block_on(self.client.append_message(AppendMessageRequest {
                project: self.project.clone(),
                message: Some(Message {
                    role: role as i32,
                    content: text.into(),
                    ..Message::default()
                }),
                expected_revision: None,
            }))
            .expect("append a message");
    }

    pub fn add_file(&mut self, path: &str) {
        self.runtime
            .block_on(self.client.add_context_files(AddContextFilesRequest {
                project: self.project.clone(),
                files: vec![ContextFile {
                    path: path.into(),
                    ..ContextFile::default()
                }],
                expected_revision: None,
            }))
            .expect("add a file");
    }

    pub fn save(&mut self, name: &str) {
        self.runtime
            .block_on(self.client.save_session(SaveSessionRequest {
                project: self.project.clone(),
                name: name.into(),
                mode: SaveMode::CreateNew as i32,
                expected_revision: None,
            }))
            .expect("save a session");
    }

    pub fn sessions(&mut self) -> Vec<SessionInfo> {
        self.runtime
            .block_on(self.client.list_sessions(ListSessionsRequest {
                project: self.project.clone(),
            }))
            .expect("list sessions")
            .into_inner()
            .sessions
    }

    pub fn trash(&mut self) -> Vec<TrashEntry> {
        self.runtime
            .block_on(self.client.list_trash(ListTrashRequest {
                project: self.project.clone(),
            }))
            .expect("list the trash")
            .into_inner()
            .entries
    }
}

/// Steps frames until `done` holds, or fails the test naming `what`.
pub fn wait_until(harness: &mut Harness<'static, App>, what: &str, done: impl Fn(&Harness<'static, App>) -> bool) {
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        harness.step();
        if done(harness) {
            // A few more frames let the layout settle (popups size
            // themselves over two frames).
            harness.run_steps(3);
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; the window shows:\n{:#?}",
            harness.root()
        );
        std::thread::sleep(Duration::from_millis(15));
    }
}

/// Waits until a widget labelled exactly `label` is on screen.
pub fn wait_for_label(harness: &mut Harness<'static, App>, label: &str) {
    wait_until(harness, &format!("“{label}”"), |h| {
        h.query_by_label(label).is_some()
    });
}

/// Waits until some widget's label contains `text`.
pub fn wait_for_text(harness: &mut Harness<'static, App>, text: &str) {
    wait_until(harness, &format!("text containing “{text}”"), |h| {
        h.query_all_by_label_contains(text).next().is_some()
    });
}

/// Waits until no widget's label contains `text`.
pub fn wait_for_no_text(harness: &mut Harness<'static, App>, text: &str) {
    wait_until(harness, &format!("“{text}” to go away"), |h| {
        h.query_all_by_label_contains(text).next().is_none()
    });
}

/// Clicks the widget labelled `label` and lets the click land.
pub fn click(harness: &mut Harness<'static, App>, label: &str) {
    harness.get_by_label(label).click();
    harness.run_steps(3);
}

/// Types `query` into the search field (opened with Ctrl+K) and searches
/// until a widget whose label contains `expected` shows: the index takes a commit a
/// moment after it, as a user pressing Enter again would see.
pub fn search_until(harness: &mut Harness<'static, App>, query: &str, expected: &str) {
    harness.key_press_modifiers(eframe::egui::Modifiers::COMMAND, eframe::egui::Key::K);
    harness.run_steps(3);
    let field = harness.get_by_label("Search query");
    field.focus();
    field.type_text(query);
    harness.run_steps(2);
    harness.key_press(eframe::egui::Key::Enter);
    search_again_until(harness, expected);
}

/// Waits for a widget whose label contains `expected` in results the daemon
/// calls complete, pressing "Run search" again every second while the index
/// catches up (its warning would make a snapshot differ).
pub fn search_again_until(harness: &mut Harness<'static, App>, expected: &str) {
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let asked = Instant::now();
        while asked.elapsed() < Duration::from_secs(1) {
            harness.step();
            let found = harness.query_all_by_label_contains(expected).next().is_some();
            let catching_up = harness
                .query_all_by_label_contains("The search index is catching up")
                .next()
                .is_some();
            if found && !catching_up {
                harness.run_steps(3);
                return;
            }
            std::thread::sleep(Duration::from_millis(15));
        }
        assert!(
            Instant::now() < deadline,
            "searching never showed “{expected}”; the window shows:\n{:#?}",
            harness.root()
        );
        click(harness, "Run search");
    }
}

/// Opens the Sessions popup with the History icon.
pub fn open_sessions(harness: &mut Harness<'static, App>) {
    click(harness, "History");
    wait_for_text(harness, "Save as new");
}

/// A short, realistic session with every kind of message the chat shows:
/// Markdown with code, a model and usage, a tool call, a command's output,
/// and context files (one read-only, one gone from disk). Times are fixed
/// so pictures of it are the same on every run.
pub fn demo_session(client: &mut SessionsClient<Channel>, runtime: &tokio::runtime::Runtime, project: &str) {
    use chronicle_proto::v1::{ToolCall, Usage};
    let root = std::path::Path::new(project);
    std::fs::create_dir_all(root.join("src")).expect("create the demo project");
    std::fs::write(root.join("src/login.rs"), "fn login() {}\n").expect("write a demo file");
    std::fs::write(root.join("README.md"), "# demo\n").expect("write a demo file");
    let base = 1_764_121_740_000; // 2025-11-26 01:49 UTC
    let messages = vec![
        Message {
            role: Role::User as i32,
            content: "Why does `login()` fail when the password contains a `%`?".into(),
            created_at_ms: base,
            ..Message::default()
        },
        Message {
            role: Role::Assistant as i32,
            content: "The form body is **percent-decoded twice**: once by the framework and once in \
                      `parse_credentials`. A `%` followed by two hex digits turns into another character.\n\n\
                      Fix: decode once, in one place:\n\n\
                      ```rust\nlet password = form.get(\"password\").unwrap_or_default();\n// no second decode here\nverify(&user, password)?;\n```\n\n\
                      - remove `urlencoding::decode` from `parse_credentials`\n- add a test with `p%41ss`"
                .into(),
            created_at_ms: base + 12_000,
            model: "gpt-5".into(),
            usage: Some(Usage {
                sent_tokens: 1840,
                received_tokens: 312,
                cost: 0.0123,
                ..Usage::default()
            }),
            ..Message::default()
        },
        Message {
            role: Role::Tool as i32,
            content: "Edited `src/login.rs`.".into(),
            created_at_ms: base + 20_000,
            tool: Some(ToolCall {
                name: "edit_file".into(),
                call_id: "call_1".into(),
                args_json: r#"{"path":"src/login.rs","old":"decode(&raw)","new":"raw"}"#.into(),
                result_json: r#"{"ok":true}"#.into(),
                is_error: false,
            }),
            edited_files: vec!["src/login.rs".into()],
            ..Message::default()
        },
        Message {
            role: Role::CommandOutput as i32,
            command: "cargo test login".into(),
            content: "running 3 tests\ntest login::plain ... ok\ntest login::percent ... ok\ntest login::empty ... ok\n\ntest result: ok. 3 passed; 0 failed".into(),
            created_at_ms: base + 41_000,
            ..Message::default()
        },
    ];
    runtime.block_on(async {
        client
            .open_project(OpenProjectRequest {
                project: project.into(),
                start: 0,
                expected_revision: None,
            })
            .await
            .expect("open the demo project");
        for message in messages {
            client
                .append_message(AppendMessageRequest {
                    project: project.into(),
                    message: Some(message),
                    expected_revision: None,
                })
                .await
                .expect("append a demo message");
        }
        let files = vec![
            ContextFile {
                path: "src/login.rs".into(),
                ..ContextFile::default()
            },
            ContextFile {
                path: "README.md".into(),
                read_only: true,
                ..ContextFile::default()
            },
            ContextFile {
                path: "src/legacy_auth.rs".into(),
                ..ContextFile::default()
            },
        ];
        client
            .add_context_files(AddContextFilesRequest {
                project: project.into(),
                files,
                expected_revision: None,
            })
            .await
            .expect("add demo files");
        client
            .save_session(SaveSessionRequest {
                project: project.into(),
                name: "fix login".into(),
                mode: SaveMode::CreateNew as i32,
                expected_revision: None,
            })
            .await
            .expect("save the demo session");
    });
}
