//! `chronicle doctor`: is the daemon running, and is its database sound?
//! With a daemon up, its own integrity check on open answers the second
//! question; without one, `chronicled --check` opens the file offline and
//! verifies every page. Either way the user is told what to do next.

use std::{io::Write, process::Command};

use chronicle_client::{Client, paths};

use crate::ctx::Ctx;
use crate::error::Failure;

pub async fn run(ctx: &Ctx, out: &mut impl Write) -> anyhow::Result<()> {
    if let Some(client) = Client::try_connect(&ctx.socket).await? {
        let status = client.status().await?;
        writeln!(
            out,
            "ok  daemon running (pid {}, version {}) on {}",
            status.pid, status.version, status.socket
        )?;
        writeln!(
            out,
            "ok  database in {} (schema {}) verified page by page when the daemon opened it",
            status.data_dir, status.schema_version
        )?;
        if status.version != env!("CARGO_PKG_VERSION") {
            writeln!(
                out,
                "!!  the daemon is version {}, this CLI {} — `chronicle daemon restart` runs the installed one",
                status.version,
                env!("CARGO_PKG_VERSION")
            )?;
        }
        return Ok(());
    }
    writeln!(out, "--  no daemon is running on {}", ctx.socket.display())?;
    let binary = paths::daemon_binary();
    let check = Command::new(&binary).arg("--check").output().map_err(|err| {
        Failure::unavailable(format!(
            "cannot run {} --check: {err} — install chronicled next to chronicle or on PATH",
            binary.display()
        ))
    })?;
    let report = String::from_utf8_lossy(&check.stdout);
    if check.status.success() {
        writeln!(out, "ok  {}", report.trim())?;
        writeln!(
            out,
            "    start the daemon with `chronicle daemon start` (any other command starts it too)"
        )?;
        return Ok(());
    }
    let problem = String::from_utf8_lossy(&check.stderr);
    let problem = problem.trim().trim_start_matches("chronicled: error: ");
    for line in problem.lines() {
        writeln!(out, "!!  {line}")?;
    }
    Err(Failure::refused(
        "the database needs attention — stop any other chronicled, then run `chronicled --repair` to keep a copy and recover what can be read"
    )
    .into())
}
