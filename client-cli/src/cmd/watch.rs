//! `chronicle watch`: every change to this project (or, with `--all`, to
//! every project) as it is committed, one line or one JSON object each,
//! until Ctrl-C.

use std::io::Write;

use chronicle_client::v1::EventKind;
use serde_json::json;

use crate::ctx::{Ctx, Out};
use crate::error::Failure;
use crate::output;

pub async fn watch(ctx: &Ctx, all: bool, json: bool, out: &mut Out<'_>) -> anyhow::Result<()> {
    let project = if all { String::new() } else { ctx.project()? };
    let mut stream = ctx.client().await?.watch(&project).await?;
    loop {
        let event = tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            event = stream.message() => event.map_err(Failure::from)?,
        };
        let Some(event) = event else {
            return Err(Failure::unavailable("the daemon closed the watch stream").into());
        };
        let kind = EventKind::try_from(event.kind).unwrap_or(EventKind::Unspecified);
        let kind_name = kind
            .as_str_name()
            .trim_start_matches("EVENT_KIND_")
            .to_lowercase()
            .replace('_', " ");
        if json {
            let value = json!({
                "project": event.project,
                "revision": event.revision,
                "kind": kind_name.replace(' ', "_"),
                "at": output::iso_time(event.at_ms),
                "session_name": event.session_name,
                "message": event.message.as_ref().map(output::message_json),
                "files": event.files.iter().map(output::file_json).collect::<Vec<_>>(),
                "delta": event.delta,
            });
            serde_json::to_writer(&mut *out, &value)?;
            writeln!(out)?;
        } else {
            let mut line = format!(
                "{}  rev {:<5} {}",
                ctx.style.dim(&output::local_time(event.at_ms)),
                event.revision,
                ctx.style.bold(&kind_name)
            );
            if all && !event.project.is_empty() {
                line.push_str(&format!("  {}", event.project));
            }
            if let Some(m) = &event.message {
                let first = m.content.lines().next().unwrap_or("");
                let first: String = first.chars().take(80).collect();
                line.push_str(&format!("  #{} {}: {first}", m.id, output::role_label(m.role)));
            }
            if !event.session_name.is_empty() {
                line.push_str(&format!("  \"{}\"", event.session_name));
            }
            writeln!(out, "{line}")?;
        }
        out.flush()?;
    }
}
