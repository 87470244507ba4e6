//! Watches the deliveries whose outcome is unknown at their gateway: how
//! many there are and how old the oldest is, as gauges
//! (`notification_sms_unknown_deliveries`,
//! `notification_sms_unknown_oldest_age_seconds`), so an alert fires when
//! SMS wait on a gateway's answer for too long (docs/notification.md).
use std::{sync::Arc, time::Duration};

use yeyak_platform::Shutdown;

use super::Deliveries;

/// How often the gauges are refreshed.
const EVERY: Duration = Duration::from_secs(15);

impl Deliveries {
    /// Refreshes the gauges every [`EVERY`] until shutdown.
    pub(crate) async fn watch_unknown_until_stopped(self: Arc<Self>, shutdown: Shutdown) {
        let _running = shutdown.track("unknown-outcome gauges");
        while !shutdown.is_triggered() {
            match self.store.unknown_backlog().await {
                Ok((rows, oldest)) => {
                    self.metrics.unknown_rows.set(rows);
                    self.metrics.unknown_oldest.set(oldest);
                }
                Err(e) => tracing::warn!(error = %e, "cannot count the unknown-outcome deliveries; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {},
                _ = shutdown.wait() => {},
            }
        }
    }
}
