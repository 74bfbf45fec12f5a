//! The receipt fixture table (`fixtures/receipts/cases.toml`): every variant built on
//! the wire, parsed leniently from the raw body and strictly through the frame decoder,
//! and checked field by field.

use std::collections::BTreeSet;
use std::path::Path;

use bytes::{BufMut, BytesMut};
use rusmpp::encode::owned::Encode;
use rusmpp::pdus::{DataSm, DeliverSm};
use rusmpp::types::OctetString;
use rusmpp::values::{DataCoding, EsmClass};
use serde::Deserialize;
use smsbridge::receipts::{Receipt, Source, UnparsedReceipt, parse_body, parse_pdu};
use smsbridge::smpp::frame::{self, Decoded};

#[derive(Debug, Deserialize)]
struct File {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    about: String,
    command: Option<String>,
    esm_class: Option<u8>,
    data_coding: Option<u8>,
    text: Option<String>,
    text_hex: Option<String>,
    #[serde(default)]
    tlvs: Tlvs,
    #[serde(default)]
    raw_tlvs: Vec<RawTlv>,
    body_hex: Option<String>,
    #[serde(default)]
    strict_refuses: bool,
    expect: Expect,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tlvs {
    receipted_message_id: Option<String>,
    message_state: Option<u8>,
    network_error_code: Option<String>,
    delivery_failure_reason: Option<u8>,
    message_payload: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTlv {
    tag: u16,
    hex: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct Expect {
    error: Option<String>,
    id: Option<String>,
    state: Option<String>,
    #[serde(default)]
    intermediate: bool,
    alternate_id: Option<String>,
    err: Option<String>,
    err_value: Option<u32>,
    network_type: Option<u8>,
    network_code: Option<u16>,
    delivery_failure_reason: Option<u8>,
    sub: Option<u32>,
    dlvrd: Option<u32>,
    submit_date: Option<String>,
    done_date: Option<String>,
    text: Option<String>,
    #[serde(default)]
    extras: Vec<(String, String)>,
    id_from: Option<String>,
    state_from: Option<String>,
    error_from: Option<String>,
}

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn source(s: Source) -> String {
    match s {
        Source::Tlv => "tlv".into(),
        Source::Text => "text".into(),
    }
}

/// What a parse produced, in the fixture's terms.
fn observed(result: &Result<Receipt, UnparsedReceipt>) -> Expect {
    let r = match result {
        Err(unparsed) => {
            return Expect {
                error: Some(unparsed.error.kind().to_string()),
                ..Expect::default()
            };
        }
        Ok(r) => r,
    };
    let state = serde_json::to_value(r.state).unwrap();
    Expect {
        error: None,
        id: Some(r.id.clone()),
        state: state.as_str().map(str::to_string),
        intermediate: r.intermediate,
        alternate_id: r.alternate_id.clone(),
        err: r.err.as_ref().map(|e| e.raw.clone()),
        err_value: r.err.as_ref().and_then(|e| e.value),
        network_type: r.network_error.and_then(|n| n.network_type),
        network_code: r.network_error.map(|n| n.code),
        delivery_failure_reason: r.delivery_failure_reason,
        sub: r.submitted_count,
        dlvrd: r.delivered_count,
        submit_date: r.submit_date.map(|d| d.to_string()),
        done_date: r.done_date.map(|d| d.to_string()),
        text: r.text.clone(),
        extras: r.extras.clone(),
        id_from: Some(source(r.sources.id)),
        state_from: Some(source(r.sources.state)),
        error_from: r.sources.error.map(source),
    }
}

/// The expectation with its defaults filled in (sources are "text" unless stated).
fn completed(mut e: Expect) -> Expect {
    if e.error.is_none() {
        e.id_from.get_or_insert_with(|| "text".into());
        e.state_from.get_or_insert_with(|| "text".into());
    }
    e
}

fn tlv_bytes(case: &Case) -> Vec<u8> {
    let mut out = Vec::new();
    let mut put = |tag: u16, value: &[u8]| {
        out.put_u16(tag);
        out.put_u16(value.len() as u16);
        out.extend_from_slice(value);
    };
    let t = &case.tlvs;
    if let Some(id) = &t.receipted_message_id {
        put(0x001E, &[id.as_bytes(), b"\0"].concat());
    }
    if let Some(state) = t.message_state {
        put(0x0427, &[state]);
    }
    if let Some(code) = &t.network_error_code {
        put(0x0423, &hex(code));
    }
    if let Some(reason) = t.delivery_failure_reason {
        put(0x0425, &[reason]);
    }
    if let Some(payload) = &t.message_payload {
        put(0x0424, payload.as_bytes());
    }
    for raw in &case.raw_tlvs {
        put(raw.tag, &hex(&raw.hex));
    }
    out
}

/// The PDU body on the wire: rusmpp encodes the mandatory fields, the TLVs are
/// appended as octets so malformed ones can be expressed.
fn body(case: &Case) -> (u32, Vec<u8>) {
    if let Some(body) = &case.body_hex {
        return (0x0000_0005, hex(body));
    }
    let esm_class = EsmClass::from(case.esm_class.unwrap_or(0x04));
    let data_coding = DataCoding::from(case.data_coding.unwrap_or(0));
    let mut buf = BytesMut::new();
    let command_id = match case.command.as_deref() {
        None | Some("deliver_sm") => {
            let octets = match (&case.text, &case.text_hex) {
                (_, Some(h)) => hex(h),
                (Some(t), None) => t.as_bytes().to_vec(),
                (None, None) => Vec::new(),
            };
            DeliverSm::builder()
                .esm_class(esm_class)
                .data_coding(data_coding)
                .short_message(OctetString::from_vec(octets).expect("short_message fits"))
                .build()
                .encode(&mut buf);
            0x0000_0005
        }
        Some("data_sm") => {
            DataSm::builder()
                .esm_class(esm_class)
                .data_coding(data_coding)
                .build()
                .encode(&mut buf);
            0x0000_0103
        }
        Some(other) => panic!("{}: unknown command {other}", case.name),
    };
    buf.extend_from_slice(&tlv_bytes(case));
    (command_id, buf.to_vec())
}

/// The strict path: a whole frame through the session's frame decoder, then
/// `parse_pdu`. `None` when the decoder refuses the body.
fn strict(command_id: u32, body: &[u8]) -> Option<Result<Receipt, UnparsedReceipt>> {
    let mut wire = BytesMut::new();
    wire.put_u32(16 + body.len() as u32);
    wire.put_u32(command_id);
    wire.put_u32(0);
    wire.put_u32(1);
    wire.extend_from_slice(body);
    match frame::decode(&mut wire, 65_536).expect("header is fine") {
        Some(Decoded::Frame(f)) => Some(parse_pdu(f.pdu.as_ref().expect("a body"))),
        Some(Decoded::Invalid { .. }) => None,
        None => panic!("frame incomplete"),
    }
}

fn load() -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/receipts/cases.toml");
    let text = std::fs::read_to_string(&path).expect("fixture file");
    toml::from_str::<File>(&text)
        .expect("fixture file parses")
        .case
}

#[test]
fn every_fixture_parses_as_expected_both_ways() {
    let cases = load();
    let mut failures = Vec::new();
    for case in &cases {
        let (command_id, body) = body(case);
        let lenient = parse_body(command_id, &body);
        let want = completed(case.expect.clone());
        let got = observed(&lenient);
        if got != want {
            failures.push(format!(
                "{} ({}):\n  want {want:?}\n  got  {got:?}",
                case.name, case.about
            ));
            continue;
        }
        match (strict(command_id, &body), case.strict_refuses) {
            (None, true) => {}
            (Some(strict), false) if observed(&strict) == got => {}
            (Some(strict), false) => failures.push(format!(
                "{}: the decoded PDU parses differently:\n  lenient {got:?}\n  strict  {:?}",
                case.name,
                observed(&strict)
            )),
            (None, false) => failures.push(format!("{}: the frame decoder refused it", case.name)),
            (Some(_), true) => {
                failures.push(format!("{}: the frame decoder accepted it", case.name))
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_table_is_broad() {
    let cases = load();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let names: BTreeSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), cases.len(), "case names are unique");
    let broken = cases.iter().filter(|c| c.expect.error.is_some()).count();
    let lenient_only = cases.iter().filter(|c| c.strict_refuses).count();
    assert!(
        broken >= 5 && lenient_only >= 3,
        "{broken} broken, {lenient_only} malformed"
    );
}
