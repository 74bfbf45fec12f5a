//! Chat events (CloudEvents 1.0) and their delivery to the contact-center core from
//! the outbox: webhook (signed, retried, ordered per conversation) or a JSON-lines log.
//!
//! The event model is here; delivery arrives with the pipeline issue.

pub mod event;

pub use event::{ChatEvent, EventType, NewEvent, new_id, source_of};
