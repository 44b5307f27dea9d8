//! The Sessions popup driven through the real window against a real
//! daemon: every action the seed names, found by its accessible label (as a
//! screen reader would), checked both on screen and in the daemon.

use crate::common::{World, click, open_sessions, wait_for_label, wait_for_no_text, wait_for_text, wait_until};
use chronicle_gui::StartChoice;
use chronicle_proto::v1::Role;
use egui_kittest::kittest::Queryable;

#[test]
fn save_as_new_adds_a_row() {
    let mut world = World::new();
    world.append(Role::User, "Why does login fail?");
    let mut harness = world.harness(Some(StartChoice::Last));
    open_sessions(&mut harness);
    harness.check_accessibility();

    click(&mut harness, "Save as new");
    let field = harness.get_by_label("New session name");
    field.focus();
    field.type_text("fix login");
    harness.run_steps(3);
    harness.key_press(eframe::egui::Key::Enter);

    wait_for_label(&mut harness, "fix login");
    wait_for_label(&mut harness, "Load messages: fix login");
    harness.check_accessibility();
    let names: Vec<String> = world.sessions().into_iter().map(|s| s.name).collect();
    assert_eq!(names, vec!["fix login"]);
}

#[test]
fn a_taken_name_shows_the_error_and_offers_overwrite() {
    let mut world = World::new();
    world.append(Role::User, "first version");
    world.save("fix login");
    world.append(Role::Assistant, "second version");
    let mut harness = world.harness(Some(StartChoice::Last));
    open_sessions(&mut harness);

    click(&mut harness, "Save as new");
    let field = harness.get_by_label("New session name");
    field.focus();
    field.type_text("fix login");
    harness.run_steps(3);
    click(&mut harness, "Save");

    wait_for_text(&mut harness, "already exists");
    click(&mut harness, "Overwrite");
    wait_for_text(&mut harness, "Overwrote “fix login”");
    let saved = world.sessions();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].message_count, 2, "the overwrite saved the current chat");
    assert!(
        world.trash().iter().any(|e| e.reason == "overwritten"),
        "the old version is in the trash"
    );
}

#[test]
fn load_messages_and_load_files_change_what_the_window_shows() {
    let mut world = World::new();
    world.append(Role::User, "alpha question");
    world.add_file("src/alpha.rs");
    world.save("alpha");
    // Now the working session moves on: other messages, other files.
    world.runtime.block_on(async {
        world
            .client
            .clear_messages(chronicle_proto::v1::ClearMessagesRequest {
                project: world.project.clone(),
                expected_revision: None,
            })
            .await
            .expect("clear")
    });
    world
        .runtime
        .block_on(
            world
                .client
                .set_context_files(chronicle_proto::v1::SetContextFilesRequest {
                    project: world.project.clone(),
                    files: vec![chronicle_proto::v1::ContextFile {
                        path: "src/beta.rs".into(),
                        ..Default::default()
                    }],
                    expected_revision: None,
                }),
        )
        .expect("set files");
    world.append(Role::User, "beta question");

    let mut harness = world.harness(Some(StartChoice::Last));
    wait_for_text(&mut harness, "beta question");
    wait_for_text(&mut harness, "src/beta.rs");
    open_sessions(&mut harness);

    click(&mut harness, "Load messages: alpha");
    wait_for_text(&mut harness, "alpha question");
    wait_for_no_text(&mut harness, "beta question");
    assert!(
        harness.query_all_by_label_contains("src/beta.rs").next().is_some(),
        "loading messages leaves the files alone"
    );

    click(&mut harness, "Load files: alpha");
    wait_for_text(&mut harness, "src/alpha.rs");
    wait_for_no_text(&mut harness, "src/beta.rs");
}

#[test]
fn delete_asks_first_then_the_trash_tab_restores() {
    let mut world = World::new();
    world.append(Role::User, "keep me");
    world.save("old idea");
    let mut harness = world.harness(Some(StartChoice::Last));
    open_sessions(&mut harness);
    wait_for_label(&mut harness, "old idea");

    click(&mut harness, "Delete: old idea");
    // Nothing happens before the confirmation, which says where it goes.
    wait_for_text(&mut harness, "to the trash?");
    assert_eq!(world.sessions().len(), 1, "no deletion before confirming");
    click(&mut harness, "Move to trash");
    wait_until(&mut harness, "the row to go", |h| {
        h.query_by_label("old idea").is_none()
    });
    assert!(world.sessions().is_empty());
    let trash = world.trash();
    assert!(
        trash.iter().any(|e| e.name == "old idea" && e.reason == "deleted"),
        "{trash:?}"
    );

    click(&mut harness, "Trash");
    wait_for_label(&mut harness, "Restore: old idea");
    harness.check_accessibility();
    click(&mut harness, "Restore: old idea");
    wait_for_text(&mut harness, "Restored as “old idea”");
    let names: Vec<String> = world.sessions().into_iter().map(|s| s.name).collect();
    assert_eq!(names, vec!["old idea"]);
}

#[test]
fn rename_changes_the_row() {
    let mut world = World::new();
    world.append(Role::User, "something");
    world.save("draft");
    let mut harness = world.harness(Some(StartChoice::Last));
    open_sessions(&mut harness);
    wait_for_label(&mut harness, "draft");

    click(&mut harness, "Rename: draft");
    let field = harness.get_by_label("New name for draft");
    field.focus();
    harness.run_steps(2);
    // Select the old name and type over it.
    harness.key_press_modifiers(eframe::egui::Modifiers::COMMAND, eframe::egui::Key::A);
    harness.run_steps(2);
    harness.get_by_label("New name for draft").type_text("final");
    harness.run_steps(2);
    harness.key_press(eframe::egui::Key::Enter);
    wait_for_label(&mut harness, "final");
    let names: Vec<String> = world.sessions().into_iter().map(|s| s.name).collect();
    assert_eq!(names, vec!["final"]);
}
