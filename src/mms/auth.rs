//! Who is posting: each carrier's `[carriers.mm7]` names how its MMSC proves itself —
//! HTTP basic auth, an address allow list, or both (then both must hold). A request
//! that matches no carrier is refused before its body is read.

use std::net::IpAddr;

use base64::Engine;

use crate::config::CarrierMm7;

/// Why a request matches no carrier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credentials, or credentials no carrier has (answered `401` with a
    /// `WWW-Authenticate` challenge).
    #[error("missing or wrong MM7 credentials")]
    Unauthorized,
    /// The credentials are right (or none are needed) but the address is not on the
    /// carrier's allow list (answered `403`).
    #[error("the address is not allowed to post MM7 requests")]
    AddressNotAllowed,
}

/// The carrier whose credentials the request carries, from `peer`.
pub fn identify<'a>(
    carriers: &'a [CarrierMm7],
    peer: IpAddr,
    authorization: Option<&str>,
) -> Result<&'a CarrierMm7, AuthError> {
    let presented = authorization.and_then(basic_credentials);
    let mut credentials_matched = false;
    for carrier in carriers {
        let credentials_ok = match (&carrier.username, &carrier.password) {
            (Some(user), Some(password)) => presented.as_ref().is_some_and(|(u, p)| {
                constant_time_eq(u.as_bytes(), user.as_bytes())
                    & constant_time_eq(p.as_bytes(), password.expose().as_bytes())
            }),
            (Some(_), None) => false,
            (None, _) => true,
        };
        if !credentials_ok {
            continue;
        }
        if carrier.allow.is_empty() || carrier.allow.iter().any(|net| net.contains(peer)) {
            return Ok(carrier);
        }
        credentials_matched |= carrier.username.is_some();
    }
    if credentials_matched || carriers.iter().all(|c| c.username.is_none()) {
        Err(AuthError::AddressNotAllowed)
    } else {
        Err(AuthError::Unauthorized)
    }
}

/// `Basic dXNlcjpwYXNz` → (`user`, `pass`).
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Compares without an early exit, so the time taken says nothing about the secret.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn carriers() -> Vec<CarrierMm7> {
        vec![
            CarrierMm7 {
                carrier: "a".into(),
                username: Some("alice".into()),
                password: Some(Secret::new("s3cret")),
                allow: vec!["10.0.0.0/8".parse().unwrap()],
            },
            CarrierMm7 {
                carrier: "b".into(),
                username: None,
                password: None,
                allow: vec!["192.0.2.1".parse().unwrap()],
            },
        ]
    }

    fn basic(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    #[test]
    fn each_carrier_is_known_by_its_own_proof() {
        let c = carriers();
        let inside: IpAddr = "10.1.2.3".parse().unwrap();
        let ok = basic("alice", "s3cret");
        assert_eq!(identify(&c, inside, Some(&ok)).unwrap().carrier, "a");
        let listed: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(identify(&c, listed, None).unwrap().carrier, "b");
    }

    #[test]
    fn wrong_credentials_and_addresses_are_told_apart() {
        let c = carriers();
        let inside: IpAddr = "10.1.2.3".parse().unwrap();
        let outside: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(
            identify(&c, inside, Some(&basic("alice", "nope"))),
            Err(AuthError::Unauthorized)
        );
        assert_eq!(identify(&c, inside, None), Err(AuthError::Unauthorized));
        assert_eq!(
            identify(&c, outside, Some(&basic("alice", "s3cret"))),
            Err(AuthError::AddressNotAllowed)
        );
        assert_eq!(
            identify(&c, inside, Some("Bearer x")),
            Err(AuthError::Unauthorized)
        );
    }
}
