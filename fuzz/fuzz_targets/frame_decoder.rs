//! Fuzzes the strict frame decoder: arbitrary bytes must never panic it, every decoded
//! frame must lie within the bytes given, and a frame that decodes must encode again and
//! decode to the same frame.
//!
//! cargo +nightly fuzz run frame_decoder   (from this directory)

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use smsbridge::smpp::frame::{self, Decoded};

/// A small cap so the fuzzer also explores the length check.
const MAX: u32 = 4096;

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.len();
        match frame::decode(&mut buf, MAX) {
            Ok(Some(Decoded::Frame(decoded))) => {
                assert!(buf.len() < before, "a frame consumed nothing");
                let mut again = BytesMut::new();
                if frame::encode(&decoded, &mut again, u32::MAX).is_ok() {
                    let redecoded = frame::decode(&mut again, u32::MAX);
                    assert_eq!(redecoded, Ok(Some(Decoded::Frame(decoded))));
                    assert!(again.is_empty());
                }
            }
            Ok(Some(Decoded::Invalid { .. })) => assert!(buf.len() < before),
            // Incomplete input or a header no session would accept: stop, as a session does.
            Ok(None) | Err(_) => break,
        }
    }
});
