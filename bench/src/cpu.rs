//! CPU time, read from `/proc`: what a round trip or an append costs the
//! processor, as opposed to how long it takes. On a machine of two cores
//! that also runs the clients, the CPU each append costs bounds how many
//! appends a second any amount of batching can reach.

use std::{fs, time::Duration};

use anyhow::Context;

/// CPU time (user + system) of every thread `pid` has had, exited ones
/// included, from `/proc/PID/stat`, in clock ticks of 10 ms (Linux's
/// USER_HZ of 100). `pid` 0 is this process.
pub(crate) fn process(pid: u32) -> anyhow::Result<Duration> {
    let path = match pid {
        0 => "/proc/self/stat".to_owned(),
        pid => format!("/proc/{pid}/stat"),
    };
    let stat = fs::read_to_string(&path).with_context(|| format!("could not read {path}"))?;
    // Fields count from after the name's closing parenthesis, where
    // field 3 (the state) begins; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    let ticks: u64 = rest
        .split_whitespace()
        .skip(14 - 3)
        .take(2)
        .map(|t| t.parse::<u64>())
        .sum::<Result<u64, _>>()
        .with_context(|| format!("{path} has no CPU times"))?;
    Ok(Duration::from_millis(ticks * 10))
}

/// Time the calling thread has run on a CPU, to the nanosecond
/// (`/proc/thread-self/schedstat`).
pub(crate) fn this_thread() -> anyhow::Result<Duration> {
    schedstat("/proc/thread-self/schedstat")
}

/// Time the live threads of `pid` have run on a CPU, to the nanosecond:
/// finer than [`process`], but a thread that exits takes its time with it.
pub(crate) fn live_threads(pid: u32) -> anyhow::Result<Duration> {
    let mut total = Duration::ZERO;
    for task in fs::read_dir(format!("/proc/{pid}/task"))? {
        // A thread that exits between the listing and the read is skipped.
        if let Ok(ran) = schedstat(&format!("{}/schedstat", task?.path().display())) {
            total += ran;
        }
    }
    Ok(total)
}

/// The first field of a `schedstat` file: nanoseconds run on a CPU.
fn schedstat(path: &str) -> anyhow::Result<Duration> {
    let text = fs::read_to_string(path).with_context(|| format!("could not read {path}"))?;
    let ns: u64 = text
        .split_whitespace()
        .next()
        .and_then(|ns| ns.parse().ok())
        .with_context(|| format!("{path} has no run time"))?;
    Ok(Duration::from_nanos(ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_thread_counts_its_own_time_and_the_process_counts_it_too() -> anyhow::Result<()> {
        let start = std::time::Instant::now();
        let (thread_before, process_before) = (this_thread()?, process(0)?);
        let mut spin = 0u64;
        while this_thread()? - thread_before < Duration::from_millis(40) {
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(20),
                "the thread's run time does not advance"
            );
            for _ in 0..10_000 {
                spin = std::hint::black_box(spin.wrapping_add(1));
            }
        }
        // Run time, at most the wall time (the scheduler's clock and the
        // monotonic one may differ by a little).
        let ran = this_thread()? - thread_before;
        let elapsed = start.elapsed();
        assert!(ran <= elapsed + elapsed / 20, "ran {ran:?} in {elapsed:?}");
        let counted = process(0)? - process_before;
        assert!(counted >= Duration::from_millis(20), "the process counted {counted:?}");
        let mine = this_thread()?;
        assert!(live_threads(std::process::id())? >= mine);
        Ok(())
    }
}
