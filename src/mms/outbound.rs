//! MT MMS: the dispatcher's [`MmsSubmitter`]. For each attempt it reads the
//! attachments kept in the media store when the message was accepted (`mms::keep`),
//! builds the SubmitReq, posts it to the route's MMSC and reads the MessageID from the
//! SubmitRsp. Every failure becomes a reason code, transient or permanent, for the
//! dispatcher to retry or fail the message; what went wrong in detail is logged here.
//!
//! A message accepted before attachments were kept at acceptance names only the core's
//! URLs; those are fetched at each attempt, within the size the route allows the
//! sender's kind (the text counted in).
//!
//! The configuration in force is read at each attempt, so a reload that changes an
//! MMSC's URL, credentials or limits applies to the next attempt; the HTTP client of a
//! carrier is rebuilt when its MMSC settings change.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::watch;
use tracing::{debug, warn};

use super::client::{ClientError, Mm7Client, Retry};
use super::fetch::{FetchError, FetchedMedia, MediaFetcher};
use super::media::{MediaPolicy, MediaStore};
use super::mm7::{Address, DeliveryReport, Mm7Version, MmStatus};
use super::report_sink::{Mm7ReportSink, ReportSinkError};
use super::submit::{SubmitReq, read_submit_rsp};
use crate::carrier::BoxFuture;
use crate::config::{self, Config, Mmsc};
use crate::connector::{Outbox, new_id};
use crate::flow::mms_outbound::{
    MmsDelivery, MmsErrorClass, MmsOut, MmsRefusal, MmsReports, MmsSubmitter, mmsc_of,
};
use crate::flow::mt_media::MediaItem;
use crate::number::SenderKind;
use crate::reason::ReasonCode;
use crate::store::{MediaRef, ReceiptApplied, Store};

/// Counter: SubmitReq exchanges by `carrier` and `result` (`sent`, `refused`,
/// `transient`, `unknown_outcome`, `media_refused`, `media_unavailable`).
pub const MMS_SUBMITS_TOTAL: &str = "smsbridge_mms_submits_total";
/// Histogram: seconds from reading the attachments to the SubmitRsp, by `carrier`.
pub const MMS_SUBMIT_SECONDS: &str = "smsbridge_mms_submit_seconds";
/// Counter: attachment fetches for MTs by `result` (`fetched`, `too_large`,
/// `type_refused`, `corrupt`, `forbidden`, `unavailable`, `unreachable`).
pub const MMS_MEDIA_FETCHES_TOTAL: &str = "smsbridge_mms_mt_media_fetches_total";
/// Counter: uploads (`POST /v1/media`) by `result` (`kept`, `too_large`,
/// `type_not_allowed`, `content_type_mismatch`, `corrupt`).
pub const MMS_UPLOADS_TOTAL: &str = "smsbridge_mms_uploads_total";

/// Describes the MT MMS metrics.
pub fn describe() {
    metrics::describe_counter!(MMS_SUBMITS_TOTAL, "MM7 SubmitReq exchanges by result.");
    metrics::describe_histogram!(
        MMS_SUBMIT_SECONDS,
        metrics::Unit::Seconds,
        "Time to read an MT MMS's attachments and submit it."
    );
    metrics::describe_counter!(
        MMS_MEDIA_FETCHES_TOTAL,
        "Attachment fetches for MTs by result."
    );
    metrics::describe_counter!(MMS_UPLOADS_TOTAL, "Attachment uploads by result.");
}

/// Submits MT MMS to the carriers' MMSCs.
pub struct MmsOutbound {
    config: watch::Receiver<Arc<Config>>,
    /// Where the attachments were kept at acceptance; `None` when no media store runs.
    media: Option<MediaStore>,
    fetcher: MediaFetcher,
    clients: Mutex<HashMap<String, Mm7Client>>,
}

impl MmsOutbound {
    /// The submitter over the configuration in force, reading attachments from
    /// `media`; attachments only named by URL are fetched within `[mms] fetch_timeout`
    /// each, from public addresses and `[mms] fetch_allow` only.
    pub fn new(
        config: watch::Receiver<Arc<Config>>,
        media: Option<MediaStore>,
    ) -> Result<Self, ClientError> {
        let fetcher = {
            let mms = &config.borrow().mms;
            MediaFetcher::new(mms.fetch_timeout, mms.fetch_allow.clone())
                .map_err(|e| ClientError::Build(e.to_string()))?
        };
        Ok(MmsOutbound {
            config,
            media,
            fetcher,
            clients: Mutex::new(HashMap::new()),
        })
    }

    /// The client of carrier `route`, rebuilt when its MMSC settings changed.
    fn client(&self, route: &str, mmsc: &Mmsc) -> Result<Mm7Client, ClientError> {
        // Replaced whole or not at all: a poisoned map is still consistent.
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(route).filter(|c| c.mmsc() == mmsc) {
            return Ok(client.clone());
        }
        let client = Mm7Client::new(mmsc)?;
        clients.insert(route.to_owned(), client.clone());
        Ok(client)
    }

    async fn submit_one(&self, mms: MmsOut) -> Result<String, MmsRefusal> {
        let config = self.config.borrow().clone();
        let Some(mmsc) = mmsc_of(&config, &mms.route) else {
            warn!(
                message = %mms.message_id,
                carrier = %mms.route,
                "an MMS's carrier has no MMSC configured"
            );
            return Err(permanent(ReasonCode::NoRoute));
        };
        let started = Instant::now();
        let media = self.attachments(&mms, mmsc, &config.mms).await?;
        let request = SubmitReq {
            version: match mmsc.version {
                config::Mm7Version::Rel5 => Mm7Version::Rel5,
                config::Mm7Version::Rel6 => Mm7Version::Rel6,
            },
            transaction_id: new_id(),
            vasp_id: mmsc.vasp_id.clone(),
            vas_id: mmsc.vas_id.clone(),
            sender: match mms.sender_kind {
                SenderKind::Shortcode => Address::ShortCode(mms.sender.clone()),
                _ => Address::Number(mms.sender.clone()),
            },
            recipient: Address::Number(mms.contact.clone()),
            subject: None,
            text: mms.text.clone(),
            media,
        };
        let client = self
            .client(&mms.route, mmsc)
            .map_err(|e| refused(&mms.route, e))?;
        let outcome = match client.post(request.build()).await {
            Ok(answer) => read_submit_rsp(&answer),
            Err(e) => Err(e),
        };
        metrics::histogram!(MMS_SUBMIT_SECONDS, "carrier" => mms.route.clone())
            .record(started.elapsed().as_secs_f64());
        match outcome {
            Ok(id) => {
                submit_counted(&mms.route, "sent");
                debug!(message = %mms.message_id, carrier = %mms.route, "MMS submitted");
                Ok(id)
            }
            Err(e) => Err(refused(&mms.route, e)),
        }
    }

    /// The attachments in order: read from the media store, or (a message accepted
    /// before they were kept) fetched, each within what the earlier ones and the text
    /// left of the route's limit for this sender kind. Kept ones were checked against
    /// that limit at acceptance; a reload may have lowered it since.
    async fn attachments(
        &self,
        mms: &MmsOut,
        mmsc: &Mmsc,
        settings: &config::Mms,
    ) -> Result<Vec<FetchedMedia>, MmsRefusal> {
        let limit = mmsc.limit_for(mms.sender_kind);
        let policy = MediaPolicy {
            allowed: settings.allowed_content_types.clone(),
            max_part_bytes: limit as u64,
        };
        let mut left = limit.saturating_sub(mms.text.len());
        let mut out = Vec::with_capacity(mms.media.len());
        for m in &mms.media {
            let part = match &m.id {
                Some(id) => self.stored(&mms.route, id, m).await?,
                None => self.fetch_legacy(mms, m, left, &policy, limit).await?,
            };
            if part.body.len() > left {
                submit_counted(&mms.route, "media_refused");
                debug!(
                    message = %mms.message_id,
                    carrier = %mms.route,
                    kind = mms.sender_kind.as_str(),
                    limit,
                    "an MMS's attachments are over the carrier's limit"
                );
                return Err(permanent(ReasonCode::MediaTooLarge));
            }
            left -= part.body.len();
            out.push(part);
        }
        Ok(out)
    }

    /// A kept attachment's bytes.
    async fn stored(
        &self,
        route: &str,
        id: &str,
        m: &MediaRef,
    ) -> Result<FetchedMedia, MmsRefusal> {
        let body = match &self.media {
            Some(store) => store.read(id).await.ok().flatten(),
            None => None,
        };
        let Some(body) = body else {
            submit_counted(route, "media_refused");
            warn!(
                carrier = route,
                media = id,
                "an MMS's attachment is no longer in the media store"
            );
            return Err(permanent(ReasonCode::MediaUnavailable));
        };
        Ok(FetchedMedia {
            content_type: m.content_type.clone().unwrap_or_default(),
            filename: m.filename.clone(),
            body,
        })
    }

    /// An attachment known only by the core's URL, fetched now.
    async fn fetch_legacy(
        &self,
        mms: &MmsOut,
        m: &MediaRef,
        left: usize,
        policy: &MediaPolicy,
        limit: usize,
    ) -> Result<FetchedMedia, MmsRefusal> {
        let item = MediaItem {
            url: m.url.clone(),
            id: None,
            content_type: m.content_type.clone(),
            filename: m.filename.clone(),
        };
        let part = self
            .fetcher
            .fetch(&item, left, policy)
            .await
            .map_err(|e| fetch_refused(&mms.route, mms.sender_kind, limit, e))?;
        metrics::counter!(MMS_MEDIA_FETCHES_TOTAL, "result" => "fetched").increment(1);
        Ok(part)
    }
}

impl MmsSubmitter for MmsOutbound {
    fn submit(&self, mms: MmsOut) -> BoxFuture<'_, Result<String, MmsRefusal>> {
        Box::pin(self.submit_one(mms))
    }
}

fn submit_counted(carrier: &str, result: &'static str) {
    metrics::counter!(MMS_SUBMITS_TOTAL, "carrier" => carrier.to_owned(), "result" => result)
        .increment(1);
}

fn permanent(reason: ReasonCode) -> MmsRefusal {
    MmsRefusal {
        class: MmsErrorClass::Permanent,
        reason,
        carrier_status: None,
    }
}

/// A failed exchange with the MMSC as the dispatcher sees it.
fn refused(carrier: &str, e: ClientError) -> MmsRefusal {
    let carrier_status = match &e {
        ClientError::Refused { code, .. } => Some(u32::from(*code)),
        _ => None,
    };
    let (class, reason) = match e.retry() {
        Retry::Transient => {
            submit_counted(carrier, "transient");
            (MmsErrorClass::Transient, ReasonCode::CarrierUnavailable)
        }
        Retry::UnknownOutcome => {
            submit_counted(carrier, "unknown_outcome");
            (MmsErrorClass::Permanent, ReasonCode::UnknownOutcome)
        }
        Retry::Permanent => {
            submit_counted(carrier, "refused");
            let reason = match &e {
                ClientError::Refused { code: 2002, .. } => ReasonCode::InvalidNumber,
                ClientError::Refused { code: 2004, .. } => ReasonCode::ContentRefused,
                _ => ReasonCode::CarrierRejected,
            };
            (MmsErrorClass::Permanent, reason)
        }
    };
    debug!(carrier, error = %e, reason = reason.as_str(), "the MMSC did not take an MMS");
    MmsRefusal {
        class,
        reason,
        carrier_status,
    }
}

/// A failed attachment fetch as the dispatcher sees it. The URL stays out of the log:
/// the core's links may carry credentials.
fn fetch_refused(carrier: &str, kind: SenderKind, limit: usize, e: FetchError) -> MmsRefusal {
    let label = match &e {
        FetchError::TooLarge { .. } => "too_large",
        FetchError::TypeNotAllowed { .. }
        | FetchError::TypeMismatch { .. }
        | FetchError::NoContentType { .. } => "type_refused",
        FetchError::Forbidden { .. } => "forbidden",
        _ => "unavailable",
    };
    metrics::counter!(MMS_MEDIA_FETCHES_TOTAL, "result" => label).increment(1);
    let transient = e.is_transient();
    submit_counted(
        carrier,
        if transient {
            "media_unavailable"
        } else {
            "media_refused"
        },
    );
    debug!(
        carrier,
        kind = kind.as_str(),
        limit,
        result = label,
        transient,
        "an MMS's attachment could not be fetched"
    );
    MmsRefusal {
        class: if transient {
            MmsErrorClass::Transient
        } else {
            MmsErrorClass::Permanent
        },
        reason: e.reason(),
        carrier_status: None,
    }
}

/// The endpoint's [`Mm7ReportSink`] for our MT MMS: each DeliveryReportReq becomes a
/// receipt of the MMS's one segment, in one store write with its chat status.
pub struct MmsReportSink<S> {
    reports: MmsReports<S>,
}

impl<S: Store> MmsReportSink<S> {
    /// A sink over `store`; `events` is told when a status event is appended.
    pub fn new(store: S, events: Outbox) -> Self {
        MmsReportSink {
            reports: MmsReports::new(store, events),
        }
    }
}

impl<S: Store> Mm7ReportSink for MmsReportSink<S> {
    fn deliver_report(
        &self,
        carrier: &str,
        report: DeliveryReport,
    ) -> futures_util::future::BoxFuture<'_, Result<(), ReportSinkError>> {
        let carrier = carrier.to_owned();
        Box::pin(async move {
            super::metrics::delivery_report(&carrier, report.status.as_str());
            let delivery = delivery_of(&report.status);
            match self
                .reports
                .apply(&carrier, &report.message_id, delivery)
                .await
            {
                // Parked: the report beat the recording of its MessageID, and is
                // matched when that is recorded (or expires, counted).
                Ok(ReceiptApplied::Matched { .. } | ReceiptApplied::Parked { .. }) => Ok(()),
                Err(e) => Err(ReportSinkError::Unavailable(e.to_string())),
            }
        })
    }
}

/// The flows' reading of an MMStatus.
fn delivery_of(status: &MmStatus) -> MmsDelivery {
    match status {
        MmStatus::Retrieved => MmsDelivery::Retrieved,
        MmStatus::Rejected => MmsDelivery::Rejected,
        MmStatus::Expired => MmsDelivery::Expired,
        MmStatus::Forwarded => MmsDelivery::Forwarded,
        MmStatus::Deferred => MmsDelivery::Deferred,
        MmStatus::Unrecognised => MmsDelivery::Unrecognised,
        MmStatus::Other(word) if word.eq_ignore_ascii_case("unreachable") => {
            MmsDelivery::Unreachable
        }
        MmStatus::Indeterminate | MmStatus::Other(_) => MmsDelivery::Indeterminate,
    }
}
