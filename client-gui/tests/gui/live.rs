//! The window follows the daemon: changes made by another client appear
//! without a click, the start-up choice works, the composer writes to the
//! daemon, and a daemon restart is survived with a resync.

use crate::common::{World, click, wait_for_text, wait_until};
use chronicle_gui::{Connection, StartChoice};
use chronicle_proto::v1::Role;
use egui_kittest::kittest::Queryable;

#[test]
fn a_message_from_another_client_appears_without_a_click() {
    let mut world = World::new();
    let mut harness = world.harness(Some(StartChoice::Last));
    wait_for_text(&mut harness, "No messages yet");

    world.append(Role::Assistant, "Hello from **another client**");
    wait_for_text(&mut harness, "another client");
    world.add_file("src/main.rs");
    wait_for_text(&mut harness, "src/main.rs");
}

#[test]
fn the_composer_appends_to_the_working_session() {
    let mut world = World::new();
    let mut harness = world.harness(Some(StartChoice::Last));
    let field = harness.get_by_label("Message");
    field.focus();
    field.type_text("typed in the window");
    harness.run_steps(3);
    click(&mut harness, "Send");
    wait_for_text(&mut harness, "typed in the window");
    let content = world
        .runtime
        .block_on(
            world
                .client
                .get_working_session(chronicle_proto::v1::GetWorkingSessionRequest {
                    project: world.project.clone(),
                    after_message_id: 0,
                    limit: 0,
                }),
        )
        .expect("read the session")
        .into_inner();
    assert_eq!(content.messages.len(), 1);
    assert_eq!(content.messages[0].content, "typed in the window");
}

#[test]
fn start_up_offers_last_or_empty_and_remembers() {
    let mut world = World::new();
    world.append(Role::User, "from yesterday");
    let mut harness = world.harness(Some(StartChoice::Ask));
    wait_for_text(&mut harness, "Load last session");
    // Behind the question, the session it is about.
    wait_for_text(&mut harness, "from yesterday");
    assert_eq!(harness.query_all_by_label_contains("No messages yet").count(), 0);
    harness.check_accessibility();
    click(&mut harness, "Remember my choice");
    click(&mut harness, "Start with empty session");
    wait_until(&mut harness, "the project to open", |h| {
        *h.state().phase() == chronicle_gui::Phase::Open
    });
    wait_for_text(&mut harness, "No messages yet");
    assert!(
        world.trash().iter().any(|e| e.reason == "start-empty"),
        "the last session went to the trash"
    );
    let prefs = chronicle_gui::Prefs::load(&world.prefs_path());
    assert_eq!(prefs.start, StartChoice::Empty);
    assert_eq!(prefs.recent_projects.first(), Some(&world.project));
}

#[test]
fn a_daemon_restart_is_followed_by_a_resync() {
    let mut world = World::new();
    world.append(Role::User, "before the restart");
    let mut harness = world.harness(Some(StartChoice::Last));
    wait_for_text(&mut harness, "before the restart");

    if let Some(daemon) = world.daemon.take() {
        daemon.stop();
    }
    wait_until(&mut harness, "the banner", |h| {
        matches!(h.state().connection(), Connection::Down { .. })
    });
    assert!(harness.query_by_label("Retry").is_some(), "the banner offers Retry");

    let daemon = world.sandbox.start();
    world.client = world.runtime.block_on(daemon.client());
    world.daemon = Some(daemon);
    wait_until(&mut harness, "the reconnect", |h| {
        *h.state().connection() == Connection::Connected && *h.state().phase() == chronicle_gui::Phase::Open
    });
    world.append(Role::Assistant, "after the restart");
    wait_for_text(&mut harness, "after the restart");
    assert!(
        harness
            .query_all_by_label_contains("before the restart")
            .next()
            .is_some()
    );
}

#[test]
fn a_long_chat_is_read_page_by_page_and_only_visible_rows_are_laid_out() {
    let world = World::new();
    // Three pages' worth; appended concurrently so the daemon's group
    // commit keeps the setup short.
    let total = 1200;
    world.runtime.block_on(async {
        let mut tasks = Vec::new();
        for chunk in 0..8 {
            let mut client = world.client.clone();
            let project = world.project.clone();
            tasks.push(tokio::spawn(async move {
                for i in (chunk..total).step_by(8) {
                    client
                        .append_message(chronicle_proto::v1::AppendMessageRequest {
                            project: project.clone(),
                            message: Some(chronicle_proto::v1::Message {
                                role: Role::User as i32,
                                content: format!("long chat line {i}"),
                                ..Default::default()
                            }),
                            expected_revision: None,
                        })
                        .await
                        .expect("append");
                }
            }));
        }
        for task in tasks {
            task.await.expect("an appending task");
        }
    });
    let mut harness = world.harness(Some(StartChoice::Last));
    // The view starts at the newest message, which is only known once
    // every page before it was read.
    wait_until(&mut harness, "every page", |h| h.state().messages().len() == total);
    let laid_out = harness.query_all_by_label_contains("long chat line").count();
    assert!(
        laid_out > 0 && laid_out < 60,
        "only the rows in view are laid out, not {laid_out} of {total}"
    );
    let newest = harness
        .state()
        .messages()
        .last()
        .map(|m| m.content.clone())
        .unwrap_or_default();
    wait_for_text(&mut harness, &newest);
}

#[test]
fn without_a_daemon_a_banner_offers_retry_and_a_daemon_is_picked_up() {
    if std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("chronicled").is_file()))
    {
        // The app would start that daemon on the user's own data dir.
        println!("skipped: a chronicled on PATH would be started by the app");
        return;
    }
    let sandbox = chronicle_tests::Sandbox::new();
    let project = sandbox.project("nobody-home").to_string_lossy().into_owned();
    let app = chronicle_gui::App::new(chronicle_gui::AppConfig {
        socket: sandbox.socket(),
        project,
        prefs_path: None,
        start: Some(StartChoice::Last),
        time_zone: jiff::tz::TimeZone::UTC,
    })
    .expect("start the app");
    let mut harness = egui_kittest::Harness::builder()
        .with_size(eframe::egui::vec2(1180.0, 760.0))
        .build_ui_state(|ui, app: &mut chronicle_gui::App| app.show(ui), app);
    wait_until(&mut harness, "the banner", |h| {
        matches!(h.state().connection(), Connection::Down { .. })
    });
    assert!(harness.query_by_label("Retry").is_some(), "the banner offers Retry");
    harness.check_accessibility();

    let _daemon = sandbox.start();
    wait_until(&mut harness, "the app to find the daemon", |h| {
        *h.state().phase() == chronicle_gui::Phase::Open
    });
    assert!(harness.query_by_label("Retry").is_none(), "the banner is gone");
}
