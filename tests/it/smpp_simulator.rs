//! The carrier simulator on its own: `smsbridge sim` as an operator runs it, generated
//! multi-part MO, the stats file.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use rusmpp::Pdu;
use smsbridge::carrier::{BindPhase, SubmitRequest};
use smsbridge::smpp::simulator;

use super::carrier::{segment, setup, sim_config};
use super::harness::binary;

const HANG: Duration = Duration::from_secs(30);

#[tokio::test]
async fn generated_long_mo_arrives_in_parts_with_a_16_bit_udh() {
    let toml = "[mo]\nrate = 1000\ncount = 1\nencoding = \"ucs2\"\nconcatenation = \"udh16\"\n\
                texts = [\"Merci beaucoup pour votre aide, à demain ! Merci beaucoup pour votre aide, à demain ! Merci beaucoup pour votre aide, à demain !\"]";
    let mut s = setup(toml, |_| {}).await;
    let mut parts = Vec::new();
    while parts.len() < 2 {
        let message = tokio::time::timeout(HANG, s.inbound.recv())
            .await
            .unwrap()
            .unwrap();
        let Pdu::DeliverSm(sm) = message.pdu else {
            panic!()
        };
        assert_eq!(u8::from(sm.esm_class) & 0x40, 0x40, "UDHI set");
        assert_eq!(u8::from(sm.data_coding), 0x08);
        parts.push(sm.short_message().as_ref().to_vec());
    }
    let (first, second) = (&parts[0], &parts[1]);
    assert_eq!(&first[..3], &[0x06, 0x08, 0x04]);
    assert_eq!(first[3..5], second[3..5], "same reference");
    assert_eq!((first[5], first[6]), (2, 1));
    assert_eq!((second[5], second[6]), (2, 2));
    s.shutdown().await;
}

#[tokio::test]
async fn the_stats_file_holds_the_final_counters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stats.json");
    let toml = format!(
        "stats_file = \"{}\"\nstats_interval = \"1h\"",
        path.display()
    );
    let s = setup(&toml, |_| {}).await;
    s.wait_status(|st| st.binds_up() == 1).await;
    s.pool
        .submit(SubmitRequest {
            segments: vec![segment("counted", 0)],
        })
        .await
        .unwrap();
    s.shutdown().await;
    let stats: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(stats["submits"], 1);
    assert_eq!(stats["binds_accepted"], 1);
}

#[tokio::test]
async fn receipts_can_wait_for_their_delay() {
    let mut s = setup("[receipts]\ndelay = \"200ms\"", |_| {}).await;
    s.wait_status(|st| st.binds_up() == 1).await;
    let sent = tokio::time::Instant::now();
    s.pool
        .submit(SubmitRequest {
            segments: vec![segment("later", 1)],
        })
        .await
        .unwrap();
    let receipt = tokio::time::timeout(HANG, s.inbound.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(receipt.is_receipt());
    assert!(sent.elapsed() >= Duration::from_millis(200));
    s.shutdown().await;
}

#[tokio::test]
async fn refusing_binds_is_reported_as_an_auth_failure() {
    let s = setup("[faults]\nrefuse_binds = true", |_| {}).await;
    let status = s.wait_status(|st| st.auth_alarm).await;
    assert_eq!(status.binds[0].phase, BindPhase::AuthRefused);
    assert!(
        status.binds[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("Rbindfail")
    );
    s.shutdown().await;
}

#[tokio::test]
async fn the_sim_command_checks_credentials_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("stats.json");
    let mut child = Command::new(binary())
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--system-id",
            "gw",
            "--password",
            "pw",
        ])
        .arg("--stats-file")
        .arg(&stats)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("carrier simulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();

    let cancel = tokio_util::sync::CancellationToken::new();
    let tracker = tokio_util::task::TaskTracker::new();
    let (tx, _inbound) = tokio::sync::mpsc::unbounded_channel();
    let consumer = std::sync::Arc::new(super::carrier::Recorder {
        tx,
        verdict: smsbridge::carrier::InboundVerdict::Stored,
    });
    let mut config = super::carrier::carrier(port);
    config.system_id = "gw".into();
    config.password = smsbridge::config::Secret::new("pw");
    let pool = smsbridge::carrier::CarrierPool::start(
        &config,
        consumer,
        &smsbridge::carrier::PoolOptions::default(),
        &cancel,
        &tracker,
    )
    .unwrap();
    let mut rx = pool.watch();
    tokio::time::timeout(HANG, rx.wait_for(|st| st.binds_up() == 1))
        .await
        .unwrap()
        .unwrap();
    cancel.cancel();
    tracker.close();
    tokio::time::timeout(HANG, tracker.wait()).await.unwrap();

    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let stats: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    assert_eq!(stats["binds_accepted"], 1);
}

#[tokio::test]
async fn the_sim_command_refuses_a_bad_config_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:0\"\n[faults]\nthrottle_percent = 300\n",
    )
    .unwrap();
    let output = Command::new(binary())
        .args(["sim", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("sim.toml:3"), "{stderr}");
}

#[tokio::test]
async fn a_wrong_password_is_refused_by_the_simulator() {
    let cancel = tokio_util::sync::CancellationToken::new();
    let cfg = sim_config("accounts = [{ system_id = \"gw\", password = \"pw\" }]");
    let sim = simulator::start(cfg, cancel.clone()).await.unwrap();
    let (reader, writer) =
        smsbridge::smpp::transport::connect("127.0.0.1", sim.local_addr().port(), None, HANG)
            .await
            .unwrap();
    let labels = smsbridge::smpp::metrics::SessionLabels {
        carrier: "t".into(),
        bind: "0".into(),
    };
    let config = smsbridge::smpp::SessionConfig::new(smsbridge::smpp::Role::Esme, labels);
    let (session, handle) =
        smsbridge::smpp::Session::new(reader, writer, config, NoInbound, &cancel);
    let run = tokio::spawn(session.run());
    let mut spec = smsbridge::smpp::esme::BindSpec {
        kind: smsbridge::smpp::BindKind::Transceiver,
        system_id: "nobody".into(),
        password: "pw".into(),
        system_type: String::new(),
        interface_version: smsbridge::smpp::esme::SMPP_5_0,
        address_range: String::new(),
    };
    let err = smsbridge::smpp::esme::bind(&handle, &spec, HANG)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        smsbridge::smpp::esme::BindError::Refused(rusmpp::CommandStatus::EsmeRinvsysid)
    ));
    spec.system_id = "gw".into();
    spec.password = "wrong".into();
    let err = smsbridge::smpp::esme::bind(&handle, &spec, HANG)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        smsbridge::smpp::esme::BindError::Refused(rusmpp::CommandStatus::EsmeRinvpaswd)
    ));
    spec.password = "pw".into();
    smsbridge::smpp::esme::bind(&handle, &spec, HANG)
        .await
        .unwrap();
    cancel.cancel();
    run.await.unwrap().unwrap();
    sim.wait().await;
}

struct NoInbound;

impl smsbridge::smpp::PeerHandler for NoInbound {
    fn on_request(
        &mut self,
        _frame: smsbridge::smpp::Frame,
        _responder: smsbridge::smpp::Responder,
    ) {
    }
}
