//! Chat events (CloudEvents 1.0) and their delivery to the contact-center core from
//! the outbox: webhook (signed, retried, ordered per conversation).
//!
//! Filled by the pipeline issue.
