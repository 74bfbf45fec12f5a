//! Signed, expiring media URLs: `{base}/v1/media/{hash}?ct={type}&expires={unix}&sig={hex}`
//! where `sig` is HMAC-SHA256, under `[mms] url_secret`, of the path, the content type
//! and the expiry. Whoever holds the URL may fetch the file until it expires; nothing
//! in it can be changed without the key.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::config::Secret;
use crate::connector::MediaLinkSigner;

/// Why a media URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The signature does not match (a changed hash, type or expiry, or another key).
    #[error("the media URL's signature is wrong")]
    BadSignature,
    /// The URL's expiry has passed.
    #[error("the media URL has expired")]
    Expired,
}

/// Signs and checks media URLs.
#[derive(Clone)]
pub struct UrlSigner {
    secret: Secret,
    base_url: String,
    ttl_secs: u64,
}

impl UrlSigner {
    /// A signer for URLs under `base_url` (`http://host:port`) valid for `ttl_secs`.
    pub fn new(secret: Secret, base_url: &str, ttl_secs: u64) -> UrlSigner {
        UrlSigner {
            secret,
            base_url: base_url.trim_end_matches('/').to_owned(),
            ttl_secs,
        }
    }

    /// The URL of the file `hash`, served as `content_type`, signed at `now` (Unix
    /// seconds).
    pub fn url(&self, hash: &str, content_type: &str, now: u64) -> String {
        let expires = now + self.ttl_secs;
        let sig = self.signature(hash, content_type, expires);
        format!(
            "{}/v1/media/{hash}?ct={}&expires={expires}&sig={sig}",
            self.base_url,
            encode_component(content_type)
        )
    }

    /// Checks a URL's parts at `now` (Unix seconds).
    pub fn verify(
        &self,
        hash: &str,
        content_type: &str,
        expires: u64,
        sig: &str,
        now: u64,
    ) -> Result<(), SignError> {
        let Ok(sig) = hex::decode(sig) else {
            return Err(SignError::BadSignature);
        };
        self.mac(hash, content_type, expires)
            .verify_slice(&sig)
            .map_err(|_| SignError::BadSignature)?;
        if now > expires {
            return Err(SignError::Expired);
        }
        Ok(())
    }

    fn signature(&self, hash: &str, content_type: &str, expires: u64) -> String {
        hex::encode(
            self.mac(hash, content_type, expires)
                .finalize()
                .into_bytes(),
        )
    }

    fn mac(&self, hash: &str, content_type: &str, expires: u64) -> hmac::Hmac<Sha256> {
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(self.secret.expose().as_bytes())
            .expect("HMAC takes any key length");
        mac.update(format!("GET\n/v1/media/{hash}\n{content_type}\n{expires}").as_bytes());
        mac
    }
}

/// Events that waited in the outbox get their media links signed again when they are
/// delivered: a link this signer made (its path names a media file) is replaced by one
/// valid for the TTL from now, under the current base URL.
impl MediaLinkSigner for UrlSigner {
    fn refresh(&self, url: &str, content_type: &str) -> Option<String> {
        let path = url.split(['?', '#']).next()?;
        let (_, hash) = path.rsplit_once("/v1/media/")?;
        let is_hash = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        is_hash.then(|| self.url(hash, content_type, now))
    }
}

/// Percent-encodes a query value (media types carry `/`, `+` and `.`).
fn encode_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> UrlSigner {
        UrlSigner::new(Secret::new("0123456789abcdef"), "http://h:1/", 60)
    }

    fn parts(url: &str) -> (String, String, u64, String) {
        let (path, query) = url.split_once('?').unwrap();
        let hash = path.rsplit('/').next().unwrap().to_owned();
        let mut ct = String::new();
        let mut expires = 0;
        let mut sig = String::new();
        for kv in query.split('&') {
            let (k, v) = kv.split_once('=').unwrap();
            match k {
                "ct" => ct = v.replace("%2F", "/"),
                "expires" => expires = v.parse().unwrap(),
                "sig" => sig = v.to_owned(),
                _ => {}
            }
        }
        (hash, ct, expires, sig)
    }

    #[test]
    fn a_signed_url_verifies_until_it_expires() {
        let url = signer().url("ab12", "image/png", 1_000);
        assert!(url.starts_with("http://h:1/v1/media/ab12?ct=image%2Fpng&expires=1060&sig="));
        let (hash, ct, expires, sig) = parts(&url);
        assert_eq!(signer().verify(&hash, &ct, expires, &sig, 1_060), Ok(()));
        assert_eq!(
            signer().verify(&hash, &ct, expires, &sig, 1_061),
            Err(SignError::Expired)
        );
    }

    #[test]
    fn a_link_it_made_is_signed_again_and_others_are_left() {
        let hash = "ab".repeat(32);
        let old = signer().url(&hash, "image/png", 1_000);
        let fresh = signer().refresh(&old, "image/png").unwrap();
        let (got_hash, ct, expires, sig) = parts(&fresh);
        assert_eq!(
            (got_hash.as_str(), ct.as_str()),
            (hash.as_str(), "image/png")
        );
        assert!(
            expires > 1_060,
            "valid from now, not from when first signed"
        );
        assert_eq!(signer().verify(&hash, &ct, expires, &sig, expires), Ok(()));
        assert_eq!(
            signer().refresh("https://core/v1/media/x.png", "image/png"),
            None
        );
        assert_eq!(
            signer().refresh("https://core/photo.jpg", "image/png"),
            None
        );
    }

    #[test]
    fn any_change_breaks_the_signature() {
        let (hash, ct, expires, sig) = parts(&signer().url("ab12", "image/png", 1_000));
        let s = signer();
        assert_eq!(
            s.verify("ab13", &ct, expires, &sig, 0),
            Err(SignError::BadSignature)
        );
        assert_eq!(
            s.verify(&hash, "text/html", expires, &sig, 0),
            Err(SignError::BadSignature)
        );
        assert_eq!(
            s.verify(&hash, &ct, expires + 1, &sig, 0),
            Err(SignError::BadSignature)
        );
        assert_eq!(
            s.verify(&hash, &ct, expires, "zz", 0),
            Err(SignError::BadSignature)
        );
        let other = UrlSigner::new(Secret::new("another-key-0000"), "http://h:1", 60);
        assert_eq!(
            other.verify(&hash, &ct, expires, &sig, 0),
            Err(SignError::BadSignature)
        );
    }
}
