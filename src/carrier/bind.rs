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
    BindKind, CloseReason, Role, Session, SessionConfig, SessionError, SessionHandle, StatusClass,
    classify,
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
#[derive(Debug)]
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

impl Attempt {
    /// Says how the attempt ended, once the bind's status shows it.
    fn log(&self, carrier: &str, bind: &str) {
        match self {
            Self::Cancelled => {}
            Self::AuthRefused(error) => {
                tracing::error!(carrier, bind, %error, "carrier refused the bind; backing off");
            }
            Self::Failed(error) => tracing::warn!(carrier, bind, %error, "bind attempt failed"),
            Self::Lost(error) => tracing::warn!(carrier, bind, %error, "bind lost"),
        }
    }
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
        let attempt = connect_and_serve(&ctx, &slot, &cancel).await;
        let (wait, phase, error) = match &attempt {
            Attempt::Cancelled => break,
            Attempt::AuthRefused(error) => {
                ctx.set_alarm(true);
                (timers.auth_failure_backoff, BindPhase::AuthRefused, error)
            }
            Attempt::Failed(error) => (backoff.next_delay(), BindPhase::Backoff, error),
            Attempt::Lost(error) => {
                backoff.reset();
                (backoff.next_delay(), BindPhase::Backoff, error)
            }
        };
        // Status and metrics first, then the log line: whoever reads the line and then
        // looks at /status or /metrics sees what it announces.
        ctx.set_phase(&slot, phase, Some(error.clone()));
        attempt.log(&ctx.name, &slot.name);
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
    let bind = esme::bind(&handle, &spec, c.timers.bind_timeout);
    tokio::pin!(bind);
    // Both futures make progress together: the session carries the bind exchange. A
    // carrier that refuses the bind often closes the connection at once, and then the
    // session ends in the very poll that hands the refusal to `bind`: the session's
    // end does not say whether the bind was answered, `bind` does.
    let bound = tokio::select! {
        // Looks at the bind's answer first when both are ready.
        biased;
        // Cancel-safe: neither future is dropped when the other arm wins. Both are
        // pinned out here; `bind` is awaited to its end below, and `run` is resumed
        // after the bind.
        bound = &mut bind => bound,
        ended = &mut run => {
            // The session answers every caller before it returns, so this does not
            // wait: it yields the peer's bind_resp when one arrived before the close.
            let bound = bind.await;
            return ended_while_binding(bound, ended, cancel.is_cancelled());
        }
    };
    if let Err(err) = bound {
        handle.close();
        let _ = run.await;
        return bind_failed(&err, cancel.is_cancelled());
    }
    ctx.set_alarm(false);
    slot.set_session(Some(handle.clone()));
    ctx.set_phase(slot, BindPhase::Session(handle.state()), None);
    // Logged once the bind counts as up in /status and smsbridge_smpp_binds_up.
    tracing::info!(carrier = %ctx.name, bind = %slot.name, "bound");
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

/// What a bind that got no success answer means for the next attempt.
fn bind_failed(err: &BindError, cancelled: bool) -> Attempt {
    match err {
        BindError::Refused(status) if classify(*status) == StatusClass::Auth => {
            Attempt::AuthRefused(err.to_string())
        }
        _ if cancelled => Attempt::Cancelled,
        _ => Attempt::Failed(err.to_string()),
    }
}

/// The session ended while the bind was under way: a refusal the peer sent before
/// closing is still a refusal (and gets the auth-failure backoff).
fn ended_while_binding(
    bound: Result<String, BindError>,
    ended: Result<CloseReason, SessionError>,
    cancelled: bool,
) -> Attempt {
    if let Err(err @ BindError::Refused(_)) = &bound {
        return bind_failed(err, cancelled);
    }
    let end = match ended {
        Ok(_) if cancelled => return Attempt::Cancelled,
        Ok(reason) => format!("{reason:?}"),
        Err(err) => err.to_string(),
    };
    if bound.is_ok() {
        // Bound and closed at once: a failed attempt rather than a lost session, so a
        // carrier that does this again and again meets a growing backoff.
        Attempt::Failed(format!("closed right after the bind: {end}"))
    } else {
        Attempt::Failed(format!("closed before bind: {end}"))
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use rusmpp::{CommandId, CommandStatus};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;
    use crate::carrier::inbound::NotStored;
    use crate::carrier::status::BindStatus;
    use crate::config::Config;
    use crate::smpp::frame::{self, Decoded, Frame};

    /// Fresh connections to the refusing peer in one test: whether the refusal and the
    /// close reach the session in one read or in two depends on scheduling, so a single
    /// attempt proves little.
    const ATTEMPTS: usize = 200;

    fn context(port: u16) -> CarrierContext {
        let text = format!(
            "[instance]\nname = \"t\"\nstate_dir = \"/tmp/smsbridge-bind-test\"\n\n\
             [[carriers]]\nname = \"refuses\"\nhost = \"127.0.0.1\"\nport = {port}\n\
             system_id = \"smsbridge\"\npassword = \"wrong\"\n\
             [api]\nauth = \"none\"\n"
        );
        let config = Config::from_toml(std::path::Path::new("test.toml"), &text)
            .expect("test config is valid");
        let carrier = config
            .carrier("refuses")
            .expect("carrier configured")
            .clone();
        let status = CarrierStatus {
            name: carrier.name.clone(),
            required: carrier.required,
            auth_alarm: false,
            binds: vec![BindStatus {
                name: "0".into(),
                role: BindRole::Transceiver,
                phase: BindPhase::Idle,
                last_error: None,
                reconnects: 0,
            }],
        };
        CarrierContext {
            name: Arc::from(carrier.name.as_str()),
            config: carrier,
            tls: None,
            consumer: Arc::new(NotStored),
            status: watch::channel(status).0,
            drain_timeout: Duration::from_secs(1),
        }
    }

    /// An SMSC that answers every bind with ESME_RINVPASWD and closes the connection in
    /// the same breath, as many carriers do.
    async fn refuse_and_close(listener: TcpListener) {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut buf = BytesMut::new();
            let bind = loop {
                if let Some(Decoded::Frame(frame)) = frame::decode(&mut buf, 4096).unwrap() {
                    break frame;
                }
                if stream.read_buf(&mut buf).await.unwrap() == 0 {
                    panic!("the ESME closed before sending its bind");
                }
            };
            assert_eq!(bind.command_id, CommandId::BindTransceiver);
            let refusal = Frame::empty(
                CommandId::BindTransceiverResp,
                CommandStatus::EsmeRinvpaswd,
                bind.sequence,
            );
            let mut out = BytesMut::new();
            frame::encode(&refusal, &mut out, 4096).unwrap();
            stream.write_all(&out).await.unwrap();
            drop(stream);
        }
    }

    #[tokio::test]
    async fn a_refused_bind_followed_by_a_close_is_always_an_auth_refusal() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let ctx = context(listener.local_addr().unwrap().port());
        let peer = tokio::spawn(refuse_and_close(listener));
        let slot = BindSlot::new(0, "0".into(), BindRole::Transceiver, None);
        let cancel = CancellationToken::new();
        for attempt in 0..ATTEMPTS {
            let outcome = connect_and_serve(&ctx, &slot, &cancel).await;
            assert!(
                matches!(&outcome, Attempt::AuthRefused(e) if e.contains("Rinvpaswd")),
                "attempt {attempt} of {ATTEMPTS} was read as {outcome:?}"
            );
        }
        peer.abort();
    }
}
