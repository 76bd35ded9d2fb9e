//! Running the `kplay` binary as a user would.
#![allow(dead_code)]

use std::process::Command;

/// Exit code, stdout and stderr of `kplay ARGS`.
pub fn kplay(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kplay"))
        .args(args)
        .output()
        .expect("kplay runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Writes a file in this test process's temp directory and returns its path.
pub fn temp(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("kplay-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.to_string_lossy().into()
}
