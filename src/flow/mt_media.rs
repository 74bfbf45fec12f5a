//! An MT's attachments at acceptance. The core names each one by a URL it serves or by
//! the id of an earlier upload (`POST /v1/media`); before the API answers `202`, each
//! is fetched (or looked up), checked (size within what the route leaves, an allowed
//! type, bytes that are that type) and kept in the media store, and the message records
//! the stored copies. Sending then reads the stored bytes: no second fetch, even after
//! a restart, and a bad URL is the core's answer to its request, not a `failed` later.
//!
//! The work is done above this layer by a [`MediaKeeper`] (`mms::keep`); the flows only
//! say what limits apply and what a refusal means for the caller.

use serde::{Deserialize, Serialize};

use crate::carrier::BoxFuture;
use crate::store::MediaRef;

/// An attachment as the core names it in `POST /v1/messages`: `url` or `id`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaItem {
    /// An `http` or `https` URL the core serves; fetched before the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The `id` an upload (`POST /v1/media`) answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The type the core declares: a fetched file must agree with it; required with
    /// `id` (the upload's `content_type`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The name the handset shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

/// Where an attachment comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaSource<'a> {
    /// A URL the core serves.
    Url(&'a str),
    /// An earlier upload, by its id.
    Upload(&'a str),
}

impl MediaItem {
    /// Its source; `None` when it names both or neither.
    pub fn source(&self) -> Option<MediaSource<'_>> {
        match (&self.url, &self.id) {
            (Some(url), None) => Some(MediaSource::Url(url)),
            (None, Some(id)) => Some(MediaSource::Upload(id)),
            _ => None,
        }
    }
}

/// The bytes one message's attachments may take on the way it leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLimits {
    /// All attachments together.
    pub total_bytes: usize,
    /// One attachment.
    pub part_bytes: usize,
    /// The rule behind the limits, for a refusal's message ("carrier acme takes at most
    /// 600 KB per message from toll-free senders").
    pub rule: String,
}

/// Why an attachment list was not kept. `index` is the attachment at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaRefusal {
    /// The URL's server has no such file for us (a 4xx other than 408/429), sent an
    /// empty file, or redirected elsewhere than http(s): the same request will not work.
    #[error("media[{index}]: {message}")]
    Unavailable { index: usize, message: String },
    /// `id` names no upload (never made, or purged past the retention).
    #[error("media[{index}].id: no upload {id}; upload the file again")]
    UnknownUpload { index: usize, id: String },
    /// The file was read but is refused: `reason` is `too_large`, `type_not_allowed`,
    /// `content_type_mismatch` or `corrupt`.
    #[error("media[{index}]: {message}")]
    Rejected {
        index: usize,
        reason: &'static str,
        message: String,
    },
    /// The URL (or a redirect from it) leads to an address fetches may not reach: not
    /// public, and not in `[mms] fetch_allow`. Nothing was sent there; the answer is the
    /// same whether or not anything listens.
    #[error("media[{index}]: {message}")]
    Forbidden { index: usize, message: String },
    /// The URL's server could not be reached, failed (5xx, 408, 429), or did not finish
    /// within the time allowed: the same request may work later.
    #[error("media[{index}]: {message}")]
    Unreachable { index: usize, message: String },
    /// The media store cannot write now.
    #[error("the media store cannot keep the attachments: {0}")]
    Store(String),
    /// No media store runs (`[mms] enabled = false`).
    #[error("attachments cannot be sent: MMS is not enabled ([mms] enabled = false)")]
    Disabled,
}

impl MediaRefusal {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            MediaRefusal::Unavailable { .. } | MediaRefusal::UnknownUpload { .. } => {
                "media_unavailable"
            }
            MediaRefusal::Rejected { .. } => "media_rejected",
            MediaRefusal::Forbidden { .. } => "media_url_forbidden",
            MediaRefusal::Unreachable { .. } => "media_unreachable",
            MediaRefusal::Store(_) => "overloaded",
            MediaRefusal::Disabled => "media_not_supported",
        }
    }

    /// The request field at fault.
    pub fn field(&self) -> String {
        match self {
            MediaRefusal::UnknownUpload { index, .. } => format!("media[{index}].id"),
            MediaRefusal::Unavailable { index, .. }
            | MediaRefusal::Rejected { index, .. }
            | MediaRefusal::Forbidden { index, .. }
            | MediaRefusal::Unreachable { index, .. } => format!("media[{index}]"),
            MediaRefusal::Store(_) | MediaRefusal::Disabled => "media".to_owned(),
        }
    }

    /// The rejection reason, for `media_rejected`.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            MediaRefusal::Rejected { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

/// Why an upload (`POST /v1/media`) was not kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadRefusal {
    /// The file is refused: `reason` is `too_large`, `type_not_allowed`,
    /// `content_type_mismatch` or `corrupt`.
    #[error("{message}")]
    Rejected {
        reason: &'static str,
        message: String,
    },
    /// The media store cannot write now.
    #[error("the media store cannot keep the file: {0}")]
    Store(String),
}

/// An upload, kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// The kept copy; its `id` names it in a later MT.
    pub media: MediaRef,
    /// A signed URL of it.
    pub url: String,
}

/// Fetches, checks and keeps attachments; signs links to kept ones.
pub trait MediaKeeper: Send + Sync + 'static {
    /// Reads every attachment of `media` (URLs fetched, uploads looked up) within
    /// `limits`, checks each, and only when all pass keeps them in the media store (the
    /// store names content by its hash, so a retry after a store failure reuses what
    /// was written). The kept copies, in order.
    fn keep<'a>(
        &'a self,
        media: &'a [MediaItem],
        limits: MediaLimits,
    ) -> BoxFuture<'a, Result<Vec<MediaRef>, MediaRefusal>>;

    /// A signed URL of the kept copy `media`, for whoever gets it (an SMS link).
    fn link(&self, media: &MediaRef) -> Option<String>;

    /// The largest upload taken: the largest attachment any route may send.
    fn upload_limit(&self) -> usize;

    /// Checks an uploaded file of `content_type` (its type allowed, its bytes that
    /// type, within [`Self::upload_limit`]) and keeps it.
    fn upload<'a>(
        &'a self,
        content_type: &'a str,
        body: bytes::Bytes,
    ) -> BoxFuture<'a, Result<Uploaded, UploadRefusal>>;
}
