use kplay_core::{Event, Scenario, Sim, SimTime};
fn main() {
    let json = std::env::args().nth(1).unwrap();
    let scenario = Scenario::from_json(&std::fs::read_to_string(json).unwrap()).unwrap();
    let mut sim = Sim::new(scenario).unwrap();
    sim.run_until(SimTime::from_ms(3000));
    for e in sim.trace() {
        if let Event::MessageSent {
            from,
            to,
            api,
            arrives_at,
            ..
        } = &e.event
        {
            if api.starts_with("ZkElection") || api.starts_with("ZkSync") {
                println!("{} {from}->{to} {api} arrives {}", e.at, arrives_at);
            }
        }
    }
    for z in sim.view().zookeepers {
        println!("{:?}", z);
    }
}
