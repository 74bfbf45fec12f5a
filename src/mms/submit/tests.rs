use bytes::Bytes;
use reqwest::StatusCode as Http;

use super::*;
use crate::mms::client::{Retry, status_retry};
use crate::mms::mm7::{MultipartLimits, parse_envelope, parse_request};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-not-a-real-image";

fn media(name: Option<&str>, content_type: &str) -> FetchedMedia {
    FetchedMedia {
        content_type: content_type.into(),
        filename: name.map(str::to_owned),
        body: Bytes::from_static(PNG),
    }
}

fn request(text: &str, media: Vec<FetchedMedia>) -> SubmitReq {
    SubmitReq {
        version: Mm7Version::Rel6,
        transaction_id: "tx-1".into(),
        vasp_id: Some("acme-vasp".into()),
        vas_id: Some("support".into()),
        sender: Address::Number("+18005550100".into()),
        recipient: Address::Number("+14155550123".into()),
        subject: None,
        text: text.into(),
        media,
    }
}

fn limits() -> MultipartLimits {
    MultipartLimits::default()
}

#[test]
fn text_and_a_picture_go_with_smil_in_a_nested_container() {
    let built = request(
        "Your receipt",
        vec![media(Some("receipt.png"), "image/png")],
    )
    .build();
    assert!(built.content_type.starts_with("multipart/related"));
    assert!(built.content_type.contains("type=\"text/xml\""));
    let read = parse_request(&built.content_type, built.body, limits()).unwrap();
    let op = &read.envelope.operation;
    assert_eq!(read.envelope.version, Mm7Version::Rel6);
    assert_eq!(read.envelope.transaction_id, "tx-1");
    assert_eq!(op.name, "SubmitReq");
    assert_eq!(op.child_text("MM7Version"), Some("6.8.0"));
    let ident = op.child("SenderIdentification").unwrap();
    assert_eq!(ident.child_text("VASPID"), Some("acme-vasp"));
    assert_eq!(
        ident.child("SenderAddress").unwrap().child_text("Number"),
        Some("+18005550100")
    );
    let to = op.child("Recipients").unwrap().child("To").unwrap();
    assert_eq!(to.child_text("Number"), Some("+14155550123"));
    assert_eq!(op.child_text("DeliveryReport"), Some("true"));
    let href = op.child("Content").unwrap().attribute("href").unwrap();
    let content = read.content(Some(href), limits()).unwrap();
    let types: Vec<_> = content.iter().map(|p| p.essence().unwrap()).collect();
    assert_eq!(types, ["application/smil", "text/plain", "image/png"]);
    let smil = std::str::from_utf8(&content[0].body).unwrap();
    assert!(smil.contains("<img src=\"cid:media1\""), "{smil}");
    assert!(smil.contains("<text src=\"cid:text\""), "{smil}");
    assert_eq!(&content[1].body[..], b"Your receipt");
    assert_eq!(&content[2].body[..], PNG);
    assert_eq!(content[2].content_location.as_deref(), Some("receipt.png"));
}

#[test]
fn one_picture_without_text_goes_alone() {
    let built = request("", vec![media(None, "image/png")]).build();
    let read = parse_request(&built.content_type, built.body, limits()).unwrap();
    let href = read
        .envelope
        .operation
        .child("Content")
        .unwrap()
        .attribute("href")
        .unwrap();
    let content = read.content(Some(href), limits()).unwrap();
    assert_eq!(content.len(), 1);
    assert_eq!(content[0].essence().as_deref(), Some("image/png"));
    assert_eq!(content[0].content_location.as_deref(), Some("media1.png"));
}

#[test]
fn several_attachments_get_one_slide_each() {
    let parts = [
        media(Some("a.png"), "image/png"),
        media(Some("b.pdf"), "application/pdf"),
    ];
    let smil = smil("", &parts);
    assert_eq!(smil.matches("<par ").count(), 2);
    assert!(smil.contains("<ref src=\"cid:media2\""), "{smil}");
}

#[test]
fn the_rel5_schema_is_written_when_configured() {
    let mut req = request("hi", vec![media(None, "image/png")]);
    req.version = Mm7Version::Rel5;
    let built = req.build();
    let read = parse_request(&built.content_type, built.body, limits()).unwrap();
    assert_eq!(read.envelope.version, Mm7Version::Rel5);
    assert_eq!(
        read.envelope.operation.child_text("MM7Version"),
        Some("5.3.0")
    );
}

#[test]
fn file_names_cannot_inject_headers() {
    assert_eq!(
        safe_name(Some("evil\r\nX-Injected: 1.png"), 0, "image/png"),
        "evil__X-Injected__1.png"
    );
    assert_eq!(safe_name(Some("../.."), 2, "image/jpeg"), "media3.jpeg");
    assert_eq!(safe_name(None, 0, "image/svg+xml"), "media1.svg");
}

fn answer(status: u16, xml: &str) -> Mm7Answer {
    Mm7Answer {
        status: Http::from_u16(status).unwrap(),
        body: Bytes::from(xml.to_owned()),
    }
}

fn submit_rsp(code: u16, message_id: Option<&str>) -> String {
    let mut rsp = Element::new("SubmitRsp")
        .with_text_child("MM7Version", "6.8.0")
        .with_child(
            Element::new("Status")
                .with_text_child("StatusCode", code.to_string())
                .with_text_child("StatusText", "text"),
        );
    if let Some(id) = message_id {
        rsp = rsp.with_text_child("MessageID", id);
    }
    write_envelope(Mm7Version::Rel6, "tx-1", &rsp)
}

#[test]
fn a_successful_submit_rsp_gives_the_message_id() {
    let xml = submit_rsp(1000, Some("mmsc-42"));
    assert!(parse_envelope(xml.as_bytes()).is_ok());
    assert_eq!(read_submit_rsp(&answer(200, &xml)).unwrap(), "mmsc-42");
    assert_eq!(
        read_submit_rsp(&answer(200, &submit_rsp(1100, Some("p-1")))).unwrap(),
        "p-1"
    );
}

#[test]
fn a_refusal_carries_its_status_code_and_class() {
    let err = read_submit_rsp(&answer(200, &submit_rsp(2004, None))).unwrap_err();
    assert!(
        matches!(err, ClientError::Refused { code: 2004, .. }),
        "{err}"
    );
    assert_eq!(err.retry(), Retry::Permanent);
    let err = read_submit_rsp(&answer(500, &submit_rsp(4006, None))).unwrap_err();
    assert_eq!(err.retry(), Retry::Transient);
    assert_eq!(status_retry(4006), Retry::Transient);
}

#[test]
fn answers_that_say_nothing_are_unknown_outcomes_or_http_errors() {
    let err = read_submit_rsp(&answer(200, &submit_rsp(1000, None))).unwrap_err();
    assert_eq!(err.retry(), Retry::UnknownOutcome);
    let err = read_submit_rsp(&answer(200, "not xml <")).unwrap_err();
    assert_eq!(err.retry(), Retry::UnknownOutcome);
    let err = read_submit_rsp(&answer(503, "<html>busy</html>")).unwrap_err();
    assert!(matches!(err, ClientError::Http(503)), "{err}");
    assert_eq!(err.retry(), Retry::Transient);
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>"#;
    let err = read_submit_rsp(&answer(200, bomb)).unwrap_err();
    assert_eq!(err.retry(), Retry::UnknownOutcome);
}
