//! MT attachments at acceptance: the flows' [`MediaKeeper`]. Each attachment of a
//! `POST /v1/messages` is fetched from the core's URL (the [`MediaFetcher`]: limits
//! while streaming, type and magic bytes) or read back from an earlier upload, within
//! what the route leaves and `[mms] fetch_total_timeout` for the whole list; only when
//! every one passes are they written to the [`MediaStore`]. Uploads (`POST /v1/media`)
//! are checked the same way and kept at once.
//!
//! Nothing here decides routes: the flows say which limits apply (the MMSC's for the
//! sender's kind, or `[mms]`'s for links) and what a refusal means for the caller.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::watch;

use super::fetch::{FetchError, FetchedMedia, MediaFetcher};
use super::media::{MediaPolicy, MediaStore, Rejection, UrlSigner};
use super::mm7::BodyPart;
use super::outbound::{MMS_MEDIA_FETCHES_TOTAL, MMS_UPLOADS_TOTAL};
use crate::carrier::BoxFuture;
use crate::config::Config;
use crate::flow::mt_media::{
    MediaItem, MediaKeeper, MediaLimits, MediaRefusal, MediaSource, UploadRefusal, Uploaded,
};
use crate::store::MediaRef;
use crate::telemetry::error_chain;

/// Keeps MT attachments in the media store.
pub struct MtMediaKeeper {
    config: watch::Receiver<Arc<Config>>,
    fetcher: MediaFetcher,
    store: MediaStore,
    signer: UrlSigner,
}

/// An attachment read and checked, not yet kept.
struct Checked {
    media: FetchedMedia,
    /// Its id when it is already in the store (an upload).
    stored: Option<String>,
    url: Option<String>,
}

impl MtMediaKeeper {
    /// A keeper over `store`, signing links with `signer`; each fetch ends within
    /// `[mms] fetch_timeout` and reaches only public addresses and `[mms] fetch_allow`
    /// (both read at start).
    pub fn new(
        config: watch::Receiver<Arc<Config>>,
        store: MediaStore,
        signer: UrlSigner,
    ) -> Result<Self, reqwest::Error> {
        let fetcher = {
            let mms = &config.borrow().mms;
            MediaFetcher::new(mms.fetch_timeout, mms.fetch_allow.clone())?
        };
        // A refused URL may be someone probing the network behind the gateway: the
        // count is there to alert on from the start.
        metrics::counter!(MMS_MEDIA_FETCHES_TOTAL, "result" => "forbidden").increment(0);
        Ok(MtMediaKeeper {
            config,
            fetcher,
            store,
            signer,
        })
    }

    async fn keep_all(
        &self,
        media: &[MediaItem],
        limits: MediaLimits,
    ) -> Result<Vec<MediaRef>, MediaRefusal> {
        let config = self.config.borrow().clone();
        let policy = MediaPolicy {
            allowed: config.mms.allowed_content_types.clone(),
            max_part_bytes: limits.part_bytes as u64,
        };
        let total_time = config.mms.fetch_total_timeout;
        let deadline = Instant::now() + total_time;
        let mut left = limits.total_bytes;
        let mut checked = Vec::with_capacity(media.len());
        for (index, item) in media.iter().enumerate() {
            let limit = left.min(limits.part_bytes);
            let one = match item.source() {
                Some(MediaSource::Url(url)) => {
                    let fetch = self.fetcher.fetch(item, limit, &policy);
                    let fetched = tokio::time::timeout_at(deadline.into(), fetch)
                        .await
                        .map_err(|_| {
                            fetch_counted("unreachable");
                            MediaRefusal::Unreachable {
                                index,
                                message: format!(
                                    "the attachments were not all fetched within {} ([mms] \
                                     fetch_total_timeout)",
                                    humantime::format_duration(total_time)
                                ),
                            }
                        })?
                        .map_err(|e| fetch_refused(index, &limits, e))?;
                    fetch_counted("fetched");
                    Checked {
                        media: fetched,
                        stored: None,
                        url: Some(url.to_owned()),
                    }
                }
                Some(MediaSource::Upload(id)) => {
                    self.look_up(index, id, item, limit, &policy, &limits)
                        .await?
                }
                None => {
                    return Err(MediaRefusal::Unavailable {
                        index,
                        message: "it names neither a url nor an upload id".into(),
                    });
                }
            };
            left -= one.media.body.len();
            checked.push(one);
        }
        // Every attachment passed: only now is anything written.
        let mut kept = Vec::with_capacity(checked.len());
        for one in checked {
            let size = one.media.body.len() as u64;
            let id = match one.stored {
                Some(id) => id,
                None => self
                    .store
                    .put(one.media.body)
                    .await
                    .map_err(|e| MediaRefusal::Store(e.to_string()))?,
            };
            kept.push(MediaRef {
                id: Some(id),
                url: one.url,
                content_type: Some(one.media.content_type),
                size: Some(size),
                filename: one.media.filename,
            });
        }
        Ok(kept)
    }

    /// An earlier upload, read back and checked against this route's limits and the
    /// type the core declares for it now.
    async fn look_up(
        &self,
        index: usize,
        id: &str,
        item: &MediaItem,
        limit: usize,
        policy: &MediaPolicy,
        limits: &MediaLimits,
    ) -> Result<Checked, MediaRefusal> {
        let unknown = || MediaRefusal::UnknownUpload {
            index,
            id: id.to_owned(),
        };
        let size = self
            .store
            .size(id)
            .await
            .ok()
            .flatten()
            .ok_or_else(unknown)?;
        if size > limit as u64 {
            return Err(MediaRefusal::Rejected {
                index,
                reason: Rejection::TooLarge.as_str(),
                message: format!(
                    "the upload is {} KB, more than is left for it: {}",
                    size / 1024,
                    limits.rule
                ),
            });
        }
        let body = self
            .store
            .read(id)
            .await
            .ok()
            .flatten()
            .ok_or_else(unknown)?;
        let declared = item.content_type.as_deref().unwrap_or_default();
        let content_type =
            check_bytes(policy, declared, &body).map_err(|rejection| MediaRefusal::Rejected {
                index,
                reason: rejection.as_str(),
                message: format!("the upload {}", refused_because(rejection, declared)),
            })?;
        Ok(Checked {
            media: FetchedMedia {
                content_type,
                filename: item.filename.clone(),
                body,
            },
            stored: Some(id.to_owned()),
            url: None,
        })
    }

    /// The largest attachment any route may send: the largest MMSC limit, or what
    /// `[mms]` allows a link.
    fn largest_attachment(config: &Config) -> usize {
        config
            .carriers
            .iter()
            .filter_map(|c| c.mmsc.as_ref())
            .map(|m| m.max_message_bytes)
            .chain([config.mms.max_part_bytes])
            .max()
            .unwrap_or_default()
    }

    async fn upload_one(&self, content_type: &str, body: Bytes) -> Result<Uploaded, UploadRefusal> {
        let config = self.config.borrow().clone();
        let limit = Self::largest_attachment(&config);
        let refused = |rejection: Rejection, message: String| {
            upload_counted(rejection.as_str());
            UploadRefusal::Rejected {
                reason: rejection.as_str(),
                message,
            }
        };
        if body.len() > limit {
            return Err(refused(
                Rejection::TooLarge,
                format!(
                    "the file is larger than the {} KB any route takes",
                    limit / 1024
                ),
            ));
        }
        let policy = MediaPolicy {
            allowed: config.mms.allowed_content_types.clone(),
            max_part_bytes: limit as u64,
        };
        let essence = check_bytes(&policy, content_type, &body)
            .map_err(|r| refused(r, format!("the file {}", refused_because(r, content_type))))?;
        let size = body.len() as u64;
        let id = self
            .store
            .put(body)
            .await
            .map_err(|e| UploadRefusal::Store(e.to_string()))?;
        upload_counted("kept");
        let url = self.signer.url(&id, &essence, unix_now());
        Ok(Uploaded {
            media: MediaRef {
                id: Some(id),
                url: None,
                content_type: Some(essence),
                size: Some(size),
                filename: None,
            },
            url,
        })
    }
}

impl MediaKeeper for MtMediaKeeper {
    fn keep<'a>(
        &'a self,
        media: &'a [MediaItem],
        limits: MediaLimits,
    ) -> BoxFuture<'a, Result<Vec<MediaRef>, MediaRefusal>> {
        Box::pin(self.keep_all(media, limits))
    }

    fn link(&self, media: &MediaRef) -> Option<String> {
        let id = media.id.as_deref()?;
        let content_type = media.content_type.as_deref()?;
        Some(self.signer.url(id, content_type, unix_now()))
    }

    fn upload_limit(&self) -> usize {
        Self::largest_attachment(&self.config.borrow())
    }

    fn upload<'a>(
        &'a self,
        content_type: &'a str,
        body: Bytes,
    ) -> BoxFuture<'a, Result<Uploaded, UploadRefusal>> {
        Box::pin(self.upload_one(content_type, body))
    }
}

/// `body` against `content_type` under `policy` (its size is checked by the caller);
/// the type's essence when it passes.
fn check_bytes(
    policy: &MediaPolicy,
    content_type: &str,
    body: &Bytes,
) -> Result<String, Rejection> {
    let part = BodyPart {
        content_type: Some(content_type.to_owned()),
        content_id: None,
        content_location: None,
        filename: None,
        body: body.clone(),
        size: body.len() as u64,
        oversized: false,
    };
    MediaPolicy {
        max_part_bytes: u64::MAX,
        ..policy.clone()
    }
    .check(&part)
}

/// The end of "the file …" for a refused type check.
fn refused_because(rejection: Rejection, content_type: &str) -> String {
    match rejection {
        Rejection::TypeNotAllowed => format!("is {content_type}, which MMS does not carry here"),
        Rejection::TypeMismatch => format!("is not the {content_type} it is declared as"),
        Rejection::Corrupt => format!("is a damaged or cut short {content_type}"),
        Rejection::TooLarge => "is too large".to_owned(),
    }
}

/// A failed fetch as the caller's refusal.
fn fetch_refused(index: usize, limits: &MediaLimits, e: FetchError) -> MediaRefusal {
    let rejected = |label, reason: &'static str, message: String| {
        fetch_counted(label);
        MediaRefusal::Rejected {
            index,
            reason,
            message,
        }
    };
    match &e {
        _ if e.is_transient() => {
            fetch_counted("unreachable");
            MediaRefusal::Unreachable {
                index,
                message: e.to_string(),
            }
        }
        FetchError::TooLarge { url, .. } => rejected(
            "too_large",
            Rejection::TooLarge.as_str(),
            format!("{url} is too large: {}", limits.rule),
        ),
        FetchError::TypeNotAllowed { .. } | FetchError::NoContentType { .. } => rejected(
            "type_refused",
            Rejection::TypeNotAllowed.as_str(),
            e.to_string(),
        ),
        FetchError::TypeMismatch { .. } => rejected(
            "type_refused",
            Rejection::TypeMismatch.as_str(),
            e.to_string(),
        ),
        FetchError::BadContent { rejection, .. } => {
            rejected("corrupt", rejection.as_str(), e.to_string())
        }
        FetchError::Forbidden { .. } => {
            fetch_counted("forbidden");
            MediaRefusal::Forbidden {
                index,
                message: error_chain(&e),
            }
        }
        FetchError::BadUrl(_)
        | FetchError::Unreachable { .. }
        | FetchError::Status { .. }
        | FetchError::Empty { .. } => {
            fetch_counted("unavailable");
            MediaRefusal::Unavailable {
                index,
                message: e.to_string(),
            }
        }
    }
}

fn fetch_counted(result: &'static str) {
    metrics::counter!(MMS_MEDIA_FETCHES_TOTAL, "result" => result).increment(1);
}

fn upload_counted(result: &'static str) {
    metrics::counter!(MMS_UPLOADS_TOTAL, "result" => result).increment(1);
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
