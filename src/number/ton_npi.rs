//! SMPP type of number (TON) and numbering plan indicator (NPI) for a sender's address.
//!
//! Values from SMPP 3.4 §5.2.5–5.2.6. A sender's pair is derived from its kind unless the
//! operator sets it, because some carriers want, say, TON 2 (national) for longcodes.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::SenderKind;

/// SMPP `source_addr_ton` / `dest_addr_ton`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum Ton {
    /// 0: unknown.
    Unknown = 0,
    /// 1: international (E.164 digits without `+`).
    International = 1,
    /// 2: national.
    National = 2,
    /// 3: network specific (short codes).
    NetworkSpecific = 3,
    /// 4: subscriber number.
    SubscriberNumber = 4,
    /// 5: alphanumeric (sender IDs).
    Alphanumeric = 5,
    /// 6: abbreviated.
    Abbreviated = 6,
}

impl TryFrom<u8> for Ton {
    type Error = u8;

    /// Refuses values SMPP does not define, returning the value.
    fn try_from(value: u8) -> Result<Self, u8> {
        Ok(match value {
            0 => Ton::Unknown,
            1 => Ton::International,
            2 => Ton::National,
            3 => Ton::NetworkSpecific,
            4 => Ton::SubscriberNumber,
            5 => Ton::Alphanumeric,
            6 => Ton::Abbreviated,
            other => return Err(other),
        })
    }
}

impl From<Ton> for u8 {
    fn from(ton: Ton) -> u8 {
        ton as u8
    }
}

/// SMPP `source_addr_npi` / `dest_addr_npi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum Npi {
    /// 0: unknown.
    Unknown = 0,
    /// 1: ISDN (E.163/E.164).
    Isdn = 1,
    /// 3: data (X.121).
    Data = 3,
    /// 4: telex (F.69).
    Telex = 4,
    /// 6: land mobile (E.212).
    LandMobile = 6,
    /// 8: national.
    National = 8,
    /// 9: private.
    Private = 9,
    /// 10: ERMES.
    Ermes = 10,
    /// 14: internet (IP).
    Internet = 14,
    /// 18: WAP client id.
    WapClientId = 18,
}

impl TryFrom<u8> for Npi {
    type Error = u8;

    /// Refuses values SMPP does not define, returning the value.
    fn try_from(value: u8) -> Result<Self, u8> {
        Ok(match value {
            0 => Npi::Unknown,
            1 => Npi::Isdn,
            3 => Npi::Data,
            4 => Npi::Telex,
            6 => Npi::LandMobile,
            8 => Npi::National,
            9 => Npi::Private,
            10 => Npi::Ermes,
            14 => Npi::Internet,
            18 => Npi::WapClientId,
            other => return Err(other),
        })
    }
}

impl From<Npi> for u8 {
    fn from(npi: Npi) -> u8 {
        npi as u8
    }
}

/// A TON/NPI pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TonNpi {
    /// Type of number.
    pub ton: Ton,
    /// Numbering plan indicator.
    pub npi: Npi,
}

impl TonNpi {
    /// The usual pair for a kind of sender: international longcodes and toll-free numbers
    /// 1/1, shortcodes 3/0, alphanumeric sender IDs 5/0.
    pub fn for_kind(kind: SenderKind) -> TonNpi {
        let (ton, npi) = match kind {
            SenderKind::Longcode | SenderKind::TollFree => (Ton::International, Npi::Isdn),
            SenderKind::Shortcode => (Ton::NetworkSpecific, Npi::Unknown),
            SenderKind::Alphanumeric => (Ton::Alphanumeric, Npi::Unknown),
        };
        TonNpi { ton, npi }
    }
}

impl fmt::Display for TonNpi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", u8::from(self.ton), u8::from(self.npi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_defined_value_round_trips_and_others_are_refused() {
        for value in 0..=u8::MAX {
            if let Ok(ton) = Ton::try_from(value) {
                assert_eq!(u8::from(ton), value);
            }
            if let Ok(npi) = Npi::try_from(value) {
                assert_eq!(u8::from(npi), value);
            }
        }
        assert_eq!(Ton::try_from(7), Err(7));
        assert_eq!(Npi::try_from(2), Err(2));
    }

    #[test]
    fn kinds_derive_the_usual_pairs() {
        assert_eq!(TonNpi::for_kind(SenderKind::Longcode).to_string(), "1/1");
        assert_eq!(TonNpi::for_kind(SenderKind::TollFree).to_string(), "1/1");
        assert_eq!(TonNpi::for_kind(SenderKind::Shortcode).to_string(), "3/0");
        assert_eq!(
            TonNpi::for_kind(SenderKind::Alphanumeric).to_string(),
            "5/0"
        );
    }
}
