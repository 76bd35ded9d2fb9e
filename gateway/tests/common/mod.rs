//! A gateway over a small cluster, driven without sockets, and a client that talks to it.

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use kplay_core::scenario::ClusterMode;
use kplay_core::{Scenario, Sim};
use kplay_gateway::frame::{decode_request, decode_response, encode_request, Decoded};
use kplay_gateway::records::Clock;
use kplay_gateway::{warm_up, Addresses, Gateway, Output};

pub const CLOCK: Clock = Clock {
    unix_ms_at_zero: 1_700_000_000_000,
};

pub fn gateway() -> Gateway {
    gateway_in(ClusterMode::ZooKeeper)
}

/// The same cluster in ZooKeeper or KRaft mode.
pub fn gateway_in(mode: ClusterMode) -> Gateway {
    let scenario: Scenario = serde_json::from_str::<Scenario>(
        r#"{"cluster": {"brokers": 3, "zookeepers": 3},
            "topics": [{"name": "orders", "partitions": 3, "replication_factor": 3}]}"#,
    )
    .unwrap()
    .with_mode(mode)
    .unwrap();
    let mut sim = Sim::new(scenario).unwrap();
    warm_up(&mut sim);
    let addresses = Addresses {
        host: "127.0.0.1".into(),
        base_port: 9092,
    };
    Gateway::new(sim, addresses, CLOCK, 1 << 20)
}

/// Hands a frame (size included) to the gateway as the server would.
pub fn send_frame(gw: &mut Gateway, client: u32, frame: &Bytes) -> Option<String> {
    match decode_request(frame.slice(4..)) {
        Decoded::Request(r) => {
            gw.request(client, *r);
            None
        }
        Decoded::Answer(_) => None,
        Decoded::Close(reason) => Some(reason),
    }
}

/// Runs the cluster a millisecond at a time until `client` has `n` responses (at most 30 s).
pub fn responses(gw: &mut Gateway, client: u32, n: usize) -> Vec<Bytes> {
    let mut got = Vec::new();
    let deadline = gw.sim().now().plus_us(30_000_000);
    loop {
        for out in gw.take_outputs() {
            if let Output::Send { client: c, frame } = out {
                if c == client {
                    got.push(frame);
                }
            }
        }
        if got.len() >= n || gw.sim().now() >= deadline {
            return got;
        }
        let next = gw.sim().now().plus_us(1_000);
        gw.advance(next);
    }
}

/// One request and its response.
pub fn call(
    gw: &mut Gateway,
    client: u32,
    api: ApiKey,
    version: i16,
    body: RequestKind,
) -> ResponseKind {
    let frame = encode_request(7, api, version, &body);
    assert_eq!(send_frame(gw, client, &frame), None);
    let frames = responses(gw, client, 1);
    let frame = frames.first().expect("a response within 30 s");
    let (correlation, response) = decode_response(frame.slice(4..), api, version).unwrap();
    assert_eq!(correlation, 7);
    response
}
