//! Seals phone numbers that an older build stored in plain text in pending
//! deliveries, with this service's current key: at start-up and then every
//! few minutes, so rows written by old replicas during a rolling upgrade are
//! sealed soon after it.
use std::{sync::Arc, time::Duration};

use yeyak_platform::Shutdown;

use super::Deliveries;
use crate::error::Error;

/// Rows sealed per statement.
const BATCH: i64 = 500;
/// Pause between sweeps; one sweep of nothing is one index probe.
const SWEEP: Duration = Duration::from_secs(300);

impl Deliveries {
    /// Seals every plain number left; returns how many were sealed.
    pub(crate) async fn seal_plain_contacts(&self) -> Result<u64, Error> {
        let sealer = self.contacts.sealer();
        let mut sealed = 0;
        loop {
            let rows = self.store.plain_contacts(BATCH).await?;
            if rows.is_empty() {
                return Ok(sealed);
            }
            let ids: Vec<_> = rows.iter().map(|(message_id, _, _)| *message_id).collect();
            let boxes: Vec<Vec<u8>> = rows.iter().map(|(_, reservation_id, phone)| sealer.seal(reservation_id.as_bytes(), phone)).collect();
            sealed += self.store.seal_contacts(&ids, &boxes).await?;
        }
    }

    /// Sweeps until shutdown.
    pub(crate) async fn seal_plain_contacts_until_stopped(self: Arc<Self>, shutdown: Shutdown) {
        while !shutdown.is_triggered() {
            match self.seal_plain_contacts().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deliveries = n, "sealed phone numbers stored in plain text by an older build"),
                Err(e) => tracing::warn!(error = %e, "could not seal plain phone numbers; retrying at the next sweep"),
            }
            tokio::select! {
                _ = tokio::time::sleep(SWEEP) => {},
                _ = shutdown.wait() => {},
            }
        }
    }
}
