//! Starting the MMS side: the media store, the URL signer, the MO MMS flow and the MM7
//! listener (plain HTTP, or HTTPS with `[mms.tls]`), all stopped by the daemon's drain
//! token. What it hands back — the media route, which goes on the API listener, and the
//! keeper of MT attachments, which the API's intake uses — serves the core.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

use super::endpoint::{Endpoint, router};
use super::keep::MtMediaKeeper;
use super::media::{self, MediaRoute, MediaStore, UrlSigner};
use super::report_sink::Mm7ReportSink;
use crate::config::{Config, MmsTls};
use crate::connector::Outbox;
use crate::flow::FlowOptions;
use crate::flow::keywords::ConsentKeywords;
use crate::flow::mms_inbound::MmsMoFlow;
use crate::listener::{HttpListener, ListenerName};
use crate::store::Store;

/// Why the MMS side cannot start.
#[derive(Debug, thiserror::Error)]
pub enum MmsError {
    /// The media directory cannot be created or read.
    #[error("cannot open the media store at {path}: {source}")]
    MediaDir { path: PathBuf, source: io::Error },
    /// The MM7 listener cannot bind its address.
    #[error("cannot listen for MM7 on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    /// `[mms] url_secret` is missing (the configuration check requires it when MMS is
    /// enabled; this guards callers that skip the check).
    #[error("[mms] url_secret is required")]
    NoSecret,
    /// The HTTP client that fetches MT attachments cannot be built.
    #[error("cannot build the attachment fetcher: {0}")]
    Fetcher(String),
    /// A `[mms.tls]` file cannot be read or holds no usable certificate or key.
    #[error("[mms.tls] {path}: {reason}")]
    TlsFile { path: PathBuf, reason: String },
    /// rustls refused the certificate and key (they do not match, …).
    #[error("[mms.tls]: {0}")]
    Tls(#[from] rustls::Error),
}

/// The running MMS side.
pub struct MmsService {
    /// `GET /v1/media/{hash}`, for the API listener.
    pub media_routes: Router,
    /// The MM7 listener's address.
    pub local_addr: SocketAddr,
    /// Fetches, checks and keeps MT attachments (`POST /v1/messages`, `POST /v1/media`).
    pub keeper: Arc<MtMediaKeeper>,
}

/// The media store and the signer of its URLs, shared by the MM7 endpoint, the media
/// route, the API's message views, event delivery and the media purge.
#[derive(Clone)]
pub struct Media {
    pub store: MediaStore,
    pub signer: UrlSigner,
}

/// Opens the media store and builds the URL signer of `[mms]`; `None` when MMS is
/// disabled. `api_addr` is the API listener's bound address: media URLs point there
/// unless `[mms] media_base_url` says otherwise.
pub fn open_media(config: &Config, api_addr: SocketAddr) -> Result<Option<Media>, MmsError> {
    let mms = &config.mms;
    if !mms.enabled {
        return Ok(None);
    }
    let store = MediaStore::open(&mms.media_dir).map_err(|source| MmsError::MediaDir {
        path: mms.media_dir.clone(),
        source,
    })?;
    let secret = mms.url_secret.clone().ok_or(MmsError::NoSecret)?;
    let base_url = mms
        .media_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{api_addr}"));
    let signer = UrlSigner::new(secret, &base_url, mms.url_ttl.as_secs());
    Ok(Some(Media { store, signer }))
}

/// What the MMS side is built from.
pub struct MmsParts<S> {
    pub store: S,
    pub live: watch::Receiver<Arc<Config>>,
    pub outbox: Outbox,
    pub options: FlowOptions,
    pub reports: Arc<dyn Mm7ReportSink>,
    /// The media store and signer ([`open_media`]).
    pub media: Media,
    /// How consent keywords are read (as in SMS).
    pub keywords: ConsentKeywords,
    /// The MT dispatcher's wake-up, for keyword replies.
    pub dispatcher: Arc<tokio::sync::Notify>,
}

/// Starts the MM7 listener on `tracker` until `drain` fires; the media route for the
/// API listener and the keeper of MT attachments.
pub async fn start<S: Store>(
    config: &Config,
    parts: MmsParts<S>,
    drain: CancellationToken,
    tracker: &TaskTracker,
) -> Result<MmsService, MmsError> {
    let mms = &config.mms;
    let Media {
        store: media,
        signer,
    } = parts.media;
    let keeper = MtMediaKeeper::new(parts.live.clone(), media.clone(), signer.clone())
        .map_err(|e| MmsError::Fetcher(e.to_string()))?;
    let flow = MmsMoFlow::new(
        parts.store,
        parts.live.clone(),
        parts.outbox,
        parts.options,
        parts.keywords,
        parts.dispatcher,
    );
    let endpoint = Arc::new(Endpoint {
        config: parts.live,
        flow,
        media: media.clone(),
        signer: signer.clone(),
        reports: parts.reports,
        slots: Semaphore::new(mms.max_concurrent_requests),
    });
    let tcp = TcpListener::bind(mms.listen)
        .await
        .map_err(|source| MmsError::Bind {
            addr: mms.listen,
            source,
        })?;
    let mut listener = HttpListener::new(tcp, ListenerName::Mm7, mms.connections);
    if let Some(tls) = &mms.tls {
        listener = listener.with_tls(acceptor(tls)?);
    }
    let local_addr = listener.local_addr().map_err(|source| MmsError::Bind {
        addr: mms.listen,
        source,
    })?;
    tracker.spawn(listener.serve(router(endpoint), drain));
    info!(listen = %local_addr, tls = mms.tls.is_some(), "MM7 endpoint listening");
    Ok(MmsService {
        media_routes: media::routes(MediaRoute {
            store: media,
            signer,
        }),
        local_addr,
        keeper: Arc::new(keeper),
    })
}

fn acceptor(tls: &MmsTls) -> Result<TlsAcceptor, MmsError> {
    let file_error = |path: &Path, reason: String| MmsError::TlsFile {
        path: path.to_path_buf(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(&tls.cert_file)
        .map_err(|e| file_error(&tls.cert_file, e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(&tls.cert_file, e.to_string()))?;
    if chain.is_empty() {
        return Err(file_error(&tls.cert_file, "no certificate in file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key_file)
        .map_err(|e| file_error(&tls.key_file, e.to_string()))?;
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
