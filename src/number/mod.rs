//! Numbers: E.164 parsing, classification, SMS capability, and the inventory of
//! business senders.
//!
//! Filled by the numbers and consent issue.
