//! `submit date:` and `done date:` values: `YYMMDDhhmm` (Appendix B) or
//! `YYMMDDhhmmss` (many SMSCs add seconds).
//!
//! The time zone is the SMSC's and is never stated, so a [`ReceiptTime`] keeps the
//! fields as written; [`ReceiptTime::assuming_utc`] converts when the operator knows the
//! carrier writes UTC.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

/// A receipt's date and time as the carrier wrote it (time zone unstated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReceiptTime {
    /// Four-digit year (`YY` is read as 20YY).
    pub year: u16,
    /// 1..=12.
    pub month: u8,
    /// 1..=31.
    pub day: u8,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=59; `None` when the carrier wrote ten digits.
    pub second: Option<u8>,
}

impl ReceiptTime {
    /// Reads ten or twelve ASCII digits; anything else (other lengths, letters, a
    /// month 13) is `None`, never an error: a receipt with an odd date still counts.
    pub fn parse(text: &str) -> Option<Self> {
        let digits = text.as_bytes();
        if !(digits.len() == 10 || digits.len() == 12) || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let pair = |i: usize| (digits[i] - b'0') * 10 + (digits[i + 1] - b'0');
        let time = ReceiptTime {
            year: 2000 + u16::from(pair(0)),
            month: pair(2),
            day: pair(4),
            hour: pair(6),
            minute: pair(8),
            second: (digits.len() == 12).then(|| pair(10)),
        };
        let valid = (1..=12).contains(&time.month)
            && (1..=31).contains(&time.day)
            && time.hour < 24
            && time.minute < 60
            && time.second.is_none_or(|s| s < 60);
        valid.then_some(time)
    }

    /// The instant this names if the carrier writes UTC.
    pub fn assuming_utc(&self) -> SystemTime {
        let days = days_from_civil(
            i64::from(self.year),
            u32::from(self.month),
            u32::from(self.day),
        );
        let secs = days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second.unwrap_or(0));
        // Years 2000..=2099 are always after the epoch.
        UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64)
    }
}

/// Days since 1970-01-01 of a Gregorian date (the inverse of the usual civil-from-days).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl fmt::Display for ReceiptTime {
    /// `2026-03-01 13:45` or `2026-03-01 13:45:07`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute
        )?;
        if let Some(second) = self.second {
            write!(f, ":{second:02}")?;
        }
        Ok(())
    }
}

impl Serialize for ReceiptTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_and_twelve_digits_are_read() {
        let t = ReceiptTime::parse("2603011345").unwrap();
        assert_eq!(t.to_string(), "2026-03-01 13:45");
        let t = ReceiptTime::parse("260301134507").unwrap();
        assert_eq!(t.to_string(), "2026-03-01 13:45:07");
    }

    #[test]
    fn odd_values_are_not_dates() {
        for bad in [
            "",
            "26030113",
            "26130113450",
            "2613011345",
            "2603011360",
            "26O3011345",
        ] {
            assert_eq!(ReceiptTime::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn utc_conversion_matches_the_calendar() {
        // 2026-03-01 13:45:00 UTC
        let t = ReceiptTime::parse("2603011345").unwrap();
        assert_eq!(
            t.assuming_utc(),
            UNIX_EPOCH + Duration::from_secs(1_772_372_700)
        );
        let leap = ReceiptTime::parse("240229000000").unwrap();
        assert_eq!(
            leap.assuming_utc(),
            UNIX_EPOCH + Duration::from_secs(1_709_164_800)
        );
    }
}
