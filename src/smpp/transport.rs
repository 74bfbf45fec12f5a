//! Connections to an SMSC: plain TCP or TLS (tokio-rustls) with a custom CA, an SNI name
//! and an optional client certificate.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// The read half of a connection.
pub type ReadHalf = Box<dyn AsyncRead + Unpin + Send>;
/// The write half of a connection.
pub type WriteHalf = Box<dyn AsyncWrite + Unpin + Send>;

/// What the TLS client needs, as files on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM file of CA certificates to trust; the webpki roots when absent.
    pub ca_file: Option<PathBuf>,
    /// The name to send as SNI and to check the certificate against.
    pub server_name: String,
    /// PEM client certificate chain, for carriers that require mutual TLS.
    pub client_cert_file: Option<PathBuf>,
    /// PEM private key of the client certificate.
    pub client_key_file: Option<PathBuf>,
}

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// TCP connect failed (refused, unreachable, …).
    #[error("connect to {addr}: {source}")]
    Connect {
        /// host:port.
        addr: String,
        /// The socket error.
        source: io::Error,
    },
    /// TCP connect or the TLS handshake took longer than the connect timeout.
    #[error("connect to {0} timed out")]
    Timeout(String),
    /// The TLS handshake failed (untrusted certificate, wrong name, …).
    #[error("tls handshake with {addr}: {source}")]
    Handshake {
        /// host:port.
        addr: String,
        /// The TLS error.
        source: io::Error,
    },
    /// A certificate, key or CA file could not be read or parsed.
    #[error("tls file {path}: {reason}")]
    TlsFile {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The server name is not a valid DNS name or IP address.
    #[error("invalid tls server name {0:?}")]
    ServerName(String),
    /// rustls refused the configuration (key does not match the certificate, …).
    #[error("tls configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// A prepared TLS client: configuration and server name.
#[derive(Clone)]
pub struct TlsClient {
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

impl TlsClient {
    /// Loads the CA, client certificate and key named in `files`.
    pub fn from_files(files: &TlsFiles) -> Result<Self, ConnectError> {
        let mut roots = RootCertStore::empty();
        match &files.ca_file {
            Some(path) => {
                for cert in read_certs(path)? {
                    roots.add(cert).map_err(|err| tls_file(path, err))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let builder = ClientConfig::builder().with_root_certificates(roots);
        let config = match (&files.client_cert_file, &files.client_key_file) {
            (Some(cert), Some(key)) => {
                let chain = read_certs(cert)?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|err| tls_file(key, err))?;
                builder.with_client_auth_cert(chain, key)?
            }
            _ => builder.with_no_client_auth(),
        };
        let server_name = ServerName::try_from(files.server_name.clone())
            .map_err(|_| ConnectError::ServerName(files.server_name.clone()))?;
        Ok(Self {
            connector: TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }
}

fn tls_file(path: &Path, err: impl std::fmt::Display) -> ConnectError {
    ConnectError::TlsFile {
        path: path.to_path_buf(),
        reason: err.to_string(),
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConnectError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|err| tls_file(path, err))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| tls_file(path, err))?;
    if certs.is_empty() {
        return Err(tls_file(path, "no certificate in file"));
    }
    Ok(certs)
}

/// Connects to `host:port`, over TLS when `tls` is given, within `timeout` (TCP connect
/// and handshake together).
pub async fn connect(
    host: &str,
    port: u16,
    tls: Option<&TlsClient>,
    timeout: Duration,
) -> Result<(ReadHalf, WriteHalf), ConnectError> {
    let addr = format!("{host}:{port}");
    let attempt = async {
        let tcp =
            TcpStream::connect((host, port))
                .await
                .map_err(|source| ConnectError::Connect {
                    addr: addr.clone(),
                    source,
                })?;
        // SMPP PDUs are small and latency-sensitive; the session batches its writes.
        let _ = tcp.set_nodelay(true);
        match tls {
            None => {
                let (read, write) = tcp.into_split();
                Ok::<(ReadHalf, WriteHalf), ConnectError>((Box::new(read), Box::new(write)))
            }
            Some(tls) => {
                let stream = tls
                    .connector
                    .connect(tls.server_name.clone(), tcp)
                    .await
                    .map_err(|source| ConnectError::Handshake {
                        addr: addr.clone(),
                        source,
                    })?;
                let (read, write) = tokio::io::split(stream);
                let halves: (ReadHalf, WriteHalf) = (Box::new(read), Box::new(write));
                Ok(halves)
            }
        }
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| ConnectError::Timeout(addr.clone()))?
}
