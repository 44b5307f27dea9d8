//! Who is using the daemon right now: the time of the last call or
//! connection, the streams still open (`Watch`, exports), and which
//! projects clients have open. Handlers and the server record; the idle
//! exit and the file watcher read. Nothing here decides anything about
//! sessions — it only remembers who came by, and when.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use tokio::sync::Notify;

/// A shared record of client activity; cheap to clone.
#[derive(Clone, Debug)]
pub struct Activity {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// How long after its last call a project still counts as open.
    window: Duration,
    state: Mutex<State>,
    /// Woken when a project becomes open, so the watcher starts at once
    /// instead of at its next tick.
    opened: Notify,
}

#[derive(Debug)]
struct State {
    last_call: Instant,
    /// Open streams of any kind; the daemon is never idle while one runs.
    streams: usize,
    projects: HashMap<String, ProjectUse>,
}

#[derive(Debug, Default)]
struct ProjectUse {
    last_touch: Option<Instant>,
    /// `Watch` streams on exactly this project.
    streams: usize,
}

impl ProjectUse {
    fn is_open(&self, now: Instant, window: Duration) -> bool {
        self.streams > 0 || self.last_touch.is_some_and(|t| now.duration_since(t) < window)
    }
}

/// Keeps a stream counted as open until it is dropped.
#[derive(Debug)]
pub struct StreamGuard {
    activity: Activity,
    project: Option<String>,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let mut state = self.activity.lock();
        state.streams = state.streams.saturating_sub(1);
        state.last_call = Instant::now();
        if let Some(project) = &self.project
            && let Some(usage) = state.projects.get_mut(project)
        {
            usage.streams = usage.streams.saturating_sub(1);
        }
    }
}

impl Activity {
    /// A record in which a project stays open `window` after its last call.
    pub fn new(window: Duration) -> Self {
        Activity {
            shared: Arc::new(Shared {
                window,
                state: Mutex::new(State {
                    last_call: Instant::now(),
                    streams: 0,
                    projects: HashMap::new(),
                }),
                opened: Notify::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a few counters: whatever a panicking holder left is
        // still usable.
        self.shared.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A connection was accepted or a call arrived.
    pub fn call(&self) {
        self.lock().last_call = Instant::now();
    }

    /// A call about `project` succeeded (the path is normalised).
    pub fn touch(&self, project: &str) {
        let now = Instant::now();
        let window = self.shared.window;
        let newly_open = {
            let mut state = self.lock();
            state.last_call = now;
            let usage = state.projects.entry(project.to_owned()).or_default();
            let was_open = usage.is_open(now, window);
            usage.last_touch = Some(now);
            !was_open && usage.is_open(now, window)
        };
        if newly_open {
            self.shared.opened.notify_one();
        }
    }

    /// Counts a stream as open until the guard is dropped; a stream on one
    /// project also keeps that project open.
    pub fn stream(&self, project: Option<&str>) -> StreamGuard {
        let now = Instant::now();
        let newly_open = {
            let mut state = self.lock();
            state.streams += 1;
            state.last_call = now;
            match project {
                Some(project) => {
                    let usage = state.projects.entry(project.to_owned()).or_default();
                    usage.streams += 1;
                    usage.streams == 1
                        && usage
                            .last_touch
                            .is_none_or(|t| now.duration_since(t) >= self.shared.window)
                }
                None => false,
            }
        };
        if newly_open {
            self.shared.opened.notify_one();
        }
        StreamGuard {
            activity: self.clone(),
            project: project.map(str::to_owned),
        }
    }

    /// How long nothing has happened, or `None` while a stream is open.
    pub fn idle_for(&self) -> Option<Duration> {
        let state = self.lock();
        (state.streams == 0).then(|| state.last_call.elapsed())
    }

    /// The projects some client has open now, sorted; forgets the others.
    pub fn open_projects(&self) -> Vec<String> {
        let now = Instant::now();
        let window = self.shared.window;
        let mut state = self.lock();
        state.projects.retain(|_, usage| usage.is_open(now, window));
        let mut open: Vec<String> = state.projects.keys().cloned().collect();
        open.sort();
        open
    }

    /// Completes when a project has become open since the last call.
    pub async fn opened(&self) {
        self.shared.opened.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_touched_project_is_open_for_the_window() {
        let activity = Activity::new(Duration::from_millis(50));
        activity.touch("/p");
        assert_eq!(activity.open_projects(), ["/p"]);
        std::thread::sleep(Duration::from_millis(80));
        assert!(activity.open_projects().is_empty(), "closed after the window");
    }

    #[test]
    fn a_watch_stream_keeps_its_project_open_and_the_daemon_busy() {
        let activity = Activity::new(Duration::ZERO);
        let guard = activity.stream(Some("/p"));
        assert_eq!(activity.open_projects(), ["/p"]);
        assert_eq!(activity.idle_for(), None, "a stream is activity");
        drop(guard);
        assert!(activity.open_projects().is_empty());
        assert!(activity.idle_for().is_some());
    }

    #[test]
    fn a_stream_on_every_project_opens_none() {
        let activity = Activity::new(Duration::ZERO);
        let _guard = activity.stream(None);
        assert!(activity.open_projects().is_empty());
        assert_eq!(activity.idle_for(), None);
    }

    #[tokio::test]
    async fn opening_a_project_wakes_the_watcher() {
        let activity = Activity::new(Duration::from_secs(60));
        activity.touch("/p");
        tokio::time::timeout(Duration::from_secs(1), activity.opened())
            .await
            .expect("woken by the first touch");
    }
}
