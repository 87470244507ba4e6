//! The two services a booking consults before it writes anything: eligibility
//! (behind the pass: the caller's pass is forwarded) and the slot catalogue
//! (internal). Every call has a deadline, so a dependency that is down or
//! slow turns into UNAVAILABLE quickly and nothing is written.
use std::{future::Future, time::Duration};

use chrono::DateTime;
use tonic::{transport::Channel, Code, Request, Status};
use uuid::Uuid;
use yeyak_platform::grpc::{
    client::{self, ClientSettings},
    VerifiedPass,
};
use yeyak_proto::{
    eligibility::v1::{self as elig, eligibility_service_client::EligibilityServiceClient},
    inventory::v1::{self as inv, slot_catalog_service_client::SlotCatalogServiceClient},
};

use crate::{booking::NewBooking, domain::Slot, error::ReservationError};

const ELIGIBILITY: &str = "eligibility service";
const INVENTORY: &str = "inventory service";

/// A slot from the catalogue with its size.
#[derive(Clone, Debug)]
pub struct CatalogSlot {
    pub slot: Slot,
    pub capacity: u32,
}

#[derive(Clone)]
pub struct Upstream {
    eligibility: EligibilityServiceClient<Channel>,
    inventory: SlotCatalogServiceClient<Channel>,
    timeout: Duration,
}

impl Upstream {
    /// Lazy channels: a dependency that is down does not stop start-up.
    pub fn connect(eligibility_addr: &str, inventory_addr: &str, timeout: Duration) -> anyhow::Result<Self> {
        let settings = ClientSettings { connect_timeout: timeout.min(Duration::from_millis(500)), request_timeout: timeout };
        Ok(Self {
            eligibility: EligibilityServiceClient::new(client::channel(eligibility_addr, &settings)?),
            inventory: SlotCatalogServiceClient::new(client::channel(inventory_addr, &settings)?),
            timeout,
        })
    }

    /// Ok when the subject may book the dose now; the booking's tokens are
    /// forwarded as they came, so eligibility verifies them itself.
    pub async fn check_eligibility(&self, pass: &VerifiedPass, booking: &NewBooking) -> Result<(), ReservationError> {
        let message = elig::CheckEligibilityRequest {
            identity_assertion: booking.identity_assertion.clone(),
            agent_assertion: booking.agent_assertion.clone(),
            consent_token: booking.consent_token.clone(),
            dose_number: booking.dose_number,
        };
        let mut client = self.eligibility.clone();
        let request = pass.forward(self.request(message));
        let response = self.call(ELIGIBILITY, client.check_eligibility(request)).await?;
        if response.eligible {
            return Ok(());
        }
        let reason = elig::EligibilityReason::try_from(response.reason)
            .map(|r| r.as_str_name().to_owned())
            .unwrap_or_else(|_| format!("ELIGIBILITY_REASON_{}", response.reason));
        Err(ReservationError::NotEligible { reason, detail: response.detail })
    }

    /// The slot as the catalogue knows it; an unknown slot is the caller's
    /// mistake, reported on `field`.
    pub async fn slot(&self, slot_id: Uuid, field: &'static str) -> Result<CatalogSlot, ReservationError> {
        let mut client = self.inventory.clone();
        let request = self.request(inv::GetSlotRequest { slot_id: slot_id.to_string() });
        let response = match self.call(INVENTORY, client.get_slot(request)).await {
            Err(ReservationError::Refused { status, .. }) if matches!(status.code(), Code::NotFound | Code::InvalidArgument) => {
                return Err(ReservationError::InvalidArgument { field, reason: "unknown slot".into() });
            }
            other => other?,
        };
        let unusable = |what: &str| ReservationError::Unavailable { dependency: INVENTORY, cause: format!("GetSlot returned {what}") };
        let slot = response.slot.ok_or_else(|| unusable("no slot"))?;
        let starts_at = slot
            .starts_at
            .and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
            .ok_or_else(|| unusable("a slot without start time"))?;
        if slot.slot_id.parse::<Uuid>().ok() != Some(slot_id) {
            return Err(unusable("another slot"));
        }
        Ok(CatalogSlot {
            slot: Slot {
                slot_id,
                clinic_id: slot.clinic_id,
                clinic_name: response.clinic_name,
                vaccine_code: slot.vaccine_code,
                starts_at,
            },
            capacity: slot.capacity,
        })
    }

    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request.set_timeout(self.timeout);
        yeyak_platform::telemetry::inject_traceparent(&mut request);
        request
    }

    /// Bounds the call by the deadline whatever the transport does.
    async fn call<T>(
        &self,
        dependency: &'static str,
        call: impl Future<Output = Result<tonic::Response<T>, Status>>,
    ) -> Result<T, ReservationError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(classify(dependency, status)),
            Err(_) => Err(ReservationError::Unavailable { dependency, cause: format!("no answer within {:?}", self.timeout) }),
        }
    }
}

/// Refusals the caller can act on pass through; anything else means the
/// dependency cannot serve now.
fn classify(dependency: &'static str, status: Status) -> ReservationError {
    match status.code() {
        Code::InvalidArgument
        | Code::NotFound
        | Code::PermissionDenied
        | Code::Unauthenticated
        | Code::FailedPrecondition
        | Code::OutOfRange => ReservationError::Refused { dependency, status },
        _ => ReservationError::Unavailable { dependency, cause: status.to_string() },
    }
}
