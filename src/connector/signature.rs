//! The webhook signature: HMAC-SHA256 with the shared secret over
//! `<timestamp>.<body>`, where the timestamp (seconds since 1970) is the
//! `X-Smsbridge-Timestamp` header. The core recomputes it, compares in constant time and
//! refuses timestamps far from its clock, so a captured request cannot be replayed
//! later. The signature header can hold several `v1=` values (comma-separated) so a
//! secret can be rotated without a gap; smsbridge sends one.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

/// The header carrying the signing time.
pub const TIMESTAMP_HEADER: &str = "X-Smsbridge-Timestamp";
/// The header carrying `v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "X-Smsbridge-Signature";

/// The `X-Smsbridge-Signature` value for `body` sent at `timestamp`.
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_known_hmac() {
        // openssl: printf '1700000000.{}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            sign(b"key", 1_700_000_000, b"{}"),
            "v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }
}
