//! Eligibility, the search for a place near home, and the booking itself
//! (with an idempotency key, retried with the same key after a timeout).
use std::time::Duration;

use rand::{rngs::StdRng, seq::SliceRandom as _, Rng as _};
use yeyak_dev::demo::Session;
use yeyak_proto::{eligibility::v1 as elig, inventory::v1 as inv, reservation::v1 as res};

use crate::{ctx::Ctx, recorder::Stage};

const VACCINES: [&str; 4] = ["pfizer", "moderna", "az", "janssen"];

/// Who is booked for: their identity assertion, and the agent's when an
/// agent books for them.
pub(super) struct Whom<'a> {
    pub assertion: &'a str,
    pub agent: &'a str,
}

pub(super) async fn eligible(ctx: &Ctx, session: &Session, whom: &Whom<'_>) -> Result<bool, String> {
    let check = elig::CheckEligibilityRequest {
        identity_assertion: whom.assertion.to_owned(),
        agent_assertion: whom.agent.to_owned(),
        dose_number: 1,
        ..Default::default()
    };
    let request = session.request(check, elig::eligibility_service_server::SERVICE_NAME, "CheckEligibility").map_err(|e| e.to_string())?;
    let client = &mut elig::eligibility_service_client::EligibilityServiceClient::new(ctx.targets.eligibility.get());
    let decision = ctx.rec.call(Stage::Eligibility, "eligibility/CheckEligibility", client.check_eligibility(request)).await;
    decision.map(|d| d.eligible).map_err(|s| format!("{:?}", s.code()))
}

/// A slot with a place left, near `home` (a province code) if it has one:
/// `(clinic id, slot id)`.
pub(super) async fn search(ctx: &Ctx, session: &Session, home: &str, rng: &mut StdRng) -> Result<(String, String), String> {
    const SERVICE: &str = inv::inventory_service_server::SERVICE_NAME;
    let client = &mut inv::inventory_service_client::InventoryServiceClient::new(ctx.targets.inventory.get());
    let request = session.request(inv::ListRegionsRequest {}, SERVICE, "ListRegions").map_err(|e| e.to_string())?;
    let regions = ctx.rec.call(Stage::Search, "inventory/ListRegions", client.list_regions(request)).await;
    let provinces: Vec<String> = regions.map_err(|s| format!("{:?}", s.code()))?.provinces.into_iter().map(|p| p.code).collect();
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Seoul).date_naive();
    let (from, to) = (today.to_string(), (today + chrono::Duration::days(14)).to_string());
    for attempt in 0..4 {
        // Home first; then anywhere, as people did when home was full.
        let region = match (attempt, provinces.iter().any(|p| p == home)) {
            (0, true) => home.to_owned(),
            _ => provinces.choose(rng).cloned().unwrap_or_default(),
        };
        let vaccine = VACCINES.choose(rng).copied().unwrap_or("pfizer");
        let search = inv::SearchClinicsRequest {
            region_code: region,
            vaccine_code: vaccine.into(),
            from_date: from.clone(),
            to_date: to.clone(),
            page_size: 20,
            page_token: String::new(),
        };
        let request = session.request(search, SERVICE, "SearchClinics").map_err(|e| e.to_string())?;
        let found = ctx.rec.call(Stage::Search, "inventory/SearchClinics", client.search_clinics(request)).await;
        let clinics = found.map_err(|s| format!("{:?}", s.code()))?.clinics;
        let open: Vec<_> = clinics.into_iter().filter(|c| c.remaining_total > 0).collect();
        let Some(clinic) = open.choose(rng) else { continue };
        let availability = inv::GetAvailabilityRequest {
            clinic_id: clinic.clinic_id.clone(),
            vaccine_code: vaccine.into(),
            from_date: from.clone(),
            to_date: to.clone(),
        };
        let request = session.request(availability, SERVICE, "GetAvailability").map_err(|e| e.to_string())?;
        let slots = ctx.rec.call(Stage::Search, "inventory/GetAvailability", client.get_availability(request)).await;
        let slots: Vec<_> = slots.map_err(|s| format!("{:?}", s.code()))?.slots.into_iter().filter(|s| s.remaining > 0).collect();
        if let Some(slot) = slots.choose(rng) {
            return Ok((clinic.clinic_id.clone(), slot.slot_id.clone()));
        }
    }
    Err("no_slot".to_owned())
}

/// Books `slot` for `whom`. With `time_out_first`, the first call is cut
/// off on the person's side after a few milliseconds (it may or may not
/// have reached the server) and retried with the same key.
pub(super) async fn book(
    ctx: &Ctx,
    session: &Session,
    whom: &Whom<'_>,
    slot: &str,
    phone: &str,
    time_out_first: bool,
    rng: &mut StdRng,
) -> Result<res::Reservation, tonic::Status> {
    let create = res::CreateReservationRequest {
        idempotency_key: format!("{}-{}", ctx.run_tag, uuid::Uuid::new_v4().simple()),
        slot_id: slot.to_owned(),
        identity_assertion: whom.assertion.to_owned(),
        agent_assertion: whom.agent.to_owned(),
        dose_number: 1,
        contact_phone: phone.to_owned(),
        consent_token: String::new(),
    };
    let client = res::reservation_service_client::ReservationServiceClient::new(ctx.targets.reservation.get());
    let call = |c: &res::reservation_service_client::ReservationServiceClient<_>| {
        let request = session.request(create.clone(), res::reservation_service_server::SERVICE_NAME, "CreateReservation");
        let mut c = c.clone();
        async move {
            let request = request.map_err(|e| tonic::Status::invalid_argument(e.to_string()))?;
            c.create_reservation(request).await
        }
    };
    if time_out_first {
        let cut = Duration::from_millis(rng.gen_range(1..20));
        if let Ok(Ok(done)) = tokio::time::timeout(cut, call(&client)).await {
            return done.into_inner().reservation.ok_or_else(|| tonic::Status::internal("no reservation"));
        }
        ctx.rec.error(Stage::Book, "client_timeout");
        tokio::time::sleep(Duration::from_millis(rng.gen_range(100..600))).await;
    }
    // A service restarting or a lost answer: the same attempt again, with
    // the same key, as a front end retries (never a second booking).
    let mut tries = 0;
    loop {
        match ctx.rec.call(Stage::Book, "reservation/CreateReservation", call(&client)).await {
            Ok(booked) => return booked.reservation.ok_or_else(|| tonic::Status::internal("no reservation")),
            Err(s) if tries < 4 && transient(s.code()) => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(500 * tries)).await;
            }
            Err(s) => return Err(s),
        }
    }
}

fn transient(code: tonic::Code) -> bool {
    matches!(code, tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown | tonic::Code::Cancelled)
}
