//! Delivery receipts: carrier dialects (TLVs and Appendix B text) parsed into one
//! receipt state, and the id forms used to match receipts to submitted segments.
//!
//! Filled by the receipts issue.
