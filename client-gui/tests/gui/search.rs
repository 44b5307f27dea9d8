//! Search, fork and rewind through the real window against a real daemon:
//! Ctrl+K finds what was just written, a hit opens its session read-only
//! at that message, forking from there saves a session with its lineage,
//! and rewinding asks first and leaves the later messages in the trash.

use crate::common::{
    World, click, open_sessions, search_again_until, search_until, wait_for_label, wait_for_no_text, wait_for_text,
    wait_until,
};
use chronicle_gui::{App, StartChoice};
use chronicle_proto::v1::{GetSessionRequest, GetWorkingSessionRequest, Role};
use eframe::egui::{Key, Modifiers};
use egui_kittest::{Harness, kittest::Queryable};

/// Types a name into the fork question and presses Enter.
fn name_the_fork(harness: &mut Harness<'static, App>, name: &str) {
    wait_for_label(harness, "Fork name");
    let field = harness.get_by_label("Fork name");
    field.focus();
    field.type_text(name);
    harness.run_steps(2);
    harness.key_press(Key::Enter);
    harness.run_steps(2);
}

#[test]
fn ctrl_k_finds_a_saved_message_opens_it_read_only_at_that_message_and_forks_it() {
    let mut world = World::new();
    for i in 0..80 {
        let text = if i == 40 {
            "the zephyr handshake drops the session cookie".to_owned()
        } else {
            format!("filler line {i}")
        };
        world.append(Role::User, &text);
    }
    world.save("handshake notes");
    // Only the saved session holds it now.
    world
        .runtime
        .block_on(world.client.clear_messages(chronicle_proto::v1::ClearMessagesRequest {
            project: world.project.clone(),
            expected_revision: None,
        }))
        .expect("clear the working session");
    let saved = world
        .runtime
        .block_on(world.client.get_session(GetSessionRequest {
            project: world.project.clone(),
            name: "handshake notes".into(),
            after_message_id: 0,
            limit: 0,
        }))
        .expect("read the saved session")
        .into_inner();
    let hit_id = saved
        .messages
        .iter()
        .find(|m| m.content.contains("zephyr"))
        .map(|m| m.id)
        .expect("the saved message");

    let mut harness = world.harness(Some(StartChoice::Last));
    assert!(
        harness.query_by_label("Search query").is_none(),
        "no search field before Ctrl+K"
    );
    let open = format!("Open saved session “handshake notes” at #{hit_id}");
    search_until(&mut harness, "zephyr cookie", &open);
    // The snippet, its matched words marked, and where it is.
    wait_for_text(&mut harness, "zephyr handshake drops the session cookie");
    wait_for_text(&mut harness, "(this project)");
    harness.check_accessibility();

    click(&mut harness, &open);
    wait_for_text(&mut harness, "Viewing saved session “handshake notes” (read-only)");
    wait_for_text(&mut harness, "zephyr handshake");
    assert_eq!(
        harness.state().viewing(),
        Some((world.project.as_str(), "handshake notes"))
    );
    // Scrolled to the hit: the list lays out only the rows in view, and
    // neither end of the 80 messages is among them.
    assert!(harness.query_all_by_label_contains("filler line 0").next().is_none());
    assert!(harness.query_all_by_label_contains("filler line 79").next().is_none());
    assert!(harness.query_by_label("Load into working session").is_some());

    click(&mut harness, "Fork from here");
    name_the_fork(&mut harness, "zephyr branch");
    wait_for_text(&mut harness, "Forked “zephyr branch”");
    let fork = world
        .sessions()
        .into_iter()
        .find(|s| s.name == "zephyr branch")
        .expect("the fork is saved");
    assert_eq!(fork.forked_from, "handshake notes");
    assert_eq!(fork.forked_at_message_id, hit_id);
    assert_eq!(fork.message_count, 41, "the messages up to and including the hit");

    // The session list shows the lineage.
    open_sessions(&mut harness);
    wait_for_text(&mut harness, &format!("forked from “handshake notes” at #{hit_id}"));

    click(&mut harness, "History");
    click(&mut harness, "Close");
    wait_for_no_text(&mut harness, "(read-only)");
    assert_eq!(harness.state().viewing(), None);
}

#[test]
fn a_hit_in_the_working_session_scrolls_the_chat_to_it() {
    let mut world = World::new();
    for i in 0..60 {
        let text = if i == 5 {
            "an early quokka remark".to_owned()
        } else {
            format!("chatter {i}")
        };
        world.append(Role::Assistant, &text);
    }
    let mut harness = world.harness(Some(StartChoice::Last));
    // The chat opens at the newest message, far from the early one.
    wait_for_text(&mut harness, "chatter 59");
    assert!(harness.query_all_by_label_contains("quokka").next().is_none());
    let id = harness
        .state()
        .messages()
        .iter()
        .find(|m| m.content.contains("quokka"))
        .map(|m| m.id)
        .expect("the early message");
    let open = format!("Open the working session at #{id}");
    search_until(&mut harness, "quokka", &open);
    click(&mut harness, &open);
    wait_for_text(&mut harness, "an early quokka remark");
    assert!(harness.query_all_by_label_contains("chatter 59").next().is_none());
    assert_eq!(
        harness.state().viewing(),
        None,
        "the working session is not opened read-only"
    );
}

#[test]
fn a_query_that_does_not_parse_shows_the_daemons_sentence_under_the_field() {
    let world = World::new();
    let mut harness = world.harness(Some(StartChoice::Last));
    click(&mut harness, "Search sessions");
    let field = harness.get_by_label("Search query");
    field.focus();
    field.type_text("rol:user login");
    harness.run_steps(2);
    harness.key_press(Key::Enter);
    wait_for_text(&mut harness, "`rol:` is not a filter");
    wait_for_text(&mut harness, "position 1");
    // Still a working window: a good query runs after a bad one.
    let field = harness.get_by_label("Search query");
    field.focus();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    harness.run_steps(2);
    harness.get_by_label("Search query").type_text("login");
    harness.run_steps(2);
    harness.key_press(Key::Enter);
    wait_for_text(&mut harness, "Nothing matches “login”");
    assert!(harness.query_all_by_label_contains("is not a filter").next().is_none());
}

#[test]
fn fork_from_a_working_message_saves_it_and_a_taken_name_is_a_toast() {
    let mut world = World::new();
    world.append(Role::User, "plan the migration");
    world.append(Role::Assistant, "step one: back up");
    world.append(Role::Assistant, "step two: migrate");
    let mut harness = world.harness(Some(StartChoice::Last));
    wait_for_text(&mut harness, "step two: migrate");
    let second = harness.state().messages()[1].id;

    click(&mut harness, &format!("Fork from here: #{second}"));
    name_the_fork(&mut harness, "backup first");
    wait_for_text(&mut harness, "Forked “backup first” from the working session");
    let fork = world
        .sessions()
        .into_iter()
        .find(|s| s.name == "backup first")
        .expect("the fork is saved");
    assert_eq!(fork.forked_from, "", "forked from the working session");
    assert_eq!(fork.forked_at_message_id, second);
    assert_eq!(fork.message_count, 2);

    click(&mut harness, &format!("Fork from here: #{second}"));
    name_the_fork(&mut harness, "backup first");
    wait_for_text(&mut harness, &format!("Fork “backup first” from #{second} failed"));
    wait_for_text(&mut harness, "already exists");
    assert_eq!(world.sessions().len(), 1, "nothing changed");
}

#[test]
fn rewind_asks_first_then_the_later_messages_leave_the_window_for_the_trash() {
    let mut world = World::new();
    for text in ["first step", "second step", "third step", "fourth step"] {
        world.append(Role::User, text);
    }
    let mut harness = world.harness(Some(StartChoice::Last));
    wait_for_text(&mut harness, "fourth step");
    let second = harness.state().messages()[1].id;

    click(&mut harness, &format!("Rewind to here: #{second}"));
    wait_for_text(&mut harness, &format!("Rewind to #{second}?"));
    wait_for_text(&mut harness, "The 2 messages after it move to the trash");
    wait_for_text(&mut harness, "restore them from History → Trash");
    harness.check_accessibility();
    let working = |world: &mut World| {
        world
            .runtime
            .block_on(world.client.get_working_session(GetWorkingSessionRequest {
                project: world.project.clone(),
                after_message_id: 0,
                limit: 0,
            }))
            .expect("read the working session")
            .into_inner()
            .messages
            .len()
    };
    assert_eq!(working(&mut world), 4, "nothing changes before the answer");

    click(&mut harness, "Rewind");
    wait_for_no_text(&mut harness, "fourth step");
    wait_for_no_text(&mut harness, "third step");
    wait_for_text(&mut harness, "second step");
    wait_until(&mut harness, "the rewound count", |h| h.state().messages().len() == 2);
    assert_eq!(working(&mut world), 2);
    let trash = world.trash();
    let entry = trash
        .iter()
        .find(|e| e.reason == "rewound")
        .unwrap_or_else(|| panic!("the later messages are in the trash: {trash:?}"));
    assert_eq!(entry.message_count, 2);
}

#[test]
fn a_rewind_asked_on_an_older_view_is_refused_and_changes_nothing() {
    let mut world = World::new();
    for text in ["alpha step", "beta step", "gamma step"] {
        world.append(Role::User, text);
    }
    let mut harness = world.harness(Some(StartChoice::Last));
    wait_for_text(&mut harness, "gamma step");
    let first = harness.state().messages()[0].id;
    click(&mut harness, &format!("Rewind to here: #{first}"));
    wait_for_text(&mut harness, &format!("Rewind to #{first}?"));
    // Another client writes while the question is open: the answer was
    // given about a session that no longer is.
    world.append(Role::Assistant, "delta step from elsewhere");
    wait_for_text(&mut harness, "delta step from elsewhere");
    click(&mut harness, "Rewind");
    wait_for_text(
        &mut harness,
        "changed since this view was drawn, so nothing was rewound",
    );
    assert!(
        world.trash().iter().all(|e| e.reason != "rewound"),
        "nothing went to the trash"
    );
    wait_for_text(&mut harness, "gamma step");
    assert_eq!(harness.state().messages().len(), 4);
}

#[test]
fn more_results_reads_the_next_page_and_the_trash_is_searched_when_asked() {
    let mut world = World::new();
    for i in 0..25 {
        world.append(Role::User, &format!("kiwi note {i}"));
    }
    let mut harness = world.harness(Some(StartChoice::Last));
    wait_for_text(&mut harness, "kiwi note 24");
    search_until(&mut harness, "kiwi", "More results");
    let shown = |h: &Harness<'static, App>| h.query_all_by_label_contains("Open the working session at #").count();
    assert_eq!(shown(&harness), 20, "one page of hits");
    wait_for_text(&mut harness, "25 hits");
    click(&mut harness, "More results");
    wait_until(&mut harness, "the second page", |h| shown(h) == 25);
    assert!(
        harness.query_by_label("More results").is_none(),
        "that was the last page"
    );

    // Rewound messages are in the trash: found only with the toggle.
    let fifth = harness.state().messages()[4].id;
    world
        .runtime
        .block_on(world.client.rewind_working(chronicle_proto::v1::RewindWorkingRequest {
            project: world.project.clone(),
            keep_through_message_id: fifth,
            expected_revision: None,
        }))
        .expect("rewind");
    click(&mut harness, "Include the trash");
    let trash_hit = "Open trash entry “";
    search_again_until(&mut harness, trash_hit);
    harness
        .query_all_by_label_contains(trash_hit)
        .next()
        .expect("the trash hit")
        .click();
    harness.run_steps(3);
    wait_for_text(&mut harness, "is in the trash entry");
    wait_for_label(&mut harness, "Trash");
}
