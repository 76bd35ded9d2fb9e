//! The wasm side of the benchmarks both targets run: one Node process running
//! `bench/wasm.mjs`, asked for one run at a time so that its runs alternate with the native
//! ones. This virtual machine's speed swings by a third within minutes; run minutes apart, a
//! slow spell on one side alone moved wasm / native by as much. Alternated, each wasm run
//! has a native one seconds before it.

use kplay_bench::Size;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

pub struct WasmNode {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl WasmNode {
    /// Starts `node SCRIPT`.
    pub fn start(script: &str) -> Result<WasmNode, String> {
        let mut child = Command::new("node")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start `node {script}`: {e}"))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("node's stdin and stdout are not piped".into());
        };
        Ok(WasmNode {
            child,
            stdin,
            stdout: BufReader::new(stdout),
        })
    }

    /// One run of `name` at `size` in wasm, as that run's JSON.
    pub fn run(&mut self, name: &str, size: Size) -> Result<Value, String> {
        writeln!(self.stdin, "{name} {}", size.name())
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("could not ask node for {name}: {e}"))?;
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => return Err(format!("node exited during {name}")),
            Err(e) => return Err(format!("no answer from node for {name}: {e}")),
            Ok(_) => {}
        }
        let answer: Value = serde_json::from_str(&line)
            .map_err(|e| format!("node's answer for {name} is not JSON ({e}): {line}"))?;
        match answer.get("error") {
            Some(error) => Err(format!("wasm {name}: {error}")),
            None => Ok(answer),
        }
    }
}

impl Drop for WasmNode {
    fn drop(&mut self) {
        // Closing stdin ends the script's loop; kill in case it is stuck in a run.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
