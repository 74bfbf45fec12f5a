//! The SMPP session over an in-memory stream: binds, submits, the state machine, the
//! window and the timers (with paused time).

use std::sync::Arc;
use std::time::Duration;

use rusmpp::pdus::{SubmitSm, SubmitSmResp};
use rusmpp::types::COctetString;
use rusmpp::{CommandStatus, Pdu};
use smsbridge::smpp::esme::{self, BindSpec, SMPP_3_4};
use smsbridge::smpp::metrics::SessionLabels;
use smsbridge::smpp::{
    BindDecision, BindKind, BindRequest, Frame, PeerHandler, Responder, Role, Session,
    SessionConfig, SessionHandle, SessionState,
};
use tokio_util::sync::CancellationToken;

fn labels(bind: &str) -> SessionLabels {
    SessionLabels {
        carrier: Arc::from("test"),
        bind: Arc::from(bind),
    }
}

/// An SMSC that accepts any bind and answers every submit with an id.
struct AcceptAll;

impl PeerHandler for AcceptAll {
    fn on_bind(&mut self, _request: &BindRequest) -> BindDecision {
        BindDecision {
            status: CommandStatus::EsmeRok,
            system_id: "smsc".into(),
        }
    }

    fn on_request(&mut self, frame: Frame, responder: Responder) {
        let id = format!("id{}", frame.sequence);
        let resp = SubmitSmResp::builder()
            .message_id(COctetString::from_string(id).unwrap())
            .build();
        responder.respond(CommandStatus::EsmeRok, Some(resp.into()));
    }
}

struct NoInbound;

impl PeerHandler for NoInbound {
    fn on_request(&mut self, _frame: Frame, _responder: Responder) {}
}

fn spec() -> BindSpec {
    BindSpec {
        kind: BindKind::Transceiver,
        system_id: "esme".into(),
        password: "pw".into(),
        system_type: String::new(),
        interface_version: SMPP_3_4,
        address_range: String::new(),
    }
}

fn submit() -> SubmitSm {
    SubmitSm::builder()
        .source_addr(COctetString::from_string("12345".into()).unwrap())
        .destination_addr(COctetString::from_string("14155550123".into()).unwrap())
        .build()
}

fn pair(cancel: &CancellationToken) -> (SessionHandle, tokio::task::JoinHandle<()>) {
    let (esme_io, smsc_io) = tokio::io::duplex(64 * 1024);
    let (er, ew) = tokio::io::split(esme_io);
    let (sr, sw) = tokio::io::split(smsc_io);
    let (esme, handle) = Session::new(
        er,
        ew,
        SessionConfig::new(Role::Esme, labels("0")),
        NoInbound,
        cancel,
    );
    let (smsc, _) = Session::new(
        sr,
        sw,
        SessionConfig::new(Role::Smsc, labels("s")),
        AcceptAll,
        cancel,
    );
    let task = tokio::spawn(async move {
        let (a, b) = tokio::join!(esme.run(), smsc.run());
        a.unwrap();
        b.unwrap();
    });
    (handle, task)
}

#[tokio::test]
async fn bind_submit_and_orderly_close() {
    let cancel = CancellationToken::new();
    let (handle, task) = pair(&cancel);
    let system_id = esme::bind(&handle, &spec(), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(system_id, "smsc");
    assert_eq!(handle.state(), SessionState::BoundTrx);
    let resp = handle.request(submit()).await.unwrap();
    assert_eq!(resp.status, CommandStatus::EsmeRok);
    let Some(Pdu::SubmitSmResp(body)) = resp.pdu else {
        panic!("{resp:?}")
    };
    assert_eq!(body.message_id().as_str(), "id2");
    handle.close();
    task.await.unwrap();
    assert_eq!(handle.state(), SessionState::Closed);
}
