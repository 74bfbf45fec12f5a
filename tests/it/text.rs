//! Text: the GSM tables, planning at every boundary, properties over any Unicode text,
//! MO reassembly, the `segment` command, and segment counts checked against an
//! independent calculator.

mod boundaries;
mod cli;
mod gsm_table;
mod interop;
mod properties;
mod reassembly;

use smsbridge::text::{Alphabet, InboundMessage, MoPart, Plan, RouteProfile, decode_parts, parse};

/// What the carrier would deliver for each part of `plan` if it came back as MO.
pub fn as_mo_parts(plan: &Plan, profile: &RouteProfile) -> Vec<MoPart> {
    plan.parts
        .iter()
        .map(|part| {
            parse(&InboundMessage {
                data_coding: plan.data_coding,
                short_message: &part.short_message,
                message_payload: part.message_payload.as_deref(),
                udhi: part.udhi,
                sar: part.sar,
                alphabet: profile.alphabet,
                gsm7_packed: profile.gsm7_packed,
            })
        })
        .collect()
}

/// The text a handset shows for `plan`: every part joined and decoded.
pub fn received_text(plan: &Plan, profile: &RouteProfile) -> String {
    decode_parts(&as_mo_parts(plan, profile)).text
}

/// A GSM carrier profile.
pub fn gsm() -> RouteProfile {
    RouteProfile {
        alphabet: Alphabet::Gsm7,
        ..RouteProfile::default()
    }
}
