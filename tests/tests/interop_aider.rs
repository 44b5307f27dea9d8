//! aider interop through the real daemon and CLI: importing a realistic
//! `.aider.chat.history.md` (several runs, multi-line input, code blocks
//! holding `####` and `>` lines, SEARCH/REPLACE blocks, token lines),
//! writing it back so the importer reads the same messages, aider's
//! `/save` files both ways, and following a history file as aider writes
//! to it — through truncation, replacement and a daemon restart.

use crate::common;

use std::{
    fs,
    io::Write as _,
    path::Path,
    time::{Duration, Instant},
};

use crate::common::{Client, path_str, saved, sessions, working};
use chronicle_interop::aider;
use chronicle_proto::v1::{Message, Role};
use chronicle_tests::Sandbox;

/// Two runs of aider as it writes them: marker lines end in two spaces.
const HISTORY: &str = "
# aider chat started at 2025-03-01 09:15:42

> /home/me/.local/bin/aider --model sonnet  
> Aider v0.75.2  
> Main model: anthropic/claude-3-7-sonnet-20250219 with diff edit format, infinite output  
> Weak model: anthropic/claude-3-5-haiku-20241022  
> Git repo: .git with 48 files  
> Repo-map: using 4096 tokens, auto refresh  

#### /add src/login.rs  
> Added src/login.rs to the chat  

#### The login fails when the password has a space.  
#### Can you fix it, and keep the error message?  

#### Analysis

The password is split on whitespace before it is checked:

src/login.rs
```rust
<<<<<<< SEARCH
    let parts: Vec<&str> = input.split_whitespace().collect();
=======
    // #### not a heading, and
    // > not a quote: this is code
    let parts: Vec<&str> = input.splitn(2, ' ').collect();
>>>>>>> REPLACE
```

> Note: the error message is unchanged.

> Tokens: 4.2k sent, 312 received. Cost: $0.02 message, $0.02 session.  
> Applied edit to src/login.rs  
> Commit 3f9a1c2 fix: Keep spaces in passwords  

#### /run cargo test login  
> running 3 tests  
> test login::spaces ... ok  
>  
> test result: ok. 3 passed; 0 failed  
> Add command output to the chat? (Y)es/(N)o [Yes]: n  

# aider chat started at 2025-03-02 14:03:10

> Aider v0.75.2  
> Main model: gpt-4o with whole edit format  

#### show me a markdown table  

| a | b |
|---|---|
| 1 | 2 |

```
> quoted inside a fence
#### also inside
```

> Tokens: 15k sent, 2.1k cache write, 1.5k cache hit, 96 received.  
Cost: $0.0031 message, $0.0031 session.  
";

fn roles(messages: &[Message]) -> Vec<(&'static str, &str)> {
    messages
        .iter()
        .map(|m| {
            let role = match Role::try_from(m.role) {
                Ok(Role::User) => "user",
                Ok(Role::Assistant) => "assistant",
                Ok(Role::CommandOutput) => "output",
                _ => "other",
            };
            (role, m.content.as_str())
        })
        .collect()
}

/// What the importer sees in a message: everything but ids and times.
fn said(messages: &[Message]) -> Vec<Message> {
    messages
        .iter()
        .map(|m| Message {
            id: 0,
            created_at_ms: 0,
            ..m.clone()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aider_history_imports_as_saved_sessions() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let dir = sandbox.project("app");
    let project = path_str(&dir);
    fs::write(dir.join(aider::HISTORY_FILE), HISTORY).expect("write history");

    let out = sandbox.chronicle(&dir, &["import", "aider"]).ok().stdout;
    assert!(out.contains("Imported 2 runs"), "{out}");
    let names: Vec<String> = sessions(&mut client, &project)
        .await
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"aider 2025-03-01 09:15:42".to_owned()), "{names:?}");

    let first = saved(&mut client, &project, "aider 2025-03-01 09:15:42").await;
    let m = &first.messages;
    assert_eq!(
        roles(m)[1..4],
        [
            ("user", "/add src/login.rs"),
            ("output", "Added src/login.rs to the chat"),
            (
                "user",
                "The login fails when the password has a space.\nCan you fix it, and keep the error message?"
            ),
        ]
    );
    assert_eq!(m[2].command, "/add src/login.rs");
    let reply = &m[4];
    assert_eq!(reply.role, Role::Assistant as i32);
    assert!(
        reply.content.starts_with("#### Analysis\n\nThe password"),
        "{}",
        reply.content
    );
    assert!(
        reply.content.contains("<<<<<<< SEARCH")
            && reply
                .content
                .contains("    // #### not a heading, and\n    // > not a quote: this is code")
            && reply.content.contains(">>>>>>> REPLACE\n```"),
        "the SEARCH/REPLACE block stays in the reply: {}",
        reply.content
    );
    assert!(
        reply.content.ends_with("> Note: the error message is unchanged."),
        "{}",
        reply.content
    );
    assert_eq!(reply.model, "anthropic/claude-3-7-sonnet-20250219");
    let usage = reply.usage.expect("usage from the token line");
    assert_eq!(
        (usage.sent_tokens, usage.received_tokens, usage.cost),
        (4200, 312, 0.02)
    );
    assert_eq!(
        roles(&m[5..6]),
        [(
            "output",
            "Applied edit to src/login.rs\nCommit 3f9a1c2 fix: Keep spaces in passwords"
        )]
    );
    assert_eq!(roles(&m[6..7]), [("user", "/run cargo test login")]);
    assert_eq!(m[7].command, "/run cargo test login");
    assert!(
        m[7].content
            .starts_with("running 3 tests\ntest login::spaces ... ok\n\ntest result"),
        "{}",
        m[7].content
    );
    assert_eq!(m.len(), 8, "{:#?}", roles(m));
    assert!(m.iter().all(|m| m.created_at_ms > 0), "times set");

    let second = saved(&mut client, &project, "aider 2025-03-02 14:03:10").await;
    let reply = second.messages.last().expect("a reply");
    assert!(
        reply.content.contains("> quoted inside a fence\n#### also inside"),
        "{}",
        reply.content
    );
    let usage = reply.usage.expect("usage");
    assert_eq!(
        (
            usage.sent_tokens,
            usage.cache_write_tokens,
            usage.cache_read_tokens,
            usage.received_tokens,
            usage.cost
        ),
        (15_000, 2100, 1500, 96, 0.0031)
    );
    assert_eq!(reply.model, "gpt-4o");

    // Again: nothing new. With --working: the newest run is the working session.
    let again = sandbox.chronicle(&dir, &["import", "aider"]).ok().stdout;
    assert!(again.contains("Nothing new"), "{again}");
    common::append(&mut client, &project, Role::User, "scratch").await;
    sandbox.chronicle(&dir, &["import", "aider", "--working"]).ok();
    assert_eq!(
        said(&working(&mut client, &project).await.messages),
        said(&second.messages)
    );
    assert!(
        common::trash(&mut client, &project)
            .await
            .iter()
            .any(|e| e.reason == "replaced-by-import")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exported_history_reads_back_as_the_same_messages() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let dir = sandbox.project("app");
    let project = path_str(&dir);
    let source = sandbox.dir.path().join("history.md");
    fs::write(&source, HISTORY).expect("write history");
    sandbox.chronicle(&dir, &["import", "aider", &path_str(&source)]).ok();
    for name in ["aider 2025-03-01 09:15:42", "aider 2025-03-02 14:03:10"] {
        let session = saved(&mut client, &project, name).await;
        let file = sandbox.dir.path().join(format!("{}.md", name.replace([' ', ':'], "-")));
        let printed = sandbox
            .chronicle(&dir, &["export", name, "--aider-history", "-o", &path_str(&file)])
            .ok()
            .stdout;
        assert_eq!(printed.trim(), path_str(&file));
        let text = fs::read_to_string(&file).expect("read export");
        let runs = aider::parse_history(&text);
        assert_eq!(runs.len(), 1, "{text}");
        assert_eq!(
            runs[0].started.as_deref(),
            name.strip_prefix("aider "),
            "the run keeps its start time: {text}"
        );
        assert_eq!(runs[0].messages, said(&session.messages), "{text}");
        // Never over an existing history.
        let again = sandbox.chronicle(&dir, &["export", name, "--aider-history", "-o", &path_str(&file)]);
        assert_eq!(again.code, Some(1), "{again:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_aider_and_load_aider_round_trip() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let dir = sandbox.project("app");
    let project = path_str(&dir);
    let run = |args: &[&str]| sandbox.chronicle(&dir, args).ok().stdout;
    run(&["files", "add", "src/main.rs", "src/lib.rs"]);
    run(&["files", "add", "--read-only", "docs/design notes.md", "/etc/hosts"]);
    let save = sandbox.dir.path().join("context.aider");
    run(&["files", "save-aider", &path_str(&save)]);
    let text = fs::read_to_string(&save).expect("read");
    assert_eq!(
        text,
        "/drop\n/add       src/lib.rs\n/add       src/main.rs\n/read-only /etc/hosts\n/read-only \"docs/design notes.md\"\n"
    );
    let before = working(&mut client, &project).await.files;
    run(&["files", "set"]);
    let loaded = run(&["files", "load-aider", &path_str(&save)]);
    assert!(loaded.contains("Loaded 4 files"), "{loaded}");
    let flags = |files: &[chronicle_proto::v1::ContextFile]| {
        let mut v: Vec<(String, bool)> = files.iter().map(|f| (f.path.clone(), f.read_only)).collect();
        v.sort();
        v
    };
    assert_eq!(flags(&working(&mut client, &project).await.files), flags(&before));

    // A hand-written file without /drop adds to the context.
    fs::write(&save, "# extra files\n/add Cargo.toml\n/model gpt-4o\n").expect("write");
    let run = sandbox.chronicle(&dir, &["files", "load-aider", &path_str(&save)]).ok();
    assert!(run.stderr.contains("line 3 is not a context command"), "{}", run.stderr);
    assert_eq!(working(&mut client, &project).await.files.len(), 5);
}

/// Waits until the working session holds `count` messages.
async fn wait_for(client: &mut Client, project: &str, count: usize) -> Vec<Message> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let messages = working(client, project).await.messages;
        if messages.len() >= count || Instant::now() > deadline {
            return messages;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn append(path: &Path, text: &str) {
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open history");
    file.write_all(text.as_bytes()).expect("append");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_history_is_appended_as_aider_writes_it() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let dir = sandbox.project("app");
    let project = path_str(&dir);
    let history = dir.join(aider::HISTORY_FILE);
    fs::write(
        &history,
        "\n# aider chat started at 2025-03-01 09:00:00\n\n#### already there  \n\nold reply\n\n",
    )
    .expect("write");
    let out = sandbox.chronicle(&dir, &["follow", "aider"]).ok().stdout;
    assert!(out.contains("Following"), "{out}");
    let listed = sandbox.chronicle(&dir, &["follow"]).ok().stdout;
    assert!(listed.contains(&project), "{listed}");

    // What aider writes from now on, a piece at a time.
    append(&history, "\n#### make it faster  \n");
    append(
        &history,
        "\nUse a `HashMap`:\n\n```rust\n#### not input\n> not output\n```\n\n",
    );
    let messages = wait_for(&mut client, &project, 2).await;
    assert_eq!(
        roles(&messages),
        [
            ("user", "make it faster"),
            (
                "assistant",
                "Use a `HashMap`:\n\n```rust\n#### not input\n> not output\n```"
            )
        ]
    );
    append(
        &history,
        "> Tokens: 1.2k sent, 80 received. Cost: $0.01 message, $0.03 session.  \n> Applied edit to src/lib.rs  \n",
    );
    let messages = wait_for(&mut client, &project, 3).await;
    assert_eq!(messages.len(), 3, "{:#?}", roles(&messages));
    let deadline = Instant::now() + Duration::from_secs(10);
    while working(&mut client, &project).await.messages[1].usage.is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let messages = working(&mut client, &project).await.messages;
    assert_eq!(
        messages[1].usage.map(|u| u.sent_tokens),
        Some(1200),
        "the token line updates the reply"
    );
    assert_eq!(roles(&messages[2..]), [("output", "Applied edit to src/lib.rs")]);

    // Replaced by a rewritten copy of itself with one more message: only
    // that one is new.
    let text = fs::read_to_string(&history).expect("read");
    let copy = dir.join("history.tmp");
    fs::write(&copy, format!("{text}\n#### and smaller  \n")).expect("write");
    fs::rename(&copy, &history).expect("replace");
    let messages = wait_for(&mut client, &project, 4).await;
    assert_eq!(roles(&messages[3..]), [("user", "and smaller")]);

    // Truncated, then written again (a new run): appended, nothing twice.
    fs::write(&history, "").expect("truncate");
    append(
        &history,
        "\n# aider chat started at 2025-03-01 11:00:00\n\n#### after rotation  \n",
    );
    let messages = wait_for(&mut client, &project, 5).await;
    assert_eq!(roles(&messages[4..]), [("user", "after rotation")]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        working(&mut client, &project).await.messages.len(),
        5,
        "nothing appended twice"
    );

    // A restarted daemon resumes the follow and catches up.
    drop(client);
    drop(daemon);
    append(&history, "\n#### while the daemon was down  \n");
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let messages = wait_for(&mut client, &project, 6).await;
    assert_eq!(roles(&messages[5..]), [("user", "while the daemon was down")]);

    let stopped = sandbox.chronicle(&dir, &["follow", "aider", "--stop"]).ok().stdout;
    assert!(stopped.contains("Stopped following"), "{stopped}");
    append(&history, "\n#### not followed any more  \n");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(working(&mut client, &project).await.messages.len(), 6);
}

/// A FIFO where the history should be: FollowAider refuses it at once
/// (opening one would block until a writer came), with or without catch-up
/// and several at a time, and the daemon keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_a_fifo_is_refused_without_hanging() {
    use chronicle_proto::v1::{FollowAiderRequest, GetStatusRequest};
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let client = daemon.client().await;
    let dir = sandbox.project("fifo");
    let fifo = dir.join(aider::HISTORY_FILE);
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .expect("mkfifo");
    let mut calls = tokio::task::JoinSet::new();
    for catch_up in [false, true, false, true] {
        let mut client = client.clone();
        let request = FollowAiderRequest {
            project: path_str(&dir),
            path: String::new(),
            catch_up,
        };
        calls.spawn(async move { client.follow_aider(request).await });
    }
    // A hang is the failure this guards against: bound the wait so it
    // shows as one instead of stalling the suite.
    let answers = tokio::time::timeout(Duration::from_secs(60), calls.join_all())
        .await
        .expect("FollowAider on a FIFO answered instead of hanging");
    for answer in answers {
        let status = answer.expect_err("a FIFO is refused");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{}", status.message());
        assert!(status.message().contains("not a regular file"), "{}", status.message());
    }
    let mut client = client.clone();
    client
        .get_status(GetStatusRequest {})
        .await
        .expect("the daemon still answers");
    let follows = sandbox.chronicle(&dir, &["follow"]).ok().stdout;
    assert!(!follows.contains(&path_str(&dir)), "nothing is followed: {follows}");
}
