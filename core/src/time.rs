//! Simulated time. The simulation never reads a clock: time is an input that only `Sim` advances.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A moment in simulated time, in microseconds since the simulation started.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimTime(pub u64);

/// `ms` in microseconds, saturating. By a comparison, not `saturating_mul`: on wasm32 a 64-bit
/// multiply that checks for overflow is a call into a 128-bit multiply routine, and nearly
/// every timer is set in milliseconds.
pub const fn ms_to_us(ms: u64) -> u64 {
    if ms > u64::MAX / 1_000 {
        u64::MAX
    } else {
        ms * 1_000
    }
}

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    pub fn from_ms(ms: u64) -> SimTime {
        SimTime(ms_to_us(ms))
    }
    pub fn from_secs(secs: u64) -> SimTime {
        SimTime(secs.saturating_mul(1_000_000))
    }
    pub fn as_us(self) -> u64 {
        self.0
    }
    pub fn as_ms(self) -> u64 {
        self.0 / 1_000
    }
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
    pub fn plus_us(self, us: u64) -> SimTime {
        SimTime(self.0.saturating_add(us))
    }
    pub fn plus_ms(self, ms: u64) -> SimTime {
        self.plus_us(ms_to_us(ms))
    }
    /// Microseconds from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: SimTime) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}s", self.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ms_to_us` is `saturating_mul(1_000)`, up to and past the largest value that fits.
    #[test]
    fn ms_to_us_saturates_as_saturating_mul() {
        let edge = u64::MAX / 1_000;
        for ms in [
            0,
            1,
            999,
            1_000,
            86_400_000,
            edge - 1,
            edge,
            edge + 1,
            u64::MAX,
        ] {
            assert_eq!(ms_to_us(ms), ms.saturating_mul(1_000), "{ms} ms");
        }
    }
}
