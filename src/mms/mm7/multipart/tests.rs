use super::*;

fn limits() -> MultipartLimits {
    MultipartLimits {
        max_message_bytes: 4096,
        max_part_bytes: 100,
        max_root_bytes: 1024,
        max_parts: 4,
    }
}

fn part(ct: &str, cid: &str, body: &[u8]) -> NewPart {
    NewPart {
        content_type: ct.into(),
        content_id: Some(cid.into()),
        content_location: None,
        body: Bytes::copy_from_slice(body),
    }
}

#[test]
fn a_built_body_reads_back_with_its_root_and_references() {
    let built = MultipartBuilder::related(part("text/xml", "env", b"<e/>"))
        .part(part("image/png", "img@x", b"\x89PNG"))
        .build();
    assert!(built.content_type.contains("start=\"<env>\""));
    let related = parse_multipart(&built.content_type, built.body, limits()).unwrap();
    assert_eq!(related.start.as_deref(), Some("env"));
    assert_eq!(&related.root().unwrap().body[..], b"<e/>");
    let img = related.find("cid:img%40x").unwrap();
    assert_eq!(img.essence().as_deref(), Some("image/png"));
    assert_eq!(&img.body[..], b"\x89PNG");
}

#[test]
fn an_oversized_part_is_dropped_while_reading_and_the_rest_kept() {
    let big = vec![b'a'; 300];
    let built = MultipartBuilder::related(part("text/xml", "env", b"<e/>"))
        .part(part("image/gif", "big", &big))
        .part(part("text/plain", "txt", b"hello"))
        .build();
    let related = parse_multipart(&built.content_type, built.body, limits()).unwrap();
    let big = related.find("cid:big").unwrap();
    assert!(big.oversized);
    assert_eq!(big.size, 300);
    assert!(big.body.is_empty());
    assert_eq!(&related.find("cid:txt").unwrap().body[..], b"hello");
}

#[test]
fn a_body_over_the_message_limit_stops_reading() {
    let built = MultipartBuilder::related(part("text/xml", "env", b"<e/>"))
        .part(part("image/gif", "big", &vec![b'a'; 5000]))
        .build();
    assert!(matches!(
        parse_multipart(&built.content_type, built.body, limits()),
        Err(Mm7Error::MessageTooLarge(4096))
    ));
}

#[test]
fn too_many_parts_are_refused() {
    let mut builder = MultipartBuilder::related(part("text/xml", "env", b"<e/>"));
    for i in 0..4 {
        builder = builder.part(part("text/plain", &format!("p{i}"), b"x"));
    }
    let built = builder.build();
    assert_eq!(
        parse_multipart(&built.content_type, built.body, limits()),
        Err(Mm7Error::TooManyParts(4))
    );
}

#[test]
fn broken_boundaries_are_format_errors() {
    let body = Bytes::from_static(
        b"--abc\r\nContent-Type: text/xml\r\n\r\n<e/>\r\n--abc\r\nContent-Type: image/png\r\n\r\nxx",
    );
    let err = parse_multipart("multipart/related; boundary=abc", body, limits()).unwrap_err();
    assert_eq!(
        err.status(),
        crate::mms::mm7::StatusCode::MESSAGE_FORMAT_CORRUPT
    );
    let wrong = Bytes::from_static(b"--xyz\r\nContent-Type: text/xml\r\n\r\n<e/>\r\n--xyz--\r\n");
    assert!(parse_multipart("multipart/related; boundary=abc", wrong, limits()).is_err());
    assert!(
        parse_multipart("multipart/related", Bytes::new(), limits()).is_err(),
        "no boundary"
    );
}

#[test]
fn base64_parts_are_decoded_and_names_found() {
    let body = Bytes::from_static(
        b"--b\r\nContent-Type: text/xml\r\nContent-ID: <r>\r\n\r\n<e/>\r\n\
--b\r\nContent-Type: image/png; name=\"cat.png\"\r\nContent-ID: <i>\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8=\r\n\
--b--\r\n",
    );
    let related = parse_multipart(
        "multipart/related; boundary=b; start=\"<r>\"",
        body,
        limits(),
    )
    .unwrap();
    let image = related.find("cid:i").unwrap();
    assert_eq!(&image.body[..], b"hello");
    assert_eq!(image.filename.as_deref(), Some("cat.png"));
}
