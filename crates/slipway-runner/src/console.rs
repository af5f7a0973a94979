//! The human view of a run on stderr: one line per job start and end, the full output of a
//! failing step, and — on a terminal — a status line of the running jobs and their elapsed
//! time, redrawn in place.

use indexmap::IndexMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct Console {
    /// Off for `--json`: stdout carries events and stderr stays quiet.
    enabled: bool,
    live: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    running: IndexMap<String, Instant>,
    status_shown: bool,
}

/// How often the status line is redrawn.
pub const TICK: Duration = Duration::from_millis(250);

impl Console {
    pub fn new(enabled: bool) -> Console {
        Console {
            enabled,
            live: enabled
                && std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none(),
            state: Mutex::new(State::default()),
        }
    }

    pub fn is_live(&self) -> bool {
        self.live
    }

    /// Prints lines above the status line.
    pub fn print(&self, lines: &[String]) {
        if !self.enabled {
            return;
        }
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let mut err = std::io::stderr().lock();
        if state.status_shown {
            let _ = write!(err, "\r\x1b[2K");
            state.status_shown = false;
        }
        for line in lines {
            let _ = writeln!(err, "{line}");
        }
        if self.live {
            draw(&mut state, &mut err);
        }
    }

    pub fn started(&self, job: &str) {
        if let Ok(mut state) = self.state.lock() {
            state.running.insert(job.to_string(), Instant::now());
        }
    }

    pub fn ended(&self, job: &str) {
        if let Ok(mut state) = self.state.lock() {
            state.running.shift_remove(job);
        }
    }

    /// Redraws the status line (terminal only).
    pub fn tick(&self) {
        if !self.live {
            return;
        }
        if let Ok(mut state) = self.state.lock() {
            draw(&mut state, &mut std::io::stderr().lock());
        }
    }

    /// Removes the status line for good.
    pub fn clear(&self) {
        if let Ok(mut state) = self.state.lock()
            && state.status_shown
        {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
            state.status_shown = false;
        }
    }
}

fn draw(state: &mut State, err: &mut impl Write) {
    if state.running.is_empty() {
        if state.status_shown {
            let _ = write!(err, "\r\x1b[2K");
            state.status_shown = false;
        }
        return;
    }
    let jobs: Vec<String> = state
        .running
        .iter()
        .map(|(job, since)| format!("{job} {}s", since.elapsed().as_secs()))
        .collect();
    let mut line = format!("  … running: {}", jobs.join(", "));
    if line.chars().count() > 120 {
        line = line.chars().take(117).collect::<String>() + "...";
    }
    let _ = write!(err, "\r\x1b[2K{line}");
    let _ = err.flush();
    state.status_shown = true;
}
