//! Receipts against a real SQLite file: matching by every id form, parking, one status
//! per change of the chat message, and expiry.

use std::path::Path;
use std::sync::Arc;

use crate::config::Synchronous;
use crate::receipts::{FormLearner, IdForm, MsgIdFormat, ReasonCode, ReceiptState, SegmentReport};
use crate::store::model::now_ms;
use crate::store::sqlite::SqliteStore;
use crate::store::sqlite::tests::conversation_of;
use crate::store::{
    MtAttempt, NewMt, ParkedMatch, ReceiptApplied, ReceiptUpdate, SentSegment, Store,
};

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(&dir.join("db"), Synchronous::Full, 8, "t").unwrap()
}

async fn sent_mt(store: &SqliteStore, id: &str, carrier_ids: &[&str]) {
    store
        .accept_mt(NewMt {
            message_id: id.into(),
            contact: "+14155550123".into(),
            sender: "+18005550100".into(),
            text: "hello".into(),
            encoding: "gsm7".into(),
            segments: carrier_ids.len() as u32,
            reference: 7,
            route: "sim".into(),
            validity_deadline: now_ms() + 60_000,
            idempotency_key: None,
            request_sha256: None,
            origin: "mt",
            media: Vec::new(),
            linked: Vec::new(),
        })
        .await
        .unwrap();
    record(store, id, carrier_ids).await;
}

async fn record(store: &SqliteStore, id: &str, carrier_ids: &[&str]) {
    record_in(store, id, carrier_ids, MsgIdFormat::Auto).await;
}

/// Records the carrier ids of a sent MT, indexed for receipts matched in `format`.
async fn record_in(store: &SqliteStore, id: &str, carrier_ids: &[&str], format: MsgIdFormat) {
    let accepted = carrier_ids
        .iter()
        .enumerate()
        .map(|(i, c)| SentSegment {
            index: i as u32,
            carrier: "sim".into(),
            carrier_message_id: (*c).into(),
            id_format: format,
        })
        .collect();
    store
        .record_mt_attempt(
            id.into(),
            conversation_of(store, id).await,
            accepted,
            MtAttempt::Sent,
        )
        .await
        .unwrap();
}

fn update(id: &str, state: ReceiptState, learner: &Arc<FormLearner>) -> ReceiptUpdate {
    ReceiptUpdate {
        carrier: "sim".into(),
        ids: vec![id.into()],
        format: MsgIdFormat::Auto,
        report: SegmentReport {
            state,
            intermediate: false,
            reason: state.is_failure().then_some(ReasonCode::Unreachable),
        },
        learner: learner.clone(),
    }
}

/// (status, reason, message) of every `chat.message.status` event after `accepted`
/// and `sent`.
async fn receipt_statuses(store: &SqliteStore) -> Vec<(String, Option<String>, Option<String>)> {
    store
        .read(|c| {
            let mut stmt = c.prepare(
                "SELECT data FROM outbox WHERE type = 'chat.message.status' ORDER BY position",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut out = Vec::new();
            for data in rows {
                let v: serde_json::Value = serde_json::from_str(&data?).unwrap();
                let text = |k: &str| v[k].as_str().map(str::to_owned);
                let status = text("status").unwrap();
                if status != "accepted" && status != "sent" {
                    out.push((status, text("reason"), text("message")));
                }
            }
            Ok(out)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_decimal_receipt_finds_its_hex_submit_id_and_delivers_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let learner = Arc::new(FormLearner::new());
    sent_mt(&store, "m1", &["1a2b"]).await;
    let applied = store
        .apply_receipt(update("6699", ReceiptState::Delivered, &learner))
        .await
        .unwrap();
    assert_eq!(
        applied,
        ReceiptApplied::Matched {
            message_id: "m1".into(),
            contact: "+14155550123".into(),
            form: IdForm::HexToDecimal,
            chat_changed: true
        }
    );
    assert_eq!(learner.last(), Some(IdForm::HexToDecimal));
    // The same receipt again changes nothing.
    store
        .apply_receipt(update("6699", ReceiptState::Delivered, &learner))
        .await
        .unwrap();
    assert_eq!(
        receipt_statuses(&store).await,
        [("delivered".to_owned(), None, None)]
    );
    let view = store.message("m1".into()).await.unwrap().unwrap();
    assert_eq!(view.status, "delivered");
    assert_eq!(view.segment_detail[0].state, "delivered");
}

#[tokio::test]
async fn an_id_matched_exactly_is_indexed_once_and_found_only_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let learner = Arc::new(FormLearner::new());
    for (message, carrier_id) in [("m1", "1a2b"), ("m2", "1a2c")] {
        sent_mt_only(&store, message, 1).await;
        record_in(&store, message, &[carrier_id], MsgIdFormat::Exact).await;
    }
    let keys: i64 = store
        .read(|c| Ok(c.query_row("SELECT count(*) FROM segment_key", [], |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(keys, 2, "one key per id");
    let exact = |id: &str| ReceiptUpdate {
        format: MsgIdFormat::Exact,
        ..update(id, ReceiptState::Delivered, &learner)
    };
    let applied = store.apply_receipt(exact("1a2b")).await.unwrap();
    assert!(
        matches!(&applied, ReceiptApplied::Matched { message_id, form: IdForm::Exact, .. } if message_id == "m1"),
        "{applied:?}"
    );
    // 6700 is 0x1a2c in decimal: not the id as written.
    let applied = store.apply_receipt(exact("6700")).await.unwrap();
    assert_eq!(applied, ReceiptApplied::Parked);
    let m2 = store.message("m2".into()).await.unwrap().unwrap();
    assert_eq!(m2.status, "sent");
}

#[tokio::test]
async fn one_failed_segment_of_three_fails_the_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let learner = Arc::new(FormLearner::new());
    sent_mt(&store, "m1", &["00A1", "00A2", "00A3"]).await;
    for (id, state) in [
        ("A3", ReceiptState::Enroute),
        ("a3", ReceiptState::Delivered),
        ("a2", ReceiptState::Undeliverable),
        ("a1", ReceiptState::Delivered),
    ] {
        store
            .apply_receipt(update(id, state, &learner))
            .await
            .unwrap();
    }
    let sentence = ReasonCode::Unreachable.sentence().to_owned();
    assert_eq!(
        receipt_statuses(&store).await,
        [(
            "failed".to_owned(),
            Some("unreachable".to_owned()),
            Some(sentence)
        )]
    );
    let view = store.message("m1".into()).await.unwrap().unwrap();
    let states: Vec<&str> = view
        .segment_detail
        .iter()
        .map(|s| s.state.as_str())
        .collect();
    assert_eq!(states, ["delivered", "failed", "delivered"]);
}

#[tokio::test]
async fn a_receipt_before_its_id_is_parked_and_matched_when_the_id_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let learner = Arc::new(FormLearner::new());
    {
        let store = open(dir.path());
        let parked = store
            .apply_receipt(update("0000012345", ReceiptState::Delivered, &learner))
            .await
            .unwrap();
        assert_eq!(parked, ReceiptApplied::Parked);
    }
    // Parked durably: a reopened store still matches it.
    let store = open(dir.path());
    sent_mt(&store, "m1", &["12345"]).await;
    assert_eq!(
        receipt_statuses(&store).await,
        [("delivered".to_owned(), None, None)]
    );
    assert_eq!(store.expire_parked_receipts(now_ms() + 1).await.unwrap(), 0);
}

#[tokio::test]
async fn a_settled_carrier_parks_a_receipt_another_reading_would_misplace() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let learner = Arc::new(FormLearner::new());
    for n in 0..crate::receipts::SETTLED_AFTER {
        let carrier_id = format!("{}", 1000 + n);
        sent_mt(&store, &format!("warm{n}"), &[&carrier_id]).await;
        let applied = store
            .apply_receipt(update(&carrier_id, ReceiptState::Delivered, &learner))
            .await
            .unwrap();
        assert!(matches!(
            applied,
            ReceiptApplied::Matched {
                form: IdForm::Exact,
                ..
            }
        ));
    }
    // "291" is recorded; the receipt for "123" (whose submit response is not recorded
    // yet) must not take it: 0x123 = 291 is another message.
    sent_mt(&store, "other", &["291"]).await;
    let early = store
        .apply_receipt(update("123", ReceiptState::Delivered, &learner))
        .await
        .unwrap();
    assert_eq!(early, ReceiptApplied::Parked);
    sent_mt(&store, "mine", &["123"]).await;
    let status = |id: &'static str| {
        let store = store.clone();
        async move { store.message(id.into()).await.unwrap().unwrap().status }
    };
    assert_eq!(status("mine").await, "delivered");
    assert_eq!(status("other").await, "sent");
}

#[tokio::test]
async fn unmatched_receipts_expire() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let learner = Arc::new(FormLearner::new());
    store
        .apply_receipt(update("77", ReceiptState::Delivered, &learner))
        .await
        .unwrap();
    let received = now_ms();
    assert_eq!(
        store
            .expire_parked_receipts(received - 60_000)
            .await
            .unwrap(),
        0
    );
    assert_eq!(store.expire_parked_receipts(received + 1).await.unwrap(), 1);
    // Gone: the id appearing later matches nothing.
    sent_mt(&store, "m1", &["77"]).await;
    assert_eq!(receipt_statuses(&store).await, []);
}

#[tokio::test]
async fn a_receipt_after_reopening_finds_the_segment_recorded_before() {
    let dir = tempfile::tempdir().unwrap();
    sent_mt(&open(dir.path()), "m1", &["ABC123"]).await;
    let store = open(dir.path());
    let learner = Arc::new(FormLearner::new());
    let applied = store
        .apply_receipt(update("abc123", ReceiptState::Expired, &learner))
        .await
        .unwrap();
    assert!(matches!(
        applied,
        ReceiptApplied::Matched {
            chat_changed: true,
            ..
        }
    ));
    let sentence = ReasonCode::Expired.sentence().to_owned();
    assert_eq!(
        receipt_statuses(&store).await,
        [(
            "expired".to_owned(),
            Some("expired".to_owned()),
            Some(sentence)
        )]
    );
}

#[tokio::test]
async fn recording_an_id_reports_the_form_its_parked_receipt_matched_by() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let learner = Arc::new(FormLearner::new());
    // The receipt says 6699 (decimal) for the submit id 1a2b (hex), before 1a2b is known.
    store
        .apply_receipt(update("6699", ReceiptState::Undeliverable, &learner))
        .await
        .unwrap();
    sent_mt_only(&store, "m1", 2).await;
    let accepted = vec![
        SentSegment {
            index: 0,
            carrier: "sim".into(),
            carrier_message_id: "1a2a".into(),
            id_format: MsgIdFormat::Auto,
        },
        SentSegment {
            index: 1,
            carrier: "sim".into(),
            carrier_message_id: "1a2b".into(),
            id_format: MsgIdFormat::Auto,
        },
    ];
    let recorded = store
        .record_mt_attempt(
            "m1".into(),
            conversation_of(&store, "m1").await,
            accepted,
            MtAttempt::Sent,
        )
        .await
        .unwrap();
    assert_eq!(
        recorded.parked_matched,
        [ParkedMatch {
            carrier: "sim".into(),
            form: IdForm::HexToDecimal,
            chat_changed: true,
        }]
    );
    // The store itself learns nothing: the caller's learner is told.
    assert_eq!(learner.last(), None);
    let view = store.message("m1".into()).await.unwrap().unwrap();
    let states: Vec<&str> = view
        .segment_detail
        .iter()
        .map(|s| s.state.as_str())
        .collect();
    assert_eq!(states, ["sent", "failed"]);
}

/// An MT of `segments` parts accepted, none sent yet.
async fn sent_mt_only(store: &SqliteStore, id: &str, segments: u32) {
    store
        .accept_mt(NewMt {
            message_id: id.into(),
            contact: "+14155550123".into(),
            sender: "+18005550100".into(),
            text: "hello".into(),
            encoding: "gsm7".into(),
            segments,
            reference: 7,
            route: "sim".into(),
            validity_deadline: now_ms() + 60_000,
            idempotency_key: None,
            request_sha256: None,
            media: Vec::new(),
            linked: Vec::new(),
            origin: "mt",
        })
        .await
        .unwrap();
}
