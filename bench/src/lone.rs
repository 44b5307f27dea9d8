//! A lone client on its own thread and current-thread runtime, as the
//! `chronicle` CLI runs one: its calls, the HTTP/2 connection's task and
//! the socket's wake-ups all stay on one thread. That is a single client's
//! best configuration, as SQLite's single writer gets its own; the
//! 16-client runs keep the bench's multi-threaded runtime. It appends by
//! calls (`AppendMessage`) or over one `Mutate` stream, opened at its first
//! use and kept, as a frontend that writes often keeps it: one append at a
//! time, or a burst sent at once.

use std::{
    path::Path,
    sync::mpsc,
    thread::JoinHandle,
    time::{Duration, Instant},
};

use anyhow::Context;
use chronicle_client::v1::{AppendMessageRequest, mutate_request::Mutation};
use chronicle_client::{Client, Mutations};

use super::message;

enum Ask {
    /// Appends messages `from..from + count` to the project, each timed,
    /// one call each or over the client's `Mutate` stream.
    Append {
        project: String,
        from: u64,
        count: usize,
        streamed: bool,
    },
    /// Appends messages `from..from + count` over the client's `Mutate`
    /// stream all at once (`Mutations::send_all`), timed as one burst.
    Burst { project: String, from: u64, count: usize },
    /// `count` GetStatus round trips, each timed.
    Status { count: usize },
}

/// An ask's timings, and the CPU time the lone client's thread spent on
/// the whole ask.
pub struct Answered {
    pub times: Vec<Duration>,
    pub cpu: Duration,
}

type Answer = anyhow::Result<Answered>;

pub struct LoneClient {
    asks: Option<mpsc::Sender<(Ask, mpsc::Sender<Answer>)>>,
    thread: Option<JoinHandle<()>>,
}

impl LoneClient {
    /// Connects to the daemon on `socket` from a new thread.
    pub fn connect(socket: &Path) -> anyhow::Result<LoneClient> {
        let socket = socket.to_path_buf();
        let (asks, queue) = mpsc::channel::<(Ask, mpsc::Sender<Answer>)>();
        let (connected, connecting) = mpsc::channel::<anyhow::Result<()>>();
        let thread = std::thread::Builder::new().name("lone-client".into()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(err) => {
                    let _ = connected.send(Err(err.into()));
                    return;
                }
            };
            let client = match runtime.block_on(Client::connect(&socket)) {
                Ok(client) => client,
                Err(err) => {
                    let _ = connected.send(Err(err.into()));
                    return;
                }
            };
            let _ = connected.send(Ok(()));
            let mut stream = None;
            for (ask, reply) in queue {
                let answer = crate::cpu::this_thread().and_then(|before| {
                    let times = runtime.block_on(serve(&client, &mut stream, ask))?;
                    Ok(Answered {
                        times,
                        cpu: crate::cpu::this_thread()? - before,
                    })
                });
                let _ = reply.send(answer);
            }
        })?;
        let lone = LoneClient {
            asks: Some(asks),
            thread: Some(thread),
        };
        connecting.recv().context("the lone client's thread has stopped")??;
        Ok(lone)
    }

    pub fn append(&self, project: &str, from: u64, count: usize) -> Answer {
        self.ask(Ask::Append {
            project: project.to_owned(),
            from,
            count,
            streamed: false,
        })
    }

    /// As [`LoneClient::append`], over the client's `Mutate` stream.
    pub fn append_streamed(&self, project: &str, from: u64, count: usize) -> Answer {
        self.ask(Ask::Append {
            project: project.to_owned(),
            from,
            count,
            streamed: true,
        })
    }

    /// Sends `count` appends over the client's `Mutate` stream without
    /// waiting between them; answers the burst's one duration.
    pub fn append_burst(&self, project: &str, from: u64, count: usize) -> Answer {
        self.ask(Ask::Burst {
            project: project.to_owned(),
            from,
            count,
        })
    }

    pub fn status(&self, count: usize) -> Answer {
        self.ask(Ask::Status { count })
    }

    fn ask(&self, ask: Ask) -> Answer {
        let (reply, answer) = mpsc::channel();
        self.asks
            .as_ref()
            .context("the lone client is closed")?
            .send((ask, reply))
            .ok()
            .context("the lone client's thread has stopped")?;
        answer.recv().context("the lone client's thread has stopped")?
    }
}

impl Drop for LoneClient {
    fn drop(&mut self) {
        self.asks.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(client: &Client, stream: &mut Option<Mutations>, ask: Ask) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::new();
    match ask {
        Ask::Append {
            project,
            from,
            count,
            streamed,
        } => {
            if streamed && stream.is_none() {
                *stream = Some(client.mutations().await?);
            }
            for n in from..from + count as u64 {
                let message = message(n);
                let start = Instant::now();
                match stream.as_mut().filter(|_| streamed) {
                    Some(stream) => stream.append(&project, message, None).await?,
                    None => client.append(&project, message, None).await?,
                };
                times.push(start.elapsed());
            }
        }
        Ask::Burst { project, from, count } => {
            let stream = match stream {
                Some(stream) => stream,
                None => stream.insert(client.mutations().await?),
            };
            let appends: Vec<Mutation> = (from..from + count as u64)
                .map(|n| {
                    Mutation::AppendMessage(AppendMessageRequest {
                        project: project.clone(),
                        message: Some(message(n)),
                        expected_revision: None,
                    })
                })
                .collect();
            let start = Instant::now();
            for answer in stream.send_all(appends).await {
                answer?;
            }
            times.push(start.elapsed());
        }
        Ask::Status { count } => {
            for _ in 0..count {
                let start = Instant::now();
                client.status().await?;
                times.push(start.elapsed());
            }
        }
    }
    Ok(times)
}
