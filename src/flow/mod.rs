//! The three flows — inbound (MO), outbound (MT) and receipts (DLR) — the only place
//! where the other modules meet.
//!
//! Filled by the pipeline issue.
