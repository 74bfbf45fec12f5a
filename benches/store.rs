//! The store's side of an MT, on disk: acceptance, the carrier's acknowledgement, the
//! delivery receipt, and the delivery of the three status events they append (read
//! from the outbox and acknowledged). The writer thread carries all of it, and under
//! the MT load run it is the busiest thread of the gateway, so this is the figure that
//! moves when a write gets cheaper.
//!
//! Two figures per setting: `wall`, the time a round takes, and `cpu`, the CPU time the
//! whole process (writer thread and runtime) spent on it, read from the process's CPU
//! clock. On a shared machine the wall time moves with the neighbours; the CPU time is
//! what a change to a statement moves.
//!
//! `cargo bench --bench store`; figures go to BENCHMARKS.md under `## Store`.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{conversation, new_mt};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smsbridge::config::Synchronous;
use smsbridge::receipts::{MsgIdFormat, ReceiptState, SegmentReport};
use smsbridge::store::model::now_ms;
use smsbridge::store::sqlite::SqliteStore;
use smsbridge::store::{MtAttempt, ReceiptApplied, ReceiptUpdate, SentSegment, Store};

/// MTs per measured round.
const ROUND: usize = 2_048;
/// Contacts the MTs go to in turn (as `smsbridge bench mt` spreads them).
const CONTACTS: usize = 10_000;
/// Events read from the outbox at once (the delivery task's `concurrency` x `batch_max`
/// is of this order).
const DUE_AT_ONCE: usize = 256;

struct Rig {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    next: usize,
}

impl Rig {
    fn new(sync: Synchronous) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("smsbridge.db"), sync, 512, "b").unwrap();
        Rig {
            _dir: dir,
            store,
            next: 0,
        }
    }

    /// Takes `ROUND` MTs, `in_flight` at a time, from acceptance to `delivered`, then
    /// delivers their events; how long it took.
    async fn round(&mut self, in_flight: usize) -> Duration {
        let start = Instant::now();
        let mut lives = tokio::task::JoinSet::new();
        for _ in 0..ROUND {
            if lives.len() >= in_flight {
                lives.join_next().await.unwrap().unwrap();
            }
            self.next += 1;
            let (n, store) = (self.next, self.store.clone());
            lives.spawn(async move { life(&store, n).await });
        }
        while let Some(done) = lives.join_next().await {
            done.unwrap();
        }
        self.deliver_all().await;
        start.elapsed()
    }

    /// Reads every pending event from the outbox and acknowledges it, as the delivery
    /// task does with a sink that answers at once.
    async fn deliver_all(&self) {
        loop {
            let runs = self
                .store
                .outbox_due(now_ms(), DUE_AT_ONCE, 99, HashSet::new())
                .await
                .unwrap();
            if runs.is_empty() {
                return;
            }
            let keys = runs.iter().flatten().map(|p| p.key()).collect();
            self.store.outbox_delivered(keys).await.unwrap();
        }
    }
}

/// One MT's writes: accepted, sent (the carrier's id indexed exactly), delivered.
async fn life(store: &SqliteStore, n: usize) {
    let id = format!("m{n:08}");
    let carrier_id = format!("{n:x}");
    let accepted = store
        .accept_mt(new_mt(&id, &format!("+1415555{:04}", n % CONTACTS)))
        .await
        .unwrap();
    let segment = SentSegment {
        index: 0,
        carrier: "sim".into(),
        carrier_message_id: carrier_id.clone(),
        id_format: MsgIdFormat::Exact,
        resent: false,
    };
    store
        .record_mt_attempt(id, conversation(accepted), vec![segment], MtAttempt::Sent)
        .await
        .unwrap();
    let applied = store
        .apply_receipt(ReceiptUpdate {
            carrier: "sim".into(),
            ids: vec![carrier_id],
            format: MsgIdFormat::Exact,
            report: SegmentReport {
                state: ReceiptState::Delivered,
                intermediate: false,
                reason: None,
            },
            proven: None,
            quiet: true,
        })
        .await
        .unwrap();
    assert!(matches!(applied, ReceiptApplied::Matched { .. }));
}

/// The CPU time this process has used, all threads together.
fn process_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn mt_life(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("store_mt");
    group.throughput(Throughput::Elements(ROUND as u64));
    group.sample_size(10);
    for (sync, sync_name) in [(Synchronous::Full, "full"), (Synchronous::Normal, "normal")] {
        let mut rig = Rig::new(sync);
        // Every contact's conversation opened first, as in a long run.
        rt.block_on(async {
            for _ in 0..CONTACTS.div_ceil(ROUND) {
                rig.round(64).await;
            }
        });
        group.bench_function(format!("sync_{sync_name}/wall"), |b| {
            b.iter_custom(|rounds| {
                (0..rounds)
                    .map(|_| rt.block_on(rig.round(64)))
                    .sum::<Duration>()
            })
        });
        group.bench_function(format!("sync_{sync_name}/cpu"), |b| {
            b.iter_custom(|rounds| {
                let before = process_cpu();
                for _ in 0..rounds {
                    rt.block_on(rig.round(64));
                }
                process_cpu() - before
            })
        });
    }
    group.finish();
}

criterion_group!(benches, mt_life);
criterion_main!(benches);
