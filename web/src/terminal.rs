//! The terminal's state: a `kplay_core::tools::Shell` session, what it printed (bounded), and
//! the commands typed (for ↑/↓).

use kplay_core::tools::{Mode, Output, Shell};
use kplay_core::Sim;
use std::collections::VecDeque;

/// Lines of output kept; older ones scroll away.
const MAX_LINES: usize = 2_000;
/// Commands kept for ↑/↓.
const MAX_HISTORY: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// What was typed, with its prompt.
    Input,
    Stdout,
    Stderr,
    /// kplay's own remark (the session restarted after a scrub).
    Note,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub kind: LineKind,
    pub text: String,
}

#[derive(Debug, Default)]
pub struct Terminal {
    shell: Shell,
    pub lines: VecDeque<Line>,
    /// Commands typed, oldest first.
    pub history: Vec<String>,
    /// Bumped whenever `lines` changes, so the panel redraws only then.
    pub version: u64,
}

impl Terminal {
    pub fn mode(&self) -> Mode {
        self.shell.mode()
    }

    pub fn busy(&self) -> bool {
        self.shell.busy()
    }

    /// The prompt before what is typed next.
    pub fn prompt(&self) -> &'static str {
        match self.shell.mode() {
            Mode::ProducerInput => ">",
            Mode::Command | Mode::Consuming => "$ ",
        }
    }

    /// Runs a typed line and shows it with what it printed at once.
    pub fn run(&mut self, sim: &mut Sim, line: &str) {
        let prompt = self.prompt();
        self.push(LineKind::Input, &format!("{prompt}{line}"));
        if self.shell.mode() == Mode::Command && !line.trim().is_empty() {
            if self.history.last().map(String::as_str) != Some(line) {
                self.history.push(line.to_string());
            }
            if self.history.len() > MAX_HISTORY {
                self.history.remove(0);
            }
        }
        let out = self.shell.execute(sim, line);
        self.show(out);
    }

    /// Shows what became ready as the simulation ran (controller answers, consumed records).
    pub fn poll(&mut self, sim: &mut Sim) {
        if self.shell.mode() == Mode::Command && !self.shell.busy() {
            return;
        }
        let out = self.shell.poll(sim);
        self.show(out);
    }

    /// Ctrl-C / Ctrl-D.
    pub fn interrupt(&mut self, sim: &mut Sim) {
        let was = self.shell.mode();
        self.push(
            LineKind::Input,
            if was == Mode::ProducerInput {
                "^D"
            } else {
                "^C"
            },
        );
        let out = self.shell.interrupt(sim);
        self.show(out);
    }

    /// The timeline moved back: what the session waited for will not come, so it starts over.
    pub fn restart(&mut self, note: &str) {
        if self.shell.mode() != Mode::Command || self.shell.busy() {
            self.push(LineKind::Note, note);
        }
        self.shell = Shell::new();
    }

    pub fn clear(&mut self) {
        self.lines.clear();
        self.version += 1;
    }

    /// Everything shown, as plain text (the copy button).
    pub fn text(&self) -> String {
        self.lines.iter().map(|l| format!("{}\n", l.text)).collect()
    }

    fn show(&mut self, out: Output) {
        for l in out.stdout.lines() {
            self.push(LineKind::Stdout, l);
        }
        for l in out.stderr.lines() {
            self.push(LineKind::Stderr, l);
        }
    }

    fn push(&mut self, kind: LineKind, text: &str) {
        if self.lines.len() == MAX_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(Line {
            kind,
            text: text.to_string(),
        });
        self.version += 1;
    }
}
