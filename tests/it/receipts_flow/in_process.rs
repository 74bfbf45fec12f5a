//! The receipts flow in process, on a real SQLite store and receipts built the way the
//! simulator sends them: the expiry loop under paused time, and the id-form learner
//! taught by a receipt that was parked and matched later.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use metrics_exporter_prometheus::PrometheusBuilder;
use rusmpp::types::COctetString;
use smsbridge::carrier::{InboundMessage, InboundVerdict};
use smsbridge::config::{Config, Synchronous};
use smsbridge::connector::Outbox;
use smsbridge::flow::FlowOptions;
use smsbridge::flow::receipts::ReceiptFlow;
use smsbridge::number::BoundedUnreachableMemory;
use smsbridge::receipts::{IdForm, MsgIdFormat};
use smsbridge::smpp::simulator::receipts::{self, ReceiptOutcome, Submitted};
use smsbridge::store::model::now_ms;
use smsbridge::store::sqlite::SqliteStore;
use smsbridge::store::{MtAttempt, NewMt, RawReceipt, SentSegment, Store};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::harness::HANG;

const CONTACT: &str = "14155550123";
const SENDER: &str = "18005550100";

/// How long a receipt stays parked in these tests.
const PARK: Duration = Duration::from_secs(3600);

fn config(dir: &Path) -> Config {
    let text = format!(
        r#"[instance]
state_dir = "{}"

[[carriers]]
name = "sim"
host = "127.0.0.1"
port = 2775
system_id = "gw"
password = "pw"

[[senders]]
number = "+{SENDER}"
kind = "toll_free"
routes = ["sim"]

[api]
auth = "none"
"#,
        dir.display()
    );
    Config::from_toml(Path::new("smsbridge.toml"), &text).unwrap()
}

fn flow(dir: &Path) -> (SqliteStore, ReceiptFlow<SqliteStore>) {
    let store = SqliteStore::open(&dir.join("db"), Synchronous::Normal, 8, "t").unwrap();
    let (_, live) = watch::channel(Arc::new(config(dir)));
    let options = FlowOptions {
        receipt_park: PARK,
        ..FlowOptions::default()
    };
    let flow = ReceiptFlow::new(
        store.clone(),
        live,
        Outbox::new(store.clone()),
        options,
        Arc::new(BoundedUnreachableMemory::new(16)),
    );
    (store, flow)
}

/// Feeds the flow the simulator's receipt for `receipt_id`.
async fn receive(flow: &ReceiptFlow<SqliteStore>, receipt_id: &str, outcome: ReceiptOutcome) {
    let submitted = Submitted {
        message_id: receipt_id.to_owned(),
        source: COctetString::from_string(SENDER.to_owned()).unwrap(),
        destination: COctetString::from_string(CONTACT.to_owned()).unwrap(),
        text: b"hello".to_vec(),
        part: 1,
        at: SystemTime::now(),
    };
    let message = InboundMessage {
        carrier: "sim".into(),
        bind: "sim-0".into(),
        pdu: receipts::build(&submitted, &outcome.into()).into(),
    };
    let raw = || RawReceipt {
        carrier: "sim".into(),
        source: CONTACT.into(),
        destination: SENDER.into(),
        short_message: Vec::new(),
        receipted_message_id: None,
    };
    let verdict = flow.handle(&message, CONTACT, raw).await;
    assert!(matches!(verdict, InboundVerdict::Stored), "{verdict:?}");
}

async fn accept(store: &SqliteStore, id: &str) {
    store
        .accept_mt(NewMt {
            message_id: id.into(),
            contact: format!("+{CONTACT}"),
            sender: format!("+{SENDER}"),
            text: "hello".into(),
            encoding: "gsm7".into(),
            segments: 1,
            reference: 1,
            route: "sim".into(),
            validity_deadline: now_ms() + 60_000,
            idempotency_key: None,
            request_sha256: None,
            media: Vec::new(),
            linked: Vec::new(),
            origin: "mt",
        })
        .await
        .unwrap();
}

async fn record(
    store: &SqliteStore,
    id: &str,
    carrier_id: &str,
) -> Vec<smsbridge::store::ParkedMatch> {
    let segment = SentSegment {
        index: 0,
        carrier: "sim".into(),
        carrier_message_id: carrier_id.into(),
        id_format: MsgIdFormat::Auto,
        resent: false,
    };
    store
        .record_mt_attempt(
            id.into(),
            store
                .message(id.into())
                .await
                .unwrap()
                .unwrap()
                .conversation_id,
            vec![segment],
            MtAttempt::Sent,
        )
        .await
        .unwrap()
        .parked_matched
}

async fn parked_rows(store: &SqliteStore) -> i64 {
    store
        .read(|c| Ok(c.query_row("SELECT count(*) FROM parked_receipt", [], |r| r.get(0))?))
        .await
        .unwrap()
}

/// The value of a counter of carrier `sim` in the Prometheus text.
fn counter(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| {
            let labels = line.strip_prefix(name)?;
            labels.contains("carrier=\"sim\"").then_some(())?;
            labels.split_whitespace().last()?.parse().ok()
        })
        .unwrap_or(0)
}

#[tokio::test(start_paused = true)]
async fn the_expiry_loop_removes_a_parked_receipt_once_its_time_is_up_and_counts_it() {
    const EXPIRED: &str = "smsbridge_receipts_expired_total";
    let recorder = PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    // This runtime has one thread: every task records into this recorder.
    let _recording = metrics::set_default_local_recorder(&recorder);
    let dir = tempfile::tempdir().unwrap();
    let (store, flow) = flow(dir.path());
    receive(&flow, "7777", ReceiptOutcome::Delivered).await;
    assert_eq!(parked_rows(&store).await, 1);

    let flow = Arc::new(flow);
    let cancel = CancellationToken::new();
    let expiry = tokio::spawn({
        let flow = flow.clone();
        let cancel = cancel.clone();
        async move { flow.run_expiry(cancel).await }
    });
    // Short of the park time, whatever sweeps ran: still parked. (Reads run on the
    // blocking pool, which keeps the paused clock where the test put it.)
    tokio::time::advance(PARK - Duration::from_secs(60)).await;
    assert_eq!(parked_rows(&store).await, 1);
    assert_eq!(counter(&metrics.render(), EXPIRED), 0);

    // Past it: the loop's next sweeps remove it. Virtual time moves a minute per look,
    // so the loop's sleep is reached whenever its previous sweep finished.
    let deadline = Instant::now() + HANG;
    while parked_rows(&store).await > 0 || counter(&metrics.render(), EXPIRED) == 0 {
        assert!(
            Instant::now() < deadline,
            "the parked receipt did not expire"
        );
        tokio::time::advance(Duration::from_secs(60)).await;
    }
    assert_eq!(counter(&metrics.render(), EXPIRED), 1);

    // Its id appearing now matches nothing.
    accept(&store, "m1").await;
    assert!(record(&store, "m1", "7777").await.is_empty());
    cancel.cancel();
    expiry.await.unwrap();
}

#[tokio::test]
async fn a_receipt_that_beat_its_response_is_read_once_the_submits_before_it_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (store, flow) = flow(dir.path());
    let flow = Arc::new(flow);
    let correlation = flow.correlation();
    let cancel = CancellationToken::new();
    let reader = tokio::spawn({
        let flow = flow.clone();
        let cancel = cancel.clone();
        async move { flow.run_parked(cancel).await }
    });
    // The carrier answers 1a2b (hex) and reports 6699 (the same number in decimal); its
    // receipt beats the submit response, whose submit is in flight.
    let ticket = correlation.in_flight.begin("sim");
    receive(&flow, "6699", ReceiptOutcome::Delivered).await;
    accept(&store, "m1").await;
    // Recording the id matches exact receipts only: this one waits for the ticket.
    let matched = record(&store, "m1", "1a2b").await;
    assert!(matched.is_empty(), "{matched:?}");
    correlation.parked_matched(&matched);
    assert_eq!(message_status(&store, "m1").await, "sent");
    drop(ticket);
    let deadline = Instant::now() + HANG;
    while message_status(&store, "m1").await != "delivered" {
        assert!(
            Instant::now() < deadline,
            "the parked receipt was never read"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(parked_rows(&store).await, 0);

    // It proved the carrier's form, as a direct match of the same kind does.
    accept(&store, "m2").await;
    assert!(record(&store, "m2", "1a2c").await.is_empty());
    receive(&flow, "6700", ReceiptOutcome::Delivered).await;
    assert_eq!(message_status(&store, "m2").await, "delivered");
    let counts = flow.learner("sim").counts();
    let hex_to_decimal = counts
        .iter()
        .find(|(form, _)| *form == IdForm::HexToDecimal)
        .unwrap();
    assert_eq!(hex_to_decimal.1, 2, "{counts:?}");
    cancel.cancel();
    reader.await.unwrap();
}

async fn message_status(store: &SqliteStore, id: &str) -> String {
    store.message(id.into()).await.unwrap().unwrap().status
}
