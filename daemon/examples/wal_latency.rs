//! One durable `AppendMessage` in-process, with the write-ahead log and
//! without it (`StoreConfig::wal`), in the same run: rounds alternate
//! between the two stores so both see the same disk and the same load.
//! Prints each one's p50 and p90 and the ratio, beside the disk's floor
//! (2 KiB written in place into a preallocated file, then `fdatasync`). A quick check, not the
//! benchmark (that is `bench/`); run it on a real disk, not tmpfs:
//!
//! `cargo run --release -p chronicled --example wal_latency [DIR] [APPENDS]`

use std::time::Instant;

use chronicle_proto::v1::{Message, Role};
use chronicled::store::{Mutation, ProjectPath, Store, StoreConfig};

const ROUNDS: usize = 10;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let parent = args.next().map_or_else(std::env::temp_dir, Into::into);
    let appends: usize = args.next().map_or(Ok(2000), |n| n.parse())?;
    let dir = tempfile::tempdir_in(parent)?;
    let mut stores = Vec::new();
    for wal in [true, false] {
        let config = StoreConfig {
            wal,
            ..StoreConfig::default()
        };
        let name = if wal { "with-wal.redb" } else { "without-wal.redb" };
        stores.push((wal, Store::open(&dir.path().join(name), config)?, Vec::new()));
    }
    let project = ProjectPath::new("/bench/project")?;
    let per_round = appends / ROUNDS;
    for _ in 0..ROUNDS {
        for (_, store, samples) in &mut stores {
            for i in 0..per_round {
                let message = Message {
                    role: Role::User as i32,
                    content: format!("message {i}: {}", "x".repeat(200)),
                    ..Message::default()
                };
                let start = Instant::now();
                store.mutate(&project, None, Mutation::Append { message }).await?;
                samples.push(start.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
    let floor = {
        use std::os::unix::fs::FileExt;
        let file = std::fs::File::create(dir.path().join("floor"))?;
        file.write_all_at(&vec![0u8; 4 << 20], 0)?;
        file.sync_all()?;
        let mut samples = Vec::with_capacity(appends);
        for i in 0..appends {
            let start = Instant::now();
            file.write_all_at(&[1u8; 2048], (i as u64 * 2048) % (4 << 20))?;
            file.sync_data()?;
            samples.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        samples.sort_by(f64::total_cmp);
        percentile(&samples, 0.5)
    };
    println!("fsync floor  p50 {floor:.3} ms");
    let mut p50 = Vec::new();
    for (wal, store, samples) in &mut stores {
        samples.sort_by(f64::total_cmp);
        let (median, p90) = (percentile(samples, 0.5), percentile(samples, 0.9));
        println!(
            "{:<12} p50 {median:.3} ms  p90 {p90:.3} ms  ({} appends)",
            if *wal { "with WAL" } else { "without WAL" },
            samples.len()
        );
        p50.push(median);
        store.close();
    }
    println!("p50 with WAL / without: {:.2}", p50[0] / p50[1]);
    Ok(())
}
