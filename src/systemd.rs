//! The systemd notify protocol: READY once the listeners are up, WATCHDOG at half of
//! `WATCHDOG_USEC`, RELOADING/READY around a reload, STOPPING on exit.
//!
//! Everything here is a no-op when `NOTIFY_SOCKET` is not set (not run by systemd).

use std::time::Duration;

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;

/// Sends notify messages when the daemon runs under systemd.
#[derive(Debug, Clone, Copy)]
pub struct Notifier {
    enabled: bool,
}

impl Notifier {
    /// A notifier for this process: enabled when `NOTIFY_SOCKET` is set.
    pub fn from_env() -> Self {
        Notifier {
            enabled: std::env::var_os("NOTIFY_SOCKET").is_some(),
        }
    }

    fn send(&self, states: &[NotifyState<'_>]) {
        if !self.enabled {
            return;
        }
        if let Err(e) = sd_notify::notify(states) {
            tracing::warn!(error = %e, "systemd notify failed");
        }
    }

    /// Listeners are up: systemd may consider the service started.
    pub fn ready(&self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// A configuration reload begins.
    pub fn reloading(&self) {
        match sd_notify::NotifyState::monotonic_usec_now() {
            Ok(now) => self.send(&[NotifyState::Reloading, now]),
            Err(_) => self.send(&[NotifyState::Reloading]),
        }
    }

    /// The daemon is shutting down.
    pub fn stopping(&self) {
        self.send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    }

    /// A free-form status line for `systemctl status`.
    pub fn status(&self, status: &str) {
        self.send(&[NotifyState::Status(status)]);
    }

    /// The watchdog interval systemd asked for, if any.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        if !self.enabled {
            return None;
        }
        sd_notify::watchdog_enabled()
    }

    /// Pings the watchdog at half its interval until `cancel` fires.
    pub async fn run_watchdog(self, interval: Duration, cancel: CancellationToken) {
        let mut tick = tokio::time::interval(interval / 2);
        loop {
            tokio::select! {
                // Cancel-safe: nothing is lost when the token wins.
                _ = cancel.cancelled() => return,
                _ = tick.tick() => self.send(&[NotifyState::Watchdog]),
            }
        }
    }
}
