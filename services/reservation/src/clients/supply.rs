//! SupplyCatalogService (inventory's internal listener, no pass): the open
//! slots a supply change would close (the dry run), and the open slots its
//! bookings may move to (the dry run and the job). Each call has the
//! outbound deadline; a catalogue that cannot answer leaves the job's items
//! pending until it can.
use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use tonic::transport::Channel;
use uuid::Uuid;
use yeyak_platform::{
    metrics::{rpc::Method, Metrics},
    telemetry,
    tls::TlsSettings,
};
use yeyak_proto::{
    inventory::v1::{
        self as inv, supply_catalog_service_client::SupplyCatalogServiceClient, supply_catalog_service_server::SERVICE_NAME as SUPPLY,
    },
    time::{from_proto, to_proto},
};

use super::{call, channel, client_metrics, request, ClientError};
use crate::domain::{
    supply::{Candidate, Home},
    Slot,
};

const INVENTORY: &str = "inventory service";

/// An open slot of the catalogue with its size.
#[derive(Clone, Debug)]
pub(crate) struct OpenSlot {
    pub(crate) slot: Slot,
    pub(crate) capacity: u32,
}

/// The candidates near a clinic, and where the clinic is.
#[derive(Clone, Debug)]
pub(crate) struct Candidates {
    pub(crate) home: Home,
    pub(crate) slots: Vec<Candidate>,
}

#[derive(Clone)]
pub(crate) struct SupplyCatalogClient {
    client: SupplyCatalogServiceClient<Channel>,
    timeout: Duration,
    clinic_slots: Arc<Method>,
    candidates: Arc<Method>,
}

impl SupplyCatalogClient {
    pub(crate) fn connect(addr: &str, timeout: Duration, tls: &TlsSettings, metrics: &Metrics) -> anyhow::Result<Self> {
        Ok(Self {
            client: SupplyCatalogServiceClient::new(channel(addr, timeout, tls)?),
            timeout,
            clinic_slots: client_metrics(metrics, SUPPLY, "ListClinicSlots"),
            candidates: client_metrics(metrics, SUPPLY, "ListCandidateSlots"),
        })
    }

    /// The clinic's open slots starting in `[from, to)` (of `vaccine` if given).
    pub(crate) async fn clinic_slots(
        &self,
        clinic_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        vaccine: Option<&str>,
    ) -> Result<Vec<OpenSlot>, ClientError> {
        let message = inv::ListClinicSlotsRequest {
            clinic_id: clinic_id.to_string(),
            starts_from: Some(to_proto(from)),
            starts_before: Some(to_proto(to)),
            vaccine_code: vaccine.unwrap_or_default().to_owned(),
        };
        let span = telemetry::rpc_client_span(SUPPLY, "ListClinicSlots");
        let mut client = self.client.clone();
        let request = request(message, self.timeout, &span);
        let response = call(INVENTORY, self.timeout, span, &self.clinic_slots, client.list_clinic_slots(request)).await?;
        response.slots.into_iter().map(|s| open_slot(s, &response.clinic_name)).collect()
    }

    /// At most `max` open slots of `vaccines` starting in `[from, to)` in the
    /// clinic's province, its district first.
    pub(crate) async fn candidates(
        &self,
        clinic_id: Uuid,
        vaccines: Vec<String>,
        (from, to): (DateTime<Utc>, DateTime<Utc>),
        max: u32,
    ) -> Result<Candidates, ClientError> {
        let message = inv::ListCandidateSlotsRequest {
            clinic_id: clinic_id.to_string(),
            vaccine_codes: vaccines,
            starts_from: Some(to_proto(from)),
            starts_before: Some(to_proto(to)),
            max_slots: max,
        };
        let span = telemetry::rpc_client_span(SUPPLY, "ListCandidateSlots");
        let mut client = self.client.clone();
        let request = request(message, self.timeout, &span);
        let response = call(INVENTORY, self.timeout, span, &self.candidates, client.list_candidate_slots(request)).await?;
        let slots = response
            .slots
            .into_iter()
            .map(|c| {
                let OpenSlot { slot, capacity } = open_slot(c.slot.unwrap_or_default(), &c.clinic_name)?;
                Ok(Candidate { slot, district_code: c.district_code, capacity })
            })
            .collect::<Result<_, ClientError>>()?;
        Ok(Candidates { home: Home { clinic_id: clinic_id.to_string(), district_code: response.district_code }, slots })
    }
}

/// A slot of an answer, checked: an answer that does not parse is the
/// catalogue's failure, not the caller's.
fn open_slot(slot: inv::Slot, clinic_name: &str) -> Result<OpenSlot, ClientError> {
    let unusable = |what: &str| ClientError::Unavailable { dependency: INVENTORY, cause: format!("supply catalogue returned {what}") };
    let slot_id = slot.slot_id.parse::<Uuid>().map_err(|_| unusable("a slot id that is not a UUID"))?;
    let starts_at = slot.starts_at.as_ref().and_then(from_proto).ok_or_else(|| unusable("a slot without start time"))?;
    Ok(OpenSlot {
        slot: Slot { slot_id, clinic_id: slot.clinic_id, clinic_name: clinic_name.to_owned(), vaccine_code: slot.vaccine_code, starts_at },
        capacity: slot.capacity,
    })
}
