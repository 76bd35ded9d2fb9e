//! `kplay serve`: checks the command line, then hands the cluster to the gateway's server.

use kplay_core::{Scenario, Sim};
use kplay_gateway::{serve, ServeConfig};
use std::time::Duration;

/// Kafka's `connections.max.idle.ms`.
const IDLE: Duration = Duration::from_secs(600);
/// Requests a connection may pipeline unanswered (clients send at most 5 by default).
const MAX_IN_FLIGHT: usize = 64;

pub fn run(
    scenario: Scenario,
    listen: &str,
    max_request_bytes: usize,
    commands: bool,
) -> Result<(), String> {
    let (host, port) = listen
        .rsplit_once(':')
        .ok_or_else(|| format!("--listen {listen}: expected HOST:PORT, e.g. 127.0.0.1:9092"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("--listen {listen}: '{port}' is not a port (1 to 65535)"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || port == 0 {
        return Err(format!(
            "--listen {listen}: expected HOST:PORT, e.g. 127.0.0.1:9092"
        ));
    }
    if matches!(host, "0.0.0.0" | "::") {
        return Err(format!(
            "--listen {listen}: brokers advertise this address to clients; give one they can \
             reach (e.g. this machine's name or IP)"
        ));
    }
    let brokers = scenario.cluster.brokers;
    if u32::from(port) + brokers - 1 > u32::from(u16::MAX) {
        return Err(format!(
            "--listen {listen}: {brokers} brokers need ports {port} to {}, past 65535",
            u32::from(port) + brokers - 1
        ));
    }
    if !(1024..=1 << 30).contains(&max_request_bytes) {
        return Err(format!(
            "--max-request-bytes {max_request_bytes}: expected 1024 to 1073741824"
        ));
    }
    let sim = Sim::new(scenario).map_err(|e| e.to_string())?;
    let config = ServeConfig {
        host: host.to_string(),
        base_port: port,
        max_request_bytes,
        idle_timeout: IDLE,
        max_in_flight: MAX_IN_FLIGHT,
        commands,
    };
    serve(sim, config).map_err(|e| format!("kplay serve: {e}"))
}
