//! The Kafka APIs and versions the gateway implements — exactly what `ApiVersions` advertises.
//! A request for anything else gets UNSUPPORTED_VERSION, as Kafka answers it.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};

/// (API, lowest, highest version). The ceilings stop where Kafka switched to topic ids
/// (Fetch 13, Produce 13, DeleteTopics 6), to batched groups (OffsetFetch 8) or to KIP-848 and
/// KIP-890 semantics kplay's brokers do not have.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 11),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 7),
    (ApiKey::FindCoordinator, 0, 4),
    // From 4 a new member is told MEMBER_ID_REQUIRED (KIP-394), as kplay's coordinator does.
    (ApiKey::JoinGroup, 4, 9),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 4),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 5),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::AddPartitionsToTxn, 0, 3),
    (ApiKey::AddOffsetsToTxn, 0, 3),
    (ApiKey::EndTxn, 0, 3),
    (ApiKey::TxnOffsetCommit, 0, 3),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::CreatePartitions, 0, 3),
    // KRaft's quorum; a ZooKeeper-mode cluster answers UNSUPPORTED_VERSION.
    (ApiKey::DescribeQuorum, 0, 2),
];

/// Whether the gateway answers this API at this version.
pub fn supports(api: ApiKey, version: i16) -> bool {
    SUPPORTED
        .iter()
        .any(|&(a, lo, hi)| a == api && (lo..=hi).contains(&version))
}

/// The `ApiVersions` answer. `error` is UNSUPPORTED_VERSION when the client asked with a newer
/// version than we speak (it then retries with one it finds in the list).
pub fn api_versions(error: Option<ResponseError>) -> ApiVersionsResponse {
    let mut response = ApiVersionsResponse::default();
    response.error_code = error.map_or(0, |e| e.code());
    response.api_keys = SUPPORTED
        .iter()
        .map(|&(api, lo, hi)| {
            let mut v = ApiVersion::default();
            v.api_key = api as i16;
            v.min_version = lo;
            v.max_version = hi;
            v
        })
        .collect();
    response
}
