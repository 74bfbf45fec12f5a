//! Chat events as the core receives them: CloudEvents 1.0, structured JSON mode.
//!
//! Each event has an `id` that is fixed when the event enters the outbox (so a retried
//! delivery carries the same id and `source` + `id` de-duplicates it), a `subject` that is
//! the conversation id, and a `sequence` extension numbering the events of one
//! conversation from 1, so the core can order them and spot a gap.
//!
//! The JSON is built with serde directly: the structure is small and fixed, and the
//! CloudEvents SDK would pin its own versions of the HTTP crates we already use.

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// The kinds of chat event (DESIGN §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// The first MO from a contact to a business number with no open conversation, or
    /// the first MT to a new contact.
    ConversationStarted,
    /// The core closed a conversation (`POST /v1/conversations/{id}/close`); the
    /// contact's next message opens a new one.
    ConversationClosed,
    /// An MO: text, media, encoding, segment count, `incomplete` with missing parts.
    MessageReceived,
    /// MT lifecycle: accepted, sent, delivered, failed, expired, rejected.
    MessageStatus,
    /// A contact opted out (with the keyword).
    ContactOptedOut,
    /// A contact opted back in (with the keyword).
    ContactOptedIn,
    /// MMS content that failed validation, with the reason.
    MediaRejected,
}

impl EventType {
    /// Every type, for tables and tests.
    pub const ALL: [EventType; 7] = [
        EventType::ConversationStarted,
        EventType::ConversationClosed,
        EventType::MessageReceived,
        EventType::MessageStatus,
        EventType::ContactOptedOut,
        EventType::ContactOptedIn,
        EventType::MediaRejected,
    ];

    /// The CloudEvents `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ConversationStarted => "chat.conversation.started",
            EventType::ConversationClosed => "chat.conversation.closed",
            EventType::MessageReceived => "chat.message.received",
            EventType::MessageStatus => "chat.message.status",
            EventType::ContactOptedOut => "chat.contact.opted_out",
            EventType::ContactOptedIn => "chat.contact.opted_in",
            EventType::MediaRejected => "chat.media.rejected",
        }
    }

    /// The type named by a CloudEvents `type` string.
    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// An event about to enter the outbox: what a flow knows. The outbox gives it its id,
/// time and sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub ty: EventType,
    /// The conversation the event belongs to (the CloudEvents `subject`).
    pub conversation_id: String,
    /// The event's `data`.
    pub data: Value,
}

/// An event in the outbox, ready to deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatEvent {
    /// Unique and stable across retries.
    pub id: String,
    pub ty: EventType,
    pub conversation_id: String,
    /// 1, 2, 3, … within the conversation.
    pub sequence: u64,
    /// RFC 3339, UTC, when the event entered the outbox.
    pub time: String,
    pub data: EventData,
}

/// An event's `data` as the JSON text the outbox holds. Delivery writes it into the
/// CloudEvent as it is: parsing each event read back into a tree of values only to
/// serialise it again cost a few per cent of the gateway's CPU per message.
#[derive(Debug, Clone)]
pub struct EventData(Box<RawValue>);

impl EventData {
    /// The JSON text `json`, checked to be one JSON value.
    pub fn from_json(json: String) -> Result<EventData, serde_json::Error> {
        RawValue::from_string(json).map(EventData)
    }

    /// The JSON of `value`.
    pub fn of(value: &Value) -> EventData {
        EventData(serde_json::value::to_raw_value(value).expect("a Value is plain data"))
    }

    /// The JSON text.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// The data as a tree of values.
    pub fn value(&self) -> Value {
        serde_json::from_str(self.json()).expect("checked JSON when made")
    }
}

impl PartialEq for EventData {
    fn eq(&self, other: &EventData) -> bool {
        self.json() == other.json()
    }
}

impl From<Value> for EventData {
    fn from(value: Value) -> EventData {
        EventData::of(&value)
    }
}

/// The structured-mode JSON of one event, serialised straight from the event's fields.
#[derive(Serialize)]
pub struct CloudEvent<'a> {
    specversion: &'static str,
    id: &'a str,
    source: &'a str,
    #[serde(rename = "type")]
    ty: &'static str,
    subject: &'a str,
    time: &'a str,
    datacontenttype: &'static str,
    sequence: u64,
    data: &'a RawValue,
}

impl ChatEvent {
    /// The event as CloudEvents 1.0, ready to serialise; `source` is
    /// `smsbridge://<instance>`. The sinks serialise it straight into the request body
    /// or log line: going through a `Value` first copied every event's data once more.
    pub fn cloudevent<'a>(&'a self, source: &'a str) -> CloudEvent<'a> {
        CloudEvent {
            specversion: "1.0",
            id: &self.id,
            source,
            ty: self.ty.as_str(),
            subject: &self.conversation_id,
            time: &self.time,
            datacontenttype: "application/json",
            sequence: self.sequence,
            data: &self.data.0,
        }
    }

    /// The event as CloudEvents 1.0 JSON; `source` is `smsbridge://<instance>`.
    pub fn to_cloudevent(&self, source: &str) -> Value {
        serde_json::to_value(self.cloudevent(source)).expect("a CloudEvent is plain data")
    }
}

/// The CloudEvents `source` of an instance.
pub fn source_of(instance: &str) -> String {
    format!("smsbridge://{instance}")
}

/// A new, time-ordered, unique id (UUID v7) for events, messages and conversations.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_round_trip_their_names() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
    }

    #[test]
    fn cloudevent_has_the_required_attributes() {
        let e = ChatEvent {
            id: new_id(),
            ty: EventType::MessageReceived,
            conversation_id: "c1".into(),
            sequence: 2,
            time: "2026-11-21T10:00:00Z".into(),
            data: json!({"text": "hi"}).into(),
        };
        let v = e.to_cloudevent(&source_of("a"));
        assert_eq!(v["specversion"], "1.0");
        assert_eq!(v["source"], "smsbridge://a");
        assert_eq!(v["type"], "chat.message.received");
        assert_eq!(v["subject"], "c1");
        assert_eq!(v["sequence"], 2);
        assert_eq!(v["data"]["text"], "hi");
        assert_eq!(v["id"].as_str().unwrap().len(), 36);
    }
}
