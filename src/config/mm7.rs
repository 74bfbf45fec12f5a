//! `[carriers.mm7]`: how a carrier's MMSC is reached over MM7, and the MMS limits of
//! that route; plus `mms_fallback`, what an MT with media does where MMS cannot go.
//!
//! The outbound keys (`mmsc_*`, `vasp_id`, `vas_id`, `version`, limits and timers) make
//! the carrier an MMS route: an MT with media from an MMS-capable sender is submitted
//! there as a SubmitReq. A carrier without `mmsc_url` carries no MMS. The table's
//! inbound keys (how the MMSC identifies itself to us) are validated by `super::mms`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::check::Checker;
use super::error::KeyPath;
use super::mms::RawCarrierMm7;
use super::secret::{RawSecret, Secret};
use crate::number::SenderKind;

/// What an MT with media does when its sender or route cannot send MMS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MmsFallback {
    /// Refuse it with `media_not_supported`.
    #[default]
    Refuse,
    /// Send the text as SMS followed by a link to each attachment.
    SmsLink,
}

impl MmsFallback {
    /// The configured name.
    pub fn as_str(self) -> &'static str {
        match self {
            MmsFallback::Refuse => "refuse",
            MmsFallback::SmsLink => "sms_link",
        }
    }
}

/// The MM7 schema release a carrier speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mm7Version {
    /// REL-5-MM7-1-2, MM7Version 5.3.0.
    Rel5,
    /// REL-6-MM7-1-4, MM7Version 6.8.0.
    #[default]
    Rel6,
}

/// A carrier's MMSC as the MM7 client reaches it.
#[derive(Debug, Clone, PartialEq)]
pub struct Mmsc {
    pub url: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub vasp_id: Option<String>,
    pub vas_id: Option<String>,
    pub version: Mm7Version,
    pub max_message_bytes: usize,
    /// Limits below `max_message_bytes` for some sender kinds.
    pub max_message_bytes_by_kind: BTreeMap<SenderKindKey, usize>,
    pub max_attachments: usize,
    pub submit_timeout: Duration,
    pub connect_timeout: Duration,
    pub max_response_bytes: usize,
}

/// A sender kind as a limit table's key (the kinds that can send MMS).
pub type SenderKindKey = &'static str;

impl Mmsc {
    /// The largest message a sender of `kind` may send through this MMSC.
    pub fn limit_for(&self, kind: SenderKind) -> usize {
        self.max_message_bytes_by_kind
            .get(kind.as_str())
            .copied()
            .unwrap_or(self.max_message_bytes)
            .min(self.max_message_bytes)
    }
}

/// The default content limit: the 600 KB carriers advise for MMS that must reach every
/// handset (REFERENCE §4).
const DEFAULT_MAX_MESSAGE_BYTES: usize = 600 * 1024;
/// Bandwidth's ceiling on files per message (REFERENCE §4).
const DEFAULT_MAX_ATTACHMENTS: usize = 10;
const KINDS: [SenderKind; 3] = [
    SenderKind::Longcode,
    SenderKind::Shortcode,
    SenderKind::TollFree,
];

/// Validates the outbound keys of `[carriers.mm7]` of the carrier at `carrier`: the
/// MMSC MT MMS go to, or `None` when the carrier takes no MT MMS.
pub fn validate_mmsc(c: &mut Checker, carrier: &KeyPath, r: &RawCarrierMm7) -> Option<Mmsc> {
    let path = carrier.key("mm7");
    match &r.mmsc_url {
        Some(url) => Some(mmsc(c, &path, url, r)),
        None => {
            let outbound_keys = r.mmsc_username.is_some()
                || r.mmsc_password.is_some()
                || r.mmsc_password_file.is_some()
                || r.mmsc_password_env.is_some()
                || r.vasp_id.is_some()
                || r.vas_id.is_some();
            if outbound_keys {
                c.error(
                    &path.key("mmsc_url"),
                    "required when MMSC credentials or ids are given",
                );
            }
            None
        }
    }
}

fn mmsc(c: &mut Checker, path: &KeyPath, url: &str, r: &RawCarrierMm7) -> Mmsc {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => {}
        Ok(_) => c.error(&path.key("mmsc_url"), "must be an http:// or https:// URL"),
        Err(e) => c.error(&path.key("mmsc_url"), format!("`{url}` is not a URL: {e}")),
    }
    let secret = RawSecret {
        inline: r.mmsc_password.clone(),
        file: r.mmsc_password_file.clone(),
        env: r.mmsc_password_env.clone(),
    };
    let password = secret.resolve(c, path, "mmsc_password", false);
    if password.is_some() && r.mmsc_username.is_none() {
        c.error(&path.key("mmsc_username"), "required with mmsc_password");
    }
    for (key, value) in [("vasp_id", &r.vasp_id), ("vas_id", &r.vas_id)] {
        if let Some(v) = value {
            c.text(&path.key(key), v, 64);
        }
    }
    let version = match r.version.as_deref() {
        None | Some("6.8.0") => Mm7Version::Rel6,
        Some("5.3.0") => Mm7Version::Rel5,
        Some(other) => {
            c.error(
                &path.key("version"),
                format!("`{other}` is not supported; use \"6.8.0\" or \"5.3.0\""),
            );
            Mm7Version::Rel6
        }
    };
    let max_message_bytes = c.range(
        &path.key("max_message_bytes"),
        r.max_message_bytes,
        DEFAULT_MAX_MESSAGE_BYTES,
        1_024,
        100 * 1_048_576,
    );
    let mut by_kind = BTreeMap::new();
    for (kind, bytes) in &r.max_message_bytes_by_kind {
        let key = path.key("max_message_bytes_by_kind").key(kind);
        let Some(known) = KINDS.iter().find(|k| k.as_str() == kind) else {
            c.error(
                &key,
                "not a sender kind that sends MMS; use longcode, shortcode or toll_free",
            );
            continue;
        };
        by_kind.insert(
            known.as_str(),
            c.range(
                &key,
                Some(*bytes),
                max_message_bytes,
                1_024,
                max_message_bytes,
            ),
        );
    }
    let d = |c: &mut Checker, key: &str, v: &Option<String>, default: u64| {
        c.duration(
            &path.key(key),
            v.as_deref(),
            Duration::from_secs(default),
            Duration::from_millis(100),
            Duration::from_secs(600),
        )
    };
    Mmsc {
        url: url.to_owned(),
        username: r.mmsc_username.clone(),
        password,
        vasp_id: r.vasp_id.clone(),
        vas_id: r.vas_id.clone(),
        version,
        max_message_bytes,
        max_message_bytes_by_kind: by_kind,
        max_attachments: c.range(
            &path.key("max_attachments"),
            r.max_attachments,
            DEFAULT_MAX_ATTACHMENTS,
            1,
            100,
        ),
        submit_timeout: d(c, "submit_timeout", &r.submit_timeout, 60),
        connect_timeout: d(c, "connect_timeout", &r.connect_timeout, 10),
        max_response_bytes: c.range(
            &path.key("max_response_bytes"),
            r.max_response_bytes,
            64 * 1024,
            1_024,
            1_048_576,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(toml_text: &str) -> RawCarrierMm7 {
        toml::from_str(toml_text).unwrap()
    }

    fn check(r: &RawCarrierMm7) -> (Option<Mmsc>, Vec<String>) {
        let mut c = Checker::new();
        let out = validate_mmsc(&mut c, &KeyPath::root().key("carriers").index(0), r);
        let errors = c
            .into_errors()
            .into_iter()
            .map(|(p, m)| format!("{p}: {m}"))
            .collect();
        (out, errors)
    }

    #[test]
    fn a_carrier_without_an_mmsc_url_carries_no_mms() {
        let (mmsc, errors) = check(&raw(""));
        assert!(errors.is_empty());
        assert_eq!(mmsc, None);
    }

    #[test]
    fn limits_per_kind_narrow_the_carrier_limit() {
        let (mmsc, errors) = check(&raw(r#"mmsc_url = "https://mmsc.example.net/mm7"
               max_message_bytes = 1048576
               [max_message_bytes_by_kind]
               toll_free = 614400"#));
        assert!(errors.is_empty(), "{errors:?}");
        let mmsc = mmsc.unwrap();
        assert_eq!(mmsc.limit_for(SenderKind::TollFree), 614_400);
        assert_eq!(mmsc.limit_for(SenderKind::Longcode), 1_048_576);
        assert_eq!(mmsc.version, Mm7Version::Rel6);
    }

    #[test]
    fn bad_keys_are_refused_at_their_place() {
        let (_, errors) = check(&raw(r#"mmsc_url = "ftp://mmsc.example.net"
               mmsc_password = "pw"
               version = "7.0"
               [max_message_bytes_by_kind]
               alphanumeric = 2000"#));
        let joined = errors.join("\n");
        assert!(
            joined.contains("carriers[0].mm7.mmsc_url: must be an http"),
            "{joined}"
        );
        assert!(
            joined.contains("carriers[0].mm7.mmsc_username: required"),
            "{joined}"
        );
        assert!(joined.contains("carriers[0].mm7.version"), "{joined}");
        assert!(
            joined.contains("carriers[0].mm7.max_message_bytes_by_kind.alphanumeric"),
            "{joined}"
        );
    }

    #[test]
    fn credentials_without_a_url_are_refused() {
        let (_, errors) = check(&raw(r#"mmsc_username = "vasp""#));
        assert_eq!(
            errors,
            vec!["carriers[0].mm7.mmsc_url: required when MMSC credentials or ids are given"]
        );
    }
}
