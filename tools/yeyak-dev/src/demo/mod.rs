//! One person's booking, end to end, through the public gRPC APIs only:
//! queue → pass → identity → eligibility → search → book → SMS.
//!
//! Split by the person's path: [`admit`] and [`verify`] get a session and
//! an identity, [`find_slot`] a place, and [`run`] strings them together
//! with eligibility, the booking and the SMS.
mod access;
mod search;

use std::time::Duration;

use anyhow::{bail, Context as _};
use tonic::transport::Channel;
use yeyak_platform::{
    grpc::{client, CLIENT_ID_HEADER, PASS_HEADER},
    tls::TlsSettings,
    tokens::dpop::DeviceKey,
};
use yeyak_proto::{eligibility::v1 as elig, inventory::v1 as inv, notification::v1 as ntf, reservation::v1 as res};

pub use access::{admit, verify, verify_with, IdentityClient};
pub use search::find_slot;
/// Where the stack listens. A gRPC address is `host:port` (plain HTTP/2) or
/// `https://host:port` (TLS, verified and shown as `tls` says).
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
    /// An operator token with the `support` role, to read delivery status
    /// as support staff do (the person's own pass ended with the booking).
    pub operator_token: Option<String>,
    /// What an `https://` address is checked against (`YEYAK_TLS_CA_FILE`)
    /// and the client certificate shown if the server asks for one.
    pub tls: TlsSettings,
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
    /// What the SMS names the booking by.
    pub booking_code: String,
    pub phone: String,
    pub sms_texts: Vec<String>,
    /// How the pass was refused once the booking ended its session.
    pub pass_after_booking: tonic::Code,
}

impl Endpoints {
    /// A lazy channel to one of the stack's gRPC addresses.
    pub(crate) fn ch(&self, addr: &str) -> anyhow::Result<Channel> {
        client::channel(
            addr,
            &client::ClientSettings {
                connect_timeout: Duration::from_secs(2),
                request_timeout: Duration::from_secs(10),
                tls: self.tls.clone(),
            },
        )
    }
}

/// An admitted client: its id, the pass the waiting room gave it, and the
/// device key it joined with, which the pass is bound to.
#[derive(Clone, Debug)]
pub struct Session {
    pub client_id: String,
    pub pass: String,
    pub device: DeviceKey,
}

impl Session {
    /// `msg` for `method` of `service` (its gRPC name, `SERVICE_NAME`) with
    /// this session's pass, client id and a fresh device proof, as a
    /// gateway sends every call behind the waiting room.
    pub fn request<T>(&self, msg: T, service: &str, method: &str) -> anyhow::Result<tonic::Request<T>> {
        let mut r = tonic::Request::new(msg);
        r.metadata_mut().insert(PASS_HEADER, self.pass.parse()?);
        r.metadata_mut().insert(CLIENT_ID_HEADER, self.client_id.parse()?);
        self.device.sign_request(&mut r, &format!("/{service}/{method}"));
        Ok(r)
    }
}

/// The whole path of one person, each step told to `say` as it happens: the
/// demo prints them, the end-to-end test asserts the outcome.
pub async fn run(ep: &Endpoints, person: &Person, say: &(dyn Fn(String) + Sync)) -> anyhow::Result<Outcome> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let session = admit(ep, say).await?;
    let verified = verify(ep, person, &session, say).await?;

    // 3. Eligibility.
    let mut eligibility = elig::eligibility_service_client::EligibilityServiceClient::new(ep.ch(&ep.eligibility)?);
    let decision = eligibility
        .check_eligibility(session.request(
            elig::CheckEligibilityRequest { identity_assertion: verified.identity_assertion.clone(), dose_number: 1, ..Default::default() },
            elig::eligibility_service_server::SERVICE_NAME,
            "CheckEligibility",
        )?)
        .await
        .context("CheckEligibility")?
        .into_inner();
    if !decision.eligible {
        bail!("not eligible: {}", decision.detail);
    }
    say(format!("6. eligible: {}", decision.detail));

    // 4. Search and pick a slot.
    let slot = find_slot(ep, &session, say).await?;

    // 5. Book.
    let mut reservations = res::reservation_service_client::ReservationServiceClient::new(ep.ch(&ep.reservation)?);
    let booked = reservations
        .create_reservation(session.request(
            res::CreateReservationRequest {
                idempotency_key: format!("demo-{}", uuid::Uuid::new_v4().simple()),
                slot_id: slot.slot_id.clone(),
                identity_assertion: verified.identity_assertion.clone(),
                dose_number: 1,
                contact_phone: person.phone.clone(),
                ..Default::default()
            },
            res::reservation_service_server::SERVICE_NAME,
            "CreateReservation",
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
    let ended = pass_refused_after_booking(ep, &session).await?;
    say(format!("11. the booking ended the session: its pass is refused ({ended:?})"));
    if let Some(token) = &ep.operator_token {
        let mut notifications = ntf::notification_service_client::NotificationServiceClient::new(ep.ch(&ep.notification)?);
        let mut request =
            tonic::Request::new(ntf::GetDeliveryStatusRequest { reservation_id: booked.reservation_id.clone(), ..Default::default() });
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().context("operator token")?);
        let deliveries = notifications.get_delivery_status(request).await.context("GetDeliveryStatus")?.into_inner().deliveries;
        say(format!(
            "12. delivery status, as support sees it: {:?}",
            deliveries.iter().map(|d| ntf::DeliveryState::try_from(d.state).unwrap_or_default()).collect::<Vec<_>>()
        ));
    }
    Ok(Outcome {
        reservation_id: booked.reservation_id,
        booking_code: booked.booking_code,
        phone: person.phone.clone(),
        sms_texts,
        pass_after_booking: ended,
    })
}

/// Admission ends the session of a booking: within seconds its pass stops
/// working at every service (docs/admission.md). Asks inventory until it
/// refuses the pass, for at most 5 s.
async fn pass_refused_after_booking(ep: &Endpoints, session: &Session) -> anyhow::Result<tonic::Code> {
    let mut inventory = inv::inventory_service_client::InventoryServiceClient::new(ep.ch(&ep.inventory)?);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let request = session.request(inv::ListRegionsRequest {}, inv::inventory_service_server::SERVICE_NAME, "ListRegions")?;
        match inventory.list_regions(request).await {
            Err(status) if status.code() == tonic::Code::Unauthenticated => return Ok(status.code()),
            other if tokio::time::Instant::now() > deadline => bail!("the pass still works 5 s after the booking: {other:?}"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
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
