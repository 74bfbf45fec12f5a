//! Bind pools per carrier: reconnect with backoff, segment-per-second throttling,
//! and the router that picks a carrier route for a business sender.
//!
//! Filled by the SMPP engine issue.
