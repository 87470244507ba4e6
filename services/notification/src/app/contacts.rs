//! Phone numbers at rest. Seals those an older build stored in plain text,
//! with this service's current key: at start-up and then every few minutes,
//! so rows written by old replicas during a rolling upgrade are sealed soon
//! after it. And erases the sealed numbers of deliveries that ended (sent or
//! failed) once the retention period has passed (`YEYAK_SMS_CONTACT_RETENTION_HOURS`,
//! 7 days): until then an operator can replay a failed one or resend a lost
//! one (docs/notification.md, "Phone numbers").
use std::sync::Arc;

use yeyak_platform::Shutdown;

use super::Deliveries;
use crate::error::Error;

/// Rows sealed per statement.
const BATCH: i64 = 500;

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

    /// Erases every number kept past the retention period; returns how many.
    pub(crate) async fn erase_expired_contacts(&self) -> Result<u64, Error> {
        let mut erased = 0;
        loop {
            let n = self.store.erase_expired_contacts(self.contact_retention, BATCH).await?;
            erased += n;
            if n < BATCH as u64 {
                return Ok(erased);
            }
        }
    }

    /// Sweeps until shutdown (each sweep of nothing is two index probes).
    pub(crate) async fn seal_plain_contacts_until_stopped(self: Arc<Self>, shutdown: Shutdown) {
        while !shutdown.is_triggered() {
            match self.seal_plain_contacts().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deliveries = n, "sealed phone numbers stored in plain text by an older build"),
                Err(e) => tracing::warn!(error = %e, "could not seal plain phone numbers; retrying at the next sweep"),
            }
            match self.erase_expired_contacts().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deliveries = n, "erased phone numbers kept past the retention period"),
                Err(e) => tracing::warn!(error = %e, "could not erase expired phone numbers; retrying at the next sweep"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.contact_sweep) => {},
                _ = shutdown.wait() => {},
            }
        }
    }
}
