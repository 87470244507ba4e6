//! Identity: the providers, then an SMS code read from the phone's inbox
//! (the mock provider's) and entered, as a person does.
use anyhow::Context as _;
use yeyak_dev::demo::Session;
use yeyak_population::SyntheticPerson;
use yeyak_proto::identity::v1 as idn;

use crate::{ctx::Ctx, recorder::Stage};

const SERVICE: &str = idn::identity_service_server::SERVICE_NAME;

fn client(ctx: &Ctx) -> idn::identity_service_client::IdentityServiceClient<tonic::transport::Channel> {
    idn::identity_service_client::IdentityServiceClient::new(ctx.targets.identity.get())
}

/// The healthiest SMS-code provider identity offers now.
pub(super) async fn provider(ctx: &Ctx, session: &Session) -> Result<String, String> {
    let request = session.request(idn::ListProvidersRequest {}, SERVICE, "ListProviders").map_err(|e| e.to_string())?;
    let listed = ctx.rec.call(Stage::Providers, "identity/ListProviders", client(ctx).list_providers(request)).await;
    let providers = listed.map_err(|s| format!("{:?}", s.code()))?.providers;
    providers
        .iter()
        .filter(|p| p.kind == idn::ProviderKind::SmsCode as i32 && p.status != idn::ProviderStatus::Red as i32)
        .find(|p| ctx.targets.idp_url(&p.provider_id).is_some())
        .map(|p| p.provider_id.clone())
        .ok_or_else(|| "no_provider".to_owned())
}

/// Verifies `person` under `session`; the identity assertion on success,
/// the reason (a gRPC code or `inbox`) otherwise.
pub(super) async fn verify(ctx: &Ctx, session: &Session, provider: &str, person: &SyntheticPerson) -> Result<String, String> {
    let start = idn::StartVerificationRequest {
        provider_id: provider.to_owned(),
        name: person.name.clone(),
        resident_registration_number: person.rrn.expose().to_owned(),
        phone_number: person.phone.clone(),
    };
    let request = session.request(start, SERVICE, "StartVerification").map_err(|e| e.to_string())?;
    let started = ctx
        .rec
        .call(Stage::Verify, "identity/StartVerification", client(ctx).start_verification(request))
        .await
        .map_err(|s| format!("{:?}", s.code()))?;
    let code = inbox(ctx, provider, &person.phone).await.map_err(|e| {
        ctx.rec.error(Stage::Verify, "inbox");
        tracing_free(e)
    })?;
    let complete = idn::CompleteVerificationRequest { challenge_id: started.challenge_id, code };
    let request = session.request(complete, SERVICE, "CompleteVerification").map_err(|e| e.to_string())?;
    let verified = ctx
        .rec
        .call(Stage::Verify, "identity/CompleteVerification", client(ctx).complete_verification(request))
        .await
        .map_err(|s| format!("{:?}", s.code()))?;
    Ok(verified.identity_assertion)
}

/// The code the provider texted to `phone`, from its inbox.
async fn inbox(ctx: &Ctx, provider: &str, phone: &str) -> anyhow::Result<String> {
    let url = ctx.targets.idp_url(provider).context("no inbox URL")?;
    let body: serde_json::Value = ctx.http.get(format!("{url}/v1/inbox/{phone}")).send().await?.error_for_status()?.json().await?;
    Ok(body["code"].as_str().context("no code in the inbox")?.to_owned())
}

/// The reason recorded for a failed inbox read: its kind, never the text
/// (which could carry a phone number).
fn tracing_free(_: anyhow::Error) -> String {
    "inbox".to_owned()
}
