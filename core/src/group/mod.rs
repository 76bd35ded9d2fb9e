//! Consumer groups: which `__consumer_offsets` partition (and so which broker, its leader)
//! coordinates a group, and the partition assignors the group leader runs.

pub mod assignor;
pub mod coordinator;
pub mod records;

/// The internal topic holding committed offsets and group metadata.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Java's `String.hashCode`: `h = 31·h + c` over UTF-16 code units, wrapping at 32 bits.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(unit as i32))
}

/// The `__consumer_offsets` partition holding a group's offsets, whose leader is the group's
/// coordinator: Kafka's `Utils.abs(groupId.hashCode()) % offsets.topic.num.partitions`, where
/// `Utils.abs(Integer.MIN_VALUE)` is 0.
pub fn coordinator_partition(group_id: &str, offsets_topic_partitions: u32) -> u32 {
    assert!(
        offsets_topic_partitions > 0,
        "__consumer_offsets has at least one partition"
    );
    let hash = java_string_hash(group_id);
    let abs = if hash == i32::MIN {
        0
    } else {
        hash.unsigned_abs()
    };
    abs % offsets_topic_partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_code_vectors() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        // A well-known string whose hashCode is Integer.MIN_VALUE.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        // Outside the BMP a character is two UTF-16 units (0xD83D, 0xDE00).
        assert_eq!(java_string_hash("😀"), 0xD83D * 31 + 0xDE00);
    }

    #[test]
    fn coordinator_partition_follows_kafka_utils_abs() {
        assert_eq!(
            coordinator_partition("polygenelubricants", 50),
            0,
            "Utils.abs(MIN_VALUE) = 0"
        );
        assert_eq!(coordinator_partition("hello", 50), 99_162_322 % 50);
        // A negative hash: its absolute value is used.
        let h = java_string_hash("my-consumer-group");
        assert_eq!(
            coordinator_partition("my-consumer-group", 50),
            h.unsigned_abs() % 50
        );
        assert!((0..200).all(|i| coordinator_partition(&format!("group-{i}"), 7) < 7));
    }
}
