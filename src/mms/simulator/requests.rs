//! What the simulated MMSC writes: SubmitRsp and faults to the gateway's SubmitReq,
//! and the requests it sends of its own — DeliveryReportReq for a submitted MMS and
//! DeliverReq (an MO MMS with files from the fixtures directory).

use std::path::Path;

use bytes::Bytes;

use crate::mms::fetch::FetchedMedia;
use crate::mms::mm7::{
    Address, Element, Mm7Version, MultipartBuilder, NewPart, Status, StatusCode, write_envelope,
    write_response,
};
use crate::mms::submit::content_part;

/// The relay id the simulator names itself with.
pub const RELAY_ID: &str = "smsbridge-sim-mmsc";

/// The `MMStatus` a submitted MMS is reported with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportStatus {
    Retrieved,
    Rejected,
    Expired,
}

impl ReportStatus {
    /// The `MMStatus` word.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Retrieved => "Retrieved",
            ReportStatus::Rejected => "Rejected",
            ReportStatus::Expired => "Expired",
        }
    }
}

/// A SubmitRsp with `message_id`.
pub fn submit_rsp(version: Mm7Version, transaction_id: &str, message_id: &str) -> String {
    let id = Element::new("MessageID");
    let mut id = id;
    id.text = message_id.to_owned();
    write_response(
        version,
        transaction_id,
        "SubmitRsp",
        &Status::new(StatusCode::SUCCESS),
        &[id],
    )
}

/// A DeliveryReportReq about `message_id`, sent to `recipient` by `sender`.
pub fn delivery_report_req(
    version: Mm7Version,
    transaction_id: &str,
    message_id: &str,
    recipient: &str,
    sender: &str,
    status: ReportStatus,
) -> String {
    let date = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let op = Element::new("DeliveryReportReq")
        .with_text_child("MM7Version", version.mm7_version())
        .with_text_child("MMSRelayServerID", RELAY_ID)
        .with_text_child("MessageID", message_id)
        .with_child(
            Element::new("Recipient").with_child(Address::Number(recipient.into()).element()),
        )
        .with_child(Element::new("Sender").with_child(Address::Number(sender.into()).element()))
        .with_text_child("Date", date)
        .with_text_child("MMStatus", status.as_str())
        .with_text_child(
            "StatusText",
            format!("{} by the simulator", status.as_str()),
        );
    write_envelope(version, transaction_id, &op)
}

/// An MO MMS to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MmsMo {
    /// The subscriber sending it.
    pub from: String,
    /// The business number it goes to.
    pub to: String,
    pub text: String,
    /// File names in the media directory, attached in order.
    pub files: Vec<String>,
}

/// Why an MO MMS could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A file name is not a plain name in the media directory.
    #[error("{0:?} is not a file name in the media directory")]
    BadName(String),
    /// A file cannot be read.
    #[error("cannot read {name}: {source}")]
    Read {
        name: String,
        #[source]
        source: std::io::Error,
    },
    /// Neither text nor files.
    #[error("an MMS needs text or at least one file")]
    Empty,
}

/// A DeliverReq body (multipart/related, the envelope first) and its Content-Type.
pub fn deliver_req(
    version: Mm7Version,
    transaction_id: &str,
    linked_id: &str,
    mo: &MmsMo,
    media_dir: &Path,
) -> Result<(String, Bytes), BuildError> {
    if mo.text.is_empty() && mo.files.is_empty() {
        return Err(BuildError::Empty);
    }
    let media = mo
        .files
        .iter()
        .map(|name| read_file(media_dir, name))
        .collect::<Result<Vec<_>, _>>()?;
    let content = if media.is_empty() {
        NewPart {
            content_type: "text/plain; charset=utf-8".into(),
            content_id: Some("mm7-content".into()),
            content_location: Some("text.txt".into()),
            body: Bytes::from(mo.text.clone()),
        }
    } else {
        content_part(&mo.text, &media)
    };
    let timestamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let op = Element::new("DeliverReq")
        .with_text_child("MM7Version", version.mm7_version())
        .with_text_child("MMSRelayServerID", RELAY_ID)
        .with_text_child("LinkedID", linked_id)
        .with_child(Element::new("Sender").with_child(Address::Number(mo.from.clone()).element()))
        .with_child(
            Element::new("Recipients").with_child(
                Element::new("To").with_child(Address::Number(mo.to.clone()).element()),
            ),
        )
        .with_text_child("TimeStamp", timestamp)
        .with_child(Element::new("Content").with_attribute("href", "cid:mm7-content"));
    let envelope = write_envelope(version, transaction_id, &op);
    let built = MultipartBuilder::related(NewPart {
        content_type: "text/xml; charset=utf-8".into(),
        content_id: Some("mm7-envelope".into()),
        content_location: None,
        body: Bytes::from(envelope),
    })
    .part(content)
    .build();
    Ok((built.content_type, built.body))
}

/// A fixture file with the content type its extension names (a broken file keeps the
/// type of its name: that is the point of it).
fn read_file(dir: &Path, name: &str) -> Result<FetchedMedia, BuildError> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !plain {
        return Err(BuildError::BadName(name.to_owned()));
    }
    let body = std::fs::read(dir.join(name)).map_err(|source| BuildError::Read {
        name: name.to_owned(),
        source,
    })?;
    Ok(FetchedMedia {
        content_type: type_of(name).to_owned(),
        filename: Some(name.to_owned()),
        body: Bytes::from(body),
    })
}

/// The content type a file's extension names.
pub fn type_of(name: &str) -> &'static str {
    let ext = name
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        "3gp" => "video/3gpp",
        "amr" => "audio/amr",
        "mp3" => "audio/mpeg",
        "vcf" => "text/vcard",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mms::mm7::{
        MultipartLimits, parse_deliver, parse_delivery_report, parse_envelope, parse_request,
    };

    fn fixtures() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mms/media")
    }

    #[test]
    fn a_generated_deliver_req_reads_back_with_its_files() {
        let mo = MmsMo {
            from: "+14155550123".into(),
            to: "+18005550100".into(),
            text: "my receipt".into(),
            files: vec!["photo.jpg".into(), "truncated.jpg".into()],
        };
        let (ct, body) = deliver_req(Mm7Version::Rel5, "tx", "link-1", &mo, &fixtures()).unwrap();
        let read = parse_request(&ct, body, MultipartLimits::default()).unwrap();
        let deliver = parse_deliver(&read.envelope).unwrap();
        assert_eq!(deliver.sender, Address::Number("+14155550123".into()));
        assert_eq!(deliver.linked_id.as_deref(), Some("link-1"));
        let content = read
            .content(deliver.content_href.as_deref(), MultipartLimits::default())
            .unwrap();
        let names: Vec<_> = content.iter().filter_map(|p| p.filename.clone()).collect();
        assert!(names.contains(&"photo.jpg".to_owned()), "{names:?}");
        assert!(names.contains(&"truncated.jpg".to_owned()), "{names:?}");
    }

    #[test]
    fn file_names_cannot_leave_the_media_directory() {
        let mo = MmsMo {
            from: "1".into(),
            to: "2".into(),
            text: String::new(),
            files: vec!["../Cargo.toml".into()],
        };
        let err = deliver_req(Mm7Version::Rel6, "tx", "l", &mo, &fixtures()).unwrap_err();
        assert!(matches!(err, BuildError::BadName(_)), "{err}");
    }

    #[test]
    fn a_delivery_report_reads_back() {
        let xml = delivery_report_req(
            Mm7Version::Rel6,
            "tx",
            "sim-1",
            "+14155550123",
            "+18005550100",
            ReportStatus::Rejected,
        );
        let report = parse_delivery_report(&parse_envelope(xml.as_bytes()).unwrap()).unwrap();
        assert_eq!(report.message_id, "sim-1");
        assert_eq!(report.status.as_str(), "Rejected");
    }
}
