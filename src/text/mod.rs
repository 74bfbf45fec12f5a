//! Text: GSM 03.38 and its shift tables, UCS-2/UTF-16, Latin-1 and IA5; planning the
//! segments of an outbound message; decoding and reassembling inbound ones.
//!
//! Filled by the text issue.
