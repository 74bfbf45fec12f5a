//! SMPP 3.4/5.0: strict framing, the session state machine, window and timers, the
//! ESME (client) role that binds to carriers, and the SMSC role used by the simulator.
//!
//! Filled by the SMPP engine issue.
