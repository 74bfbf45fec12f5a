//! The MM7 codec (3GPP TS 23.140): pure functions from HTTP bodies to typed operations
//! and back, shared by the endpoint (DeliverReq and DeliveryReportReq in) and the client
//! (SubmitReq out).
//!
//! | module | what it does |
//! |---|---|
//! | [`soap`] | the SOAP 1.1 envelope: bounded parse (no DOCTYPE, no entities), response, request and fault writers |
//! | [`multipart`] | `multipart/related` bodies: streamed reading with limits, `cid:` references, a builder |
//! | [`status`] | the `StatusCode` table and its classes |
//! | [`deliver`] | `DeliverReq` → [`DeliverReq`] |
//! | [`report`] | `DeliveryReportReq` → [`DeliveryReport`] |
//! | [`address`] | `Number` / `ShortCode` / `RFC2822Address` |
//!
//! A request is read by [`read_request`]: the body (a bare SOAP envelope, or a
//! multipart body whose root is the envelope) → an [`Mm7Request`] holding the envelope
//! and the attached parts; [`Mm7Request::content`] follows the operation's
//! `Content href` to the parts it names. Every failure is an [`Mm7Error`] that knows
//! the [`StatusCode`] to answer with.

pub mod address;
pub mod deliver;
pub mod multipart;
pub mod report;
pub mod soap;
pub mod status;

use bytes::Bytes;
use futures_util::{FutureExt, Stream, stream};

pub use address::Address;
pub use deliver::{DeliverReq, parse_deliver};
pub use multipart::{
    BodyPart, BuiltMultipart, MultipartBuilder, MultipartLimits, NewPart, Related, parse_multipart,
    read_multipart,
};
pub use report::{DeliveryReport, MmStatus, parse_delivery_report};
pub use soap::{
    Element, Envelope, Mm7Version, Status, XmlLimits, parse_document, parse_envelope,
    parse_envelope_with, response_status, write_deliver_rsp, write_delivery_report_rsp,
    write_envelope, write_fault, write_response,
};
pub use status::{StatusClass, StatusCode};

/// Why an MM7 body cannot be read. [`Mm7Error::status`] is the code to answer with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mm7Error {
    /// The XML has a DOCTYPE; entity declarations are never expanded, so the
    /// document is refused before anything in it is read (an XML bomb ends here).
    #[error("DOCTYPE and entity declarations are refused")]
    DocType,
    /// A reference to an entity other than the five XML predefines.
    #[error("reference to an undeclared entity {0:?}")]
    UnknownEntity(String),
    /// The XML is not well formed.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// Elements nested deeper than the limit.
    #[error("elements nested deeper than {0}")]
    TooDeep(usize),
    /// More elements than the limit.
    #[error("more than {0} elements")]
    TooManyElements(usize),
    /// An element's text longer than the limit.
    #[error("an element's text is longer than {0} bytes")]
    TextTooLong(usize),
    /// The document is not a SOAP 1.1 envelope with a body and an operation.
    #[error("not a SOAP envelope: {0}")]
    NotSoap(String),
    /// The SOAP header, or the MM7 `TransactionID` in it, is missing or empty.
    #[error("the SOAP header has no TransactionID")]
    MissingTransactionId,
    /// A header entry marked `mustUnderstand="1"` that this codec does not know.
    #[error("header entry {0} must be understood and is not")]
    MustUnderstand(String),
    /// The operation is in a namespace that is not a known MM7 schema.
    #[error("unsupported MM7 schema {0:?}")]
    UnsupportedVersion(String),
    /// An operation this side does not accept.
    #[error("unsupported operation {0}")]
    UnsupportedOperation(String),
    /// A mandatory element of the operation is absent.
    #[error("{operation} has no {element}")]
    MissingElement {
        operation: String,
        element: &'static str,
    },
    /// An element holds a value the operation cannot use.
    #[error("{element}: {reason}")]
    InvalidValue {
        element: &'static str,
        reason: String,
    },
    /// The multipart framing is broken (no boundary, a part without headers, the
    /// closing boundary missing, an undecodable transfer encoding).
    #[error("multipart body corrupt: {0}")]
    Multipart(String),
    /// The body is larger than the message limit; reading stopped at the limit.
    #[error("the message is larger than {0} bytes")]
    MessageTooLarge(u64),
    /// The SOAP part is larger than its limit.
    #[error("the SOAP part is larger than {0} bytes")]
    RootTooLarge(u64),
    /// More parts than the limit.
    #[error("more than {0} parts")]
    TooManyParts(usize),
    /// The body's Content-Type is neither `text/xml` nor multipart.
    #[error("unsupported Content-Type {0:?}")]
    ContentType(String),
    /// Reading the body from the connection failed (the peer went away).
    #[error("reading the body failed: {0}")]
    Transport(String),
}

impl Mm7Error {
    /// The MM7 status that answers this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Mm7Error::UnsupportedVersion(_) => StatusCode::UNSUPPORTED_VERSION,
            Mm7Error::UnsupportedOperation(_) => StatusCode::UNSUPPORTED_OPERATION,
            Mm7Error::MissingElement { .. } | Mm7Error::InvalidValue { .. } => {
                StatusCode::VALIDATION_ERROR
            }
            Mm7Error::MessageTooLarge(_) | Mm7Error::TooManyParts(_) => StatusCode::CONTENT_REFUSED,
            Mm7Error::Transport(_) => StatusCode::NOT_POSSIBLE,
            Mm7Error::MissingTransactionId
            | Mm7Error::MustUnderstand(_)
            | Mm7Error::DocType
            | Mm7Error::UnknownEntity(_)
            | Mm7Error::Xml(_)
            | Mm7Error::TooDeep(_)
            | Mm7Error::TooManyElements(_)
            | Mm7Error::TextTooLong(_)
            | Mm7Error::NotSoap(_)
            | Mm7Error::Multipart(_)
            | Mm7Error::RootTooLarge(_)
            | Mm7Error::ContentType(_) => StatusCode::MESSAGE_FORMAT_CORRUPT,
        }
    }

    /// A bounded label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Mm7Error::DocType | Mm7Error::UnknownEntity(_) => "entity",
            Mm7Error::Xml(_) => "xml",
            Mm7Error::TooDeep(_) | Mm7Error::TooManyElements(_) | Mm7Error::TextTooLong(_) => {
                "xml_limit"
            }
            Mm7Error::NotSoap(_) | Mm7Error::MustUnderstand(_) => "soap",
            Mm7Error::MissingTransactionId => "no_transaction_id",
            Mm7Error::UnsupportedVersion(_) => "version",
            Mm7Error::UnsupportedOperation(_) => "operation",
            Mm7Error::MissingElement { .. } | Mm7Error::InvalidValue { .. } => "validation",
            Mm7Error::Multipart(_) | Mm7Error::ContentType(_) => "multipart",
            Mm7Error::MessageTooLarge(_)
            | Mm7Error::RootTooLarge(_)
            | Mm7Error::TooManyParts(_) => "too_large",
            Mm7Error::Transport(_) => "transport",
        }
    }
}

/// An MM7 request as read from HTTP: its envelope and the parts attached beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mm7Request {
    pub envelope: Envelope,
    /// Every part but the SOAP root, in order (empty for a bare envelope).
    pub attachments: Vec<BodyPart>,
}

impl Mm7Request {
    /// The content parts the operation's `Content href` names, with a nested multipart
    /// container opened (one level, as MMSCs send SMIL and media inside one
    /// `multipart/related` part). Without a `Content` element, every attachment is
    /// content.
    pub fn content(
        &self,
        href: Option<&str>,
        limits: MultipartLimits,
    ) -> Result<Vec<BodyPart>, Mm7Error> {
        let top: Vec<&BodyPart> = match href {
            Some(href) => vec![
                self.attachments
                    .iter()
                    .find(|p| p.is_named(href))
                    .ok_or_else(|| Mm7Error::InvalidValue {
                        element: "Content",
                        reason: format!("href {href:?} names no attached part"),
                    })?,
            ],
            None => self.attachments.iter().collect(),
        };
        let mut content = Vec::new();
        for part in top {
            if part.is_multipart() && !part.oversized {
                let inner = parse_multipart(
                    part.content_type.as_deref().unwrap_or_default(),
                    part.body.clone(),
                    limits,
                )?;
                content.extend(inner.parts.into_iter().filter(|p| !p.is_multipart()));
            } else {
                content.push(part.clone());
            }
        }
        Ok(content)
    }
}

/// Reads an MM7 request body: `text/xml` (an envelope alone) or multipart with the
/// envelope as its root. Bounded by `limits` while reading.
pub async fn read_request<S, E>(
    content_type: &str,
    body: S,
    limits: MultipartLimits,
    xml: XmlLimits,
) -> Result<Mm7Request, Mm7Error>
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence.starts_with("multipart/") {
        let related = read_multipart(content_type, body, limits).await?;
        let root = related
            .root()
            .ok_or_else(|| Mm7Error::Multipart("the start part is missing".into()))?;
        let envelope = parse_envelope_with(&root.body, xml)?;
        let root_index = related
            .parts
            .iter()
            .position(|p| std::ptr::eq(p, root))
            .unwrap_or(0);
        let mut attachments = related.parts;
        attachments.remove(root_index);
        return Ok(Mm7Request {
            envelope,
            attachments,
        });
    }
    if essence != "text/xml" && essence != "application/soap+xml" && essence != "application/xml" {
        return Err(Mm7Error::ContentType(essence));
    }
    let xml_bytes = read_bounded(body, limits.max_root_bytes).await?;
    Ok(Mm7Request {
        envelope: parse_envelope_with(&xml_bytes, xml)?,
        attachments: Vec::new(),
    })
}

/// Reads a request already in memory (fuzzing, tests).
pub fn parse_request(
    content_type: &str,
    body: Bytes,
    limits: MultipartLimits,
) -> Result<Mm7Request, Mm7Error> {
    let chunks = stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    read_request(content_type, chunks, limits, XmlLimits::default())
        .now_or_never()
        .unwrap_or_else(|| Err(Mm7Error::Multipart("the body did not end".into())))
}

async fn read_bounded<S, E>(body: S, limit: u64) -> Result<Bytes, Mm7Error>
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    use futures_util::StreamExt;
    let mut body = std::pin::pin!(body);
    let mut out = bytes::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| Mm7Error::Transport(e.into().to_string()))?;
        if (out.len() + chunk.len()) as u64 > limit {
            return Err(Mm7Error::RootTooLarge(limit));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.freeze())
}

#[cfg(test)]
mod tests;
