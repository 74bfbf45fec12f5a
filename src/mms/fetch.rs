//! Fetching an MT's attachments from the URLs the core gave: `http` and `https`
//! only (redirects too), a timeout per attachment, and the size limit enforced while
//! the body streams in — a `Content-Length` over the limit is refused before reading,
//! and a body without one is cut off at the first chunk past it. The content type is
//! the one declared in the request or, failing that, the server's; it must be allowed
//! and must agree with the server's when both are given, and the bytes must be what the
//! type says (the inbound side's [`MediaPolicy`]: magic bytes, images cut short).
//!
//! Only public addresses and what `[mms] fetch_allow` names are reached, the URL's and
//! every redirect's ([`super::fetch_guard`]); the client takes no proxy from the
//! environment, since a proxy would connect where the guard did not look.
//!
//! Each failure says whether trying later can help ([`FetchError::is_transient`]): a
//! server error or a timeout may pass, an oversized file will not.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{Client, StatusCode, Url, redirect};

use super::fetch_guard::{FetchGuard, Forbidden};
use super::media::{MediaPolicy, Rejection};
use super::mm7::BodyPart;
use crate::config::FetchAllow;
use crate::flow::mt_media::MediaItem;
use crate::reason::ReasonCode;
use crate::telemetry::error_chain;

/// Redirects followed at most.
const MAX_REDIRECTS: usize = 5;

/// An attachment fetched and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedMedia {
    /// The content type it goes out with (no parameters, lower case).
    pub content_type: String,
    /// The name the handset shows: the declared one, else the URL's last path segment.
    pub filename: Option<String>,
    pub body: Bytes,
}

/// Why an attachment could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL is not an `http` or `https` URL (or a redirect led elsewhere).
    #[error("{0} is not an http(s) URL")]
    BadUrl(String),
    /// The URL, or a redirect from it, leads where fetches may not go; refused before
    /// any connection to there.
    #[error("{url} may not be fetched")]
    Forbidden {
        url: String,
        #[source]
        cause: Forbidden,
    },
    /// Connecting, sending or reading failed, or the timeout passed.
    #[error("cannot fetch {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The server answered with an error status.
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    /// The attachment is larger than the bytes left for it.
    #[error("{url} is larger than the {limit} bytes allowed")]
    TooLarge { url: String, limit: usize },
    /// The attachment is empty.
    #[error("{url} is empty")]
    Empty { url: String },
    /// Neither the request nor the server names a content type.
    #[error("{url} has no content type")]
    NoContentType { url: String },
    /// The content type is not one MMS may carry here.
    #[error("{url} is {content_type}, which MMS does not carry here")]
    TypeNotAllowed { url: String, content_type: String },
    /// The bytes are not what the type says ([`Rejection::TypeMismatch`]), or are
    /// damaged, an image cut short ([`Rejection::Corrupt`]).
    #[error("{url} is not a valid {content_type} file ({})", problem(*.rejection))]
    BadContent {
        url: String,
        content_type: String,
        rejection: Rejection,
    },
    /// The server serves another type than the one declared.
    #[error("{url} was declared {declared} but is served as {served}")]
    TypeMismatch {
        url: String,
        declared: String,
        served: String,
    },
}

impl FetchError {
    /// Whether a later attempt may succeed (network trouble, 5xx, 408, 429).
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Unreachable { .. } => true,
            FetchError::Status { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            _ => false,
        }
    }

    /// The reason code a failed message carries (messages accepted before attachments
    /// were kept at acceptance, whose attachments are fetched when sent).
    pub fn reason(&self) -> ReasonCode {
        match self {
            FetchError::TooLarge { .. } => ReasonCode::MediaTooLarge,
            FetchError::TypeNotAllowed { .. }
            | FetchError::TypeMismatch { .. }
            | FetchError::NoContentType { .. } => ReasonCode::MediaTypeNotAllowed,
            FetchError::BadContent { .. } => ReasonCode::MediaCorrupt,
            FetchError::Forbidden { .. } => ReasonCode::MediaUrlForbidden,
            _ => ReasonCode::MediaUnavailable,
        }
    }
}

/// Fetches attachments with one HTTP client (connection reuse across attachments).
#[derive(Debug, Clone)]
pub struct MediaFetcher {
    client: Client,
    /// Checks the URL given; the client's resolver and redirect policy hold the rest.
    guard: FetchGuard,
    timeout: Duration,
}

impl MediaFetcher {
    /// A fetcher whose every fetch ends within `timeout` and reaches only public
    /// addresses and what `allow` names.
    pub fn new(timeout: Duration, allow: FetchAllow) -> Result<Self, reqwest::Error> {
        let guard = FetchGuard::new(allow);
        let resolver = guard.resolver();
        let client = Client::builder()
            .redirect(redirect_policy(guard.clone()))
            .dns_resolver(resolver)
            .no_proxy()
            .connect_timeout(timeout)
            .build()?;
        Ok(MediaFetcher {
            client,
            guard,
            timeout,
        })
    }

    /// Fetches `media` (its `url`), refusing it past `limit` bytes, when `policy` does
    /// not allow its type, or when its bytes are not that type.
    pub async fn fetch(
        &self,
        media: &MediaItem,
        limit: usize,
        policy: &MediaPolicy,
    ) -> Result<FetchedMedia, FetchError> {
        let given = media.url.as_deref().unwrap_or_default();
        let url = Url::parse(given)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| FetchError::BadUrl(given.to_owned()))?;
        let shown = redacted(&url);
        let forbidden = |cause: Forbidden| FetchError::Forbidden {
            url: shown.clone(),
            cause,
        };
        // An address written in the URL is connected to without the resolver: checked
        // here, before anything is sent.
        self.guard.check_url(&url).map_err(forbidden)?;
        let unreachable = |e: reqwest::Error| FetchError::Unreachable {
            url: shown.clone(),
            reason: error_chain(&e),
        };
        let fetch = async {
            let mut response = self.client.get(url.clone()).send().await.map_err(|e| {
                // Refused by the resolver or the redirect policy.
                if let Some(cause) = Forbidden::in_chain(&e) {
                    forbidden(cause.clone())
                // A redirect the policy refused will not be followed next time either.
                } else if e.is_redirect() {
                    FetchError::BadUrl(format!("{shown} (redirected: {})", error_chain(&e)))
                } else {
                    unreachable(e)
                }
            })?;
            if response.status() != StatusCode::OK {
                return Err(FetchError::Status {
                    url: shown.clone(),
                    status: response.status().as_u16(),
                });
            }
            let served = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(essence);
            let content_type = content_type_of(&shown, media, served.as_deref(), policy)?;
            let too_large = || FetchError::TooLarge {
                url: shown.clone(),
                limit,
            };
            let announced = response
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            if announced.is_some_and(|n| n > limit as u64) {
                return Err(too_large());
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
                if body.len() + chunk.len() > limit {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            if body.is_empty() {
                return Err(FetchError::Empty { url: shown.clone() });
            }
            let fetched = FetchedMedia {
                content_type,
                filename: media.filename.clone().or_else(|| filename_of(&url)),
                body: body.freeze(),
            };
            check_content(&shown, &fetched, policy)?;
            Ok(fetched)
        };
        tokio::time::timeout(self.timeout, fetch)
            .await
            .unwrap_or_else(|_| {
                Err(FetchError::Unreachable {
                    url: shown.clone(),
                    reason: format!("no complete answer within {:?}", self.timeout),
                })
            })
    }
}

/// Redirects: at most [`MAX_REDIRECTS`], to http(s) only, and never to an address
/// `guard` refuses (a name is left to the resolver, which checks what it resolves to).
fn redirect_policy(guard: FetchGuard) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else if !matches!(attempt.url().scheme(), "http" | "https") {
            attempt.error("redirect to a scheme other than http(s)")
        } else if let Err(forbidden) = guard.check_url(attempt.url()) {
            attempt.error(forbidden)
        } else {
            attempt.follow()
        }
    })
}

/// The bytes against their type, as the inbound side checks a customer's attachment.
fn check_content(url: &str, media: &FetchedMedia, policy: &MediaPolicy) -> Result<(), FetchError> {
    let part = BodyPart {
        content_type: Some(media.content_type.clone()),
        content_id: None,
        content_location: None,
        filename: media.filename.clone(),
        body: media.body.clone(),
        size: media.body.len() as u64,
        oversized: false,
    };
    // The size was the route's to decide while reading; only the content is checked.
    let unbounded = MediaPolicy {
        max_part_bytes: u64::MAX,
        ..policy.clone()
    };
    match unbounded.check(&part) {
        Ok(_) => Ok(()),
        Err(Rejection::TypeNotAllowed) => Err(FetchError::TypeNotAllowed {
            url: url.to_owned(),
            content_type: media.content_type.clone(),
        }),
        Err(rejection) => Err(FetchError::BadContent {
            url: url.to_owned(),
            content_type: media.content_type.clone(),
            rejection,
        }),
    }
}

/// What is wrong with content its type check refused.
fn problem(rejection: Rejection) -> &'static str {
    match rejection {
        Rejection::TypeMismatch => "its content is another type",
        _ => "it is damaged or cut short",
    }
}

/// The content type an attachment goes out with.
fn content_type_of(
    url: &str,
    media: &MediaItem,
    served: Option<&str>,
    policy: &MediaPolicy,
) -> Result<String, FetchError> {
    let declared = media.content_type.as_deref().map(essence);
    // A server that does not know better says octet-stream; the declared type stands.
    let served = served.filter(|s| *s != "application/octet-stream");
    let content_type = match (declared, served) {
        (Some(d), Some(s)) if d != s => {
            return Err(FetchError::TypeMismatch {
                url: url.to_owned(),
                declared: d,
                served: s.to_owned(),
            });
        }
        (Some(d), _) => d,
        (None, Some(s)) => s.to_owned(),
        (None, None) => {
            return Err(FetchError::NoContentType {
                url: url.to_owned(),
            });
        }
    };
    if !policy.allows(&content_type) {
        return Err(FetchError::TypeNotAllowed {
            url: url.to_owned(),
            content_type,
        });
    }
    Ok(content_type)
}

/// `type/subtype` without parameters, lower case.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The URL's last path segment, when it looks like a file name.
fn filename_of(url: &Url) -> Option<String> {
    let last = url.path_segments()?.next_back()?;
    (!last.is_empty() && last.len() <= 255 && !last.contains(['"', '\\'])).then(|| last.to_owned())
}

/// The URL without its query and credentials: signed URLs carry their signature in the
/// query, and errors end up in logs and transcripts.
fn redacted(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(content_type: Option<&str>) -> MediaItem {
        MediaItem {
            url: Some("https://core.example/files/a.jpg?sig=secret".into()),
            content_type: content_type.map(str::to_owned),
            ..MediaItem::default()
        }
    }

    fn allowed() -> MediaPolicy {
        MediaPolicy {
            allowed: vec!["image/jpeg".into(), "image/png".into()],
            max_part_bytes: u64::MAX,
        }
    }

    /// A JPEG of `len` bytes that passes the content check: signature, filler, end marker.
    fn jpeg(len: usize) -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
        bytes.resize(len - 2, 0x11);
        bytes.extend_from_slice(&[0xFF, 0xD9]);
        bytes
    }

    #[test]
    fn the_declared_type_must_agree_with_the_served_one() {
        let m = media(Some("image/jpeg"));
        assert_eq!(
            content_type_of("u", &m, Some("image/jpeg"), &allowed()).unwrap(),
            "image/jpeg"
        );
        assert_eq!(
            content_type_of("u", &m, Some("application/octet-stream"), &allowed()).unwrap(),
            "image/jpeg"
        );
        assert!(matches!(
            content_type_of("u", &m, Some("image/png"), &allowed()),
            Err(FetchError::TypeMismatch { .. })
        ));
        assert!(matches!(
            content_type_of("u", &media(None), Some("application/zip"), &allowed()),
            Err(FetchError::TypeNotAllowed { .. })
        ));
        assert!(matches!(
            content_type_of("u", &media(None), None, &allowed()),
            Err(FetchError::NoContentType { .. })
        ));
    }

    #[test]
    fn errors_never_show_the_query_or_credentials() {
        let url = Url::parse("https://user:pw@core.example/files/a.jpg?sig=secret").unwrap();
        assert_eq!(redacted(&url), "https://core.example/files/a.jpg");
        assert_eq!(filename_of(&url).as_deref(), Some("a.jpg"));
    }

    /// A media server on loopback: `/a.jpg` (4 KiB with a Content-Length), `/stream.jpg`
    /// (64 KiB in 1 KiB chunks, no Content-Length), `/busy` (503), `/to-file` (a
    /// redirect to a file: URL), `/to-metadata` (a redirect to the cloud metadata
    /// service's address).
    async fn server() -> std::net::SocketAddr {
        use axum::body::Body;
        use axum::http::{StatusCode, header};
        use axum::response::IntoResponse;
        use axum::routing::get;
        let app = axum::Router::new()
            .route(
                "/a.jpg",
                get(|| async { ([(header::CONTENT_TYPE, "image/jpeg")], jpeg(4096)) }),
            )
            .route(
                "/stream.jpg",
                get(|| async {
                    let whole = jpeg(65_536);
                    let chunks: Vec<_> = whole
                        .chunks(1024)
                        .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
                        .collect();
                    let body = Body::from_stream(futures_util::stream::iter(chunks));
                    ([(header::CONTENT_TYPE, "image/jpeg")], body)
                }),
            )
            .route("/busy", get(|| async { StatusCode::SERVICE_UNAVAILABLE }))
            .route(
                "/to-file",
                get(|| async {
                    (
                        StatusCode::FOUND,
                        [(header::LOCATION, "file:///etc/passwd")],
                    )
                        .into_response()
                }),
            )
            .route(
                "/to-metadata",
                get(|| async {
                    (
                        StatusCode::FOUND,
                        [(header::LOCATION, "http://169.254.169.254/latest/meta-data/")],
                    )
                        .into_response()
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    /// A fetcher allowed to reach the test's server on loopback.
    fn fetcher() -> MediaFetcher {
        let allow = FetchAllow {
            networks: vec!["127.0.0.0/8".parse().unwrap()],
            hosts: Vec::new(),
        };
        MediaFetcher::new(Duration::from_secs(30), allow).unwrap()
    }

    fn at(addr: std::net::SocketAddr, path: &str) -> MediaItem {
        MediaItem {
            url: Some(format!("http://{addr}{path}")),
            ..MediaItem::default()
        }
    }

    #[tokio::test]
    async fn limits_hold_with_and_without_a_content_length() {
        let addr = server().await;
        let fetcher = fetcher();
        let got = fetcher
            .fetch(&at(addr, "/a.jpg"), 4096, &allowed())
            .await
            .unwrap();
        assert_eq!(got.body.len(), 4096);
        assert_eq!(got.content_type, "image/jpeg");
        assert_eq!(got.filename.as_deref(), Some("a.jpg"));
        let announced = fetcher.fetch(&at(addr, "/a.jpg"), 4095, &allowed()).await;
        assert!(matches!(
            announced,
            Err(FetchError::TooLarge { limit: 4095, .. })
        ));
        let streamed = fetcher
            .fetch(&at(addr, "/stream.jpg"), 10_000, &allowed())
            .await;
        assert!(
            matches!(streamed, Err(FetchError::TooLarge { .. })),
            "{streamed:?}"
        );
        let whole = fetcher
            .fetch(&at(addr, "/stream.jpg"), 65_536, &allowed())
            .await
            .unwrap();
        assert_eq!(whole.body.len(), 65_536);
    }

    #[tokio::test]
    async fn server_errors_are_transient_and_other_schemes_refused() {
        let addr = server().await;
        let fetcher = fetcher();
        let busy = fetcher
            .fetch(&at(addr, "/busy"), 1024, &allowed())
            .await
            .unwrap_err();
        assert!(busy.is_transient(), "{busy}");
        // Never followed: refused by the policy, or left as the redirect it is.
        let redirected = fetcher
            .fetch(&at(addr, "/to-file"), 1024, &allowed())
            .await
            .unwrap_err();
        assert!(!redirected.is_transient(), "{redirected}");
        let mut file = at(addr, "/a.jpg");
        file.url = Some("file:///etc/passwd".into());
        let refused = fetcher.fetch(&file, 1024, &allowed()).await;
        assert!(matches!(refused, Err(FetchError::BadUrl(_))), "{refused:?}");
    }

    /// Without `[mms] fetch_allow`, the server on loopback is out of reach by address
    /// and by name; with it, a redirect still may not lead to another inside address.
    #[tokio::test]
    async fn inside_addresses_are_refused_by_address_and_by_name() {
        let addr = server().await;
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let public_only =
            MediaFetcher::new(Duration::from_secs(30), FetchAllow::default()).unwrap();
        let mut answers = Vec::new();
        for target in [addr, closed] {
            for url in [
                format!("http://{target}/a.jpg"),
                format!("http://localhost:{}/a.jpg", target.port()),
            ] {
                let item = MediaItem {
                    url: Some(url.clone()),
                    ..MediaItem::default()
                };
                let refused = public_only
                    .fetch(&item, 4096, &allowed())
                    .await
                    .unwrap_err();
                assert!(
                    matches!(refused, FetchError::Forbidden { .. }),
                    "{url}: {refused:?}"
                );
                assert!(!refused.is_transient());
                assert_eq!(refused.reason(), ReasonCode::MediaUrlForbidden);
                answers.push(error_chain(&refused).replace(&target.port().to_string(), "PORT"));
            }
        }
        // Whether or not a server listens there, the answer is the same.
        assert_eq!(answers[..2], answers[2..]);
        let redirected = fetcher()
            .fetch(&at(addr, "/to-metadata"), 4096, &allowed())
            .await
            .unwrap_err();
        match &redirected {
            FetchError::Forbidden { url, cause } => {
                assert!(url.ends_with("/to-metadata"), "{url}");
                assert!(
                    matches!(cause, Forbidden::Address { ip, .. } if ip.to_string() == "169.254.169.254"),
                    "{cause}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_passing_troubles_are_transient() {
        let status = |status| FetchError::Status {
            url: "u".into(),
            status,
        };
        assert!(status(503).is_transient());
        assert!(status(429).is_transient());
        assert!(!status(404).is_transient());
        let too_large = FetchError::TooLarge {
            url: "u".into(),
            limit: 10,
        };
        assert!(!too_large.is_transient());
        assert_eq!(too_large.reason(), ReasonCode::MediaTooLarge);
    }
}
