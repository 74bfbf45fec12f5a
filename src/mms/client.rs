//! The MM7 client: posts a SubmitReq to a carrier's MMSC (HTTP basic auth when
//! configured, a connect timeout and a timeout on the whole exchange), reads at most
//! `max_response_bytes` of the answer, and classifies every way it can end.
//!
//! The classes decide the dispatcher's next step, as for SMPP submits:
//! - transient: the MMSC did not take the message and may later (connection refused,
//!   HTTP 5xx/429 without an MM7 status, StatusCode 3000/4000/4006);
//! - permanent: it never will as it is (StatusCode 2xxx, most 3xxx and 4xxx, HTTP 4xx);
//! - unknown outcome: the request went out and no readable answer came back (a timeout
//!   after sending, an answer too long or unreadable). Sending again could deliver it
//!   twice, so the message is failed with that reason rather than retried.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, StatusCode};

use crate::config::Mmsc;
use crate::telemetry::error_chain;

/// What the client needs of a finished SubmitReq body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mm7Request {
    /// The full `Content-Type` header (multipart/related with its parameters, or
    /// text/xml for a SubmitReq without content).
    pub content_type: String,
    pub body: Bytes,
}

/// An MMSC's raw answer: its HTTP status and body (bounded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mm7Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

/// Whether the MMSC may take the message later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Not taken; trying again later may work.
    Transient,
    /// Not taken, and never will be as it is.
    Permanent,
    /// Perhaps taken: sending again could deliver it twice.
    UnknownOutcome,
}

/// Why a SubmitReq exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The HTTP client could not be built (TLS roots unavailable).
    #[error("cannot build the MM7 client: {0}")]
    Build(String),
    /// No connection: nothing was sent.
    #[error("cannot connect to the MMSC: {0}")]
    Connect(String),
    /// The request may have gone out, but no complete answer came within the timeout
    /// or the connection broke while waiting.
    #[error("no answer from the MMSC: {0}")]
    NoAnswer(String),
    /// The answer is longer than `max_response_bytes`.
    #[error("the MMSC's answer is longer than {0} bytes")]
    AnswerTooLong(usize),
    /// The answer is not a SubmitRsp or a fault with a status.
    #[error("unreadable answer from the MMSC (HTTP {status}): {reason}")]
    Unreadable { status: u16, reason: String },
    /// The MMSC answered with an MM7 status other than success.
    #[error("the MMSC refused the message: StatusCode {code} {text}")]
    Refused { code: u16, text: String },
    /// An HTTP error status without a readable MM7 status.
    #[error("the MMSC answered HTTP {0}")]
    Http(u16),
}

impl ClientError {
    /// How the dispatcher should treat it.
    pub fn retry(&self) -> Retry {
        match self {
            ClientError::Build(_) | ClientError::Connect(_) => Retry::Transient,
            ClientError::NoAnswer(_)
            | ClientError::AnswerTooLong(_)
            | ClientError::Unreadable { .. } => Retry::UnknownOutcome,
            ClientError::Refused { code, .. } => status_retry(*code),
            ClientError::Http(status) => match *status {
                408 | 429 | 500..=599 => Retry::Transient,
                _ => Retry::Permanent,
            },
        }
    }
}

/// How an MM7 StatusCode (REFERENCE §4) is treated: server and service troubles that
/// pass (3000 server error, 4000 service error, 4006 service unavailable) are
/// transient; client errors, refusals and denials are permanent.
pub fn status_retry(code: u16) -> Retry {
    match code {
        3000 | 4000 | 4006 => Retry::Transient,
        _ => Retry::Permanent,
    }
}

/// A client for one carrier's MMSC.
#[derive(Debug, Clone)]
pub struct Mm7Client {
    http: Client,
    mmsc: Mmsc,
}

impl Mm7Client {
    /// A client for `mmsc` (its timeouts, credentials and answer limit).
    pub fn new(mmsc: &Mmsc) -> Result<Self, ClientError> {
        let http = Client::builder()
            .connect_timeout(mmsc.connect_timeout)
            // An MMSC answers where it was asked; a redirect would resend the content.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))?;
        Ok(Mm7Client {
            http,
            mmsc: mmsc.clone(),
        })
    }

    /// The MMSC this client posts to.
    pub fn mmsc(&self) -> &Mmsc {
        &self.mmsc
    }

    /// Posts `request` and reads the answer, whatever its HTTP status (an MMSC answers
    /// a refusal as a SOAP fault with HTTP 500, and its StatusCode decides).
    pub async fn post(&self, request: Mm7Request) -> Result<Mm7Answer, ClientError> {
        let mut builder = self
            .http
            .post(&self.mmsc.url)
            .header(CONTENT_TYPE, request.content_type)
            .header("SOAPAction", "\"\"")
            .body(request.body);
        if let Some(user) = &self.mmsc.username {
            let password = self.mmsc.password.as_ref().map(|p| p.expose());
            builder = builder.basic_auth(user, password);
        }
        let exchange = async {
            let mut response = builder.send().await.map_err(|e| {
                if e.is_connect() {
                    ClientError::Connect(error_chain(&e))
                } else {
                    ClientError::NoAnswer(error_chain(&e))
                }
            })?;
            let status = response.status();
            let limit = self.mmsc.max_response_bytes;
            let mut body = BytesMut::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| ClientError::NoAnswer(error_chain(&e)))?
            {
                if body.len() + chunk.len() > limit {
                    return Err(ClientError::AnswerTooLong(limit));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Mm7Answer {
                status,
                body: body.freeze(),
            })
        };
        tokio::time::timeout(self.mmsc.submit_timeout, exchange)
            .await
            .unwrap_or_else(|_| Err(no_answer_within(self.mmsc.submit_timeout)))
    }
}

fn no_answer_within(timeout: Duration) -> ClientError {
    ClientError::NoAnswer(format!("nothing complete within {timeout:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_that_pass_are_retried_the_rest_are_final() {
        assert_eq!(status_retry(4006), Retry::Transient);
        assert_eq!(status_retry(3000), Retry::Transient);
        assert_eq!(status_retry(2004), Retry::Permanent);
        assert_eq!(status_retry(3002), Retry::Permanent);
        assert_eq!(status_retry(4001), Retry::Permanent);
        assert_eq!(ClientError::Http(503).retry(), Retry::Transient);
        assert_eq!(ClientError::Http(401).retry(), Retry::Permanent);
        assert_eq!(
            ClientError::NoAnswer("reset".into()).retry(),
            Retry::UnknownOutcome
        );
        assert_eq!(
            ClientError::Connect("refused".into()).retry(),
            Retry::Transient
        );
    }
}
