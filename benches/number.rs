//! Costs on the message paths: the destination check every MT makes, the sender lookup
//! every MT and MO makes, and the keyword match every MO makes.

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{Criterion, criterion_group, criterion_main};
use smsbridge::consent::KeywordSet;
use smsbridge::number::{
    BoundedUnreachableMemory, NumberPolicy, SenderInventory, SenderKind, SenderSpec,
};

fn number_check(c: &mut Criterion) {
    let policy = NumberPolicy::default();
    let memory = BoundedUnreachableMemory::new(1024);
    let now = SystemTime::now();
    let mut group = c.benchmark_group("number_check");
    for (name, input) in [
        ("e164_us", "+14155550123"),
        ("typed_uk_landline", "+44 (0) 20 7946 0000"),
        ("national_de_mobile", "0151 23456789"),
        ("short_code", "72404"),
        ("garbage", "call me maybe"),
    ] {
        let region = Some("DE".parse().unwrap()).filter(|_| name == "national_de_mobile");
        let region =
            region.or_else(|| Some("US".parse().unwrap()).filter(|_| name == "short_code"));
        group.bench_function(name, |b| {
            b.iter(|| policy.check(black_box(input), region, &memory, now))
        });
    }
    group.finish();
}

fn sender_lookup(c: &mut Criterion) {
    let specs = (0..200).map(|i| SenderSpec {
        number: format!("+1 415 555 {:04}", 100 + i),
        kind: SenderKind::Longcode,
        country: None,
        route: "carrier-a".into(),
        fallback_routes: Vec::new(),
        mms: false,
        throughput: 1.0,
        ton: None,
        npi: None,
        brand: None,
    });
    let inventory = SenderInventory::new(specs).unwrap();
    c.bench_function("sender_lookup_smpp_digits", |b| {
        b.iter(|| inventory.lookup(black_box("14155550250")))
    });
}

fn keyword_match(c: &mut Criterion) {
    let set = KeywordSet::recommended();
    let chat = "Hi, I'd like to move my appointment to Thursday afternoon if that works for you.";
    let mut group = c.benchmark_group("keyword_match");
    group.bench_function("stop", |b| b.iter(|| set.classify(black_box(" Stop. "))));
    group.bench_function("chat_message", |b| b.iter(|| set.classify(black_box(chat))));
    group.finish();
}

criterion_group!(benches, number_check, sender_lookup, keyword_match);
criterion_main!(benches);
