//! Feature levels (KIP-584): what kplay's KRaft nodes support and what a new cluster finalizes,
//! as `kafka-storage.sh format` bootstraps a Kafka 4.1 cluster, limited to what kplay builds.

/// `metadata.version`'s name: its levels stand for releases, printed as Kafka prints them.
pub const METADATA_VERSION: &str = "metadata.version";

/// `MetadataVersion.IBP_4_1_IV1`'s feature level: a new 4.1 cluster's `metadata.version`.
pub const METADATA_VERSION_LEVEL: u16 = 27;

/// `MetadataVersion.IBP_3_3_IV3`: the oldest level 4.x brokers support.
const MINIMUM_METADATA_VERSION_LEVEL: u16 = 7;

/// (feature, lowest, highest level) a node supports (`BrokerFeatures`), in name order. Kafka
/// 4.1 also supports `group.version` 1 (KIP-848) and `transaction.version` 2 (KIP-890);
/// kplay's brokers run the classic group protocol and the first transaction protocol, so
/// they support level 0 only.
pub const SUPPORTED: &[(&str, u16, u16)] = &[
    ("eligible.leader.replicas.version", 0, 1),
    ("group.version", 0, 0),
    ("kraft.version", 0, 1),
    (
        METADATA_VERSION,
        MINIMUM_METADATA_VERSION_LEVEL,
        METADATA_VERSION_LEVEL,
    ),
    ("transaction.version", 0, 0),
];

/// The FeatureLevel records a new metadata log begins with: `metadata.version`, and ELR on as
/// on new 4.1 clusters. (`kraft.version` stays 0 for a static quorum, and it is a control
/// record, not a FeatureLevel.)
pub const BOOTSTRAP: &[(&str, u16)] = &[
    (METADATA_VERSION, METADATA_VERSION_LEVEL),
    ("eligible.leader.replicas.version", 1),
];

/// A level as `kafka-features.sh` prints it: `metadata.version`'s as its release.
pub fn level_text(feature: &str, level: u16) -> String {
    match (feature, level) {
        (METADATA_VERSION, MINIMUM_METADATA_VERSION_LEVEL) => "3.3-IV3".into(),
        (METADATA_VERSION, METADATA_VERSION_LEVEL) => "4.1-IV1".into(),
        (METADATA_VERSION, l) => format!("UNKNOWN {l}"),
        (_, l) => l.to_string(),
    }
}
