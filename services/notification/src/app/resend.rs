//! ResendForReservation: an explicit new SMS for a reservation, for a person
//! who lost theirs. It repeats the reservation's latest message (the text of
//! its newest event, which says where the booking stands now: confirmed,
//! moved or cancelled), marked as a resend (`domain::operator::resend_text`),
//! to the newest number the reservation's deliveries still keep. It is a
//! delivery of its own: a new message id, so a new idempotency key, sent by
//! the normal sender.
//!
//! Refused while any message of the reservation is pending or waiting on a
//! gateway: the person is about to get one, and a resend beside it would
//! make two. That also keeps at most one resend in flight per reservation
//! (the unique index `deliveries_one_resend_in_flight` holds it when two
//! operators race).
use uuid::Uuid;
use yeyak_platform::operators::{self, OperatorIdentity, Role};

use super::Deliveries;
use crate::{
    domain::{self, operator::resend_text, DeliveryDetail, DeliveryState},
    error::Error,
    store::{NewResend, ReservationRow},
};

const ACTION: &str = "notification.resend";

impl Deliveries {
    /// Queues the resend (or, `dry_run`, shows it without its message id).
    pub(crate) async fn resend(&self, staff: &OperatorIdentity, reservation_id: Uuid, dry_run: bool) -> Result<DeliveryDetail, Error> {
        staff.require(Role::Operator, ACTION)?;
        let locked = self.store.lock_reservation(reservation_id).await?;
        let resource = format!("reservation {reservation_id}");
        let plan = plan(&locked.rows);
        let (source, contact) = match plan {
            Ok(found) => found,
            Err(refusal) => {
                let event = operators::audit(staff, ACTION, &resource, None, Some(&format!("refused: {refusal}")));
                locked.keep(&event).await?;
                return Err(refusal);
            }
        };
        let event_id = Uuid::now_v7();
        let message_id = domain::message_id(event_id);
        let text = resend_text(&source.text);
        let mut preview = source.detail.clone();
        preview.record.message_id = if dry_run { Uuid::nil() } else { message_id };
        preview.record.state = Some(DeliveryState::Pending);
        preview.record.masked_phone.clone_from(&contact.detail.record.masked_phone);
        preview.record.attempts = 0;
        preview.record.sent_at = None;
        preview.record.gateway = None;
        preview.record.last_error = None;
        preview.resend_of = Some(source.detail.record.message_id);
        let of = source.detail.record.message_id;
        if dry_run {
            let what = format!("dry run: would resend message {of} ({})", source.detail.record.event_type);
            locked.keep(&operators::audit(staff, ACTION, &resource, None, Some(&what))).await?;
            return Ok(preview);
        }
        let new = NewResend { event_id, message_id, text, source: of, contact_from: contact.detail.record.message_id };
        let event = operators::audit(staff, ACTION, &resource, None, Some(&format!("resend {message_id} of message {of}")));
        match locked.insert(&new, &event).await? {
            Ok(delivery) => {
                self.wake.notify_one();
                tracing::info!(%reservation_id, %message_id, resend_of = %of, operator = staff.name(), "sms resend queued");
                Ok(delivery)
            }
            Err(_) => {
                let event = operators::audit(staff, ACTION, &resource, None, Some("refused: another resend is in flight"));
                self.store.record_audit(&event).await?;
                Err(Error::CannotResend("another resend of this reservation is being sent".into()))
            }
        }
    }
}

/// The message to repeat (the newest that is not itself a resend) and the
/// row whose number to use (the newest that keeps one).
fn plan(rows: &[ReservationRow]) -> Result<(&ReservationRow, &ReservationRow), Error> {
    if rows.is_empty() {
        return Err(Error::NoDeliveries);
    }
    if let Some(busy) = rows.iter().find(|r| matches!(r.detail.record.state, Some(DeliveryState::Pending | DeliveryState::Unknown))) {
        return Err(Error::CannotResend(format!(
            "message {} of this reservation is still being sent ({}): a resend now would make two",
            busy.detail.record.message_id,
            busy.detail.record.state.map_or("", DeliveryState::as_str)
        )));
    }
    let source = rows.iter().rev().find(|r| r.detail.resend_of.is_none()).ok_or(Error::NoDeliveries)?;
    let contact = rows.iter().rev().find(|r| r.detail.number_kept).ok_or_else(|| {
        Error::CannotResend("no phone number is kept for this reservation any more (erased after the retention period)".into())
    })?;
    Ok((source, contact))
}
