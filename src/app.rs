//! (foundation, in progress)
