//! One bind of a carrier and the task that keeps it up: connect, bind, run the session,
//! and after a loss wait (exponential backoff with jitter, or the long auth-failure
//! backoff with the alarm raised) before trying again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;
use super::inbound::{EsmeInbound, InboundConsumer};
use super::status::{BindPhase, BindRole, CarrierStatus};
use super::throttle::TokenBucket;
use crate::config::Carrier;
use crate::smpp::esme::{self, BindError, BindSpec};
use crate::smpp::metrics::{self as m, SessionLabels};
use crate::smpp::transport::{self, TlsClient};
use crate::smpp::{
    BindKind, CloseReason, Role, Session, SessionConfig, SessionHandle, StatusClass, classify,
};

/// Everything the binds of one carrier share.
pub(crate) struct CarrierContext {
    pub(crate) config: Carrier,
    pub(crate) name: Arc<str>,
    pub(crate) tls: Option<TlsClient>,
    pub(crate) consumer: Arc<dyn InboundConsumer>,
    pub(crate) status: watch::Sender<CarrierStatus>,
    pub(crate) drain_timeout: Duration,
}

impl CarrierContext {
    fn set_phase(&self, slot: &BindSlot, phase: BindPhase, error: Option<String>) {
        let mut up = 0;
        self.status.send_modify(|status| {
            let bind = &mut status.binds[slot.index];
            bind.phase = phase;
            if error.is_some() {
                bind.last_error = error;
            }
            up = status.binds_up();
        });
        metrics::gauge!(m::BINDS_UP, "carrier" => self.name.to_string()).set(up as f64);
    }

    fn set_alarm(&self, on: bool) {
        self.status.send_if_modified(|status| {
            let changed = status.auth_alarm != on;
            status.auth_alarm = on;
            changed
        });
        metrics::gauge!(m::AUTH_ALARM, "carrier" => self.name.to_string()).set(if on {
            1.0
        } else {
            0.0
        });
    }

    fn count_reconnect(&self, slot: &BindSlot) {
        self.status
            .send_modify(|status| status.binds[slot.index].reconnects += 1);
        metrics::counter!(m::RECONNECTS, "carrier" => self.name.to_string()).increment(1);
    }

    fn session_config(&self, slot: &BindSlot) -> SessionConfig {
        let c = &self.config;
        let labels = SessionLabels {
            carrier: self.name.clone(),
            bind: slot.name.clone(),
        };
        SessionConfig {
            window: usize::from(c.window),
            inbound_window: usize::from(c.window),
            max_frame_len: c.max_pdu_size,
            response_timeout: c.timers.response_timeout,
            enquire_link_interval: c.timers.enquire_link_interval,
            enquire_link_timeout: c.timers.enquire_link_timeout,
            bind_timeout: c.timers.bind_timeout,
            unbind_timeout: c.timers.unbind_timeout,
            drain_timeout: self.drain_timeout,
            ..SessionConfig::new(Role::Esme, labels)
        }
    }

    fn bind_spec(&self, role: BindRole) -> BindSpec {
        let c = &self.config;
        BindSpec {
            kind: match role {
                BindRole::Transceiver => BindKind::Transceiver,
                BindRole::Transmitter => BindKind::Transmitter,
                BindRole::Receiver => BindKind::Receiver,
            },
            system_id: c.system_id.clone(),
            password: c.password.expose().to_string(),
            system_type: c.system_type.clone(),
            interface_version: c.interface_version.as_u8(),
            address_range: c.address_range.clone(),
        }
    }
}

/// One bind: its session while bound, its throttle state and its token bucket.
pub(crate) struct BindSlot {
    pub(crate) index: usize,
    pub(crate) name: Arc<str>,
    pub(crate) role: BindRole,
    session: Mutex<Option<SessionHandle>>,
    pause: Mutex<Pause>,
    pub(crate) bucket: Option<TokenBucket>,
}

#[derive(Debug, Default)]
struct Pause {
    until: Option<Instant>,
    step: Option<Duration>,
}

impl BindSlot {
    pub(crate) fn new(
        index: usize,
        name: String,
        role: BindRole,
        bucket: Option<TokenBucket>,
    ) -> Self {
        Self {
            index,
            name: Arc::from(name),
            role,
            session: Mutex::new(None),
            pause: Mutex::new(Pause::default()),
            bucket,
        }
    }

    /// True for binds that may submit (transceivers and transmitters).
    pub(crate) fn transmits(&self) -> bool {
        self.role != BindRole::Receiver
    }

    /// The session, when it is bound for submitting.
    pub(crate) fn submit_session(&self) -> Option<SessionHandle> {
        let session = self.session.lock().unwrap_or_else(|e| e.into_inner());
        session.clone().filter(|s| s.state().can_submit())
    }

    fn set_session(&self, session: Option<SessionHandle>) {
        *self.session.lock().unwrap_or_else(|e| e.into_inner()) = session;
    }

    /// When the throttle pause ends, if the bind is paused.
    pub(crate) fn paused_until(&self, now: Instant) -> Option<Instant> {
        let pause = self.pause.lock().unwrap_or_else(|e| e.into_inner());
        pause.until.filter(|until| *until > now)
    }

    /// Pauses the bind after a throttling answer: `initial` the first time, doubling on
    /// each consecutive one up to `max`. Returns the pause.
    pub(crate) fn pause(&self, initial: Duration, max: Duration) -> Duration {
        let mut pause = self.pause.lock().unwrap_or_else(|e| e.into_inner());
        let step = pause
            .step
            .map_or(initial, |s| (s * 2).min(max))
            .max(initial.min(max));
        pause.step = Some(step);
        pause.until = Some(Instant::now() + step);
        step
    }

    /// An accepted submit ends the throttling streak.
    pub(crate) fn clear_pause(&self) {
        let mut pause = self.pause.lock().unwrap_or_else(|e| e.into_inner());
        pause.step = None;
    }
}

/// How one connection attempt ended.
enum Attempt {
    /// The daemon is stopping.
    Cancelled,
    /// Connect or bind failed.
    Failed(String),
    /// The carrier refused the credentials or said already bound.
    AuthRefused(String),
    /// A bound session ended.
    Lost(String),
}

/// Keeps one bind up until `cancel` fires.
pub(crate) async fn supervise(
    ctx: Arc<CarrierContext>,
    slot: Arc<BindSlot>,
    cancel: CancellationToken,
) {
    let timers = &ctx.config.timers;
    let mut backoff = Backoff::new(timers.reconnect_min, timers.reconnect_max);
    let mut first = true;
    while !cancel.is_cancelled() {
        if !first {
            ctx.count_reconnect(&slot);
        }
        first = false;
        let (wait, phase, error) = match connect_and_serve(&ctx, &slot, &cancel).await {
            Attempt::Cancelled => break,
            Attempt::AuthRefused(error) => {
                tracing::error!(carrier = %ctx.name, bind = %slot.name, %error,
                    "carrier refused the bind; backing off");
                ctx.set_alarm(true);
                (timers.auth_failure_backoff, BindPhase::AuthRefused, error)
            }
            Attempt::Failed(error) => {
                tracing::warn!(carrier = %ctx.name, bind = %slot.name, %error, "bind attempt failed");
                (backoff.next_delay(), BindPhase::Backoff, error)
            }
            Attempt::Lost(error) => {
                tracing::warn!(carrier = %ctx.name, bind = %slot.name, %error, "bind lost");
                backoff.reset();
                (backoff.next_delay(), BindPhase::Backoff, error)
            }
        };
        ctx.set_phase(&slot, phase, Some(error));
        tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep(wait) => {}
        }
    }
    ctx.set_phase(&slot, BindPhase::Idle, None);
}

async fn connect_and_serve(
    ctx: &CarrierContext,
    slot: &BindSlot,
    cancel: &CancellationToken,
) -> Attempt {
    let c = &ctx.config;
    ctx.set_phase(slot, BindPhase::Connecting, None);
    let connect = transport::connect(&c.host, c.port, ctx.tls.as_ref(), c.timers.connect_timeout);
    let (reader, writer) = tokio::select! {
        () = cancel.cancelled() => return Attempt::Cancelled,
        connected = connect => match connected {
            Ok(halves) => halves,
            Err(err) => return Attempt::Failed(err.to_string()),
        },
    };
    let inbound = EsmeInbound {
        consumer: ctx.consumer.clone(),
        carrier: ctx.name.clone(),
        bind: slot.name.clone(),
        timeout: c.timers.response_timeout,
    };
    let config = ctx.session_config(slot);
    let (session, handle) = Session::new(reader, writer, config, inbound, cancel);
    let run = session.run();
    tokio::pin!(run);
    ctx.set_phase(slot, BindPhase::Binding, None);
    let spec = ctx.bind_spec(slot.role);
    // Both futures make progress together: the session carries the bind exchange.
    let bound = tokio::select! {
        result = &mut run => {
            return match result {
                Ok(_) if cancel.is_cancelled() => Attempt::Cancelled,
                Ok(reason) => Attempt::Failed(format!("closed before bind ({reason:?})")),
                Err(err) => Attempt::Failed(format!("closed before bind: {err}")),
            };
        }
        bound = esme::bind(&handle, &spec, c.timers.bind_timeout) => bound,
    };
    if let Err(err) = bound {
        handle.close();
        let _ = run.await;
        return match err {
            BindError::Refused(status) if classify(status) == StatusClass::Auth => {
                Attempt::AuthRefused(err.to_string())
            }
            _ if cancel.is_cancelled() => Attempt::Cancelled,
            _ => Attempt::Failed(err.to_string()),
        };
    }
    ctx.set_alarm(false);
    tracing::info!(carrier = %ctx.name, bind = %slot.name, "bound");
    slot.set_session(Some(handle.clone()));
    ctx.set_phase(slot, BindPhase::Session(handle.state()), None);
    let mut states = handle.watch_state();
    let result = loop {
        // Cancel-safe: `changed()` loses nothing; `run` is pinned and resumed.
        tokio::select! {
            result = &mut run => break result,
            Ok(()) = states.changed() => {
                let state = *states.borrow_and_update();
                ctx.set_phase(slot, BindPhase::Session(state), None);
            }
        }
    };
    slot.set_session(None);
    match result {
        Ok(CloseReason::Shutdown) if cancel.is_cancelled() => Attempt::Cancelled,
        Ok(reason) => Attempt::Lost(format!("session ended ({reason:?})")),
        Err(err) => Attempt::Lost(err.to_string()),
    }
}
