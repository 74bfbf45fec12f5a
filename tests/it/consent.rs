//! Consent: keyword matching, STOP/START/HELP decisions against the suppression list,
//! idempotence under redelivery, brand scope, and CSV import/export.

use std::collections::HashMap;
use std::time::SystemTime;

use smsbridge::consent::csv::{CsvError, read_csv, write_csv};
use smsbridge::consent::{
    ConsentChange, ConsentEventKind, ConsentPolicy, ConsentScope, ConsentSettings, KeywordKind,
    KeywordProfile, KeywordSet, ListQuery, MemorySuppressionList, Replies, Scope, SuppressionList,
    SuppressionRecord, classify,
};
use smsbridge::number::{E164, Sender, SenderInventory, SenderKind, SenderSpec};

fn at(text: &str) -> SystemTime {
    humantime::parse_rfc3339(text).unwrap()
}

fn contact() -> E164 {
    "+14155550123".parse().unwrap()
}

fn spec(number: &str, kind: SenderKind, brand: Option<&str>) -> SenderSpec {
    SenderSpec {
        number: number.to_owned(),
        kind,
        country: Some("US".parse().unwrap()),
        route: "carrier-a".to_owned(),
        fallback_routes: Vec::new(),
        mms: false,
        throughput: 1.0,
        ton: None,
        npi: None,
        brand: brand.map(str::to_owned),
    }
}

/// Two senders of brand Acme, one without a brand.
fn senders() -> Vec<Sender> {
    let inventory = SenderInventory::new([
        spec("+1 800 234 5678", SenderKind::TollFree, Some("Acme")),
        spec("72404", SenderKind::Shortcode, Some("Acme")),
        spec("+1 415 555 0100", SenderKind::Longcode, None),
    ])
    .unwrap();
    inventory.iter().cloned().collect()
}

fn policy(scope: ConsentScope) -> ConsentPolicy {
    ConsentPolicy::new(ConsentSettings {
        scope,
        ..ConsentSettings::default()
    })
}

#[test]
fn keywords_match_the_whole_message_in_any_case_with_punctuation_trimmed() {
    let set = KeywordSet::recommended();
    let kind = |text: &str| classify(text, &set).map(|k| k.kind);
    for text in [
        "STOP",
        "stop",
        "Stop",
        "STOP.",
        " stop! ",
        "\"Stop\"",
        "STOP\n",
        "opt out",
        "Opt-Out",
        "UNSUBSCRIBE",
        "revoke",
        "Quit!!!",
        "end",
        "cancel.",
    ] {
        assert_eq!(kind(text), Some(KeywordKind::OptOut), "{text:?}");
    }
    for text in ["START", "unstop", "Yes!"] {
        assert_eq!(kind(text), Some(KeywordKind::OptIn), "{text:?}");
    }
    for text in ["HELP", "help?", "Info"] {
        assert_eq!(kind(text), Some(KeywordKind::Help), "{text:?}");
    }
    for text in [
        "stop it",
        "please stop",
        "STOP STOP",
        "stopp",
        "don't stop",
        "yes, tomorrow at 3",
        "I need help",
        "",
    ] {
        assert_eq!(kind(text), None, "{text:?}");
    }
    assert_eq!(classify("Opt-Out", &set).unwrap().word, "OPT OUT");
}

#[tokio::test]
async fn stop_refuses_later_mts_and_start_allows_them_again() {
    let policy = policy(ConsentScope::Sender);
    let list = MemorySuppressionList::new(100);
    let senders = senders();
    let longcode = &senders[2];
    let contact = contact();

    assert_eq!(
        policy.check_mt(&list, &contact, longcode).await.unwrap(),
        Ok(())
    );

    let stop = policy
        .handle_mo(
            &list,
            &contact,
            longcode,
            "Stop.",
            at("2026-03-01T12:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(stop.keyword.unwrap().kind, KeywordKind::OptOut);
    assert_eq!(stop.reply.as_deref(), Replies::recommended().opt_out());
    let event = stop.event.unwrap();
    assert_eq!(event.kind.event_type(), "chat.contact.opted_out");
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        serde_json::json!({
            "contact": "+14155550123",
            "sender": "+14155550100",
            "scope": "+14155550100",
            "keyword": "STOP",
            "at": "2026-03-01T12:00:00Z"
        })
    );

    let refusal = policy
        .check_mt(&list, &contact, longcode)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(refusal.code(), "opted_out");
    assert_eq!(
        refusal.to_string(),
        "the contact opted out of messages from +14155550100 (STOP on 2026-03-01T12:00:00Z); \
         they must text START before they can be messaged again"
    );
    // Other senders are not affected in per-sender scope.
    assert_eq!(
        policy.check_mt(&list, &contact, &senders[0]).await.unwrap(),
        Ok(())
    );

    let start = policy
        .handle_mo(
            &list,
            &contact,
            longcode,
            "start",
            at("2026-03-02T09:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(start.reply.as_deref(), Replies::recommended().opt_in());
    assert_eq!(start.event.unwrap().kind, ConsentEventKind::OptedIn);
    assert!(matches!(start.change, Some(ConsentChange::OptedIn(ref lifted)) if lifted.len() == 1));
    assert_eq!(
        policy.check_mt(&list, &contact, longcode).await.unwrap(),
        Ok(())
    );
}

#[tokio::test]
async fn a_stop_delivered_twice_is_confirmed_once() {
    let policy = policy(ConsentScope::Sender);
    let list = MemorySuppressionList::new(100);
    let senders = senders();
    let sender = &senders[2];
    let contact = contact();
    let first = policy
        .handle_mo(&list, &contact, sender, "STOP", at("2026-03-01T12:00:00Z"))
        .await
        .unwrap();
    let again = policy
        .handle_mo(&list, &contact, sender, "STOP", at("2026-03-01T12:00:30Z"))
        .await
        .unwrap();
    assert!(first.reply.is_some() && first.event.is_some() && first.change.is_some());
    assert_eq!(again.keyword.unwrap().kind, KeywordKind::OptOut);
    assert_eq!((again.reply, again.event, again.change), (None, None, None));
    assert_eq!(list.len(), 1);
    let kept = list
        .is_opted_out(&contact, &[Scope::Sender(sender.address().clone())])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        kept.at,
        at("2026-03-01T12:00:00Z"),
        "the first opt-out is kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_deliveries_of_the_same_stop_confirm_exactly_once() {
    let policy = std::sync::Arc::new(policy(ConsentScope::Sender));
    let list = std::sync::Arc::new(MemorySuppressionList::new(1000));
    let sender = senders()[2].clone();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (policy, list, sender) = (policy.clone(), list.clone(), sender.clone());
        tasks.spawn(async move {
            policy
                .handle_mo(
                    &*list,
                    &contact(),
                    &sender,
                    "STOP",
                    at("2026-03-01T12:00:00Z"),
                )
                .await
                .unwrap()
        });
    }
    let outcomes = tasks.join_all().await;
    let confirmations = outcomes.iter().filter(|o| o.reply.is_some()).count();
    let events = outcomes.iter().filter(|o| o.event.is_some()).count();
    assert_eq!((confirmations, events), (1, 1));
}

#[tokio::test]
async fn start_or_yes_from_someone_not_opted_out_sends_nothing() {
    let policy = policy(ConsentScope::Sender);
    let list = MemorySuppressionList::new(100);
    let sender = &senders()[2];
    let outcome = policy
        .handle_mo(
            &list,
            &contact(),
            sender,
            "Yes!",
            at("2026-03-01T12:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(outcome.keyword.unwrap().kind, KeywordKind::OptIn);
    assert_eq!(
        (outcome.reply, outcome.event, outcome.change),
        (None, None, None)
    );
}

#[tokio::test]
async fn help_is_answered_and_ordinary_messages_are_left_alone() {
    let policy = policy(ConsentScope::Sender);
    let list = MemorySuppressionList::new(100);
    let sender = &senders()[2];
    let help = policy
        .handle_mo(
            &list,
            &contact(),
            sender,
            "HELP",
            at("2026-03-01T12:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(help.reply.as_deref(), Replies::recommended().help());
    assert_eq!((help.event, help.change), (None, None));
    let chat = policy
        .handle_mo(
            &list,
            &contact(),
            sender,
            "stop it, I'm busy",
            at("2026-03-01T12:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(chat, Default::default());
    assert!(list.is_empty());
}

#[tokio::test]
async fn in_brand_scope_stop_to_one_sender_stops_the_whole_brand() {
    let policy = policy(ConsentScope::Brand);
    let list = MemorySuppressionList::new(100);
    let senders = senders();
    let (toll_free, shortcode, unbranded) = (&senders[0], &senders[1], &senders[2]);
    let contact = contact();
    let stop = policy
        .handle_mo(
            &list,
            &contact,
            toll_free,
            "UNSUBSCRIBE",
            at("2026-03-01T12:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(stop.event.unwrap().scope, Scope::Brand("Acme".into()));
    assert!(
        policy
            .check_mt(&list, &contact, shortcode)
            .await
            .unwrap()
            .is_err()
    );
    assert!(
        policy
            .check_mt(&list, &contact, unbranded)
            .await
            .unwrap()
            .is_ok()
    );

    // A STOP to the brand's other sender is already covered: no second confirmation.
    let again = policy
        .handle_mo(
            &list,
            &contact,
            shortcode,
            "stop",
            at("2026-03-01T12:05:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(again.reply, None);

    let start = policy
        .handle_mo(
            &list,
            &contact,
            shortcode,
            "START",
            at("2026-03-02T12:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(start.event.unwrap().scope, Scope::Brand("Acme".into()));
    assert!(
        policy
            .check_mt(&list, &contact, toll_free)
            .await
            .unwrap()
            .is_ok()
    );
}

#[tokio::test]
async fn an_opt_out_recorded_per_sender_still_blocks_after_switching_to_brand_scope() {
    let list = MemorySuppressionList::new(100);
    let senders = senders();
    let contact = contact();
    policy(ConsentScope::Sender)
        .handle_mo(
            &list,
            &contact,
            &senders[0],
            "STOP",
            at("2026-03-01T12:00:00Z"),
        )
        .await
        .unwrap();
    let brand = policy(ConsentScope::Brand);
    assert!(
        brand
            .check_mt(&list, &contact, &senders[0])
            .await
            .unwrap()
            .is_err()
    );
    let start = brand
        .handle_mo(
            &list,
            &contact,
            &senders[0],
            "START",
            at("2026-03-02T12:00:00Z"),
        )
        .await
        .unwrap();
    assert!(start.event.is_some());
    assert!(
        brand
            .check_mt(&list, &contact, &senders[0])
            .await
            .unwrap()
            .is_ok()
    );
}

#[tokio::test]
async fn a_sender_can_have_its_own_keywords_and_replies() {
    let senders = senders();
    let own = KeywordProfile {
        keywords: KeywordSet::new(&["ARRET", "STOP"], &["REPRISE"], &["AIDE"]).unwrap(),
        replies: Replies::new(
            Some("Vous êtes désabonné.".into()),
            None,
            Some("Aide: répondez ARRET.".into()),
        )
        .unwrap(),
    };
    let policy = ConsentPolicy::new(ConsentSettings {
        senders: HashMap::from([(senders[1].address().clone(), own)]),
        ..ConsentSettings::default()
    });
    let list = MemorySuppressionList::new(100);
    let contact = contact();
    let stop = policy
        .handle_mo(
            &list,
            &contact,
            &senders[1],
            "Arrêt",
            at("2026-03-01T12:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(stop.keyword, None, "ARRET is configured without the accent");
    let stop = policy
        .handle_mo(
            &list,
            &contact,
            &senders[1],
            "arret!",
            at("2026-03-01T12:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(stop.reply.as_deref(), Some("Vous êtes désabonné."));
    let start = policy
        .handle_mo(
            &list,
            &contact,
            &senders[1],
            "reprise",
            at("2026-03-01T13:00:00Z"),
        )
        .await
        .unwrap();
    assert!(start.event.is_some());
    assert_eq!(start.reply, None, "no opt-in reply configured");
    // Another sender keeps the defaults, where ARRET means nothing.
    let other = policy
        .handle_mo(
            &list,
            &contact,
            &senders[2],
            "ARRET",
            at("2026-03-01T12:00:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(other.keyword, None);
}

#[tokio::test]
async fn a_full_in_memory_list_refuses_rather_than_forgets() {
    let list = MemorySuppressionList::new(1);
    let senders = senders();
    let policy = policy(ConsentScope::Sender);
    policy
        .handle_mo(
            &list,
            &contact(),
            &senders[0],
            "STOP",
            at("2026-03-01T12:00:00Z"),
        )
        .await
        .unwrap();
    let error = policy
        .handle_mo(
            &list,
            &contact(),
            &senders[2],
            "STOP",
            at("2026-03-01T12:00:00Z"),
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("full"), "{error}");
    assert!(
        policy
            .check_mt(&list, &contact(), &senders[0])
            .await
            .unwrap()
            .is_err()
    );
}

fn record(
    contact: &str,
    scope: &str,
    keyword: Option<&str>,
    source: &str,
    when: &str,
) -> SuppressionRecord {
    SuppressionRecord {
        contact: contact.parse().unwrap(),
        scope: scope.parse().unwrap(),
        keyword: keyword.map(str::to_owned),
        source: source.to_owned(),
        at: at(when),
    }
}

#[tokio::test]
async fn the_list_pages_in_order_and_removes_single_entries() {
    let list = MemorySuppressionList::new(100);
    for (contact, scope) in [
        ("+14155550103", "72404"),
        ("+14155550101", "+18002345678"),
        ("+14155550102", "brand:Acme"),
        ("+14155550101", "72404"),
    ] {
        let added = list
            .opt_out(record(
                contact,
                scope,
                None,
                "admin:jane",
                "2026-03-01T12:00:00Z",
            ))
            .await
            .unwrap();
        assert!(added);
    }
    let first = list
        .list(ListQuery {
            limit: 2,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    let keys: Vec<String> = first
        .iter()
        .map(|r| format!("{} {}", r.contact, r.scope))
        .collect();
    assert_eq!(keys, ["+14155550101 +18002345678", "+14155550101 72404"]);
    let last = first.last().unwrap();
    let rest = list
        .list(ListQuery {
            after: Some((last.contact.clone(), last.scope.clone())),
            limit: 10,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(rest.len(), 2);
    let one = list
        .list(ListQuery {
            contact: Some("+14155550101".parse().unwrap()),
            limit: 10,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(one.len(), 2);
    let removed = list
        .remove(
            &"+14155550102".parse().unwrap(),
            &"brand:Acme".parse().unwrap(),
        )
        .await
        .unwrap();
    assert!(removed);
    assert_eq!(list.len(), 3);
}

#[test]
fn csv_export_and_import_round_trip() {
    let records = vec![
        record(
            "+14155550101",
            "+18002345678",
            Some("STOP"),
            "sms",
            "2026-03-01T12:00:00Z",
        ),
        record(
            "+14155550102",
            "brand:Acme, Inc.",
            None,
            "admin:jane \"j\" doe",
            "2026-03-01T12:00:00.123456789Z",
        ),
        record(
            "+4915123456789",
            "Acme Ltd",
            Some("OPT OUT"),
            "import",
            "2026-02-28T23:59:59Z",
        ),
    ];
    let mut file = Vec::new();
    assert_eq!(write_csv(&mut file, &records).unwrap(), 3);
    let text = String::from_utf8(file.clone()).unwrap();
    assert!(
        text.starts_with("contact,sender,keyword,source,at\n"),
        "{text}"
    );
    assert!(
        text.contains("+14155550101,+18002345678,STOP,sms,2026-03-01T12:00:00Z\n"),
        "{text}"
    );
    assert!(text.contains("\"brand:Acme, Inc.\""), "{text}");
    let back = read_csv(file.as_slice(), 100).unwrap();
    assert_eq!(back, records);
}

#[test]
fn csv_import_reports_bad_rows_by_line_and_imports_nothing() {
    let text = "contact,sender,keyword,source,at\n\
                +14155550101,+18002345678,STOP,sms,2026-03-01T12:00:00Z\n\
                4155550102,+18002345678,STOP,sms,2026-03-01T12:00:00Z\n\
                +14155550103,12,STOP,sms,2026-03-01T12:00:00Z\n\
                +14155550104,72404,STOP,sms,yesterday\n\
                +14155550105,72404,STOP,,2026-03-01T12:00:00Z\n\
                +14155550106,72404,STOP\n\
                +14155550107,72404,STOP,sms,2026-03-01T14:00:00+02:00\n";
    let error = read_csv(text.as_bytes(), 100).unwrap_err();
    let CsvError::Rows { errors, more } = &error else {
        panic!("{error}");
    };
    assert_eq!(*more, 0);
    let found: Vec<(u64, &str)> = errors.iter().map(|e| (e.line, e.column)).collect();
    assert_eq!(
        found,
        [
            (3, "contact"),
            (4, "sender"),
            (5, "at"),
            (6, "source"),
            (7, "row")
        ]
    );
    let message = error.to_string();
    assert!(
        message.starts_with("5 bad row(s), nothing imported: line 3, column `contact`"),
        "{message}"
    );

    let good = read_csv(
        "contact,sender,keyword,source,at\n+14155550107,72404,,import,2026-03-01T14:00:00+02:00\n"
            .as_bytes(),
        100,
    )
    .unwrap();
    assert_eq!(good[0].at, at("2026-03-01T12:00:00Z"));
    assert_eq!(good[0].keyword, None);
}

#[test]
fn csv_import_refuses_a_wrong_header_and_too_many_rows() {
    let wrong = read_csv("phone,sender,keyword,source,at\n".as_bytes(), 10).unwrap_err();
    assert!(
        matches!(wrong, CsvError::Header { ref found } if found == "phone,sender,keyword,source,at")
    );
    let empty = read_csv("".as_bytes(), 10).unwrap_err();
    assert!(matches!(empty, CsvError::Header { .. }));

    let mut many = String::from("contact,sender,keyword,source,at\n");
    for i in 0..11 {
        many.push_str(&format!(
            "+141555501{i:02},72404,STOP,sms,2026-03-01T12:00:00Z\n"
        ));
    }
    let error = read_csv(many.as_bytes(), 10).unwrap_err();
    assert!(
        matches!(error, CsvError::TooManyRows { max: 10 }),
        "{error}"
    );
    assert_eq!(read_csv(many.as_bytes(), 11).unwrap().len(), 11);
}

#[test]
fn csv_import_lists_at_most_twenty_bad_rows_and_counts_the_rest() {
    let mut text = String::from("contact,sender,keyword,source,at\n");
    for _ in 0..25 {
        text.push_str("bad,72404,STOP,sms,2026-03-01T12:00:00Z\n");
    }
    let CsvError::Rows { errors, more } = read_csv(text.as_bytes(), 100).unwrap_err() else {
        panic!("expected bad rows");
    };
    assert_eq!((errors.len(), more), (20, 5));
    assert_eq!(errors[19].line, 21);
}

#[test]
fn imported_records_apply_to_a_list_without_duplicates() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let text = "contact,sender,keyword,source,at\n\
                +14155550101,72404,STOP,import,2026-03-01T12:00:00Z\n\
                +14155550101,72404,QUIT,import,2026-03-02T12:00:00Z\n";
    let records = read_csv(text.as_bytes(), 10).unwrap();
    let list = MemorySuppressionList::new(10);
    let added: Vec<bool> = runtime.block_on(async {
        let mut added = Vec::new();
        for record in records {
            added.push(list.opt_out(record).await.unwrap());
        }
        added
    });
    assert_eq!(added, [true, false]);
    assert_eq!(list.len(), 1);
}

mod properties {
    use proptest::prelude::*;
    use smsbridge::consent::{KeywordSet, normalise};

    fn keyword() -> impl Strategy<Value = String> {
        let set = KeywordSet::recommended();
        let words: Vec<String> = set
            .opt_out()
            .iter()
            .chain(set.opt_in())
            .chain(set.help())
            .cloned()
            .collect();
        prop::sample::select(words)
    }

    /// The word in random case.
    fn any_case(word: String, flips: Vec<bool>) -> String {
        word.chars()
            .zip(flips.into_iter().chain(std::iter::repeat(false)))
            .map(|(c, lower)| if lower { c.to_ascii_lowercase() } else { c })
            .collect()
    }

    proptest! {
        #[test]
        fn a_keyword_matches_in_any_case_with_any_padding(
            word in keyword(),
            flips in prop::collection::vec(any::<bool>(), 12),
            before in "[ \t\n.!?\"'*]{0,4}",
            after in "[ \t\n.!?\"'*]{0,4}",
        ) {
            let set = KeywordSet::recommended();
            let text = format!("{before}{}{after}", any_case(word.clone(), flips));
            let found = set.classify(&text);
            prop_assert_eq!(found.map(|k| k.word), Some(word));
        }

        #[test]
        fn a_keyword_with_another_word_is_not_a_keyword(
            word in keyword(),
            other in "[a-z]{1,8}",
            first in any::<bool>(),
        ) {
            let set = KeywordSet::recommended();
            let text = if first { format!("{other} {word}") } else { format!("{word} {other}") };
            // "opt" followed by "out" is the keyword OPT OUT; no other pair forms one.
            prop_assume!(normalise(&text).as_deref() != Some("OPT OUT"));
            prop_assert!(set.classify(&text).is_none(), "{text:?}");
        }

        #[test]
        fn normalising_twice_changes_nothing(text in "\\PC{0,40}") {
            if let Some(once) = normalise(&text) {
                prop_assert_eq!(normalise(&once), Some(once));
            }
        }
    }
}
