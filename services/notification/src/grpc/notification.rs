//! GetDeliveryStatus: what happened to the SMS of a reservation, named by
//! its id or by the booking code the caller reads out; for the person whose
//! reservation it is, or for support staff (`callers`). Only masked phone
//! numbers leave the service.
use std::sync::Arc;

use tonic::{Request, Response, Status};
use uuid::Uuid;
use yeyak_platform::{grpc::status, validate};
use yeyak_proto::notification::v1::{self as pb, notification_service_server::NotificationService};

use super::{
    callers::{Caller, Credentials},
    delivery_pb::to_pb,
};
use crate::{
    app::Deliveries,
    domain::{BookingCode, Lookup},
};

/// Tokens are a few hundred bytes; anything far larger is not one.
const MAX_ASSERTION_LEN: usize = 4096;

pub(crate) struct NotificationApi {
    deliveries: Arc<Deliveries>,
    credentials: Credentials,
}

impl NotificationApi {
    pub(crate) fn new(deliveries: Arc<Deliveries>, credentials: Credentials) -> Self {
        Self { deliveries, credentials }
    }
}

#[tonic::async_trait]
impl NotificationService for NotificationApi {
    /// The request is validated first (that reveals nothing), then the
    /// caller is identified, then one use case runs.
    async fn get_delivery_status(
        &self,
        request: Request<pb::GetDeliveryStatusRequest>,
    ) -> Result<Response<pb::GetDeliveryStatusResponse>, Status> {
        let (req, lookup) = (request.get_ref(), lookup(request.get_ref())?);
        let records = match self.credentials.caller(request.metadata(), chrono::Utc::now().timestamp())? {
            Caller::Staff(staff) => self.deliveries.status_for_staff(&staff, lookup).await?,
            Caller::Person(pass) => {
                let assertion = validate::required("identity_assertion", &req.identity_assertion, MAX_ASSERTION_LEN)?;
                self.deliveries.status_for_person(&pass, assertion, lookup).await?
            }
        };
        Ok(Response::new(pb::GetDeliveryStatusResponse { deliveries: records.into_iter().map(to_pb).collect() }))
    }
}

pub(super) fn parse_uuid(field: &'static str, value: &str) -> Result<Uuid, Status> {
    Uuid::parse_str(value.trim()).map_err(|_| status::invalid_argument(field, "must be a UUID"))
}

fn parse_code(field: &'static str, value: &str) -> Result<BookingCode, Status> {
    BookingCode::parse(value).map_err(|e| status::invalid_argument(field, e.to_string()))
}

/// Reads one selector's value.
type Selector = fn(&'static str, &str) -> Result<Lookup, Status>;

/// Exactly one selector: a request naming two is ambiguous, and is blamed on
/// the second (the narrower, `message_id`, comes last) so the caller knows
/// which to drop.
fn lookup(req: &pb::GetDeliveryStatusRequest) -> Result<Lookup, Status> {
    let selectors: [(&'static str, &str, Selector); 3] = [
        ("reservation_id", &req.reservation_id, |f, v| Ok(Lookup::Reservation(parse_uuid(f, v)?))),
        ("booking_code", &req.booking_code, |f, v| Ok(Lookup::BookingCode(parse_code(f, v)?))),
        ("message_id", &req.message_id, |f, v| Ok(Lookup::Message(parse_uuid(f, v)?))),
    ];
    let mut given = selectors.into_iter().filter(|(_, value, _)| !value.trim().is_empty());
    let Some((field, value, read)) = given.next() else {
        return Err(status::invalid_argument("reservation_id", "exactly one of reservation_id, booking_code or message_id is required"));
    };
    if let Some((extra, _, _)) = given.next() {
        return Err(status::invalid_argument(extra, format!("must be empty when {field} is set")));
    }
    read(field, value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn req(reservation_id: &str, message_id: &str) -> pb::GetDeliveryStatusRequest {
        pb::GetDeliveryStatusRequest { reservation_id: reservation_id.into(), message_id: message_id.into(), ..Default::default() }
    }

    fn by_code(code: &str, reservation_id: &str, message_id: &str) -> pb::GetDeliveryStatusRequest {
        pb::GetDeliveryStatusRequest { booking_code: code.into(), ..req(reservation_id, message_id) }
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

    #[test]
    fn a_booking_code_is_a_selector_too() {
        let code = BookingCode::parse("K7MX4QPW").unwrap();
        assert_eq!(lookup(&by_code(" k7mx-4qpw ", "", "")).unwrap(), Lookup::BookingCode(code));
        let id = Uuid::new_v4().to_string();
        assert_eq!(field(lookup(&by_code("K7MX-4QPW", &id, "")).unwrap_err()), "booking_code");
        assert_eq!(field(lookup(&by_code("K7MX-4QPW", "", &id)).unwrap_err()), "message_id");
        for bad in ["K7MX-4QPA", "K7MX-4QWP", "K7MO-4QPW", "K7MX"] {
            assert_eq!(field(lookup(&by_code(bad, "", "")).unwrap_err()), "booking_code", "{bad}");
        }
    }
}
