//! Leader election (ZooKeeper's FastLeaderElection): a looking server votes for the best
//! server it knows (higher epoch, then zxid, then sid), adopts better votes it hears, and
//! decides once a quorum agrees and no better vote comes within `finalizeWait`. A server that
//! is not looking answers a looking one with whom it follows, so a restarted server rejoins.

use super::{ZkServer, ZkServerTimer};
use crate::ids::NodeId;
use crate::node::Ctx;
use crate::trace::Event;
use crate::zookeeper::messages::{PeerState, Vote, ZkMessage};

/// FastLeaderElection's `finalizeWait`: how long a server waits for a better vote once a
/// majority agrees.
const FINALIZE_WAIT_MS: u64 = 200;
/// FastLeaderElection resends its notifications from 200 ms, doubling up to 60 s.
pub(super) const RESEND_MIN_MS: u64 = 200;
const RESEND_MAX_MS: u64 = 60_000;

impl ZkServer {
    pub(super) fn look_for_leader(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        let was_serving = self.state != PeerState::Looking;
        self.state = PeerState::Looking;
        self.generation += 1;
        self.leader = None;
        self.follower = None;
        self.close_client_connections(ctx);
        if was_serving {
            ctx.trace(Event::ZkLookingForLeader { server: self.sid });
        }
        self.round += 1;
        self.vote = self.own_vote();
        self.received_votes.clear();
        self.received_votes.insert(self.sid, self.vote);
        self.out_of_election.clear();
        self.resend_ms = RESEND_MIN_MS;
        self.broadcast_vote(ctx);
        ctx.timer_in_ms(
            self.resend_ms,
            ZkServerTimer::ElectionResend {
                generation: self.generation,
            },
        );
        // A lone server (ensemble of one) has its quorum already.
        self.check_election_quorum(ctx);
    }

    fn own_vote(&self) -> Vote {
        Vote {
            leader: self.sid,
            zxid: self.tree.last_zxid(),
            epoch: self.current_epoch,
        }
    }

    fn broadcast_vote(&self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        for peer in self.peers() {
            ctx.send_zk(NodeId::ZooKeeper(peer), self.notification());
        }
    }

    fn notification(&self) -> ZkMessage {
        ZkMessage::Notification {
            vote: self.vote,
            round: self.round,
            state: self.state,
        }
    }

    pub(super) fn on_notification(
        &mut self,
        from: u32,
        vote: Vote,
        round: u64,
        state: PeerState,
        ctx: &mut Ctx<'_, ZkServerTimer>,
    ) {
        if self.state != PeerState::Looking {
            // Tell a looking peer who leads (this is how a restarted server joins).
            if state == PeerState::Looking {
                let current = Vote {
                    leader: self.leader_id().unwrap_or(self.vote.leader),
                    zxid: self.tree.last_zxid(),
                    epoch: self.current_epoch,
                };
                ctx.send_zk(
                    NodeId::ZooKeeper(from),
                    ZkMessage::Notification {
                        vote: current,
                        round: self.round,
                        state: self.state,
                    },
                );
            }
            return;
        }
        match state {
            PeerState::Looking => {
                if round > self.round {
                    self.round = round;
                    self.received_votes.clear();
                    let own = self.own_vote();
                    self.vote = if vote.beats(&own) { vote } else { own };
                    self.received_votes.insert(self.sid, self.vote);
                    self.broadcast_vote(ctx);
                } else if round < self.round {
                    ctx.send_zk(NodeId::ZooKeeper(from), self.notification());
                    return;
                } else if vote.beats(&self.vote) {
                    self.vote = vote;
                    self.received_votes.insert(self.sid, self.vote);
                    self.broadcast_vote(ctx);
                }
                self.received_votes.insert(from, vote);
                self.check_election_quorum(ctx);
            }
            PeerState::Following | PeerState::Leading => {
                self.out_of_election.insert(from, (vote, state));
                // Join an existing leader once a majority follows it and it says it leads.
                let backers = self
                    .out_of_election
                    .values()
                    .filter(|(v, _)| v.leader == vote.leader)
                    .count();
                let leader_confirms = self
                    .out_of_election
                    .get(&vote.leader)
                    .is_some_and(|(_, s)| *s == PeerState::Leading);
                if backers + 1 >= self.quorum() && leader_confirms {
                    self.vote = vote;
                    self.round = self.round.max(round);
                    self.become_follower(vote.leader, ctx);
                }
            }
        }
    }

    fn check_election_quorum(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        let agree = self
            .received_votes
            .values()
            .filter(|v| **v == self.vote)
            .count();
        if agree >= self.quorum() {
            let timer = ZkServerTimer::Finalize {
                generation: self.generation,
                round: self.round,
            };
            if self.ensemble.len() == 1 {
                self.decide(ctx);
            } else {
                ctx.timer_in_ms(FINALIZE_WAIT_MS, timer);
            }
        }
    }

    /// No decision yet: send the vote again, waiting twice as long each time.
    pub(super) fn resend_votes(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        self.broadcast_vote(ctx);
        self.resend_ms = (self.resend_ms * 2).min(RESEND_MAX_MS);
        ctx.timer_in_ms(
            self.resend_ms,
            ZkServerTimer::ElectionResend {
                generation: self.generation,
            },
        );
    }

    /// `finalizeWait` passed with no better vote: decide, if the quorum still agrees.
    pub(super) fn finalize_election(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        let agree = self
            .received_votes
            .values()
            .filter(|v| **v == self.vote)
            .count();
        if self.state == PeerState::Looking && agree >= self.quorum() {
            self.decide(ctx);
        }
    }

    fn decide(&mut self, ctx: &mut Ctx<'_, ZkServerTimer>) {
        if self.vote.leader == self.sid {
            self.become_leader(ctx);
        } else {
            self.become_follower(self.vote.leader, ctx);
        }
    }
}
