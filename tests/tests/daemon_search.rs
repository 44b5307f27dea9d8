//! Full-text search through the real socket: what was appended a moment
//! ago is found (polled until indexed, bounded), across projects, with
//! every filter of the query language, the trash only when asked, paged;
//! the index catches up after a daemon kill and is rebuilt, with nothing
//! lost, when its directory is deleted or damaged; a query that does not
//! parse is INVALID_ARGUMENT naming the token and its position.

use std::time::{Duration, Instant};

use crate::common::{Client, add_files, append_message, expect_code, file, message, path_str, save};
use chronicle_proto::v1::{
    DeleteSessionRequest, Message, Role, SaveMode, SearchHit, SearchRequest, SearchResponse, SessionKind, ToolCall,
};
use chronicle_tests::Sandbox;
use tonic::Code;

/// How long the index may take to show a commit before a test fails.
const INDEX_DEADLINE: Duration = Duration::from_secs(30);

pub(crate) fn request(query: &str, project: &str) -> SearchRequest {
    SearchRequest {
        query: query.to_owned(),
        project: project.to_owned(),
        include_trash: false,
        limit: 0,
        page_token: String::new(),
    }
}

async fn search(client: &mut Client, request: SearchRequest) -> SearchResponse {
    client.search(request).await.expect("Search").into_inner()
}

/// Searches until `done` holds for the answer, or fails the test after
/// [`INDEX_DEADLINE`] showing the last answer.
pub(crate) async fn search_until(
    client: &mut Client,
    request: SearchRequest,
    done: impl Fn(&SearchResponse) -> bool,
) -> SearchResponse {
    let deadline = Instant::now() + INDEX_DEADLINE;
    loop {
        let response = search(client, request.clone()).await;
        if done(&response) && !response.index_catching_up {
            return response;
        }
        assert!(
            Instant::now() < deadline,
            "the index never gave the expected answer for {:?}; last: {response:?}",
            request.query
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn with(role: Role, content: &str, edit: impl FnOnce(&mut Message)) -> Message {
    let mut m = message(role, content);
    edit(&mut m);
    m
}

/// The highlighted parts of a hit's snippet.
fn highlighted(hit: &SearchHit) -> Vec<&str> {
    hit.highlights
        .iter()
        .map(|s| &hit.snippet[s.start as usize..s.end as usize])
        .collect()
}

#[tokio::test]
async fn search_finds_a_fresh_append_with_a_highlighted_snippet_across_projects() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let web = path_str(&sandbox.project("web"));
    let api = path_str(&sandbox.project("api"));
    append_message(
        &mut client,
        &web,
        message(Role::User, "The login page keeps redirecting forever"),
    )
    .await;
    append_message(
        &mut client,
        &api,
        message(Role::User, "Logins fail with a 500 after the redirect"),
    )
    .await;
    append_message(&mut client, &api, message(Role::User, "unrelated chatter about lunch")).await;

    // Stemmed: "redirects" finds "redirecting" and "redirect".
    let all = search_until(&mut client, request("redirects", ""), |r| r.total_hits == 2).await;
    let projects: Vec<&str> = all.hits.iter().map(|h| h.project.as_str()).collect();
    assert!(
        projects.contains(&web.as_str()) && projects.contains(&api.as_str()),
        "{projects:?}"
    );
    for hit in &all.hits {
        assert_eq!(hit.kind, SessionKind::Working as i32);
        assert_eq!(hit.session_name, "");
        assert!(hit.score > 0.0);
        let marked = highlighted(hit);
        assert!(
            marked.iter().any(|m| m.to_lowercase().starts_with("redirect")),
            "highlight of {:?}: {marked:?}",
            hit.snippet
        );
    }
    // One project only.
    let only = search(&mut client, request("redirects", &web)).await;
    assert_eq!(only.total_hits, 1);
    assert_eq!(only.hits[0].project, web);
    // Every word must match.
    let both = search(&mut client, request("login redirect lunch", "")).await;
    assert_eq!(both.total_hits, 0, "{both:?}");
    // Exact forms rank above stemmed ones: "redirect" is literally in api's message.
    let ranked = search(&mut client, request("redirect", "")).await;
    assert_eq!(ranked.hits[0].project, api, "{ranked:?}");
}

#[tokio::test]
async fn every_filter_of_the_query_language_narrows_the_hits() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let p = path_str(&sandbox.project("shop"));
    let other = path_str(&sandbox.project("other"));
    let day = 86_400_000i64;
    let now = chronicle_client::time::now_ms();
    let m1 = append_message(
        &mut client,
        &p,
        with(Role::User, "checkout token expired", |m| {
            m.created_at_ms = now - 30 * day
        }),
    )
    .await;
    let m2 = append_message(
        &mut client,
        &p,
        with(Role::Assistant, "refresh the checkout token before expiry", |m| {
            m.model = "gpt-5-mini".into();
            m.edited_files = vec!["src/token.rs".into()];
        }),
    )
    .await;
    let m3 = append_message(
        &mut client,
        &p,
        with(Role::Tool, "checkout patched", |m| {
            m.tool = Some(ToolCall {
                name: "apply_patch".into(),
                args_json: r#"{"file":"src/checkout.rs"}"#.into(),
                ..ToolCall::default()
            });
        }),
    )
    .await;
    let m4 = append_message(
        &mut client,
        &p,
        with(Role::Assistant, "checkout token is now refreshed early", |m| {
            m.model = "claude-sonnet".into()
        }),
    )
    .await;
    add_files(&mut client, &p, vec![file("src/cart.rs", false)]).await;
    append_message(
        &mut client,
        &other,
        message(Role::User, "checkout in the other project"),
    )
    .await;
    save(&mut client, &p, "token work", SaveMode::CreateNew).await;
    let all = search_until(&mut client, request("checkout", &p), |r| r.total_hits == 8).await;
    assert_eq!(all.total_hits, 8, "4 in the working session, 4 in the saved copy");

    let working = |r: &SearchResponse| -> Vec<u64> {
        let mut v: Vec<u64> = r
            .hits
            .iter()
            .filter(|h| h.kind == SessionKind::Working as i32)
            .map(|h| h.message_id)
            .collect();
        v.sort_unstable();
        v
    };
    let cases: Vec<(&str, Vec<u64>)> = vec![
        ("checkout role:assistant", vec![m2.message_id, m4.message_id]),
        ("checkout role:user role:tool", vec![m1.message_id, m3.message_id]),
        ("checkout model:gpt-5*", vec![m2.message_id]),
        ("checkout model:claude-sonnet", vec![m4.message_id]),
        ("tool:apply_patch", vec![m3.message_id]),
        ("checkout.rs", vec![m3.message_id]),
        ("\"token before expiry\"", vec![m2.message_id]),
        ("checkout -token", vec![m3.message_id]),
        // Stemmed exclusion: "refresh" is its own stem, "refreshed" is not.
        ("checkout -refreshing", vec![m1.message_id, m3.message_id]),
        ("refreshes", vec![m2.message_id, m4.message_id]),
        (
            "checkout -\"token expired\"",
            vec![m2.message_id, m3.message_id, m4.message_id],
        ),
        ("file:src/token.rs", vec![m2.message_id]),
        (
            "file:cart.rs checkout",
            vec![m1.message_id, m2.message_id, m3.message_id, m4.message_id],
        ),
        ("checkout after:7d", vec![m2.message_id, m3.message_id, m4.message_id]),
        ("checkout before:7d", vec![m1.message_id]),
    ];
    for (query, expected) in cases {
        let response = search(&mut client, request(query, &p)).await;
        assert_eq!(working(&response), expected, "{query}: {response:?}");
    }
    // session: names a saved session; project: takes a fragment of the path.
    let named = search(&mut client, request("checkout session:\"token work\"", "")).await;
    assert_eq!(named.total_hits, 4);
    assert!(
        named
            .hits
            .iter()
            .all(|h| h.kind == SessionKind::Saved as i32 && h.session_name == "token work")
    );
    let fragment = search(&mut client, request("checkout project:othe", "")).await;
    assert_eq!(fragment.total_hits, 1);
    assert_eq!(fragment.hits[0].project, other);
    let nowhere = search(&mut client, request("checkout project:nosuchproject", "")).await;
    assert_eq!(nowhere.total_hits, 0);
    // Filters alone list messages, newest first.
    let recent = search(&mut client, request("role:assistant", &p)).await;
    assert_eq!(recent.total_hits, 4);
    assert!(recent.hits.windows(2).all(|w| w[0].created_at_ms >= w[1].created_at_ms));
}

#[tokio::test]
async fn the_trash_is_searched_only_when_asked_and_pages_cover_every_hit_once() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let p = path_str(&sandbox.project("paging"));
    for i in 0..25 {
        append_message(
            &mut client,
            &p,
            message(Role::User, &format!("kestrel sighting number {i}")),
        )
        .await;
    }
    save(&mut client, &p, "birds", SaveMode::CreateNew).await;
    search_until(&mut client, request("kestrel", &p), |r| r.total_hits == 50).await;
    client
        .delete_session(DeleteSessionRequest {
            project: p.clone(),
            name: "birds".into(),
            expected_revision: None,
        })
        .await
        .expect("DeleteSession");
    let without = search_until(&mut client, request("kestrel", &p), |r| r.total_hits == 25).await;
    assert!(without.hits.iter().all(|h| h.kind == SessionKind::Working as i32));
    let mut with_trash = request("kestrel", &p);
    with_trash.include_trash = true;
    let with = search(&mut client, with_trash.clone()).await;
    assert_eq!(with.total_hits, 50);
    assert!(with.hits.iter().any(|h| h.kind == SessionKind::Trash as i32));

    // Pages of 7: every hit once, the token ends on the last page.
    let mut seen = Vec::new();
    let mut paged = with_trash;
    paged.limit = 7;
    let mut pages = 0;
    loop {
        let page = search(&mut client, paged.clone()).await;
        pages += 1;
        assert!(page.hits.len() <= 7);
        seen.extend(page.hits.iter().map(|h| (h.kind, h.message_id)));
        if page.next_page_token.is_empty() {
            break;
        }
        paged.page_token = page.next_page_token;
        assert!(pages < 20, "paging does not end");
    }
    assert_eq!(pages, 8);
    let count = seen.len();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!((count, seen.len()), (50, 50), "every hit exactly once");
    let mut bad = request("kestrel", &p);
    bad.page_token = "not-a-token".into();
    let status = expect_code(client.search(bad).await, Code::InvalidArgument, "bad page token");
    assert!(status.message().contains("page_token"), "{}", status.message());
}

#[tokio::test]
async fn a_query_that_does_not_parse_names_the_token_and_its_position() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let p = path_str(&sandbox.project("bad"));
    for (query, token, position) in [
        ("login \"never closed", "\"never closed", "position 7"),
        ("login rol:user", "rol:user", "position 7"),
        ("role:robot", "role:robot", "position 1"),
        ("x after:someday", "after:someday", "position 3"),
        ("", "", "position 1"),
    ] {
        let status = expect_code(client.search(request(query, &p)).await, Code::InvalidArgument, query);
        assert!(
            status.message().contains(&format!("`{token}`")) && status.message().contains(position),
            "{query}: {}",
            status.message()
        );
    }
    expect_code(
        client.search(request("x", "relative/path")).await,
        Code::InvalidArgument,
        "relative project",
    );
}

// Multi-threaded: the client's connection must close while the test
// thread blocks in a graceful stop, which waits for it.
#[tokio::test(flavor = "multi_thread")]
async fn the_index_catches_up_after_a_kill_and_is_rebuilt_when_deleted_or_damaged() {
    let sandbox = Sandbox::new();
    let p = path_str(&sandbox.project("durable"));
    let index_dir = sandbox.data_dir().join("search");
    {
        let daemon = sandbox.start();
        let mut client = daemon.client().await;
        append_message(&mut client, &p, message(Role::User, "osprey nest spotted")).await;
        search_until(&mut client, request("osprey", &p), |r| r.total_hits == 1).await;
        // Committed to redb just before the kill: the index may not have seen it.
        for i in 0..20 {
            append_message(&mut client, &p, message(Role::User, &format!("osprey return {i}"))).await;
        }
        daemon.crash();
    }
    {
        let daemon = sandbox.start();
        let mut client = daemon.client().await;
        search_until(&mut client, request("osprey", &p), |r| r.total_hits == 21).await;
        drop(client);
        daemon.stop();
    }
    // Deleted: rebuilt from redb.
    std::fs::remove_dir_all(&index_dir).expect("delete the index");
    {
        let daemon = sandbox.start();
        let mut client = daemon.client().await;
        search_until(&mut client, request("osprey", &p), |r| r.total_hits == 21).await;
        drop(client);
        daemon.stop();
    }
    // Damaged: every file of the index overwritten with garbage.
    let mut damaged = 0;
    for entry in std::fs::read_dir(&index_dir).expect("index dir") {
        let path = entry.expect("entry").path();
        if path.is_file() && !path.file_name().is_some_and(|n| n.to_string_lossy().contains("lock")) {
            let len = std::fs::metadata(&path).expect("metadata").len().max(16) as usize;
            std::fs::write(&path, vec![0x5a; len]).expect("damage");
            damaged += 1;
        }
    }
    assert!(damaged > 0, "the index directory held no files");
    {
        let daemon = sandbox.start();
        let mut client = daemon.client().await;
        let found = search_until(&mut client, request("osprey", &p), |r| r.total_hits == 21).await;
        assert_eq!(found.hits.len(), 20, "default page");
        drop(client);
        daemon.stop();
    }
    // --reindex rebuilds on demand, with the same answers.
    {
        let daemon = sandbox.start_with(&["--reindex"]);
        let mut client = daemon.client().await;
        search_until(&mut client, request("osprey", &p), |r| r.total_hits == 21).await;
        assert!(daemon.log_text().contains("search index"), "the rebuild is logged");
    }
}

#[tokio::test]
async fn updates_deletes_and_clears_leave_the_index_matching_the_database() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let p = path_str(&sandbox.project("edits"));
    let first = append_message(&mut client, &p, message(Role::Assistant, "draft mentions heron")).await;
    append_message(&mut client, &p, message(Role::User, "heron again")).await;
    search_until(&mut client, request("heron", &p), |r| r.total_hits == 2).await;
    client
        .update_message(chronicle_proto::v1::UpdateMessageRequest {
            project: p.clone(),
            message: Some(Message {
                id: first.message_id,
                ..message(Role::Assistant, "final mentions egret")
            }),
            expected_revision: None,
        })
        .await
        .expect("UpdateMessage");
    let egret = search_until(&mut client, request("egret", &p), |r| r.total_hits == 1).await;
    assert_eq!(egret.hits[0].message_id, first.message_id);
    assert_eq!(search(&mut client, request("heron", &p)).await.total_hits, 1);
    client
        .clear_messages(chronicle_proto::v1::ClearMessagesRequest {
            project: p.clone(),
            expected_revision: None,
        })
        .await
        .expect("ClearMessages");
    search_until(&mut client, request("egret", &p), |r| r.total_hits == 0).await;
    assert_eq!(search(&mut client, request("heron", &p)).await.total_hits, 0);
    let mut trash = request("egret", &p);
    trash.include_trash = true;
    let in_trash = search(&mut client, trash).await;
    assert_eq!(in_trash.total_hits, 1);
    assert_eq!(in_trash.hits[0].kind, SessionKind::Trash as i32);
    assert!(
        in_trash.hits[0].session_name.contains("cleared"),
        "{:?}",
        in_trash.hits[0]
    );
}

/// The index's files the daemon has mapped into its memory, by extension
/// (from `/proc/PID/maps`).
fn mapped_index_files(pid: u32, data_dir: &std::path::Path) -> Vec<String> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("read /proc/PID/maps");
    let index_dir = data_dir.join("search");
    let index_dir = index_dir.to_string_lossy();
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .filter(|path| path.starts_with(index_dir.as_ref()))
        .filter_map(|path| path.rsplit_once('.').map(|(_, ext)| ext.to_owned()))
        .collect()
}

/// A merge reads every term's postings and positions; mapped, they stood
/// resident in the daemon (issue #13's memory bound). Read by range, the
/// searches still find words and phrases, and the daemon maps none of
/// those files, while the term dictionaries stay mapped.
#[tokio::test]
async fn postings_and_positions_are_read_without_mapping_them_into_the_daemon() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let p = path_str(&sandbox.project("maps"));
    for n in 0..40 {
        let text = format!("the parser fails on line {n} when the token expires");
        append_message(&mut client, &p, message(Role::User, &text)).await;
    }
    append_message(
        &mut client,
        &p,
        message(Role::Assistant, "renew the token before it expires"),
    )
    .await;
    let words = search_until(&mut client, request("expires", &p), |r| r.total_hits == 41).await;
    assert_eq!(words.total_hits, 41);
    let phrase = search(&mut client, request("\"renew the token\"", &p)).await;
    assert_eq!(phrase.total_hits, 1, "{phrase:?}");
    let none = search(&mut client, request("\"the renew token\"", &p)).await;
    assert_eq!(none.total_hits, 0, "{none:?}");

    let mapped = mapped_index_files(daemon.pid(), &sandbox.data_dir());
    assert!(
        mapped.iter().any(|ext| ext == "term"),
        "no term dictionary is mapped: {mapped:?}"
    );
    assert!(
        !mapped.iter().any(|ext| ext == "pos" || ext == "idx"),
        "postings or positions are mapped: {mapped:?}"
    );
}

/// Each of the daemon's threads by name, with its scheduling policy (field
/// 41 of `/proc/PID/task/TID/stat`: 0 is SCHED_OTHER, 5 SCHED_IDLE).
fn thread_policies(pid: u32) -> Vec<(String, u32)> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("read /proc/PID/task");
    tasks
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.ok()?.path().join("stat")).ok()?;
            // The name is in parentheses and may hold spaces: fields count
            // from the last ')', where field 3 (the state) begins.
            let (head, rest) = stat.rsplit_once(')')?;
            let name = head.split_once('(')?.1.to_owned();
            let policy = rest.split_whitespace().nth(41 - 3)?.parse().ok()?;
            Some((name, policy))
        })
        .collect()
}

/// The index's threads (the indexer and the indexing threads tantivy
/// starts from it) run in the idle scheduling class, so that they give a
/// core up the moment a handler or the writer wakes; those, and the
/// threads searches run on, stay in the normal class. The index still
/// takes every message while the daemon is otherwise idle.
#[tokio::test]
async fn the_index_runs_in_the_idle_scheduling_class_and_the_write_path_does_not() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let p = path_str(&sandbox.project("sched"));
    for n in 0..5 {
        let text = format!("the scheduler keeps turn {n}");
        append_message(&mut client, &p, message(Role::User, &text)).await;
    }
    let found = search_until(&mut client, request("scheduler", &p), |r| r.total_hits == 5).await;
    assert_eq!(found.total_hits, 5);

    let threads = thread_policies(daemon.pid());
    let policy_of = |prefix: &str| -> Vec<u32> {
        threads
            .iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .map(|(_, policy)| *policy)
            .collect()
    };
    const OTHER: u32 = 0;
    const IDLE: u32 = 5;
    // tantivy starts its indexing threads ("thrd-tantivy-index…") again
    // at every commit: checked whenever they are there, not required.
    for (prefix, policy, required) in [
        ("chronicle-index", IDLE, true),
        ("segment_updater", IDLE, true),
        ("thrd-tantivy", IDLE, false),
        ("chronicle-write", OTHER, true),
        ("search-thread-", OTHER, true),
        ("tokio-rt-worker", OTHER, true),
    ] {
        let found = policy_of(prefix);
        assert!(!required || !found.is_empty(), "no thread named {prefix}*: {threads:?}");
        assert!(
            found.iter().all(|p| *p == policy),
            "{prefix}* should have policy {policy}: {threads:?}"
        );
    }
}
