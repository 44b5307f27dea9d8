//! Reading a session of any length page by page: the daemon answers at
//! most one page per call, so every reader of a whole session walks the
//! pages the same way — through here.

use chronicle_proto::v1::SessionContent;

use crate::{Client, Error};

/// Which session of a project to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Session {
    /// The project's working session.
    Working,
    /// A saved session, by name.
    Saved(String),
}

impl Session {
    /// `Working` for an empty name, else the saved session of that name:
    /// the convention of every request with a `name` field.
    pub fn named(name: &str) -> Session {
        if name.is_empty() {
            Session::Working
        } else {
            Session::Saved(name.to_owned())
        }
    }
}

/// The pages of one session, read lazily in order.
#[derive(Debug)]
pub struct Pages {
    client: Client,
    project: String,
    session: Session,
    limit: u32,
    after: u64,
    done: bool,
}

impl Pages {
    pub(crate) fn new(client: Client, project: &str, session: Session) -> Pages {
        Pages {
            client,
            project: project.to_owned(),
            session,
            limit: 0,
            after: 0,
            done: false,
        }
    }

    /// Messages per page (0, the default, lets the daemon choose).
    pub fn limit(mut self, limit: u32) -> Pages {
        self.limit = limit;
        self
    }

    /// Starts after message `id` instead of at the beginning.
    pub fn after(mut self, id: u64) -> Pages {
        self.after = id;
        self
    }

    /// The next page, or `None` once the last one was returned.
    pub async fn next(&mut self) -> Result<Option<SessionContent>, Error> {
        if self.done {
            return Ok(None);
        }
        let page = self
            .client
            .page(&self.project, &self.session, self.after, self.limit)
            .await?;
        match page.messages.last() {
            Some(last) if page.more => self.after = last.id,
            _ => self.done = true,
        }
        Ok(Some(page))
    }

    /// Every remaining page folded into one: the first page's header and
    /// files, every message.
    pub async fn read_all(mut self) -> Result<SessionContent, Error> {
        let Some(mut whole) = self.next().await? else {
            return Ok(SessionContent::default());
        };
        while let Some(page) = self.next().await? {
            whole.messages.extend(page.messages);
        }
        whole.more = false;
        Ok(whole)
    }
}
