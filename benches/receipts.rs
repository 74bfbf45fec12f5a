//! Receipt parsing throughput: TLV-only, text-only and both, from a decoded PDU and
//! from a raw body; the id work of one match (keys and ranking); and receipts matched
//! end to end through the receipts flow with the store on disk (`receipt_flow`).
//!
//! `cargo bench --bench receipts`; figures go to BENCHMARKS.md under `## Receipts`.

mod common;

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::BytesMut;
use common::{conversation, new_mt};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rusmpp::Pdu;
use rusmpp::encode::owned::Encode;
use rusmpp::pdus::DeliverSm;
use rusmpp::tlvs::MessageDeliveryRequestTlvValue;
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::{EsmClass, MessageState};
use smsbridge::carrier::{InboundMessage, InboundVerdict};
use smsbridge::config::{Config, Synchronous};
use smsbridge::connector::Outbox;
use smsbridge::flow::FlowOptions;
use smsbridge::flow::receipts::ReceiptFlow;
use smsbridge::number::BoundedUnreachableMemory;
use smsbridge::receipts::{
    MsgIdFormat, index_keys, lookup_keys, parse_body, parse_pdu, read_tolerant,
};
use smsbridge::smpp::simulator::receipts::{self as sim, ReceiptOutcome, Submitted};
use smsbridge::store::sqlite::SqliteStore;
use smsbridge::store::{MtAttempt, RawReceipt, SentSegment, Store};
use tokio::sync::watch;

const TEXT: &str = "id:1a2b3c4d5e sub:001 dlvrd:001 submit date:2603011345 \
                    done date:2603011346 stat:DELIVRD err:000 text:Your order has shipped";

fn receipt(text: bool, tlvs: bool) -> DeliverSm {
    let short_message = if text {
        TEXT.as_bytes().to_vec()
    } else {
        Vec::new()
    };
    let mut builder = DeliverSm::builder()
        .esm_class(EsmClass::from(0x04))
        .short_message(OctetString::from_vec(short_message).unwrap());
    if tlvs {
        builder = builder.tlvs(vec![
            MessageDeliveryRequestTlvValue::ReceiptedMessageId(
                COctetString::from_string("1a2b3c4d5e".to_string()).unwrap(),
            ),
            MessageDeliveryRequestTlvValue::MessageState(MessageState::Delivered),
        ]);
    }
    builder.build()
}

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("receipt_parse");
    group.throughput(Throughput::Elements(1));
    for (name, text, tlvs) in [
        ("tlv_only", false, true),
        ("text_only", true, false),
        ("both", true, true),
    ] {
        let sm = receipt(text, tlvs);
        let mut body = BytesMut::new();
        sm.encode(&mut body);
        let pdu = Pdu::DeliverSm(sm);
        group.bench_function(format!("pdu/{name}"), |b| {
            b.iter(|| parse_pdu(black_box(&pdu)).unwrap())
        });
        group.bench_function(format!("body/{name}"), |b| {
            b.iter(|| parse_body(0x0000_0005, black_box(&body)).unwrap())
        });
    }
    group.finish();
}

fn matching(c: &mut Criterion) {
    let mut group = c.benchmark_group("receipt_id");
    group.throughput(Throughput::Elements(1));
    group.bench_function("index_keys", |b| {
        b.iter(|| index_keys(black_box("1a2b3c4d5e"), MsgIdFormat::Auto))
    });
    let candidates = ["1a2b3c4d5e", "112394521950"];
    let receipt = ["112394521950".to_owned()];
    group.bench_function("lookup_keys_and_read_tolerant", |b| {
        b.iter(|| {
            let keys = lookup_keys(black_box("112394521950"), MsgIdFormat::Auto);
            let m = read_tolerant(&receipt, &candidates, MsgIdFormat::Auto, None);
            (keys, m)
        })
    });
    group.finish();
}

/// Receipts fed through the receipts flow per timed round.
const FLOW_RECEIPTS: usize = 500;

/// A receipts flow on a fresh SQLite file, as the daemon builds it.
struct FlowBench {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    flow: Arc<ReceiptFlow<SqliteStore>>,
    next_id: u64,
}

impl FlowBench {
    fn new(sync: Synchronous) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            r#"[instance]
state_dir = "{}"
[api]
auth = "none"
[[carriers]]
name = "sim"
host = "127.0.0.1"
port = 2775
system_id = "gw"
password = "pw"
[[senders]]
number = "+18005550100"
kind = "toll_free"
routes = ["sim"]
"#,
            dir.path().display()
        );
        let config = Config::from_toml(Path::new("bench.toml"), &config).unwrap();
        let store =
            SqliteStore::open(&dir.path().join("smsbridge.db"), sync, 512, "bench").unwrap();
        let options = FlowOptions {
            receipt_park: Duration::from_secs(3600),
            ..FlowOptions::default()
        };
        let flow = ReceiptFlow::new(
            store.clone(),
            watch::channel(Arc::new(config)).1,
            Outbox::new(store.clone()),
            options,
            Arc::new(BoundedUnreachableMemory::new(1024)),
        );
        FlowBench {
            _dir: dir,
            store,
            flow: Arc::new(flow),
            next_id: 0,
        }
    }

    /// Stores `n` sent one-segment MTs with carrier ids; their receipts (decimal ids
    /// for the hex submit ids, as a carrier that mixes forms writes them).
    async fn sent(&mut self, n: usize) -> Vec<Pdu> {
        let mut receipts = Vec::with_capacity(n);
        let mut writes = tokio::task::JoinSet::new();
        for _ in 0..n {
            self.next_id += 1;
            let n = self.next_id;
            let store = self.store.clone();
            writes.spawn(async move {
                let id = format!("m{n}");
                let accepted = store.accept_mt(new_mt(&id, "+14155550123")).await.unwrap();
                let segment = SentSegment {
                    index: 0,
                    carrier: "sim".into(),
                    carrier_message_id: format!("{n:x}"),
                    // This carrier mixes forms: every reading is indexed.
                    id_format: MsgIdFormat::Auto,
                    resent: false,
                };
                store
                    .record_mt_attempt(id, conversation(accepted), vec![segment], MtAttempt::Sent)
                    .await
                    .unwrap();
            });
            let submitted = Submitted {
                message_id: n.to_string(),
                source: COctetString::from_string("18005550100".into()).unwrap(),
                destination: COctetString::from_string("14155550123".into()).unwrap(),
                text: b"Your order has shipped".to_vec(),
                part: 1,
                at: SystemTime::now(),
            };
            receipts.push(sim::build(&submitted, &ReceiptOutcome::Delivered.into()).into());
        }
        writes.join_all().await;
        receipts
    }

    /// Feeds `receipts` through the flow, `in_flight` at a time (the binds' deliver_sm
    /// in flight); how long it took.
    async fn feed(&self, receipts: Vec<Pdu>, in_flight: usize) -> Duration {
        let start = Instant::now();
        let mut handling = tokio::task::JoinSet::new();
        for pdu in receipts {
            if handling.len() >= in_flight {
                handling.join_next().await;
            }
            let flow = self.flow.clone();
            handling.spawn(async move {
                let message = InboundMessage {
                    carrier: "sim".into(),
                    bind: "sim-0".into(),
                    pdu,
                };
                let verdict = flow.handle(&message, "14155550123", raw_receipt).await;
                assert!(matches!(verdict, InboundVerdict::Stored));
            });
        }
        handling.join_all().await;
        start.elapsed()
    }
}

fn raw_receipt() -> RawReceipt {
    RawReceipt {
        carrier: "sim".into(),
        source: "14155550123".into(),
        destination: "18005550100".into(),
        short_message: Vec::new(),
        receipted_message_id: None,
    }
}

fn flow(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("receipt_flow");
    group.throughput(Throughput::Elements(FLOW_RECEIPTS as u64));
    group.sample_size(10);
    for (sync, sync_name) in [(Synchronous::Full, "full"), (Synchronous::Normal, "normal")] {
        for in_flight in [1, 64] {
            let mut bench = FlowBench::new(sync);
            let name = format!("sync_{sync_name}/in_flight_{in_flight}");
            group.bench_function(name, |b| {
                b.iter_custom(|rounds| {
                    let mut total = Duration::ZERO;
                    for _ in 0..rounds {
                        let receipts = rt.block_on(bench.sent(FLOW_RECEIPTS));
                        total += rt.block_on(bench.feed(receipts, in_flight));
                    }
                    total
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, parsing, matching, flow);
criterion_main!(benches);
