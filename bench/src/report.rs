//! The bench's output: the Markdown tables of every contender and figure,
//! the ratios against the targets, and `results.json` with the
//! machine, the bench directory's filesystem and the load around the run.

use std::{fs, path::PathBuf};

use serde::Serialize;

use super::{Figure, Plan, Row, mount};

#[derive(Serialize)]
pub(crate) struct Environment {
    pub(crate) bench_dir: PathBuf,
    pub(crate) mount: mount::Mount,
    pub(crate) load_before: String,
    pub(crate) load_after: String,
}

/// The 1-, 5- and 15-minute load averages.
pub(crate) fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn find<'a>(rows: &'a [Row], contender: &str, clients: usize, length: u64) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.contender == contender && r.clients == clients && r.length == length)
}

pub(crate) fn report(rows: &[Row], figures: &[Figure], plan: &Plan, environment: &Environment) -> anyhow::Result<()> {
    println!(
        "Bench directory {} on {}; load average {} before, {} after.",
        environment.bench_dir.display(),
        environment.mount,
        environment.load_before,
        environment.load_after
    );
    println!();
    println!("| contender | clients | session length | p50 ms | p99 ms | ops/s |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.3} | {:.3} | {:.0} |",
            r.contender, r.clients, r.length, r.p50_ms, r.p99_ms, r.ops_per_sec
        );
    }
    println!();
    println!("| figure | value |");
    println!("| --- | ---: |");
    for f in figures {
        println!("| {} | {:.2} {} |", f.name, f.value, f.unit);
    }
    println!();
    let mut ratios = Vec::new();
    let p50 = |contender: &str, clients: usize, length: u64| find(rows, contender, clients, length).map(|r| r.p50_ms);
    let ops =
        |contender: &str, clients: usize, length: u64| find(rows, contender, clients, length).map(|r| r.ops_per_sec);
    let figure = |name: &str| figures.iter().find(|f| f.name == name).map(|f| f.value);
    // Over the socket, by calls and over `Mutate` streams: each ratio is
    // given for both, the targets hold for the better.
    const SOCKET: [&str; 2] = ["chronicle", "chronicle-stream"];
    for &length in &plan.lengths {
        for contender in SOCKET {
            if let (Some(c), Some(f)) = (p50(contender, 1, length), p50("fsync-floor", 1, length)) {
                ratios.push((
                    format!("{contender} 1-client p50 / fsync-floor p50 at {length}"),
                    c / f,
                    "≤ 2.0",
                ));
            }
        }
        for (with, without) in [
            ("chronicle", "chronicle --no-wal"),
            ("chronicle-in-process", "chronicle-in-process --no-wal"),
        ] {
            if let (Some(w), Some(n)) = (p50(with, 1, length), p50(without, 1, length)) {
                ratios.push((
                    format!("{with} p50 with the write-ahead log / without at {length}"),
                    w / n,
                    "< 1.0",
                ));
            }
        }
        if let (Some(b), Some(s)) = (ops("chronicle-burst", 1, length), ops("chronicle-stream", 1, length)) {
            ratios.push((
                format!("chronicle-burst ops/s / chronicle-stream 1-client ops/s at {length}"),
                b / s,
                "(a burst shares its syncs)",
            ));
        }
        if let (Some(c), Some(s)) = (
            figure(&format!("chronicle-in-process, 1 client: CPU per append at {length}")),
            figure(&format!("sqlite-wal, 1 client: CPU per append at {length}")),
        ) {
            ratios.push((
                format!("chronicle-in-process CPU per append / sqlite-wal 1-writer CPU per append at {length}"),
                c / s,
                "(what each costs the processor)",
            ));
        }
        if let (Some(c), Some(s)) = (p50("chronicle-in-process", 1, length), p50("sqlite-wal", 1, length)) {
            ratios.push((
                format!("chronicle-in-process p50 / sqlite-wal 1-writer p50 at {length}"),
                c / s,
                "≤ 1.0",
            ));
        }
        for contender in SOCKET {
            if let (Some(c), Some(s)) = (ops(contender, 16, length), ops("sqlite-wal-group", 16, length)) {
                ratios.push((
                    format!("{contender} 16-client ops/s / sqlite-wal-group ops/s at {length}"),
                    c / s,
                    "≥ 1.5",
                ));
            }
        }
        if let (Some(c), Some(s)) = (
            ops("chronicle-in-process", 16, length),
            ops("sqlite-wal-group", 16, length),
        ) {
            ratios.push((
                format!("chronicle-in-process 16-client ops/s / sqlite-wal-group ops/s at {length}"),
                c / s,
                "(the store alone)",
            ));
        }
        for contender in SOCKET {
            if let (Some(c), Some(s)) = (ops(contender, 16, length), ops("sqlite-wal-immediate", 16, length)) {
                ratios.push((
                    format!("{contender} 16-client ops/s / sqlite-wal-immediate 16-writer ops/s at {length}"),
                    c / s,
                    "≥ 3",
                ));
            }
        }
    }
    let (first, last) = (plan.lengths[0], plan.lengths[plan.lengths.len() - 1]);
    // What stands between the socket and its targets, measured: a bare
    // round trip plus the store alone, against the floor the 2× target is
    // set on; and the CPU an append costs both sides, against the cores.
    if let (Some(rpc), Some(store), Some(floor)) = (
        figure("RPC round trip without disk (GetStatus), p50"),
        p50("chronicle-in-process", 1, first),
        p50("fsync-floor", 1, first),
    ) {
        ratios.push((
            format!("(GetStatus p50 + chronicle-in-process p50) / fsync-floor p50 at {first}"),
            (rpc + store) / floor,
            "(> 2: a bare round trip and the store alone already miss the 2× target)",
        ));
    }
    const WITHOUT_INDEX: &str = "sustained, 16 clients over Mutate streams, without the search index";
    if let (Some(daemon), Some(clients), Some(sqlite)) = (
        figure(&format!("{WITHOUT_INDEX}: daemon CPU per append")),
        figure(&format!("{WITHOUT_INDEX}: the clients' CPU per append")),
        ops("sqlite-wal-group", 16, first),
    ) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let ceiling = cores * 1e6 / (daemon + clients).max(1.0);
        ratios.push((
            format!(
                "{cores} cores / CPU per streamed append (daemon + clients, no index) / sqlite-wal-group 16-client ops/s at {first}"
            ),
            ceiling / sqlite,
            "(< 1.5: clients waiting for each answer cannot reach the 16-client target)",
        ));
    }
    for contender in SOCKET {
        if let (Some(a), Some(b)) = (p50(contender, 1, first), p50(contender, 1, last)) {
            ratios.push((format!("{contender} p50 at {last} / at {first}"), b / a, "≤ 1.3"));
        }
    }
    if let (Some(a), Some(b)) = (p50("json-rewrite", 1, first), p50("json-rewrite", 1, last)) {
        ratios.push((
            format!("json-rewrite p50 at {last} / at {first}"),
            b / a,
            "(grows with n)",
        ));
    }
    println!("| ratio | value | target |");
    println!("| --- | ---: | --- |");
    for (name, value, target) in &ratios {
        println!("| {name} | {value:.2} | {target} |");
    }
    if let Some(parent) = plan.json_path.parent() {
        fs::create_dir_all(parent)?;
    }
    let json = serde_json::json!({
        "rows": rows,
        "figures": figures,
        "ratios": ratios.iter().map(|(n, v, t)| serde_json::json!({"name": n, "value": v, "target": t})).collect::<Vec<_>>(),
        "machine": machine(),
        "environment": environment,
    });
    fs::write(&plan.json_path, serde_json::to_vec_pretty(&json)?)?;
    eprintln!("wrote {}", plan.json_path.display());
    Ok(())
}

/// CPU model, cores and kernel, for the record.
pub(crate) fn machine() -> serde_json::Value {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown".to_owned(), |m| m.trim().to_owned());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    serde_json::json!({
        "cpu": model,
        "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "kernel": kernel.trim(),
    })
}
