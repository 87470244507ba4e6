//! One person's booking, end to end, through the public gRPC APIs only:
//! queue → pass → identity → eligibility → search → book → SMS.
use std::time::Duration;

use anyhow::{bail, Context as _};
use tonic::transport::Channel;
use yeyak_platform::grpc::{client, CLIENT_ID_HEADER, PASS_HEADER};
use yeyak_proto::{
    admission::v1 as adm, eligibility::v1 as elig, identity::v1 as idn, inventory::v1 as inv, notification::v1 as ntf,
    reservation::v1 as res,
};

/// Where the stack listens.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub admission: String,
    pub identity: String,
    pub eligibility: String,
    pub inventory: String,
    pub reservation: String,
    pub notification: String,
    pub sms_gateway_url: String,
    /// Provider id → the mock provider's base URL (to read the phone's inbox).
    pub idp_urls: Vec<(String, String)>,
    pub queue_id: String,
}

/// The person booking (a real entry of the synthetic registry).
#[derive(Clone, Debug)]
pub struct Person {
    pub name: String,
    pub rrn: String,
    pub phone: String,
}

#[derive(Debug)]
pub struct Outcome {
    pub reservation_id: String,
    pub phone: String,
    pub sms_texts: Vec<String>,
}

fn ch(addr: &str) -> anyhow::Result<Channel> {
    client::channel(addr, &client::ClientSettings { connect_timeout: Duration::from_secs(2), request_timeout: Duration::from_secs(10) })
}

/// Attaches the pass and client id, as a gateway does on every call.
fn with_pass<T>(msg: T, pass: &str, client_id: &str) -> anyhow::Result<tonic::Request<T>> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut().insert(PASS_HEADER, pass.parse()?);
    r.metadata_mut().insert(CLIENT_ID_HEADER, client_id.parse()?);
    Ok(r)
}

/// An admitted client: its id and the pass the waiting room gave it.
#[derive(Clone, Debug)]
pub struct Session {
    pub client_id: String,
    pub pass: String,
}

impl Session {
    /// `msg` with this session's pass and client id attached.
    pub fn request<T>(&self, msg: T) -> anyhow::Result<tonic::Request<T>> {
        with_pass(msg, &self.pass, &self.client_id)
    }
}

pub async fn run(ep: &Endpoints, person: &Person, say: &(dyn Fn(String) + Sync)) -> anyhow::Result<Outcome> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let session = admit(ep, say).await?;
    let verified = verify(ep, person, &session, say).await?;
    let (client_id, pass) = (session.client_id, session.pass);

    // 3. Eligibility.
    let mut eligibility = elig::eligibility_service_client::EligibilityServiceClient::new(ch(&ep.eligibility)?);
    let decision = eligibility
        .check_eligibility(with_pass(
            elig::CheckEligibilityRequest { identity_assertion: verified.identity_assertion.clone(), dose_number: 1, ..Default::default() },
            &pass,
            &client_id,
        )?)
        .await
        .context("CheckEligibility")?
        .into_inner();
    if !decision.eligible {
        bail!("not eligible: {}", decision.detail);
    }
    say(format!("6. eligible: {}", decision.detail));

    // 4. Search and pick a slot.
    let slot = find_slot(ep, &pass, &client_id, say).await?;

    // 5. Book.
    let mut reservations = res::reservation_service_client::ReservationServiceClient::new(ch(&ep.reservation)?);
    let booked = reservations
        .create_reservation(with_pass(
            res::CreateReservationRequest {
                idempotency_key: format!("demo-{}", uuid::Uuid::new_v4().simple()),
                slot_id: slot.slot_id.clone(),
                identity_assertion: verified.identity_assertion.clone(),
                dose_number: 1,
                contact_phone: person.phone.clone(),
                ..Default::default()
            },
            &pass,
            &client_id,
        )?)
        .await
        .context("CreateReservation")?
        .into_inner()
        .reservation
        .context("no reservation")?;
    say(format!("9. booked: reservation {} at {}", booked.reservation_id, booked.clinic_name));

    // 6. The SMS, as the gateway recorded it.
    let sms_texts = wait_for_sms(&http, &ep.sms_gateway_url, &person.phone).await?;
    say(format!("10. SMS gateway recorded: {}", sms_texts.join(" | ")));
    let mut notifications = ntf::notification_service_client::NotificationServiceClient::new(ch(&ep.notification)?);
    let deliveries = notifications
        .get_delivery_status(ntf::GetDeliveryStatusRequest { reservation_id: booked.reservation_id.clone(), message_id: String::new() })
        .await
        .context("GetDeliveryStatus")?
        .into_inner()
        .deliveries;
    say(format!(
        "11. delivery status: {:?}",
        deliveries.iter().map(|d| ntf::DeliveryState::try_from(d.state).unwrap_or_default()).collect::<Vec<_>>()
    ));
    Ok(Outcome { reservation_id: booked.reservation_id, phone: person.phone.clone(), sms_texts })
}

/// Joins the queue as a new client and polls until admitted.
pub async fn admit(ep: &Endpoints, say: &(dyn Fn(String) + Sync)) -> anyhow::Result<Session> {
    let client_id = format!("demo-{}", uuid::Uuid::new_v4().simple());
    // 1. The waiting room.
    let mut queue = adm::admission_service_client::AdmissionServiceClient::new(ch(&ep.admission)?);
    let joined = queue
        .join_queue(adm::JoinQueueRequest { queue_id: ep.queue_id.clone(), client_id: client_id.clone(), existing_ticket: String::new() })
        .await
        .context("JoinQueue")?
        .into_inner();
    let mut status = joined.status.context("JoinQueue returned no status")?;
    say(format!("1. joined queue {:?}: position {}, {} people ahead", ep.queue_id, status.position, status.people_ahead));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while status.state != adm::QueueState::Admitted as i32 {
        if status.state == adm::QueueState::SessionEnded as i32 {
            bail!("the admitted session of this ticket has already ended");
        }
        if tokio::time::Instant::now() > deadline {
            bail!("not admitted within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        status = queue
            .get_queue_status(adm::GetQueueStatusRequest { ticket: joined.ticket.clone(), client_id: client_id.clone() })
            .await
            .context("GetQueueStatus")?
            .into_inner()
            .status
            .context("no status")?;
    }
    let pass = status.admission_pass.clone();
    say(format!("2. admitted: signed pass received ({} bytes)", pass.len()));
    Ok(Session { client_id, pass })
}

/// Verifies `person` with the healthiest SMS-code provider under `session`.
pub async fn verify(
    ep: &Endpoints,
    person: &Person,
    session: &Session,
    say: &(dyn Fn(String) + Sync),
) -> anyhow::Result<idn::CompleteVerificationResponse> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let (pass, client_id) = (&session.pass, &session.client_id);
    // 2. Identity, with the healthiest SMS-code provider.
    let mut identity = idn::identity_service_client::IdentityServiceClient::new(ch(&ep.identity)?);
    let providers = identity
        .list_providers(with_pass(idn::ListProvidersRequest {}, pass, client_id)?)
        .await
        .context("ListProviders")?
        .into_inner()
        .providers;
    let provider = providers
        .iter()
        .find(|p| p.kind == idn::ProviderKind::SmsCode as i32 && p.status != idn::ProviderStatus::Red as i32)
        .context("no SMS-code provider available")?;
    say(format!(
        "3. providers: {}",
        providers
            .iter()
            .map(|p| format!("{} ({:?})", p.provider_id, idn::ProviderStatus::try_from(p.status).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let started = identity
        .start_verification(with_pass(
            idn::StartVerificationRequest {
                provider_id: provider.provider_id.clone(),
                name: person.name.clone(),
                resident_registration_number: person.rrn.clone(),
                phone_number: person.phone.clone(),
            },
            pass,
            client_id,
        )?)
        .await
        .context("StartVerification")?
        .into_inner();
    let idp_url = &ep.idp_urls.iter().find(|(id, _)| *id == provider.provider_id).context("no URL for provider")?.1;
    let inbox: serde_json::Value =
        http.get(format!("{idp_url}/v1/inbox/{}", person.phone)).send().await?.error_for_status()?.json().await?;
    let code = inbox["code"].as_str().context("no code in the phone's inbox")?.to_owned();
    say(format!("4. {} sent a code to the phone; entering it", provider.provider_id));
    let verified = identity
        .complete_verification(with_pass(idn::CompleteVerificationRequest { challenge_id: started.challenge_id, code }, pass, client_id)?)
        .await
        .context("CompleteVerification")?
        .into_inner();
    say(format!("5. verified {} as subject {}…", verified.masked_name, &verified.subject_id[..12]));
    Ok(verified)
}

pub async fn find_slot(ep: &Endpoints, pass: &str, client_id: &str, say: &(dyn Fn(String) + Sync)) -> anyhow::Result<inv::Slot> {
    let mut inventory = inv::inventory_service_client::InventoryServiceClient::new(ch(&ep.inventory)?);
    let regions = inventory
        .list_regions(with_pass(inv::ListRegionsRequest {}, pass, client_id)?)
        .await
        .context("ListRegions")?
        .into_inner()
        .provinces;
    let today = chrono::Utc::now().with_timezone(&chrono_tz::Asia::Seoul).date_naive();
    let (from, to) = (today.format("%Y-%m-%d").to_string(), (today + chrono::Duration::days(14)).format("%Y-%m-%d").to_string());
    for province in &regions {
        for vaccine in ["pfizer", "moderna", "az", "janssen"] {
            let found = inventory
                .search_clinics(with_pass(
                    inv::SearchClinicsRequest {
                        region_code: province.code.clone(),
                        vaccine_code: vaccine.into(),
                        from_date: from.clone(),
                        to_date: to.clone(),
                        page_size: 5,
                        page_token: String::new(),
                    },
                    pass,
                    client_id,
                )?)
                .await
                .context("SearchClinics")?
                .into_inner();
            let Some(clinic) = found.clinics.first() else { continue };
            say(format!(
                "7. {} regions; {} clinics with {vaccine} in {}, first: {} ({} places left)",
                regions.len(),
                found.clinics.len(),
                province.name,
                clinic.name,
                clinic.remaining_total
            ));
            let slots = inventory
                .get_availability(with_pass(
                    inv::GetAvailabilityRequest {
                        clinic_id: clinic.clinic_id.clone(),
                        vaccine_code: vaccine.into(),
                        from_date: from.clone(),
                        to_date: to.clone(),
                    },
                    pass,
                    client_id,
                )?)
                .await
                .context("GetAvailability")?
                .into_inner()
                .slots;
            if let Some(slot) = slots.into_iter().find(|s| s.remaining > 0) {
                say(format!("8. picked slot {} ({} of {} places left)", slot.slot_id, slot.remaining, slot.capacity));
                return Ok(slot);
            }
        }
    }
    bail!("no clinic with a free slot in the next two weeks")
}

async fn wait_for_sms(http: &reqwest::Client, gateway: &str, phone: &str) -> anyhow::Result<Vec<String>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let body: serde_json::Value =
            http.get(format!("{gateway}/v1/messages")).query(&[("to", phone)]).send().await?.error_for_status()?.json().await?;
        let texts: Vec<String> =
            body["messages"].as_array().into_iter().flatten().filter_map(|m| m["text"].as_str().map(str::to_owned)).collect();
        if !texts.is_empty() {
            return Ok(texts);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the SMS gateway recorded nothing within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
