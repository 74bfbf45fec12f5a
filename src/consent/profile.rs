//! Which keywords and replies apply to a sender, and how wide an opt-out reaches.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{ConsentError, KeywordSet, Scope};
use crate::number::{Sender, SenderAddress};

/// The longest reply we accept in configuration, in characters (the MT limit).
pub const MAX_REPLY_CHARS: usize = 1000;

/// What a sender answers to keywords. `None` sends nothing (for example where the
/// network itself confirms STOP on toll-free numbers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replies {
    opt_out: Option<String>,
    opt_in: Option<String>,
    help: Option<String>,
}

impl Replies {
    /// Checks each text: not blank, at most [`MAX_REPLY_CHARS`] characters.
    pub fn new(
        opt_out: Option<String>,
        opt_in: Option<String>,
        help: Option<String>,
    ) -> Result<Self, ConsentError> {
        for (which, text) in [("opt_out", &opt_out), ("opt_in", &opt_in), ("help", &help)] {
            let Some(text) = text else { continue };
            if text.trim().is_empty() || text.chars().count() > MAX_REPLY_CHARS {
                return Err(ConsentError::BadReply { which });
            }
        }
        Ok(Replies {
            opt_out,
            opt_in,
            help,
        })
    }

    /// Plain replies with no brand in them: one confirmation with no marketing, as the
    /// FCC allows, and a help text with the opt-out instructions.
    pub fn recommended() -> Self {
        Replies {
            opt_out: Some(
                "You are unsubscribed and will receive no more messages from this number. \
                 Reply START to subscribe again."
                    .to_owned(),
            ),
            opt_in: Some(
                "You are subscribed again. Reply STOP to unsubscribe, HELP for help.".to_owned(),
            ),
            help: Some(
                "Reply STOP to unsubscribe or START to subscribe again. Msg&data rates may apply."
                    .to_owned(),
            ),
        }
    }

    /// The confirmation of an opt-out.
    pub fn opt_out(&self) -> Option<&str> {
        self.opt_out.as_deref()
    }

    /// The confirmation of an opt-in.
    pub fn opt_in(&self) -> Option<&str> {
        self.opt_in.as_deref()
    }

    /// The answer to HELP.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }
}

impl Default for Replies {
    fn default() -> Self {
        Replies::recommended()
    }
}

/// The keywords and replies of one sender.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeywordProfile {
    /// The keywords.
    pub keywords: KeywordSet,
    /// The replies.
    pub replies: Replies,
}

/// What one sender's `keywords` table (or the `[consent]` defaults) changes, as written in
/// the config file. Absent fields keep the base profile's; a reply set to `""` sends none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileOverrides {
    /// Replaces the opt-out words.
    pub opt_out: Option<Vec<String>>,
    /// Replaces the opt-in words.
    pub opt_in: Option<Vec<String>>,
    /// Replaces the help words.
    pub help: Option<Vec<String>>,
    /// Replaces the opt-out confirmation (`""`: none).
    pub opt_out_reply: Option<String>,
    /// Replaces the opt-in confirmation (`""`: none).
    pub opt_in_reply: Option<String>,
    /// Replaces the help answer (`""`: none).
    pub help_reply: Option<String>,
}

impl KeywordProfile {
    /// This profile with `overrides` applied, checked.
    pub fn with_overrides(
        &self,
        overrides: ProfileOverrides,
    ) -> Result<KeywordProfile, ConsentError> {
        let words =
            |given: Option<Vec<String>>, base: &[String]| given.unwrap_or_else(|| base.to_vec());
        let keywords = KeywordSet::new(
            &words(overrides.opt_out, self.keywords.opt_out()),
            &words(overrides.opt_in, self.keywords.opt_in()),
            &words(overrides.help, self.keywords.help()),
        )?;
        let reply = |given: Option<String>, base: Option<&str>| match given {
            Some(text) if text.is_empty() => None,
            Some(text) => Some(text),
            None => base.map(str::to_owned),
        };
        let replies = Replies::new(
            reply(overrides.opt_out_reply, self.replies.opt_out()),
            reply(overrides.opt_in_reply, self.replies.opt_in()),
            reply(overrides.help_reply, self.replies.help()),
        )?;
        Ok(KeywordProfile { keywords, replies })
    }
}

/// How far an opt-out reaches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentScope {
    /// STOP to one sender stops that sender only.
    #[default]
    Sender,
    /// STOP to a sender with a brand stops every sender of the brand (senders without a
    /// brand are still per sender).
    Brand,
}

/// Everything consent is configured with, as plain fields for the config layer.
#[derive(Clone, Debug, Default)]
pub struct ConsentSettings {
    /// The profile of senders without their own.
    pub defaults: KeywordProfile,
    /// Senders with their own profile.
    pub senders: HashMap<SenderAddress, KeywordProfile>,
    /// How far an opt-out reaches.
    pub scope: ConsentScope,
}

/// The consent configuration in force.
#[derive(Clone, Debug, Default)]
pub struct ConsentPolicy {
    settings: ConsentSettings,
}

impl ConsentPolicy {
    /// The policy of `settings`; the parts were checked when they were built.
    pub fn new(settings: ConsentSettings) -> Self {
        ConsentPolicy { settings }
    }

    /// How far an opt-out reaches.
    pub fn scope_mode(&self) -> ConsentScope {
        self.settings.scope
    }

    /// The keywords and replies of `sender`.
    pub fn profile_for(&self, sender: &Sender) -> &KeywordProfile {
        self.settings
            .senders
            .get(sender.address())
            .unwrap_or(&self.settings.defaults)
    }

    /// Where an opt-out sent to `sender` is recorded.
    pub fn scope_for(&self, sender: &Sender) -> Scope {
        match (self.settings.scope, sender.brand()) {
            (ConsentScope::Brand, Some(brand)) => Scope::Brand(brand.to_owned()),
            _ => Scope::Sender(sender.address().clone()),
        }
    }

    /// Every scope whose opt-out stops messages from `sender`: the sender's own and, when
    /// it has a brand, the brand's. Both are checked whatever the current mode, so
    /// switching modes never un-suppresses anyone.
    pub fn scopes_blocking(&self, sender: &Sender) -> Vec<Scope> {
        let own = Scope::Sender(sender.address().clone());
        match sender.brand() {
            Some(brand) => vec![own, Scope::Brand(brand.to_owned())],
            None => vec![own],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_what_they_name_and_an_empty_reply_sends_none() {
        let base = KeywordProfile::default();
        let overrides: ProfileOverrides = toml::from_str(
            "opt_in = [\"START\", \"GO\"]\nopt_out_reply = \"\"\nhelp_reply = \"Acme: call 555-0100.\"",
        )
        .unwrap();
        let profile = base.with_overrides(overrides).unwrap();
        assert_eq!(profile.keywords.opt_out(), base.keywords.opt_out());
        assert_eq!(profile.keywords.opt_in(), ["START", "GO"]);
        assert_eq!(profile.replies.opt_out(), None);
        assert_eq!(profile.replies.opt_in(), base.replies.opt_in());
        assert_eq!(profile.replies.help(), Some("Acme: call 555-0100."));
    }

    #[test]
    fn overrides_are_checked_and_unknown_fields_refused() {
        let base = KeywordProfile::default();
        let clash = ProfileOverrides {
            opt_in: Some(vec!["STOP".into()]),
            ..ProfileOverrides::default()
        };
        assert!(matches!(
            base.with_overrides(clash),
            Err(ConsentError::KeywordInTwoSets { .. })
        ));
        let blank = ProfileOverrides {
            help_reply: Some("   ".into()),
            ..ProfileOverrides::default()
        };
        assert!(matches!(
            base.with_overrides(blank),
            Err(ConsentError::BadReply { which: "help" })
        ));
        assert!(toml::from_str::<ProfileOverrides>("stop = [\"X\"]").is_err());
    }
}
