//! Delivery receipts as a carrier sends them: a deliver_sm with esm_class 0x04, the
//! SMPP 3.4 Appendix B text, and the receipted_message_id and message_state TLVs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use rusmpp::pdus::DeliverSm;
use rusmpp::tlvs::MessageDeliveryRequestTlvValue;
use rusmpp::types::{COctetString, OctetString};
use rusmpp::values::{EsmClass, MessageState, Npi, Ton};

pub use crate::config::simulator::ReceiptOutcome;
use crate::config::simulator::{ReceiptMix, ReceiptsConfig};

impl ReceiptOutcome {
    /// The `stat:` word.
    pub fn stat(self) -> &'static str {
        match self {
            Self::Delivered => "DELIVRD",
            Self::Undeliverable => "UNDELIV",
            Self::Expired => "EXPIRED",
            Self::Rejected => "REJECTD",
        }
    }

    /// The message_state TLV value.
    pub fn state(self) -> MessageState {
        match self {
            Self::Delivered => MessageState::Delivered,
            Self::Undeliverable => MessageState::Undeliverable,
            Self::Expired => MessageState::Expired,
            Self::Rejected => MessageState::Rejected,
        }
    }

    /// The `err:` code (network-specific; 000 on success).
    pub fn err(self) -> &'static str {
        match self {
            Self::Delivered => "000",
            Self::Undeliverable => "001",
            Self::Expired => "002",
            Self::Rejected => "003",
        }
    }

    fn is_success(self) -> bool {
        self == Self::Delivered
    }

    /// Whether `registered_delivery` asks for a receipt with this outcome
    /// (bits 1–0: 1 = always, 2 = on failure, 3 = on success).
    pub fn wanted_by(self, registered_delivery: u8) -> bool {
        match registered_delivery & 0x03 {
            1 => true,
            2 => !self.is_success(),
            3 => self.is_success(),
            _ => false,
        }
    }
}

/// Picks outcomes in proportion to the configured weights, deterministically: over any
/// run of `total weight` receipts the counts match the weights exactly.
#[derive(Debug)]
pub struct OutcomePicker {
    mix: ReceiptMix,
    next: AtomicU64,
}

impl OutcomePicker {
    /// A picker for `mix` (whose weights add up to more than 0).
    pub fn new(mix: ReceiptMix) -> Self {
        Self {
            mix,
            next: AtomicU64::new(0),
        }
    }

    /// The next outcome.
    pub fn pick(&self) -> ReceiptOutcome {
        let m = &self.mix;
        let weights = [
            (ReceiptOutcome::Delivered, m.delivered),
            (ReceiptOutcome::Undeliverable, m.undeliverable),
            (ReceiptOutcome::Expired, m.expired),
            (ReceiptOutcome::Rejected, m.rejected),
        ];
        let total: u64 = weights.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut slot = self.next.fetch_add(1, Ordering::Relaxed) % total.max(1);
        for (outcome, weight) in weights {
            if slot < u64::from(weight) {
                return outcome;
            }
            slot -= u64::from(weight);
        }
        ReceiptOutcome::Delivered
    }
}

/// `YYMMDDhhmm` in UTC.
pub fn receipt_date(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let (year, month, day) = civil_from_days(days);
    let minute_of_day = secs % 86_400 / 60;
    format!(
        "{:02}{month:02}{day:02}{:02}{:02}",
        year % 100,
        minute_of_day / 60,
        minute_of_day % 60
    )
}

/// Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The Appendix B receipt text.
pub fn receipt_text(
    message_id: &str,
    report: &ReceiptReport,
    submitted: SystemTime,
    done: SystemTime,
    original: &[u8],
) -> String {
    let outcome = report.outcome;
    let dlvrd = if outcome == ReceiptOutcome::Delivered {
        "001"
    } else {
        "000"
    };
    let text: String = original
        .iter()
        .take(20)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    format!(
        "id:{message_id} sub:001 dlvrd:{dlvrd} submit date:{} done date:{} stat:{} err:{} text:{text}",
        receipt_date(submitted),
        receipt_date(done),
        outcome.stat(),
        report.err,
    )
}

/// What the simulator keeps of a submit to send its receipt later.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The message id as the receipt reports it: the one returned in submit_sm_resp,
    /// written as `[receipts] id_form` says.
    pub message_id: String,
    /// The submit's source (the receipt's destination).
    pub source: COctetString<1, 21>,
    /// The submit's destination (the receipt's source).
    pub destination: COctetString<1, 21>,
    /// The first octets of the submitted text.
    pub text: Vec<u8>,
    /// Which part of a concatenated message it was (1-based; 1 when not split).
    pub part: u8,
    /// When it was accepted.
    pub at: SystemTime,
}

/// What one receipt reports: its outcome and `err:` code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptReport {
    /// The final state.
    pub outcome: ReceiptOutcome,
    /// The `err:` code.
    pub err: String,
}

impl From<ReceiptOutcome> for ReceiptReport {
    /// The outcome with its default `err:` code.
    fn from(outcome: ReceiptOutcome) -> Self {
        ReceiptReport {
            outcome,
            err: outcome.err().into(),
        }
    }
}

/// The report for part `part` of a submit to `destination`: the first rule covering it,
/// or the next outcome of the weights.
pub fn report_for(
    cfg: &ReceiptsConfig,
    picker: &OutcomePicker,
    destination: &str,
    part: u8,
) -> ReceiptReport {
    match cfg.rule_for(destination, part) {
        Some(rule) => ReceiptReport {
            outcome: rule.outcome,
            err: rule
                .err
                .clone()
                .unwrap_or_else(|| rule.outcome.err().into()),
        },
        None => picker.pick().into(),
    }
}

/// The receipt deliver_sm for a submitted message.
pub fn build(submitted: &Submitted, report: &ReceiptReport) -> DeliverSm {
    let outcome = report.outcome;
    let text = receipt_text(
        &submitted.message_id,
        report,
        submitted.at,
        SystemTime::now(),
        &submitted.text,
    );
    let short_message =
        OctetString::from_vec(text.into_bytes()).unwrap_or_else(|_| OctetString::empty());
    let receipted = COctetString::from_string(submitted.message_id.clone()).unwrap_or_default();
    DeliverSm::builder()
        .source_addr_ton(Ton::International)
        .source_addr_npi(Npi::Isdn)
        .source_addr(submitted.destination.clone())
        .dest_addr_ton(Ton::Unknown)
        .dest_addr_npi(Npi::Unknown)
        .destination_addr(submitted.source.clone())
        .esm_class(EsmClass::from(0x04))
        .short_message(short_message)
        .tlvs(vec![
            MessageDeliveryRequestTlvValue::ReceiptedMessageId(receipted),
            MessageDeliveryRequestTlvValue::MessageState(outcome.state()),
        ])
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_yymmddhhmm_utc() {
        // 2026-03-01 13:45:00 UTC
        let t = UNIX_EPOCH + Duration::from_secs(1_772_372_700);
        assert_eq!(receipt_date(t), "2603011345");
    }

    #[test]
    fn text_follows_appendix_b() {
        let t = UNIX_EPOCH + Duration::from_secs(1_772_372_700);
        let report = ReceiptOutcome::Undeliverable.into();
        let text = receipt_text("1a2b", &report, t, t, b"Hello there");
        assert_eq!(
            text,
            "id:1a2b sub:001 dlvrd:000 submit date:2603011345 done date:2603011345 \
             stat:UNDELIV err:001 text:Hello there"
        );
    }

    #[test]
    fn picker_follows_the_weights() {
        let picker = OutcomePicker::new(ReceiptMix {
            delivered: 3,
            undeliverable: 1,
            expired: 0,
            rejected: 1,
        });
        let picks: Vec<_> = (0..5).map(|_| picker.pick()).collect();
        let count = |o| picks.iter().filter(|&&p| p == o).count();
        assert_eq!(count(ReceiptOutcome::Delivered), 3);
        assert_eq!(count(ReceiptOutcome::Undeliverable), 1);
        assert_eq!(count(ReceiptOutcome::Rejected), 1);
    }

    #[test]
    fn registered_delivery_selects_outcomes() {
        assert!(ReceiptOutcome::Delivered.wanted_by(1));
        assert!(!ReceiptOutcome::Delivered.wanted_by(2));
        assert!(ReceiptOutcome::Expired.wanted_by(2));
        assert!(!ReceiptOutcome::Expired.wanted_by(3));
        assert!(!ReceiptOutcome::Delivered.wanted_by(0));
    }

    #[test]
    fn a_rule_decides_the_parts_it_covers_and_the_weights_the_rest() {
        let raw: crate::config::simulator::RawSimulator = toml::from_str(
            r#"
            [receipts]
            delivered = 1
            rejected = 1
            [[receipts.rules]]
            destination = "1415"
            segments = [2]
            outcome = "undeliverable"
            err = "027"
            "#,
        )
        .unwrap();
        let cfg = crate::config::simulator::SimulatorConfig::try_from(raw)
            .unwrap()
            .receipts;
        let picker = OutcomePicker::new(cfg.mix.clone());
        let report = |destination, part| report_for(&cfg, &picker, destination, part);
        let failing = report("+14155550123", 2);
        assert_eq!(failing.outcome, ReceiptOutcome::Undeliverable);
        assert_eq!(failing.err, "027");
        // Not covered: the weights, in turn, with their default codes.
        assert_eq!(report("+14155550123", 1), ReceiptOutcome::Delivered.into());
        assert_eq!(report("+4420", 2), ReceiptOutcome::Rejected.into());
    }
}
