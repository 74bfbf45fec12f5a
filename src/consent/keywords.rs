//! Consent keywords and how a message is matched against them.
//!
//! A message is a keyword only when the *whole* message is one: "STOP", "stop", " Stop! ",
//! "STOP." and "opt-out" are; "stop it", "please stop" and "STOPPED" are not. Matching
//! trims everything that is not a letter or digit from both ends (spaces, punctuation,
//! emoji), folds case, and treats runs of spaces, hyphens and underscores inside as one
//! space, so "Opt  Out", "opt-out" and "OPT_OUT" all read "OPT OUT". Keywords in the
//! configuration go through the same normalisation, so they match what customers type.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ConsentError;

/// No keyword is longer than this once normalised; longer messages are not looked at.
pub const MAX_KEYWORD_CHARS: usize = 32;
/// At most this many words per set.
pub const MAX_WORDS_PER_SET: usize = 32;

/// What a keyword asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeywordKind {
    /// Stop messaging me (STOP, UNSUBSCRIBE, …).
    OptOut,
    /// Start again (START, UNSTOP, YES).
    OptIn,
    /// Tell me who you are and how to stop (HELP, INFO).
    Help,
}

impl KeywordKind {
    /// The snake_case name, for metric labels and logs.
    pub fn as_str(&self) -> &'static str {
        match self {
            KeywordKind::OptOut => "opt_out",
            KeywordKind::OptIn => "opt_in",
            KeywordKind::Help => "help",
        }
    }
}

/// A message that is a keyword: what it asks for and the word, normalised ("OPT OUT").
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Keyword {
    /// What the keyword asks for.
    pub kind: KeywordKind,
    /// The word as matched, normalised.
    pub word: String,
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.word)
    }
}

/// The three sets of keywords of one sender (or the defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeywordSet {
    opt_out: Vec<String>,
    opt_in: Vec<String>,
    help: Vec<String>,
}

impl KeywordSet {
    /// Normalises every word and checks the sets: no empty word, none longer than
    /// [`MAX_KEYWORD_CHARS`], at most [`MAX_WORDS_PER_SET`] per set, and no word in two
    /// sets (a word cannot both stop and start messages). The opt-out set may not be empty:
    /// a sender must always honour a revocation.
    pub fn new<S: AsRef<str>>(
        opt_out: &[S],
        opt_in: &[S],
        help: &[S],
    ) -> Result<Self, ConsentError> {
        let set = KeywordSet {
            opt_out: normalise_set("opt_out", opt_out)?,
            opt_in: normalise_set("opt_in", opt_in)?,
            help: normalise_set("help", help)?,
        };
        if set.opt_out.is_empty() {
            return Err(ConsentError::NoOptOutKeyword);
        }
        let all = set.words().collect::<Vec<_>>();
        for (position, (_, word)) in all.iter().enumerate() {
            if let Some((kind, _)) = all[..position].iter().find(|(_, other)| other == word) {
                return Err(ConsentError::KeywordInTwoSets {
                    word: word.to_string(),
                    first: kind.as_str(),
                });
            }
        }
        Ok(set)
    }

    /// The recommended sets: opt-out STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE,
    /// OPTOUT and "OPT OUT" (the FCC's list of words that revoke consent on their own);
    /// opt-in START, UNSTOP, YES; help HELP, INFO.
    pub fn recommended() -> Self {
        let words = |list: &[&str]| list.iter().map(|w| (*w).to_owned()).collect();
        KeywordSet {
            opt_out: words(&[
                "STOP",
                "STOPALL",
                "UNSUBSCRIBE",
                "CANCEL",
                "END",
                "QUIT",
                "REVOKE",
                "OPTOUT",
                "OPT OUT",
            ]),
            opt_in: words(&["START", "UNSTOP", "YES"]),
            help: words(&["HELP", "INFO"]),
        }
    }

    /// The opt-out words, normalised.
    pub fn opt_out(&self) -> &[String] {
        &self.opt_out
    }

    /// The opt-in words, normalised.
    pub fn opt_in(&self) -> &[String] {
        &self.opt_in
    }

    /// The help words, normalised.
    pub fn help(&self) -> &[String] {
        &self.help
    }

    /// The keyword `text` is, if it is one.
    pub fn classify(&self, text: &str) -> Option<Keyword> {
        let normalised = normalise(text)?;
        self.words()
            .find(|(_, word)| **word == normalised)
            .map(|(kind, word)| Keyword {
                kind,
                word: word.clone(),
            })
    }

    fn words(&self) -> impl Iterator<Item = (KeywordKind, &String)> {
        fn tag(
            kind: KeywordKind,
            words: &[String],
        ) -> impl Iterator<Item = (KeywordKind, &String)> {
            words.iter().map(move |w| (kind, w))
        }
        tag(KeywordKind::OptOut, &self.opt_out)
            .chain(tag(KeywordKind::OptIn, &self.opt_in))
            .chain(tag(KeywordKind::Help, &self.help))
    }
}

impl Default for KeywordSet {
    fn default() -> Self {
        KeywordSet::recommended()
    }
}

/// The keyword `text` is under `set`, if it is one.
pub fn classify(text: &str, set: &KeywordSet) -> Option<Keyword> {
    set.classify(text)
}

/// The form keywords are compared in, or `None` when `text` cannot be a keyword (empty
/// once trimmed, or longer than any keyword).
pub fn normalise(text: &str) -> Option<String> {
    // Cheap guard first: a long message is a conversation, not a keyword, and folding
    // case on a 1000-character message for nothing is waste.
    if text.len() > 4 * MAX_KEYWORD_CHARS + 64 {
        return None;
    }
    // Fold case before trimming: upper-casing can produce combining marks ("ὒ" becomes
    // "Υ" plus two accents), which the trim must see.
    let upper = text.to_uppercase();
    let core = upper.trim_matches(|c: char| !c.is_alphanumeric());
    let mut out = String::with_capacity(core.len());
    let mut gap = false;
    for c in core.chars() {
        if c.is_whitespace() || c == '-' || c == '_' {
            gap = true;
            continue;
        }
        if gap && !out.is_empty() {
            out.push(' ');
        }
        gap = false;
        out.push(c);
    }
    let chars = out.chars().count();
    (chars > 0 && chars <= MAX_KEYWORD_CHARS).then_some(out)
}

fn normalise_set<S: AsRef<str>>(
    set: &'static str,
    words: &[S],
) -> Result<Vec<String>, ConsentError> {
    if words.len() > MAX_WORDS_PER_SET {
        return Err(ConsentError::TooManyKeywords {
            set,
            count: words.len(),
        });
    }
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    for word in words {
        let word = word.as_ref();
        let normalised = normalise(word).ok_or_else(|| ConsentError::BadKeyword {
            set,
            word: word.to_owned(),
        })?;
        if !out.contains(&normalised) {
            out.push(normalised);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Option<KeywordKind> {
        KeywordSet::recommended().classify(text).map(|k| k.kind)
    }

    #[test]
    fn normalisation_trims_folds_and_joins() {
        assert_eq!(normalise("  stop!! ").as_deref(), Some("STOP"));
        assert_eq!(normalise("Opt-Out").as_deref(), Some("OPT OUT"));
        assert_eq!(normalise("opt   _out").as_deref(), Some("OPT OUT"));
        assert_eq!(
            normalise("\u{1F6D1} Stop \u{1F6D1}").as_deref(),
            Some("STOP")
        );
        assert_eq!(normalise("...").as_deref(), None);
        assert_eq!(normalise(&"a".repeat(33)), None);
    }

    #[test]
    fn recommended_words_match_their_kind() {
        for word in [
            "STOP",
            "stopall",
            "Unsubscribe",
            "cancel",
            "end",
            "quit",
            "revoke",
            "optout",
            "opt out",
        ] {
            assert_eq!(kind(word), Some(KeywordKind::OptOut), "{word}");
        }
        for word in ["start", "UNSTOP", "yes"] {
            assert_eq!(kind(word), Some(KeywordKind::OptIn), "{word}");
        }
        assert_eq!(kind("help"), Some(KeywordKind::Help));
        assert_eq!(kind("Info?"), Some(KeywordKind::Help));
        for text in [
            "stop it",
            "please stop",
            "STOPPED",
            "",
            "yes please",
            "s t o p",
        ] {
            assert_eq!(kind(text), None, "{text:?}");
        }
    }

    #[test]
    fn sets_refuse_a_word_in_two_sets_empty_words_and_no_opt_out() {
        let err = KeywordSet::new(&["STOP", "halt"], &["Halt!"], &["HELP"]).unwrap_err();
        assert!(
            matches!(err, ConsentError::KeywordInTwoSets { ref word, first: "opt_out" } if word == "HALT")
        );
        assert!(KeywordSet::new(&["STOP", "!!"], &[], &[]).is_err());
        assert!(matches!(
            KeywordSet::new::<&str>(&[], &["START"], &[]),
            Err(ConsentError::NoOptOutKeyword)
        ));
        let many: Vec<String> = (0..=MAX_WORDS_PER_SET).map(|i| format!("W{i}")).collect();
        assert!(KeywordSet::new(&many, &[], &[]).is_err());
    }

    #[test]
    fn configured_words_are_normalised_like_messages() {
        let set = KeywordSet::new(&["arrêt", "opt-out"], &["go on"], &["aide"]).unwrap();
        assert_eq!(set.opt_out(), ["ARRÊT", "OPT OUT"]);
        assert_eq!(set.classify("Arrêt.").unwrap().kind, KeywordKind::OptOut);
        assert_eq!(set.classify("opt out").unwrap().word, "OPT OUT");
        assert_eq!(set.classify("Go  On!").unwrap().kind, KeywordKind::OptIn);
        assert_eq!(
            set.classify("STOP"),
            None,
            "the sender's own set replaces the defaults"
        );
    }
}
