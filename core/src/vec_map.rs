//! `VecMap` and `VecSet`: the ordered map and set of the simulation and the web app. They
//! iterate in key order, as `BTreeMap` and `BTreeSet` do (traces depend on that order), but
//! keep their keys in one sorted `Vec` (a map's values in a second one, index for index).
//!
//! Why not the B-tree: the maps of a cluster are small (brokers, a topic's partitions, a
//! group's members, requests in flight: tens to a few hundred entries), and the page
//! downloads the code. A B-tree brings some thirty functions for each key and value type it
//! holds; a sorted `Vec` brings a few small ones, and its lookups (a binary search over keys
//! alone, shared by every map with that key type) read contiguous memory. Inserting or
//! removing in the middle moves the entries after it: cheap at these sizes, and the usual
//! inserts (increasing ids, offsets) go at the end. Building from an iterator inserts entry
//! by entry; only sets sort what they are built from.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Bound, Index, RangeBounds};

/// Where `key` is in the sorted `keys`, or where it would go.
fn search<K: Borrow<Q>, Q: Ord + ?Sized>(keys: &[K], key: &Q) -> Result<usize, usize> {
    keys.binary_search_by(|k| k.borrow().cmp(key))
}

/// Where `key` goes in the sorted `keys`, as `search`; ids and offsets mostly arrive in
/// increasing order, so the end is tried before searching.
fn place<K: Ord>(keys: &[K], key: &K) -> Result<usize, usize> {
    if keys.last().is_none_or(|last| last < key) {
        return Err(keys.len());
    }
    search(keys, key)
}

/// The index range of `keys` (sorted) inside `range`.
fn span<K: Borrow<Q>, Q: Ord + ?Sized, R: RangeBounds<Q>>(
    keys: &[K],
    range: R,
) -> std::ops::Range<usize> {
    let start = match range.start_bound() {
        Bound::Included(q) => keys.partition_point(|k| k.borrow() < q),
        Bound::Excluded(q) => keys.partition_point(|k| k.borrow() <= q),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(q) => keys.partition_point(|k| k.borrow() <= q),
        Bound::Excluded(q) => keys.partition_point(|k| k.borrow() < q),
        Bound::Unbounded => keys.len(),
    };
    start..end.max(start)
}

/// A map ordered by key (see the module docs).
#[derive(Clone, PartialEq, Eq)]
pub struct VecMap<K, V> {
    /// Sorted, no duplicates.
    keys: Vec<K>,
    /// `values[i]` belongs to `keys[i]`.
    values: Vec<V>,
}

pub type Iter<'a, K, V> = std::iter::Zip<std::slice::Iter<'a, K>, std::slice::Iter<'a, V>>;
pub type IterMut<'a, K, V> = std::iter::Zip<std::slice::Iter<'a, K>, std::slice::IterMut<'a, V>>;
pub type IntoIter<K, V> = std::iter::Zip<std::vec::IntoIter<K>, std::vec::IntoIter<V>>;

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap::new()
    }
}

impl<K, V> VecMap<K, V> {
    pub const fn new() -> Self {
        VecMap {
            keys: Vec::new(),
            values: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Takes every entry out in key order, keeping the map's memory for reuse.
    pub fn drain(&mut self) -> impl Iterator<Item = (K, V)> + '_ {
        self.keys.drain(..).zip(self.values.drain(..))
    }

    pub fn clear(&mut self) {
        self.keys.clear();
        self.values.clear();
    }

    pub fn iter(&self) -> Iter<'_, K, V> {
        self.keys.iter().zip(self.values.iter())
    }

    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        self.keys.iter().zip(self.values.iter_mut())
    }

    pub fn keys(&self) -> std::slice::Iter<'_, K> {
        self.keys.iter()
    }

    pub fn values(&self) -> std::slice::Iter<'_, V> {
        self.values.iter()
    }

    pub fn values_mut(&mut self) -> std::slice::IterMut<'_, V> {
        self.values.iter_mut()
    }

    pub fn into_keys(self) -> std::vec::IntoIter<K> {
        self.keys.into_iter()
    }

    pub fn into_values(self) -> std::vec::IntoIter<V> {
        self.values.into_iter()
    }

    pub fn first_key_value(&self) -> Option<(&K, &V)> {
        Some((self.keys.first()?, self.values.first()?))
    }

    /// Keeps the entries `keep` says yes to, visiting them in key order.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        // Kept entries move forward in order; the others collect at the end.
        let mut kept = 0;
        for i in 0..self.keys.len() {
            if keep(&self.keys[i], &mut self.values[i]) {
                self.keys.swap(kept, i);
                self.values.swap(kept, i);
                kept += 1;
            }
        }
        self.keys.truncate(kept);
        self.values.truncate(kept);
    }
}

impl<K: Ord, V> VecMap<K, V> {
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        let i = search(&self.keys, key).ok()?;
        Some(&self.values[i])
    }

    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        let i = search(&self.keys, key).ok()?;
        Some(&mut self.values[i])
    }

    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        search(&self.keys, key).is_ok()
    }

    /// Inserts or replaces; the value replaced, if any.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match place(&self.keys, &key) {
            Ok(i) => Some(std::mem::replace(&mut self.values[i], value)),
            Err(i) => {
                self.keys.insert(i, key);
                self.values.insert(i, value);
                None
            }
        }
    }

    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let i = search(&self.keys, key).ok()?;
        self.keys.remove(i);
        Some(self.values.remove(i))
    }

    /// The value under `key`, made by `make` if there is none; the key is copied to an owned
    /// one only then (`entry` takes it owned every time).
    pub fn get_or_insert_with<Q>(&mut self, key: &Q, make: impl FnOnce() -> V) -> &mut V
    where
        K: Borrow<Q>,
        Q: Ord + ToOwned<Owned = K> + ?Sized,
    {
        let i = search(&self.keys, key).unwrap_or_else(|i| {
            self.keys.insert(i, key.to_owned());
            self.values.insert(i, make());
            i
        });
        &mut self.values[i]
    }

    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        let at = search(&self.keys, &key);
        Entry { map: self, key, at }
    }

    /// The entries whose keys are in `range`, in key order.
    pub fn range<Q: Ord + ?Sized, R: RangeBounds<Q>>(&self, range: R) -> Iter<'_, K, V>
    where
        K: Borrow<Q>,
    {
        let span = span(&self.keys, range);
        self.keys[span.clone()].iter().zip(self.values[span].iter())
    }
}

/// A place in a `VecMap`, filled or not (`VecMap::entry`).
#[derive(Debug)]
pub struct Entry<'a, K, V> {
    map: &'a mut VecMap<K, V>,
    key: K,
    /// `Ok(i)`: the key is at `i`; `Err(i)`: it would go there.
    at: Result<usize, usize>,
}

impl<'a, K, V> Entry<'a, K, V> {
    pub fn or_insert_with(self, value: impl FnOnce() -> V) -> &'a mut V {
        match self.at {
            Ok(i) => &mut self.map.values[i],
            Err(i) => {
                self.map.keys.insert(i, self.key);
                self.map.values.insert(i, value());
                &mut self.map.values[i]
            }
        }
    }

    pub fn or_insert(self, value: V) -> &'a mut V {
        self.or_insert_with(|| value)
    }

    pub fn or_default(self) -> &'a mut V
    where
        V: Default,
    {
        self.or_insert_with(V::default)
    }

    pub fn and_modify(self, f: impl FnOnce(&mut V)) -> Self {
        if let Ok(i) = self.at {
            f(&mut self.map.values[i]);
        }
        self
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for VecMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = VecMap::new();
        map.extend(iter);
        map
    }
}

impl<K: Ord, V> Extend<(K, V)> for VecMap<K, V> {
    /// As `insert` one by one: a later value for the same key wins.
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for VecMap<K, V> {
    fn from(entries: [(K, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<K, V> IntoIterator for VecMap<K, V> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.keys.into_iter().zip(self.values)
    }
}

impl<'a, K, V> IntoIterator for &'a VecMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, K, V> IntoIterator for &'a mut VecMap<K, V> {
    type Item = (&'a K, &'a mut V);
    type IntoIter = IterMut<'a, K, V>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

impl<K: Ord + Borrow<Q>, Q: Ord + ?Sized, V> Index<&Q> for VecMap<K, V> {
    type Output = V;
    /// Panics if `key` is missing, as `BTreeMap`'s index does.
    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("key in VecMap")
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for VecMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: PartialOrd, V: PartialOrd> PartialOrd for VecMap<K, V> {
    /// Entry by entry, as `BTreeMap` compares.
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.iter().partial_cmp(other.iter())
    }
}

impl<K: Serialize, V: Serialize> Serialize for VecMap<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for VecMap<K, V> {
    /// From a map; a later value for the same key wins, as in `BTreeMap`.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for Entries<K, V> {
            type Value = VecMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Self::Value, A::Error> {
                let mut map = VecMap::new();
                while let Some((k, v)) = entries.next_entry()? {
                    map.insert(k, v);
                }
                Ok(map)
            }
        }
        deserializer.deserialize_map(Entries(PhantomData))
    }
}

/// A set ordered by value (see the module docs).
#[derive(Clone, PartialEq, Eq)]
pub struct VecSet<T> {
    /// Sorted, no duplicates.
    items: Vec<T>,
}

impl<T> Default for VecSet<T> {
    fn default() -> Self {
        VecSet::new()
    }
}

impl<T> VecSet<T> {
    pub const fn new() -> Self {
        VecSet { items: Vec::new() }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn clear(&mut self) {
        self.items.clear();
    }

    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    pub fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.items.retain(keep);
    }
}

impl<T: Ord> VecSet<T> {
    pub fn contains<Q: Ord + ?Sized>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        search(&self.items, value).is_ok()
    }

    /// Whether `value` was new.
    pub fn insert(&mut self, value: T) -> bool {
        match place(&self.items, &value) {
            Ok(_) => false,
            Err(i) => {
                self.items.insert(i, value);
                true
            }
        }
    }

    /// Whether `value` was there.
    pub fn remove<Q: Ord + ?Sized>(&mut self, value: &Q) -> bool
    where
        T: Borrow<Q>,
    {
        let Ok(i) = search(&self.items, value) else {
            return false;
        };
        self.items.remove(i);
        true
    }

    /// The items in `range`, in order.
    pub fn range<Q: Ord + ?Sized, R: RangeBounds<Q>>(&self, range: R) -> std::slice::Iter<'_, T>
    where
        T: Borrow<Q>,
    {
        self.items[span(&self.items, range)].iter()
    }

    /// The items not in `other`, in order.
    pub fn difference<'a>(&'a self, other: &'a VecSet<T>) -> impl Iterator<Item = &'a T> + 'a {
        self.iter().filter(move |t| !other.contains(*t))
    }
}

impl<T: Ord> FromIterator<T> for VecSet<T> {
    /// Sorts what it is given (which may be large and in any order: a log's record ids).
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut items: Vec<T> = iter.into_iter().collect();
        if !items.is_sorted() {
            crate::sort::sort(&mut items);
        }
        items.dedup();
        VecSet { items }
    }
}

impl<T: Ord> Extend<T> for VecSet<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for t in iter {
            self.insert(t);
        }
    }
}

impl<T: Ord, const N: usize> From<[T; N]> for VecSet<T> {
    fn from(items: [T; N]) -> Self {
        items.into_iter().collect()
    }
}

impl<T> IntoIterator for VecSet<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a VecSet<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: fmt::Debug> fmt::Debug for VecSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl<T: Serialize> Serialize for VecSet<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de, T: Ord + Deserialize<'de>> Deserialize<'de> for VecSet<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Vec::<T>::deserialize(deserializer)?.into_iter().collect())
    }
}

#[cfg(test)]
// The standard B-tree is the model these are checked against.
#[allow(clippy::disallowed_types)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use std::collections::{BTreeMap, BTreeSet};

    #[test]
    fn behaves_as_btree_map_and_set() {
        let mut rng = Rng::new(11);
        let mut map = VecMap::new();
        let mut model = BTreeMap::new();
        let mut set = VecSet::new();
        let mut set_model = BTreeSet::new();
        for step in 0..20_000u64 {
            let k = rng.below(300);
            match rng.below(6) {
                0 | 1 => {
                    assert_eq!(map.insert(k, step), model.insert(k, step));
                    assert_eq!(set.insert(k), set_model.insert(k));
                }
                2 => {
                    assert_eq!(map.remove(&k), model.remove(&k));
                    assert_eq!(set.remove(&k), set_model.remove(&k));
                }
                3 => {
                    *map.entry(k).or_default() += 1;
                    *model.entry(k).or_default() += 1;
                    *map.get_or_insert_with(&(k / 2), || step) += 1;
                    *model.entry(k / 2).or_insert(step) += 1;
                }
                4 => {
                    let (lo, hi) = (k.min(150), k.max(150));
                    assert!(map.range(lo..hi).eq(model.range(lo..hi)));
                    assert!(map.range(..=k).rev().eq(model.range(..=k).rev()));
                    assert!(set.range(lo..=hi).eq(set_model.range(lo..=hi)));
                }
                _ => {
                    map.retain(|key, v| (key + *v) % 7 != 0);
                    model.retain(|key, v| (key + *v) % 7 != 0);
                }
            }
            assert_eq!(map.get(&k), model.get(&k));
        }
        assert!(map.iter().eq(model.iter()));
        assert!(set.iter().eq(set_model.iter()));
        assert_eq!(format!("{map:?}"), format!("{model:?}"));
        assert_eq!(format!("{set:?}"), format!("{set_model:?}"));
        let unsorted = [5u64, 1, 9, 1, 3];
        assert!(VecSet::from_iter(unsorted)
            .iter()
            .eq(BTreeSet::from(unsorted).iter()));
        let pairs = [(3, 'a'), (1, 'b'), (3, 'c')];
        assert!(VecMap::from(pairs).iter().eq(BTreeMap::from(pairs).iter()));
    }
}
