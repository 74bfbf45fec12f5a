//! Configuration (foundation, in progress)

pub mod simulator;
