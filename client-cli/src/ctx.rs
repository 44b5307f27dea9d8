//! What every command shares: where the daemon is, which project, how to
//! print, and the one connection a run of `chronicle` makes.

use std::path::PathBuf;

use anyhow::Context as _;
use chronicle_client::{Client, daemon, paths};
use tokio::sync::OnceCell;

use crate::output::Style;

/// Standard output, locked once for the whole run.
pub type Out<'a> = std::io::StdoutLock<'a>;

pub struct Ctx {
    pub socket: PathBuf,
    pub project_flag: Option<PathBuf>,
    pub style: Style,
    client: OnceCell<Client>,
}

impl Ctx {
    pub fn new(socket: PathBuf, project_flag: Option<PathBuf>, style: Style) -> Ctx {
        Ctx {
            socket,
            project_flag,
            style,
            client: OnceCell::new(),
        }
    }

    /// The connection to the daemon, made on first use; the daemon is
    /// started when none answers.
    pub async fn client(&self) -> Result<Client, chronicle_client::Error> {
        let client = self
            .client
            .get_or_try_init(|| async { daemon::connect_or_start(&self.socket).await.map(|(client, _)| client) })
            .await?;
        Ok(client.clone())
    }

    /// Keeps a connection a command made itself (a start it reports, say),
    /// so the version check at the end sees it.
    pub fn adopt(&self, client: &Client) {
        let _ = self.client.set(client.clone());
    }

    /// The project root: `-C`, else the git top-level of the current
    /// directory, else the current directory; always absolute (the rule
    /// the desktop app shares).
    pub fn project(&self) -> anyhow::Result<String> {
        paths::resolve_project(self.project_flag.as_deref()).context("cannot read the current directory")
    }

    /// Warns, once the command is done, when the daemon that answered is
    /// older than this CLI: it predates an upgrade and should restart. The
    /// version came with the daemon's answers; no extra call is made.
    pub fn warn_if_older_daemon(&self) {
        if let Some(client) = self.client.get()
            && let Some(theirs) = client.older_daemon()
        {
            eprintln!(
                "chronicle: warning: the running daemon is version {theirs}, older than this CLI ({}) — restart it with `chronicle daemon restart`",
                env!("CARGO_PKG_VERSION")
            );
        }
    }
}
