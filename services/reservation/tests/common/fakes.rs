//! In-test gRPC fakes of EligibilityService and SlotCatalogService, served on
//! port 0. The eligibility fake insists on the forwarded admission pass, as
//! the real service's interceptor does.
use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use chrono::{DateTime, SubsecRound as _, Utc};
use parking_lot::Mutex;
use tonic::{Request, Response, Status};
use uuid::Uuid;
use yeyak_platform::grpc::{CLIENT_ID_HEADER, PASS_HEADER};
use yeyak_proto::{
    eligibility::v1::{
        self as elig,
        eligibility_service_server::{EligibilityService, EligibilityServiceServer},
    },
    inventory::v1::{
        self as inv,
        slot_catalog_service_server::{SlotCatalogService, SlotCatalogServiceServer},
    },
    time::to_proto,
};

async fn serve<S>(service: S) -> SocketAddr
where
    S: tonic::codegen::Service<
            tonic::codegen::http::Request<tonic::body::Body>,
            Response = tonic::codegen::http::Response<tonic::body::Body>,
            Error = std::convert::Infallible,
        > + tonic::server::NamedService
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    tokio::spawn(tonic::transport::Server::builder().add_service(service).serve_with_incoming(incoming));
    addr
}

/// Answers "eligible" unless told otherwise; counts calls.
#[derive(Clone, Default)]
pub(crate) struct Eligibility {
    refusal: Arc<Mutex<Option<(elig::EligibilityReason, String)>>>,
    calls: Arc<AtomicUsize>,
    /// Consent tokens received, in order.
    consents: Arc<Mutex<Vec<String>>>,
}

impl Eligibility {
    pub(crate) async fn serve(&self) -> SocketAddr {
        serve(EligibilityServiceServer::new(self.clone())).await
    }

    pub(crate) fn refuse(&self, reason: elig::EligibilityReason, detail: &str) {
        *self.refusal.lock() = Some((reason, detail.to_owned()));
    }

    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub(crate) fn consents(&self) -> Vec<String> {
        self.consents.lock().clone()
    }
}

#[tonic::async_trait]
impl EligibilityService for Eligibility {
    async fn check_eligibility(
        &self,
        request: Request<elig::CheckEligibilityRequest>,
    ) -> Result<Response<elig::CheckEligibilityResponse>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if request.metadata().get(PASS_HEADER).is_none() || request.metadata().get(CLIENT_ID_HEADER).is_none() {
            return Err(Status::unauthenticated("admission pass not forwarded"));
        }
        let req = request.into_inner();
        if req.identity_assertion.is_empty() == req.consent_token.is_empty() || req.dose_number == 0 {
            return Err(Status::invalid_argument("identity_assertion or consent_token, and dose_number are required"));
        }
        if !req.consent_token.is_empty() {
            self.consents.lock().push(req.consent_token);
        }
        let response = match self.refusal.lock().clone() {
            None => elig::CheckEligibilityResponse { eligible: true, cohort_id: "age-55-59".into(), ..Default::default() },
            Some((reason, detail)) => {
                elig::CheckEligibilityResponse { eligible: false, reason: reason as i32, detail, ..Default::default() }
            }
        };
        Ok(Response::new(response))
    }
}

/// A slot catalogue held in memory; counts GetSlot calls.
#[derive(Clone, Default)]
pub(crate) struct Inventory {
    slots: Arc<Mutex<HashMap<String, inv::GetSlotResponse>>>,
    calls: Arc<AtomicUsize>,
}

impl Inventory {
    pub(crate) async fn serve(&self) -> SocketAddr {
        serve(SlotCatalogServiceServer::new(self.clone())).await
    }

    /// Adds a slot of `capacity` places at `clinic` starting at `starts_at`.
    pub(crate) fn add(&self, clinic: &str, vaccine: &str, capacity: u32, starts_at: DateTime<Utc>) -> Uuid {
        let id = Uuid::new_v4();
        // The catalogue's times are whole seconds.
        let starts_at = starts_at.trunc_subsecs(0);
        let slot = inv::Slot {
            slot_id: id.to_string(),
            clinic_id: clinic.into(),
            vaccine_code: vaccine.into(),
            starts_at: Some(to_proto(starts_at)),
            ends_at: Some(to_proto(starts_at + chrono::Duration::minutes(30))),
            capacity,
            remaining: capacity,
        };
        let response = inv::GetSlotResponse { slot: Some(slot), clinic_name: format!("{clinic} 의원"), clinic_address: "서울".into() };
        self.slots.lock().insert(id.to_string(), response);
        id
    }

    /// A slot tomorrow at clinic "c-1" offering pfizer.
    pub(crate) fn slot(&self, capacity: u32) -> Uuid {
        self.add("c-1", "pfizer", capacity, Utc::now() + chrono::Duration::days(1))
    }

    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Changes a slot's size, as an operator does in the real catalogue.
    pub(crate) fn set_capacity(&self, slot: Uuid, capacity: u32) {
        let mut slots = self.slots.lock();
        let entry = slots.get_mut(&slot.to_string()).expect("known slot");
        if let Some(s) = entry.slot.as_mut() {
            s.capacity = capacity;
        }
    }
}

#[tonic::async_trait]
impl SlotCatalogService for Inventory {
    async fn get_slot(&self, request: Request<inv::GetSlotRequest>) -> Result<Response<inv::GetSlotResponse>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let id = request.into_inner().slot_id;
        match self.slots.lock().get(&id) {
            Some(slot) => Ok(Response::new(slot.clone())),
            None => Err(Status::not_found(format!("slot {id} not found"))),
        }
    }
}
