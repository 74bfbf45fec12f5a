//! Frame encode/decode throughput of the strict framing layer (rusmpp bodies inside).
//!
//! cargo bench --bench smpp

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rusmpp::CommandStatus;
use rusmpp::pdus::{SubmitSm, SubmitSmResp};
use rusmpp::types::{COctetString, OctetString};
use smsbridge::smpp::frame::{self, Decoded, Frame};
use smsbridge::smpp::simulator::receipts::{self, ReceiptOutcome, Submitted};

const BATCH: usize = 1000;
const MAX: u32 = 65_536;

fn submit_sm() -> SubmitSm {
    SubmitSm::builder()
        .source_addr(COctetString::from_static_slice(b"18005550100\0").unwrap())
        .destination_addr(COctetString::from_static_slice(b"14155550123\0").unwrap())
        .short_message(OctetString::from_static_slice(b"Your code is 123456").unwrap())
        .build()
}

fn frames(frame: &Frame) -> BytesMut {
    let mut buf = BytesMut::new();
    for _ in 0..BATCH {
        frame::encode(frame, &mut buf, MAX).unwrap();
    }
    buf
}

fn bench_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(BATCH as u64));
    let frame = Frame::new(CommandStatus::EsmeRok, 1, submit_sm());
    let mut buf = BytesMut::with_capacity(64 * 1024);
    group.bench_function("submit_sm", |b| {
        b.iter(|| {
            buf.clear();
            for _ in 0..BATCH {
                frame::encode(black_box(&frame), &mut buf, MAX).unwrap();
            }
        });
    });
    group.finish();
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(BATCH as u64));
    let resp = SubmitSmResp::builder()
        .message_id(COctetString::from_static_slice(b"1a2b3c4d\0").unwrap())
        .build();
    let submitted = Submitted {
        message_id: "1a2b3c4d".into(),
        source: COctetString::from_static_slice(b"18005550100\0").unwrap(),
        destination: COctetString::from_static_slice(b"14155550123\0").unwrap(),
        text: b"Your code is 123456".to_vec(),
        part: 1,
        at: std::time::SystemTime::now(),
    };
    let cases = [
        (
            "submit_sm",
            Frame::new(CommandStatus::EsmeRok, 1, submit_sm()),
        ),
        (
            "submit_sm_resp",
            Frame::new(CommandStatus::EsmeRok, 1, resp),
        ),
        (
            "deliver_sm_receipt",
            Frame::new(
                CommandStatus::EsmeRok,
                1,
                receipts::build(&submitted, &ReceiptOutcome::Delivered.into()),
            ),
        ),
    ];
    for (name, frame) in cases {
        let input = frames(&frame);
        group.bench_function(name, |b| {
            b.iter_batched(
                || input.clone(),
                |mut buf| {
                    while let Some(decoded) = frame::decode(&mut buf, MAX).unwrap() {
                        assert!(matches!(decoded, Decoded::Frame(_)));
                        black_box(decoded);
                    }
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

criterion_group!(benches, bench_encode, bench_decode);
criterion_main!(benches);
