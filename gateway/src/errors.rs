//! kplay's error codes as Kafka's numbers on the wire.

use kafka_protocol::error::ResponseError as K;
use kplay_core::protocol::ErrorCode as E;

pub fn code(error: Option<E>) -> i16 {
    error.map_or(0, |e| kafka(e).code())
}

pub fn kafka(error: E) -> K {
    match error {
        E::NotLeaderOrFollower => K::NotLeaderOrFollower,
        E::LeaderNotAvailable => K::LeaderNotAvailable,
        E::UnknownTopicOrPartition => K::UnknownTopicOrPartition,
        E::NotEnoughReplicas => K::NotEnoughReplicas,
        E::NotEnoughReplicasAfterAppend => K::NotEnoughReplicasAfterAppend,
        // The producer's own delivery timeout never crosses the wire; a broker says timed out.
        E::RequestTimedOut | E::DeliveryTimeout => K::RequestTimedOut,
        E::NetworkException => K::NetworkException,
        E::OffsetOutOfRange => K::OffsetOutOfRange,
        E::OutOfOrderSequenceNumber => K::OutOfOrderSequenceNumber,
        E::InvalidRecord => K::InvalidRecord,
        E::FencedLeaderEpoch => K::FencedLeaderEpoch,
        E::StaleControllerEpoch => K::StaleControllerEpoch,
        E::NotController => K::NotController,
        E::TopicAlreadyExists => K::TopicAlreadyExists,
        E::InvalidReplicationFactor => K::InvalidReplicationFactor,
        E::InvalidPartitions => K::InvalidPartitions,
        E::InvalidTopicException => K::InvalidTopicException,
        E::CoordinatorNotAvailable => K::CoordinatorNotAvailable,
        E::NotCoordinator => K::NotCoordinator,
        E::CoordinatorLoadInProgress => K::CoordinatorLoadInProgress,
        E::IllegalGeneration => K::IllegalGeneration,
        E::UnknownMemberId => K::UnknownMemberId,
        E::RebalanceInProgress => K::RebalanceInProgress,
        E::MemberIdRequired => K::MemberIdRequired,
        E::InconsistentGroupProtocol => K::InconsistentGroupProtocol,
        E::InvalidSessionTimeout => K::InvalidSessionTimeout,
        E::FencedInstanceId => K::FencedInstanceId,
        E::GroupMaxSizeReached => K::GroupMaxSizeReached,
        E::ProducerFenced => K::ProducerFenced,
        E::InvalidProducerEpoch => K::InvalidProducerEpoch,
        E::InvalidProducerIdMapping => K::InvalidProducerIdMapping,
        E::InvalidTxnState => K::InvalidTxnState,
        E::ConcurrentTransactions => K::ConcurrentTransactions,
        E::UnstableOffsetCommit => K::UnstableOffsetCommit,
        E::ElectionNotNeeded => K::ElectionNotNeeded,
        E::PreferredLeaderNotAvailable => K::PreferredLeaderNotAvailable,
        E::EligibleLeadersNotAvailable => K::EligibleLeadersNotAvailable,
        E::FetchSessionIdNotFound => K::FetchSessionIdNotFound,
        E::InvalidFetchSessionEpoch => K::InvalidFetchSessionEpoch,
        E::DuplicateBrokerRegistration => K::DuplicateBrokerRegistration,
        E::StaleBrokerEpoch => K::StaleBrokerEpoch,
        E::IneligibleReplica => K::IneligibleReplica,
    }
}
