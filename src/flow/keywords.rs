//! Consent keywords (STOP, START, HELP) in an MO, whether it came as SMS or as MMS:
//! the plan of what the keyword asks of the suppression list and the confirmation reply,
//! both carried by the MO's own store write (see [`crate::consent::KeywordPlan`]). The
//! reply always goes back as SMS, on the sender's first configured route. The keywords
//! and replies are those of the configuration the MO is handled under, so a reload
//! applies to the next MO.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::config::Config;
use crate::connector::new_id;
use crate::number::{E164, Sender};
use crate::store::model::now_ms;
use crate::store::{NewMo, NewMt};
use crate::text::{ReferenceAllocator, RouteProfile, plan_with_reference};

/// Reads consent keywords in MOs and plans their change and reply. Cheap to clone.
#[derive(Clone)]
pub struct ConsentKeywords {
    references: Arc<ReferenceAllocator>,
    /// How long a reply may wait for its carrier (`[messages] validity`).
    validity: Duration,
}

impl ConsentKeywords {
    pub fn new(references: Arc<ReferenceAllocator>, validity: Duration) -> ConsentKeywords {
        ConsentKeywords {
            references,
            validity,
        }
    }

    /// When `mo`'s text is a keyword under `config`'s consent policy, puts its plan and
    /// its reply in `mo`, for the MO's write to apply; `source` is what the suppression
    /// list records it came by (`sms`, `mms`).
    pub fn plan(
        &self,
        config: &Config,
        contact: &E164,
        sender: &Sender,
        source: &str,
        mo: &mut NewMo,
    ) {
        let Some(plan) =
            config
                .consent_policy()
                .plan_mo(contact, sender, &mo.text, SystemTime::now())
        else {
            return;
        };
        if let Some(text) = &plan.reply {
            mo.reply = self.reply_mt(config, contact, sender, text);
        }
        mo.consent = Some(plan.with_source(source));
    }

    /// A consent reply as an SMS MT on the sender's first configured route.
    fn reply_mt(
        &self,
        config: &Config,
        contact: &E164,
        sender: &Sender,
        text: &str,
    ) -> Option<NewMt> {
        let route = sender
            .routes()
            .in_order()
            .find(|r| config.carrier(r).is_some_and(|c| c.smpp))?
            .to_owned();
        let reference = self.references.next(contact.as_str());
        let plan = plan_with_reference(text, &RouteProfile::default(), reference).ok()?;
        Some(NewMt {
            message_id: new_id(),
            contact: contact.as_str().to_owned(),
            sender: sender.address().as_str().to_owned(),
            text: text.to_owned(),
            encoding: plan.encoding.as_str().to_owned(),
            segments: plan.segments as u32,
            reference,
            route,
            validity_deadline: now_ms() + self.validity.as_millis() as i64,
            idempotency_key: None,
            request_sha256: None,
            origin: "consent",
            media: Vec::new(),
            linked: Vec::new(),
        })
    }
}
