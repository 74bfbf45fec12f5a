//! Metric names of the consent module, and their descriptions.

use super::{ConsentEventKind, KeywordKind};

/// Counter: MOs that were a consent keyword, by `kind` (`opt_out`, `opt_in`, `help`).
pub const CONSENT_KEYWORDS_TOTAL: &str = "smsbridge_consent_keywords_total";
/// Counter: consent changes recorded, by `change` (`opted_out`, `opted_in`).
pub const CONSENT_CHANGES_TOTAL: &str = "smsbridge_consent_changes_total";
/// Counter: MTs refused because the contact opted out.
pub const CONSENT_MT_REFUSED_TOTAL: &str = "smsbridge_consent_mt_refused_total";
/// Counter: opt-outs changed through the admin API, by `change` (`added`, `removed`,
/// `imported`).
pub const CONSENT_ADMIN_CHANGES_TOTAL: &str = "smsbridge_consent_admin_changes_total";

/// A change made through the admin API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminChange {
    /// One opt-out added.
    Added,
    /// One opt-out removed.
    Removed,
    /// Opt-outs recorded by a CSV import.
    Imported,
}

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
    metrics::describe_counter!(
        CONSENT_ADMIN_CHANGES_TOTAL,
        "Opt-outs added, removed or imported through the admin API, by change"
    );
}

/// Counts `count` opt-outs changed through the admin API.
pub fn admin_changed(change: AdminChange, count: usize) {
    let change = match change {
        AdminChange::Added => "added",
        AdminChange::Removed => "removed",
        AdminChange::Imported => "imported",
    };
    metrics::counter!(CONSENT_ADMIN_CHANGES_TOTAL, "change" => change).increment(count as u64);
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
