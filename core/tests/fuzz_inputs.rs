//! Bad input, fuzz style: random bytes, mutated and truncated share URLs and scenario files,
//! oversized inputs, deflate bombs, deeply nested and huge JSON, fed to the share-URL decoder
//! and the scenario loader (and, when a scenario loads, to `Sim::new`). Every input must be
//! answered — a scenario or a typed error — without a panic and within a memory bound.
//!
//! KPLAY_FUZZ_INPUTS sets how many (default 3,000 for `make test`; `make check-deep` runs
//! 100,000 in the release build). The figures print with `--nocapture`.

// The figures print for the log of `make check-deep`.
#![allow(clippy::print_stdout)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kplay_core::rng::Rng;
use kplay_core::{lessons, share, Scenario, Sim};

/// The process's peak resident memory since the last reset, in bytes (Linux).
fn peak_rss() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resets the peak to the current resident memory (Linux: `clear_refs` 5).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// What one input may add to the process's resident memory: the decoder holds at most the
/// 32 KB string, the 256 KB inflated JSON and its parse; a scenario file is capped at 1 MB;
/// `Sim::new` on the largest valid scenario builds its cluster.
const MEMORY_BOUND: usize = 64 << 20;

fn deflated(bytes: &[u8]) -> String {
    let z = miniz_oxide::deflate::compress_to_vec(bytes, 1);
    format!("v1.{}", URL_SAFE_NO_PAD.encode(z))
}

fn nested(depth: usize, open: &str, close: &str) -> String {
    format!("{}{}", open.repeat(depth), close.repeat(depth))
}

/// The inputs: a mix of kinds, from `rng`.
struct Inputs {
    rng: Rng,
    urls: Vec<String>,
    jsons: Vec<String>,
    bombs: Vec<String>,
}

impl Inputs {
    fn new() -> Inputs {
        let jsons: Vec<String> = lessons::LESSONS
            .iter()
            .map(|(_, j)| j.to_string())
            .collect();
        let urls = jsons
            .iter()
            .map(|j| share::encode(&Scenario::from_json(j).expect("lesson")))
            .collect();
        // Deflate bombs: 10–25 KB that inflate to 10 and 20 MB (zeros, spaces, and a JSON
        // array that would be valid if it fit); a URL holds at most 32 KB.
        let mut bombs = vec![
            deflated(&vec![0u8; 10 << 20]),
            deflated(&vec![b' '; 20 << 20]),
        ];
        let mut array = b"{\"topics\":[".to_vec();
        array.extend(b"{\"name\":\"t\"},".repeat(1 << 20));
        bombs.push(deflated(&array));
        Inputs {
            rng: Rng::new(0x5eed),
            urls,
            jsons,
            bombs,
        }
    }

    fn pick<'a>(&mut self, from: &'a [String]) -> &'a str {
        &from[self.rng.below(from.len() as u64) as usize]
    }

    fn random_bytes(&mut self, max: u64) -> Vec<u8> {
        let n = self.rng.below(max);
        (0..n).map(|_| self.rng.below(256) as u8).collect()
    }

    /// A few random edits: replace, insert or delete bytes.
    fn mutate(&mut self, text: &str) -> String {
        let mut bytes = text.as_bytes().to_vec();
        for _ in 0..1 + self.rng.below(8) {
            let at = self.rng.below(bytes.len() as u64 + 1) as usize;
            let byte = match self.rng.below(3) {
                0 => self.rng.below(256) as u8,
                1 => b"{}[]\",:0-9.eE\\/#=&"[self.rng.below(18) as usize],
                _ => b"ABCxyz019-_"[self.rng.below(11) as usize],
            };
            match self.rng.below(3) {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => {}
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The next input, and whether it is a share URL (else a scenario file's text).
    fn next(&mut self, i: u64) -> (String, bool) {
        match i % 12 {
            0 => (
                String::from_utf8_lossy(&self.random_bytes(400)).into_owned(),
                true,
            ),
            1 => (
                String::from_utf8_lossy(&self.random_bytes(4_000)).into_owned(),
                false,
            ),
            2 => {
                let url = self.pick(&self.urls.clone()).to_string();
                let url = match self.rng.below(3) {
                    0 => format!("https://kplay.example/#s={url}&t=1500"),
                    1 => format!("s={url}"),
                    _ => url,
                };
                (self.mutate(&url), true)
            }
            3 => {
                let json = self.pick(&self.jsons.clone()).to_string();
                (self.mutate(&json), false)
            }
            4 => {
                let url = self.pick(&self.urls.clone()).to_string();
                let cut = self.rng.below(url.len() as u64) as usize;
                (url[..cut].to_string(), true)
            }
            5 => {
                let json = self.pick(&self.jsons.clone()).to_string();
                let cut = self.rng.below(json.len() as u64) as usize;
                (
                    String::from_utf8_lossy(&json.as_bytes()[..cut]).into_owned(),
                    false,
                )
            }
            6 => {
                // Valid transport, mutated JSON inside: reaches the scenario validation.
                let json = self.pick(&self.jsons.clone()).to_string();
                (deflated(self.mutate(&json).as_bytes()), true)
            }
            7 => {
                let bomb = self.pick(&self.bombs.clone()).to_string();
                let cut = bomb.len() - self.rng.below(bomb.len() as u64 / 2) as usize;
                (bomb[..cut].to_string(), true)
            }
            8 => {
                let depth = 1 + self.rng.below(200_000) as usize;
                let json = match self.rng.below(3) {
                    0 => nested(depth, "[", "]"),
                    1 => nested(depth, "{\"topics\":", "}"),
                    _ => format!("{{\"lesson\":{}}}", nested(depth, "{\"steps\":[", "]}")),
                };
                if self.rng.chance(0.5) {
                    (deflated(json.as_bytes()), true)
                } else {
                    (json, false)
                }
            }
            9 => {
                // Huge: many elements, long strings, big numbers, past and just under limits.
                let n = self.rng.below(200_000) as usize;
                let json = match self.rng.below(4) {
                    0 => format!(
                        "{{\"topics\":[{}]}}",
                        vec!["{\"name\":\"t\",\"partitions\":1}"; n.max(1)].join(",")
                    ),
                    1 => format!("{{\"name\":\"{}\"}}", "x".repeat(n * 8)),
                    2 => format!(
                        "{{\"duration_ms\":{n}{},\"seed\":-1e999}}",
                        "9".repeat(self.rng.below(400) as usize)
                    ),
                    _ => format!(
                        "{{\"actions\":[{}]}}",
                        vec!["{\"at_ms\":1,\"action\":\"heal_all_links\"}"; n.max(1)].join(",")
                    ),
                };
                if self.rng.chance(0.5) {
                    (deflated(json.as_bytes()), true)
                } else {
                    (json, false)
                }
            }
            10 => {
                // Oversized share strings: past the 32 KB cap.
                let n = share::MAX_ENCODED_CHARS + self.rng.below(100_000) as usize;
                (format!("v1.{}", "A".repeat(n)), true)
            }
            _ => {
                // Random bytes, deflated: valid transport, garbage inside.
                let bytes = self.random_bytes(2_000);
                (deflated(&bytes), true)
            }
        }
    }
}

#[test]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // wall time is reported, not simulated
fn random_mutated_truncated_oversized_and_nested_inputs_get_answers_within_bounds() {
    let inputs: u64 = std::env::var("KPLAY_FUZZ_INPUTS")
        .map(|v| v.parse().expect("KPLAY_FUZZ_INPUTS is a count"))
        .unwrap_or(3_000);
    let mut gen = Inputs::new();
    let (mut ok, mut refused, mut peak_max, mut slowest) = (0u64, 0u64, 0usize, (0u128, 0u64));
    let mut errors = kplay_core::vec_map::VecMap::<String, u64>::new();
    for i in 0..inputs {
        let (input, is_url) = gen.next(i);
        let measured = reset_peak_rss();
        let base = peak_rss().unwrap_or(0);
        let started = std::time::Instant::now();
        let result = if is_url {
            share::decode(&input).map_err(|e| e.to_string())
        } else {
            Scenario::from_json(&input).map_err(|e| e.to_string())
        };
        match result.and_then(|s| Sim::new(s).map_err(|e| e.to_string())) {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(!e.is_empty(), "an error says what was wrong");
                refused += 1;
                let kind: String = e
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic() || matches!(c, ' ' | '_' | '.'))
                    .take(40)
                    .collect();
                *errors.entry(kind).or_default() += 1;
            }
        }
        let micros = started.elapsed().as_micros();
        if micros > slowest.0 {
            slowest = (micros, i);
        }
        let used = if measured {
            peak_rss().unwrap_or(0).saturating_sub(base)
        } else {
            0
        };
        peak_max = peak_max.max(used);
        assert!(
            used <= MEMORY_BOUND,
            "input {i} ({} bytes) used {used} bytes",
            input.len()
        );
    }
    println!(
        "fuzz: {inputs} inputs, {ok} loaded, {refused} refused, most resident memory one input \
         added {:.1} MB, slowest input #{} took {:.1} ms",
        peak_max as f64 / 1e6,
        slowest.1,
        slowest.0 as f64 / 1e3
    );
    for (kind, n) in &errors {
        println!("  {n:>7}  {kind}");
    }
    assert_eq!(ok + refused, inputs);
    // Mutations that land inside a string value still load; most inputs are refused.
    assert!(
        ok > 0 && refused > inputs / 2,
        "{ok} loaded, {refused} refused"
    );
}
