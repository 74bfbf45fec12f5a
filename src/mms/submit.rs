//! SubmitReq out, SubmitRsp in (3GPP TS 23.140 §8.2).
//!
//! The request is a `multipart/related` body whose root is the SOAP envelope; the
//! envelope's `Content href` names the message content. One attachment without text
//! goes as that attachment alone. Text with media, or several attachments, go as a
//! `multipart/related` container whose root is a generated SMIL presentation: handsets
//! lay the parts out by it, one slide per attachment with the text under the first.
//!
//! File names reach MIME headers (`Content-Location`), so they are reduced to a safe
//! character set here whatever the core sent.

use bytes::Bytes;

use super::client::{ClientError, Mm7Answer, Mm7Request};
use super::fetch::FetchedMedia;
use super::mm7::{
    Address, Element, Mm7Version, MultipartBuilder, NewPart, XmlLimits, parse_document,
    response_status, write_envelope,
};

/// The Content-ID of the SOAP envelope part.
const ENVELOPE_CID: &str = "mm7-envelope";
/// The Content-ID of the content the envelope points at.
const CONTENT_CID: &str = "mm7-content";
const SMIL_CID: &str = "smil";
const TEXT_CID: &str = "text";
/// How long each slide shows, in milliseconds.
const SLIDE_MS: u32 = 5_000;

/// One MT MMS as the MMSC receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitReq {
    pub version: Mm7Version,
    pub transaction_id: String,
    pub vasp_id: Option<String>,
    pub vas_id: Option<String>,
    pub sender: Address,
    pub recipient: Address,
    pub subject: Option<String>,
    /// The text part; empty for none.
    pub text: String,
    pub media: Vec<FetchedMedia>,
}

impl SubmitReq {
    /// The request body and its Content-Type.
    pub fn build(&self) -> Mm7Request {
        let content = content_part(&self.text, &self.media);
        let envelope = write_envelope(self.version, &self.transaction_id, &self.operation());
        let built = MultipartBuilder::related(NewPart {
            content_type: "text/xml; charset=utf-8".into(),
            content_id: Some(ENVELOPE_CID.into()),
            content_location: None,
            body: Bytes::from(envelope),
        })
        .part(content)
        .build();
        Mm7Request {
            content_type: built.content_type,
            body: built.body,
        }
    }

    /// The `SubmitReq` element, its children in the schema's order.
    fn operation(&self) -> Element {
        let mut identification = Element::new("SenderIdentification");
        if let Some(vasp) = &self.vasp_id {
            identification = identification.with_text_child("VASPID", vasp.clone());
        }
        if let Some(vas) = &self.vas_id {
            identification = identification.with_text_child("VASID", vas.clone());
        }
        identification = identification
            .with_child(Element::new("SenderAddress").with_child(self.sender.element()));
        let mut op = Element::new("SubmitReq")
            .with_text_child("MM7Version", self.version.mm7_version())
            .with_child(identification)
            .with_child(
                Element::new("Recipients")
                    .with_child(Element::new("To").with_child(self.recipient.element())),
            )
            .with_text_child("MessageClass", "Personal")
            .with_text_child("DeliveryReport", "true");
        if let Some(subject) = &self.subject {
            op = op.with_text_child("Subject", subject.clone());
        }
        op.with_child(
            Element::new("Content")
                .with_attribute("href", format!("cid:{CONTENT_CID}"))
                .with_attribute("allowAdaptations", "true"),
        )
    }
}

/// The content an MMS carries, as the part the envelope's `Content href` names
/// (Content-ID `mm7-content`): the only attachment itself, or a `multipart/related`
/// container with a generated SMIL root, the text and the attachments.
pub fn content_part(text: &str, media: &[FetchedMedia]) -> NewPart {
    if text.is_empty()
        && let [only] = media
    {
        return NewPart {
            content_type: only.content_type.clone(),
            content_id: Some(CONTENT_CID.into()),
            content_location: Some(safe_name(only.filename.as_deref(), 0, &only.content_type)),
            body: only.body.clone(),
        };
    }
    let names: Vec<String> = media
        .iter()
        .enumerate()
        .map(|(i, m)| safe_name(m.filename.as_deref(), i, &m.content_type))
        .collect();
    let mut builder = MultipartBuilder::related(NewPart {
        content_type: "application/smil".into(),
        content_id: Some(SMIL_CID.into()),
        content_location: Some("presentation.smil".into()),
        body: Bytes::from(smil(text, media)),
    });
    if !text.is_empty() {
        builder = builder.part(NewPart {
            content_type: "text/plain; charset=utf-8".into(),
            content_id: Some(TEXT_CID.into()),
            content_location: Some("text.txt".into()),
            body: Bytes::from(text.to_owned()),
        });
    }
    for (i, (m, name)) in media.iter().zip(names).enumerate() {
        builder = builder.part(NewPart {
            content_type: m.content_type.clone(),
            content_id: Some(media_cid(i)),
            content_location: Some(name),
            body: m.body.clone(),
        });
    }
    let inner = builder.build();
    NewPart {
        content_type: inner.content_type,
        content_id: Some(CONTENT_CID.into()),
        content_location: None,
        body: inner.body,
    }
}

/// One slide per attachment (the text under the first); a text-only slide when there
/// is no attachment.
fn smil(text: &str, media: &[FetchedMedia]) -> String {
    let mut body = String::new();
    let slides = media.len().max(1);
    for i in 0..slides {
        body.push_str(&format!("<par dur=\"{SLIDE_MS}ms\">"));
        if let Some(m) = media.get(i) {
            let tag = smil_tag(&m.content_type);
            body.push_str(&format!(
                "<{tag} src=\"cid:{}\" region=\"Image\"/>",
                media_cid(i)
            ));
        }
        if i == 0 && !text.is_empty() {
            body.push_str(&format!("<text src=\"cid:{TEXT_CID}\" region=\"Text\"/>"));
        }
        body.push_str("</par>");
    }
    format!(
        "<smil><head><layout><root-layout width=\"100%\" height=\"100%\"/>\
         <region id=\"Image\" top=\"0\" left=\"0\" width=\"100%\" height=\"70%\" fit=\"meet\"/>\
         <region id=\"Text\" top=\"70%\" left=\"0\" width=\"100%\" height=\"30%\" fit=\"scroll\"/>\
         </layout></head><body>{body}</body></smil>"
    )
}

fn media_cid(i: usize) -> String {
    format!("media{}", i + 1)
}

/// The SMIL element that presents a content type.
fn smil_tag(content_type: &str) -> &'static str {
    match content_type.split('/').next().unwrap_or_default() {
        "image" => "img",
        "video" => "video",
        "audio" => "audio",
        "text" => "text",
        _ => "ref",
    }
}

/// A file name safe in a MIME header: ASCII letters, digits, `.`, `-` and `_` kept,
/// anything else `_`; a name from the index and type when none is left.
fn safe_name(name: Option<&str>, index: usize, content_type: &str) -> String {
    let cleaned: String = name
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if cleaned.trim_matches(['_', '.']).is_empty() {
        let subtype = content_type.split('/').nth(1).unwrap_or("bin");
        let ext: String = subtype
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        return format!("{}.{ext}", media_cid(index));
    }
    cleaned
}

/// The MMSC's MessageID from its answer: a `SubmitRsp` with StatusCode 1000 (or 1100,
/// partial success, for our single recipient the same) and a MessageID; anything else
/// is the matching [`ClientError`].
pub fn read_submit_rsp(answer: &Mm7Answer) -> Result<String, ClientError> {
    let http = answer.status.as_u16();
    let unreadable = |reason: String| ClientError::Unreadable {
        status: http,
        reason,
    };
    let root = match parse_document(&answer.body, XmlLimits::default()) {
        Ok(root) => root,
        // No MM7 answer at all: the HTTP status is all there is.
        Err(_) if !answer.status.is_success() => return Err(ClientError::Http(http)),
        Err(e) => return Err(unreadable(e.to_string())),
    };
    let Some(status) = response_status(&root) else {
        if !answer.status.is_success() {
            return Err(ClientError::Http(http));
        }
        return Err(unreadable("no Status in the answer".into()));
    };
    if !status.code.is_success() {
        let text = match &status.details {
            Some(details) => format!("{} ({details})", status.text),
            None => status.text.clone(),
        };
        return Err(ClientError::Refused {
            code: status.code.0,
            text,
        });
    }
    find(&root, "SubmitRsp")
        .and_then(|rsp| rsp.child_text("MessageID"))
        .map(str::to_owned)
        .ok_or_else(|| unreadable("a SubmitRsp with success but no MessageID".into()))
}

/// The first element named `name` under `e`, depth first.
fn find<'a>(e: &'a Element, name: &str) -> Option<&'a Element> {
    if e.name == name {
        return Some(e);
    }
    e.children.iter().find_map(|c| find(c, name))
}

#[cfg(test)]
mod tests;
