//! GetDeliveryStatus: what happened to the SMS of a reservation. Only masked
//! phone numbers leave the service.
use std::sync::Arc;

use tonic::{Request, Response, Status};
use uuid::Uuid;
use yeyak_platform::grpc::status;
use yeyak_proto::notification::v1::{self as pb, notification_service_server::NotificationService};

use crate::{
    app::Deliveries,
    domain::{DeliveryRecord, DeliveryState, Lookup},
};

pub(crate) struct NotificationApi {
    deliveries: Arc<Deliveries>,
}

impl NotificationApi {
    pub(crate) fn new(deliveries: Arc<Deliveries>) -> Self {
        Self { deliveries }
    }
}

#[tonic::async_trait]
impl NotificationService for NotificationApi {
    async fn get_delivery_status(
        &self,
        request: Request<pb::GetDeliveryStatusRequest>,
    ) -> Result<Response<pb::GetDeliveryStatusResponse>, Status> {
        let records = self.deliveries.status(lookup(request.get_ref())?).await?;
        Ok(Response::new(pb::GetDeliveryStatusResponse { deliveries: records.into_iter().map(to_pb).collect() }))
    }
}

fn parse_uuid(field: &'static str, value: &str) -> Result<Uuid, Status> {
    Uuid::parse_str(value.trim()).map_err(|_| status::invalid_argument(field, "must be a UUID"))
}

/// Exactly one selector: a request naming both is ambiguous, and is blamed on
/// `message_id` (the narrower one) so the caller knows which to drop.
fn lookup(req: &pb::GetDeliveryStatusRequest) -> Result<Lookup, Status> {
    match (req.reservation_id.trim().is_empty(), req.message_id.trim().is_empty()) {
        (true, true) => Err(status::invalid_argument("reservation_id", "exactly one of reservation_id or message_id is required")),
        (false, false) => Err(status::invalid_argument("message_id", "must be empty when reservation_id is set")),
        (false, true) => Ok(Lookup::Reservation(parse_uuid("reservation_id", &req.reservation_id)?)),
        (true, false) => Ok(Lookup::Message(parse_uuid("message_id", &req.message_id)?)),
    }
}

fn to_pb(r: DeliveryRecord) -> pb::Delivery {
    let state = match r.state {
        Some(DeliveryState::Pending) => pb::DeliveryState::Pending,
        Some(DeliveryState::Sent) => pb::DeliveryState::Sent,
        Some(DeliveryState::Failed) => pb::DeliveryState::Failed,
        None => pb::DeliveryState::Unspecified,
    };
    pb::Delivery {
        message_id: r.message_id.to_string(),
        reservation_id: r.reservation_id.to_string(),
        event_type: r.event_type,
        state: state as i32,
        masked_phone: r.masked_phone,
        attempts: u32::try_from(r.attempts).unwrap_or(0),
        created_at: Some(yeyak_proto::time::to_proto(r.created_at)),
        sent_at: r.sent_at.map(yeyak_proto::time::to_proto),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn req(reservation_id: &str, message_id: &str) -> pb::GetDeliveryStatusRequest {
        pb::GetDeliveryStatusRequest { reservation_id: reservation_id.into(), message_id: message_id.into() }
    }

    fn field(e: Status) -> String {
        match status::field_violations(&e).as_slice() {
            [field] => field.clone(),
            other => panic!("unexpected {e:?} naming {other:?}"),
        }
    }

    #[test]
    fn exactly_one_selector() {
        let id = Uuid::new_v4();
        assert_eq!(lookup(&req(&id.to_string(), "")).unwrap(), Lookup::Reservation(id));
        assert_eq!(lookup(&req("", &id.to_string())).unwrap(), Lookup::Message(id));
        assert_eq!(field(lookup(&req("", "")).unwrap_err()), "reservation_id");
        assert_eq!(field(lookup(&req(&id.to_string(), &id.to_string())).unwrap_err()), "message_id");
        assert_eq!(field(lookup(&req("nope", "")).unwrap_err()), "reservation_id");
        assert_eq!(field(lookup(&req("", "nope")).unwrap_err()), "message_id");
    }
}
