//! `kplay exec` and `kplay shell`: Kafka's own tools ([`kplay_core::tools`]) against a
//! scenario's cluster. A command that sends a change to the controller is answered when the
//! controller answers, so after each command the simulation runs on until nothing waits.

use kplay_core::tools::{Mode, Output, Shell};
use kplay_core::{share, Scenario, Sim, SimTime};
use std::io::{BufRead, Write};

/// The longest a command can wait for its answer: the admin client's 60 s timeout, and a bit.
const SETTLE_MAX_US: u64 = 61_000_000;
const SETTLE_STEP_US: u64 = 10_000;

fn start(scenario: Scenario, at_secs: f64) -> Result<Sim, String> {
    if !(at_secs.is_finite() && (0.0..=30.0 * 86_400.0).contains(&at_secs)) {
        return Err(format!(
            "--at {at_secs} is not a time kplay can run to (0 to 30 days, in seconds)"
        ));
    }
    let mut sim = Sim::new(scenario).map_err(|e| e.to_string())?;
    sim.run_until(SimTime::from_ms((at_secs * 1000.0).round() as u64));
    Ok(sim)
}

/// Runs `line`, then the simulation until the shell has printed everything it waits for. A
/// console consumer still running after 60 simulated seconds is stopped, as Ctrl-C would.
fn execute(shell: &mut Shell, sim: &mut Sim, line: &str) -> Output {
    let mut out = shell.execute(sim, line);
    let deadline = sim.now().plus_us(SETTLE_MAX_US);
    let add = |out: &mut Output, more: Output| {
        out.stdout.push_str(&more.stdout);
        out.stderr.push_str(&more.stderr);
        out.exit_code = out.exit_code.max(more.exit_code);
    };
    while shell.busy() && sim.now() < deadline {
        let next = sim.now().plus_us(SETTLE_STEP_US);
        sim.run_until(next);
        let more = shell.poll(sim);
        add(&mut out, more);
    }
    if shell.mode() == Mode::Consuming {
        let more = shell.interrupt(sim);
        add(&mut out, more);
    }
    out
}

fn print(output: &Output) -> std::io::Result<()> {
    std::io::stdout()
        .lock()
        .write_all(output.stdout.as_bytes())?;
    std::io::stderr().lock().write_all(output.stderr.as_bytes())
}

/// `kplay exec SCENARIO --at SECONDS COMMAND...`: runs to the moment, then each command in
/// turn; the exit code is the worst of theirs.
pub fn exec(scenario: Scenario, at_secs: f64, commands: &[String]) -> Result<i32, String> {
    let mut sim = start(scenario, at_secs)?;
    let mut shell = Shell::new();
    let mut code = 0;
    for command in commands {
        let words: Vec<&str> = command.split_whitespace().collect();
        let out = builtin(&mut shell, &mut sim, &words)
            .unwrap_or_else(|| execute(&mut shell, &mut sim, command));
        print(&out).map_err(|e| e.to_string())?;
        code = code.max(out.exit_code);
    }
    Ok(code)
}

/// The shell's own commands, which move time and look around (`exit` aside); `None` for
/// anything else.
fn builtin(shell: &mut Shell, sim: &mut Sim, words: &[&str]) -> Option<Output> {
    Some(match words {
        ["time"] => Output::out(format!("{:.3} s\n", sim.now().as_secs_f64())),
        ["share"] => Output::out(format!("{}\n", share::encode(sim.scenario()))),
        ["sleep", secs] => match secs.parse::<f64>() {
            Ok(s) if s.is_finite() && (0.0..=86_400.0).contains(&s) => {
                let until = sim.now().plus_us((s * 1e6).round() as u64);
                sim.run_until(until);
                shell.poll(sim)
            }
            _ => Output::error(format!(
                "sleep: '{secs}' is not a number of seconds (0 to 86400)\n"
            )),
        },
        ["sleep", ..] => Output::error("sleep: usage: sleep SECONDS\n"),
        _ => return None,
    })
}

const SHELL_HELP: &str = "kplay shell: Kafka's tools against the simulated cluster (type `help`).
Time stands still between commands; a command that waits (for the controller, or a console
consumer's records) runs the simulation on for up to 60 s. These move time and look around:
  sleep SECONDS   run the simulation on (simulated seconds)
  time            the simulated time now
  share           the share string of everything done so far (kplay url decode reads it)
  exit            leave (also Ctrl-D)";

/// `kplay shell SCENARIO`: one command per line from stdin; the prompt (on stderr) shows the
/// simulated time.
pub fn interactive(scenario: Scenario, at_secs: f64) -> Result<(), String> {
    let mut sim = start(scenario, at_secs)?;
    let mut shell = Shell::new();
    eprintln!("{SHELL_HELP}");
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        match shell.mode() {
            Mode::ProducerInput => eprint!(">"),
            _ => eprint!("[{:.3} s] $ ", sim.now().as_secs_f64()),
        }
        let Some(line) = lines.next() else {
            eprintln!();
            return Ok(());
        };
        let line = line.map_err(|e| e.to_string())?;
        let words: Vec<&str> = line.split_whitespace().collect();
        if shell.mode() == Mode::ProducerInput {
            print(&execute(&mut shell, &mut sim, &line)).map_err(|e| e.to_string())?;
            continue;
        }
        let out = match words.as_slice() {
            [] => continue,
            ["exit" | "quit"] => return Ok(()),
            words => builtin(&mut shell, &mut sim, words)
                .unwrap_or_else(|| execute(&mut shell, &mut sim, &line)),
        };
        print(&out).map_err(|e| e.to_string())?;
    }
}
