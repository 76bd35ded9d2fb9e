//! The gateway without sockets: connections, requests and answers in, response frames out, over
//! a [`Sim`] whose clock the caller advances. `server` puts TCP and the wall clock around it;
//! tests drive it directly.
//!
//! Each connection belongs to one broker (the port the client dialled). A request becomes kplay
//! messages from the client's own node (`client:N`) to that broker over the simulated network;
//! the broker answers like any other client's request. Kafka answers a connection's requests in
//! the order they came, so answers that arrive out of order wait for the ones before them.

use crate::apis::group::ProtocolNames;
use crate::apis::{self, Addresses, Context, Pending, Plan};
use crate::frame::{encode_response, Request};
use crate::records::Clock;
use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ResponseKind};
use kplay_core::ids::NodeId;
use kplay_core::protocol::{Correlation, Message};
use kplay_core::vec_map::VecMap;
use kplay_core::{BrokerId, ClientDelivery, Sim, SimTime};
use std::collections::VecDeque;

/// Record ids of records real clients produce start here, far from the simulated producers'.
const FIRST_CLIENT_RECORD_ID: u64 = 1 << 62;

/// What the caller must do on the sockets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Write this response frame to the client.
    Send { client: u32, frame: Bytes },
    /// The request needs no response (acks=0): the client may send another.
    NoResponse { client: u32 },
    /// Close the client's connection, logging why.
    Close { client: u32, reason: String },
}

/// A request's header: what its response needs.
#[derive(Clone, Copy, Debug)]
struct Header {
    api: ApiKey,
    version: i16,
    correlation_id: i32,
}

#[derive(Debug)]
struct Slot {
    seq: u64,
    correlation_id: i32,
    api: ApiKey,
    version: i16,
    pending: Option<Pending>,
    answers: Vec<Option<Message>>,
    response: Option<Bytes>,
}

#[derive(Debug)]
struct Connection {
    broker: BrokerId,
    next_seq: u64,
    slots: VecDeque<Slot>,
}

#[derive(Debug)]
pub struct Gateway {
    sim: Sim,
    addresses: Addresses,
    clock: Clock,
    max_request_bytes: usize,
    next_client: u32,
    next_correlation: Correlation,
    next_record_id: u64,
    protocols: ProtocolNames,
    connections: VecMap<u32, Connection>,
    /// kplay correlation → (client, slot, index of the message in the slot's plan).
    waiting: VecMap<Correlation, (u32, u64, usize)>,
    outputs: Vec<Output>,
}

impl Gateway {
    pub fn new(sim: Sim, addresses: Addresses, clock: Clock, max_request_bytes: usize) -> Gateway {
        Gateway {
            sim,
            addresses,
            clock,
            max_request_bytes,
            next_client: 0,
            next_correlation: 0,
            next_record_id: FIRST_CLIENT_RECORD_ID,
            protocols: ProtocolNames::default(),
            connections: VecMap::new(),
            waiting: VecMap::new(),
            outputs: Vec::new(),
        }
    }

    pub fn sim(&self) -> &Sim {
        &self.sim
    }
    pub fn sim_mut(&mut self) -> &mut Sim {
        &mut self.sim
    }
    pub fn addresses(&self) -> &Addresses {
        &self.addresses
    }
    pub fn broker_alive(&self, broker: BrokerId) -> bool {
        self.sim.is_alive(NodeId::Broker(broker))
    }
    pub fn connections(&self) -> usize {
        self.connections.len()
    }

    /// A client connected to broker `broker`'s port. `None` when that broker is down (its port
    /// refuses connections).
    pub fn connect(&mut self, broker: BrokerId) -> Option<u32> {
        if !self.broker_alive(broker) {
            return None;
        }
        self.next_client += 1;
        let client = self.next_client;
        self.connections.insert(
            client,
            Connection {
                broker,
                next_seq: 0,
                slots: VecDeque::new(),
            },
        );
        self.sim.client_connected(client, broker);
        Some(client)
    }

    /// The client closed its connection (or the server did).
    pub fn disconnect(&mut self, client: u32) {
        if self.connections.remove(&client).is_some() {
            self.waiting.retain(|_, (c, _, _)| *c != client);
            self.sim.client_closed(client);
        }
    }

    /// A decoded request from a client.
    pub fn request(&mut self, client: u32, request: Request) {
        let Some(conn) = self.connections.get_mut(&client) else {
            return;
        };
        let broker = conn.broker;
        let mut ctx = self.context();
        let Request {
            api,
            version,
            correlation_id,
            body,
        } = request;
        let request = Header {
            api,
            version,
            correlation_id,
        };
        let plan = apis::plan(body, version, &mut ctx);
        let (messages, pending) = match plan {
            Plan::Answer(body) => return self.answer_now(client, &request, &body),
            Plan::Tell(messages) => {
                for m in messages {
                    self.sim.client_send(client, broker, m);
                }
                self.outputs.push(Output::NoResponse { client });
                return;
            }
            Plan::Ask { requests, pending } if requests.is_empty() => {
                let body = apis::respond(pending, Vec::new(), request.version, &self.context());
                return self.answer_now(client, &request, &body);
            }
            Plan::Ask { requests, pending } => (requests, pending),
        };
        let seq = self.push_slot(client, &request, Some(pending), messages.len(), None);
        for (index, mut m) in messages.into_iter().enumerate() {
            self.next_correlation += 1;
            m.set_correlation(self.next_correlation);
            self.waiting
                .insert(self.next_correlation, (client, seq, index));
            self.sim.client_send(client, broker, m);
        }
    }

    /// Queues a response that needs nothing from the cluster (behind earlier ones).
    fn answer_now(&mut self, client: u32, request: &Header, body: &ResponseKind) {
        let frame = encode_response(request.correlation_id, request.api, request.version, body);
        self.push_slot(client, request, None, 0, Some(frame));
    }

    fn push_slot(
        &mut self,
        client: u32,
        request: &Header,
        pending: Option<Pending>,
        expected: usize,
        response: Option<Bytes>,
    ) -> u64 {
        let Some(conn) = self.connections.get_mut(&client) else {
            return 0;
        };
        let seq = conn.next_seq;
        conn.next_seq += 1;
        conn.slots.push_back(Slot {
            seq,
            correlation_id: request.correlation_id,
            api: request.api,
            version: request.version,
            pending,
            answers: (0..expected).map(|_| None).collect(),
            response,
        });
        self.flush(client);
        seq
    }

    fn context(&mut self) -> Context<'_> {
        Context {
            sim: &self.sim,
            addresses: &self.addresses,
            clock: self.clock,
            max_request_bytes: self.max_request_bytes,
            next_record_id: &mut self.next_record_id,
            protocols: &mut self.protocols,
        }
    }

    /// Sends the responses at the head of the connection's queue that are ready.
    fn flush(&mut self, client: u32) {
        let Some(conn) = self.connections.get_mut(&client) else {
            return;
        };
        while conn.slots.front().is_some_and(|s| s.response.is_some()) {
            if let Some(frame) = conn.slots.pop_front().and_then(|s| s.response) {
                self.outputs.push(Output::Send { client, frame });
            }
        }
    }

    /// Runs the simulation to `until`, then turns what reached the clients into responses.
    pub fn advance(&mut self, until: SimTime) {
        self.sim.run_until(until);
        for delivery in self.sim.take_client_deliveries() {
            match delivery {
                ClientDelivery::Message { client, msg, .. } => self.answer(client, msg),
                ClientDelivery::Disconnected { client, broker } => {
                    self.close(client, format!("broker {broker} died"));
                }
            }
        }
    }

    fn close(&mut self, client: u32, reason: String) {
        if self.connections.contains_key(&client) {
            self.disconnect(client);
            self.outputs.push(Output::Close { client, reason });
        }
    }

    fn answer(&mut self, client: u32, msg: Message) {
        let Some(correlation) = msg.correlation() else {
            return;
        };
        let Some((owner, seq, index)) = self.waiting.remove(&correlation) else {
            return;
        };
        if owner != client {
            return;
        }
        let Some(slot) = self
            .connections
            .get_mut(&client)
            .and_then(|c| c.slots.iter_mut().find(|s| s.seq == seq))
        else {
            return;
        };
        if let Some(a) = slot.answers.get_mut(index) {
            *a = Some(msg);
        }
        if slot.answers.iter().any(Option::is_none) {
            return;
        }
        let answers: Vec<Message> = slot.answers.drain(..).flatten().collect();
        let (pending, api, version, correlation_id) = (
            slot.pending.take(),
            slot.api,
            slot.version,
            slot.correlation_id,
        );
        let Some(pending) = pending else { return };
        let ctx = self.context();
        let body = apis::respond(pending, answers, version, &ctx);
        let frame = encode_response(correlation_id, api, version, &body);
        if let Some(slot) = self
            .connections
            .get_mut(&client)
            .and_then(|c| c.slots.iter_mut().find(|s| s.seq == seq))
        {
            slot.response = Some(frame);
        }
        self.flush(client);
    }

    /// What the sockets must do, in order.
    pub fn take_outputs(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.outputs)
    }
}
