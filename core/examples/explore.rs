use kplay_core::{Command, Event, Scenario, Sim, SimTime};
fn main() {
    let json = std::env::args().nth(1).unwrap();
    let scenario = Scenario::from_json(&std::fs::read_to_string(json).unwrap()).unwrap();
    let mut sim = Sim::new(scenario).unwrap();
    let until: u64 = std::env::args()
        .nth(2)
        .map(|s| s.parse().unwrap())
        .unwrap_or(30);
    sim.run_until(SimTime::from_secs(until));
    for e in sim.trace() {
        match &e.event {
            Event::MessageSent { .. }
            | Event::RecordsAppended { .. }
            | Event::HighWatermarkAdvanced { .. }
            | Event::ProducerAcked { .. }
            | Event::ConsumerProcessed { .. }
            | Event::ZnodeCreated { .. }
            | Event::ZnodeDeleted { .. }
            | Event::MessageDropped { .. } => {}
            other => println!("{} {:?}", e.at, other),
        }
    }
    let _ = Command::HealAllLinks;
    println!("{}", serde_json::to_string_pretty(&sim.report()).unwrap());
}
