//! Stable sorting with one copy of the sort's code. `slice::sort_by` is generic over the
//! element and the comparison, so each list the simulation and the page sort (members,
//! partitions, brokers, views, tools' rows) brought its own few kilobytes of wasm. Here a
//! list is sorted through a permutation of its indices: the indices are sorted by one shared
//! instance of the standard sort, comparing through a `dyn` closure, and the items are then
//! moved into that order; a list of a few items is sorted in place by insertion instead. Same
//! result as the standard stable sort; the lists are short (only a set built from a log's
//! record ids is long).

use std::cmp::Ordering;

/// Lists up to this long are sorted in place by insertion, with no list of indices to
/// allocate (a parked fetch sorts its few partitions each time it is answered).
const SHORT: usize = 8;

/// Sorts `items` by `cmp`, keeping equal items in their order (as `slice::sort_by`).
pub fn sort_by<T>(items: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    if items.is_sorted_by(|a, b| cmp(a, b) != Ordering::Greater) {
        return;
    }
    if items.len() <= SHORT {
        // Stable: an item moves left only past greater ones.
        for i in 1..items.len() {
            let mut j = i;
            while j > 0 && cmp(&items[j - 1], &items[j]) == Ordering::Greater {
                items.swap(j - 1, j);
                j -= 1;
            }
        }
        return;
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    sort_indices(&mut order, &mut |a, b| cmp(&items[a], &items[b]));
    permute(items, &mut order);
}

/// Sorts `items` by `key`, keeping items with equal keys in their order.
pub fn sort_by_key<T, K: Ord>(items: &mut [T], mut key: impl FnMut(&T) -> K) {
    sort_by(items, |a, b| key(a).cmp(&key(b)));
}

/// Sorts `items` in their order (as `slice::sort`).
pub fn sort<T: Ord>(items: &mut [T]) {
    sort_by(items, T::cmp);
}

/// The one instance of the standard sort: indices, compared through `cmp`. Ties go by
/// index, so the unstable sort gives the stable order.
fn sort_indices(order: &mut [usize], cmp: &mut dyn FnMut(usize, usize) -> Ordering) {
    order.sort_unstable_by(|&a, &b| cmp(a, b).then(a.cmp(&b)));
}

/// Moves `items` into `order` (afterwards `items[i]` is what was at `order[i]`), one cycle of
/// the permutation at a time; `order` is used up (each place is marked done as it is filled).
fn permute<T>(items: &mut [T], order: &mut [usize]) {
    for start in 0..items.len() {
        let mut place = start;
        loop {
            let from = order[place];
            order[place] = place;
            if from == start || from == place {
                break;
            }
            items.swap(place, from);
            place = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn sorts_as_the_standard_stable_sort() {
        let mut rng = Rng::new(3);
        for len in [0, 1, 2, 3, 8, 9, 10, 100, 1_000] {
            // (key, original place): equal keys must keep their order.
            let items: Vec<(u64, usize)> = (0..len).map(|i| (rng.below(20), i)).collect();
            let mut expected = items.clone();
            expected.sort_by_key(|(k, _)| *k);
            let mut sorted = items.clone();
            sort_by_key(&mut sorted, |(k, _)| *k);
            assert_eq!(sorted, expected, "{len} items");
            let mut reversed = items;
            sort_by(&mut reversed, |a, b| b.0.cmp(&a.0));
            expected.sort_by_key(|b| std::cmp::Reverse(b.0));
            assert_eq!(reversed, expected, "{len} items, descending");
        }
        let mut words = vec!["kafka", "broker", "zookeeper", "acks", "broker"];
        sort(&mut words);
        assert_eq!(words, ["acks", "broker", "broker", "kafka", "zookeeper"]);
    }
}
