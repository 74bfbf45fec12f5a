//! The integration-test binary: one module per area.

mod smpp_session;
