use super::*;
use crate::mms::mm7::{parse_deliver, parse_delivery_report};

fn deliver_req(ns: &str, header: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">
  <env:Header>{header}</env:Header>
  <env:Body>
    <DeliverReq xmlns="{ns}">
      <MM7Version>6.8.0</MM7Version>
      <MMSRelayServerID>mmsc.example</MMSRelayServerID>
      <LinkedID>link-1</LinkedID>
      <Sender><Number>+14155550123</Number></Sender>
      <Recipients><To><ShortCode>72404</ShortCode></To><Cc><Number>18005550100</Number></Cc></Recipients>
      <TimeStamp>2026-11-21T10:00:00Z</TimeStamp>
      <Subject>Fish &amp; chips &lt;3 &#x263A;</Subject>
      <Content href="cid:content@x" allowAdaptations="true"/>
    </DeliverReq>
  </env:Body>
</env:Envelope>"#
    )
}

fn tx_header(ns: &str) -> String {
    format!(
        r#"<mm7:TransactionID xmlns:mm7="{ns}" env:mustUnderstand="1">tx-42</mm7:TransactionID>"#
    )
}

#[test]
fn reads_a_deliver_req_in_both_schemas() {
    for version in [Mm7Version::Rel5, Mm7Version::Rel6] {
        let ns = version.namespace();
        let envelope = parse_envelope(deliver_req(ns, &tx_header(ns)).as_bytes()).unwrap();
        assert_eq!(envelope.version, version);
        assert_eq!(envelope.transaction_id, "tx-42");
        let req = parse_deliver(&envelope).unwrap();
        assert_eq!(req.sender, Address::Number("+14155550123".into()));
        assert_eq!(
            req.recipients,
            vec![
                Address::ShortCode("72404".into()),
                Address::Number("18005550100".into())
            ]
        );
        assert_eq!(req.subject.as_deref(), Some("Fish & chips <3 \u{263a}"));
        assert_eq!(req.linked_id.as_deref(), Some("link-1"));
        assert_eq!(req.content_href.as_deref(), Some("cid:content@x"));
    }
}

use crate::mms::mm7::Address;

#[test]
fn a_missing_header_or_transaction_id_is_refused() {
    let ns = Mm7Version::Rel6.namespace();
    let no_header = deliver_req(ns, "").replace("<env:Header></env:Header>", "");
    assert_eq!(
        parse_envelope(no_header.as_bytes()),
        Err(Mm7Error::MissingTransactionId)
    );
    let empty = deliver_req(ns, "");
    assert_eq!(
        parse_envelope(empty.as_bytes()),
        Err(Mm7Error::MissingTransactionId)
    );
    assert_eq!(
        Mm7Error::MissingTransactionId.status(),
        StatusCode::MESSAGE_FORMAT_CORRUPT
    );
}

#[test]
fn an_unknown_must_understand_header_is_refused() {
    let ns = Mm7Version::Rel5.namespace();
    let header = format!(
        r#"{}<x:Billing xmlns:x="urn:x" env:mustUnderstand="1">1</x:Billing>"#,
        tx_header(ns)
    );
    assert_eq!(
        parse_envelope(deliver_req(ns, &header).as_bytes()),
        Err(Mm7Error::MustUnderstand("Billing".into()))
    );
}

#[test]
fn an_unknown_schema_is_an_unsupported_version() {
    let ns = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-99";
    let err = parse_envelope(deliver_req(ns, &tx_header(ns)).as_bytes()).unwrap_err();
    assert!(matches!(err, Mm7Error::UnsupportedVersion(_)));
    assert_eq!(err.status(), StatusCode::UNSUPPORTED_VERSION);
}

#[test]
fn an_xml_bomb_is_refused_before_expansion() {
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body>&lol3;</env:Body></env:Envelope>"#;
    assert_eq!(parse_envelope(bomb.as_bytes()), Err(Mm7Error::DocType));
}

#[test]
fn undeclared_entities_are_refused_in_text_and_attributes() {
    let text = r#"<a>&xxe;</a>"#;
    assert!(matches!(
        parse_document(text.as_bytes(), XmlLimits::default()),
        Err(Mm7Error::UnknownEntity(_))
    ));
    let attr = r#"<a b="&xxe;"/>"#;
    assert!(matches!(
        parse_document(attr.as_bytes(), XmlLimits::default()),
        Err(Mm7Error::UnknownEntity(_))
    ));
}

#[test]
fn limits_bound_depth_elements_and_text() {
    let limits = XmlLimits {
        max_depth: 3,
        max_elements: 5,
        max_text: 8,
    };
    assert_eq!(
        parse_document(b"<a><b><c><d/></c></b></a>", limits),
        Err(Mm7Error::TooDeep(3))
    );
    assert_eq!(
        parse_document(b"<a><b/><b/><b/><b/><b/></a>", limits),
        Err(Mm7Error::TooManyElements(5))
    );
    assert_eq!(
        parse_document(b"<a>123456789</a>", limits),
        Err(Mm7Error::TextTooLong(8))
    );
    assert!(parse_document(b"<a><b><c/></b></a>", limits).is_ok());
}

#[test]
fn malformed_documents_are_errors_not_panics() {
    for doc in [
        &b""[..],
        b"<a>",
        b"<a></b>",
        b"text",
        b"<a/><b/>",
        b"<p:a/>",
        b"\xff\xfe<a/>",
    ] {
        assert!(
            parse_document(doc, XmlLimits::default()).is_err(),
            "{:?}",
            String::from_utf8_lossy(doc)
        );
    }
}

#[test]
fn a_written_response_reads_back_with_its_status_and_escaped_text() {
    let status = Status::new(StatusCode::PARTIAL_SUCCESS).with_details("part <2> & \"3\"");
    let xml = write_deliver_rsp(Mm7Version::Rel5, "tx<&>", &status);
    let envelope = parse_envelope(xml.as_bytes()).unwrap();
    assert_eq!(envelope.transaction_id, "tx<&>");
    assert_eq!(envelope.operation_name(), "DeliverRsp");
    assert_eq!(envelope.operation.child_text("MM7Version"), Some("5.3.0"));
    let root = parse_document(xml.as_bytes(), XmlLimits::default()).unwrap();
    assert_eq!(response_status(&root), Some(status));
}

#[test]
fn a_fault_carries_the_status_in_a_vasp_error_rsp() {
    let status = Status::new(StatusCode::MESSAGE_FORMAT_CORRUPT);
    let xml = write_fault(Mm7Version::Rel6, None, &status);
    let root = parse_document(xml.as_bytes(), XmlLimits::default()).unwrap();
    let body = root.child("Body").unwrap();
    let fault = body.child("Fault").unwrap();
    assert_eq!(fault.child_text("faultcode"), Some("env:Client"));
    assert!(
        fault
            .child("detail")
            .unwrap()
            .child("VASPErrorRsp")
            .is_some()
    );
    assert_eq!(response_status(&root).unwrap().code, StatusCode(2007));
}

#[test]
fn a_request_written_for_the_client_side_reads_back() {
    let op = Element::new("SubmitReq")
        .with_text_child("MM7Version", "6.8.0")
        .with_child(Element::new("Content").with_attribute("href", "cid:c1"));
    let xml = write_envelope(Mm7Version::Rel6, "t1", &op);
    let envelope = parse_envelope(xml.as_bytes()).unwrap();
    assert_eq!(envelope.operation_name(), "SubmitReq");
    assert_eq!(
        envelope
            .operation
            .child("Content")
            .unwrap()
            .attribute("href"),
        Some("cid:c1")
    );
}

#[test]
fn a_delivery_report_reads_with_its_status() {
    let ns = Mm7Version::Rel6.namespace();
    let xml = format!(
        r#"<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">
<env:Header>{}</env:Header><env:Body><DeliveryReportReq xmlns="{ns}">
<MM7Version>6.8.0</MM7Version><MessageID>m-1</MessageID>
<Recipient><Number>+14155550123</Number></Recipient><Sender><ShortCode>72404</ShortCode></Sender>
<Date>2026-11-21T10:00:00Z</Date><MMStatus>Retrieved</MMStatus><StatusText>ok</StatusText>
</DeliveryReportReq></env:Body></env:Envelope>"#,
        tx_header(ns)
    );
    let report = parse_delivery_report(&parse_envelope(xml.as_bytes()).unwrap()).unwrap();
    assert_eq!(report.message_id, "m-1");
    assert_eq!(report.status, MmStatus::Retrieved);
    assert!(report.status.is_final());
    assert_eq!(report.recipient, Address::Number("+14155550123".into()));
    assert_eq!(report.status_text.as_deref(), Some("ok"));
    let missing = xml.replace("<MessageID>m-1</MessageID>", "");
    let err = parse_delivery_report(&parse_envelope(missing.as_bytes()).unwrap()).unwrap_err();
    assert_eq!(err.status(), StatusCode::VALIDATION_ERROR);
}

use crate::mms::mm7::MmStatus;
