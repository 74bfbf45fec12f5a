//! Metric names of the consent module, and their descriptions.

use super::{ConsentEventKind, KeywordKind};

/// Counter: MOs that were a consent keyword, by `kind` (`opt_out`, `opt_in`, `help`).
pub const CONSENT_KEYWORDS_TOTAL: &str = "smsbridge_consent_keywords_total";
/// Counter: consent changes recorded, by `change` (`opted_out`, `opted_in`).
pub const CONSENT_CHANGES_TOTAL: &str = "smsbridge_consent_changes_total";
/// Counter: MTs refused because the contact opted out.
pub const CONSENT_MT_REFUSED_TOTAL: &str = "smsbridge_consent_mt_refused_total";

/// Describes every metric above to the installed recorder.
pub fn describe() {
    metrics::describe_counter!(
        CONSENT_KEYWORDS_TOTAL,
        "MOs that were a consent keyword, by kind"
    );
    metrics::describe_counter!(
        CONSENT_CHANGES_TOTAL,
        "Opt-outs recorded and opt-outs lifted, by change"
    );
    metrics::describe_counter!(
        CONSENT_MT_REFUSED_TOTAL,
        "MTs refused because the contact opted out"
    );
}

pub(crate) fn keyword_received(kind: KeywordKind) {
    metrics::counter!(CONSENT_KEYWORDS_TOTAL, "kind" => kind.as_str()).increment(1);
}

pub(crate) fn consent_changed(kind: ConsentEventKind) {
    let change = match kind {
        ConsentEventKind::OptedOut => "opted_out",
        ConsentEventKind::OptedIn => "opted_in",
    };
    metrics::counter!(CONSENT_CHANGES_TOTAL, "change" => change).increment(1);
}

pub(crate) fn mt_refused() {
    metrics::counter!(CONSENT_MT_REFUSED_TOTAL).increment(1);
}
