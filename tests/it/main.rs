//! The integration tests of smsbridge: one binary, one module per area.

mod text;
