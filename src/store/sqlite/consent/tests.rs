use std::path::Path;

use super::*;
use crate::config::Synchronous;
use crate::consent::MemorySuppressionList;
use crate::number::E164;

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(&dir.join("smsbridge.db"), Synchronous::Full, 64, "t").unwrap()
}

fn at(text: &str) -> SystemTime {
    humantime::parse_rfc3339(text).unwrap()
}

fn contact(text: &str) -> E164 {
    text.parse().unwrap()
}

fn scope(text: &str) -> Scope {
    text.parse().unwrap()
}

fn record(who: &str, to: &str, keyword: Option<&str>, source: &str) -> SuppressionRecord {
    SuppressionRecord {
        contact: contact(who),
        scope: scope(to),
        keyword: keyword.map(str::to_owned),
        source: source.to_owned(),
        at: at("2026-03-01T12:00:00.123456789Z"),
    }
}

#[tokio::test]
async fn an_opt_out_keeps_who_when_and_why_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let stop = record("+14155550123", "+18002345678", Some("STOP"), "sms");
    assert!(store.opt_out(stop.clone()).await.unwrap());
    drop(store);

    let store = open(dir.path());
    let found = store
        .is_opted_out(&stop.contact, &[scope("72404"), stop.scope.clone()])
        .await
        .unwrap();
    assert_eq!(found, Some(stop), "every field reads back exactly");
}

#[tokio::test]
async fn the_check_answers_with_the_first_asked_scope_and_ignores_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let brand = record("+14155550123", "brand:acme", Some("STOP"), "sms");
    let number = record("+14155550123", "+18002345678", Some("STOP"), "sms");
    let other = record("+14155550123", "72404", Some("STOP"), "sms");
    for r in [&brand, &number, &other] {
        assert!(store.opt_out(r.clone()).await.unwrap());
    }
    let who = &brand.contact;
    let asked = |scopes: &[&SuppressionRecord]| -> Vec<Scope> {
        scopes.iter().map(|r| r.scope.clone()).collect()
    };
    let first = store.is_opted_out(who, &asked(&[&number, &brand])).await;
    assert_eq!(first.unwrap(), Some(number.clone()));
    let first = store.is_opted_out(who, &asked(&[&brand, &number])).await;
    assert_eq!(first.unwrap(), Some(brand.clone()));
    let none = store.is_opted_out(who, &[scope("+18005550100")]).await;
    assert_eq!(none.unwrap(), None, "a scope not asked for does not answer");
    let stranger = store
        .is_opted_out(&contact("+14155550999"), &asked(&[&brand]))
        .await;
    assert_eq!(stranger.unwrap(), None);
}

#[tokio::test]
async fn a_redelivered_stop_records_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let first = record("+14155550123", "72404", Some("STOP"), "sms");
    let mut again = record("+14155550123", "72404", Some("QUIT"), "sms");
    again.at = at("2026-03-01T12:05:00Z");
    assert!(store.opt_out(first.clone()).await.unwrap());
    assert!(!store.opt_out(again).await.unwrap());
    let kept = store
        .is_opted_out(&first.contact, std::slice::from_ref(&first.scope))
        .await
        .unwrap();
    assert_eq!(kept, Some(first), "the first opt-out stands unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_racing_identical_opt_outs_exactly_one_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let store = store.clone();
        tasks.spawn(async move {
            let stop = record("+14155550123", "brand:Acme", Some("STOP"), "sms");
            store.opt_out(stop).await.unwrap()
        });
    }
    let recorded = tasks.join_all().await.into_iter().filter(|r| *r).count();
    assert_eq!(recorded, 1);
}

#[tokio::test]
async fn opt_in_lifts_only_the_named_scopes_and_returns_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for to in ["+18002345678", "brand:Acme", "72404"] {
        let stop = record("+14155550123", to, Some("STOP"), "sms");
        assert!(store.opt_out(stop).await.unwrap());
    }
    let who = contact("+14155550123");
    let lifted = store
        .opt_in(&who, &[scope("+18002345678"), scope("brand:Acme")])
        .await
        .unwrap();
    let lifted: Vec<String> = lifted.iter().map(|r| r.scope.to_string()).collect();
    assert_eq!(lifted, ["+18002345678", "brand:Acme"]);
    let left = store
        .list(ListQuery {
            limit: 10,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].scope, scope("72404"));
    assert!(
        store
            .opt_in(&who, &[scope("brand:Acme")])
            .await
            .unwrap()
            .is_empty()
    );
}

/// The same records in both lists page in the same order with the same filters, so the
/// durable list can stand in for the in-memory one.
#[tokio::test]
async fn pages_and_filters_match_the_in_memory_list() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let memory = MemorySuppressionList::new(100);
    let records: Vec<SuppressionRecord> = [
        ("+14155550103", "72404"),
        ("+14155550101", "brand:Acme"),
        ("+14155550101", "ACME"),
        ("+14155550101", "+18002345678"),
        ("+14155550101", "72404"),
        ("+4915123456789", "72404"),
        ("+14155550102", "Zeta"),
        ("+14155550102", "brand:Zeta"),
        ("+14155550102", "+14155550100"),
    ]
    .into_iter()
    .map(|(who, to)| record(who, to, None, "admin:jane"))
    .collect();
    assert_eq!(store.import(records.clone()).await.unwrap(), records.len());
    assert_eq!(memory.import(records).await.unwrap(), 9);

    let queries = [
        ListQuery {
            limit: 100,
            ..ListQuery::default()
        },
        ListQuery {
            contact: Some(contact("+14155550101")),
            limit: 100,
            ..ListQuery::default()
        },
        ListQuery {
            scope: Some(scope("72404")),
            limit: 100,
            ..ListQuery::default()
        },
        ListQuery {
            scope: Some(scope("72404")),
            after: Some((contact("+14155550101"), scope("72404"))),
            limit: 100,
            ..ListQuery::default()
        },
    ];
    for query in queries {
        let durable = store.list(query.clone()).await.unwrap();
        let in_memory = memory.list(query.clone()).await.unwrap();
        assert_eq!(durable, in_memory, "{query:?}");
        assert!(!durable.is_empty(), "{query:?}");
    }

    // Paging two at a time visits every record once, in order.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list(ListQuery {
                after: after.clone(),
                limit: 2,
                ..ListQuery::default()
            })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some((last.contact.clone(), last.scope.clone()));
        seen.extend(page);
    }
    let everything = memory
        .list(ListQuery {
            limit: 100,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(seen, everything);
}

#[tokio::test]
async fn a_page_never_exceeds_the_list_bound() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let records: Vec<SuppressionRecord> = (0..MAX_LIST_PAGE + 5)
        .map(|i| record(&format!("+1415555{i:04}"), "72404", None, "import"))
        .collect();
    store.import(records).await.unwrap();
    let page = store
        .list(ListQuery {
            limit: usize::MAX,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), MAX_LIST_PAGE);
}

#[tokio::test]
async fn an_import_with_a_bad_record_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let good = record("+14155550101", "72404", Some("STOP"), "import");
    let bad = record("+14155550102", "72404", Some("STOP"), "bad\nsource");
    let refused = store.import(vec![good.clone(), bad]).await;
    assert!(
        matches!(refused, Err(ConsentError::BadSource(_))),
        "{refused:?}"
    );
    let listed = store
        .list(ListQuery {
            limit: 10,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert!(listed.is_empty());

    // Present pairs are skipped and counted out; duplicates inside one file count once.
    assert!(store.opt_out(good.clone()).await.unwrap());
    let next = record("+14155550103", "72404", None, "import");
    let added = store.import(vec![good, next.clone(), next]).await.unwrap();
    assert_eq!(added, 1);
}

#[tokio::test]
async fn a_failing_write_in_an_import_undoes_the_rows_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // A trigger that refuses one contact makes the insert fail half-way through.
    store
        .write(|conn| {
            Ok(conn.execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON consent_opt_out
                 WHEN NEW.contact = '+14155550102'
                 BEGIN SELECT RAISE(ABORT, 'refused'); END;",
            )?)
        })
        .await
        .unwrap();
    let records = ["+14155550101", "+14155550102", "+14155550103"]
        .map(|who| record(who, "72404", None, "import"))
        .to_vec();
    let failed = store.import(records).await;
    assert!(matches!(failed, Err(ConsentError::Store(_))), "{failed:?}");
    let listed = store
        .list(ListQuery {
            limit: 10,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert!(listed.is_empty(), "{listed:?}");
}

#[tokio::test]
async fn remove_deletes_one_pair_and_says_whether_it_was_there() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let stop = record("+14155550123", "72404", Some("STOP"), "sms");
    store.opt_out(stop.clone()).await.unwrap();
    assert!(
        !store
            .remove(&stop.contact, &scope("brand:Acme"))
            .await
            .unwrap()
    );
    assert!(store.remove(&stop.contact, &stop.scope).await.unwrap());
    assert!(!store.remove(&stop.contact, &stop.scope).await.unwrap());
    assert_eq!(
        store
            .is_opted_out(&stop.contact, std::slice::from_ref(&stop.scope))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn times_the_store_cannot_hold_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut early = record("+14155550123", "72404", None, "import");
    early.at = UNIX_EPOCH - Duration::from_secs(1);
    assert!(matches!(
        store.opt_out(early).await,
        Err(ConsentError::TimeOutOfRange)
    ));
    let mut late = record("+14155550123", "72404", None, "import");
    late.at = UNIX_EPOCH + Duration::from_secs(300 * 366 * 24 * 3600);
    assert!(matches!(
        store.opt_out(late).await,
        Err(ConsentError::TimeOutOfRange)
    ));
}

#[test]
fn a_database_of_schema_one_gains_the_list_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smsbridge.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(super::super::MIGRATIONS[0]).unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
    drop(conn);
    let store = SqliteStore::open(&path, Synchronous::Full, 8, "t").unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        super::super::MIGRATIONS.len() as u32
    );
    let rows: i64 = store
        .read_blocking(|c| {
            Ok(c.query_row("SELECT count(*) FROM consent_opt_out", [], |r| r.get(0))?)
        })
        .unwrap();
    assert_eq!(rows, 0);
}

/// The consent decisions over the durable list: a STOP redelivered after a restart is
/// not confirmed twice, and the MT check follows STOP and START.
#[tokio::test]
async fn stop_and_start_decide_the_same_over_a_reopened_store() {
    use crate::consent::ConsentPolicy;
    use crate::number::{SenderInventory, SenderKind, SenderSpec};

    let inventory = SenderInventory::new([SenderSpec {
        number: "+18002345678".into(),
        kind: SenderKind::TollFree,
        country: None,
        route: "acme".into(),
        fallback_routes: Vec::new(),
        mms: false,
        throughput: 3.0,
        ton: None,
        npi: None,
        brand: None,
    }])
    .unwrap();
    let sender = inventory.lookup("+18002345678").unwrap();
    let policy = ConsentPolicy::default();
    let who = contact("+14155550123");
    let dir = tempfile::tempdir().unwrap();

    let store = open(dir.path());
    let first = policy
        .handle_mo(&store, &who, sender, "Stop.", SystemTime::now())
        .await
        .unwrap();
    assert!(first.reply.is_some() && first.event.is_some());
    drop(store);

    let store = open(dir.path());
    let redelivered = policy
        .handle_mo(&store, &who, sender, "Stop.", SystemTime::now())
        .await
        .unwrap();
    assert_eq!((redelivered.reply, redelivered.event), (None, None));
    let refused = policy.check_mt(&store, &who, sender).await.unwrap();
    assert_eq!(refused.unwrap_err().code(), "opted_out");

    let start = policy
        .handle_mo(&store, &who, sender, "START", SystemTime::now())
        .await
        .unwrap();
    assert!(start.reply.is_some());
    assert_eq!(policy.check_mt(&store, &who, sender).await.unwrap(), Ok(()));
}
