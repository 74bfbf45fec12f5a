//! MIME multipart bodies (RFC 2387 `multipart/related`, and the `multipart/mixed` some
//! MMSCs nest inside it) read from a byte stream with limits enforced while reading, and
//! written for requests.
//!
//! The framing is `multer`'s; what MM7 adds is here: the `start` parameter naming the
//! SOAP part, `Content-ID`s for `cid:` references, `Content-Transfer-Encoding: base64`,
//! and limits that never let a body grow memory without bound. The whole stream is
//! capped at [`MultipartLimits::max_message_bytes`] (reading stops there with
//! [`Mm7Error::MessageTooLarge`]). A part over [`MultipartLimits::max_part_bytes`] is not
//! an error of the message: its bytes are counted and dropped as they arrive and the
//! part is returned `oversized`, so the rest of the message can still be delivered and
//! the part reported as too large.

use bytes::{Bytes, BytesMut};
use futures_util::{FutureExt, Stream, stream};
use multer::{Constraints, Multipart, SizeLimit};

use super::Mm7Error;

/// Bounds on one multipart body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultipartLimits {
    /// The whole body, as received.
    pub max_message_bytes: u64,
    /// One content part (a nested multipart container counts against the whole only).
    pub max_part_bytes: u64,
    /// The root (SOAP) part.
    pub max_root_bytes: u64,
    /// Parts in the body (each nested level counted on its own).
    pub max_parts: usize,
}

impl Default for MultipartLimits {
    fn default() -> Self {
        MultipartLimits {
            max_message_bytes: 5 * 1024 * 1024,
            max_part_bytes: 5 * 1024 * 1024,
            max_root_bytes: 256 * 1024,
            max_parts: 32,
        }
    }
}

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyPart {
    /// The `Content-Type` as written (with parameters), if given.
    pub content_type: Option<String>,
    /// The `Content-ID` without its angle brackets.
    pub content_id: Option<String>,
    /// The `Content-Location`, if given.
    pub content_location: Option<String>,
    /// The part's file name: the `Content-Disposition` filename, the `Content-Type`
    /// `name` parameter or the `Content-Location`, in that order.
    pub filename: Option<String>,
    /// The content, transfer-decoded; empty when `oversized`.
    pub body: Bytes,
    /// Bytes received for the part (before transfer decoding).
    pub size: u64,
    /// The part was larger than its limit and its bytes were dropped while reading.
    pub oversized: bool,
}

impl BodyPart {
    /// The media type without parameters, lower case (`image/jpeg`).
    pub fn essence(&self) -> Option<String> {
        let ct = self.content_type.as_deref()?;
        Some(
            ct.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase(),
        )
    }

    /// Whether the part is itself a multipart body.
    pub fn is_multipart(&self) -> bool {
        self.essence().is_some_and(|e| e.starts_with("multipart/"))
    }

    /// Whether `reference` (`cid:abc`, `<abc>` or `abc`) names this part, by its
    /// Content-ID or its Content-Location.
    pub fn is_named(&self, reference: &str) -> bool {
        let reference = reference.trim();
        let cid = reference
            .strip_prefix("cid:")
            .unwrap_or(reference)
            .trim_start_matches('<')
            .trim_end_matches('>');
        let cid = percent_decode(cid);
        self.content_id.as_deref() == Some(cid.as_str())
            || self.content_location.as_deref() == Some(reference)
    }
}

/// A multipart body read whole: its `start` parameter and its parts in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// The `start` parameter (Content-ID of the root part, without brackets).
    pub start: Option<String>,
    pub parts: Vec<BodyPart>,
}

impl Related {
    /// The root part: the one `start` names, else the first.
    pub fn root(&self) -> Option<&BodyPart> {
        match &self.start {
            Some(start) => self.parts.iter().find(|p| p.is_named(start)),
            None => self.parts.first(),
        }
    }

    /// The part `reference` names (`cid:…` or a Content-Location).
    pub fn find(&self, reference: &str) -> Option<&BodyPart> {
        self.parts.iter().find(|p| p.is_named(reference))
    }
}

/// Reads a multipart body whose `Content-Type` header is `content_type` from `body`,
/// a stream of chunks (an HTTP request body), within `limits`.
pub async fn read_multipart<S, E>(
    content_type: &str,
    body: S,
    limits: MultipartLimits,
) -> Result<Related, Mm7Error>
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    let (boundary, start) = boundary_and_start(content_type)?;
    let constraints = Constraints::new().size_limit(
        SizeLimit::new()
            .whole_stream(limits.max_message_bytes)
            .per_field(limits.max_message_bytes),
    );
    let mut multipart = Multipart::with_constraints(body, boundary, constraints);
    let mut parts = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(multer_error)? {
        if parts.len() == limits.max_parts {
            return Err(Mm7Error::TooManyParts(limits.max_parts));
        }
        let mut part = part_of(field.headers(), field.file_name());
        let is_root = match &start {
            Some(start) => part.is_named(start),
            None => parts.is_empty(),
        };
        let limit = if is_root {
            limits.max_root_bytes
        } else if part.is_multipart() {
            limits.max_message_bytes
        } else {
            limits.max_part_bytes
        };
        let mut buffer = BytesMut::new();
        while let Some(chunk) = field.chunk().await.map_err(multer_error)? {
            part.size += chunk.len() as u64;
            if part.size > limit {
                // Counted, not kept: the stream's own cap still bounds the reading.
                part.oversized = true;
                buffer = BytesMut::new();
            } else {
                buffer.extend_from_slice(&chunk);
            }
        }
        if is_root && part.oversized {
            return Err(Mm7Error::RootTooLarge(limits.max_root_bytes));
        }
        let encoding = field
            .headers()
            .get("content-transfer-encoding")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase());
        if !part.oversized {
            part.body = transfer_decode(encoding.as_deref(), buffer.freeze())?;
        }
        parts.push(part);
    }
    if parts.is_empty() {
        return Err(Mm7Error::Multipart("the body has no parts".into()));
    }
    Ok(Related { start, parts })
}

/// Reads a multipart body already in memory (a nested part, a fuzz input).
pub fn parse_multipart(
    content_type: &str,
    body: Bytes,
    limits: MultipartLimits,
) -> Result<Related, Mm7Error> {
    let chunks = stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    // One chunk already in memory: the future never waits, so it completes on its
    // first poll.
    read_multipart(content_type, chunks, limits)
        .now_or_never()
        .unwrap_or_else(|| Err(Mm7Error::Multipart("the body did not end".into())))
}

fn boundary_and_start(content_type: &str) -> Result<(String, Option<String>), Mm7Error> {
    let mime: mime::Mime = content_type
        .parse()
        .map_err(|_| Mm7Error::Multipart(format!("unreadable Content-Type {content_type:?}")))?;
    if mime.type_() != mime::MULTIPART {
        return Err(Mm7Error::Multipart(format!(
            "{} is not a multipart type",
            mime.essence_str()
        )));
    }
    let boundary = mime
        .get_param(mime::BOUNDARY)
        .map(|b| b.as_str().to_owned())
        .filter(|b| !b.is_empty() && b.len() <= 70)
        .ok_or_else(|| Mm7Error::Multipart("the Content-Type has no valid boundary".into()))?;
    let start = mime.get_param("start").map(|s| {
        s.as_str()
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned()
    });
    Ok((boundary, start))
}

fn part_of(headers: &axum::http::HeaderMap, disposition_name: Option<&str>) -> BodyPart {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let content_type = header("content-type");
    let content_id =
        header("content-id").map(|c| c.trim_start_matches('<').trim_end_matches('>').to_owned());
    let content_location = header("content-location");
    let type_name = content_type
        .as_deref()
        .and_then(|ct| ct.parse::<mime::Mime>().ok())
        .and_then(|m| m.get_param("name").map(|n| n.as_str().to_owned()));
    let filename = disposition_name
        .map(str::to_owned)
        .or(type_name)
        .or_else(|| content_location.clone());
    BodyPart {
        content_type,
        content_id,
        content_location,
        filename,
        body: Bytes::new(),
        size: 0,
        oversized: false,
    }
}

fn transfer_decode(encoding: Option<&str>, body: Bytes) -> Result<Bytes, Mm7Error> {
    use base64::Engine;
    match encoding {
        None | Some("binary") | Some("8bit") | Some("7bit") => Ok(body),
        Some("base64") => {
            let text: Vec<u8> = body
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map(Bytes::from)
                .map_err(|e| Mm7Error::Multipart(format!("a base64 part does not decode: {e}")))
        }
        Some(other) => Err(Mm7Error::Multipart(format!(
            "unsupported Content-Transfer-Encoding {other:?}"
        ))),
    }
}

/// `%40` → `@` in a `cid:` URL (RFC 2392 allows escaped characters).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(v) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn multer_error(e: multer::Error) -> Mm7Error {
    match e {
        multer::Error::StreamSizeExceeded { limit } => Mm7Error::MessageTooLarge(limit),
        multer::Error::FieldSizeExceeded { limit, .. } => Mm7Error::MessageTooLarge(limit),
        multer::Error::StreamReadFailed(e) => Mm7Error::Transport(e.to_string()),
        other => Mm7Error::Multipart(other.to_string()),
    }
}

/// A part to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPart {
    pub content_type: String,
    pub content_id: Option<String>,
    pub content_location: Option<String>,
    pub body: Bytes,
}

/// A multipart body ready to send: its `Content-Type` header value and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltMultipart {
    pub content_type: String,
    pub body: Bytes,
}

/// Writes a `multipart/related` (or `multipart/mixed`) body. Parts travel
/// `Content-Transfer-Encoding: binary`; the boundary is random and checked against
/// every part's bytes.
#[derive(Debug, Clone)]
pub struct MultipartBuilder {
    subtype: &'static str,
    start: Option<(String, String)>,
    parts: Vec<NewPart>,
}

impl MultipartBuilder {
    /// A `multipart/related` body whose root (`start`) is `root`, which needs a
    /// Content-ID (the SOAP envelope, `text/xml`).
    pub fn related(root: NewPart) -> MultipartBuilder {
        let start = root
            .content_id
            .clone()
            .map(|cid| (cid, essence_of(&root.content_type)));
        MultipartBuilder {
            subtype: "related",
            start,
            parts: vec![root],
        }
    }

    /// A `multipart/mixed` body (content without a presentation root).
    pub fn mixed() -> MultipartBuilder {
        MultipartBuilder {
            subtype: "mixed",
            start: None,
            parts: Vec::new(),
        }
    }

    /// Adds a part.
    pub fn part(mut self, part: NewPart) -> MultipartBuilder {
        self.parts.push(part);
        self
    }

    /// The body and its Content-Type.
    pub fn build(self) -> BuiltMultipart {
        let boundary = loop {
            let candidate = format!("=_mm7_{}", uuid::Uuid::now_v7().simple());
            let clash = self.parts.iter().any(|p| {
                p.body
                    .windows(candidate.len())
                    .any(|w| w == candidate.as_bytes())
            });
            if !clash {
                break candidate;
            }
        };
        let mut body = BytesMut::new();
        for part in &self.parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            body.extend_from_slice(format!("Content-Type: {}\r\n", part.content_type).as_bytes());
            if let Some(cid) = &part.content_id {
                body.extend_from_slice(format!("Content-ID: <{cid}>\r\n").as_bytes());
            }
            if let Some(location) = &part.content_location {
                body.extend_from_slice(format!("Content-Location: {location}\r\n").as_bytes());
            }
            body.extend_from_slice(b"Content-Transfer-Encoding: binary\r\n\r\n");
            body.extend_from_slice(&part.body);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let mut content_type = format!("multipart/{}; boundary=\"{boundary}\"", self.subtype);
        if let Some((cid, root_type)) = &self.start {
            content_type.push_str(&format!("; type=\"{root_type}\"; start=\"<{cid}>\""));
        }
        BuiltMultipart {
            content_type,
            body: body.freeze(),
        }
    }
}

fn essence_of(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests;
