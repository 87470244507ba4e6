//! Recording reservation events: each event becomes at most one pending
//! delivery. Inbox rows and delivery rows commit together (a batch of events
//! at a time), and the consumer acks only after that commit, so an event is
//! never lost (a crash before the commit means redelivery) and never queued
//! twice (a redelivery finds its inbox row).
use uuid::Uuid;

use super::Deliveries;
use crate::{domain::Notice, error::Error, store::Recorded};

impl Deliveries {
    /// Records a batch of decoded events in one transaction (all or none),
    /// then wakes a send loop if any of them queued an SMS. An event given
    /// twice is recorded once.
    pub(crate) async fn record(&self, events: &[(Uuid, &Notice)]) -> Result<(), Error> {
        if events.is_empty() {
            return Ok(());
        }
        let recorded = self.store.record(events).await?;
        for ((event_id, notice), recorded) in events.iter().zip(&recorded) {
            log(*event_id, notice, *recorded);
        }
        if recorded.contains(&Recorded::Queued) {
            self.wake.notify_one();
        }
        Ok(())
    }
}

fn log(event_id: Uuid, notice: &Notice, recorded: Recorded) {
    match recorded {
        Recorded::Queued => {
            let to = notice.contact.as_ref().map(|c| c.masked.as_str()).unwrap_or_default();
            tracing::info!(%event_id, reservation_id = %notice.reservation_id, event_type = notice.event_type, %to, "sms queued");
        }
        Recorded::NothingToSend => {
            tracing::info!(%event_id, reservation_id = %notice.reservation_id, event_type = notice.event_type, "event has no phone number; no sms");
        }
        Recorded::Duplicate => {
            tracing::debug!(%event_id, event_type = notice.event_type, "event already processed; ignored");
        }
    }
}
