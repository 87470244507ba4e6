//! The two ways a verification is driven: as a relying party calling the
//! carrier directly (the floor), and as a front end calling identity (or a
//! thin front) with the provider calls a person's phone or app makes.
use std::{sync::Arc, time::Duration};

use tonic::{transport::Channel, Code};
use tonic_types::StatusExt as _;
use yeyak_platform::{pseudonym::Rrn, tokens::SigningKey};
use yeyak_proto::identity::v1::{
    identity_service_client::IdentityServiceClient, CompleteVerificationRequest, ListProvidersRequest, StartVerificationRequest,
};

use super::{CLIENT, QUEUE};
use crate::bench::{grpc, pick, tokens};

/// A new synthetic person per verification, so no attempt or proxy limit is
/// hit: a distinct number (birth date and serial) and phone.
fn person(n: u32) -> (String, String, String) {
    let birth = chrono::NaiveDate::from_ymd_opt(1941, 1, 1).unwrap_or_default() + chrono::Days::new(u64::from(n / 90_000));
    let rrn = Rrn::synthesize(birth, n % 2 == 1, 10_000 + n % 90_000);
    ("김벤치".to_owned(), rrn.expose().to_owned(), format!("010{:08}", n % 100_000_000))
}

async fn json(response: Result<reqwest::Response, reqwest::Error>) -> Result<serde_json::Value, String> {
    response.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())
}

/// The code the provider sent to the person's phone (empty for an app approval).
async fn inbox(http: &reqwest::Client, url: &str, phone: &str) -> Result<serde_json::Value, String> {
    json(http.get(format!("{url}/v1/inbox/{phone}")).send().await).await
}

/// The floor: a relying party calling the carrier mock without identity.
#[derive(Clone)]
pub struct Carrier {
    pub http: reqwest::Client,
    pub url: String,
}

impl Carrier {
    /// start → inbox → confirm. Ok(false): verified, never rerouted.
    pub async fn verify(self, n: u32) -> Result<bool, String> {
        let (http, url) = (&self.http, &self.url);
        let (name, rrn, phone) = person(n);
        let body = serde_json::json!({ "name": name, "rrn": rrn, "phone": phone });
        let started = json(http.post(format!("{url}/v1/verifications")).json(&body).send().await).await?;
        let tx = started["transaction_id"].as_str().ok_or("no transaction id")?;
        let inbox = inbox(http, url, &phone).await?;
        let code = inbox["code"].as_str().ok_or("no code")?;
        let confirm = http
            .post(format!("{url}/v1/verifications/{tx}/confirm"))
            .json(&serde_json::json!({ "code": code }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if confirm.status().is_success() {
            Ok(false)
        } else {
            Err(format!("confirm: HTTP {}", confirm.status()))
        }
    }
}

pub struct FrontEnd {
    pub channels: Vec<Channel>,
    pub admission: SigningKey,
    pub http: reqwest::Client,
    pub idp_urls: Vec<(String, String)>,
    /// Passes minted before the run (admission's work, not the front end's).
    pub passes: Arc<Vec<String>>,
}

impl FrontEnd {
    /// The pass of person `n`: each verification is its own session.
    pub fn pass(admission: &SigningKey, n: u32) -> String {
        let id = format!("bench-{n}");
        let session = tokens::Session { queue: QUEUE, place: u64::from(n), client_id: CLIENT, id: &id };
        session.pass(admission, tokens::Validity::for_seconds(900))
    }

    fn request<T>(pass: &str, msg: T) -> Result<tonic::Request<T>, String> {
        let mut r = grpc::with_pass(msg, pass, CLIENT).map_err(|_| "pass header")?;
        r.set_timeout(Duration::from_secs(5));
        Ok(r)
    }

    fn url(&self, provider: &str) -> Result<&str, String> {
        self.idp_urls.iter().find(|(id, _)| id == provider).map(|(_, u)| u.as_str()).ok_or_else(|| format!("no URL for {provider}"))
    }

    async fn first_offered(c: &mut IdentityServiceClient<Channel>, pass: &str) -> Result<String, String> {
        let list = c.list_providers(Self::request(pass, ListProvidersRequest {})?).await.map_err(|s| format!("list: {s:?}"))?;
        list.into_inner().providers.first().map(|p| p.provider_id.clone()).ok_or_else(|| "no provider offered".into())
    }

    /// The person's side between Start and Complete: read the code, or
    /// approve in the app when there is none.
    async fn code(&self, provider: &str, phone: &str) -> Result<String, String> {
        let url = self.url(provider)?;
        let inbox = inbox(&self.http, url, phone).await?;
        let code = inbox["code"].as_str().ok_or("no code")?.to_owned();
        if code.is_empty() {
            let tx = inbox["transaction_id"].as_str().ok_or("no transaction")?;
            let approved = self.http.post(format!("{url}/v1/verifications/{tx}/approve")).send().await.map_err(|e| e.to_string())?;
            if !approved.status().is_success() {
                return Err(format!("approve: HTTP {}", approved.status()));
            }
        }
        Ok(code)
    }

    /// One person's verification, as a front end drives it: on the retryable
    /// `UNAVAILABLE` it starts again with the first alternative the status
    /// names, at most three tries. Ok(rerouted).
    pub async fn verify(self: Arc<Self>, n: u32) -> Result<bool, String> {
        let mut c = IdentityServiceClient::new(pick(&self.channels, u64::from(n)).clone());
        let pass = match self.passes.get(n as usize) {
            Some(p) => p.clone(),
            None => Self::pass(&self.admission, n),
        };
        let (name, rrn, phone) = person(n);
        let mut provider = Self::first_offered(&mut c, &pass).await?;
        for attempt in 0..3 {
            let start = StartVerificationRequest {
                provider_id: provider.clone(),
                name: name.clone(),
                resident_registration_number: rrn.clone(),
                phone_number: phone.clone(),
            };
            let outcome = match c.start_verification(Self::request(&pass, start)?).await {
                Ok(started) => {
                    let code = self.code(&provider, &phone).await?;
                    let complete = CompleteVerificationRequest { challenge_id: started.into_inner().challenge_id, code };
                    c.complete_verification(Self::request(&pass, complete)?).await.map(|_| ())
                }
                Err(status) => Err(status),
            };
            match outcome {
                Ok(()) => return Ok(attempt > 0),
                Err(status) if status.code() == Code::Unavailable => {
                    let next = status
                        .get_details_error_info()
                        .and_then(|i| i.metadata.get("alternatives").and_then(|a| a.split(',').find(|s| !s.is_empty()).map(str::to_owned)));
                    provider = next.ok_or_else(|| format!("no alternative named: {}", status.message()))?;
                }
                Err(status) => return Err(format!("{provider}: {:?} {}", status.code(), status.message())),
            }
        }
        Err("not verified in three tries".into())
    }
}
