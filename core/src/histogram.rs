//! A latency histogram with bounded memory, kept by clients as they run and read by the report.

/// A latency histogram with bounded memory: exact below 16 µs, then 8 buckets per power of two
/// (≤ 12.5% error), like HdrHistogram with 3 significant bits.
#[derive(Clone, Debug)]
pub struct Histogram {
    buckets: Vec<u64>,
    count: u64,
}

const SUB_BUCKETS: u64 = 8;

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: vec![0; 16 + 60 * SUB_BUCKETS as usize],
            count: 0,
        }
    }
}

impl Histogram {
    fn index(v: u64) -> usize {
        if v < 16 {
            return v as usize;
        }
        let exp = 63 - v.leading_zeros() as u64;
        let sub = (v >> (exp - 3)) & (SUB_BUCKETS - 1);
        (16 + (exp - 4) * SUB_BUCKETS + sub) as usize
    }

    fn lower_bound(index: usize) -> u64 {
        if index < 16 {
            return index as u64;
        }
        let i = index as u64 - 16;
        let exp = i / SUB_BUCKETS + 4;
        let sub = i % SUB_BUCKETS;
        (1 << exp) + (sub << (exp - 3))
    }

    pub fn record(&mut self, value: u64) {
        self.record_n(value, 1);
    }

    /// Records `value` `n` times.
    pub fn record_n(&mut self, value: u64, n: u64) {
        let i = Self::index(value).min(self.buckets.len() - 1);
        self.buckets[i] += n;
        self.count += n;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.count += other.count;
    }

    /// What was recorded after `earlier`, a copy of this histogram taken before.
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        Histogram {
            buckets: self
                .buckets
                .iter()
                .zip(&earlier.buckets)
                .map(|(a, b)| a.saturating_sub(*b))
                .collect(),
            count: self.count.saturating_sub(earlier.count),
        }
    }

    /// The value at quantile `q` (0..=1), as the lower bound of its bucket; None when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        self.quantile_bucket(q).map(|(low, _)| low)
    }

    /// The bucket holding quantile `q` (0..=1): the value is at least the first bound and
    /// below the second (exact below 16 µs: then the second is the first plus one).
    pub fn quantile_bucket(&self, q: f64) -> Option<(u64, u64)> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Some((Self::lower_bound(i), Self::lower_bound(i + 1)));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_are_within_a_bucket() {
        let mut h = Histogram::default();
        for v in 1..=1000u64 {
            h.record(v * 100);
        }
        let p50 = h.quantile(0.5).unwrap() as f64;
        let p99 = h.quantile(0.99).unwrap() as f64;
        assert!((p50 - 50_000.0).abs() / 50_000.0 < 0.13, "p50 {p50}");
        assert!((p99 - 99_000.0).abs() / 99_000.0 < 0.13, "p99 {p99}");
        assert_eq!(Histogram::default().quantile(0.5), None);
        for v in [0, 15, 16, 17, 1 << 20, u64::MAX / 2] {
            assert!(Histogram::lower_bound(Histogram::index(v)) <= v);
        }
    }
}
