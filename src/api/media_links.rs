//! Media links in the API's message views (`GET /v1/messages/{id}`, the transcript): a
//! message's files in the media store are shown with a URL signed at the moment of the
//! answer, so a transcript opened days after the message still shows working links,
//! each valid for `[mms] url_ttl` from then.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::mms::media::UrlSigner;
use crate::store::MessageView;

/// Signs the media links of message views; without a signer (`[mms] enabled = false`)
/// files in the media store are shown without a URL, as nothing serves them.
#[derive(Clone, Default)]
pub struct MediaLinks {
    signer: Option<UrlSigner>,
}

impl MediaLinks {
    /// Links signed by `signer`, when the media route is served.
    pub fn new(signer: Option<UrlSigner>) -> MediaLinks {
        MediaLinks { signer }
    }

    /// Gives each of `view`'s files in the media store a freshly signed URL.
    pub fn sign(&self, view: &mut MessageView) {
        let Some(signer) = &self.signer else {
            return;
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        for media in &mut view.media {
            if let (Some(hash), Some(content_type)) = (&media.hash, &media.content_type) {
                media.url = Some(signer.url(hash, content_type, now));
            }
        }
    }
}
