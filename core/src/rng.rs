//! The simulation's one source of randomness: SplitMix64 (Steele, Lea, Flood 2014), pinned so
//! that a seed means the same run on every platform and in every future version.

/// A seeded SplitMix64 generator.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform value in `0..n` (Lemire's multiply-shift; `n == 0` gives 0).
    pub fn below(&mut self, n: u64) -> u64 {
        mul_high(self.next_u64(), n)
    }

    /// A uniform value in `[0, 1)`.
    pub fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit_f64() < p
    }

    /// A value in `[-spread, +spread]`, for jitter.
    pub fn jitter(&mut self, spread: u64) -> i64 {
        if spread == 0 {
            return 0;
        }
        self.below(2 * spread + 1) as i64 - spread as i64
    }

    /// An independent generator derived from this one (for per-node streams).
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }
}

/// The high 64 bits of `a * b`, from 32-bit halves. wasm32 has no 64 × 64 → 128-bit multiply:
/// there a `u128` product is a call into a 128 × 128 multiply routine, once per message (the
/// network's jitter). The same bits as `((a as u128 * b as u128) >> 64) as u64`.
fn mul_high(a: u64, b: u64) -> u64 {
    let (a_lo, a_hi) = (a & 0xffff_ffff, a >> 32);
    let (b_lo, b_hi) = (b & 0xffff_ffff, b >> 32);
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    // At most (2^32 - 1) · 2 + (2^32 - 1)^2 = 2^64 - 1: no overflow.
    let middle = (lo_lo >> 32) + (hi_lo & 0xffff_ffff) + lo_hi;
    a_hi * b_hi + (hi_lo >> 32) + (middle >> 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `mul_high` gives the bits of a 128-bit product, at the edges and at random.
    #[test]
    fn mul_high_is_the_high_half_of_the_product() {
        let wide = |a: u64, b: u64| ((u128::from(a) * u128::from(b)) >> 64) as u64;
        let mut rng = Rng::new(5);
        let edges = [0, 1, 2, 0xffff_ffff, 1 << 32, u64::MAX - 1, u64::MAX];
        for &a in &edges {
            for &b in &edges {
                assert_eq!(mul_high(a, b), wide(a, b), "{a} × {b}");
            }
        }
        for _ in 0..100_000 {
            let (a, b) = (rng.next_u64(), rng.next_u64() >> rng.below(64));
            assert_eq!(mul_high(a, b), wide(a, b), "{a} × {b}");
        }
    }

    #[test]
    fn splitmix64_reference_vectors() {
        // Reference outputs of SplitMix64 for seed 1234567 (as published with xoshiro).
        let mut rng = Rng::new(1234567);
        let got: Vec<u64> = (0..5).map(|_| rng.next_u64()).collect();
        assert_eq!(
            got,
            vec![
                6457827717110365317,
                3203168211198807973,
                9817491932198370423,
                4593380528125082431,
                16408922859458223821
            ]
        );
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = Rng::new(7);
        let mut seen = [false; 6];
        for _ in 0..1000 {
            let v = rng.below(6);
            assert!(v < 6);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn jitter_is_symmetric_and_bounded() {
        let mut rng = Rng::new(3);
        let values: Vec<i64> = (0..2000).map(|_| rng.jitter(10)).collect();
        assert!(values.iter().all(|v| (-10..=10).contains(v)));
        assert!(values.contains(&-10) && values.contains(&10));
    }
}
