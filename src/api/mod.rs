//! The HTTP API for the core (`/v1/...`): messages, numbers, conversations, segments
//! and opt-out administration.
//!
//! Filled by the pipeline issue.
