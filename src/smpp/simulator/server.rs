//! The simulator's listener and its sessions: accept (bounded), run the SMSC role on
//! each connection, drop connections on purpose when the fault asks for it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::smsc::SmscHandler;
use super::{Shared, stats};
use crate::smpp::metrics::SessionLabels;
use crate::smpp::session::{Session, SessionConfig};
use crate::smpp::state::Role;

pub(super) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    tracker: TaskTracker,
    cancel: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(shared.cfg.max_connections));
    loop {
        // Cancel-safe: a cancelled accept loses no connection (it stays in the backlog).
        let accepted = tokio::select! {
            () = cancel.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                tracing::warn!(%err, "simulator accept failed");
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "simulator at max_connections; connection refused");
            continue;
        };
        shared.stats.bump(stats::Counter::Connection);
        let connection = shared.connection_ids.fetch_add(1, Ordering::Relaxed) + 1;
        let shared = shared.clone();
        let cancel = cancel.clone();
        tracker.spawn(async move {
            let _ = stream.set_nodelay(true);
            let (reader, writer) = stream.into_split();
            serve(reader, writer, connection, shared, cancel).await;
            drop(slot);
        });
    }
}

fn session_config(shared: &Shared) -> SessionConfig {
    let labels = SessionLabels {
        carrier: Arc::from("simulator"),
        bind: Arc::from("smsc"),
    };
    SessionConfig {
        window: shared.cfg.window,
        // Submits are answered at once; let the ESME's own window be the limit.
        inbound_window: 1024,
        ..SessionConfig::new(Role::Smsc, labels)
    }
}

pub(super) async fn serve<R, W>(
    reader: R,
    writer: W,
    connection: u64,
    shared: Arc<Shared>,
    cancel: CancellationToken,
) where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let handler = SmscHandler::new(shared.clone(), connection);
    let config = session_config(&shared);
    let (session, _handle) = Session::new(reader, writer, config, handler, &cancel);
    let result = match shared.cfg.faults.drop_every {
        None => session.run().await,
        Some(after) => tokio::select! {
            result = session.run() => result,
            () = tokio::time::sleep(after) => {
                // Dropping the session closes the socket without unbind: a carrier crash.
                shared.stats.bump(stats::Counter::ConnectionDropped);
                return;
            }
        },
    };
    if let Err(err) = result {
        tracing::debug!(connection, %err, "simulator session ended");
    }
}
