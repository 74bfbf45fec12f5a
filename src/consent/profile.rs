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
