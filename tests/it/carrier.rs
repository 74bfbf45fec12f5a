//! Carrier bind pools against the bundled simulator over real loopback sockets: binds,
//! submits with per-segment ids, receipts and MO through the inbound consumer,
//! throttling, reconnects, refused credentials, unknown outcomes, TLS.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusmpp::Pdu;
use rusmpp::pdus::SubmitSm;
use smsbridge::carrier::{
    BindPhase, BoxFuture, CarrierPool, CarrierStatus, ErrorClass, InboundConsumer, InboundMessage,
    InboundVerdict, PoolOptions, SegmentFields, SubmitFailure, SubmitPolicy, SubmitRequest,
};
use smsbridge::config::simulator::{Concatenation, MoEncoding, RawSimulator, SimulatorConfig};
use smsbridge::config::{BindMode, Carrier, CarrierTimers, CarrierTls, InterfaceVersion, Secret};
use smsbridge::smpp::simulator::{self, MoMessage, SimulatorHandle};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Upper bound on any wait; a healthy run takes a fraction of it.
const HANG: Duration = Duration::from_secs(30);

pub fn carrier(port: u16) -> Carrier {
    Carrier {
        smpp: true,
        name: "sim".into(),
        host: "127.0.0.1".into(),
        port,
        interface_version: InterfaceVersion::V34,
        system_id: "smsbridge".into(),
        password: Secret::new("secret"),
        system_type: String::new(),
        bind_mode: BindMode::Transceiver,
        binds: 1,
        window: 10,
        tps: None,
        bind_tps: None,
        required: true,
        max_pdu_size: 65_536,
        address_range: String::new(),
        dest_ton: 1,
        dest_npi: 1,
        timers: CarrierTimers {
            connect_timeout: Duration::from_secs(5),
            bind_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(5),
            enquire_link_interval: Duration::from_secs(30),
            enquire_link_timeout: Duration::from_secs(5),
            reconnect_min: Duration::from_millis(10),
            reconnect_max: Duration::from_millis(100),
            auth_failure_backoff: Duration::from_secs(3600),
            throttle_pause: Duration::from_millis(10),
            unbind_timeout: Duration::from_secs(2),
            bind_wait: Duration::from_secs(10),
        },
        tls: None,
        msg_id_format: smsbridge::receipts::MsgIdFormat::Auto,
        unknown_outcome: smsbridge::config::UnknownOutcome::Resend,
        error_map: smsbridge::receipts::ErrorMap::new(),
        text: smsbridge::text::RouteProfile::default(),
        mmsc: None,
        mms_fallback: Default::default(),
    }
}

pub fn sim_config(toml: &str) -> SimulatorConfig {
    let raw: RawSimulator = toml::from_str(toml).expect("test simulator config parses");
    let mut cfg = SimulatorConfig::try_from(raw).expect("test simulator config is valid");
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    cfg
}

/// Records what arrives and answers with a fixed verdict.
pub struct Recorder {
    pub tx: mpsc::UnboundedSender<InboundMessage>,
    pub verdict: InboundVerdict,
}

impl InboundConsumer for Recorder {
    fn consume(&self, message: InboundMessage) -> BoxFuture<'_, InboundVerdict> {
        let _ = self.tx.send(message);
        let verdict = self.verdict;
        Box::pin(async move { verdict })
    }
}

pub struct Setup {
    pub sim: SimulatorHandle,
    pub pool: CarrierPool,
    pub inbound: mpsc::UnboundedReceiver<InboundMessage>,
    pub cancel: CancellationToken,
    pub tracker: TaskTracker,
}

pub async fn setup(sim_toml: &str, tune: impl FnOnce(&mut Carrier)) -> Setup {
    setup_with(
        sim_toml,
        tune,
        InboundVerdict::Stored,
        SubmitPolicy::default(),
    )
    .await
}

pub async fn setup_with(
    sim_toml: &str,
    tune: impl FnOnce(&mut Carrier),
    verdict: InboundVerdict,
    policy: SubmitPolicy,
) -> Setup {
    let cancel = CancellationToken::new();
    let sim = simulator::start(sim_config(sim_toml), cancel.clone())
        .await
        .unwrap();
    let mut config = carrier(sim.local_addr().port());
    tune(&mut config);
    let (tx, inbound) = mpsc::unbounded_channel();
    let tracker = TaskTracker::new();
    let options = PoolOptions {
        drain_timeout: Duration::from_secs(2),
        policy,
    };
    let consumer = Arc::new(Recorder { tx, verdict });
    let pool = CarrierPool::start(&config, consumer, &options, &cancel, &tracker).unwrap();
    Setup {
        sim,
        pool,
        inbound,
        cancel,
        tracker,
    }
}

impl Setup {
    pub async fn wait_status(&self, what: impl Fn(&CarrierStatus) -> bool) -> CarrierStatus {
        let mut rx: watch::Receiver<CarrierStatus> = self.pool.watch();
        let reached = tokio::time::timeout(HANG, rx.wait_for(|s| what(s))).await;
        reached
            .expect("status reached in time")
            .expect("pool alive")
            .clone()
    }

    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.close();
        tokio::time::timeout(HANG, self.tracker.wait())
            .await
            .unwrap();
        tokio::time::timeout(HANG, self.sim.wait()).await.unwrap();
    }
}

pub fn segment(text: &str, registered_delivery: u8) -> SubmitSm {
    let fields = SegmentFields {
        source: "18005550100".into(),
        source_ton: 1,
        source_npi: 1,
        destination: "14155550123".into(),
        data_coding: 0,
        esm_class: 0,
        registered_delivery,
        user_data: text.as_bytes().to_vec(),
        sar: None,
    };
    fields.to_submit_sm(&carrier(0)).unwrap()
}

fn hex_id(id: &str) -> u64 {
    u64::from_str_radix(id, 16).expect("hex id")
}

#[tokio::test]
async fn submits_segments_in_order_with_ids() {
    let s = setup("", |c| c.binds = 2).await;
    s.wait_status(|st| st.binds_up() == 2).await;
    let request = SubmitRequest {
        segments: vec![
            segment("part one", 0),
            segment("part two", 0),
            segment("part three", 0),
        ],
    };
    let outcome = s.pool.submit(request).await.unwrap();
    assert_eq!(outcome.segments.len(), 3);
    let ids: Vec<u64> = outcome
        .segments
        .iter()
        .map(|o| hex_id(&o.message_id))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids {ids:?}");
    assert!(
        outcome
            .segments
            .iter()
            .all(|o| o.attempts == 1 && !o.resent_after_no_response)
    );
    assert_eq!(s.sim.stats().submits, 3);
    let json = serde_json::to_value(s.pool.status()).unwrap();
    assert_eq!(json["binds"][0]["phase"]["session"], "bound_trx");
    s.shutdown().await;
}

#[tokio::test]
async fn receipts_and_mo_reach_the_consumer_on_the_receiver_bind() {
    let mut s = setup("[receipts]\ndelivered = 1\nundeliverable = 1", |c| {
        c.bind_mode = BindMode::TransmitterReceiver;
    })
    .await;
    let status = s.wait_status(|st| st.binds_up() == 2).await;
    assert_eq!(status.binds[0].name, "0-tx");
    let outcome = s
        .pool
        .submit(SubmitRequest {
            segments: vec![segment("hello", 1), segment("again", 1)],
        })
        .await
        .unwrap();
    let mut receipts = Vec::new();
    while receipts.len() < 2 {
        let message = tokio::time::timeout(HANG, s.inbound.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&*message.bind, "0-rx");
        assert!(message.is_receipt());
        receipts.push(message);
    }
    let texts: Vec<String> = receipts
        .iter()
        .map(|m| match &m.pdu {
            Pdu::DeliverSm(sm) => String::from_utf8_lossy(sm.short_message().as_ref()).into_owned(),
            other => panic!("{other:?}"),
        })
        .collect();
    for (segment, text) in outcome.segments.iter().zip(&texts) {
        assert!(
            text.starts_with(&format!("id:{} sub:001", segment.message_id)),
            "{text}"
        );
    }
    assert!(texts.iter().any(|t| t.contains("stat:DELIVRD")));
    assert!(texts.iter().any(|t| t.contains("stat:UNDELIV")));

    let mo = MoMessage {
        source: "14155550123".into(),
        destination: "18005550100".into(),
        text: "STOP".into(),
        encoding: MoEncoding::Gsm7,
        concatenation: Concatenation::Udh8,
    };
    assert_eq!(s.sim.inject_mo(&mo).await.unwrap(), 1);
    let message = tokio::time::timeout(HANG, s.inbound.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(!message.is_receipt());
    let Pdu::DeliverSm(sm) = &message.pdu else {
        panic!()
    };
    assert_eq!(sm.short_message().as_ref(), b"STOP");
    s.shutdown().await;
}

#[tokio::test]
async fn a_consumer_that_cannot_store_gets_the_carrier_to_retry() {
    let mut s = setup_with(
        "",
        |_| {},
        InboundVerdict::RetryLater,
        SubmitPolicy::default(),
    )
    .await;
    s.wait_status(|st| st.binds_up() == 1).await;
    let mo = MoMessage {
        source: "14155550123".into(),
        destination: "18005550100".into(),
        text: "hello".into(),
        encoding: MoEncoding::Ucs2,
        concatenation: Concatenation::Sar,
    };
    s.sim.inject_mo(&mo).await.unwrap();
    tokio::time::timeout(HANG, s.inbound.recv())
        .await
        .unwrap()
        .unwrap();
    let stats = tokio::time::timeout(HANG, s.sim.wait_for_stats(|st| st.deliveries_failed == 1))
        .await
        .unwrap();
    assert_eq!(stats.mo_sent, 1);
    assert_eq!(s.sim.stats().mo_acked, 0);
    s.shutdown().await;
}

#[tokio::test]
async fn throttled_segments_are_retried_without_reordering() {
    let s = setup("[faults]\nthrottle_percent = 50", |c| c.binds = 2).await;
    s.wait_status(|st| st.binds_up() == 2).await;
    let segments = (0..6).map(|i| segment(&format!("part {i}"), 0)).collect();
    let outcome = s.pool.submit(SubmitRequest { segments }).await.unwrap();
    let ids: Vec<u64> = outcome
        .segments
        .iter()
        .map(|o| hex_id(&o.message_id))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids {ids:?}");
    let stats = s.sim.stats();
    // The simulator throttles every second submit it sees: the first segment goes
    // through, each later one is throttled once and accepted on its retry.
    assert_eq!(stats.submits_throttled, 5);
    assert_eq!(stats.submits, 11);
    let attempts: Vec<u32> = outcome.segments.iter().map(|o| o.attempts).collect();
    assert_eq!(attempts, [1, 2, 2, 2, 2, 2]);
    s.shutdown().await;
}

#[tokio::test]
async fn throttling_beyond_the_budget_is_classified() {
    let policy = SubmitPolicy {
        max_throttle_retries: 2,
        ..SubmitPolicy::default()
    };
    let s = setup_with(
        "[faults]\nthrottle_percent = 100",
        |_| {},
        InboundVerdict::Stored,
        policy,
    )
    .await;
    s.wait_status(|st| st.binds_up() == 1).await;
    let err = s
        .pool
        .submit(SubmitRequest {
            segments: vec![segment("x", 0)],
        })
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Throttled);
    assert_eq!(s.sim.stats().submits, 3);
    s.shutdown().await;
}

#[tokio::test]
async fn a_transient_error_is_retried_on_another_bind() {
    let s = setup("[faults]\nsyserr_percent = 50", |c| c.binds = 2).await;
    s.wait_status(|st| st.binds_up() == 2).await;
    let segments = (0..4).map(|i| segment(&format!("part {i}"), 0)).collect();
    let outcome = s.pool.submit(SubmitRequest { segments }).await.unwrap();
    // Every second submit fails with RSYSERR and is retried (on the other bind).
    let attempts: Vec<u32> = outcome.segments.iter().map(|o| o.attempts).collect();
    assert_eq!(attempts, [1, 2, 2, 2]);
    assert_eq!(s.sim.stats().submits, 7);

    let policy_exhausted = setup_with(
        "[faults]\nsyserr_percent = 100",
        |_| {},
        InboundVerdict::Stored,
        SubmitPolicy {
            max_transient_retries: 2,
            ..SubmitPolicy::default()
        },
    )
    .await;
    policy_exhausted.wait_status(|st| st.binds_up() == 1).await;
    let err = policy_exhausted
        .pool
        .submit(SubmitRequest {
            segments: vec![segment("x", 0)],
        })
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(policy_exhausted.sim.stats().submits, 3);
    policy_exhausted.shutdown().await;
    s.shutdown().await;
}

#[tokio::test]
async fn an_unanswered_submit_is_resent_once_then_reported_unknown() {
    let s = setup("[faults]\nresponse_delay = \"1h\"", |c| {
        c.timers.response_timeout = Duration::from_millis(100);
    })
    .await;
    s.wait_status(|st| st.binds_up() == 1).await;
    let err = s
        .pool
        .submit(SubmitRequest {
            segments: vec![segment("x", 0)],
        })
        .await
        .unwrap_err();
    assert_eq!(err.failure, SubmitFailure::UnknownOutcome);
    assert_eq!(err.class(), ErrorClass::UnknownOutcome);
    assert_eq!(
        s.sim.stats().submits,
        2,
        "sent once, resent once, never a third time"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn permanent_errors_are_returned_classified() {
    let s = setup("[faults]\nreject_prefix = \"1415\"", |_| {}).await;
    s.wait_status(|st| st.binds_up() == 1).await;
    let err = s
        .pool
        .submit(SubmitRequest {
            segments: vec![segment("x", 0)],
        })
        .await
        .unwrap_err();
    assert_eq!(
        err.failure,
        SubmitFailure::Refused(rusmpp::CommandStatus::EsmeRinvdstadr)
    );
    assert_eq!(err.class(), ErrorClass::Permanent);
    assert_eq!(
        s.sim.stats().submits,
        1,
        "a permanent refusal is not retried"
    );

    // A message_payload over 65,535 octets never leaves: refused before encoding.
    let mut big = segment("", 0);
    big.push_tlv(
        rusmpp::tlvs::MessageSubmissionRequestTlvValue::MessagePayload(
            rusmpp::values::MessagePayload::new(rusmpp::types::AnyOctetString::from_bytes(
                vec![b'a'; 70_000].into(),
            )),
        ),
    );
    let err = s
        .pool
        .submit(SubmitRequest {
            segments: vec![big],
        })
        .await
        .unwrap_err();
    assert!(matches!(err.failure, SubmitFailure::Invalid(_)), "{err}");
    assert_eq!(err.class(), ErrorClass::Permanent);
    s.shutdown().await;
}

#[tokio::test]
async fn refused_credentials_raise_the_alarm_and_back_off_long() {
    let toml = "accounts = [{ system_id = \"smsbridge\", password = \"right\" }]";
    let s = setup(toml, |c| c.password = Secret::new("wrong")).await;
    let status = s.wait_status(|st| st.auth_alarm).await;
    let bind = &status.binds[0];
    assert_eq!(bind.phase, BindPhase::AuthRefused);
    assert!(
        bind.last_error.as_deref().unwrap().contains("Rinvpaswd"),
        "{bind:?}"
    );
    assert!(!bind.last_error.as_deref().unwrap().contains("wrong"));
    assert_eq!(bind.reconnects, 0);
    assert_eq!(s.sim.stats().binds_refused, 1);
    s.shutdown().await;
}

#[tokio::test]
async fn already_bound_is_an_auth_alarm_too() {
    let s = setup("[faults]\nalready_bound = true", |_| {}).await;
    let status = s.wait_status(|st| st.auth_alarm).await;
    assert_eq!(status.binds[0].phase, BindPhase::AuthRefused);
    s.shutdown().await;
}

#[tokio::test]
async fn dropped_connections_are_rebound() {
    let s = setup("[faults]\ndrop_every = \"200ms\"", |_| {}).await;
    let status = s
        .wait_status(|st| st.binds[0].reconnects >= 2 && st.binds_up() == 1)
        .await;
    assert!(status.binds[0].last_error.is_some());
    assert!(s.sim.stats().connections_dropped >= 2);
    let outcome = s
        .pool
        .submit(SubmitRequest {
            segments: vec![segment("after", 0)],
        })
        .await;
    // The submit may race a drop; then it is retried or reported, never lost silently.
    match outcome {
        Ok(o) => assert_eq!(o.segments.len(), 1),
        Err(e) => assert!(matches!(
            e.class(),
            ErrorClass::UnknownOutcome | ErrorClass::Transient
        )),
    }
    s.shutdown().await;
}

#[tokio::test]
async fn bind_tps_paces_segments() {
    let s = setup("", |c| {
        c.tps = std::num::NonZeroU32::new(1000);
        c.bind_tps = std::num::NonZeroU32::new(4);
    })
    .await;
    s.wait_status(|st| st.binds_up() == 1).await;
    let started = tokio::time::Instant::now();
    let segments = (0..6).map(|i| segment(&format!("{i}"), 0)).collect();
    let outcome = s.pool.submit(SubmitRequest { segments }).await.unwrap();
    assert_eq!(outcome.segments.len(), 6);
    // A full bucket holds 4 tokens; the 5th and 6th segment each wait a quarter second.
    // A lower bound set by the rate itself, not a speed expectation.
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    s.shutdown().await;
}

// ---- TLS -------------------------------------------------------------------------

struct Pki {
    dir: tempfile::TempDir,
    ca: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    /// Server config without client authentication.
    server: tokio_rustls::rustls::ServerConfig,
    /// Server config that requires a client certificate issued by the CA.
    mutual: tokio_rustls::rustls::ServerConfig,
}

fn pki(name: &str) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    use tokio_rustls::rustls::RootCertStore;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio_rustls::rustls::server::WebPkiClientVerifier;
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec![name.to_string()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client_cert = CertificateParams::new(vec!["smsbridge.client".to_string()])
        .unwrap()
        .signed_by(&client_key, &issuer)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let write = |file: &str, pem: String| {
        let path = dir.path().join(file);
        std::fs::write(&path, pem).unwrap();
        path
    };
    let ca = write("ca.pem", ca_cert.pem());
    let client_cert_path = write("client.pem", client_cert.pem());
    let client_key_path = write("client.key", client_key.serialize_pem());
    let chain = vec![CertificateDer::from(server_cert.der().to_vec())];
    let key = || PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let server = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain.clone(), key())
        .unwrap();
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca_cert.der().to_vec()))
        .unwrap();
    let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .unwrap();
    let mutual = tokio_rustls::rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key())
        .unwrap();
    Pki {
        dir,
        ca,
        client_cert: client_cert_path,
        client_key: client_key_path,
        server,
        mutual,
    }
}

/// A TLS front for the simulator: terminates TLS, records the SNI name, hands the
/// stream to the simulator.
async fn tls_front(
    sim: SimulatorHandle,
    server: tokio_rustls::rustls::ServerConfig,
    cancel: CancellationToken,
) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let names = Arc::new(Mutex::new(Vec::new()));
    let seen = names.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = tokio::select! {
                () = cancel.cancelled() => return,
                accepted = listener.accept() => accepted.unwrap(),
            };
            let Ok(tls) = acceptor.accept(tcp).await else {
                continue;
            };
            let sni = tls
                .get_ref()
                .1
                .server_name()
                .unwrap_or_default()
                .to_string();
            seen.lock().unwrap().push(sni);
            sim.serve(tls, cancel.clone());
        }
    });
    (port, names)
}

async fn tls_pool(server_name: &str, client_cert: bool) -> (Setup, Arc<Mutex<Vec<String>>>, Pki) {
    let pki = pki("smsc.test");
    let mut s = setup("", |_| {}).await;
    // A second pool, pointed at the TLS front; the plain one binds alongside, unused.
    let server = if client_cert {
        pki.mutual.clone()
    } else {
        pki.server.clone()
    };
    let (port, names) = tls_front(s.sim.clone(), server, s.cancel.clone()).await;
    let mut config = carrier(port);
    config.name = "tls".into();
    config.tls = Some(CarrierTls {
        ca_file: Some(pki.ca.clone()),
        server_name: server_name.into(),
        client_cert_file: client_cert.then(|| pki.client_cert.clone()),
        client_key_file: client_cert.then(|| pki.client_key.clone()),
    });
    let (tx, inbound) = mpsc::unbounded_channel();
    let consumer = Arc::new(Recorder {
        tx,
        verdict: InboundVerdict::Stored,
    });
    s.pool = CarrierPool::start(
        &config,
        consumer,
        &PoolOptions::default(),
        &s.cancel,
        &s.tracker,
    )
    .unwrap();
    s.inbound = inbound;
    (s, names, pki)
}

#[tokio::test]
async fn binds_over_tls_with_a_custom_ca_and_sni() {
    let (s, names, pki) = tls_pool("smsc.test", false).await;
    s.wait_status(|st| st.binds_up() == 1).await;
    let outcome = s
        .pool
        .submit(SubmitRequest {
            segments: vec![segment("tls", 0)],
        })
        .await
        .unwrap();
    assert_eq!(outcome.segments.len(), 1);
    assert_eq!(names.lock().unwrap().as_slice(), ["smsc.test"]);
    s.shutdown().await;
    drop(pki.dir);
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let (s, _names, _pki) = tls_pool("other.test", false).await;
    let status = s.wait_status(|st| st.binds[0].last_error.is_some()).await;
    let error = status.binds[0].last_error.clone().unwrap();
    assert!(error.contains("tls handshake"), "{error}");
    assert_eq!(status.binds_up(), 0);
    s.shutdown().await;
}

#[tokio::test]
async fn binds_over_mutual_tls_with_a_client_certificate() {
    let (s, names, _pki) = tls_pool("smsc.test", true).await;
    s.wait_status(|st| st.binds_up() == 1).await;
    let outcome = s
        .pool
        .submit(SubmitRequest {
            segments: vec![segment("mtls", 0)],
        })
        .await
        .unwrap();
    assert_eq!(outcome.segments.len(), 1);
    assert_eq!(names.lock().unwrap().as_slice(), ["smsc.test"]);
    s.shutdown().await;
}
