//! Consent: opt-out, opt-in and help keywords, and the suppression list.
//!
//! Filled by the numbers and consent issue.
