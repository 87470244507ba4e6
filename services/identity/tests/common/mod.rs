//! Shared harness: four real mock providers (HTTP on port 0), an identity
//! server against the real Redis under a unique key prefix, passes minted
//! with a test admission key, and the front end's and the person's moves.
#![allow(clippy::unwrap_used, dead_code)] // test set-up code: a failure here should abort the test

use std::{sync::Arc, time::Duration};

use identity::{clients::Board, config::Config, startup::Application};
use serde_json::{json, Value};
use tonic::{transport::Channel, Request, Status};
use tonic_types::StatusExt as _;
use yeyak_platform::{
    config::Env,
    grpc::{client, CLIENT_ID_HEADER, PASS_HEADER},
    metrics::Metrics,
    pseudonym::Rrn,
    tokens::{self, client_binding, AdmissionPass, Issuer, KeyRing, SigningKey},
    Shutdown,
};
use yeyak_proto::identity::v1::{identity_service_client::IdentityServiceClient, *};

pub(crate) const CLIENT: &str = "client-identity-test-01";
pub(crate) const HASH_KEY: &str = "hash-key";

/// The four channels: id, mock kind, identity kind.
pub(crate) const PROVIDERS: [(&str, &str, &str); 4] = [
    ("carrier-sms", "sms_code", "sms_code"),
    ("kakao-cert", "app_approval", "app_approval"),
    ("naver-cert", "app_approval", "app_approval"),
    ("fin-cert", "app_approval", "fin_cert"),
];

pub(crate) struct Idp {
    pub id: &'static str,
    pub url: String,
}

pub(crate) struct Harness {
    pub channel: Channel,
    pub idps: Vec<Idp>,
    pub admission: SigningKey,
    pub ring: KeyRing,
    pub prefix: String,
    pub board: Arc<Board>,
    pub metrics: Metrics,
    pub shutdown: Shutdown,
    pub http: reqwest::Client,
}

pub(crate) fn unique(tag: &str) -> String {
    format!("test:identity-{tag}-{}", uuid::Uuid::new_v4().simple())
}

/// Starts the four mock providers in this process.
pub(crate) async fn start_idps(shutdown: &Shutdown) -> Vec<Idp> {
    let mut idps = Vec::new();
    for (id, kind, _) in PROVIDERS {
        let env = Env::from_pairs([("HTTP_ADDR", "127.0.0.1:0"), ("PROVIDER_ID", id), ("PROVIDER_KIND", kind)]);
        let idp = mock_idp::Application::build(mock_idp::Config::from_env(&env).unwrap()).await.unwrap();
        idps.push(Idp { id, url: format!("http://{}", idp.address()) });
        tokio::spawn(idp.run_until_stopped(shutdown.clone()));
    }
    idps
}

pub(crate) fn providers_spec(idps: &[Idp]) -> String {
    idps.iter().zip(PROVIDERS).map(|(idp, (_, _, kind))| format!("{}={}#{kind}", idp.id, idp.url)).collect::<Vec<_>>().join(",")
}

/// The identity environment for these providers and keys, plus `extra`.
pub(crate) fn identity_env(
    idps: &[Idp],
    admission: &SigningKey,
    identity_key: &SigningKey,
    prefix: &str,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = vec![
        ("GRPC_ADDR".into(), "127.0.0.1:0".into()),
        ("METRICS_ADDR".into(), "off".into()),
        ("SIGNING_KEY".into(), identity_key.secret_spec()),
        ("TRUSTED_KEYS".into(), admission.trusted_entry()),
        ("QUEUE_IDS".into(), "q1".into()),
        ("SUBJECT_HASH_KEY".into(), HASH_KEY.into()),
        ("PROVIDERS".into(), providers_spec(idps)),
        ("REDIS_KEY_PREFIX".into(), prefix.into()),
        // The admission catalogue and ended sessions this test follows are its own:
        // the default prefix is shared with `make run` on the same Redis.
        ("SESSIONS_REDIS_KEY_PREFIX".into(), prefix.into()),
        ("PROVIDER_TIMEOUT_MS".into(), "1000".into()),
        ("APPROVAL_WAIT_MS".into(), "0".into()),
    ];
    for (k, v) in extra {
        pairs.retain(|(key, _)| key != k);
        pairs.push(((*k).to_owned(), (*v).to_owned()));
    }
    pairs
}

pub(crate) async fn start(tag: &str, extra: &[(&str, &str)]) -> Harness {
    let shutdown = Shutdown::new();
    let idps = start_idps(&shutdown).await;
    let admission = SigningKey::generate(Issuer::Admission, "a1");
    let identity_key = SigningKey::generate(Issuer::Identity, "i1");
    let prefix = unique(tag);
    let env = Env::from_pairs(identity_env(&idps, &admission, &identity_key, &prefix, extra));
    let app = Application::build(Config::from_env(&env).unwrap()).await.unwrap();
    let channel = client::channel(&app.grpc_addr().to_string(), &client::ClientSettings::default()).unwrap();
    let (board, metrics) = (app.board(), app.metrics());
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let mut ring = KeyRing::default();
    ring.trust(&identity_key);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    Harness { channel, idps, admission, ring, prefix, board, metrics, shutdown, http }
}

/// A signed admission pass for session `session_id`, bound to [`CLIENT`].
pub(crate) fn mint_pass(admission: &SigningKey, session_id: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    tokens::sign(
        admission,
        &AdmissionPass {
            queue_id: "q1".into(),
            place: 1,
            client_binding: client_binding(CLIENT),
            session_id: session_id.into(),
            cnf: None,
            issued_at: now,
            expires_at: now + 600,
        },
    )
}

pub(crate) fn with_pass<T>(pass: &str, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert(PASS_HEADER, pass.parse().unwrap());
    r.metadata_mut().insert(CLIENT_ID_HEADER, CLIENT.parse().unwrap());
    r
}

/// A synthetic person: a valid number, a name and a phone, distinct per `n`.
pub(crate) struct Person {
    pub rrn: Rrn,
    pub name: String,
    pub phone: String,
}

impl Person {
    pub(crate) fn new(n: u32) -> Self {
        let birth = chrono::NaiveDate::from_ymd_opt(1950 + (n % 50) as i32, 1 + n % 12, 1 + n % 28).unwrap();
        Self {
            rrn: Rrn::synthesize(birth, n.is_multiple_of(2), 10_000 + n),
            name: "김영희".into(),
            phone: format!("010{:08}", 5_550_000 + n),
        }
    }

    pub(crate) fn start(&self, provider: &str) -> StartVerificationRequest {
        StartVerificationRequest {
            provider_id: provider.into(),
            name: self.name.clone(),
            resident_registration_number: self.rrn.expose().into(),
            phone_number: self.phone.clone(),
        }
    }

    /// Every form the number could leak in.
    pub(crate) fn rrn_forms(&self) -> Vec<String> {
        let d = self.rrn.expose();
        vec![d.to_owned(), format!("{}-{}", &d[..6], &d[6..]), d[6..].to_owned()]
    }
}

impl Harness {
    pub(crate) fn client(&self) -> IdentityServiceClient<Channel> {
        IdentityServiceClient::new(self.channel.clone())
    }

    pub(crate) fn pass(&self, session_id: &str) -> String {
        mint_pass(&self.admission, session_id)
    }

    pub(crate) fn url(&self, id: &str) -> &str {
        &self.idps.iter().find(|i| i.id == id).unwrap().url
    }

    pub(crate) async fn faults(&self, id: &str, faults: Value) {
        self.http.put(format!("{}/admin/faults", self.url(id))).json(&faults).send().await.unwrap().error_for_status().unwrap();
    }

    /// What the person's phone shows for provider `id`: (transaction id, code).
    pub(crate) async fn inbox(&self, id: &str, phone: &str) -> (String, String) {
        inbox(&self.http, self.url(id), phone).await
    }

    pub(crate) async fn approve(&self, id: &str, transaction: &str) {
        approve(&self.http, self.url(id), transaction).await;
    }

    /// ListProviders as the front end sees it: (id, status).
    pub(crate) async fn offered(&self) -> Vec<(String, i32)> {
        let list = self.client().list_providers(with_pass(&self.pass("lister"), ListProvidersRequest {})).await.unwrap().into_inner();
        list.providers.into_iter().map(|p| (p.provider_id, p.status)).collect()
    }

    /// One whole verification for the person, on `provider`.
    pub(crate) async fn verify(&self, pass: &str, person: &Person, provider: &str) -> Result<CompleteVerificationResponse, Status> {
        let mut c = self.client();
        let started = c.start_verification(with_pass(pass, person.start(provider))).await?.into_inner();
        let (tx, code) = self.inbox(provider, &person.phone).await;
        if code.is_empty() {
            self.approve(provider, &tx).await;
        }
        let complete = CompleteVerificationRequest { challenge_id: started.challenge_id, code };
        Ok(c.complete_verification(with_pass(pass, complete)).await?.into_inner())
    }

    pub(crate) async fn stop(self) {
        self.shutdown.trigger();
        cleanup(&self.prefix).await;
    }
}

pub(crate) async fn inbox(http: &reqwest::Client, url: &str, phone: &str) -> (String, String) {
    let body: Value = http.get(format!("{url}/v1/inbox/{phone}")).send().await.unwrap().json().await.unwrap();
    (body["transaction_id"].as_str().unwrap().to_owned(), body["code"].as_str().unwrap().to_owned())
}

pub(crate) async fn approve(http: &reqwest::Client, url: &str, transaction: &str) {
    http.post(format!("{url}/v1/verifications/{transaction}/approve")).json(&json!({})).send().await.unwrap().error_for_status().unwrap();
}

/// The alternatives a PROVIDER_UNAVAILABLE status names (machine-readable).
pub(crate) fn alternatives(status: &Status) -> Vec<String> {
    let info = status.get_details_error_info().unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!((info.reason.as_str(), info.domain.as_str()), ("PROVIDER_UNAVAILABLE", "identity.yeyak"));
    info.metadata["alternatives"].split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open("redis://127.0.0.1:6379/0").unwrap().get_multiplexed_async_connection().await.unwrap()
}

/// Every key under `prefix` with a printable rendering of its value.
pub(crate) async fn redis_dump(prefix: &str) -> Vec<(String, String)> {
    let mut conn = redis().await;
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}:*"))
            .arg("COUNT")
            .arg(500)
            .query_async(&mut conn)
            .await
            .unwrap();
        keys.extend(batch);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    let mut out = Vec::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE").arg(&key).query_async(&mut conn).await.unwrap();
        let value = match kind.as_str() {
            "string" => redis::cmd("GET").arg(&key).query_async::<Option<String>>(&mut conn).await.unwrap().unwrap_or_default(),
            "set" => redis::cmd("SMEMBERS").arg(&key).query_async::<Vec<String>>(&mut conn).await.unwrap().join(","),
            "none" => continue,
            other => panic!("unexpected Redis type {other} at {key}"),
        };
        out.push((key, value));
    }
    out
}

pub(crate) async fn cleanup(prefix: &str) {
    let keys: Vec<String> = redis_dump(prefix).await.into_iter().map(|(k, _)| k).collect();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut redis().await).await.unwrap();
    }
}
