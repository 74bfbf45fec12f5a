//! Receipt parsing throughput: TLV-only, text-only and both, from a decoded PDU and
//! from a raw body; and the id work of one match (keys and ranking).
//!
//! `cargo bench --bench receipts`; figures go to BENCHMARKS.md under `## Receipts`.

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rusmpp::Pdu;
use rusmpp::encode::owned::Encode;
use rusmpp::pdus::DeliverSm;
use rusmpp::tlvs::MessageDeliveryRequestTlvValue;
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::{EsmClass, MessageState};
use smsbridge::receipts::{
    FormLearner, MsgIdFormat, best_match, index_keys, lookup_keys, parse_body, parse_pdu,
};

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
        b.iter(|| index_keys(black_box("1a2b3c4d5e")))
    });
    let learner = FormLearner::new();
    let candidates = ["1a2b3c4d5e", "112394521950"];
    group.bench_function("lookup_keys_and_best_match", |b| {
        b.iter(|| {
            let keys = lookup_keys(black_box("112394521950"), MsgIdFormat::Auto);
            let m = best_match(
                "112394521950",
                candidates.iter().copied(),
                MsgIdFormat::Auto,
                Some(&learner),
            );
            (keys, m)
        })
    });
    group.finish();
}

criterion_group!(benches, parsing, matching);
criterion_main!(benches);
