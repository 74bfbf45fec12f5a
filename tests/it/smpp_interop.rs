//! Interoperability with third-party SMPP implementations: our ESME (a carrier pool)
//! against the npm `smpp` server, and the npm `smpp` and PyPI `smpplib` clients against
//! our simulator. The peers print every PDU they send or receive as a JSON line; the
//! tests check each of them.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use rusmpp::Pdu;
use serde_json::Value;
use smsbridge::carrier::{CarrierPool, InboundVerdict, PoolOptions, SubmitRequest};
use smsbridge::smpp::simulator;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::carrier::{Recorder, carrier, segment, sim_config};

const HANG: Duration = Duration::from_secs(30);

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

fn node_peer(script: &str) -> Command {
    let dir = interop_dir();
    assert!(
        dir.join("node_modules/smpp").is_dir(),
        "the npm package smpp is missing: run scripts/test-deps.sh"
    );
    let mut cmd = Command::new("node");
    cmd.arg(dir.join(script)).current_dir(&dir);
    cmd
}

fn python_peer(script: &str) -> Command {
    let dir = interop_dir();
    let python = dir.join(".venv/bin/python");
    assert!(
        python.is_file(),
        "the PyPI package smpplib is missing: run scripts/test-deps.sh"
    );
    let mut cmd = Command::new(python);
    cmd.arg(dir.join(script)).current_dir(&dir);
    cmd
}

/// A running third-party peer and the JSON lines it printed so far.
struct Peer {
    child: Child,
    lines: mpsc::UnboundedReceiver<Value>,
    seen: Vec<Value>,
}

impl Peer {
    fn spawn(mut cmd: Command) -> Self {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .expect("the peer starts (node / python installed?)");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let value = serde_json::from_str(&line)
                    .unwrap_or_else(|_| panic!("peer printed a non-JSON line: {line}"));
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line matching `want`, keeping every line for later checks.
    async fn wait(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        if let Some(found) = self.seen.iter().find(|v| want(v)) {
            return found.clone();
        }
        loop {
            let line = tokio::time::timeout(HANG, self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("peer never printed {what}; saw {:#?}", self.seen))
                .unwrap_or_else(|| panic!("peer exited before {what}; saw {:#?}", self.seen));
            assert_ne!(line["event"], "error", "peer reported {line}");
            self.seen.push(line.clone());
            if want(&line) {
                return line;
            }
        }
    }

    async fn pdu(&mut self, dir: &str, command: &str) -> Value {
        let what = format!("{dir} {command}");
        self.wait(&what, |v| {
            v["event"] == "pdu" && v["dir"] == dir && v["command"] == command
        })
        .await
    }

    /// Every PDU the peer saw carried ESME_ROK.
    fn assert_all_ok(&self) {
        for line in self.seen.iter().filter(|v| v["event"] == "pdu") {
            assert_eq!(line["status"], 0, "{line}");
        }
    }

    async fn finish(mut self) {
        self.wait("done", |v| v["event"] == "done").await;
        self.assert_all_ok();
        drop(self.child.stdin.take());
        let status = tokio::time::timeout(HANG, self.child.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success(), "peer exited with {status}");
    }
}

#[tokio::test]
async fn our_esme_against_the_node_smpp_server() {
    let mut smsc = Peer::spawn(node_peer("node_smsc.js"));
    let listening = smsc.wait("listening", |v| v["event"] == "listening").await;
    let port = listening["port"].as_u64().unwrap() as u16;

    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    let mut config = carrier(port);
    config.timers.enquire_link_interval = Duration::from_millis(200);
    let (tx, mut inbound) = mpsc::unbounded_channel();
    let consumer = Arc::new(Recorder {
        tx,
        verdict: InboundVerdict::Stored,
    });
    let pool = CarrierPool::start(
        &config,
        consumer,
        &PoolOptions::default(),
        &cancel,
        &tracker,
    )
    .unwrap();

    let bind = smsc.pdu("in", "bind_transceiver").await;
    assert_eq!(bind["system_id"], "smsbridge");
    assert_eq!(bind["interface_version"], 0x34);
    assert_eq!(bind["password_present"], true);

    // The MO the server sends right after the bind, stored, then acknowledged.
    let mo = tokio::time::timeout(HANG, inbound.recv())
        .await
        .unwrap()
        .unwrap();
    let Pdu::DeliverSm(sm) = &mo.pdu else {
        panic!("{mo:?}")
    };
    assert_eq!(sm.short_message().as_ref(), b"STOP");
    assert_eq!(sm.source_addr.as_str(), "14155550123");
    smsc.pdu("in", "deliver_sm_resp").await;

    let outcome = pool
        .submit(SubmitRequest {
            segments: vec![segment("Hello from smsbridge", 1)],
        })
        .await
        .unwrap();
    assert_eq!(outcome.segments[0].message_id, "1000");
    let submit = smsc.pdu("in", "submit_sm").await;
    assert_eq!(submit["destination_addr"], "14155550123");
    assert_eq!(submit["source_addr"], "18005550100");
    assert_eq!(submit["registered_delivery"], 1);
    assert_eq!(submit["short_message"], "Hello from smsbridge");

    let receipt = tokio::time::timeout(HANG, inbound.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(receipt.is_receipt());
    let Pdu::DeliverSm(sm) = &receipt.pdu else {
        panic!("{receipt:?}")
    };
    let text = String::from_utf8_lossy(sm.short_message().as_ref()).into_owned();
    assert!(text.starts_with("id:1000 "), "{text}");
    smsc.wait("the receipt's deliver_sm_resp", |v| {
        v["dir"] == "in" && v["command"] == "deliver_sm_resp" && v["sequence"] == 2
    })
    .await;

    // The link goes quiet: our side probes it.
    smsc.pdu("in", "enquire_link").await;
    smsc.pdu("out", "enquire_link_resp").await;

    // Shutdown unbinds.
    cancel.cancel();
    tracker.close();
    smsc.pdu("in", "unbind").await;
    tokio::time::timeout(HANG, tracker.wait()).await.unwrap();
    smsc.finish().await;
}

async fn client_against_simulator(peer: Command, port_arg: impl FnOnce(&mut Command, u16)) {
    let cancel = CancellationToken::new();
    let cfg = sim_config("[mo]\nrate = 100\ncount = 1\ntexts = [\"STOP\"]");
    let sim = simulator::start(cfg, cancel.clone()).await.unwrap();
    let mut peer = peer;
    port_arg(&mut peer, sim.local_addr().port());
    let mut client = Peer::spawn(peer);
    let resp = client.pdu("in", "bind_transceiver_resp").await;
    assert_eq!(resp["status"], 0);
    let resp = client.pdu("in", "submit_sm_resp").await;
    let id = resp["message_id"].as_str().unwrap().to_string();
    let receipt = client
        .wait("the receipt", |v| {
            v["command"] == "deliver_sm" && v["esm_class"] == 4
        })
        .await;
    assert_eq!(receipt["receipted_message_id"], id.as_str());
    assert_eq!(receipt["message_state"], 2);
    let text = receipt["short_message"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("id:{id} sub:001 dlvrd:001 submit date:")),
        "{text}"
    );
    assert!(
        text.contains(" stat:DELIVRD err:000 text:Hello from"),
        "{text}"
    );
    let mo = client
        .wait("the MO", |v| {
            v["command"] == "deliver_sm" && v["esm_class"] == 0
        })
        .await;
    assert_eq!(mo["short_message"], "STOP");
    client.pdu("in", "enquire_link_resp").await;
    client.pdu("in", "unbind_resp").await;
    client.finish().await;
    let stats = tokio::time::timeout(
        HANG,
        sim.wait_for_stats(|s| s.receipts_acked == 1 && s.mo_acked == 1 && s.bound == 0),
    )
    .await
    .unwrap();
    assert_eq!((stats.submits, stats.deliveries_failed), (1, 0));
    cancel.cancel();
    tokio::time::timeout(HANG, sim.wait()).await.unwrap();
}

#[tokio::test]
async fn the_node_smpp_client_against_our_simulator() {
    client_against_simulator(node_peer("node_esme.js"), |cmd, port| {
        cmd.arg(port.to_string());
    })
    .await;
}

#[tokio::test]
async fn the_smpplib_client_against_our_simulator() {
    client_against_simulator(python_peer("smpplib_esme.py"), |cmd, port| {
        cmd.arg(port.to_string());
    })
    .await;
}
