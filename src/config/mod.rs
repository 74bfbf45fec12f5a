//! Configuration (foundation, in progress)
