//! Which partition a record goes to: Kafka's `BuiltInPartitioner` and `Utils.murmur2`, bit for
//! bit, so a key lands where the Java client would put it.

use crate::config::NullKeyPartitioner;
use crate::rng::Rng;

/// Kafka's `Utils.murmur2`: MurmurHash2 with seed `0x9747b28c`, little-endian 4-byte blocks.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = SEED ^ data.len() as u32;
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = blocks.remainder();
    // Java's switch falls through: 3 mixes bytes 2, 1, 0; 2 mixes 1, 0; 1 mixes 0.
    if tail.len() >= 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition for a keyed record: `toPositive(murmur2(key)) % numPartitions`.
pub fn partition_for_key(key: &[u8], num_partitions: u32) -> u32 {
    assert!(num_partitions > 0, "a topic has at least one partition");
    (murmur2(key) as u32 & 0x7fff_ffff) % num_partitions
}

/// The producer's choice for records without a key.
#[derive(Clone, Debug)]
pub enum NullKeyChooser {
    /// Pre-2.4 `DefaultPartitioner`: a counter, one record per partition in turn.
    RoundRobin { counter: u32 },
    /// Kafka 3.3+ `BuiltInPartitioner` (KIP-794): one partition until `batch.size` bytes went
    /// to it, then another, drawn with weights that favour partitions with shorter queues
    /// (`partitioner.adaptive.partitioning.enable`, on by default).
    Sticky {
        current: Option<u32>,
        produced_bytes: u64,
    },
}

impl NullKeyChooser {
    pub fn new(kind: NullKeyPartitioner, rng: &mut Rng) -> NullKeyChooser {
        match kind {
            // Kafka starts the counter at a random value so producers do not march in step.
            NullKeyPartitioner::RoundRobin => NullKeyChooser::RoundRobin {
                counter: rng.below(1 << 16) as u32,
            },
            NullKeyPartitioner::Sticky => NullKeyChooser::Sticky {
                current: None,
                produced_bytes: 0,
            },
        }
    }

    /// Picks a partition among `available` (partitions with a leader), or among all
    /// `num_partitions` when none is available, as Kafka does. `queued` is how many batches
    /// wait in the producer for a partition, for the sticky choice's weights.
    pub fn choose(
        &mut self,
        num_partitions: u32,
        available: &[u32],
        queued: impl Fn(u32) -> usize,
        rng: &mut Rng,
    ) -> u32 {
        let pick_from = |index: u64| -> u32 {
            if available.is_empty() {
                (index % num_partitions as u64) as u32
            } else {
                available[(index % available.len() as u64) as usize]
            }
        };
        match self {
            NullKeyChooser::RoundRobin { counter } => {
                let p = pick_from(*counter as u64);
                *counter = counter.wrapping_add(1);
                p
            }
            NullKeyChooser::Sticky { current, .. } => match current {
                Some(p) if *p < num_partitions => *p,
                _ => {
                    let p = if available.is_empty() {
                        pick_from(rng.next_u64())
                    } else {
                        adaptive_pick(available, &queued, rng)
                    };
                    *current = Some(p);
                    p
                }
            },
        }
    }

    /// Whether records without a key go where the last one did, so a run of them can be
    /// appended at once (until [`NullKeyChooser::on_append`] says to switch).
    pub fn is_sticky(&self) -> bool {
        matches!(self, NullKeyChooser::Sticky { .. })
    }

    /// `bytes` were appended to the sticky partition. Kafka's `updatePartitionInfo`: switch
    /// once `batch_size` bytes went to it and its last batch is full (or sent), or after twice
    /// that whatever the batch. Returns whether it switched (the next choice draws anew).
    pub fn on_append(&mut self, bytes: u64, last_batch_full: bool, batch_size: u64) -> bool {
        let NullKeyChooser::Sticky {
            current,
            produced_bytes,
        } = self
        else {
            return false;
        };
        *produced_bytes += bytes;
        let switch =
            (*produced_bytes >= batch_size && last_batch_full) || *produced_bytes >= 2 * batch_size;
        if switch {
            *current = None;
            *produced_bytes = 0;
        }
        switch
    }
}

/// `BuiltInPartitioner.nextPartition` with adaptive partitioning: uniform when every queue
/// is as long, else each partition weighted by `longest queue + 1 - its queue`, so a partition
/// whose broker is slow gets fewer records.
fn adaptive_pick(available: &[u32], queued: &impl Fn(u32) -> usize, rng: &mut Rng) -> u32 {
    let sizes: Vec<usize> = available.iter().map(|p| queued(*p)).collect();
    let longest = sizes.iter().copied().max().unwrap_or(0);
    if sizes.iter().all(|s| *s == longest) {
        return available[rng.below(available.len() as u64) as usize];
    }
    let weights: Vec<u64> = sizes.iter().map(|s| (longest + 1 - s) as u64).collect();
    let mut draw = rng.below(weights.iter().sum());
    for (p, w) in available.iter().zip(&weights) {
        if draw < *w {
            return *p;
        }
        draw -= w;
    }
    available[available.len() - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's `UtilsTest.testMurmur2`.
    #[test]
    fn murmur2_matches_kafka_java_client() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (key, hash) in cases {
            assert_eq!(murmur2(key), hash, "{}", String::from_utf8_lossy(key));
        }
    }

    #[test]
    fn partition_for_key_masks_the_sign_bit() {
        // toPositive(-790332482) = 1357151166.
        assert_eq!(partition_for_key(b"foobar", 10), 6);
        assert_eq!(partition_for_key(b"foobar", 50), 16);
    }

    #[test]
    fn round_robin_visits_every_available_partition_in_turn() {
        let mut rng = Rng::new(1);
        let mut chooser = NullKeyChooser::new(NullKeyPartitioner::RoundRobin, &mut rng);
        let picks: Vec<u32> = (0..6)
            .map(|_| chooser.choose(3, &[0, 1, 2], |_| 0, &mut rng))
            .collect();
        assert_eq!(
            picks[0..3]
                .iter()
                .collect::<crate::vec_map::VecSet<_>>()
                .len(),
            3
        );
        assert_eq!(picks[0..3], picks[3..6]);
    }

    #[test]
    fn sticky_stays_until_batch_size_bytes_went_to_the_partition() {
        let mut rng = Rng::new(1);
        let mut chooser = NullKeyChooser::new(NullKeyPartitioner::Sticky, &mut rng);
        let all = [0, 1, 2, 3];
        let first = chooser.choose(4, &all, |_| 0, &mut rng);
        // 100-byte records, 1000-byte batches: the last batch not full, no switch before 2000.
        for _ in 0..19 {
            assert!(!chooser.on_append(100, false, 1_000));
            assert_eq!(chooser.choose(4, &all, |_| 0, &mut rng), first);
        }
        assert!(
            chooser.on_append(100, false, 1_000),
            "2 x batch.size forces a switch"
        );
        // With full batches it switches at batch.size.
        chooser.choose(4, &all, |_| 0, &mut rng);
        for _ in 0..9 {
            assert!(!chooser.on_append(100, true, 1_000));
        }
        assert!(chooser.on_append(100, true, 1_000));
    }

    #[test]
    fn adaptive_partitioning_favours_short_queues() {
        let mut rng = Rng::new(3);
        let mut picks = [0u32; 3];
        for _ in 0..3_000 {
            let mut chooser = NullKeyChooser::new(NullKeyPartitioner::Sticky, &mut rng);
            // Partition 2's queue is 4 batches long, the others' empty: weights 5, 5, 1.
            let p = chooser.choose(3, &[0, 1, 2], |p| if p == 2 { 4 } else { 0 }, &mut rng);
            picks[p as usize] += 1;
        }
        assert!(
            picks[2] * 3 < picks[0] && picks[2] * 3 < picks[1],
            "{picks:?}"
        );
        assert!(picks[2] > 0, "{picks:?}");
    }
}
