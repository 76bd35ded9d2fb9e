//! Where a SCENARIO argument comes from: a JSON file, a lesson name or a share URL.

use kplay_core::scenario::ClusterMode;
use kplay_core::{lessons, share, Scenario};
use std::io::Read;

/// Largest file read (a scenario is validated to 1 MiB of JSON anyway).
const MAX_FILE_BYTES: u64 = 1 << 20;

/// Loads a scenario, in `mode` if one is given (`--mode`).
pub fn load_in(arg: &str, mode: Option<ClusterMode>) -> Result<Scenario, String> {
    let scenario = load(arg)?;
    match mode {
        None => Ok(scenario),
        Some(mode) => scenario
            .with_mode(mode)
            .map_err(|e| format!("{arg} in {} mode: {e}", mode.name())),
    }
}

/// `--mode`'s parser.
pub fn parse_mode(s: &str) -> Result<ClusterMode, String> {
    ClusterMode::parse(s)
}

pub fn load(arg: &str) -> Result<Scenario, String> {
    let path = std::path::Path::new(arg);
    if path.is_file() {
        let text = read_capped(arg)?;
        return Scenario::from_json(&text).map_err(|e| format!("{arg}: {e}"));
    }
    if let Some(scenario) = lessons::get(arg) {
        return Ok(scenario);
    }
    if share::share_string(arg).starts_with("v") && share::share_string(arg).contains('.') {
        return share::decode(arg).map_err(|e| e.to_string());
    }
    Err(format!(
        "'{arg}' is not a scenario file, a lesson name (see `kplay lessons`) or a share URL"
    ))
}

/// Reads a file (or stdin for `-`), refusing anything over 1 MiB.
pub fn read_capped(arg: &str) -> Result<String, String> {
    let mut text = String::new();
    let result = if arg == "-" {
        std::io::stdin()
            .take(MAX_FILE_BYTES + 1)
            .read_to_string(&mut text)
    } else {
        std::fs::File::open(arg).and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_string(&mut text))
    };
    result.map_err(|e| format!("{arg}: {e}"))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(format!("{arg}: larger than {MAX_FILE_BYTES} bytes"));
    }
    Ok(text)
}
