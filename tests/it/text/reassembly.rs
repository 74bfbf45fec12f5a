//! Reassembly of multi-part MO: shuffled, duplicated, over two binds, timed out.

use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use smsbridge::text::{
    Accepted, Concatenation, MemoryPendingParts, MoPart, PendingParts, Reassembled, Reassembler,
    ReassemblyConfig, ReassemblyError, RouteProfile, plan_with_reference,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{as_mo_parts, gsm};

fn reassembler(timeout_secs: u64, max_pending: usize) -> Reassembler<MemoryPendingParts> {
    Reassembler::new(
        MemoryPendingParts::default(),
        ReassemblyConfig {
            timeout: Duration::from_secs(timeout_secs),
            max_pending,
            stored_window: None,
        },
    )
}

/// MO parts of `text` as a handset would send them (through our own planner).
fn mo_parts(text: &str, profile: &RouteProfile, reference: u16) -> Vec<MoPart> {
    as_mo_parts(
        &plan_with_reference(text, profile, reference).unwrap(),
        profile,
    )
}

async fn deliver(r: &Reassembler<MemoryPendingParts>, parts: Vec<MoPart>) -> Vec<Reassembled> {
    let mut done = Vec::new();
    for part in parts {
        if let Accepted::Complete(m) = r
            .accept("acme", "+14155550123", "+18005550100", part)
            .await
            .unwrap()
        {
            done.push(m);
        }
    }
    done
}

/// A text whose parts end inside an escape pair or a surrogate pair unless joined raw.
fn tricky_texts() -> Vec<(String, RouteProfile)> {
    let sar = RouteProfile {
        concatenation: Concatenation::Sar,
        ..gsm()
    };
    let udh16 = RouteProfile {
        concatenation: Concatenation::Udh16,
        ..gsm()
    };
    let packed = RouteProfile {
        gsm7_packed: true,
        ..gsm()
    };
    vec![
        (format!("{}€{}", "a".repeat(152), "b".repeat(200)), gsm()),
        (
            format!("{}😀{}👨‍👩‍👧{}", "ж".repeat(66), "ж".repeat(70), "x".repeat(30)),
            gsm(),
        ),
        ("Olá, tudo bem? {ok} ".repeat(30), sar),
        ("🇺🇸🇧🇷 ".repeat(40), udh16),
        ("packed [septets] ".repeat(40), packed),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn shuffled_and_repeated_parts_make_one_whole_message(
        which in 0usize..5,
        order in Just((0..20usize).collect::<Vec<_>>()).prop_shuffle(),
        repeats in prop::collection::vec(0usize..20, 0..6),
    ) {
        let (text, profile) = tricky_texts().swap_remove(which);
        let parts = mo_parts(&text, &profile, 0x0102);
        let n = parts.len();
        let mut sequence: Vec<MoPart> = order.iter().filter(|&&i| i < n).map(|&i| parts[i].clone()).collect();
        // Repeats of the other parts go anywhere before the part that completes the
        // message (a repeat after it would rightly start a new message).
        let first_completing = sequence.len() - 1;
        for (completing, r) in (first_completing..).zip(repeats) {
            let repeat = sequence[r % completing].clone();
            sequence.insert(r % (completing + 1), repeat);
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let done = rt.block_on(async {
            let r = reassembler(60, 10);
            let done = deliver(&r, sequence).await;
            assert_eq!(r.pending(), 0);
            done
        });
        prop_assert_eq!(done.len(), 1);
        prop_assert_eq!(&done[0].decoded.text, &text);
        prop_assert!(!done[0].incomplete);
        prop_assert_eq!(done[0].decoded.raw_base64.as_ref(), None);
    }
}

#[tokio::test]
async fn duplicates_are_ignored_and_the_message_completes_once() {
    let r = reassembler(60, 10);
    let parts = mo_parts(&"dup ".repeat(100), &gsm(), 7);
    assert_eq!(parts.len(), 3);
    let outcome = |a: Accepted| match a {
        Accepted::Complete(_) => "complete",
        Accepted::Pending { .. } => "pending",
        Accepted::Duplicate => "duplicate",
    };
    let mut seen = Vec::new();
    for i in [2, 0, 2, 0, 1] {
        seen.push(outcome(
            r.accept("acme", "+1415", "+1800", parts[i].clone())
                .await
                .unwrap(),
        ));
    }
    assert_eq!(
        seen,
        ["pending", "pending", "duplicate", "duplicate", "complete"]
    );
}

#[tokio::test]
async fn parts_from_two_binds_at_once_complete_exactly_once() {
    let r = Arc::new(reassembler(60, 10));
    let parts = mo_parts(&"two binds ".repeat(100), &gsm(), 9);
    let (odd, even): (Vec<_>, Vec<_>) =
        parts.into_iter().enumerate().partition(|(i, _)| i % 2 == 1);
    let bind = |half: Vec<(usize, MoPart)>| {
        let r = r.clone();
        tokio::spawn(async move { deliver(&r, half.into_iter().map(|(_, p)| p).collect()).await })
    };
    let (a, b) = (bind(odd), bind(even));
    let mut done = a.await.unwrap();
    done.extend(b.await.unwrap());
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].decoded.text, "two binds ".repeat(100));
}

#[tokio::test]
async fn different_senders_or_reference_widths_do_not_mix() {
    let r = reassembler(60, 10);
    let g = gsm();
    let udh16 = RouteProfile {
        concatenation: Concatenation::Udh16,
        ..gsm()
    };
    let a = mo_parts(&"a".repeat(200), &g, 5);
    let b = mo_parts(&"b".repeat(200), &udh16, 5);
    assert!(matches!(
        r.accept("acme", "+1", "+2", a[0].clone()).await.unwrap(),
        Accepted::Pending { .. }
    ));
    assert!(matches!(
        r.accept("acme", "+1", "+2", b[0].clone()).await.unwrap(),
        Accepted::Pending { .. }
    ));
    assert!(matches!(
        r.accept("acme", "+9", "+2", a[1].clone()).await.unwrap(),
        Accepted::Pending { .. }
    ));
    assert_eq!(r.pending(), 3);
}

#[tokio::test]
async fn a_single_part_message_passes_straight_through() {
    let r = reassembler(60, 10);
    let part = mo_parts("hello", &gsm(), 1).remove(0);
    match r.accept("acme", "+1", "+2", part).await.unwrap() {
        Accepted::Complete(m) => assert_eq!(
            (m.decoded.text.as_str(), m.total, m.incomplete),
            ("hello", 1, false)
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.pending(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_message_is_delivered_incomplete_with_the_missing_parts() {
    let r = Arc::new(reassembler(30, 10));
    let parts = mo_parts(&"timeout ".repeat(60), &gsm(), 3);
    assert_eq!(parts.len(), 4);
    let start = tokio::time::Instant::now();
    deliver(&r, vec![parts[0].clone(), parts[2].clone()]).await;
    let (tx, mut rx) = mpsc::channel(4);
    let cancel = CancellationToken::new();
    let runner = tokio::spawn({
        let (r, cancel) = (r.clone(), cancel.clone());
        async move { r.run_timeouts(tx, cancel).await }
    });
    // With time paused, the runtime jumps straight to the runner's deadline.
    let message = rx.recv().await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(30));
    assert!(message.incomplete);
    assert_eq!(message.missing, [2, 4]);
    let expected = format!("{}{}", &parts_text(&parts[0]), &parts_text(&parts[2]));
    assert_eq!(message.decoded.text, expected);
    assert_eq!(r.pending(), 0);
    cancel.cancel();
    runner.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn nothing_times_out_before_its_deadline() {
    let r = Arc::new(reassembler(30, 10));
    let parts = mo_parts(&"early ".repeat(60), &gsm(), 4);
    deliver(&r, vec![parts[0].clone()]).await;
    tokio::time::advance(Duration::from_secs(29)).await;
    assert!(r.expire(tokio::time::Instant::now()).await.is_empty());
    // A part arriving later does not extend the first part's deadline.
    deliver(&r, vec![parts[1].clone()]).await;
    tokio::time::advance(Duration::from_secs(1)).await;
    let expired = r.expire(tokio::time::Instant::now()).await;
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].missing, [3]);
}

#[tokio::test]
async fn a_full_reassembler_refuses_new_messages_but_not_their_parts() {
    let r = reassembler(60, 1);
    let a = mo_parts(&"a".repeat(200), &gsm(), 1);
    let b = mo_parts(&"b".repeat(200), &gsm(), 2);
    r.accept("acme", "+1", "+2", a[0].clone()).await.unwrap();
    let refused = r.accept("acme", "+1", "+2", b[0].clone()).await;
    assert!(matches!(refused, Err(ReassemblyError::Full { max: 1 })));
    assert!(matches!(
        r.accept("acme", "+1", "+2", a[1].clone()).await.unwrap(),
        Accepted::Complete(_)
    ));
    assert!(matches!(
        r.accept("acme", "+1", "+2", b[0].clone()).await.unwrap(),
        Accepted::Pending { .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn pending_parts_in_a_store_get_a_timeout_after_a_restart() {
    let store = MemoryPendingParts::default();
    let parts = mo_parts(&"restart ".repeat(60), &gsm(), 8);
    let key = smsbridge::text::PartKey {
        carrier: "acme".into(),
        source: "+1".into(),
        destination: "+2".into(),
        reference: 8,
        total: parts.len() as u8,
        width: smsbridge::text::ReferenceWidth::Udh8,
    };
    store.put(&key, parts[1].clone(), None).await.unwrap();
    let r = Reassembler::new(
        store,
        ReassemblyConfig {
            timeout: Duration::from_secs(5),
            max_pending: 10,
            stored_window: None,
        },
    );
    assert_eq!(r.restore().await.unwrap(), 1);
    tokio::time::advance(Duration::from_secs(5)).await;
    let expired = r.expire(tokio::time::Instant::now()).await;
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].missing, [1, 3, 4]);
    assert_eq!(expired[0].decoded.text, parts_text(&parts[1]));
}

fn parts_text(part: &MoPart) -> String {
    smsbridge::text::decode_parts(std::slice::from_ref(part)).text
}
