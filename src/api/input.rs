//! Reading requests: JSON bodies, query strings and paths, with every problem answered as
//! an [`ApiError`] naming the field at fault, never as axum's plain-text rejection.

use std::borrow::Cow;

use axum::body::Bytes;
use axum::extract::Query;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::ApiError;
use super::refusals::{BODY_TOO_LARGE, LIMIT_UNNAMED};
use crate::number::{E164, NumberPolicy, ParsedNumber};

/// A JSON request: `Content-Type: application/json` (`415 unsupported_media_type`
/// otherwise, before the body is read), a body within the limit, the shape of `T`.
pub(crate) fn json_request<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    require_json(headers)?;
    let body = body.map_err(body_rejected)?;
    json_body(&body)
}

/// `415 unsupported_media_type` unless the request says its body is JSON. A body sent
/// as text or XML that happens to parse is still refused: the sender means something
/// else, and accepting it would make that client's other requests fail in odd ways.
fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let essence = given
        .as_deref()
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if essence.is_some_and(|e| e.eq_ignore_ascii_case("application/json")) {
        return Ok(());
    }
    let said = match given {
        Some(given) => format!("the body was sent as {given:?}"),
        None => "the request has no Content-Type".to_owned(),
    };
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("{said}; send JSON with Content-Type: application/json"),
    )
    .at("Content-Type"))
}

/// Parses a JSON body; a wrong or missing field is named.
pub(crate) fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut json = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let field = e.path().to_string();
        let error = ApiError::bad_request(format!(
            "invalid JSON body: {}",
            without_type_names(&e.inner().to_string())
        ));
        match field.as_str() {
            "." => error,
            _ => error.at(field),
        }
    })
}

/// The query string, or `400 bad_request` with what is wrong with it.
pub(crate) fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query
        .map(|Query(value)| value)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

/// A path that does not decode (invalid percent-encoding, bad UTF-8).
pub(crate) fn path_rejected(rejection: PathRejection) -> ApiError {
    ApiError::bad_request(rejection.body_text())
}

/// serde's sentence with the names of our Rust types taken out: `expected struct
/// SendBody` says nothing to an integrator (and shows our internals); `expected a JSON
/// object` does.
fn without_type_names(message: &str) -> String {
    const NAMED: [(&str, &str); 5] = [
        (
            "any variant of untagged enum ",
            "any of the accepted shapes",
        ),
        ("tuple struct ", "a JSON array"),
        ("unit struct ", "null"),
        ("struct ", "a JSON object"),
        ("enum ", "one of the documented values"),
    ];
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    'scan: while !rest.is_empty() {
        for (prefix, plain) in NAMED {
            if let Some(after) = rest.strip_prefix(prefix)
                && after.starts_with(|c: char| c.is_ascii_uppercase())
            {
                out.push_str(plain);
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                rest = &after[end..];
                continue 'scan;
            }
        }
        let mut chars = rest.chars();
        out.extend(chars.next());
        rest = chars.as_str();
    }
    out
}

/// A body that could not be read: `413 body_too_large` when it is over the limit (the
/// limit is named by [`super::refusals`], which knows it), else `400` with the reason.
pub(crate) fn body_rejected(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, BODY_TOO_LARGE, LIMIT_UNNAMED);
    }
    ApiError {
        status: rejection.status(),
        ..ApiError::bad_request(rejection.body_text())
    }
}

/// A number or address as sent, trimmed. In a query string an unencoded `+` arrives as a
/// space, so a leading space before a digit is read back as the `+` it was.
pub(crate) fn restore_plus(text: &str) -> Cow<'_, str> {
    match text.strip_prefix(' ') {
        Some(rest) if rest.trim_start().starts_with(|c: char| c.is_ascii_digit()) => {
            Cow::Owned(format!("+{}", rest.trim()))
        }
        _ => Cow::Borrowed(text.trim()),
    }
}

/// A contact number from a request: E.164 as stored (`+14155550123`), or as people type
/// it (`+1 (415) 555-0123`, national formats in the default region).
pub(crate) fn contact(policy: &NumberPolicy, text: &str, field: &str) -> Result<E164, ApiError> {
    let text = restore_plus(text);
    let text = text.as_ref();
    // A well-formed E.164 number is taken even if the plan does not know its range: an
    // opt-out must never be refused because the numbering data is older than the number.
    if let Ok(number) = text.parse::<E164>() {
        return Ok(number);
    }
    match policy.parse(text, None) {
        ParsedNumber::Number { e164, .. } => Ok(e164),
        _ => Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_destination",
            format!("{text:?} is not a phone number; write it in E.164, e.g. +14155550123"),
        )
        .at(field)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_sentences_lose_our_type_names() {
        assert_eq!(
            without_type_names("invalid type: sequence, expected struct SendBody at line 1"),
            "invalid type: sequence, expected a JSON object at line 1"
        );
        assert_eq!(
            without_type_names("data did not match any variant of untagged enum MediaItem"),
            "data did not match any of the accepted shapes"
        );
        assert_eq!(
            without_type_names("unknown field `x`, expected one of `from`, `to`"),
            "unknown field `x`, expected one of `from`, `to`"
        );
        // A word that only looks like the start of a type name stays.
        assert_eq!(without_type_names("a struct field"), "a struct field");
    }

    #[test]
    fn a_plus_lost_in_a_query_string_is_read_back() {
        assert_eq!(restore_plus(" 14155550123"), "+14155550123");
        assert_eq!(restore_plus("+14155550123 "), "+14155550123");
        assert_eq!(restore_plus(" brand:Acme"), "brand:Acme");
        assert_eq!(restore_plus("72404"), "72404");
    }

    #[test]
    fn contacts_are_read_as_stored_or_as_typed_and_refused_otherwise() {
        let policy = NumberPolicy::default();
        let read = |text: &str| contact(&policy, text, "contact").map(|n| n.to_string());
        assert_eq!(read("+14155550123").unwrap(), "+14155550123");
        assert_eq!(read(" 14155550123").unwrap(), "+14155550123");
        assert_eq!(read("+1 (415) 555-0123").unwrap(), "+14155550123");
        // Well-formed E.164 outside the plan's known ranges is still a contact.
        assert_eq!(read("+999123456789").unwrap(), "+999123456789");
        let refused = read("call me").unwrap_err();
        assert_eq!(refused.code, "invalid_destination");
        assert_eq!(refused.field.as_deref(), Some("contact"));
    }
}
