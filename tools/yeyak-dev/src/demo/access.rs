//! The person's way in: the waiting room's pass, then a verified identity.
use std::time::Duration;

use anyhow::{bail, Context as _};
use yeyak_platform::grpc::client;
use yeyak_proto::{admission::v1 as adm, identity::v1 as idn};

use yeyak_platform::tokens::dpop::{self, DeviceKey};

use super::{Endpoints, Person, Session};

/// Joins the queue as a new client and polls until admitted.
pub async fn admit(ep: &Endpoints, say: &(dyn Fn(String) + Sync)) -> anyhow::Result<Session> {
    let client_id = format!("demo-{}", uuid::Uuid::new_v4().simple());
    // 1. The waiting room, joined with a new device key: the pass will be bound to it.
    let device = DeviceKey::generate();
    let mut queue = adm::admission_service_client::AdmissionServiceClient::new(ep.ch(&ep.admission)?);
    let mut join = tonic::Request::new(adm::JoinQueueRequest {
        queue_id: ep.queue_id.clone(),
        client_id: client_id.clone(),
        existing_ticket: String::new(),
        identity_assertion: String::new(),
    });
    device.sign_request(&mut join, &format!("/{}/JoinQueue", adm::admission_service_server::SERVICE_NAME));
    let joined = queue.join_queue(join).await.context("JoinQueue")?.into_inner();
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
    if dpop::bound_key(&pass).as_deref() != Some(device.thumbprint()) {
        bail!("admission did not bind the pass to the device key the join was signed with");
    }
    say(format!("2. admitted: signed pass received ({} bytes), bound to this device's key", pass.len()));
    Ok(Session { client_id, pass, device })
}

/// Identity's client over one long-lived connection, as a gateway keeps it.
pub type IdentityClient = idn::identity_service_client::IdentityServiceClient<tonic::transport::Channel>;

/// Verifies `person` with the healthiest SMS-code provider under `session`,
/// over a connection of its own.
pub async fn verify(
    ep: &Endpoints,
    person: &Person,
    session: &Session,
    say: &(dyn Fn(String) + Sync),
) -> anyhow::Result<idn::CompleteVerificationResponse> {
    let mut identity = IdentityClient::new(ep.ch(&ep.identity)?);
    verify_with(&mut identity, ep, person, session, say).await
}

/// [`verify`] over the caller's connection to identity.
pub async fn verify_with(
    identity: &mut IdentityClient,
    ep: &Endpoints,
    person: &Person,
    session: &Session,
    say: &(dyn Fn(String) + Sync),
) -> anyhow::Result<idn::CompleteVerificationResponse> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    // 2. Identity, with the healthiest SMS-code provider.
    let providers =
        on_identity(identity, session, "ListProviders", idn::ListProvidersRequest {}, |mut c, r| async move { c.list_providers(r).await })
            .await
            .context("ListProviders")?
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
    let start = idn::StartVerificationRequest {
        provider_id: provider.provider_id.clone(),
        name: person.name.clone(),
        resident_registration_number: person.rrn.clone(),
        phone_number: person.phone.clone(),
    };
    let started = on_identity(identity, session, "StartVerification", start, |mut c, r| async move { c.start_verification(r).await })
        .await
        .context("StartVerification")?;
    let idp_url = &ep.idp_urls.iter().find(|(id, _)| *id == provider.provider_id).context("no URL for provider")?.1;
    let inbox: serde_json::Value =
        http.get(format!("{idp_url}/v1/inbox/{}", person.phone)).send().await?.error_for_status()?.json().await?;
    let code = inbox["code"].as_str().context("no code in the phone's inbox")?.to_owned();
    say(format!("4. {} sent a code to the phone; entering it", provider.provider_id));
    let complete = idn::CompleteVerificationRequest { challenge_id: started.challenge_id, code };
    let verified =
        on_identity(identity, session, "CompleteVerification", complete, |mut c, r| async move { c.complete_verification(r).await })
            .await
            .context("CompleteVerification")?;
    say(format!("5. verified {} as subject {}…", verified.masked_name, &verified.subject_id[..12]));
    Ok(verified)
}

/// Sends `msg` to identity with the pass, and once more if identity was
/// draining and refused it (what a gateway's transparent retry does: the
/// first try was never processed, see `client::is_refused`).
async fn on_identity<M, R, F, Fut>(
    identity: &IdentityClient,
    session: &Session,
    method: &str,
    msg: M,
    mut rpc: F,
) -> Result<R, tonic::Status>
where
    M: Clone,
    F: FnMut(IdentityClient, tonic::Request<M>) -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<R>, tonic::Status>>,
{
    let response = client::retry_refused(|| {
        let call = session
            .request(msg.clone(), idn::identity_service_server::SERVICE_NAME, method)
            .map(|request| rpc(identity.clone(), request))
            .map_err(|e| tonic::Status::invalid_argument(e.to_string()));
        async move { call?.await }
    })
    .await?;
    Ok(response.into_inner())
}
