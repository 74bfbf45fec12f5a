//! Accepting an MT: the checks in the order the design gives them (text length,
//! sender, destination and capability, consent, route), the segment plan, and the store
//! write after which the API may answer `202`.

use std::sync::Arc;
use std::time::SystemTime;

use tokio::sync::watch;

use super::FlowOptions;
use super::destination;
use super::mms_outbound::{MediaRoute, media_route, mmsc_of, text_with_links};
use super::mt_media::{MediaItem, MediaKeeper, MediaLimits, MediaRefusal, MediaSource};
use super::mt_queue::MtQueue;
use crate::config::Config;
use crate::connector::{Outbox, new_id};
use crate::consent::SuppressionList;
use crate::number::{Reason, SenderKind, UnreachableMemory};
use crate::store::model::now_ms;
use crate::store::{DueMt, MediaRef, MtAccepted, NewMt, Store, StoreError};
use crate::text::{MAX_CHARACTERS, ReferenceAllocator, nfc, plan_with_reference};

/// An MT as the caller asked for it (fields already read from JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MtRequest {
    /// The business sender; taken from the conversation when absent.
    pub from: Option<String>,
    /// The contact; taken from the conversation when absent.
    pub to: Option<String>,
    /// Reply in this conversation.
    pub conversation_id: Option<String>,
    pub text: String,
    pub idempotency_key: Option<String>,
    /// The SHA-256 (hex) of the canonical request, compared with the one the key
    /// answered before.
    pub request_sha256: Option<String>,
    /// Attachments (URLs the core serves, or uploads): an MMS, or SMS with links, or a
    /// refusal.
    pub media: Vec<MediaItem>,
}

/// The most attachments a request may list, whatever the route takes.
pub const MAX_MEDIA: usize = 20;

/// Why an MT was refused. Each variant has a stable code (DESIGN §4).
#[derive(Debug, thiserror::Error)]
pub enum MtRefused {
    /// Neither `to` nor `conversation_id`, or neither `from` nor `conversation_id`.
    #[error("{0}")]
    Incomplete(&'static str),
    /// `conversation_id` names no conversation.
    #[error("no conversation {0}")]
    UnknownConversation(String),
    /// Over 1000 characters after NFC.
    #[error("the text is {characters} characters long; the limit is {limit}")]
    TextTooLong { characters: usize, limit: usize },
    /// `from` is not one of our senders.
    #[error("{0}")]
    UnknownSender(String),
    /// `to` is not a phone number.
    #[error("{0}")]
    InvalidDestination(String),
    /// `to` is a number that cannot receive SMS (the sentence says why).
    #[error("{0}")]
    NotSmsCapable(String),
    /// The contact opted out of this sender.
    #[error("{0}")]
    OptedOut(String),
    /// None of the sender's routes is a configured carrier that sends SMS.
    #[error("no carrier route that sends SMS for sender {0}")]
    NoRoute(String),
    /// The text cannot be planned on the route.
    #[error("{0}")]
    Unplannable(String),
    /// The `Idempotency-Key` answered another request before; nothing was sent.
    #[error(
        "this Idempotency-Key was used for a different request; use a new key for a new message"
    )]
    IdempotencyKeyReused,
    /// An attachment is malformed (not an http(s) URL, too many, a name too long); the
    /// field at fault, and why.
    #[error("{1}")]
    BadMedia(String, String),
    /// The message has media the sender or route cannot send, and the fallback is to
    /// refuse; or the MMSC does not take this content type or this many attachments.
    #[error("{0}")]
    MediaNotSupported(String),
    /// An attachment could not be fetched, was refused, or could not be kept.
    #[error(transparent)]
    Media(#[from] MediaRefusal),
    /// The store cannot take the message now.
    #[error("store unavailable: {0}")]
    Store(#[from] StoreError),
}

impl MtRefused {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            MtRefused::Incomplete(_) | MtRefused::Unplannable(_) | MtRefused::BadMedia(..) => {
                "bad_request"
            }
            MtRefused::MediaNotSupported(_) => "media_not_supported",
            MtRefused::UnknownConversation(_) => "not_found",
            MtRefused::TextTooLong { .. } => "text_too_long",
            MtRefused::UnknownSender(_) => "unknown_sender",
            MtRefused::InvalidDestination(_) => "invalid_destination",
            MtRefused::NotSmsCapable(_) => "destination_not_sms_capable",
            MtRefused::OptedOut(_) => "opted_out",
            MtRefused::NoRoute(_) => "no_route",
            MtRefused::IdempotencyKeyReused => "idempotency_key_reused",
            MtRefused::Media(refusal) => refusal.code(),
            MtRefused::Store(_) => "overloaded",
        }
    }

    /// The request field at fault.
    pub fn field(&self) -> Option<String> {
        let field = match self {
            MtRefused::TextTooLong { .. } | MtRefused::Unplannable(_) => "text",
            MtRefused::UnknownSender(_) | MtRefused::NoRoute(_) => "from",
            MtRefused::InvalidDestination(_)
            | MtRefused::NotSmsCapable(_)
            | MtRefused::OptedOut(_) => "to",
            MtRefused::UnknownConversation(_) => "conversation_id",
            MtRefused::IdempotencyKeyReused => "Idempotency-Key",
            MtRefused::BadMedia(field, _) => return Some(field.clone()),
            MtRefused::Media(refusal) => return Some(refusal.field()),
            MtRefused::MediaNotSupported(_) => "media",
            MtRefused::Incomplete(_) | MtRefused::Store(_) => return None,
        };
        Some(field.to_owned())
    }
}

/// What accepting MTs needs; cheap to clone.
#[derive(Clone)]
pub struct MtIntake<S> {
    pub store: S,
    /// The configuration in force, its consent policy included.
    pub config: watch::Receiver<Arc<Config>>,
    pub unreachable: Arc<dyn UnreachableMemory>,
    pub references: Arc<ReferenceAllocator>,
    /// Where accepted MTs are handed to the dispatcher.
    pub dispatcher: Arc<MtQueue>,
    /// Told when a write appended chat events.
    pub events: Outbox,
    pub options: FlowOptions,
    /// Fetches, checks and keeps attachments; `None` when no media store runs (MMS not
    /// enabled), and then an MT with media is refused.
    pub media: Option<Arc<dyn MediaKeeper>>,
}

impl<S: Store + SuppressionList> MtIntake<S> {
    /// Validates, plans and stores `request`.
    pub async fn accept(&self, request: MtRequest) -> Result<MtAccepted, MtRefused> {
        if let Some(key) = &request.idempotency_key {
            let asked = request.request_sha256.as_deref();
            match self.store.idempotent_answer(key, asked).await? {
                Some(MtAccepted::KeyReused) => return Err(MtRefused::IdempotencyKeyReused),
                Some(earlier) => return Ok(earlier),
                None => {}
            }
        }
        let mt = self.prepare(request).await?;
        // Claimed before it is written, so that no listing of the store starts it
        // while it is being handed over.
        let claim = self.dispatcher.claim_new(&mt.message_id);
        let due = claim.as_ref().map(|_| due_of(&mt));
        // Checked again in the write: a request with the same key may have come between.
        match self.store.accept_mt(mt).await? {
            MtAccepted::KeyReused => Err(MtRefused::IdempotencyKeyReused),
            accepted => {
                self.events.notify();
                match (claim, due, &accepted) {
                    (Some(claim), Some(mut due), MtAccepted::Stored(stored)) => {
                        due.conversation_id = stored.conversation_id.clone();
                        claim.hand_over(due)
                    }
                    // A replay stored nothing new; an unclaimed MT waits for a listing.
                    (claim, _, _) => {
                        drop(claim);
                        self.dispatcher.wake();
                    }
                }
                Ok(accepted)
            }
        }
    }

    async fn prepare(&self, request: MtRequest) -> Result<NewMt, MtRefused> {
        let (from, to) = self.addresses(&request).await?;
        let text = nfc(&request.text).into_owned();
        let characters = text.chars().count();
        if characters > MAX_CHARACTERS {
            return Err(MtRefused::TextTooLong {
                characters,
                limit: MAX_CHARACTERS,
            });
        }
        let config = self.config.borrow().clone();
        let inventory = config
            .sender_inventory()
            .map_err(|e| MtRefused::UnknownSender(e.to_string()))?;
        let sender = inventory
            .sender_for_mt(&from)
            .map_err(|e| MtRefused::UnknownSender(e.to_string()))?;
        let typed = destination::typed_destination(&to)?;
        let check =
            config
                .numbers
                .policy
                .check(typed, None, self.unreachable.as_ref(), SystemTime::now());
        let contact = match (&check.e164, check.reason) {
            (_, Reason::InvalidNumber | Reason::NotANumber | Reason::NeedsRegion) | (None, _) => {
                return Err(MtRefused::InvalidDestination(check.message));
            }
            (Some(_), _) if !check.sms_capable => {
                return Err(MtRefused::NotSmsCapable(check.message));
            }
            (Some(e164), _) => e164.clone(),
        };
        destination::refuse_own_number(&contact, sender.address().as_str())?;
        let consent = config
            .consent_policy()
            .check_mt(&self.store, &contact, sender)
            .await
            .map_err(|e| MtRefused::Store(StoreError::Unavailable(e.to_string())))?;
        if let Err(refusal) = consent {
            return Err(MtRefused::OptedOut(refusal.to_string()));
        }
        // The first route that sends SMS (a carrier with only an MMSC does not).
        let sms_carrier = sender
            .routes()
            .in_order()
            .find_map(|r| config.carrier(r).filter(|c| c.smpp));
        let no_route = || MtRefused::NoRoute(sender.address().to_string());
        let mut text = text;
        let mut linked = Vec::new();
        if !request.media.is_empty() {
            check_media(&request.media)?;
            match media_route(&config, sender) {
                MediaRoute::Mms { route } => {
                    check_for_mmsc(&config, &route, &request.media)?;
                    let limits = mms_limits(&config, &route, sender.kind(), &text);
                    let media = self.keep(&request.media, limits).await?;
                    let sender = sender.address().as_str();
                    return Ok(self.mms_mt(contact.as_str(), sender, text, route, request, media));
                }
                MediaRoute::SmsLink => {
                    sms_carrier.ok_or_else(no_route)?;
                    // The customer's handset fetches the links: they point at our copy,
                    // which we keep and sign, not at the core's URL.
                    let limits = MediaLimits {
                        total_bytes: config.mms.max_message_bytes,
                        part_bytes: config.mms.max_part_bytes,
                        rule: "attachments sent as links are limited by [mms] \
                               max_message_bytes and max_part_bytes"
                            .to_owned(),
                    };
                    let kept = self.keep(&request.media, limits).await?;
                    let keeper = self.media.as_deref().ok_or(MediaRefusal::Disabled)?;
                    let links = kept
                        .iter()
                        .map(|m| keeper.link(m).ok_or(MediaRefusal::Disabled))
                        .collect::<Result<Vec<_>, _>>()?;
                    text = text_with_links(&text, &links);
                    linked = kept;
                }
                MediaRoute::Refuse(why) => return Err(MtRefused::MediaNotSupported(why)),
            }
        }
        let carrier = sms_carrier.ok_or_else(no_route)?;
        let route = carrier.name.clone();
        let reference = self.references.next(contact.as_str());
        // Planned for the route it leaves through: that decides encoding and segments.
        let plan = plan_with_reference(&text, &carrier.text, reference)
            .map_err(|e| MtRefused::Unplannable(e.to_string()))?;
        Ok(NewMt {
            message_id: new_id(),
            contact: contact.as_str().to_owned(),
            sender: sender.address().as_str().to_owned(),
            text,
            encoding: plan.encoding.as_str().to_owned(),
            segments: plan.segments as u32,
            reference,
            route,
            validity_deadline: now_ms() + self.options.validity.as_millis() as i64,
            idempotency_key: request.idempotency_key,
            request_sha256: request.request_sha256,
            origin: "mt",
            media: Vec::new(),
            linked,
        })
    }

    /// Fetches (or looks up), checks and keeps `media` within `limits`.
    async fn keep(
        &self,
        media: &[MediaItem],
        limits: MediaLimits,
    ) -> Result<Vec<MediaRef>, MediaRefusal> {
        match &self.media {
            Some(keeper) => keeper.keep(media, limits).await,
            None => Err(MediaRefusal::Disabled),
        }
    }

    /// An MMS: one submit (one segment) with its kept attachments, no text plan.
    fn mms_mt(
        &self,
        contact: &str,
        sender: &str,
        text: String,
        route: String,
        request: MtRequest,
        media: Vec<MediaRef>,
    ) -> NewMt {
        NewMt {
            message_id: new_id(),
            contact: contact.to_owned(),
            sender: sender.to_owned(),
            text,
            encoding: MMS_ENCODING.to_owned(),
            segments: 1,
            reference: 0,
            route,
            validity_deadline: now_ms() + self.options.validity.as_millis() as i64,
            idempotency_key: request.idempotency_key,
            request_sha256: request.request_sha256,
            origin: "mt",
            media,
            linked: Vec::new(),
        }
    }

    /// `from` and `to` as given, or from the conversation.
    async fn addresses(&self, request: &MtRequest) -> Result<(String, String), MtRefused> {
        let conversation = match &request.conversation_id {
            Some(id) => Some(
                self.store
                    .conversation(id.clone())
                    .await?
                    .ok_or_else(|| MtRefused::UnknownConversation(id.clone()))?,
            ),
            None => None,
        };
        let from = request
            .from
            .clone()
            .or_else(|| conversation.as_ref().map(|c| c.sender.clone()))
            .ok_or(MtRefused::Incomplete("give `from` or `conversation_id`"))?;
        let to = request
            .to
            .clone()
            .or_else(|| conversation.as_ref().map(|c| c.contact.clone()))
            .ok_or(MtRefused::Incomplete("give `to` or `conversation_id`"))?;
        Ok((from, to))
    }
}

/// The MT as the dispatcher takes it, before any attempt.
fn due_of(mt: &NewMt) -> DueMt {
    DueMt {
        message_id: mt.message_id.clone(),
        // Known once the write has opened or found the conversation; set before the
        // hand-over (the attempt's record and its events name it).
        conversation_id: String::new(),
        contact: mt.contact.clone(),
        sender: mt.sender.clone(),
        text: mt.text.clone(),
        reference: mt.reference,
        route: mt.route.clone(),
        validity_deadline: mt.validity_deadline,
        attempts: 0,
        segments_done: Vec::new(),
        media: mt.media.clone(),
    }
}

/// The `encoding` of an MMS: its text goes as a UTF-8 part, in one submit.
pub const MMS_ENCODING: &str = "mms";

/// The longest attachment URL and file name taken.
const MAX_URL_BYTES: usize = 2048;
const MAX_FILENAME_BYTES: usize = 255;

/// The shape of the attachment list, whatever route it takes.
fn check_media(media: &[MediaItem]) -> Result<(), MtRefused> {
    if media.len() > MAX_MEDIA {
        return Err(MtRefused::BadMedia(
            "media".into(),
            format!("{} attachments; at most {MAX_MEDIA}", media.len()),
        ));
    }
    for (i, m) in media.iter().enumerate() {
        let bad = |key: &str, why: String| MtRefused::BadMedia(format!("media[{i}]{key}"), why);
        match m.source() {
            None => {
                return Err(bad(
                    "",
                    format!("media[{i}] must name either `url` or `id` (an upload), not both"),
                ));
            }
            Some(MediaSource::Url(url)) => {
                let url_ok = url.len() <= MAX_URL_BYTES
                    && reqwest::Url::parse(url)
                        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
                if !url_ok {
                    return Err(bad(
                        ".url",
                        format!(
                            "media[{i}].url must be an http:// or https:// URL of at most \
                             {MAX_URL_BYTES} bytes"
                        ),
                    ));
                }
            }
            Some(MediaSource::Upload(id)) => {
                let hex = id.len() == 64
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                if !hex {
                    return Err(bad(
                        ".id",
                        format!("media[{i}].id must be the id an upload answered (64 hex digits)"),
                    ));
                }
                if m.content_type.is_none() {
                    return Err(bad(
                        ".content_type",
                        format!(
                            "media[{i}].content_type is required with `id`: give the upload's \
                             content_type"
                        ),
                    ));
                }
            }
        }
        if m.filename.as_ref().is_some_and(|f| {
            f.is_empty()
                || f.len() > MAX_FILENAME_BYTES
                || f.contains(['/', '\\', '"'])
                || f.chars().any(char::is_control)
        }) {
            return Err(bad(
                ".filename",
                format!(
                    "media[{i}].filename must be 1 to {MAX_FILENAME_BYTES} bytes without '/', \
                     '\\', '\"' or control characters"
                ),
            ));
        }
        if m.content_type
            .as_ref()
            .is_some_and(|t| t.parse::<MediaType>().is_err())
        {
            return Err(bad(
                ".content_type",
                format!("media[{i}].content_type is not a media type such as \"image/jpeg\""),
            ));
        }
    }
    Ok(())
}

/// What the attachments of an MMS through the MMSC of `route` may take: the route's
/// limit for the sender's kind, less the text that goes with them.
fn mms_limits(config: &Config, route: &str, kind: SenderKind, text: &str) -> MediaLimits {
    let limit = mmsc_of(config, route).map_or(0, |m| m.limit_for(kind));
    let left = limit.saturating_sub(text.len());
    MediaLimits {
        total_bytes: left,
        part_bytes: left,
        rule: format!(
            "carrier {route} takes at most {} KB per message from {} senders",
            limit / 1024,
            kind.as_str().replace('_', "-"),
        ),
    }
}

/// What the MMSC of `route` takes: this many attachments, of these declared types.
fn check_for_mmsc(
    config: &crate::config::Config,
    route: &str,
    media: &[MediaItem],
) -> Result<(), MtRefused> {
    if let Some(mmsc) = mmsc_of(config, route)
        && media.len() > mmsc.max_attachments
    {
        return Err(MtRefused::MediaNotSupported(format!(
            "{} attachments; carrier {route} takes at most {}",
            media.len(),
            mmsc.max_attachments
        )));
    }
    let allowed = &config.mms.allowed_content_types;
    for (i, m) in media.iter().enumerate() {
        if let Some(t) = &m.content_type {
            let essence = t.split(';').next().unwrap_or_default().trim();
            if !allowed.iter().any(|a| a.eq_ignore_ascii_case(essence)) {
                return Err(MtRefused::MediaNotSupported(format!(
                    "media[{i}] is {essence}, which is not an allowed MMS content type"
                )));
            }
        }
    }
    Ok(())
}

/// A `type/subtype` media type (parameters allowed), only to check its shape.
struct MediaType;

impl std::str::FromStr for MediaType {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let essence = s.split(';').next().unwrap_or_default().trim();
        let token = |t: &str| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        match essence.split_once('/') {
            Some((ty, sub)) if token(ty) && token(sub) && s.len() <= 255 => Ok(MediaType),
            _ => Err(()),
        }
    }
}
