//! Garbage on the daemon's socket, below the API: random bytes (raw, after
//! the HTTP/2 preface, as an HTTP/1 request), half-open HTTP/2 connections
//! that send only the preface or part of a frame and then hold still,
//! 1,000 connections opened and dropped, and well-formed HTTP/2 carrying
//! broken gRPC frames (not protobuf, truncated, cut-off header, a bogus
//! compression flag, a 4 GiB length, an unknown method). The daemon keeps
//! serving a well-behaved client throughout, gives each broken gRPC call a
//! status, changes nothing, gives back every socket, and its
//! memory stays bounded. Everything runs on the sandbox's Unix socket, in
//! loops bounded by count.

use crate::common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::{Client, append, open, open_sockets, path_str, raw_grpc_call, rss_kib, snapshot};
use chronicle_proto::v1::Role;
use chronicle_tests::{Daemon, Sandbox};
use tokio::{io::AsyncWriteExt as _, net::UnixStream};
use tonic::Code;

/// What an HTTP/2 client sends first.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Growth of the daemon's memory that still counts as bounded.
const RSS_SLACK_KIB: u64 = 64 * 1024;

/// A small, seeded xorshift generator: the seed is printed, so a failing
/// run can be replayed with CHRONICLE_TEST_SEED.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = std::env::var("CHRONICLE_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                let nanos = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                nanos ^ u64::from(std::process::id())
            })
            | 1;
        eprintln!("random seed: CHRONICLE_TEST_SEED={seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// An HTTP/2 frame header: 24-bit length, type, flags, stream id.
fn frame_header(len: u32, kind: u8, flags: u8, stream: u32) -> Vec<u8> {
    let mut header = len.to_be_bytes()[1..].to_vec();
    header.extend([kind, flags]);
    header.extend((stream & 0x7fff_ffff).to_be_bytes());
    header
}

/// The well-behaved client: one more append that must succeed.
async fn still_serving(client: &mut Client, project: &str, what: &str) {
    let ack = client
        .append_message(chronicle_proto::v1::AppendMessageRequest {
            project: project.to_owned(),
            message: Some(common::message(Role::User, what)),
            expected_revision: None,
        })
        .await
        .unwrap_or_else(|status| panic!("the daemon stopped serving {what}: {status}"));
    assert!(ack.into_inner().revision > 0);
}

/// Waits until the daemon holds at most `limit` sockets, or the
/// deadline passes; returns the last count.
async fn sockets_settle(daemon: &Daemon, limit: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let fds = open_sockets(daemon.pid());
        if fds <= limit || Instant::now() > deadline {
            return fds;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One connection's worth of garbage, of one of four shapes.
fn garbage(rng: &mut Rng, shape: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    match shape {
        0 => {}
        1 => bytes.extend(PREFACE),
        2 => {
            bytes.extend(PREFACE);
            let len = rng.below(64) as u32;
            let kind = rng.below(12) as u8;
            bytes.extend(frame_header(len, kind, rng.next() as u8, rng.next() as u32));
        }
        _ => bytes.extend(b"POST /chronicle.v1.Sessions/GetStatus HTTP/1.1\r\nHost: x\r\n\r\n"),
    }
    let tail = rng.below(16 * 1024) as usize;
    bytes.extend(rng.bytes(tail));
    bytes
}

#[tokio::test(flavor = "multi_thread")]
async fn random_bytes_on_the_socket_leave_the_daemon_serving() {
    const CONNECTIONS: u64 = 400;
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    still_serving(&mut client, &project, "before").await;
    let rss_before = rss_kib(daemon.pid());
    let mut rng = Rng::new();
    let mut sent = 0usize;

    for round in 0..CONNECTIONS {
        let mut stream = UnixStream::connect(&daemon.socket).await.expect("connect");
        let bytes = garbage(&mut rng, round % 4);
        // The daemon may hang up at the first bad byte: a failed write is
        // its right, not an error.
        if stream.write_all(&bytes).await.is_ok() {
            sent += bytes.len();
        }
        if round % 20 == 0 {
            still_serving(&mut client, &project, &format!("during round {round}")).await;
        }
    }
    let rss_after = rss_kib(daemon.pid());
    eprintln!("random bytes: {CONNECTIONS} connections, {sent} bytes accepted, RSS {rss_before} → {rss_after} KiB");
    let mut fresh = daemon.client().await;
    assert!(open(&mut fresh, &project).await.message_count > 1);
    assert!(
        rss_after <= rss_before + RSS_SLACK_KIB,
        "memory grew from {rss_before} to {rss_after} KiB"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn half_open_http2_connections_do_not_block_other_clients() {
    const EACH: usize = 100;
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    still_serving(&mut client, &project, "before").await;
    let rss_before = rss_kib(daemon.pid());
    let sockets_before = open_sockets(daemon.pid());

    let mut held = Vec::new();
    for i in 0..EACH * 4 {
        let mut stream = UnixStream::connect(&daemon.socket).await.expect("connect");
        let bytes: Vec<u8> = match i % 4 {
            // Connected, silent.
            0 => Vec::new(),
            // Only the preface.
            1 => PREFACE.to_vec(),
            // The preface and five of a SETTINGS frame's nine header bytes.
            2 => [PREFACE, &frame_header(6, 0x4, 0, 0)[..5]].concat(),
            // A HEADERS frame announced at 16 KiB, with 10 bytes of it.
            _ => [
                PREFACE,
                &frame_header(0, 0x4, 0, 0),
                &frame_header(16_384, 0x1, 0x4, 1),
                &[0u8; 10],
            ]
            .concat(),
        };
        stream.write_all(&bytes).await.expect("write the partial handshake");
        held.push(stream);
    }
    for round in 0..20 {
        still_serving(
            &mut client,
            &project,
            &format!("round {round} beside half-open connections"),
        )
        .await;
    }
    let mut fresh = daemon.client().await;
    still_serving(&mut fresh, &project, "a new client beside half-open connections").await;
    let rss_held = rss_kib(daemon.pid());
    drop(held);
    let sockets_after = sockets_settle(&daemon, sockets_before + 4).await;
    eprintln!(
        "half-open: {} held connections, RSS {rss_before} → {rss_held} KiB, sockets {sockets_before} → {sockets_after} after dropping them",
        EACH * 4
    );
    assert!(
        rss_held <= rss_before + RSS_SLACK_KIB,
        "memory grew from {rss_before} to {rss_held} KiB"
    );
    assert!(
        sockets_after <= sockets_before + 4,
        "the daemon kept {sockets_after} sockets (had {sockets_before})"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_connections_opened_and_dropped_leak_nothing() {
    const CONNECTIONS: usize = 1000;
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    still_serving(&mut client, &project, "before").await;
    let sockets_before = open_sockets(daemon.pid());
    // Warm up, so what the allocator keeps after the first connections is
    // not counted as growth.
    for _ in 0..50 {
        drop(daemon.client().await);
    }
    sockets_settle(&daemon, sockets_before).await;
    let rss_before = rss_kib(daemon.pid());

    for i in 0..CONNECTIONS {
        if i % 10 == 0 {
            // A real client: handshake, a call, gone.
            let mut passing = daemon.client().await;
            open(&mut passing, &project).await;
        } else {
            let mut stream = UnixStream::connect(&daemon.socket).await.expect("connect");
            if i % 2 == 0 {
                let _ = stream.write_all(PREFACE).await;
            }
        }
    }
    still_serving(&mut client, &project, "after 1,000 connections").await;
    let sockets_after = sockets_settle(&daemon, sockets_before + 4).await;
    let rss_after = rss_kib(daemon.pid());
    eprintln!(
        "open-and-drop: {CONNECTIONS} connections, RSS {rss_before} → {rss_after} KiB, sockets {sockets_before} → {sockets_after}"
    );
    assert!(
        sockets_after <= sockets_before + 4,
        "the daemon kept {sockets_after} sockets (had {sockets_before})"
    );
    assert!(
        rss_after <= rss_before + RSS_SLACK_KIB,
        "memory grew from {rss_before} to {rss_after} KiB"
    );
}

/// A gRPC length-prefixed message: compression flag, length, bytes.
fn grpc_frame(compressed: bool, len: u32, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![u8::from(compressed)];
    frame.extend(len.to_be_bytes());
    frame.extend(payload);
    frame
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_grpc_frames_get_a_status_and_change_nothing() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start();
    let mut client = daemon.client().await;
    let project = path_str(&sandbox.project("app"));
    append(&mut client, &project, Role::User, "kept").await;
    let before = snapshot(&mut client, &project).await;
    let mut channel = chronicle_client::channel(&daemon.socket).await.expect("a raw channel");

    // Field 1 with wire type 7, which protobuf does not have.
    let not_protobuf = [0x0f, 0x00, 0x01];
    // Parsing failures are INTERNAL, as the gRPC status-code table says for
    // "error parsing request proto"; a length over the decode limit is
    // OUT_OF_RANGE (tonic) and an unknown method UNIMPLEMENTED.
    let cases: Vec<(&str, &str, Vec<u8>, Code)> = vec![
        (
            "a body that is not protobuf",
            "AppendMessage",
            grpc_frame(false, 3, &not_protobuf),
            Code::Internal,
        ),
        (
            "a message cut short of its length",
            "AppendMessage",
            grpc_frame(false, 100, &[0x0a, 0x02, b'/', b'x']),
            Code::Internal,
        ),
        (
            "a cut-off message header",
            "ClearMessages",
            vec![0, 0, 0],
            Code::Internal,
        ),
        (
            "the compressed flag without an encoding",
            "ClearMessages",
            grpc_frame(true, 2, &[0x0a, 0x00]),
            Code::Internal,
        ),
        (
            "a 4 GiB length",
            "AppendMessage",
            grpc_frame(false, u32::MAX, &[0x0a]),
            Code::OutOfRange,
        ),
        (
            "an unknown method",
            "NoSuchMethod",
            grpc_frame(false, 0, &[]),
            Code::Unimplemented,
        ),
    ];
    for (what, method, body, code) in cases {
        let status = raw_grpc_call(&mut channel, &format!("/chronicle.v1.Sessions/{method}"), body).await;
        assert_eq!(status.code(), code, "{what}: {}", status.message());
        // tonic's router answers an unknown method with the bare code.
        assert!(
            code == Code::Unimplemented || !status.message().is_empty(),
            "{what}: no message"
        );
    }
    assert_eq!(
        snapshot(&mut client, &project).await,
        before,
        "a broken frame changed something"
    );
    still_serving(&mut client, &project, "after broken frames").await;
}

/// Reads until the daemon closes the connection (EOF or reset); the bytes
/// it sent first (its own SETTINGS) are ignored.
async fn closed_by_daemon(mut stream: UnixStream) {
    use tokio::io::AsyncReadExt as _;
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Connections that never complete the HTTP/2 handshake (silent, the
/// preface alone, part of the first frame) are closed once the handshake
/// timeout passes; a client that did complete it keeps its connection
/// however long it then stays quiet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_never_finish_the_handshake_are_closed() {
    let sandbox = Sandbox::new();
    let daemon = sandbox.start_with(&["--handshake-timeout", "1s"]);
    let project = path_str(&sandbox.project("handshake"));
    let mut client = daemon.client().await;
    open(&mut client, &project).await;
    let starts: [&[u8]; 3] = [
        b"",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04",
    ];
    let mut waits = tokio::task::JoinSet::new();
    for start in starts {
        let mut stream = UnixStream::connect(sandbox.socket()).await.expect("connect");
        stream.write_all(start).await.expect("send the start");
        waits.spawn(closed_by_daemon(stream));
    }
    // A hang is the failure here (before the timeout existed these
    // connections stayed open forever): bound the wait so it shows.
    tokio::time::timeout(Duration::from_secs(60), waits.join_all())
        .await
        .expect("every half-finished handshake is closed by the daemon");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    append(&mut client, &project, Role::User, "still here").await;
    assert_eq!(snapshot(&mut client, &project).await.working.messages.len(), 1);
}
