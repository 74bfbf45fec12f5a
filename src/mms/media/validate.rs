//! Attachment validation: is the declared type allowed, is the part within its size,
//! and do its bytes look like what it claims to be?
//!
//! Magic bytes come from the `infer` crate (it knows the signatures of every binary type
//! the default list allows). On top of the signature, the three image formats customers
//! send most get a check of their end marker (JPEG `FFD9`, PNG `IEND`, GIF `;`): a photo
//! cut short in transit has the right signature but will not render, and an agent should
//! hear "corrupt", not see a grey box. Text types (plain text, vCard, SMIL) have no
//! signature: they must be text, and vCard and SMIL must open as such.

use super::super::mm7::BodyPart;

/// Why a part was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// Its declared type is not in `[mms] allowed_content_types`.
    TypeNotAllowed,
    /// It is larger than `[mms] max_part_bytes`.
    TooLarge,
    /// Its bytes start like its type but are broken (cut short, damaged), or are empty.
    Corrupt,
    /// Its bytes are another type than the declared one.
    TypeMismatch,
}

impl Rejection {
    /// The `reason` of `chat.media.rejected` and the metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::TypeNotAllowed => "type_not_allowed",
            Rejection::TooLarge => "too_large",
            Rejection::Corrupt => "corrupt",
            Rejection::TypeMismatch => "content_type_mismatch",
        }
    }

    /// A sentence for the agent's transcript.
    pub fn sentence(self) -> &'static str {
        match self {
            Rejection::TypeNotAllowed => {
                "The customer sent a file of a type we cannot accept; ask them to send a photo, video, audio clip, PDF or contact card instead."
            }
            Rejection::TooLarge => {
                "The customer sent a file that is too large; ask them to send a smaller one."
            }
            Rejection::Corrupt => {
                "The customer's file arrived damaged; ask them to check the file and send it again."
            }
            Rejection::TypeMismatch => {
                "The customer's file is not what its name says; ask them to check the file format and resend."
            }
        }
    }
}

/// What parts may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPolicy {
    /// Media types (`image/jpeg`) and families (`image/*`), lower case.
    pub allowed: Vec<String>,
    pub max_part_bytes: u64,
}

impl MediaPolicy {
    /// Whether `essence` (lower case, no parameters) is allowed.
    pub fn allows(&self, essence: &str) -> bool {
        let family = essence.split('/').next().unwrap_or_default();
        self.allowed
            .iter()
            .any(|a| a == essence || a.strip_suffix("/*").is_some_and(|f| f == family))
    }

    /// Checks one part; its media type (lower case, without parameters) when it passes.
    pub fn check(&self, part: &BodyPart) -> Result<String, Rejection> {
        if part.oversized || part.size > self.max_part_bytes {
            return Err(Rejection::TooLarge);
        }
        let essence = part
            .essence()
            .unwrap_or_else(|| "application/octet-stream".into());
        if !self.allows(&essence) {
            return Err(Rejection::TypeNotAllowed);
        }
        check_content(&essence, &part.body)?;
        Ok(essence)
    }
}

/// Types the container formats (ISO BMFF: MP4, 3GPP, M4A, QuickTime) share: the `ftyp`
/// box tells them apart only by brand, and handsets label them loosely.
const ISO_BMFF: &[&str] = &[
    "video/mp4",
    "video/3gpp",
    "video/3gpp2",
    "audio/mp4",
    "audio/m4a",
    "audio/x-m4a",
    "audio/3gpp",
    "video/quicktime",
    "video/x-m4v",
];

fn same_type(declared: &str, detected: &str) -> bool {
    declared == detected
        || (ISO_BMFF.contains(&declared) && ISO_BMFF.contains(&detected))
        || matches!(
            (declared, detected),
            ("image/jpg", "image/jpeg")
                | ("image/pjpeg", "image/jpeg")
                | ("audio/mp3", "audio/mpeg")
                | ("audio/amr", "audio/amr-wb")
        )
}

fn is_text_type(essence: &str) -> bool {
    essence.starts_with("text/") || essence == "application/smil"
}

fn check_content(essence: &str, body: &[u8]) -> Result<(), Rejection> {
    if body.is_empty() {
        return Err(Rejection::Corrupt);
    }
    let detected = infer::get(body).map(|t| t.mime_type());
    if is_text_type(essence) {
        if detected.is_some_and(|d| !d.starts_with("text/")) {
            return Err(Rejection::TypeMismatch);
        }
        return check_text(essence, body);
    }
    match detected {
        Some(d) if same_type(essence, d) => check_structure(essence, body),
        Some(_) => Err(Rejection::TypeMismatch),
        // A binary type nothing recognises: text where an image was promised is a
        // mismatch; anything else is damaged beyond its signature.
        None if std::str::from_utf8(body).is_ok() => Err(Rejection::TypeMismatch),
        None => Err(Rejection::Corrupt),
    }
}

fn check_text(essence: &str, body: &[u8]) -> Result<(), Rejection> {
    // Binary bytes in a text part (NUL is never text) mean it is not text at all.
    if body.contains(&0) {
        return Err(Rejection::TypeMismatch);
    }
    let head = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_uppercase();
    let head = head.trim_start_matches('\u{feff}').trim_start();
    match essence {
        "text/vcard" | "text/x-vcard" if !head.starts_with("BEGIN:VCARD") => {
            Err(Rejection::TypeMismatch)
        }
        "application/smil" if !head.contains("<SMIL") => Err(Rejection::TypeMismatch),
        _ => Ok(()),
    }
}

fn check_structure(essence: &str, body: &[u8]) -> Result<(), Rejection> {
    let complete = match essence {
        "image/jpeg" | "image/jpg" | "image/pjpeg" => {
            // Some encoders pad after the end marker; look near the end.
            let tail = &body[body.len().saturating_sub(64)..];
            tail.windows(2).any(|w| w == [0xFF, 0xD9])
        }
        "image/png" => {
            let tail = &body[body.len().saturating_sub(32)..];
            tail.windows(4).any(|w| w == b"IEND")
        }
        "image/gif" => body.ends_with(b";") || body.ends_with(b";\0"),
        _ => true,
    };
    if complete {
        Ok(())
    } else {
        Err(Rejection::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R', 0,
        0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89, 0, 0, 0, 0, b'I', b'E', b'N',
        b'D', 0xAE, 0x42, 0x60, 0x82,
    ];

    fn part(ct: &str, body: &[u8]) -> BodyPart {
        BodyPart {
            content_type: Some(ct.into()),
            content_id: None,
            content_location: None,
            filename: None,
            body: Bytes::copy_from_slice(body),
            size: body.len() as u64,
            oversized: false,
        }
    }

    fn policy() -> MediaPolicy {
        MediaPolicy {
            allowed: vec!["image/png".into(), "image/jpeg".into(), "text/*".into()],
            max_part_bytes: 100,
        }
    }

    #[test]
    fn a_whole_image_of_its_declared_type_passes() {
        assert_eq!(
            policy().check(&part("image/png", PNG)),
            Ok("image/png".into())
        );
        assert_eq!(
            policy().check(&part("Text/Plain; charset=utf-8", b"hi")),
            Ok("text/plain".into())
        );
    }

    #[test]
    fn each_reason_has_its_case() {
        let p = policy();
        assert_eq!(
            p.check(&part("image/gif", b"GIF89a;")),
            Err(Rejection::TypeNotAllowed)
        );
        assert_eq!(
            p.check(&part("image/png", &[0; 101])),
            Err(Rejection::TooLarge)
        );
        assert_eq!(
            p.check(&part("image/png", &PNG[..30])),
            Err(Rejection::Corrupt)
        );
        assert_eq!(
            p.check(&part("image/jpeg", PNG)),
            Err(Rejection::TypeMismatch)
        );
        assert_eq!(
            p.check(&part("image/png", b"hello")),
            Err(Rejection::TypeMismatch)
        );
        assert_eq!(
            p.check(&part("text/plain", PNG)),
            Err(Rejection::TypeMismatch)
        );
        assert_eq!(p.check(&part("image/png", b"")), Err(Rejection::Corrupt));
        assert_eq!(
            p.check(&part("text/vcard", b"hello")),
            Err(Rejection::TypeMismatch)
        );
    }

    #[test]
    fn families_and_missing_types() {
        let p = policy();
        assert!(p.allows("text/vcard"));
        assert!(!p.allows("textual/x"));
        let mut untyped = part("x", b"x");
        untyped.content_type = None;
        assert_eq!(p.check(&untyped), Err(Rejection::TypeNotAllowed));
    }
}
