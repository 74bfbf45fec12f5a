//! The SMPP session over an in-memory stream against a scripted raw peer: the state
//! machine (every request in every state, both roles), the window and the timers (with
//! paused time), draining, and malformed frames.

use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use rusmpp::pdus::{
    AlertNotification, BindReceiver, BindTransceiver, BindTransceiverResp, BindTransmitter,
    BroadcastSm, CancelBroadcastSm, CancelSm, DataSm, DeliverSm, Outbind, QueryBroadcastSm,
    QuerySm, ReplaceSm, SubmitMulti, SubmitSm,
};
use rusmpp::{CommandId, CommandStatus, Pdu};
use smsbridge::smpp::esme::{self, BindSpec, SMPP_3_4};
use smsbridge::smpp::frame::{self, Decoded, Frame};
use smsbridge::smpp::metrics::SessionLabels;
use smsbridge::smpp::sequence::MAX_SEQUENCE;
use smsbridge::smpp::{
    BindDecision, BindKind, BindRequest, CloseReason, PeerHandler, RequestError, Responder, Role,
    Session, SessionConfig, SessionError, SessionHandle, SessionState,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

type Outcome = Result<CloseReason, SessionError>;

/// Answers every request ESME_ROK with a header-only response; accepts any bind.
struct Answering;

impl PeerHandler for Answering {
    fn on_bind(&mut self, _request: &BindRequest) -> BindDecision {
        BindDecision {
            status: CommandStatus::EsmeRok,
            system_id: "smsc".into(),
        }
    }

    fn on_request(&mut self, _frame: Frame, responder: Responder) {
        responder.respond(CommandStatus::EsmeRok, None);
    }
}

/// The other end of the stream, driven by the test frame by frame.
struct RawPeer {
    io: DuplexStream,
    buf: BytesMut,
}

impl RawPeer {
    async fn send(&mut self, frame: &Frame) {
        let mut out = BytesMut::new();
        frame::encode(frame, &mut out, u32::MAX).unwrap();
        self.io.write_all(&out).await.unwrap();
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        self.io.write_all(bytes).await.unwrap();
    }

    async fn request(&mut self, seq: u32, pdu: impl Into<Pdu>) {
        self.send(&Frame::new(CommandStatus::EsmeRok, seq, pdu))
            .await;
    }

    /// The next frame; `None` when the session closed the stream.
    async fn recv(&mut self) -> Option<Frame> {
        loop {
            match frame::decode(&mut self.buf, u32::MAX).unwrap() {
                Some(Decoded::Frame(frame)) => return Some(frame),
                Some(invalid) => panic!("session sent an invalid frame: {invalid:?}"),
                None => {}
            }
            if self.io.read_buf(&mut self.buf).await.unwrap() == 0 {
                return None;
            }
        }
    }

    async fn expect(&mut self) -> Frame {
        self.recv().await.expect("a frame, not end of stream")
    }

    /// Proves the stream is in sync: an enquire_link gets its response next.
    async fn ping(&mut self, seq: u32) {
        self.request(seq, Pdu::EnquireLink).await;
        let resp = self.expect().await;
        assert_eq!(
            (resp.command_id, resp.sequence),
            (CommandId::EnquireLinkResp, seq)
        );
    }
}

fn config(role: Role) -> SessionConfig {
    let labels = SessionLabels {
        carrier: Arc::from("test"),
        bind: Arc::from("0"),
    };
    SessionConfig {
        window: 2,
        response_timeout: Duration::from_secs(5),
        enquire_link_interval: Duration::from_secs(30),
        enquire_link_timeout: Duration::from_secs(3),
        bind_timeout: Duration::from_secs(10),
        unbind_timeout: Duration::from_secs(2),
        drain_timeout: Duration::from_secs(2),
        max_frame_len: 4096,
        ..SessionConfig::new(role, labels)
    }
}

struct Running {
    handle: SessionHandle,
    peer: RawPeer,
    task: JoinHandle<Outcome>,
    cancel: CancellationToken,
}

fn start(config: SessionConfig) -> Running {
    start_at(config, 1)
}

fn start_at(config: SessionConfig, first_sequence: u32) -> Running {
    let (ours, theirs) = tokio::io::duplex(1 << 20);
    let (reader, writer) = tokio::io::split(ours);
    let cancel = CancellationToken::new();
    let (session, handle) = Session::new(reader, writer, config, Answering, &cancel);
    let task = tokio::spawn(session.with_first_sequence(first_sequence).run());
    Running {
        handle,
        peer: RawPeer {
            io: theirs,
            buf: BytesMut::new(),
        },
        task,
        cancel,
    }
}

fn spec(kind: BindKind) -> BindSpec {
    BindSpec {
        kind,
        system_id: "esme".into(),
        password: "pw".into(),
        system_type: String::new(),
        interface_version: SMPP_3_4,
        address_range: String::new(),
    }
}

fn bind_pdu(kind: BindKind) -> Pdu {
    spec(kind).to_pdu().unwrap()
}

/// Brings a session of `role` into `state` (OPEN or one of the bound states).
async fn in_state(role: Role, state: SessionState) -> Running {
    let mut r = start(config(role));
    let kind = match state {
        SessionState::Open => return r,
        SessionState::BoundTx => BindKind::Transmitter,
        SessionState::BoundRx => BindKind::Receiver,
        _ => BindKind::Transceiver,
    };
    match role {
        Role::Smsc => {
            r.peer.request(1, bind_pdu(kind)).await;
            let resp = r.peer.expect().await;
            assert_eq!(resp.status, CommandStatus::EsmeRok);
        }
        Role::Esme => {
            let handle = r.handle.clone();
            let bind = tokio::spawn(async move {
                esme::bind(&handle, &spec(kind), Duration::from_secs(5)).await
            });
            let request = r.peer.expect().await;
            assert_eq!(request.command_id, kind.command_id());
            let resp = Frame::empty(
                request.command_id.matching_response(),
                CommandStatus::EsmeRok,
                request.sequence,
            );
            r.peer.send(&resp).await;
            bind.await.unwrap().unwrap();
        }
    }
    assert_eq!(r.handle.state(), state);
    r
}

/// Every request PDU, with a minimal valid body.
fn all_requests() -> Vec<Pdu> {
    vec![
        BindTransmitter::default().into(),
        BindReceiver::default().into(),
        BindTransceiver::default().into(),
        QuerySm::default().into(),
        SubmitSm::default().into(),
        DeliverSm::default().into(),
        ReplaceSm::default().into(),
        CancelSm::default().into(),
        Outbind::default().into(),
        Pdu::EnquireLink,
        SubmitMulti::default().into(),
        AlertNotification::default().into(),
        DataSm::default().into(),
        BroadcastSm::default().into(),
        QueryBroadcastSm::default().into(),
        CancelBroadcastSm::default().into(),
    ]
}

#[derive(Debug, PartialEq, Eq)]
enum Expect {
    /// The response with this status (the session's or the handler's ESME_ROK).
    Answer(CommandStatus),
    /// generic_nack with this status (PDUs that have no response of their own).
    Nack(CommandStatus),
    /// Accepted with no response (alert_notification, outbind).
    Silence,
}

/// The operation matrix of SMPP 3.4 §2.3 / 5.0 §2.4, written out from the peer's view.
fn expected(role: Role, state: SessionState, id: CommandId) -> Expect {
    use CommandId as C;
    use CommandStatus as S;
    let ok = Expect::Answer(S::EsmeRok);
    let wrong_state = Expect::Answer(S::EsmeRinvbndsts);
    let transmits = matches!(state, SessionState::BoundTx | SessionState::BoundTrx);
    let receives = matches!(state, SessionState::BoundRx | SessionState::BoundTrx);
    if id == C::EnquireLink {
        return ok;
    }
    match (role, id) {
        (Role::Smsc, C::BindTransmitter | C::BindReceiver | C::BindTransceiver) => {
            if state == SessionState::Open {
                ok
            } else {
                Expect::Answer(S::EsmeRalybnd)
            }
        }
        (Role::Smsc, C::DeliverSm) => wrong_state,
        (Role::Smsc, C::Outbind | C::AlertNotification) => Expect::Nack(S::EsmeRinvbndsts),
        (Role::Smsc, _) => {
            if transmits {
                ok
            } else {
                wrong_state
            }
        }
        (Role::Esme, C::DeliverSm | C::DataSm) => {
            if receives {
                ok
            } else {
                wrong_state
            }
        }
        (Role::Esme, C::AlertNotification) => {
            if receives {
                Expect::Silence
            } else {
                Expect::Nack(S::EsmeRinvbndsts)
            }
        }
        (Role::Esme, C::Outbind) => {
            if state == SessionState::Open {
                Expect::Silence
            } else {
                Expect::Nack(S::EsmeRinvbndsts)
            }
        }
        (Role::Esme, _) => wrong_state,
    }
}

#[tokio::test]
async fn every_request_in_every_state_for_both_roles() {
    let states = [
        SessionState::Open,
        SessionState::BoundTx,
        SessionState::BoundRx,
        SessionState::BoundTrx,
    ];
    for role in [Role::Esme, Role::Smsc] {
        for state in states {
            for pdu in all_requests() {
                let id = pdu.command_id();
                let mut r = in_state(role, state).await;
                r.peer.request(100, pdu).await;
                let want = expected(role, state, id);
                let context = format!("{role:?} in {state:?} receiving {id:?}");
                match want {
                    Expect::Answer(status) => {
                        let resp = r.peer.expect().await;
                        assert_eq!(resp.command_id, id.matching_response(), "{context}");
                        assert_eq!((resp.status, resp.sequence), (status, 100), "{context}");
                    }
                    Expect::Nack(status) => {
                        let resp = r.peer.expect().await;
                        assert_eq!(resp.command_id, CommandId::GenericNack, "{context}");
                        assert_eq!((resp.status, resp.sequence), (status, 100), "{context}");
                    }
                    Expect::Silence => {}
                }
                r.peer.ping(101).await;
                r.cancel.cancel();
            }
        }
    }
}

#[tokio::test]
async fn a_peer_unbind_is_answered_and_closes_the_session() {
    let mut r = in_state(Role::Esme, SessionState::BoundTrx).await;
    r.peer.request(7, Pdu::Unbind).await;
    let resp = r.peer.expect().await;
    assert_eq!(
        (resp.command_id, resp.status),
        (CommandId::UnbindResp, CommandStatus::EsmeRok)
    );
    assert!(
        r.peer.recv().await.is_none(),
        "the session closes the stream"
    );
    assert_eq!(r.task.await.unwrap().unwrap(), CloseReason::PeerUnbind);
    assert_eq!(r.handle.state(), SessionState::Closed);
}

#[tokio::test(start_paused = true)]
async fn the_window_holds_requests_until_responses_free_a_slot() {
    let mut r = in_state(Role::Esme, SessionState::BoundTx).await;
    let mut calls = Vec::new();
    for _ in 0..3 {
        let handle = r.handle.clone();
        calls.push(tokio::spawn(async move {
            handle.request(SubmitSm::default()).await
        }));
    }
    let first = r.peer.expect().await;
    let second = r.peer.expect().await;
    // Paused time: the timeout elapses only once nothing else can run, so this proves
    // the third request is held back, without waiting in real time.
    let third = tokio::time::timeout(Duration::from_secs(1), r.peer.recv()).await;
    assert!(third.is_err(), "a third request left with a window of 2");
    r.peer
        .send(&Frame::empty(
            CommandId::SubmitSmResp,
            CommandStatus::EsmeRok,
            first.sequence,
        ))
        .await;
    let third = r.peer.expect().await;
    assert_eq!(third.command_id, CommandId::SubmitSm);
    for frame in [&second, &third] {
        let resp = Frame::empty(
            CommandId::SubmitSmResp,
            CommandStatus::EsmeRthrottled,
            frame.sequence,
        );
        r.peer.send(&resp).await;
    }
    let statuses: Vec<CommandStatus> = futures_statuses(calls).await;
    assert_eq!(
        statuses,
        [
            CommandStatus::EsmeRok,
            CommandStatus::EsmeRthrottled,
            CommandStatus::EsmeRthrottled
        ]
    );
}

async fn futures_statuses(
    calls: Vec<JoinHandle<Result<Frame, RequestError>>>,
) -> Vec<CommandStatus> {
    let mut statuses = Vec::new();
    for call in calls {
        statuses.push(call.await.unwrap().expect("a response").status);
    }
    statuses
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_request_times_out_after_the_response_timeout() {
    let mut r = in_state(Role::Esme, SessionState::BoundTx).await;
    let started = Instant::now();
    let handle = r.handle.clone();
    let call = tokio::spawn(async move { handle.request(SubmitSm::default()).await });
    let sent = r.peer.expect().await;
    let result = call.await.unwrap();
    assert!(matches!(result, Err(RequestError::Timeout)), "{result:?}");
    assert!(result.unwrap_err().is_unknown_outcome());
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    // A late response matches nothing and does not disturb the session.
    r.peer
        .send(&Frame::empty(
            CommandId::SubmitSmResp,
            CommandStatus::EsmeRok,
            sent.sequence,
        ))
        .await;
    r.peer.ping(50).await;
}

#[tokio::test(start_paused = true)]
async fn enquire_link_after_idle_time_and_the_link_dies_without_an_answer() {
    let mut r = in_state(Role::Esme, SessionState::BoundTrx).await;
    let bound_at = Instant::now();
    let probe = r.peer.expect().await;
    assert_eq!(probe.command_id, CommandId::EnquireLink);
    assert_eq!(bound_at.elapsed(), Duration::from_secs(30));
    r.peer
        .send(&Frame::new(
            CommandStatus::EsmeRok,
            probe.sequence,
            Pdu::EnquireLinkResp,
        ))
        .await;
    let probe = r.peer.expect().await;
    assert_eq!(probe.command_id, CommandId::EnquireLink);
    assert_eq!(bound_at.elapsed(), Duration::from_secs(60));
    // No answer this time: the session gives up after the enquire_link timeout.
    let outcome = r.task.await.unwrap();
    assert!(
        matches!(outcome, Err(SessionError::EnquireLinkTimeout)),
        "{outcome:?}"
    );
    assert_eq!(bound_at.elapsed(), Duration::from_secs(63));
}

#[tokio::test(start_paused = true)]
async fn an_unbound_connection_is_closed_after_the_bind_timeout() {
    let r = start(config(Role::Smsc));
    let outcome = r.task.await.unwrap();
    assert!(
        matches!(outcome, Err(SessionError::BindTimeout)),
        "{outcome:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_drains_in_flight_requests_then_unbinds() {
    let mut r = in_state(Role::Esme, SessionState::BoundTx).await;
    let handle = r.handle.clone();
    let in_flight = tokio::spawn(async move { handle.request(SubmitSm::default()).await });
    let sent = r.peer.expect().await;
    r.handle.close();
    let late = r.handle.request(SubmitSm::default()).await;
    assert!(matches!(late, Err(RequestError::NotSent)), "{late:?}");
    r.peer
        .send(&Frame::empty(
            CommandId::SubmitSmResp,
            CommandStatus::EsmeRok,
            sent.sequence,
        ))
        .await;
    assert_eq!(
        in_flight.await.unwrap().unwrap().status,
        CommandStatus::EsmeRok
    );
    let unbind = r.peer.expect().await;
    assert_eq!(unbind.command_id, CommandId::Unbind);
    r.peer
        .send(&Frame::new(
            CommandStatus::EsmeRok,
            unbind.sequence,
            Pdu::UnbindResp,
        ))
        .await;
    assert_eq!(r.task.await.unwrap().unwrap(), CloseReason::Shutdown);
}

#[tokio::test(start_paused = true)]
async fn the_drain_deadline_bounds_the_wait_for_responses() {
    let mut r = in_state(Role::Esme, SessionState::BoundTx).await;
    let handle = r.handle.clone();
    let in_flight = tokio::spawn(async move { handle.request(SubmitSm::default()).await });
    r.peer.expect().await;
    let closing = Instant::now();
    r.handle.close();
    let unbind = r.peer.expect().await;
    assert_eq!(unbind.command_id, CommandId::Unbind);
    assert_eq!(
        closing.elapsed(),
        Duration::from_secs(2),
        "the drain timeout"
    );
    // No unbind_resp either: closed after the unbind timeout.
    assert_eq!(r.task.await.unwrap().unwrap(), CloseReason::Shutdown);
    assert_eq!(closing.elapsed(), Duration::from_secs(4));
    let result = in_flight.await.unwrap();
    assert!(
        matches!(result, Err(RequestError::ConnectionLost)),
        "{result:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn sequence_numbers_wrap_to_one() {
    let mut r = start_at(config(Role::Esme), MAX_SEQUENCE);
    let handle = r.handle.clone();
    let bind = tokio::spawn(async move {
        esme::bind(
            &handle,
            &spec(BindKind::Transceiver),
            Duration::from_secs(5),
        )
        .await
    });
    let request = r.peer.expect().await;
    assert_eq!(request.sequence, MAX_SEQUENCE);
    let resp = BindTransceiverResp::default();
    r.peer
        .send(&Frame::new(CommandStatus::EsmeRok, request.sequence, resp))
        .await;
    bind.await.unwrap().unwrap();
    let handle = r.handle.clone();
    let submit = tokio::spawn(async move { handle.request(SubmitSm::default()).await });
    assert_eq!(r.peer.expect().await.sequence, 1);
    r.cancel.cancel();
    let _ = submit.await;
}

#[tokio::test]
async fn requests_not_allowed_in_the_state_are_not_sent() {
    let r = in_state(Role::Esme, SessionState::BoundRx).await;
    let result = r.handle.request(SubmitSm::default()).await;
    assert!(
        matches!(
            result,
            Err(RequestError::NotAllowed {
                state: SessionState::BoundRx,
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_refused_bind_leaves_the_session_open() {
    let mut r = start(config(Role::Esme));
    let handle = r.handle.clone();
    let bind = tokio::spawn(async move {
        esme::bind(
            &handle,
            &spec(BindKind::Transceiver),
            Duration::from_secs(5),
        )
        .await
    });
    let request = r.peer.expect().await;
    r.peer
        .send(&Frame::empty(
            CommandId::BindTransceiverResp,
            CommandStatus::EsmeRinvpaswd,
            request.sequence,
        ))
        .await;
    let err = bind.await.unwrap().unwrap_err();
    assert!(
        matches!(err, esme::BindError::Refused(CommandStatus::EsmeRinvpaswd)),
        "{err:?}"
    );
    assert_eq!(r.handle.state(), SessionState::Open);
}

// ---- malformed frames --------------------------------------------------------------

fn header(length: u32, id: u32, seq: u32) -> BytesMut {
    let mut b = BytesMut::new();
    b.put_u32(length);
    b.put_u32(id);
    b.put_u32(0);
    b.put_u32(seq);
    b
}

/// A bound SMSC session; the frame goes in, the answer and a ping come back.
async fn bad_body(body: &[u8], id: CommandId) -> Frame {
    let mut r = in_state(Role::Smsc, SessionState::BoundTrx).await;
    let mut frame = header((16 + body.len()) as u32, u32::from(id), 9);
    frame.extend_from_slice(body);
    r.peer.send_raw(&frame).await;
    let answer = r.peer.expect().await;
    assert_eq!(answer.sequence, 9);
    r.peer.ping(10).await;
    r.cancel.cancel();
    answer
}

fn submit_body() -> BytesMut {
    let mut out = BytesMut::new();
    let frame = Frame::new(CommandStatus::EsmeRok, 1, SubmitSm::default());
    frame::encode(&frame, &mut out, 4096).unwrap();
    out.split_off(16)
}

#[tokio::test]
async fn a_truncated_body_gets_an_error_response_and_the_stream_stays_in_sync() {
    let body = submit_body();
    let answer = bad_body(&body[..body.len() - 3], CommandId::SubmitSm).await;
    assert_eq!(answer.command_id, CommandId::SubmitSmResp);
    assert_eq!(answer.status, CommandStatus::EsmeRinvcmdlen);
}

#[tokio::test]
async fn a_c_string_without_nul_is_refused() {
    // service_type runs to the end of the frame without a terminating NUL.
    let answer = bad_body(b"CMTXYZ", CommandId::SubmitSm).await;
    assert_eq!(answer.status, CommandStatus::EsmeRinvcmdlen);
}

#[tokio::test]
async fn a_tlv_longer_than_the_body_is_refused() {
    let mut body = submit_body();
    body.extend_from_slice(&[0x04, 0x24, 0x00, 0x64, b'a', b'b']);
    let answer = bad_body(&body, CommandId::SubmitSm).await;
    assert_eq!(answer.command_id, CommandId::SubmitSmResp);
    assert_eq!(answer.status, CommandStatus::EsmeRinvcmdlen);
}

#[tokio::test]
async fn extra_octets_after_the_body_are_refused() {
    let mut body = BytesMut::new();
    let frame = Frame::new(CommandStatus::EsmeRok, 1, BindTransmitter::default());
    frame::encode(&frame, &mut body, 4096).unwrap();
    let mut body = body.split_off(16);
    body.extend_from_slice(b"xyz");
    let answer = bad_body(&body, CommandId::QuerySm).await;
    assert_eq!(answer.command_id, CommandId::QuerySmResp);
    assert_eq!(answer.status, CommandStatus::EsmeRinvcmdlen);
    let answer = bad_body(b"xx", CommandId::EnquireLink).await;
    assert_eq!(answer.command_id, CommandId::EnquireLinkResp);
    assert_eq!(answer.status, CommandStatus::EsmeRinvcmdlen);
}

#[tokio::test]
async fn an_unknown_command_gets_generic_nack() {
    let answer = bad_body(b"abc", CommandId::Other(0x0000_0099)).await;
    assert_eq!(answer.command_id, CommandId::GenericNack);
    assert_eq!(answer.status, CommandStatus::EsmeRinvcmdid);
}

#[tokio::test]
async fn frames_split_at_every_octet_are_reassembled() {
    let mut r = in_state(Role::Smsc, SessionState::BoundTrx).await;
    let mut bytes = BytesMut::new();
    frame::encode(
        &Frame::new(CommandStatus::EsmeRok, 30, SubmitSm::default()),
        &mut bytes,
        4096,
    )
    .unwrap();
    for octet in bytes.iter() {
        r.peer.send_raw(&[*octet]).await;
    }
    let answer = r.peer.expect().await;
    assert_eq!(
        (answer.command_id, answer.sequence),
        (CommandId::SubmitSmResp, 30)
    );
}

async fn broken_header(length: u32) {
    let mut r = in_state(Role::Smsc, SessionState::BoundTrx).await;
    r.peer
        .send_raw(&header(length, u32::from(CommandId::SubmitSm), 1))
        .await;
    let outcome = r.task.await.unwrap();
    assert!(
        matches!(outcome, Err(SessionError::Framing(_))),
        "{length}: {outcome:?}"
    );
    assert!(r.peer.recv().await.is_none(), "the connection is closed");
}

#[tokio::test]
async fn a_broken_header_closes_the_connection() {
    for length in [0, 15, 4097, 1 << 31, u32::MAX] {
        broken_header(length).await;
    }
}
