//! The store (filled by the pipeline issue).
