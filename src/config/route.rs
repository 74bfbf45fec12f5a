//! `[carriers.text]`: how a carrier takes text — the alphabet behind `data_coding` 0,
//! GSM7 packing, how long messages are tied together, national shift tables and smart
//! encoding. Validated into the text module's [`RouteProfile`], which plans MTs sent
//! through that carrier (and so their encoding and segment count).

use serde::Deserialize;

use super::check::Checker;
use super::error::KeyPath;
use crate::text::{Alphabet, Concatenation, RouteProfile, ShiftLanguage};

/// `[carriers.text]` as written in the file. Unknown words are refused while parsing,
/// with the list of known ones.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCarrierText {
    pub alphabet: Option<Alphabet>,
    pub gsm7_packed: Option<bool>,
    pub concatenation: Option<Concatenation>,
    #[serde(default)]
    pub shift_tables: Vec<ShiftLanguage>,
    pub smart_encoding: Option<bool>,
}

pub(super) fn validate_text(c: &mut Checker, path: &KeyPath, r: &RawCarrierText) -> RouteProfile {
    let path = path.key("text");
    let d = RouteProfile::default();
    let alphabet = r.alphabet.unwrap_or(d.alphabet);
    for (i, lang) in r.shift_tables.iter().enumerate() {
        if r.shift_tables[..i].contains(lang) {
            c.error(
                &path.key("shift_tables").index(i),
                format!("`{lang}` is listed twice"),
            );
        }
    }
    if alphabet != Alphabet::Gsm7 && !r.shift_tables.is_empty() {
        c.error(
            &path.key("shift_tables"),
            "shift tables extend GSM7; this carrier's alphabet is not gsm7",
        );
    }
    if alphabet != Alphabet::Gsm7 && r.gsm7_packed == Some(true) {
        c.error(
            &path.key("gsm7_packed"),
            "packing applies to GSM7; this carrier's alphabet is not gsm7",
        );
    }
    RouteProfile {
        alphabet,
        gsm7_packed: r.gsm7_packed.unwrap_or(d.gsm7_packed),
        concatenation: r.concatenation.unwrap_or(d.concatenation),
        shift_tables: r.shift_tables.clone(),
        smart_encoding: r.smart_encoding.unwrap_or(d.smart_encoding),
    }
}
