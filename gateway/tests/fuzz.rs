//! Random, truncated and corrupted frames: each gets an answer or a closed connection with a
//! reason, never a panic, and the gateway keeps serving other clients.

mod common;

use bytes::Bytes;
use common::*;
use kafka_protocol::messages::{ApiKey, RequestKind};
use kplay_core::rng::Rng;
use kplay_core::BrokerId;
use kplay_gateway::frame::{decode_request, encode_request, Decoded};
use kplay_gateway::versions::SUPPORTED;

/// Every supported request, default-valued, at every supported version.
fn valid_frames() -> Vec<Bytes> {
    let mut out = Vec::new();
    for &(api, lo, hi) in SUPPORTED {
        for version in lo..=hi {
            if let Some(body) = default_request(api) {
                out.push(encode_request(1, api, version, &body).slice(4..));
            }
        }
    }
    out
}

fn default_request(api: ApiKey) -> Option<RequestKind> {
    use kafka_protocol::messages::*;
    Some(match api {
        ApiKey::Produce => RequestKind::Produce(Default::default()),
        ApiKey::Fetch => RequestKind::Fetch(Default::default()),
        ApiKey::ListOffsets => RequestKind::ListOffsets(Default::default()),
        ApiKey::Metadata => RequestKind::Metadata(Default::default()),
        ApiKey::OffsetCommit => RequestKind::OffsetCommit(Default::default()),
        ApiKey::OffsetFetch => RequestKind::OffsetFetch(Default::default()),
        ApiKey::FindCoordinator => RequestKind::FindCoordinator(Default::default()),
        ApiKey::JoinGroup => RequestKind::JoinGroup(Default::default()),
        ApiKey::Heartbeat => RequestKind::Heartbeat(Default::default()),
        ApiKey::LeaveGroup => RequestKind::LeaveGroup(Default::default()),
        ApiKey::SyncGroup => RequestKind::SyncGroup(Default::default()),
        ApiKey::DescribeGroups => RequestKind::DescribeGroups(Default::default()),
        ApiKey::ListGroups => RequestKind::ListGroups(Default::default()),
        ApiKey::ApiVersions => RequestKind::ApiVersions(Default::default()),
        ApiKey::CreateTopics => RequestKind::CreateTopics(Default::default()),
        ApiKey::DeleteTopics => RequestKind::DeleteTopics(Default::default()),
        ApiKey::InitProducerId => RequestKind::InitProducerId(Default::default()),
        ApiKey::AddPartitionsToTxn => RequestKind::AddPartitionsToTxn(Default::default()),
        ApiKey::AddOffsetsToTxn => RequestKind::AddOffsetsToTxn(Default::default()),
        ApiKey::EndTxn => RequestKind::EndTxn(Default::default()),
        ApiKey::TxnOffsetCommit => RequestKind::TxnOffsetCommit(Default::default()),
        ApiKey::DescribeConfigs => RequestKind::DescribeConfigs(Default::default()),
        ApiKey::CreatePartitions => RequestKind::CreatePartitions(Default::default()),
        ApiKey::DescribeQuorum => RequestKind::DescribeQuorum(Default::default()),
        _ => return None,
    })
}

fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut f = base.to_vec();
    match rng.below(4) {
        // Truncated anywhere.
        0 => f.truncate(rng.below(f.len() as u64 + 1) as usize),
        // A few bytes flipped, past the header's API key and version half the time.
        1 => {
            for _ in 0..=rng.below(4) {
                if !f.is_empty() {
                    let at = rng.below(f.len() as u64) as usize;
                    f[at] = rng.next_u64() as u8;
                }
            }
        }
        // A length or count somewhere set to a huge value.
        2 => {
            if f.len() > 12 {
                let at = 8 + rng.below(f.len() as u64 - 12) as usize;
                f[at..at + 4].copy_from_slice(&[0x7f, 0xff, 0xff, 0xff]);
            }
        }
        // Random bytes after a valid header.
        _ => {
            f.truncate(8.min(f.len()));
            f.extend((0..rng.below(64)).map(|_| rng.next_u64() as u8));
        }
    }
    f
}

#[test]
fn random_truncated_and_corrupted_frames_never_panic_the_gateway() {
    let mut gw = gateway();
    let valid = valid_frames();
    assert!(valid.len() > 100, "{} valid frames", valid.len());
    let mut rng = Rng::new(42);
    let (mut closed, mut decoded, mut answered) = (0, 0, 0);
    let mut client = gw.connect(BrokerId(1)).unwrap();
    for i in 0..20_000u32 {
        let frame: Vec<u8> = if i % 5 == 0 {
            (0..rng.below(48)).map(|_| rng.next_u64() as u8).collect()
        } else {
            let base = &valid[rng.below(valid.len() as u64) as usize];
            mutate(&mut rng, base)
        };
        match decode_request(Bytes::from(frame)) {
            Decoded::Request(r) => {
                decoded += 1;
                gw.request(client, *r);
            }
            Decoded::Answer(_) => answered += 1,
            Decoded::Close(reason) => {
                assert!(!reason.is_empty());
                closed += 1;
                gw.disconnect(client);
                client = gw.connect(BrokerId(1 + i % 3)).unwrap();
            }
        }
        if i % 100 == 0 {
            let next = gw.sim().now().plus_us(5_000);
            gw.advance(next);
            gw.take_outputs();
        }
    }
    assert!(
        closed > 1_000 && decoded > 1_000,
        "closed {closed}, decoded {decoded}, answered {answered}"
    );
    // After all that, a well-behaved client is still served.
    let fresh = gw.connect(BrokerId(2)).unwrap();
    let metadata = RequestKind::Metadata(Default::default());
    let response = call(&mut gw, fresh, ApiKey::Metadata, 12, metadata);
    assert!(
        matches!(response, kafka_protocol::messages::ResponseKind::Metadata(m) if m.brokers.len() == 3)
    );
}
