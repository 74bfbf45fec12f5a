//! MM7 reading cost: a DeliverReq with SMIL, text and three images (the REL-5 fixture)
//! read from its bytes and its nested content opened; each content part validated; a
//! DeliverRsp written; and the SHA-256 that names a stored file.
//!
//! `cargo bench --bench mms`; figures go to BENCHMARKS.md under `## MMS`.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smsbridge::config::DEFAULT_CONTENT_TYPES;
use smsbridge::mms::media::{MediaPolicy, MediaStore};
use smsbridge::mms::mm7::{
    MultipartLimits, Status, StatusCode, parse_deliver, parse_request, write_deliver_rsp,
};

fn fixture(name: &str) -> (String, Bytes) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/mms")
        .join(format!("{name}.http"));
    let raw = std::fs::read(path).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let ct = head.strip_prefix("Content-Type: ").unwrap().to_owned();
    (ct, Bytes::copy_from_slice(&raw[split + 4..]))
}

fn bench(c: &mut Criterion) {
    let limits = MultipartLimits::default();
    let (ct, body) = fixture("deliver-rel5-photos");
    let mut group = c.benchmark_group("mm7");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("read_deliver_req", |b| {
        b.iter(|| {
            let request = parse_request(&ct, black_box(body.clone()), limits).unwrap();
            let deliver = parse_deliver(&request.envelope).unwrap();
            request
                .content(deliver.content_href.as_deref(), limits)
                .unwrap()
        })
    });
    group.finish();

    let request = parse_request(&ct, body.clone(), limits).unwrap();
    let deliver = parse_deliver(&request.envelope).unwrap();
    let parts = request
        .content(deliver.content_href.as_deref(), limits)
        .unwrap();
    let policy = MediaPolicy {
        allowed: DEFAULT_CONTENT_TYPES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        max_part_bytes: 5 * 1024 * 1024,
    };
    c.bench_function("validate_five_parts", |b| {
        b.iter(|| {
            for part in &parts {
                black_box(policy.check(black_box(part)).unwrap());
            }
        })
    });
    let status = Status::new(StatusCode::SUCCESS);
    c.bench_function("write_deliver_rsp", |b| {
        b.iter(|| write_deliver_rsp(deliver.version, black_box(&deliver.transaction_id), &status))
    });
    let megabyte = vec![0x5Au8; 1024 * 1024];
    let mut group = c.benchmark_group("media_hash");
    group.throughput(Throughput::Bytes(megabyte.len() as u64));
    group.bench_function("sha256_1mib", |b| {
        b.iter(|| MediaStore::hash(black_box(&megabyte)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
