//! The sustained run: 16 clients append without pause for a few seconds,
//! by calls, over `Mutate` streams, and over streams to a daemon without
//! the search index, twice, the order turned each round, each time on a
//! fresh daemon. Unlike the short 16-client rounds, it counts the daemon's
//! CPU until the search index has caught up, so the index's work is in the
//! figure, not left after the clock stops; and it counts the clients' CPU,
//! since on a small machine they share the daemon's cores.

use std::{
    fs,
    path::Path,
    time::{Duration, Instant},
};

use super::{Daemon, Figure, MESSAGE_BYTES, chronicle_prepare, cpu, message};

/// How the 16 clients append, and to which daemon.
#[derive(Clone, Copy, PartialEq)]
enum Setup {
    Calls,
    Streams,
    /// Over streams, to a daemon without the search index: the write
    /// path's CPU alone.
    StreamsWithoutIndex,
}

impl Setup {
    const ALL: [Setup; 3] = [Setup::Calls, Setup::Streams, Setup::StreamsWithoutIndex];

    fn name(self) -> &'static str {
        match self {
            Setup::Calls => "by calls",
            Setup::Streams => "over Mutate streams",
            Setup::StreamsWithoutIndex => "over Mutate streams, without the search index",
        }
    }
}

/// The sustained figures (per setup: appends/s, the daemon's and the
/// clients' CPU per append), and the daemons' peak RSS in MiB.
pub(crate) async fn figures(work: &Path, project: &str, window: Duration) -> anyhow::Result<(Vec<Figure>, f64)> {
    const ROUNDS: usize = 2;
    let mut measured: [Run; 3] = Default::default();
    let mut peak_rss: f64 = 0.0;
    for round in 0..ROUNDS {
        // The order turns each round, so no setup always goes first.
        let mut order = Setup::ALL;
        order.rotate_left(round % Setup::ALL.len());
        for setup in order {
            // A fresh daemon each time: no run pays for another's index.
            let dir = work.join(format!("sustained-{round}-{}", setup as usize));
            chronicle_prepare(&dir, project, 0, 0, MESSAGE_BYTES).await?;
            let daemon = match setup {
                Setup::StreamsWithoutIndex => Daemon::start_with(&dir, &["--no-search-index"])?,
                _ => Daemon::start(&dir)?,
            };
            let run = sustained(&daemon, project, 16, window, setup != Setup::Calls).await?;
            let slot = &mut measured[setup as usize];
            slot.rate += run.rate / ROUNDS as f64;
            slot.daemon_cpu += run.daemon_cpu / ROUNDS as f64;
            slot.clients_cpu += run.clients_cpu / ROUNDS as f64;
            peak_rss = peak_rss.max(daemon.rss_mib().1);
            drop(daemon);
            fs::remove_dir_all(&dir)?;
        }
    }
    let mut figures = Vec::new();
    for setup in Setup::ALL {
        let how = setup.name();
        let m = &measured[setup as usize];
        let daemon_cpu = match setup {
            Setup::StreamsWithoutIndex => "daemon CPU per append",
            _ => "daemon CPU per append, the index's catch-up included",
        };
        figures.extend([
            Figure {
                name: format!("sustained, 16 clients {how}: appends/s"),
                value: m.rate,
                unit: String::new(),
            },
            Figure {
                name: format!("sustained, 16 clients {how}: {daemon_cpu}"),
                value: m.daemon_cpu,
                unit: "µs".into(),
            },
            Figure {
                name: format!("sustained, 16 clients {how}: the clients' CPU per append"),
                value: m.clients_cpu,
                unit: "µs".into(),
            },
        ]);
    }
    Ok((figures, peak_rss))
}

/// One sustained run's figures, or a setup's averaged over the rounds.
#[derive(Default)]
struct Run {
    rate: f64,
    /// µs of the daemon's CPU per append, its index's catch-up included.
    daemon_cpu: f64,
    /// µs of the bench process's CPU per append during the window: the
    /// clients' side of each call.
    clients_cpu: f64,
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
) -> anyhow::Result<Run> {
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
    let cpu_before = cpu::process(daemon.child.id())?;
    let clients_before = cpu::process(0)?;
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
    let clients_cpu = cpu::process(0)? - clients_before;
    // The index may still be catching up: its work counts too, until the
    // daemon has used at most 2 ticks in each of two half seconds running
    // (or a minute has passed).
    let mut last = cpu::process(daemon.child.id())?;
    let mut quiet = 0;
    let quiet_by = Instant::now() + Duration::from_secs(60);
    while quiet < 2 && Instant::now() < quiet_by {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = cpu::process(daemon.child.id())?;
        quiet = if now.saturating_sub(last) <= Duration::from_millis(20) {
            quiet + 1
        } else {
            0
        };
        last = now;
    }
    let cpu = last.saturating_sub(cpu_before);
    let appended = appended.max(1) as f64;
    Ok(Run {
        rate: appended / elapsed.as_secs_f64(),
        daemon_cpu: cpu.as_secs_f64() * 1e6 / appended,
        clients_cpu: clients_cpu.as_secs_f64() * 1e6 / appended,
    })
}
