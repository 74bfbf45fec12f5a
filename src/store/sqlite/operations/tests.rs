//! The store's flow operations on a real SQLite file: what each write changes and which
//! events it appends, and what survives reopening.

use std::path::Path;

use crate::config::Synchronous;
use crate::reason::ReasonCode;
use crate::receipts::MsgIdFormat;
use crate::store::model::now_ms;
use crate::store::sqlite::SqliteStore;
use crate::store::sqlite::tests::conversation_of;
use crate::store::{MoStored, MtAccepted, MtAttempt, NewMo, NewMt, SentSegment, Store};
use crate::text::{
    Coding, ConcatInfo, Encoding, MoPart, PartKey, PendingParts, PutOutcome, ReferenceWidth,
};

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(&dir.join("db"), Synchronous::Full, 8, "t").unwrap()
}

fn mt(id: &str, key: Option<&str>, segments: u32) -> NewMt {
    NewMt {
        message_id: id.into(),
        contact: "+14155550123".into(),
        sender: "+18005550100".into(),
        text: "hello".into(),
        encoding: "gsm7".into(),
        segments,
        reference: 7,
        route: "sim".into(),
        validity_deadline: now_ms() + 60_000,
        idempotency_key: key.map(str::to_owned),
        request_sha256: key.map(|k| format!("sha256 of the request under {k}")),
        origin: "mt",
        media: Vec::new(),
        linked: Vec::new(),
    }
}

fn mo(id: &str, text: &str, key: &str) -> NewMo {
    NewMo {
        message_id: id.into(),
        contact: "+14155550123".into(),
        sender: "+18005550100".into(),
        carrier: "sim".into(),
        text: text.into(),
        encoding: "gsm7".into(),
        segments: 1,
        incomplete: false,
        missing: Vec::new(),
        dedup_keys: vec![key.into()],
        dedup_since: now_ms() - 60_000,
        unknown_destination: false,
        consent: None,
        reply: None,
        pending_parts: None,
    }
}

/// (type, status) of every event, in order.
async fn events(store: &SqliteStore) -> Vec<(String, Option<String>)> {
    store
        .read(|c| {
            let mut stmt = c.prepare("SELECT type, data FROM outbox ORDER BY position")?;
            let rows = stmt.query_map([], |r| {
                let data: String = r.get(1)?;
                let data: serde_json::Value = serde_json::from_str(&data).unwrap();
                Ok((r.get(0)?, data["status"].as_str().map(str::to_owned)))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn an_mt_opens_a_conversation_once_and_a_key_answers_the_first_time_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let MtAccepted::Stored(first) = store.accept_mt(mt("m1", Some("k"), 1)).await.unwrap() else {
        panic!("first use of a key stores");
    };
    let replay = store.accept_mt(mt("m2", Some("k"), 1)).await.unwrap();
    assert_eq!(
        replay,
        MtAccepted::Replayed(serde_json::to_value(&first).unwrap())
    );
    assert!(store.message("m2".into()).await.unwrap().is_none());
    // The same key with another request: refused, nothing stored.
    let mut other = mt("m4", Some("k"), 1);
    other.request_sha256 = Some("another request".into());
    assert_eq!(store.accept_mt(other).await.unwrap(), MtAccepted::KeyReused);
    assert!(store.message("m4".into()).await.unwrap().is_none());
    assert_eq!(
        store
            .idempotent_answer("k", Some("another request"))
            .await
            .unwrap(),
        Some(MtAccepted::KeyReused)
    );
    let same = mt("m5", Some("k"), 1).request_sha256;
    assert!(matches!(
        store.idempotent_answer("k", same.as_deref()).await.unwrap(),
        Some(MtAccepted::Replayed(_))
    ));
    let MtAccepted::Stored(second) = store.accept_mt(mt("m3", None, 1)).await.unwrap() else {
        panic!("no key stores");
    };
    assert_eq!(second.conversation_id, first.conversation_id);
    let accepted = Some("accepted".to_owned());
    assert_eq!(
        events(&store).await,
        vec![
            ("chat.conversation.started".into(), None),
            ("chat.message.status".into(), accepted.clone()),
            ("chat.message.status".into(), accepted),
        ]
    );
}

#[tokio::test]
async fn a_partial_submit_is_remembered_and_a_retry_sends_only_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.accept_mt(mt("m1", None, 3)).await.unwrap();
    let due = store.due_mts(now_ms(), None, 10).await.unwrap();
    assert_eq!(due.message_ids, ["m1"]);
    let mt = store.due_mt("m1".into(), now_ms()).await.unwrap().unwrap();
    assert_eq!(mt.segments_done, Vec::<u32>::new());
    let later = now_ms() + 3_600_000;
    let first = SentSegment {
        index: 0,
        carrier: "sim".into(),
        carrier_message_id: "a1".into(),
        id_format: MsgIdFormat::Auto,
        resent: false,
    };
    let retry = MtAttempt::Retry {
        next_attempt: later,
        route: "backup".into(),
        reason: ReasonCode::CarrierUnavailable,
    };
    store
        .record_mt_attempt(
            "m1".into(),
            conversation_of(&store, "m1").await,
            vec![first],
            retry,
        )
        .await
        .unwrap();
    let due = store.due_mts(now_ms(), None, 10).await.unwrap();
    assert!(due.message_ids.is_empty());
    assert_eq!(due.next_due, Some(later));
    drop(store);
    // Reopened (a restart): the retry is still planned, with what was already sent.
    let store = open(dir.path());
    let mt = store.due_mt("m1".into(), later).await.unwrap().unwrap();
    assert_eq!(
        (mt.segments_done, mt.route, mt.attempts),
        (vec![0], "backup".into(), 1)
    );
    let view = store.message("m1".into()).await.unwrap().unwrap();
    assert_eq!(
        view.segment_detail[0].carrier_message_id.as_deref(),
        Some("a1")
    );
    assert_eq!(view.segment_detail[1].state, "pending");
}

#[tokio::test]
async fn a_failed_mt_leaves_the_queue_with_its_reason_and_event() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.accept_mt(mt("m1", None, 1)).await.unwrap();
    let failed = MtAttempt::Final {
        segment: None,
        status: "failed",
        reason: ReasonCode::InvalidNumber,
        carrier_status: Some(0x0B),
    };
    store
        .record_mt_attempt(
            "m1".into(),
            conversation_of(&store, "m1").await,
            Vec::new(),
            failed,
        )
        .await
        .unwrap();
    assert!(store.due_mt("m1".into(), now_ms()).await.unwrap().is_none());
    let sentence = ReasonCode::InvalidNumber.sentence();
    let view = store.message("m1".into()).await.unwrap().unwrap();
    assert_eq!(
        (
            view.status.as_str(),
            view.reason.as_deref(),
            view.reason_message.as_deref()
        ),
        ("failed", Some("invalid_number"), Some(sentence))
    );
    let last = last_event_data(&store).await;
    assert_eq!(
        last,
        serde_json::json!({
            "message_id": "m1",
            "status": "failed",
            "reason": "invalid_number",
            "message": sentence,
            "carrier_status": 11,
        })
    );
}

/// Rows an earlier version wrote, with reasons since renamed or retired and sentences
/// with internal detail, read as today's codes with their sentences.
#[tokio::test]
async fn reasons_stored_by_earlier_versions_read_as_todays_codes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for id in ["m1", "m2", "m3", "m4"] {
        store.accept_mt(mt(id, None, 1)).await.unwrap();
    }
    let old = rusqlite::Connection::open(dir.path().join("db")).unwrap();
    old.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    for (id, status, reason, sentence) in [
        (
            "m1",
            "failed",
            "invalid_destination",
            "The carrier says the destination number is not valid. (EsmeRinvdstadr)",
        ),
        ("m2", "failed", "unplannable", "text is empty"),
        (
            "m3",
            "failed",
            "a_reason_retired_long_ago",
            "Something broke.",
        ),
        ("m4", "accepted", "transient: no bind up", ""),
    ] {
        old.execute(
            "UPDATE message SET status = ?2, reason = ?3, reason_message = ?4 WHERE id = ?1",
            (id, status, reason, sentence),
        )
        .unwrap();
    }
    for (id, code) in [
        ("m1", ReasonCode::InvalidNumber),
        ("m2", ReasonCode::Unplannable),
        ("m3", ReasonCode::Unknown),
        ("m4", ReasonCode::CarrierUnavailable),
    ] {
        let view = store.message(id.into()).await.unwrap().unwrap();
        assert_eq!(
            (view.reason.as_deref(), view.reason_message.as_deref()),
            (Some(code.as_str()), Some(code.sentence())),
            "{id}"
        );
    }
}

/// The data of the last event appended.
async fn last_event_data(store: &SqliteStore) -> serde_json::Value {
    store
        .read(|c| {
            let data: String = c.query_row(
                "SELECT data FROM outbox ORDER BY position DESC LIMIT 1",
                [],
                |r| r.get(0),
            )?;
            Ok(serde_json::from_str(&data).unwrap())
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn an_mo_seen_within_the_window_is_a_duplicate_and_later_is_new() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // Real message ids: the window is a range of them (UUIDv7).
    let id = || crate::connector::new_id();
    let stored = store.store_mo(mo(&id(), "hi", "single:x")).await.unwrap();
    assert!(matches!(stored, MoStored::Stored { .. }));
    assert_eq!(
        store.store_mo(mo(&id(), "hi", "single:x")).await.unwrap(),
        MoStored::Duplicate
    );
    let mut later = mo(&id(), "hi", "single:x");
    later.dedup_since = now_ms() + 1;
    assert!(matches!(
        store.store_mo(later).await.unwrap(),
        MoStored::Stored { .. }
    ));
    assert!(store.mo_seen("single:x".into(), 0).await.unwrap());
    let received = events(&store)
        .await
        .iter()
        .filter(|e| e.0 == "chat.message.received")
        .count();
    assert_eq!(received, 2);
}

#[tokio::test]
async fn a_redelivery_is_known_after_its_conversation_closed() {
    // The MO is stored, the agent closes the conversation, and the carrier delivers the
    // MO again within the window: whether it comes before or after another MO opened
    // the next conversation, it is a duplicate.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = || crate::connector::new_id();
    let MoStored::Stored {
        conversation_id: first,
        ..
    } = store.store_mo(mo(&id(), "hi", "single:x")).await.unwrap()
    else {
        panic!("stored");
    };
    store.close_conversation(first).await.unwrap().unwrap();
    assert_eq!(
        store.store_mo(mo(&id(), "hi", "single:x")).await.unwrap(),
        MoStored::Duplicate
    );
    let opened = store.store_mo(mo(&id(), "next", "single:y")).await.unwrap();
    assert!(matches!(opened, MoStored::Stored { .. }));
    assert_eq!(
        store.store_mo(mo(&id(), "hi", "single:x")).await.unwrap(),
        MoStored::Duplicate
    );
    assert_eq!(
        store.store_mo(mo(&id(), "next", "single:y")).await.unwrap(),
        MoStored::Duplicate
    );
}

#[tokio::test]
async fn a_closed_conversation_is_followed_by_a_new_one_linked_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let MoStored::Stored {
        conversation_id: first,
        ..
    } = store.store_mo(mo("a", "1", "k1")).await.unwrap()
    else {
        panic!("stored");
    };
    let closed = store
        .close_conversation(first.clone())
        .await
        .unwrap()
        .unwrap();
    assert!(closed.closed_at.is_some());
    let MoStored::Stored {
        conversation_id: second,
        ..
    } = store.store_mo(mo("b", "2", "k2")).await.unwrap()
    else {
        panic!("stored");
    };
    assert_ne!(first, second);
    let listed = store
        .conversations_of("+14155550123".into(), 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    let newest = listed.iter().find(|c| c.id == second).unwrap();
    assert_eq!(newest.previous_id.as_deref(), Some(first.as_str()));
    assert!(
        store
            .close_conversation("nope".into())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn closing_appends_one_closed_event_after_the_conversations_others() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let MtAccepted::Stored(sent) = store.accept_mt(mt("m1", None, 1)).await.unwrap() else {
        panic!("stored");
    };
    let id = sent.conversation_id;
    let closed = store.close_conversation(id.clone()).await.unwrap().unwrap();
    // Closing again changes nothing and emits nothing.
    let again = store.close_conversation(id.clone()).await.unwrap().unwrap();
    assert_eq!(again, closed);
    let of_conversation = store
        .read(move |c| {
            let mut stmt = c.prepare(
                "SELECT type, sequence, data FROM outbox WHERE conversation_id = ?1
                 ORDER BY sequence",
            )?;
            let rows = stmt.query_map([&id], |r| {
                let data: String = r.get(2)?;
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, data))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
        .unwrap();
    let types: Vec<(&str, i64)> = of_conversation
        .iter()
        .map(|(t, n, _)| (t.as_str(), *n))
        .collect();
    assert_eq!(
        types,
        [
            ("chat.conversation.started", 1),
            ("chat.message.status", 2),
            ("chat.conversation.closed", 3),
        ]
    );
    let data: serde_json::Value = serde_json::from_str(&of_conversation[2].2).unwrap();
    assert_eq!(data["conversation_id"], closed.id.as_str());
    assert_eq!(data["closed_at"], closed.closed_at.unwrap().as_str());
}

/// The key of a two-part message from the test contact.
fn two_part_key() -> PartKey {
    PartKey {
        carrier: "sim".into(),
        source: "14155550123".into(),
        destination: "18005550100".into(),
        reference: 9,
        total: 2,
        width: ReferenceWidth::Udh8,
    }
}

/// Part `seqnum` of the message of [`two_part_key`].
fn part_of_two(seqnum: u8, body: &[u8]) -> MoPart {
    MoPart {
        coding: Coding {
            data_coding: 0,
            encoding: Encoding::Gsm7,
            gsm7_packed: false,
            locking_nli: None,
            single_nli: None,
        },
        concat: Some(ConcatInfo {
            reference: 9,
            width: ReferenceWidth::Udh8,
            total: 2,
            seqnum,
        }),
        ports: None,
        body: body.to_vec(),
        header_len: 6,
        header_error: false,
    }
}

#[tokio::test]
async fn pending_mo_parts_survive_reopening_and_a_second_copy_is_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let key = two_part_key();
    let part = part_of_two(1, b"first half");
    assert_eq!(
        store.put(&key, part.clone(), None).await.unwrap(),
        PutOutcome::Stored { held: 1 }
    );
    assert_eq!(
        store.put(&key, part.clone(), None).await.unwrap(),
        PutOutcome::Duplicate
    );
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.keys().await.unwrap(), vec![key.clone()]);
    assert_eq!(store.take(&key).await.unwrap(), vec![part.clone()]);
    // Taken parts stay until the MO made of them is stored (see `crash_windows`).
    assert_eq!(store.keys().await.unwrap(), vec![key.clone()]);

    // The carrier delivers both parts again (the MO's write never happened): the
    // second completes the message in the same write and hands out both.
    let second = part_of_two(2, b"second half");
    assert_eq!(
        store.put(&key, part.clone(), None).await.unwrap(),
        PutOutcome::Stored { held: 1 }
    );
    assert_eq!(
        store.put(&key, second.clone(), None).await.unwrap(),
        PutOutcome::Complete(vec![part.clone(), second])
    );
}

#[tokio::test]
async fn a_part_of_a_message_stored_since_the_time_given_is_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let key = two_part_key();
    let part = |seqnum: u8| part_of_two(seqnum, &[b'a' + seqnum]);
    let stored_at = now_ms();
    let recorded =
        crate::store::model::part_dedup_key("sim", "14155550123", "18005550100", 9, 2, 1);
    store
        .write(move |c| {
            c.execute(
                "INSERT INTO mo_seen (key, message_id, seen_unix_ms) VALUES (?1, 'm', ?2)",
                (&recorded, stored_at),
            )?;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(
        store.put(&key, part(1), Some(stored_at)).await.unwrap(),
        PutOutcome::Duplicate
    );
    assert!(store.keys().await.unwrap().is_empty(), "nothing kept");
    // Outside the window it is a new message's part; so is a part never stored.
    assert_eq!(
        store.put(&key, part(1), Some(stored_at + 1)).await.unwrap(),
        PutOutcome::Stored { held: 1 }
    );
    assert_eq!(
        store.put(&key, part(2), Some(stored_at)).await.unwrap(),
        PutOutcome::Complete(vec![part(1), part(2)])
    );
}

#[tokio::test]
async fn purging_keeps_unsent_messages_and_removes_finished_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.accept_mt(mt("waiting", Some("k1"), 1)).await.unwrap();
    store.accept_mt(mt("done", Some("k2"), 2)).await.unwrap();
    store
        .record_mt_attempt(
            "done".into(),
            conversation_of(&store, "done").await,
            Vec::new(),
            MtAttempt::Sent,
        )
        .await
        .unwrap();
    let gone = store.purge(now_ms() + 1).await.unwrap();
    // Two keys, the finished message and its two segments.
    assert_eq!(gone, 5);
    assert!(store.message("done".into()).await.unwrap().is_none());
    assert!(store.message("waiting".into()).await.unwrap().is_some());
    assert!(store.idempotent_answer("k1", None).await.unwrap().is_none());
}

#[tokio::test]
async fn an_mt_keeps_its_attachments_and_linked_files_from_the_media_purge() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let kept = |id: &str| crate::store::MediaRef {
        id: Some(id.into()),
        url: None,
        content_type: Some("image/jpeg".into()),
        size: Some(10),
        filename: None,
    };
    let mut mms = mt("m1", None, 1);
    mms.media = vec![kept("aa11")];
    let mut sms = mt("m2", None, 1);
    sms.linked = vec![kept("bb22")];
    for m in [mms, sms] {
        assert!(matches!(
            store.accept_mt(m).await.unwrap(),
            MtAccepted::Stored(_)
        ));
    }
    let asked = vec!["aa11".to_owned(), "bb22".to_owned(), "cc33".to_owned()];
    let in_use = store.media_in_use(asked).await.unwrap();
    assert!(in_use.contains("aa11"), "an MMS attachment: {in_use:?}");
    assert!(
        in_use.contains("bb22"),
        "a file an SMS links to: {in_use:?}"
    );
    assert!(!in_use.contains("cc33"), "a file nobody names: {in_use:?}");
}
