//! The MO flow's crash windows, at the store. The carrier redelivers every MO (part) it
//! got no ESME_ROK for, and ROK follows the MO's write; so whatever that write carries
//! must commit with it or not at all:
//!
//! - a consent keyword's change: a write that does not happen leaves no opt-out, and
//!   the redelivered STOP records it, emits it and confirms it exactly once;
//! - the removal of the parts a message was reassembled from: a completed message whose
//!   write does not happen is completed again from the durable parts when its last part
//!   comes again, never delivered as an incomplete message.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::config::Synchronous;
use crate::consent::{ConsentPolicy, KeywordPlan, Scope, SuppressionList};
use crate::number::{E164, SenderInventory, SenderKind, SenderSpec};
use crate::store::model::{now_ms, part_dedup_key};
use crate::store::sqlite::SqliteStore;
use crate::store::{FinishParts, MoStored, NewMo, NewMt, Store, StoreError};
use crate::text::{
    Accepted, Coding, ConcatInfo, Encoding, Joined, MoPart, PartKey, PendingParts, Reassembled,
    Reassembler, ReassemblyConfig, ReferenceWidth,
};

const CONTACT: &str = "+14155550123";
const SENDER: &str = "+18005550100";

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(&dir.join("db"), Synchronous::Full, 8, "t").unwrap()
}

/// What the inbound flow decides for `text` from [`CONTACT`] to [`SENDER`].
fn keyword(text: &str) -> KeywordPlan {
    let inventory = SenderInventory::new([SenderSpec {
        number: SENDER.into(),
        kind: SenderKind::TollFree,
        country: None,
        route: "sim".into(),
        fallback_routes: Vec::new(),
        mms: false,
        throughput: 3.0,
        ton: None,
        npi: None,
        brand: None,
    }])
    .unwrap();
    let sender = inventory.lookup(SENDER).unwrap();
    let contact: E164 = CONTACT.parse().unwrap();
    ConsentPolicy::default()
        .plan_mo(&contact, sender, text, SystemTime::now())
        .expect("a keyword")
}

/// A single-part keyword MO as the flow hands it to the store, with its reply MT.
fn keyword_mo(id: &str, reply_id: &str, text: &str) -> NewMo {
    let plan = keyword(text);
    let reply = plan.reply.clone().map(|text| NewMt {
        message_id: reply_id.into(),
        contact: CONTACT.into(),
        sender: SENDER.into(),
        text,
        encoding: "gsm7".into(),
        segments: 1,
        reference: 1,
        route: "sim".into(),
        validity_deadline: now_ms() + 60_000,
        idempotency_key: None,
        request_sha256: None,
        media: Vec::new(),
        linked: Vec::new(),
        origin: "consent",
    });
    NewMo {
        message_id: id.into(),
        contact: CONTACT.into(),
        sender: SENDER.into(),
        carrier: "sim".into(),
        text: text.into(),
        encoding: "gsm7".into(),
        segments: 1,
        incomplete: false,
        missing: Vec::new(),
        dedup_keys: vec![format!("single:{text}")],
        dedup_since: now_ms() - 60_000,
        unknown_destination: false,
        consent: Some(plan),
        reply,
        pending_parts: None,
    }
}

/// Every event type in the outbox, in order.
async fn event_types(store: &SqliteStore) -> Vec<String> {
    store
        .read(|c| {
            let mut stmt = c.prepare("SELECT type FROM outbox ORDER BY position")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
        .unwrap()
}

async fn opted_out(store: &SqliteStore) -> bool {
    let contact: E164 = CONTACT.parse().unwrap();
    let scope: Scope = SENDER.parse().unwrap();
    store
        .is_opted_out(&contact, &[scope])
        .await
        .unwrap()
        .is_some()
}

#[tokio::test]
async fn a_stop_whose_write_failed_leaves_no_opt_out_and_its_redelivery_confirms_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // The write fails after the opt-out row went in (its reply's id collides with the
    // MO's): the whole write is undone, as a crash before the commit would leave it.
    let failing = keyword_mo("a", "a", "STOP");
    assert!(store.store_mo(failing).await.is_err());
    assert!(!opted_out(&store).await, "no opt-out without its MO");
    assert!(event_types(&store).await.is_empty());
    drop(store);

    // Restarted; the carrier, never answered, delivers the STOP again.
    let store = open(dir.path());
    let stored = store
        .store_mo(keyword_mo("b", "b-reply", "STOP"))
        .await
        .unwrap();
    assert!(matches!(
        stored,
        MoStored::Stored {
            consent_changed: Some(_),
            ..
        }
    ));
    assert!(opted_out(&store).await);
    // Once more (our ROK was lost this time): a duplicate, with no second confirmation.
    assert_eq!(
        store
            .store_mo(keyword_mo("c", "c-reply", "STOP"))
            .await
            .unwrap(),
        MoStored::Duplicate
    );
    // A second STOP in other words finds the opt-out standing: no event, no reply.
    let other = store
        .store_mo(keyword_mo("d", "d-reply", "QUIT"))
        .await
        .unwrap();
    assert!(matches!(
        other,
        MoStored::Stored {
            consent_changed: None,
            ..
        }
    ));
    assert_eq!(
        event_types(&store).await,
        [
            "chat.conversation.started",
            "chat.message.received",
            "chat.contact.opted_out",
            "chat.message.status",
            "chat.message.received",
        ]
    );
    let conversation = store.conversations_of(CONTACT.into(), 1).await.unwrap();
    let transcript = store
        .transcript(conversation[0].id.clone(), None, 10)
        .await
        .unwrap();
    let ids: Vec<_> = transcript.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids, ["b", "b-reply", "d"], "one confirmation");
}

#[tokio::test]
async fn a_start_lifts_the_opt_out_in_its_write_and_help_is_answered_each_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .store_mo(keyword_mo("a", "a-reply", "STOP"))
        .await
        .unwrap();
    let start = store
        .store_mo(keyword_mo("b", "b-reply", "START"))
        .await
        .unwrap();
    assert!(matches!(
        start,
        MoStored::Stored {
            consent_changed: Some(_),
            ..
        }
    ));
    assert!(!opted_out(&store).await);
    // YES from someone not opted out is an ordinary answer: no change, no reply.
    store
        .store_mo(keyword_mo("c", "c-reply", "YES"))
        .await
        .unwrap();
    let mut help = keyword_mo("d", "d-reply", "HELP");
    help.dedup_keys = vec!["single:help-1".into()];
    store.store_mo(help).await.unwrap();
    let mut help = keyword_mo("e", "e-reply", "HELP");
    help.dedup_keys = vec!["single:help-2".into()];
    store.store_mo(help).await.unwrap();
    let conversation = store.conversations_of(CONTACT.into(), 1).await.unwrap();
    let transcript = store
        .transcript(conversation[0].id.clone(), None, 20)
        .await
        .unwrap();
    let ids: Vec<_> = transcript.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "a", "a-reply", "b", "b-reply", "c", "d", "d-reply", "e", "e-reply"
        ]
    );
    let types = event_types(&store).await;
    assert_eq!(
        types
            .iter()
            .filter(|t| *t == "chat.contact.opted_in")
            .count(),
        1
    );
}

/// Part `n` of a `total`-part GSM 7 message.
fn part(n: u8, total: u8, text: &str) -> MoPart {
    MoPart {
        coding: Coding {
            data_coding: 0,
            encoding: Encoding::Gsm7,
            gsm7_packed: false,
            locking_nli: None,
            single_nli: None,
        },
        concat: Some(ConcatInfo {
            reference: 42,
            width: ReferenceWidth::Udh8,
            total,
            seqnum: n,
        }),
        ports: None,
        body: text.as_bytes().to_vec(),
        header_len: 0,
        header_error: false,
    }
}

async fn deliver(reassembler: &Reassembler<SqliteStore>, part: MoPart) -> Accepted {
    reassembler
        .accept("sim", "14155550123", "18005550100", part)
        .await
        .unwrap()
}

/// The MO the flow stores for a reassembled message.
fn reassembled_mo(id: &str, whole: &Reassembled) -> NewMo {
    let key = PartKey {
        carrier: whole.carrier.clone(),
        source: whole.source.clone(),
        destination: whole.destination.clone(),
        reference: 42,
        total: whole.total,
        width: ReferenceWidth::Udh8,
    };
    let arrived = (1..=whole.total).filter(|n| !whole.missing.contains(n));
    NewMo {
        message_id: id.into(),
        contact: CONTACT.into(),
        sender: SENDER.into(),
        carrier: "sim".into(),
        text: whole.decoded.text.clone(),
        encoding: "gsm7".into(),
        segments: u32::from(whole.total),
        incomplete: whole.incomplete,
        missing: whole.missing.clone(),
        dedup_keys: arrived.map(|n| format!("part:42:{n}")).collect(),
        dedup_since: now_ms() - 60_000,
        unknown_destination: false,
        consent: None,
        reply: None,
        pending_parts: Some(key),
    }
}

/// Past every reassembly timeout.
fn much_later() -> Instant {
    Instant::now() + Duration::from_secs(24 * 3600)
}

#[tokio::test]
async fn a_completed_message_whose_write_never_happened_completes_again_from_its_parts() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let reassembler = Reassembler::new(store.clone(), Default::default());
    assert!(matches!(
        deliver(&reassembler, part(1, 2, "Hello ")).await,
        Accepted::Pending { held: 1, total: 2 }
    ));
    let Accepted::Complete(first) = deliver(&reassembler, part(2, 2, "world")).await else {
        panic!("two parts of two make the message");
    };
    assert_eq!(first.decoded.text, "Hello world");
    // The store write of the message fails (answered ESME_RX_T_APPN): the carrier
    // delivers the last part again, and the message is whole again.
    let Accepted::Complete(retried) = deliver(&reassembler, part(2, 2, "world")).await else {
        panic!("the held parts complete the message again");
    };
    assert_eq!(retried, first);
    // Then the process dies before the write: nothing was acknowledged.
    drop((reassembler, store));

    let store = open(dir.path());
    let reassembler = Reassembler::new(store.clone(), Default::default());
    assert_eq!(reassembler.restore().await.unwrap(), 1);
    let Accepted::Complete(again) = deliver(&reassembler, part(2, 2, "world")).await else {
        panic!("the durable parts complete the message after a restart");
    };
    assert!(!again.incomplete, "{again:?}");
    assert_eq!(again.decoded.text, "Hello world");

    // The message's write removes its parts with it: nothing is left to time out.
    let stored = store.store_mo(reassembled_mo("m", &again)).await.unwrap();
    assert!(matches!(stored, MoStored::Stored { .. }));
    assert!(store.keys().await.unwrap().is_empty());
    assert!(reassembler.expire(much_later()).await.is_empty());
    // A write of the same message again is a duplicate, and removes nothing new.
    assert_eq!(
        store.store_mo(reassembled_mo("m2", &again)).await.unwrap(),
        MoStored::Duplicate
    );
}

#[tokio::test]
async fn a_part_arriving_after_its_message_timed_out_is_kept_for_a_message_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let reassembler = Reassembler::new(store.clone(), Default::default());
    deliver(&reassembler, part(1, 3, "one ")).await;
    deliver(&reassembler, part(2, 3, "two ")).await;
    let timed_out = reassembler.expire(much_later()).await;
    assert_eq!(timed_out.len(), 1);
    assert_eq!(timed_out[0].missing, [3]);
    // Part 3 comes while the incomplete message is on its way to the store.
    assert!(matches!(
        deliver(&reassembler, part(3, 3, "three")).await,
        Accepted::Pending { held: 1, total: 3 }
    ));
    store
        .store_mo(reassembled_mo("m", &timed_out[0]))
        .await
        .unwrap();
    // The stored message took parts 1 and 2 with it; part 3 still waits.
    let late = reassembler.expire(much_later()).await;
    assert_eq!(late.len(), 1);
    assert_eq!(
        (late[0].decoded.text.as_str(), &late[0].missing[..]),
        ("three", &[1, 2][..])
    );
}

/// Hands `part` to `reassembler` with the store finishing a completed message in the
/// same write: `finish` fails while `failing` is set, as a write that fails after the
/// parts were removed would.
async fn deliver_finishing(
    reassembler: &Reassembler<SqliteStore>,
    store: &SqliteStore,
    part: MoPart,
    failing: &Arc<AtomicBool>,
) -> Result<Joined<(NewMo, MoStored)>, crate::text::ReassemblyError> {
    let store = store.clone();
    let failing = failing.clone();
    let put = move |key, part, since| async move {
        store
            .put_finishing(key, part, since, move |whole| {
                if failing.load(Ordering::SeqCst) {
                    return Err(StoreError::Unavailable("the disk is full".into()));
                }
                let mut mo = reassembled_mo("m", &whole);
                mo.dedup_keys = (1..=whole.total)
                    .map(|n| {
                        part_dedup_key("sim", &whole.source, &whole.destination, 42, whole.total, n)
                    })
                    .collect();
                Ok(mo)
            })
            .await
    };
    reassembler
        .accept_with("sim", "14155550123", "18005550100", part, put)
        .await
}

#[tokio::test]
async fn the_last_part_and_its_message_are_stored_in_one_write_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let config = ReassemblyConfig {
        stored_window: Some(Duration::from_secs(60)),
        ..Default::default()
    };
    let reassembler = Reassembler::new(store.clone(), config);
    let failing = Arc::new(AtomicBool::new(false));
    assert!(matches!(
        deliver_finishing(&reassembler, &store, part(1, 2, "Hello "), &failing).await,
        Ok(Joined::Pending { held: 1, total: 2 })
    ));
    // The write of the last part fails after it removed the held parts and made the
    // message (answered ESME_RX_T_APPN): none of it happened.
    failing.store(true, Ordering::SeqCst);
    assert!(
        deliver_finishing(&reassembler, &store, part(2, 2, "world"), &failing)
            .await
            .is_err()
    );
    assert_eq!(store.keys().await.unwrap().len(), 1, "part 1 is still held");
    let conversations = store.conversations_of(CONTACT.into(), 10).await.unwrap();
    assert!(conversations.is_empty(), "{conversations:?}");
    // The process dies; the carrier delivers the unacknowledged last part again.
    drop(reassembler);
    let store = open(dir.path());
    let reassembler = Reassembler::new(store.clone(), config);
    assert_eq!(reassembler.restore().await.unwrap(), 1);
    failing.store(false, Ordering::SeqCst);
    let Ok(Joined::Finished((mo, stored))) =
        deliver_finishing(&reassembler, &store, part(2, 2, "world"), &failing).await
    else {
        panic!("the durable part and the last one make the message");
    };
    assert_eq!(mo.text, "Hello world");
    assert!(!mo.incomplete);
    let MoStored::Stored {
        conversation_id, ..
    } = stored
    else {
        panic!("stored: {stored:?}");
    };
    let transcript = store.transcript(conversation_id, None, 10).await.unwrap();
    assert_eq!(transcript.len(), 1, "{transcript:?}");
    // The parts left with the message, in its write: nothing waits, nothing times out.
    assert!(store.keys().await.unwrap().is_empty());
    assert!(reassembler.expire(much_later()).await.is_empty());
    // Either part delivered again is a redelivery of the stored message.
    for n in [1, 2] {
        assert!(matches!(
            deliver_finishing(&reassembler, &store, part(n, 2, "x"), &failing).await,
            Ok(Joined::Duplicate)
        ));
    }
    assert!(store.keys().await.unwrap().is_empty());
    assert_eq!(reassembler.pending(), 0);
}
