//! Where a new topic's replicas go: Kafka's rack-unaware assignment
//! (`AdminUtils.assignReplicasToBrokersRackUnaware`), which spreads leaders and followers evenly.

use crate::ids::BrokerId;
use crate::vec_map::VecMap;

/// Assigns `partitions` new partitions numbered from `first_partition`. `start_index` and
/// `replica_shift` are Kafka's random starting points (fixed when adding partitions).
pub fn assign_replicas(
    brokers: &[BrokerId],
    first_partition: u32,
    partitions: u32,
    replication_factor: u32,
    start_index: usize,
    replica_shift: usize,
) -> VecMap<u32, Vec<BrokerId>> {
    let mut sorted = brokers.to_vec();
    crate::sort::sort(&mut sorted);
    let n = sorted.len();
    let mut out = VecMap::new();
    if n == 0 {
        return out;
    }
    let mut shift = replica_shift;
    for partition in first_partition..first_partition + partitions {
        if partition > 0 && (partition as usize).is_multiple_of(n) {
            shift += 1;
        }
        let first = (partition as usize + start_index) % n;
        let mut replicas = vec![sorted[first]];
        for j in 0..replication_factor.saturating_sub(1) as usize {
            let offset = 1 + (shift + j) % (n - 1).max(1);
            replicas.push(sorted[(first + offset) % n]);
        }
        out.insert(partition, replicas);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_example_five_brokers_ten_partitions() {
        // The example in Kafka's AdminUtils doc comment (start index 0, shift 0).
        let brokers: Vec<BrokerId> = (0..5).map(BrokerId).collect();
        let a = assign_replicas(&brokers, 0, 10, 3, 0, 0);
        let firsts: Vec<u32> = a.values().map(|r| r[0].0).collect();
        assert_eq!(firsts, vec![0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
        assert_eq!(a[&0].iter().map(|b| b.0).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(a[&5].iter().map(|b| b.0).collect::<Vec<_>>(), vec![0, 2, 3]);
        for replicas in a.values() {
            let mut r = replicas.clone();
            r.dedup();
            crate::sort::sort(&mut r);
            r.dedup();
            assert_eq!(
                r.len(),
                3,
                "replicas of a partition are on distinct brokers"
            );
        }
    }
}
