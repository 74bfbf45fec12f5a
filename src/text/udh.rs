//! The user data header (TS 23.040 §9.2.3.24): building the one we send, reading the ones
//! carriers deliver. Also the SAR values that replace it on some carriers.

use serde::{Deserialize, Serialize};

use super::gsm7::Gsm7Tables;
use super::profile::ShiftLanguage;

/// IEI of concatenation with an 8-bit reference.
pub const IEI_CONCAT_8: u8 = 0x00;
/// IEI of concatenation with a 16-bit reference.
pub const IEI_CONCAT_16: u8 = 0x08;
/// IEI of application port addressing with 8-bit ports.
pub const IEI_PORTS_8: u8 = 0x04;
/// IEI of application port addressing with 16-bit ports.
pub const IEI_PORTS_16: u8 = 0x05;
/// IEI of the national language single shift.
pub const IEI_SINGLE_SHIFT: u8 = 0x24;
/// IEI of the national language locking shift.
pub const IEI_LOCKING_SHIFT: u8 = 0x25;

/// How the parts of one message refer to each other; part of the reassembly key because
/// an 8-bit and a 16-bit reference with the same value are different messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceWidth {
    /// UDH IEI 0x00.
    Udh8,
    /// UDH IEI 0x08.
    Udh16,
    /// The SAR TLVs (a 16-bit `sar_msg_ref_num`).
    Sar,
}

/// Where one part sits in a concatenated message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConcatInfo {
    /// The reference shared by every part of the message.
    pub reference: u16,
    /// Which header carried the reference.
    pub width: ReferenceWidth,
    /// Number of parts, 1–255.
    pub total: u8,
    /// This part's number, 1-based.
    pub seqnum: u8,
}

impl ConcatInfo {
    /// Receivers ignore a header whose total is 0 or whose number is 0 or above the total.
    pub fn is_valid(&self) -> bool {
        self.total > 0 && self.seqnum > 0 && self.seqnum <= self.total
    }
}

/// The SAR TLVs of a `submit_sm` or `deliver_sm` (0x020C, 0x020E, 0x020F).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sar {
    /// `sar_msg_ref_num`.
    pub reference: u16,
    /// `sar_total_segments`.
    pub total: u8,
    /// `sar_segment_seqnum`, 1-based.
    pub seqnum: u8,
}

/// Application ports (IEI 0x04 or 0x05, or the `source_port`/`destination_port` TLVs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ports {
    /// Port the message is addressed to.
    pub destination: u16,
    /// Port the message came from.
    pub source: u16,
}

/// What a delivered UDH said that matters to smsbridge. Other IEs are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParsedUdh {
    /// Length of the header in octets, its length octet included.
    pub len: usize,
    /// Concatenation IE, when present and valid.
    pub concat: Option<ConcatInfo>,
    /// Port addressing IE.
    pub ports: Option<Ports>,
    /// NLI of the locking shift IE.
    pub locking_nli: Option<u8>,
    /// NLI of the single shift IE.
    pub single_nli: Option<u8>,
}

/// A UDH that does not fit in the user data it heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("user data header of {declared} octets does not fit in {available}")]
pub struct UdhOverrun {
    /// Octets the header declares (length octet included) or an IE reaches.
    pub declared: usize,
    /// Octets of user data there are.
    pub available: usize,
}

/// Reads the UDH at the start of `user_data`.
pub fn parse(user_data: &[u8]) -> Result<ParsedUdh, UdhOverrun> {
    let Some(&udhl) = user_data.first() else {
        return Err(UdhOverrun {
            declared: 1,
            available: 0,
        });
    };
    let len = usize::from(udhl) + 1;
    if len > user_data.len() {
        return Err(UdhOverrun {
            declared: len,
            available: user_data.len(),
        });
    }
    let mut parsed = ParsedUdh {
        len,
        ..ParsedUdh::default()
    };
    let mut ies = &user_data[1..len];
    while let [iei, iel, rest @ ..] = ies {
        let iel = usize::from(*iel);
        if iel > rest.len() {
            return Err(UdhOverrun {
                declared: len - rest.len() + iel,
                available: len,
            });
        }
        let (data, next) = rest.split_at(iel);
        read_ie(*iei, data, &mut parsed);
        ies = next;
    }
    Ok(parsed)
}

fn read_ie(iei: u8, data: &[u8], parsed: &mut ParsedUdh) {
    let concat = |reference, width, total, seqnum| {
        let c = ConcatInfo {
            reference,
            width,
            total,
            seqnum,
        };
        c.is_valid().then_some(c)
    };
    match (iei, data) {
        (IEI_CONCAT_8, &[r, t, n]) => {
            parsed.concat = concat(u16::from(r), ReferenceWidth::Udh8, t, n)
        }
        (IEI_CONCAT_16, &[r1, r2, t, n]) => {
            parsed.concat = concat(u16::from_be_bytes([r1, r2]), ReferenceWidth::Udh16, t, n)
        }
        (IEI_PORTS_8, &[d, s]) => {
            parsed.ports = Some(Ports {
                destination: u16::from(d),
                source: u16::from(s),
            })
        }
        (IEI_PORTS_16, &[d1, d2, s1, s2]) => {
            parsed.ports = Some(Ports {
                destination: u16::from_be_bytes([d1, d2]),
                source: u16::from_be_bytes([s1, s2]),
            })
        }
        (IEI_SINGLE_SHIFT, &[nli]) => parsed.single_nli = Some(nli),
        (IEI_LOCKING_SHIFT, &[nli]) => parsed.locking_nli = Some(nli),
        _ => {}
    }
}

/// Length in octets (length octet included) of the UDH that [`write`] produces.
pub fn len(concat: Option<ReferenceWidth>, tables: Gsm7Tables) -> usize {
    let concat_ie = match concat {
        Some(ReferenceWidth::Udh8) => 5,
        Some(ReferenceWidth::Udh16) => 6,
        Some(ReferenceWidth::Sar) | None => 0,
    };
    let body = concat_ie + 3 * tables.shift_ies();
    if body == 0 { 0 } else { body + 1 }
}

/// Appends a UDH with a concatenation IE (when `concat` is a UDH form) and the shift IEs
/// of `tables`; appends nothing when neither is needed.
pub fn write(concat: Option<(ReferenceWidth, ConcatInfo)>, tables: Gsm7Tables, out: &mut Vec<u8>) {
    let total_len = len(concat.map(|(w, _)| w), tables);
    if total_len == 0 {
        return;
    }
    out.push((total_len - 1) as u8);
    match concat {
        Some((ReferenceWidth::Udh8, c)) => {
            out.extend_from_slice(&[IEI_CONCAT_8, 3, c.reference as u8, c.total, c.seqnum])
        }
        Some((ReferenceWidth::Udh16, c)) => {
            let [r1, r2] = c.reference.to_be_bytes();
            out.extend_from_slice(&[IEI_CONCAT_16, 4, r1, r2, c.total, c.seqnum])
        }
        Some((ReferenceWidth::Sar, _)) | None => {}
    }
    if let Some(lang) = tables.locking {
        out.extend_from_slice(&[IEI_LOCKING_SHIFT, 1, ShiftLanguage::nli(lang)]);
    }
    if let Some(lang) = tables.single {
        out.extend_from_slice(&[IEI_SINGLE_SHIFT, 1, ShiftLanguage::nli(lang)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_classic_8_bit_header() {
        let mut out = Vec::new();
        let c = ConcatInfo {
            reference: 0x2A,
            width: ReferenceWidth::Udh8,
            total: 3,
            seqnum: 1,
        };
        write(
            Some((ReferenceWidth::Udh8, c)),
            Gsm7Tables::DEFAULT,
            &mut out,
        );
        assert_eq!(out, [0x05, 0x00, 0x03, 0x2A, 0x03, 0x01]);
        assert_eq!(len(Some(ReferenceWidth::Udh8), Gsm7Tables::DEFAULT), 6);
        assert_eq!(len(Some(ReferenceWidth::Udh16), Gsm7Tables::DEFAULT), 7);
        assert_eq!(len(None, Gsm7Tables::DEFAULT), 0);
    }

    #[test]
    fn reads_several_information_elements() {
        let udh = [
            0x0E, 0x08, 0x04, 0x12, 0x34, 0x02, 0x02, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x24,
            0x01, 0x01, 0xAA,
        ];
        // 0x0E says 14 octets follow, so the last IE (0x24, length 1) has no data octet.
        assert!(parse(&udh).is_err());
        let udh = [
            0x0F, 0x08, 0x04, 0x12, 0x34, 0x02, 0x02, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x24,
            0x01, 0x01, 0x61,
        ];
        let p = parse(&udh).unwrap();
        assert_eq!(p.len, 16);
        assert_eq!(
            p.concat,
            Some(ConcatInfo {
                reference: 0x1234,
                width: ReferenceWidth::Udh16,
                total: 2,
                seqnum: 2
            })
        );
        assert_eq!(
            p.ports,
            Some(Ports {
                destination: 0x0B84,
                source: 0x23F0
            })
        );
        assert_eq!(p.single_nli, Some(1));
    }

    #[test]
    fn ignores_a_concatenation_ie_receivers_must_ignore() {
        let p = parse(&[0x05, 0x00, 0x03, 0x01, 0x02, 0x03]).unwrap();
        assert_eq!(p.concat, None, "part 3 of 2");
        let p = parse(&[0x05, 0x00, 0x03, 0x01, 0x00, 0x00]).unwrap();
        assert_eq!(p.concat, None, "total 0");
    }
}
