//! The delivery task: holds receipts and MO until they are due and a receiver is bound,
//! then sends each as deliver_sm on the next receiver (round robin).
//!
//! Bounded on both sides: at most `receipts.max_pending` deliveries wait here (beyond
//! that the sessions drop receipts and count them), and at most a fixed number of
//! deliver_sm are in flight across all binds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rusmpp::CommandStatus;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::stats::Counter;
use super::{Delivery, DeliveryKind, Shared};
use crate::smpp::session::RequestError;

/// Stands for "no delivery pending" in the timer arm.
const IDLE: Duration = Duration::from_secs(3600);

pub(super) async fn run(
    shared: Arc<Shared>,
    mut incoming: mpsc::Receiver<Delivery>,
    mut receivers: watch::Receiver<usize>,
    slots: Arc<Semaphore>,
    cancel: CancellationToken,
) {
    // Keyed by (due, arrival) so equal due times keep their order (MO parts in sequence).
    let mut pending: BTreeMap<(Instant, u64), Delivery> = BTreeMap::new();
    let mut arrival = 0u64;
    let max_pending = shared.cfg.receipts.max_pending;
    loop {
        let have_receivers = *receivers.borrow() > 0;
        let next_due = pending.first_key_value().map(|((due, _), _)| *due);
        if have_receivers && next_due.is_some_and(|due| due <= Instant::now()) {
            // Cancel-safe: a permit not yet granted is simply not taken, and recv()
            // loses nothing.
            let permit = tokio::select! {
                () = cancel.cancelled() => return,
                permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                // Keep taking what the sessions queue while every slot is busy: left in
                // the channel, it would fill it and the sessions would drop receipts
                // long before `max_pending` wait here.
                Some(delivery) = incoming.recv(), if pending.len() < max_pending => {
                    arrival += 1;
                    pending.insert((delivery.due, arrival), delivery);
                    continue;
                }
            };
            if let Some((key, delivery)) = pending.pop_first()
                && let Some(unsent) = dispatch(&shared, delivery, permit)
            {
                pending.insert(key, unsent);
            }
            continue;
        }
        let wake = next_due.unwrap_or_else(|| Instant::now() + IDLE);
        // Cancel-safety: recv() and changed() lose nothing; the timer is recreated.
        tokio::select! {
            () = cancel.cancelled() => return,
            Some(delivery) = incoming.recv(), if pending.len() < max_pending => {
                arrival += 1;
                pending.insert((delivery.due, arrival), delivery);
            }
            () = sleep_until(wake), if have_receivers && next_due.is_some() => {}
            changed = receivers.changed() => if changed.is_err() { return },
        }
    }
}

/// Sends one delivery on the next receiver; gives it back when no receiver is bound.
fn dispatch(
    shared: &Arc<Shared>,
    delivery: Delivery,
    permit: OwnedSemaphorePermit,
) -> Option<Delivery> {
    let Some(session) = shared.pick_receiver() else {
        return Some(delivery);
    };
    let shared = shared.clone();
    tokio::spawn(async move {
        let (sent, acked) = match delivery.kind {
            DeliveryKind::Receipt => (Counter::ReceiptSent, Counter::ReceiptAcked),
            DeliveryKind::Mo => (Counter::MoSent, Counter::MoAcked),
        };
        let Delivery {
            pdu,
            kind,
            answered,
            ..
        } = delivery;
        let retry = pdu.clone();
        match session.request(pdu).await {
            Ok(response) if response.status == CommandStatus::EsmeRok => {
                shared.stats.bump(sent);
                shared.stats.bump(acked);
            }
            // Never written (the bind went away meanwhile): queue it again.
            Err(RequestError::NotSent | RequestError::NotAllowed { .. }) => {
                let again = Delivery {
                    pdu: retry,
                    kind,
                    due: Instant::now(),
                    answered,
                };
                if shared.deliveries.try_send(again).is_err() {
                    shared.stats.bump(Counter::DeliveryFailed);
                }
                drop(permit);
                return;
            }
            Ok(_) | Err(_) => {
                shared.stats.bump(sent);
                shared.stats.bump(Counter::DeliveryFailed);
            }
        }
        if let Some(answered) = answered {
            let _ = answered.send(());
        }
        drop(permit);
    });
    None
}
