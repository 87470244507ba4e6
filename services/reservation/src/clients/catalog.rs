//! SlotCatalogService.GetSlot (internal, no pass): a slot's details and its
//! current size.
use std::{sync::Arc, time::Duration};

use tonic::transport::Channel;
use uuid::Uuid;
use yeyak_platform::{
    metrics::{rpc::Method, Metrics},
    telemetry,
    tls::TlsSettings,
};
use yeyak_proto::inventory::v1::{
    self as inv, slot_catalog_service_client::SlotCatalogServiceClient, slot_catalog_service_server::SERVICE_NAME as SLOT_CATALOG,
};

use super::{call, channel, client_metrics, request, ClientError, Refusal};
use crate::domain::Slot;

const INVENTORY: &str = "inventory service";

/// A slot from the catalogue with its size.
#[derive(Clone, Debug)]
pub(crate) struct CatalogSlot {
    pub(crate) slot: Slot,
    pub(crate) capacity: u32,
}

#[derive(Clone)]
pub(crate) struct CatalogClient {
    client: SlotCatalogServiceClient<Channel>,
    timeout: Duration,
    rpc: Arc<Method>,
}

impl CatalogClient {
    pub(crate) fn connect(addr: &str, timeout: Duration, tls: &TlsSettings, metrics: &Metrics) -> anyhow::Result<Self> {
        let rpc = client_metrics(metrics, SLOT_CATALOG, "GetSlot");
        Ok(Self { client: SlotCatalogServiceClient::new(channel(addr, timeout, tls)?), timeout, rpc })
    }

    /// The slot as the catalogue knows it; `None` when it does not know it.
    pub(crate) async fn slot(&self, slot_id: Uuid) -> Result<Option<CatalogSlot>, ClientError> {
        let mut client = self.client.clone();
        let span = telemetry::rpc_client_span(SLOT_CATALOG, "GetSlot");
        let request = request(inv::GetSlotRequest { slot_id: slot_id.to_string() }, self.timeout, &span);
        let response = match call(INVENTORY, self.timeout, span, &self.rpc, client.get_slot(request)).await {
            Err(ClientError::Refused { refusal: Refusal::NotFound | Refusal::InvalidArgument, .. }) => return Ok(None),
            other => other?,
        };
        let unusable = |what: &str| ClientError::Unavailable { dependency: INVENTORY, cause: format!("GetSlot returned {what}") };
        let slot = response.slot.ok_or_else(|| unusable("no slot"))?;
        let starts_at =
            slot.starts_at.as_ref().and_then(yeyak_proto::time::from_proto).ok_or_else(|| unusable("a slot without start time"))?;
        if slot.slot_id.parse::<Uuid>().ok() != Some(slot_id) {
            return Err(unusable("another slot"));
        }
        Ok(Some(CatalogSlot {
            slot: Slot {
                slot_id,
                clinic_id: slot.clinic_id,
                clinic_name: response.clinic_name,
                vaccine_code: slot.vaccine_code,
                starts_at,
            },
            capacity: slot.capacity,
        }))
    }
}
