//! Reading requests: JSON bodies, query strings and paths, with every problem answered as
//! an [`ApiError`] naming the field at fault, never as axum's plain-text rejection.

use std::borrow::Cow;

use axum::extract::Query;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use serde::de::DeserializeOwned;

use super::ApiError;
use crate::number::{E164, NumberPolicy, ParsedNumber};

/// Parses a JSON body; a wrong or missing field is named.
pub(crate) fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut json = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let field = e.path().to_string();
        let error = ApiError::bad_request(format!("invalid JSON body: {}", e.inner()));
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

/// A body that could not be read; keeps the status (`413` when it is over the limit).
pub(crate) fn body_rejected(rejection: BytesRejection) -> ApiError {
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
