//! Receipts against a real SQLite file: matching by every id form, parking while a
//! receipt's own id may still appear, reading it again, one status per change of the
//! chat message, and expiry.

use std::path::Path;

use crate::config::Synchronous;
use crate::receipts::{IdForm, MsgIdFormat, ReasonCode, ReceiptState, SegmentReport};
use crate::store::model::now_ms;
use crate::store::sqlite::SqliteStore;
use crate::store::sqlite::tests::conversation_of;
use crate::store::{
    MtAttempt, NewMt, ParkedMatch, ParkedRead, ParkedSelection, ReceiptApplied, ReceiptUpdate,
    SentSegment, Store,
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
            resent: false,
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

/// A receipt from carrier `sim` under `auto`, arriving when no submit is in flight.
fn update(id: &str, state: ReceiptState) -> ReceiptUpdate {
    ReceiptUpdate {
        carrier: "sim".into(),
        ids: vec![id.into()],
        format: MsgIdFormat::Auto,
        report: SegmentReport {
            state,
            intermediate: false,
            reason: state.is_failure().then_some(ReasonCode::Unreachable),
        },
        proven: None,
        quiet: true,
    }
}

/// The same receipt arriving while a submit sent before it has no recorded response.
fn early(id: &str, state: ReceiptState) -> ReceiptUpdate {
    ReceiptUpdate {
        quiet: false,
        ..update(id, state)
    }
}

fn parked_row(applied: &ReceiptApplied) -> i64 {
    match applied {
        ReceiptApplied::Parked { receipt, .. } => *receipt,
        other => panic!("not parked: {other:?}"),
    }
}

/// Reads parked receipts again, as the receipts flow does once they are quiet.
async fn read_again(
    store: &SqliteStore,
    which: ParkedSelection,
    proven: Option<IdForm>,
) -> ParkedRead {
    store
        .read_parked_receipts("sim".into(), which, MsgIdFormat::Auto, proven, 100)
        .await
        .unwrap()
}

async fn status(store: &SqliteStore, id: &str) -> String {
    store.message(id.into()).await.unwrap().unwrap().status
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
    sent_mt(&store, "m1", &["1a2b"]).await;
    let applied = store
        .apply_receipt(update("6699", ReceiptState::Delivered))
        .await
        .unwrap();
    assert_eq!(
        applied,
        ReceiptApplied::Matched {
            message_id: "m1".into(),
            contact: "+14155550123".into(),
            form: IdForm::HexToDecimal,
            evidence: true,
            chat_changed: true
        }
    );
    // The same receipt again changes nothing.
    store
        .apply_receipt(update("6699", ReceiptState::Delivered))
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
        ..update(id, ReceiptState::Delivered)
    };
    let applied = store.apply_receipt(exact("1a2b")).await.unwrap();
    assert!(
        matches!(&applied, ReceiptApplied::Matched { message_id, form: IdForm::Exact, .. } if message_id == "m1"),
        "{applied:?}"
    );
    // 6700 is 0x1a2c in decimal: not the id as written.
    let applied = store.apply_receipt(exact("6700")).await.unwrap();
    assert!(
        matches!(
            applied,
            ReceiptApplied::Parked {
                ambiguous: false,
                ..
            }
        ),
        "{applied:?}"
    );
    let m2 = store.message("m2".into()).await.unwrap().unwrap();
    assert_eq!(m2.status, "sent");
}

#[tokio::test]
async fn one_failed_segment_of_three_fails_the_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    sent_mt(&store, "m1", &["00A1", "00A2", "00A3"]).await;
    for (id, state) in [
        ("A3", ReceiptState::Enroute),
        ("a3", ReceiptState::Delivered),
        ("a2", ReceiptState::Undeliverable),
        ("a1", ReceiptState::Delivered),
    ] {
        store.apply_receipt(update(id, state)).await.unwrap();
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
    let (exact, folded) = {
        let store = open(dir.path());
        let exact = store
            .apply_receipt(early("12345", ReceiptState::Delivered))
            .await
            .unwrap();
        let folded = store
            .apply_receipt(early("0000067890", ReceiptState::Delivered))
            .await
            .unwrap();
        (parked_row(&exact), parked_row(&folded))
    };
    // Parked durably: a reopened store still matches them.
    let store = open(dir.path());
    sent_mt(&store, "m1", &["12345"]).await;
    sent_mt(&store, "m2", &["67890"]).await;
    assert_eq!(
        status(&store, "m1").await,
        "delivered",
        "exact, when recorded"
    );
    assert_eq!(status(&store, "m2").await, "sent", "folded waits");
    // Once the submits before it are recorded, the folded reading names one id.
    let read = read_again(&store, ParkedSelection::Receipts(vec![exact, folded]), None).await;
    assert_eq!(read.matched.len(), 1);
    assert_eq!(read.matched[0].form, IdForm::Folded);
    assert_eq!(status(&store, "m2").await, "delivered");
    assert_eq!(
        store.expire_parked_receipts(now_ms() + 1).await.unwrap(),
        []
    );
}

#[tokio::test]
async fn a_receipt_whose_own_id_may_still_appear_is_never_read_tolerantly() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // "291" is recorded; the receipt for "123" (whose submit response is not recorded
    // yet) must not take it, though 0x123 = 291.
    sent_mt(&store, "other", &["291"]).await;
    let applied = store
        .apply_receipt(early("123", ReceiptState::Delivered))
        .await
        .unwrap();
    parked_row(&applied);
    sent_mt(&store, "mine", &["123"]).await;
    assert_eq!(status(&store, "mine").await, "delivered");
    assert_eq!(status(&store, "other").await, "sent");
}

#[tokio::test]
async fn an_ambiguous_receipt_waits_for_the_carriers_proven_form() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // 00000040 is 40 folded and 64 written in hex.
    sent_mt(&store, "forty", &["40"]).await;
    sent_mt(&store, "sixty-four", &["64"]).await;
    let applied = store
        .apply_receipt(update("00000040", ReceiptState::Delivered))
        .await
        .unwrap();
    assert!(
        matches!(
            applied,
            ReceiptApplied::Parked {
                ambiguous: true,
                ..
            }
        ),
        "{applied:?}"
    );
    let all = || ParkedSelection::AllExcept {
        except: Vec::new(),
        after: 0,
    };
    let read = read_again(&store, all(), None).await;
    assert_eq!((read.matched.len(), read.ambiguous), (0, 1));
    // Still waiting (for its own id, or a proof) leaves both untouched.
    assert_eq!(status(&store, "forty").await, "sent");
    let read = read_again(&store, all(), Some(IdForm::DecimalToHex)).await;
    assert_eq!(read.matched.len(), 1);
    assert_eq!(read.matched[0].form, IdForm::DecimalToHex);
    assert_eq!(status(&store, "sixty-four").await, "delivered");
    assert_eq!(status(&store, "forty").await, "sent");
}

#[tokio::test]
async fn unmatched_receipts_expire() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store
        .apply_receipt(update("77", ReceiptState::Delivered))
        .await
        .unwrap();
    let received = now_ms();
    assert_eq!(
        store
            .expire_parked_receipts(received - 60_000)
            .await
            .unwrap(),
        []
    );
    assert_eq!(
        store.expire_parked_receipts(received + 1).await.unwrap(),
        [("sim".to_owned(), 1)]
    );
    // Gone: the id appearing later matches nothing.
    sent_mt(&store, "m1", &["77"]).await;
    assert_eq!(receipt_statuses(&store).await, []);
}

#[tokio::test]
async fn a_receipt_after_reopening_finds_the_segment_recorded_before() {
    let dir = tempfile::tempdir().unwrap();
    sent_mt(&open(dir.path()), "m1", &["ABC123"]).await;
    let store = open(dir.path());
    let applied = store
        .apply_receipt(update("abc123", ReceiptState::Expired))
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
async fn recording_an_id_reports_the_parked_receipt_it_matched_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // A receipt for 1a2b before 1a2b is known, and one saying 6699 (1a2b in decimal).
    let exact = store
        .apply_receipt(early("1a2b", ReceiptState::Undeliverable))
        .await
        .unwrap();
    let decimal = store
        .apply_receipt(early("6699", ReceiptState::Delivered))
        .await
        .unwrap();
    sent_mt_only(&store, "m1", 2).await;
    let accepted = vec![
        SentSegment {
            index: 0,
            carrier: "sim".into(),
            carrier_message_id: "1a2a".into(),
            id_format: MsgIdFormat::Auto,
            resent: false,
        },
        SentSegment {
            index: 1,
            carrier: "sim".into(),
            carrier_message_id: "1a2b".into(),
            id_format: MsgIdFormat::Auto,
            resent: false,
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
            receipt: parked_row(&exact),
            form: IdForm::Exact,
            evidence: true,
            chat_changed: true,
        }]
    );
    // The decimal one is read when the flow says it is quiet; the message already failed.
    let read = read_again(
        &store,
        ParkedSelection::Receipts(vec![parked_row(&decimal)]),
        None,
    )
    .await;
    assert_eq!(read.matched[0].form, IdForm::HexToDecimal);
    assert!(!read.matched[0].chat_changed);
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
