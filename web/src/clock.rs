//! The page's wall clock: only to bound how long a frame works, never to drive the simulation.

pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}
