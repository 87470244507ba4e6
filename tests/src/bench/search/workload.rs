//! The read workload: what people search during a surge (SearchClinics by
//! district or province, GetAvailability of a clinic), and the floor's
//! primary-key SELECT on the same pool.
use std::{net::SocketAddr, sync::Arc, time::Duration};

use chrono::Days;
use parking_lot::Mutex;
use sqlx::PgPool;
use tonic::{transport::Channel, Request};
use uuid::Uuid;
use yeyak_proto::inventory::v1::{self as pb, inventory_service_client::InventoryServiceClient};

use super::{server::Catalogue, CLIENT_ID};
use crate::bench::{grpc, mix, pick};

const CHANNELS: usize = 4;
const VACCINES: [&str; 4] = ["pfizer", "moderna", "az", "janssen"];
/// A week's window starting on one of the first days open for booking: what
/// people look at when booking opens.
const WINDOW_STARTS: u64 = 3;

/// Error counts by status code over the whole run, printed at the end: a
/// rate is only worth its errors.
#[derive(Debug, Default)]
pub struct Errors(Mutex<Vec<(tonic::Code, u64)>>);

impl Errors {
    /// Counts a failed call; whether the call succeeded.
    fn note(&self, result: Result<(), tonic::Status>) -> bool {
        let Err(e) = result else { return true };
        let mut errors = self.0.lock();
        match errors.iter_mut().find(|(c, _)| *c == e.code()) {
            Some((_, n)) => *n += 1,
            None => errors.push((e.code(), 1)),
        }
        false
    }

    pub fn summary(&self) -> Option<String> {
        let errors = self.0.lock();
        (!errors.is_empty()).then(|| format!("errors by status code over the run: {:?}", *errors))
    }
}

#[derive(Clone)]
pub struct Workload {
    clients: Vec<InventoryServiceClient<Channel>>,
    pass: String,
    catalogue: Arc<Catalogue>,
    window_starts: u64,
    errors: Arc<Errors>,
}

impl Workload {
    pub fn new(addr: SocketAddr, catalogue: Arc<Catalogue>, pass: String, errors: Arc<Errors>) -> anyhow::Result<Self> {
        let channels = grpc::channels(&addr.to_string(), CHANNELS, &grpc::settings(Duration::from_secs(10)))?;
        let window_starts = catalogue.days.saturating_sub(6).clamp(1, WINDOW_STARTS);
        Ok(Self { clients: channels.into_iter().map(InventoryServiceClient::new).collect(), pass, catalogue, window_starts, errors })
    }

    fn request<T>(&self, message: T) -> Result<Request<T>, tonic::Status> {
        grpc::with_pass(message, &self.pass, CLIENT_ID).map_err(|e| tonic::Status::internal(e.to_string()))
    }

    fn window(&self, r: u64) -> (String, String) {
        let from = self.catalogue.first_day + Days::new(r % self.window_starts);
        (from.to_string(), (from + Days::new(6)).to_string())
    }

    /// 80% by district, 20% by province, a week's window.
    pub async fn search(self, i: u64) -> bool {
        let r = mix(i, 1);
        let c = &self.catalogue;
        let region = if r.is_multiple_of(5) { pick(&c.provinces, r >> 8) } else { pick(&c.districts, r >> 8) };
        let (from_date, to_date) = self.window(r >> 24);
        let message = pb::SearchClinicsRequest {
            region_code: region.clone(),
            vaccine_code: pick(&VACCINES, r >> 40).to_string(),
            from_date,
            to_date,
            page_size: 20,
            page_token: String::new(),
        };
        let mut client = pick(&self.clients, i).clone();
        let result = match self.request(message) {
            Ok(request) => client.search_clinics(request).await.map(|_| ()),
            Err(e) => Err(e),
        };
        self.errors.note(result)
    }

    /// A random clinic and vaccine it offers, a week; an empty answer is a failure.
    pub async fn availability(self, i: u64) -> bool {
        let r = mix(i, 2);
        let (clinic, vaccine) = pick(&self.catalogue.offers, r);
        let (from_date, to_date) = self.window(r >> 32);
        let message = pb::GetAvailabilityRequest { clinic_id: clinic.to_string(), vaccine_code: vaccine.clone(), from_date, to_date };
        let mut client = pick(&self.clients, i).clone();
        let result = match self.request(message) {
            Ok(request) => client.get_availability(request).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(r) => !r.into_inner().slots.is_empty(),
            Err(e) => self.errors.note(Err(e)),
        }
    }

    /// Half searches (kind 0), half availability lookups (kind 1).
    pub async fn mixed(self, i: u64) -> (usize, bool) {
        if i.is_multiple_of(2) {
            (0, self.search(i / 2).await)
        } else {
            (1, self.availability(i / 2).await)
        }
    }
}

/// The floor: one clinic's row by primary key, through the service's own pool.
#[derive(Clone)]
pub struct Floor {
    pub pool: PgPool,
    pub catalogue: Arc<Catalogue>,
}

impl Floor {
    async fn select(self, r: u64) -> bool {
        let id = *pick(&self.catalogue.clinic_ids, r);
        sqlx::query_as::<_, (Uuid, String)>("SELECT clinic_id, name FROM clinics WHERE clinic_id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .is_ok()
    }

    /// For the open loop (one kind).
    pub async fn open(self, i: u64) -> (usize, bool) {
        (0, self.select(mix(i, 3)).await)
    }

    /// For the closed loop.
    pub async fn closed(self, i: u64) -> bool {
        self.select(mix(i, 4)).await
    }
}
