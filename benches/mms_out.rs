//! MT MMS encoding cost: building a SubmitReq (envelope, SMIL, nested multipart) for a
//! text with two pictures, and reading a SubmitRsp back.
//!
//! `cargo bench --bench mms_out`; figures go to BENCHMARKS.md under `## MMS out`.

use std::hint::black_box;
use std::path::Path;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use reqwest::StatusCode;
use smsbridge::mms::client::Mm7Answer;
use smsbridge::mms::fetch::FetchedMedia;
use smsbridge::mms::mm7::{Address, Element, Mm7Version, write_envelope};
use smsbridge::mms::submit::{SubmitReq, read_submit_rsp};

fn fixture(name: &str) -> Bytes {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/mms/media")
        .join(name);
    Bytes::from(std::fs::read(path).expect("the fixture exists"))
}

fn request() -> SubmitReq {
    SubmitReq {
        version: Mm7Version::Rel6,
        transaction_id: "bench-1".into(),
        vasp_id: Some("vasp".into()),
        vas_id: Some("support".into()),
        sender: Address::Number("+18005550100".into()),
        recipient: Address::Number("+14155550123".into()),
        subject: None,
        text: "Here is your label and our logo".into(),
        media: vec![
            FetchedMedia {
                content_type: "image/jpeg".into(),
                filename: Some("photo.jpg".into()),
                body: fixture("photo.jpg"),
            },
            FetchedMedia {
                content_type: "image/png".into(),
                filename: Some("logo.png".into()),
                body: fixture("logo.png"),
            },
        ],
    }
}

fn submit_rsp() -> Mm7Answer {
    let rsp = Element::new("SubmitRsp")
        .with_text_child("MM7Version", "6.8.0")
        .with_child(
            Element::new("Status")
                .with_text_child("StatusCode", "1000")
                .with_text_child("StatusText", "Success"),
        )
        .with_text_child("MessageID", "mmsc-000042");
    Mm7Answer {
        status: StatusCode::OK,
        body: Bytes::from(write_envelope(Mm7Version::Rel6, "bench-1", &rsp)),
    }
}

fn bench(c: &mut Criterion) {
    let req = request();
    let size = req.build().body.len() as u64;
    let mut group = c.benchmark_group("mms_out");
    group.throughput(Throughput::Bytes(size));
    group.bench_function("submit_req_build_text_and_two_pictures", |b| {
        b.iter(|| black_box(&req).build())
    });
    group.finish();
    let answer = submit_rsp();
    c.bench_function("mms_out/submit_rsp_read", |b| {
        b.iter(|| read_submit_rsp(black_box(&answer)).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
