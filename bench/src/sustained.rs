//! The sustained run: 16 clients append without pause for a few seconds,
//! by calls and over `Mutate` streams, twice in alternating order, each
//! time on a fresh daemon. Unlike the short 16-client rounds, it counts
//! the daemon's CPU until the search index has caught up, so the index's
//! work is in the figure, not left after the clock stops.

use std::{
    fs,
    path::Path,
    time::{Duration, Instant},
};

use anyhow::Context;

use super::{Daemon, Figure, MESSAGE_BYTES, chronicle_prepare, message};

/// The sustained figures (appends/s and daemon CPU per append, by calls
/// and over streams), and the daemons' peak RSS in MiB.
pub(crate) async fn figures(work: &Path, project: &str, window: Duration) -> anyhow::Result<(Vec<Figure>, f64)> {
    let mut rates = [(0.0, 0.0), (0.0, 0.0)];
    let mut peak_rss: f64 = 0.0;
    for round in 0..2 {
        for streamed in [round == 1, round == 0] {
            // A fresh daemon each time: no run pays for another's index.
            let dir = work.join(format!("sustained-{round}-{streamed}"));
            chronicle_prepare(&dir, project, 0, 0, MESSAGE_BYTES).await?;
            let daemon = Daemon::start(&dir)?;
            let (rate, cpu) = sustained(&daemon, project, 16, window, streamed).await?;
            let slot = &mut rates[usize::from(streamed)];
            slot.0 += rate / 2.0;
            slot.1 += cpu / 2.0;
            peak_rss = peak_rss.max(daemon.rss_mib().1);
            drop(daemon);
            fs::remove_dir_all(&dir)?;
        }
    }
    let mut figures = Vec::new();
    for (streamed, (rate, cpu)) in [(false, rates[0]), (true, rates[1])] {
        let how = if streamed { "over Mutate streams" } else { "by calls" };
        figures.push(Figure {
            name: format!("sustained, 16 clients {how}: appends/s"),
            value: rate,
            unit: String::new(),
        });
        figures.push(Figure {
            name: format!("sustained, 16 clients {how}: daemon CPU per append, the index's catch-up included"),
            value: cpu,
            unit: "µs".into(),
        });
    }
    Ok((figures, peak_rss))
}

/// `clients` clients appending without pause for `window`, each on its own
/// connection (by calls, or over its own `Mutate` stream), all connected
/// before the clock starts: the appends per second, and the daemon's CPU
/// time (every thread) per append, counted until the daemon is quiet again,
/// so that the search index's catch-up after the window is included.
async fn sustained(
    daemon: &Daemon,
    project: &str,
    clients: usize,
    window: Duration,
    streamed: bool,
) -> anyhow::Result<(f64, f64)> {
    let mut connected = Vec::with_capacity(clients);
    for _ in 0..clients {
        let client = daemon.client().await?;
        let stream = if streamed {
            Some(client.mutations().await?)
        } else {
            None
        };
        connected.push((client, stream));
    }
    let cpu_before = cpu_time(daemon)?;
    let start = Instant::now();
    let deadline = start + window;
    let mut tasks = tokio::task::JoinSet::new();
    for (c, (client, mut stream)) in connected.into_iter().enumerate() {
        let project = project.to_owned();
        tasks.spawn(async move {
            let mut appended = 0u64;
            while Instant::now() < deadline {
                let message = message(c as u64 * 1_000_000 + appended);
                match stream.as_mut() {
                    Some(stream) => stream.append(&project, message, None).await?,
                    None => client.append(&project, message, None).await?,
                };
                appended += 1;
            }
            anyhow::Ok(appended)
        });
    }
    let mut appended = 0;
    while let Some(done) = tasks.join_next().await {
        appended += done??;
    }
    let elapsed = start.elapsed();
    // The index may still be catching up: its work counts too, until the
    // daemon has used at most 2 ticks in each of two half seconds running
    // (or a minute has passed).
    let mut last = cpu_time(daemon)?;
    let mut quiet = 0;
    let quiet_by = Instant::now() + Duration::from_secs(60);
    while quiet < 2 && Instant::now() < quiet_by {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = cpu_time(daemon)?;
        quiet = if now.saturating_sub(last) <= Duration::from_millis(20) {
            quiet + 1
        } else {
            0
        };
        last = now;
    }
    let cpu = last.saturating_sub(cpu_before);
    let appended = appended.max(1) as f64;
    Ok((appended / elapsed.as_secs_f64(), cpu.as_secs_f64() * 1e6 / appended))
}

/// CPU time of every thread of the daemon so far (user + system), from
/// /proc, in clock ticks of 10 ms (Linux's USER_HZ of 100).
fn cpu_time(daemon: &Daemon) -> anyhow::Result<Duration> {
    let stat = fs::read_to_string(format!("/proc/{}/stat", daemon.child.id()))?;
    // Fields count from after the name's closing parenthesis, where
    // field 3 (the state) begins; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    let ticks: u64 = rest
        .split_whitespace()
        .skip(14 - 3)
        .take(2)
        .map(|t| t.parse::<u64>())
        .sum::<Result<u64, _>>()
        .context("the daemon's /proc/PID/stat has no CPU times")?;
    Ok(Duration::from_millis(ticks * 10))
}
