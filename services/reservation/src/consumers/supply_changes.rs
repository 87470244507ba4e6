//! Supply changes from the catalogue: consumes `inventory.supply_changed.v1`
//! and starts the change's job ([`SupplyChanges::start`]), keyed by its
//! change id, so a redelivered event starts nothing twice. The job itself
//! runs in the workers of every replica.
use prost::Message as _;
use uuid::Uuid;
use yeyak_platform::messaging::{Delivery, HandlerError};
use yeyak_proto::events::v1::{self as ev, routing::SUPPLY_CHANGED};

use crate::{
    app::SupplyChanges,
    domain::{
        supply::Closing,
        supply_job::{Job, JobKind},
    },
};

/// The queue reservation consumes supply changes from.
pub const QUEUE: &str = "reservation.supply_changes";
pub(crate) const ROUTING_KEYS: [&str; 1] = [SUPPLY_CHANGED];

/// The job a delivery asks for; anything malformed is poison (inventory's bug).
fn decode(delivery: &Delivery) -> Result<Job, HandlerError> {
    let poison = |what: &str| HandlerError::Poison(format!("{SUPPLY_CHANGED}: {what}"));
    if delivery.routing_key != SUPPLY_CHANGED {
        return Err(HandlerError::Poison(format!("{} is not an event this queue handles", delivery.routing_key)));
    }
    let event = ev::SupplyChanged::decode(delivery.payload.as_slice()).map_err(|e| poison(&format!("undecodable payload: {e}")))?;
    let kind = match ev::SupplyChangeKind::try_from(event.kind) {
        Ok(ev::SupplyChangeKind::Close) => JobKind::Close,
        Ok(ev::SupplyChangeKind::ChangeVaccine) => JobKind::ChangeVaccine,
        _ => return Err(poison("unknown kind")),
    };
    let closing = event
        .closed_slots
        .iter()
        .map(|s| {
            Some(Closing {
                slot_id: Uuid::parse_str(&s.slot_id).ok()?,
                vaccine_code: s.vaccine_code.clone(),
                starts_at: s.starts_at.as_ref().and_then(yeyak_proto::time::from_proto)?,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| poison("a closed slot without a UUID or a start"))?;
    if closing.is_empty() || !(1..=28).contains(&event.max_move_days) || Uuid::parse_str(&event.clinic_id).is_err() {
        return Err(poison("no closed slot, a move bound outside 1..=28 days, or a clinic id that is not a UUID"));
    }
    Ok(Job {
        change_id: Uuid::parse_str(&event.change_id).map_err(|_| poison("a change id that is not a UUID"))?,
        kind,
        clinic_id: event.clinic_id,
        closing,
        max_move_days: event.max_move_days,
        requested_by: event.operator,
    })
}

/// A database that cannot answer now sends the event back to the queue.
pub(crate) async fn handle(supply: &SupplyChanges, delivery: Delivery) -> Result<(), HandlerError> {
    let job = decode(&delivery)?;
    match supply.start(&job).await {
        Ok(Some(total)) => {
            tracing::info!(change_id = %job.change_id, clinic_id = %job.clinic_id, bookings = total, "supply change started");
            Ok(())
        }
        Ok(None) => {
            tracing::debug!(change_id = %job.change_id, "supply change already started");
            Ok(())
        }
        Err(e) => Err(HandlerError::Transient(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(key: &str, payload: Vec<u8>) -> Delivery {
        Delivery { routing_key: key.into(), event_id: None, payload, traceparent: None }
    }

    fn event() -> ev::SupplyChanged {
        ev::SupplyChanged {
            change_id: Uuid::from_u128(1).to_string(),
            kind: ev::SupplyChangeKind::Close as i32,
            clinic_id: Uuid::from_u128(2).to_string(),
            closed_slots: vec![ev::ClosedSlot {
                slot_id: Uuid::from_u128(3).to_string(),
                vaccine_code: "az".into(),
                starts_at: Some(yeyak_proto::time::to_proto(chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default())),
                replacement_slot_id: String::new(),
            }],
            max_move_days: 7,
            operator: "kim.ops".into(),
            ..Default::default()
        }
    }

    #[test]
    fn decodes_the_job_and_rejects_poison() {
        let job = decode(&delivery(SUPPLY_CHANGED, event().encode_to_vec())).ok();
        assert_eq!(job.as_ref().map(|j| (j.kind, j.closing.len(), j.max_move_days)), Some((JobKind::Close, 1, 7)));
        assert_eq!(job.map(|j| j.requested_by), Some("kim.ops".to_owned()));
        assert!(matches!(decode(&delivery(SUPPLY_CHANGED, vec![0xff; 4])), Err(HandlerError::Poison(_))));
        assert!(matches!(decode(&delivery("inventory.other.v1", vec![])), Err(HandlerError::Poison(_))));
        for broken in [
            ev::SupplyChanged { kind: 0, ..event() },
            ev::SupplyChanged { max_move_days: 0, ..event() },
            ev::SupplyChanged { closed_slots: vec![], ..event() },
            ev::SupplyChanged { change_id: "c-1".into(), ..event() },
        ] {
            assert!(matches!(decode(&delivery(SUPPLY_CHANGED, broken.encode_to_vec())), Err(HandlerError::Poison(_))));
        }
    }
}
