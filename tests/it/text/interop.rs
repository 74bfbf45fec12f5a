//! Segment counts cross-checked against an independent implementation: the npm package
//! `sms-segments-calculator`, run by node over fixtures/text/segment-corpus.jsonl.
//!
//! The calculator knows GSM-7 and UCS-2 with 8-bit UDH, the default profile here. It is
//! given the text after NFC, since smsbridge normalises before counting (the calculator
//! does not, and would count a decomposed "é" as UCS-2). Where smsbridge counts otherwise
//! on purpose, the corpus line says what smsbridge expects and why; the test checks both
//! that smsbridge gives that and that the calculator still disagrees, so a stale note fails.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::Deserialize;
use smsbridge::text::{RouteProfile, nfc, plan};

#[derive(Deserialize)]
struct Entry {
    id: String,
    text: String,
    ours: Option<Count>,
    why: Option<String>,
}

#[derive(Deserialize, Debug, PartialEq, Eq, Clone)]
struct Count {
    encoding: String,
    segments: usize,
}

fn calculator_counts(texts: &[String]) -> Vec<Count> {
    let interop = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    assert!(
        interop
            .join("node_modules/sms-segments-calculator")
            .is_dir(),
        "the npm package sms-segments-calculator is missing: run scripts/test-deps.sh"
    );
    let mut child = Command::new("node")
        .arg(interop.join("segment-counts.js"))
        .current_dir(&interop)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node is needed for the interop tests: run scripts/test-deps.sh");
    let mut stdin = child.stdin.take().unwrap();
    for text in texts {
        serde_json::to_writer(&mut stdin, &serde_json::json!({ "text": text })).unwrap();
        stdin.write_all(b"\n").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "segment-counts.js failed");
    out.stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

#[test]
fn segment_counts_match_an_independent_calculator() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/text/segment-corpus.jsonl");
    let corpus: Vec<Entry> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(corpus.len() >= 300, "the corpus has {} texts", corpus.len());
    let texts: Vec<String> = corpus.iter().map(|e| nfc(&e.text).into_owned()).collect();
    let theirs = calculator_counts(&texts);
    assert_eq!(theirs.len(), corpus.len());
    let profile = RouteProfile::default();
    let mut mismatches = Vec::new();
    for (entry, their) in corpus.iter().zip(theirs) {
        let p = plan(&entry.text, &profile).unwrap();
        let ours = Count {
            encoding: p.encoding.to_string(),
            segments: p.segments,
        };
        match &entry.ours {
            None if ours != their => {
                mismatches.push(format!("{}: ours {ours:?}, calculator {their:?}", entry.id))
            }
            Some(expected) => {
                assert_eq!(
                    &ours,
                    expected,
                    "{}: {}",
                    entry.id,
                    entry.why.as_deref().unwrap_or("")
                );
                assert_ne!(
                    &their, expected,
                    "{}: the calculator now agrees; drop the note",
                    entry.id
                );
            }
            None => {}
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} texts differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
