//! Component tests: the real app mounted in headless Chromium (wasm-bindgen-test), and the
//! pieces the page relies on: share fragments, the messages' on-screen trips, the event log's
//! kinds. `make web-test` runs them (part of `make test`).

use gloo_timers::future::TimeoutFuture;
use kplay_core::{lessons, share, Event, NodeId, SimTime, TraceEvent};
use kplay_web::flights::{Flights, MIN_VISIBLE_WALL_MS};
use kplay_web::log::{EventLog, Kind};
use kplay_web::url;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn mount() -> web_sys::Element {
    let document = gloo_utils::document();
    let root = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    yew::Renderer::<kplay_web::app::App>::with_root(root.clone()).render();
    root
}

fn count(root: &web_sys::Element, selector: &str) -> u32 {
    root.query_selector_all(selector).unwrap().length()
}

#[wasm_bindgen_test]
async fn the_app_draws_the_default_lesson_a_click_selects_a_broker_and_kill_kills_it() {
    let root = mount();
    TimeoutFuture::new(1_500).await;
    assert_eq!(count(&root, ".node.broker"), 3);
    assert_eq!(count(&root, ".node.zk"), 3);
    assert_eq!(
        count(&root, ".strip"),
        3,
        "one log strip per partition of orders"
    );
    let lesson = root.query_selector(".lesson h3").unwrap().unwrap();
    assert!(lesson.text_content().unwrap().contains("Replication"));
    let click = |selector: &str| {
        let target = root.query_selector(selector).unwrap().unwrap();
        let event = web_sys::MouseEvent::new_with_mouse_event_init_dict("click", &{
            let init = web_sys::MouseEventInit::new();
            init.set_bubbles(true);
            init
        })
        .unwrap();
        target.dispatch_event(&event).unwrap();
    };
    // A click selects: the inspector opens and the broker lives on.
    click("[data-node=\"broker:3\"]");
    TimeoutFuture::new(500).await;
    assert_eq!(count(&root, ".inspector [data-inspects=\"broker:3\"]"), 1);
    assert_eq!(count(&root, "[data-node=\"broker:3\"].dead"), 0);
    assert_eq!(count(&root, "[data-node=\"broker:3\"].selected"), 1);
    // The inspector's Kill button kills it.
    click(".inspector button.fault");
    TimeoutFuture::new(500).await;
    assert_eq!(count(&root, "[data-node=\"broker:3\"].dead"), 1);
    let log = root
        .query_selector("ul.log")
        .unwrap()
        .unwrap()
        .text_content()
        .unwrap();
    assert!(log.contains("broker 3 died"), "{log}");
    root.remove();
}

#[wasm_bindgen_test]
fn share_fragments_round_trip_with_the_exact_moment() {
    let scenario = lessons::get("consumer-groups").unwrap();
    let encoded = share::encode(&scenario);
    let at = SimTime(12_345_678);
    let fragment = url::fragment(&encoded, at);
    assert!(fragment.ends_with("&t=12345.678"), "{fragment}");
    let (back, back_at) = url::parse(&format!("#{fragment}")).unwrap();
    assert_eq!(back, scenario);
    assert_eq!(back_at, Some(at));
    assert_eq!(
        url::parse(&format!("s={encoded}&t=5000")).unwrap().1,
        Some(SimTime::from_ms(5_000))
    );
    for bad in [
        "",
        "t=5",
        "s=v1.@@@",
        &format!("s={encoded}&t=-1"),
        &format!("s={encoded}&t=NaN"),
        &format!("s={encoded}&t=1e30"),
    ] {
        assert!(url::parse(bad).is_err(), "{bad} should be refused");
    }
}

fn sent(id: u64, at_us: u64, arrives_us: u64) -> TraceEvent {
    TraceEvent {
        at: SimTime(at_us),
        event: Event::MessageSent {
            id,
            from: NodeId::broker(1),
            to: NodeId::broker(2),
            kind: kplay_core::protocol::MessageKind::Replication,
            api: "Fetch",
            bytes: 100,
            arrives_at: SimTime(arrives_us),
        },
    }
}

#[wasm_bindgen_test]
fn a_dot_lasts_its_real_trip_when_slow_and_is_stretched_when_fast() {
    let mut flights = Flights::default();
    flights.absorb(&sent(1, 0, 1_000));
    let f = flights.iter().next().unwrap().clone();
    // At 0.01× a 1 ms trip takes 100 ms of wall time: shorter than the minimum, so stretched.
    let min_us = MIN_VISIBLE_WALL_MS * 1_000.0 * 0.01;
    assert!(min_us > 1_000.0);
    assert_eq!(f.progress(SimTime(0), 0.01), Some(0.0));
    let half = f.progress(SimTime((min_us / 2.0) as u64), 0.01).unwrap();
    assert!((half - 0.5).abs() < 0.01, "{half}");
    assert_eq!(f.progress(SimTime(min_us as u64 + 1), 0.01), None);
    // At 0.0001× the real trip (1 ms = 10 s of wall time) is longer: real timing.
    assert!((f.progress(SimTime(500), 0.0001).unwrap() - 0.5).abs() < 1e-9);
    // A dropped message lingers as a cross past its trip.
    flights.absorb(&TraceEvent {
        at: SimTime(1_000),
        event: Event::MessageDropped {
            id: 1,
            reason: kplay_core::trace::DropReason::NodeDown,
        },
    });
    let dropped = flights.iter().next().unwrap();
    assert!(dropped.dropped);
    assert!(dropped.progress(SimTime(min_us as u64 + 1), 0.01).is_some());
    for i in 0..600 {
        flights.absorb(&sent(10 + i, 0, 1_000));
    }
    assert_eq!(flights.iter().count(), kplay_web::flights::MAX_FLIGHTS);
}

#[wasm_bindgen_test]
fn the_event_log_files_lines_by_kind_and_filters_them() {
    let mut log = EventLog::default();
    let at = |s| SimTime::from_secs(s);
    for (t, event) in [
        (
            1,
            Event::NodeCrashed {
                node: NodeId::broker(2),
            },
        ),
        (
            2,
            Event::ControllerElected {
                broker: kplay_core::BrokerId(3),
                epoch: 2,
            },
        ),
        (3, Event::ZkSessionExpired { session: 7 }),
    ] {
        log.absorb(&TraceEvent { at: at(t), event });
    }
    assert_eq!(log.added, 3);
    let all: Vec<&str> = log
        .newest(&Kind::ALL, "")
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(
        all,
        [
            "ZooKeeper session 0x7 expired",
            "controller moved to broker 3 (epoch 2)",
            "broker 2 died"
        ]
    );
    let faults: Vec<Kind> = log.newest(&[Kind::Fault], "").map(|l| l.kind).collect();
    assert_eq!(faults, [Kind::Fault]);
    assert_eq!(
        log.newest(&Kind::ALL, "BROKER 3").count(),
        1,
        "search ignores case"
    );
}

#[wasm_bindgen_test]
fn a_panic_shows_an_alert_with_the_link_to_report_instead_of_a_blank_page() {
    let document = gloo_utils::document();
    kplay_web::report_panic("panicked at core/src/sim/mod.rs:1:1: <b>boom</b>");
    let alert = document
        .query_selector(".crash[role=alert]")
        .unwrap()
        .unwrap();
    let text = alert.text_content().unwrap();
    assert!(text.contains("kplay stopped because of a bug"), "{text}");
    assert!(
        text.contains("<b>boom</b>"),
        "the message is text, not HTML"
    );
    assert_eq!(alert.query_selector("b").unwrap(), None);
    let link = web_sys::window().unwrap().location().href().unwrap();
    assert!(text.contains(&link), "{text} names {link}");
    assert_eq!(
        document.body().unwrap().first_element_child(),
        Some(alert.clone())
    );
    alert.remove();
}

/// Share fragments as a person might paste or mangle them: every one is answered.
#[wasm_bindgen_test]
fn thousands_of_mangled_share_fragments_are_refused_or_opened_never_panic() {
    let good = url::fragment(
        &share::encode(&lessons::get("replication-and-isr").unwrap()),
        SimTime::from_ms(1_500),
    );
    let mut rng = kplay_core::rng::Rng::new(7);
    let mut refused = 0;
    for i in 0..2_000u64 {
        let mut bytes = good.clone().into_bytes();
        match i % 3 {
            0 => bytes.truncate(rng.below(bytes.len() as u64) as usize),
            1 => {
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(bytes.len() as u64) as usize;
                    bytes[at] = b"&=#t.s-_19Az%"[rng.below(13) as usize];
                }
            }
            _ => bytes = (0..rng.below(300)).map(|_| rng.below(256) as u8).collect(),
        }
        if url::parse(&String::from_utf8_lossy(&bytes)).is_err() {
            refused += 1;
        }
    }
    assert!(refused > 1_000, "{refused} of 2000 refused");
}

/// Dispatches frames until the page has caught up with where it was sent.
fn settle(
    mut p: std::rc::Rc<kplay_web::state::Playground>,
) -> std::rc::Rc<kplay_web::state::Playground> {
    use yew::Reducible;
    for _ in 0..10_000 {
        if p.get().target.is_none() {
            break;
        }
        p = p.reduce(kplay_web::state::Action::Frame { wall_ms: 16.0 });
    }
    p
}

#[wasm_bindgen_test]
fn terminal_commands_are_recorded_branch_after_a_scrub_and_a_share_link_replays_them() {
    use kplay_web::state::{Action, Playground};
    use std::rc::Rc;
    use yew::Reducible;
    let mut p = Rc::new(Playground::open(None));
    p = p.reduce(Action::TogglePlay);
    let go =
        |p: Rc<Playground>, secs: u64| settle(p.reduce(Action::Seek(SimTime::from_secs(secs))));
    p = go(p, 10);
    // Not the controller: the topic created below needs one.
    let controller = p.get().sim.controller().expect("a controller by 10 s").0 .0;
    let victim = if controller == 3 { 2 } else { 3 };
    p = p.reduce(Action::Terminal(format!("kill broker {victim}")));
    p = go(p, 20);
    assert_eq!(p.get().now(), SimTime::from_secs(20), "{:?}", p.get().error);
    p = p.reduce(Action::Terminal(
        "kafka-topics.sh --bootstrap-server localhost:9092 --create --topic audit --partitions 1 --replication-factor 1".into(),
    ));
    assert!(
        p.get().terminal.text().contains("Created topic audit."),
        "paused, the page runs on until the controller answers: {}",
        p.get().terminal.text()
    );
    // Back to 15 s, and a different future: the topic created at 20 s is dropped.
    p = go(p, 15);
    p = p.reduce(Action::Terminal(format!("restart broker {victim}")));
    p = settle(p);
    let lesson_actions = p.get().loaded.actions.len();
    let recorded: Vec<(u64, String)> = p.get().scenario().actions[lesson_actions..]
        .iter()
        .map(|a| (a.at_ms, a.command.describe()))
        .collect();
    assert_eq!(
        recorded,
        [
            (10_001, format!("kill broker {victim}")),
            (15_001, format!("restart broker {victim}"))
        ]
    );
    let fragment = p.get().share_fragment();
    let copy = settle(Rc::new(Playground::open(Some(&format!("#{fragment}")))));
    assert_eq!(copy.get().now(), p.get().now());
    assert_eq!(copy.get().sim.trace_hash(), p.get().sim.trace_hash());
}

#[wasm_bindgen_test]
fn a_point_along_a_route_is_measured_by_length() {
    use kplay_web::components::layout::point_along;
    let route = [(0.0, 0.0), (10.0, 0.0), (10.0, 30.0)];
    assert_eq!(point_along(&route, 0.0), (0.0, 0.0));
    assert_eq!(point_along(&route, 0.25), (10.0, 0.0));
    assert_eq!(point_along(&route, 0.5), (10.0, 10.0));
    assert_eq!(point_along(&route, 1.0), (10.0, 30.0));
}

/// Every lane runs through free space: no point of a route between two nodes lies inside a
/// card, at desktop, projector and phone widths, for 3 and for 6 brokers.
#[wasm_bindgen_test]
fn lanes_never_cross_a_card() {
    use kplay_web::components::layout::{point_along, BrokerRows, Layout};
    for brokers in [3, 6] {
        let mut scenario = lessons::get("consumer-groups").unwrap();
        scenario.cluster.brokers = brokers;
        let mut sim = kplay_core::Sim::new(scenario).unwrap();
        sim.run_until(SimTime::from_secs(6));
        let view = sim.view();
        let rows = |_: &kplay_core::view::BrokerView| BrokerRows {
            chips: 4,
            summary_lines: 1,
        };
        let producers: Vec<NodeId> = view
            .producers
            .iter()
            .map(|p| NodeId::Producer(p.index))
            .chain([NodeId::Admin])
            .collect();
        for (width, scale) in [(960.0, 1.0), (1470.0, 1.3), (374.0, 1.0)] {
            let layout = Layout::new(&view, &rows, producers.clone(), width, 600.0, scale);
            let nodes: Vec<NodeId> = layout.places.keys().copied().collect();
            for &a in &nodes {
                for &b in &nodes {
                    let talks = matches!(
                        (a, b),
                        (
                            NodeId::ZooKeeper(_),
                            NodeId::ZooKeeper(_) | NodeId::Broker(_)
                        ) | (NodeId::Broker(_), _)
                    ) && a != b;
                    if !talks {
                        continue;
                    }
                    let route = layout.route(a, b).expect("drawn nodes have a route");
                    for i in 1..100 {
                        let (x, y) = point_along(&route, i as f64 / 100.0);
                        for (node, p) in layout.places.iter() {
                            let inside = x > p.x + 1.0
                                && x < p.x + p.w - 1.0
                                && y > p.y + 1.0
                                && y < p.y + p.h - 1.0;
                            assert!(
                                !inside,
                                "{brokers} brokers at {width}px: the lane {a} → {b} crosses {node} at ({x:.0}, {y:.0})"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[wasm_bindgen_test]
fn switching_mode_translates_clicked_links_and_names_what_has_no_counterpart() {
    use kplay_core::scenario::{ClusterMode, ScheduledAction};
    use kplay_core::Command;
    use kplay_web::modes;
    let lesson = lessons::get("replication-and-isr").unwrap();
    let at = |at_ms, command| ScheduledAction { at_ms, command };
    let recorded = vec![
        at(1_000, Command::KillBroker { broker: 2 }),
        at(
            2_000,
            Command::CutLinks {
                between: vec![NodeId::broker(1)],
                and: (1..=3).map(NodeId::ZooKeeper).collect(),
                one_way: false,
            },
        ),
        at(3_000, Command::KillZookeeper { server: 2 }),
    ];
    let (kept, dropped) = modes::carry(&lesson, &recorded, ClusterMode::KRaft);
    assert_eq!(kept.len(), 2);
    assert_eq!(
        kept[0], recorded[0],
        "a broker's fault is the same in both modes"
    );
    match &kept[1].command {
        Command::CutLinks { between, and, .. } => {
            assert_eq!(between, &vec![NodeId::broker(1)]);
            assert_eq!(
                and,
                &(3000..3003).map(NodeId::Controller).collect::<Vec<_>>(),
                "a link to ZooKeeper becomes a link to the controllers"
            );
        }
        other => panic!("{}", other.describe()),
    }
    assert_eq!(dropped, vec!["kill zookeeper 2".to_string()]);
    let notice = modes::dropped_notice(&dropped, ClusterMode::KRaft).unwrap();
    assert!(notice.contains("KRaft mode: kill zookeeper 2"), "{notice}");
    assert_eq!(modes::dropped_notice(&[], ClusterMode::KRaft), None);
    assert_eq!(
        url::compare("s=v1.x&t=5&c=1"),
        Some("1"),
        "a link opens the compare view"
    );
    assert_eq!(url::compare("s=v1.x&t=5"), None);
}
