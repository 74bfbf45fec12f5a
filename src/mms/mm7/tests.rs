//! The codec over the request fixtures (fixtures/mms/), without a daemon.

use super::*;

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

fn read(name: &str) -> Result<Mm7Request, Mm7Error> {
    let (ct, body) = fixture(name);
    parse_request(&ct, body, MultipartLimits::default())
}

fn content_types(name: &str) -> Vec<String> {
    let request = read(name).unwrap();
    let deliver = parse_deliver(&request.envelope).unwrap();
    request
        .content(deliver.content_href.as_deref(), MultipartLimits::default())
        .unwrap()
        .iter()
        .map(|p| p.essence().unwrap())
        .collect()
}

#[test]
fn nested_content_is_opened_through_its_href() {
    let request = read("deliver-rel5-photos").unwrap();
    assert_eq!(request.envelope.version, Mm7Version::Rel5);
    assert_eq!(
        content_types("deliver-rel5-photos"),
        [
            "application/smil",
            "text/plain",
            "image/jpeg",
            "image/png",
            "image/gif"
        ]
    );
}

#[test]
fn attachments_beside_the_envelope_are_the_content_without_an_href() {
    let request = read("deliver-rel6-attachments").unwrap();
    assert_eq!(request.envelope.version, Mm7Version::Rel6);
    assert_eq!(
        content_types("deliver-rel6-attachments"),
        ["text/plain", "image/jpeg", "text/vcard"]
    );
}

#[test]
fn broken_requests_fail_with_their_status() {
    for (name, code) in [
        ("deliver-missing-header", StatusCode::MESSAGE_FORMAT_CORRUPT),
        (
            "deliver-broken-boundary",
            StatusCode::MESSAGE_FORMAT_CORRUPT,
        ),
        ("deliver-xml-bomb", StatusCode::MESSAGE_FORMAT_CORRUPT),
    ] {
        let error = read(name).unwrap_err();
        assert_eq!(error.status(), code, "{name}: {error}");
    }
    assert_eq!(read("deliver-xml-bomb").unwrap_err(), Mm7Error::DocType);
    assert_eq!(
        read("deliver-missing-header").unwrap_err(),
        Mm7Error::MissingTransactionId
    );
}

#[test]
fn a_bare_envelope_is_a_request_too() {
    let request = read("delivery-report").unwrap();
    assert!(request.attachments.is_empty());
    let report = parse_delivery_report(&request.envelope).unwrap();
    assert_eq!(report.message_id, "mt-mms-1");
}
