//! Planning and decoding throughput of the text module.
//!
//! `cargo bench --bench text`; figures go to BENCHMARKS.md under `## Text`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smsbridge::text::{
    Alphabet, InboundMessage, RouteProfile, decode_parts, parse, plan, plan_with_reference,
};

fn gsm_text(len: usize) -> String {
    let sentence = "Hello Maria, your order #4521 has shipped and arrives tomorrow before noon. ";
    sentence.chars().cycle().take(len).collect()
}

fn emoji_text(len: usize) -> String {
    let pieces = ["Thanks ", "😀", "👍🏽", " see you ", "👨‍👩‍👧‍👦", "🇺🇸", "❤️", " ok "];
    let mut out = String::new();
    for piece in pieces.iter().cycle() {
        if out.chars().count() + piece.chars().count() > len {
            break;
        }
        out.push_str(piece);
    }
    while out.chars().count() < len {
        out.push('!');
    }
    out
}

fn planning(c: &mut Criterion) {
    let profile = RouteProfile::default();
    let mut group = c.benchmark_group("plan");
    group.throughput(Throughput::Elements(1));
    for (name, text) in [
        ("gsm_160", gsm_text(160)),
        ("gsm_1000", gsm_text(1000)),
        ("emoji_1000", emoji_text(1000)),
    ] {
        assert_eq!(
            text.chars().count(),
            if name == "gsm_160" { 160 } else { 1000 }
        );
        group.bench_function(name, |b| {
            b.iter(|| plan_with_reference(black_box(&text), &profile, 42).unwrap())
        });
    }
    group.finish();
}

fn decoding(c: &mut Criterion) {
    let profile = RouteProfile::default();
    let text = "Привет! Мой заказ 4521 ещё не пришёл 😟 можно проверить? ".repeat(3);
    let sent = plan_with_reference(&text, &profile, 7).unwrap();
    assert_eq!(sent.segments, 3);
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("ucs2_3_parts", |b| {
        b.iter(|| {
            let parts: Vec<_> = sent
                .parts
                .iter()
                .map(|part| {
                    parse(&InboundMessage {
                        data_coding: 0x08,
                        short_message: black_box(&part.short_message),
                        message_payload: None,
                        udhi: true,
                        sar: None,
                        alphabet: Alphabet::Gsm7,
                        gsm7_packed: false,
                    })
                })
                .collect();
            decode_parts(&parts)
        })
    });
    group.finish();
    // The preview path the HTTP API uses, for comparison.
    c.bench_function("plan/preview_gsm_160", |b| {
        let text = gsm_text(160);
        b.iter(|| plan(black_box(&text), &profile).unwrap())
    });
}

criterion_group!(benches, planning, decoding);
criterion_main!(benches);
