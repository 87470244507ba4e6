//! A delivery as the API shows it, to the person, support staff and
//! operators alike (GetDeliveryStatus and the operator API share it).
use yeyak_proto::notification::v1 as pb;

use crate::domain::{DeliveryRecord, DeliveryState};

pub(super) fn state_to_pb(state: Option<DeliveryState>) -> pb::DeliveryState {
    match state {
        Some(DeliveryState::Pending) => pb::DeliveryState::Pending,
        Some(DeliveryState::Sent) => pb::DeliveryState::Sent,
        Some(DeliveryState::Failed) => pb::DeliveryState::Failed,
        Some(DeliveryState::Unknown) => pb::DeliveryState::OutcomeUnknown,
        Some(DeliveryState::Discarded) => pb::DeliveryState::Discarded,
        None => pb::DeliveryState::Unspecified,
    }
}

pub(super) fn to_pb(r: DeliveryRecord) -> pb::Delivery {
    let state = state_to_pb(r.state);
    pb::Delivery {
        message_id: r.message_id.to_string(),
        reservation_id: r.reservation_id.to_string(),
        booking_code: r.booking_code.map(|c| c.to_string()).unwrap_or_default(),
        event_type: r.event_type,
        state: state as i32,
        masked_phone: r.masked_phone,
        attempts: u32::try_from(r.attempts).unwrap_or(0),
        created_at: Some(yeyak_proto::time::to_proto(r.created_at)),
        sent_at: r.sent_at.map(yeyak_proto::time::to_proto),
        gateway: r.gateway.unwrap_or_default(),
    }
}
