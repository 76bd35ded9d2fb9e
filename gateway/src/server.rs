//! `kplay serve`: TCP and the wall clock around a [`Gateway`]. One thread: the simulation is
//! advanced to the wall clock every millisecond, each broker's port is open while the broker
//! lives, and commands typed on stdin (Kafka's tools and kplay's faults) act on the cluster.

use crate::apis::Addresses;
use crate::frame::{decode_request, Decoded};
use crate::gateway::{Gateway, Output};
use crate::records::Clock;
use bytes::Bytes;
use kplay_core::tools::Shell;
use kplay_core::vec_map::VecMap;
use kplay_core::{BrokerId, Sim, SimTime};
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};

#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub host: String,
    pub base_port: u16,
    /// `socket.request.max.bytes`.
    pub max_request_bytes: usize,
    /// `connections.max.idle.ms`: a connection that sends nothing this long is closed.
    pub idle_timeout: Duration,
    /// Requests a connection may have unanswered before the server stops reading from it.
    pub max_in_flight: usize,
    /// Read commands from stdin.
    pub commands: bool,
}

/// The most simulated time the cluster may run before it listens, waiting for its partitions
/// to have leaders.
const READY_WITHIN_US: u64 = 60_000_000;

/// Runs the cluster forward until every partition has a leader (or a minute has passed), so
/// clients connect to a cluster that is up.
pub fn warm_up(sim: &mut Sim) {
    let ready = |sim: &Sim| {
        let topics = sim.topics();
        !topics.is_empty()
            && topics.iter().all(|(t, &n)| {
                (0..n).all(|p| {
                    sim.partition_state(t, p)
                        .is_some_and(|(l, _, _)| l.is_some())
                })
            })
    };
    let controller = |sim: &Sim| sim.controller().is_some() || sim.active_controller().is_some();
    while sim.now().as_us() < READY_WITHIN_US
        && !(controller(sim) && sim.started() && (ready(sim) || sim.topics().is_empty()))
    {
        let next = sim.now().plus_us(100_000);
        sim.run_until(next);
    }
    // A second more for the controller's UpdateMetadata (KRaft: the metadata log's records)
    // to reach every broker's cache.
    let settled = sim.now().plus_us(1_000_000);
    sim.run_until(settled);
}

struct Conn {
    tx: mpsc::UnboundedSender<Bytes>,
    permits: Arc<Semaphore>,
}

struct State {
    gateway: Gateway,
    conns: VecMap<u32, Conn>,
    shell: Shell,
    start: Instant,
    start_sim: SimTime,
}

type Shared = Rc<RefCell<State>>;

fn log(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Serves until stdin closes (with `commands`) or forever.
pub fn serve(mut sim: Sim, config: ServeConfig) -> std::io::Result<()> {
    warm_up(&mut sim);
    let start_sim = sim.now();
    let unix_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let clock = Clock {
        unix_ms_at_zero: unix_ms - (start_sim.as_us() / 1_000) as i64,
    };
    let addresses = Addresses {
        host: config.host.clone(),
        base_port: config.base_port,
    };
    let gateway = Gateway::new(sim, addresses, clock, config.max_request_bytes);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, run(gateway, config, start_sim))
}

async fn run(gateway: Gateway, config: ServeConfig, start_sim: SimTime) -> std::io::Result<()> {
    let brokers = gateway.sim().scenario().cluster.brokers;
    let state: Shared = Rc::new(RefCell::new(State {
        gateway,
        conns: VecMap::new(),
        shell: Shell::new(),
        start: Instant::now(),
        start_sim,
    }));
    for b in 1..=brokers {
        tokio::task::spawn_local(listen(state.clone(), BrokerId(b), config.clone()));
    }
    log(&format!(
        "kplay serve: {brokers} brokers on {}:{}..{} (simulated time {:.1} s){}",
        config.host,
        config.base_port,
        u32::from(config.base_port) + brokers - 1,
        start_sim.as_secs_f64(),
        if config.commands {
            "; commands on stdin"
        } else {
            ""
        }
    ));
    let ticker = tokio::task::spawn_local(tick(state.clone()));
    if config.commands {
        read_commands(state.clone()).await;
        ticker.abort();
        Ok(())
    } else {
        ticker.await.map_err(std::io::Error::other)
    }
}

/// Advances the simulation to the wall clock, then carries out what the gateway asks.
fn advance(state: &Shared) {
    let mut s = state.borrow_mut();
    let now = s.start_sim.plus_us(s.start.elapsed().as_micros() as u64);
    s.gateway.advance(now);
    let more = {
        let State { shell, gateway, .. } = &mut *s;
        shell.poll(gateway.sim_mut())
    };
    print_output(&more);
    dispatch(&mut s);
}

fn dispatch(s: &mut State) {
    for out in s.gateway.take_outputs() {
        match out {
            Output::Send { client, frame } => {
                if let Some(c) = s.conns.get(&client) {
                    let _ = c.tx.send(frame);
                }
            }
            Output::NoResponse { client } => {
                if let Some(c) = s.conns.get(&client) {
                    c.permits.add_permits(1);
                }
            }
            Output::Close { client, reason } => {
                log(&format!("connection {client} closed: {reason}"));
                s.conns.remove(&client);
            }
        }
    }
}

async fn tick(state: Shared) {
    let mut interval = tokio::time::interval(Duration::from_millis(1));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        interval.tick().await;
        advance(&state);
    }
}

/// Broker `broker`'s port: open while the broker lives, closed (refusing connections) while
/// it is dead.
async fn listen(state: Shared, broker: BrokerId, config: ServeConfig) {
    let port = config.base_port as u32 + broker.0 - 1;
    let address = format!("{}:{port}", config.host);
    let alive = |state: &Shared| state.borrow().gateway.broker_alive(broker);
    loop {
        while !alive(&state) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let listener = match TcpListener::bind(&address).await {
            Ok(l) => l,
            Err(e) => {
                log(&format!("broker {broker}: cannot listen on {address}: {e}"));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    if let Ok((stream, _)) = accepted {
                        let _ = stream.set_nodelay(true);
                        tokio::task::spawn_local(connection(state.clone(), broker, stream, config.clone()));
                    }
                }
                _ = tokio::time::sleep(Duration::from_millis(20)) => {
                    if !alive(&state) {
                        break;
                    }
                }
            }
        }
        drop(listener);
        log(&format!(
            "broker {broker}: port {port} closed (the broker is down)"
        ));
    }
}

async fn connection(state: Shared, broker: BrokerId, stream: TcpStream, config: ServeConfig) {
    let Some(client) = state.borrow_mut().gateway.connect(broker) else {
        return;
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    let permits = Arc::new(Semaphore::new(config.max_in_flight));
    state.borrow_mut().conns.insert(
        client,
        Conn {
            tx,
            permits: permits.clone(),
        },
    );
    let (reader, mut writer) = stream.into_split();
    let reading = tokio::task::spawn_local(read_requests(
        state.clone(),
        client,
        permits.clone(),
        config.clone(),
        reader,
    ));
    // Writes responses until the gateway closes the connection (the sender is dropped).
    while let Some(frame) = rx.recv().await {
        if writer.write_all(&frame).await.is_err() {
            break;
        }
        permits.add_permits(1);
    }
    reading.abort();
    let _ = writer.shutdown().await;
    let mut s = state.borrow_mut();
    s.conns.remove(&client);
    s.gateway.disconnect(client);
}

/// Reads frames and hands them to the gateway; at most `max_in_flight` unanswered.
async fn read_requests(
    state: Shared,
    client: u32,
    permits: Arc<Semaphore>,
    config: ServeConfig,
    mut reader: tokio::net::tcp::OwnedReadHalf,
) {
    // Dropping the connection's sender ends its writer, which tells the gateway.
    let close = |state: &Shared, reason: String| {
        log(&format!("connection {client} closed: {reason}"));
        state.borrow_mut().conns.remove(&client);
    };
    loop {
        let Ok(permit) = permits.acquire().await else {
            return;
        };
        permit.forget();
        let mut size = [0u8; 4];
        let read = tokio::time::timeout(config.idle_timeout, reader.read_exact(&mut size)).await;
        match read {
            Err(_) => return close(&state, "idle longer than connections.max.idle.ms".into()),
            Ok(Err(_)) => return close(&state, "the client closed it".into()),
            Ok(Ok(_)) => {}
        }
        let size = i32::from_be_bytes(size);
        if size < 0 || size as usize > config.max_request_bytes {
            return close(
                &state,
                format!(
                    "a request of {size} bytes is over socket.request.max.bytes ({})",
                    config.max_request_bytes
                ),
            );
        }
        let mut body = vec![0u8; size as usize];
        match tokio::time::timeout(config.idle_timeout, reader.read_exact(&mut body)).await {
            Ok(Ok(_)) => {}
            _ => {
                return close(
                    &state,
                    "the client stopped half-way through a request".into(),
                )
            }
        }
        // Decoding is the one place untrusted bytes meet a third-party parser: a panic there
        // closes this connection only.
        let decoded = std::panic::catch_unwind(|| decode_request(Bytes::from(body)))
            .unwrap_or_else(|_| Decoded::Close("the request could not be decoded".into()));
        // Run the cluster up to now first: the request leaves the client at the current time.
        advance(&state);
        let mut s = state.borrow_mut();
        match decoded {
            Decoded::Request(request) => s.gateway.request(client, *request),
            Decoded::Answer(frame) => {
                if let Some(c) = s.conns.get(&client) {
                    let _ = c.tx.send(frame);
                }
            }
            Decoded::Close(reason) => {
                drop(s);
                return close(&state, reason);
            }
        }
        dispatch(&mut s);
    }
}

fn print_output(out: &kplay_core::tools::Output) {
    let _ = std::io::stdout().write_all(out.stdout.as_bytes());
    let _ = std::io::stderr().write_all(out.stderr.as_bytes());
    let _ = std::io::stdout().flush();
}

/// Kafka's tools and kplay's fault commands, one per line, until stdin closes.
async fn read_commands(state: Shared) {
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        advance(&state);
        let out = {
            let mut s = state.borrow_mut();
            let State { shell, gateway, .. } = &mut *s;
            shell.execute(gateway.sim_mut(), &line)
        };
        print_output(&out);
    }
}
