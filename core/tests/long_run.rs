//! The long run: 24 simulated hours of the default lesson (retention on: 10-minute retention,
//! 1-minute segments) with a fault every 20 simulated minutes — a broker crash, a ZooKeeper
//! crash, an isolated broker, a crashed consumer — each undone a few minutes later. No
//! invariant may break, and resident memory must stay flat: retention trims the logs and the
//! trace keeps a window, so nothing grows with simulated time.
//!
//! Ignored by `cargo test` (about ten minutes); `make check-deep` runs it in the release build.
//! KPLAY_LONG_RUN_HOURS shortens it.

// The figures print for the log of `make check-deep`.
#![allow(clippy::print_stdout)]

use kplay_core::{lessons, Command, Sim, SimTime};

/// Resident memory now, in bytes (Linux); None elsewhere.
fn rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}

/// The fault started at the `n`-th 20-minute mark, and what undoes it.
fn fault(n: u64) -> (Command, Command) {
    let broker = (n % 3) as u32 + 1;
    match n % 4 {
        0 => (
            Command::KillBroker { broker },
            Command::RestartBroker {
                broker,
                disk_lost: false,
            },
        ),
        1 => (
            Command::KillZookeeper { server: broker },
            Command::RestartZookeeper { server: broker },
        ),
        2 => (Command::IsolateBroker { broker }, Command::HealAllLinks),
        _ => (
            Command::CrashConsumer {
                consumer: 0,
                at: Default::default(),
            },
            Command::RestartConsumer { consumer: 0 },
        ),
    }
}

#[test]
#[ignore = "ten minutes: make check-deep runs it"]
fn a_day_with_periodic_faults_breaks_no_invariant_and_memory_stays_flat() {
    let hours: u64 = std::env::var("KPLAY_LONG_RUN_HOURS")
        .map(|v| v.parse().expect("KPLAY_LONG_RUN_HOURS is a count"))
        .unwrap_or(24);
    let mut scenario = lessons::get("replication-and-isr").expect("the default lesson");
    for topic in &mut scenario.topics {
        topic.config.retention_ms = Some(600_000);
        topic.config.segment_ms = Some(60_000);
    }
    assert!(
        !scenario.consumers.is_empty(),
        "the lesson has a consumer to crash"
    );
    let mut sim = Sim::new(scenario).expect("builds");
    let mut samples: Vec<(u64, u64)> = Vec::new();
    let (mut faults, mut steps) = (0u64, 0u64);
    for minute in (20..=hours * 60).step_by(20) {
        let n = minute / 20;
        let (start, undo) = fault(n);
        sim.run_until(SimTime::from_secs(minute * 60));
        sim.apply(start).expect("a valid fault");
        faults += 1;
        // Undone after 3 minutes: longer than the ZooKeeper session, so leaders move.
        sim.run_until(SimTime::from_secs(minute * 60 + 180));
        sim.apply(undo).expect("a valid undo");
        if minute % 60 == 0 {
            sim.check_invariants();
            let mem = rss().unwrap_or(0);
            println!(
                "hour {:>2}: {:>6.1} MB resident, {:>11} events, {} violations",
                minute / 60,
                mem as f64 / 1e6,
                sim.steps() - steps,
                sim.violations().len()
            );
            steps = sim.steps();
            samples.push((minute / 60, mem));
        }
    }
    sim.run_until(SimTime::from_secs(hours * 3_600 + 600));
    sim.check_invariants();
    assert_eq!(sim.violations(), &[], "after {faults} faults");
    let report = sim.report();
    assert_eq!(report.acked_lost_by_acks.get("all"), None, "{report:?}");
    println!(
        "long run: {hours} h, {faults} faults, {} events, acked {} records, 0 violations",
        sim.steps(),
        report.acked
    );
    // Flat: the last hours use no more than the early ones (after the first hour's warm-up),
    // with room for allocator noise.
    if hours >= 4 && samples.iter().all(|(_, m)| *m > 0) {
        let early = samples[1..4].iter().map(|(_, m)| *m).max().unwrap_or(0);
        let late = samples
            .iter()
            .rev()
            .take(3)
            .map(|(_, m)| *m)
            .max()
            .unwrap_or(0);
        assert!(
            late <= early + early / 4 + (16 << 20),
            "memory grew: hours 2-4 at most {early} bytes, the last hours {late}"
        );
    }
}
