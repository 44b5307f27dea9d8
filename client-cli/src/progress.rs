//! A progress line on stderr for long transfers, shown only once one has
//! taken more than a second and only when stderr is a terminal.

use std::{
    io::{self, IsTerminal},
    time::{Duration, Instant},
};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    shown: bool,
    bytes: u64,
}

impl Progress {
    pub fn new() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template("{spinner} exporting… {msg}") {
            bar.set_style(style);
        }
        Progress {
            bar,
            started: Instant::now(),
            shown: false,
            bytes: 0,
        }
    }

    pub fn advance(&mut self, bytes: usize, page: u32, pages: u32) {
        self.bytes += bytes as u64;
        if !self.shown && self.started.elapsed() > Duration::from_secs(1) && io::stderr().is_terminal() {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown = true;
        }
        let mut msg = HumanBytes(self.bytes).to_string();
        if pages > 1 {
            msg.push_str(&format!(", page {page} of {pages}"));
        }
        self.bar.set_message(msg);
        self.bar.tick();
    }

    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
