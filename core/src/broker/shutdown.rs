//! Controlled shutdown, the broker's side (`KafkaServer.controlledShutdown`, what
//! `kafka-server-stop.sh`'s SIGTERM starts): ask the controller to move leadership away, ask
//! again after `controlled.shutdown.retry.backoff.ms` while it still leads something (at most
//! `controlled.shutdown.max.retries` times), then close the ZooKeeper session, so the
//! registration goes at once instead of after the session timeout, and stop. With
//! `controlled.shutdown.enable=false` only the last step happens.

use super::{Broker, BrokerTimer};
use crate::ids::TopicPartition;
use crate::node::Ctx;
use crate::protocol::msg;
use crate::protocol::{Correlation, ErrorCode, Message};

/// How long the broker waits for the controller's answer (`controller.socket.timeout.ms`).
const CONTROLLED_SHUTDOWN_TIMEOUT_MS: u64 = 30_000;

#[derive(Clone, Debug, Default)]
pub(super) struct ControlledShutdown {
    /// Requests sent so far.
    attempts: u32,
    in_flight: Option<Correlation>,
}

impl Broker {
    /// A clean stop: the controlled shutdown, then the process ends.
    pub fn stop(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        if self.shutdown.is_some() {
            return;
        }
        if self.kraft.is_some() && self.config.controlled_shutdown_enable {
            self.shutdown = Some(ControlledShutdown::default());
            return self.begin_kraft_shutdown(ctx);
        }
        if !self.config.controlled_shutdown_enable || !self.registered {
            return self.finish_shutdown(ctx);
        }
        self.shutdown = Some(ControlledShutdown::default());
        self.request_controlled_shutdown(ctx);
    }

    /// Whether a controlled shutdown is under way.
    pub fn stopping(&self) -> bool {
        self.shutdown.is_some()
    }

    pub(super) fn request_controlled_shutdown(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        let max = self.config.controlled_shutdown_max_retries;
        let controller = self.controller_node();
        let Some(state) = self.shutdown.as_mut() else {
            return;
        };
        if state.attempts >= max {
            // "Proceeding to do an unclean shutdown as all the controlled shutdown attempts
            // failed".
            return self.finish_shutdown(ctx);
        }
        state.attempts += 1;
        let Some(controller) = controller else {
            return self.retry_controlled_shutdown(ctx);
        };
        let correlation = self.correlation();
        if let Some(state) = self.shutdown.as_mut() {
            state.in_flight = Some(correlation);
        }
        ctx.send(
            controller,
            Message::ControlledShutdownRequest(msg::ControlledShutdownRequest {
                correlation,
                broker_id: self.id,
            }),
        );
        ctx.timer_in_ms(
            CONTROLLED_SHUTDOWN_TIMEOUT_MS,
            BrokerTimer::ControlledShutdownTimeout { correlation },
        );
    }

    fn retry_controlled_shutdown(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        if let Some(state) = self.shutdown.as_mut() {
            state.in_flight = None;
        }
        ctx.timer_in_ms(
            self.config.controlled_shutdown_retry_backoff_ms,
            BrokerTimer::ControlledShutdownRetry,
        );
    }

    pub(super) fn on_controlled_shutdown_response(
        &mut self,
        correlation: Correlation,
        error: Option<ErrorCode>,
        remaining: Vec<TopicPartition>,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        if self.shutdown.as_ref().and_then(|s| s.in_flight) != Some(correlation) {
            return;
        }
        if error.is_none() && remaining.is_empty() {
            self.finish_shutdown(ctx);
        } else {
            self.retry_controlled_shutdown(ctx);
        }
    }

    pub(super) fn on_controlled_shutdown_timeout(
        &mut self,
        correlation: Correlation,
        ctx: &mut Ctx<'_, BrokerTimer>,
    ) {
        if self.shutdown.as_ref().and_then(|s| s.in_flight) == Some(correlation) {
            self.retry_controlled_shutdown(ctx);
        }
    }

    /// Closes the ZooKeeper session (its ephemeral registration, and `/controller` if this
    /// broker holds it, go at once) and ends the process.
    pub(super) fn finish_shutdown(&mut self, ctx: &mut Ctx<'_, BrokerTimer>) {
        self.zk.close(ctx);
        ctx.close_self();
    }
}
