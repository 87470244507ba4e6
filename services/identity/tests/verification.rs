//! Identity against real mock providers (HTTP processes on port 0) and a
//! real Redis: the SMS-code and app-approval flows, challenge rules, and
//! routing around a failing provider.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

use std::time::Duration;

use identity::{config::Config, startup::Application};
use tonic::{transport::Channel, Code, Request};
use yeyak_platform::{
    config::Env,
    grpc::{client, status::field_violations, CLIENT_ID_HEADER, PASS_HEADER},
    pseudonym::Rrn,
    tokens::{self, client_binding, AdmissionPass, IdentityAssertion, Issuer, KeyRing, SigningKey},
    Shutdown,
};
use yeyak_proto::identity::v1::{identity_service_client::IdentityServiceClient, *};

const CLIENT: &str = "client-identity-test-01";

struct Harness {
    channel: Channel,
    sms_url: String,
    app_url: String,
    pass: String,
    ring: KeyRing,
    shutdown: Shutdown,
}

async fn start() -> Harness {
    let shutdown = Shutdown::new();
    let mut urls = Vec::new();
    for kind in [mock_idp::config::ProviderKind::SmsCode, mock_idp::config::ProviderKind::AppApproval] {
        let idp = mock_idp::Application::build(mock_idp::Config::ephemeral(kind)).await.unwrap();
        urls.push(format!("http://{}", idp.address()));
        tokio::spawn(idp.run_until_stopped(shutdown.clone()));
    }
    let admission = SigningKey::generate(Issuer::Admission, "a1");
    let identity_key = SigningKey::generate(Issuer::Identity, "i1");
    let env = Env::from_pairs([
        ("GRPC_ADDR".to_string(), "127.0.0.1:0".to_string()),
        ("METRICS_ADDR".into(), "off".into()),
        ("SIGNING_KEY".into(), identity_key.secret_spec()),
        ("TRUSTED_KEYS".into(), admission.trusted_entry()),
        ("QUEUE_IDS".into(), "q1".into()),
        ("SUBJECT_HASH_KEY".into(), "hash-key".into()),
        ("PROVIDERS".into(), format!("carrier-sms={},kakao-cert={}", urls[0], urls[1])),
        ("REDIS_KEY_PREFIX".into(), format!("test:{}", uuid_like())),
        ("PROVIDER_TIMEOUT_MS".into(), "1000".into()),
    ]);
    let app = Application::build(Config::from_env(&env).unwrap()).await.unwrap();
    let channel = client::channel(&app.grpc_addr().to_string(), &client::ClientSettings::default()).unwrap();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let now = chrono::Utc::now().timestamp();
    let pass = tokens::sign(
        &admission,
        &AdmissionPass { q: "q1".into(), pos: 1, cb: client_binding(CLIENT), sid: "sid-1".into(), iat: now, exp: now + 600 },
    );
    let mut ring = KeyRing::default();
    ring.trust(&identity_key);
    Harness { channel, sms_url: urls[0].clone(), app_url: urls[1].clone(), pass, ring, shutdown }
}

fn uuid_like() -> String {
    format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos())
}

fn req<T>(h: &Harness, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert(PASS_HEADER, h.pass.parse().unwrap());
    r.metadata_mut().insert(CLIENT_ID_HEADER, CLIENT.parse().unwrap());
    r
}

fn person() -> (Rrn, StartVerificationRequest) {
    let rrn = Rrn::synthesize(chrono::NaiveDate::from_ymd_opt(1965, 4, 9).unwrap(), true, 321);
    let start = StartVerificationRequest {
        provider_id: "carrier-sms".into(),
        name: "김영희".into(),
        resident_registration_number: rrn.expose().into(),
        phone_number: "010-5555-0101".into(),
    };
    (rrn, start)
}

async fn inbox_code(url: &str) -> String {
    let body: serde_json::Value = reqwest::get(format!("{url}/v1/inbox/01055550101")).await.unwrap().json().await.unwrap();
    body["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn sms_code_flow_issues_a_pseudonymous_assertion_bound_to_the_pass_and_is_single_use() {
    let h = start().await;
    let mut c = IdentityServiceClient::new(h.channel.clone());
    let (rrn, start) = person();
    let started = c.start_verification(req(&h, start)).await.unwrap().into_inner();
    let code = inbox_code(&h.sms_url).await;
    let complete = CompleteVerificationRequest { challenge_id: started.challenge_id.clone(), code };
    let done = c.complete_verification(req(&h, complete.clone())).await.unwrap().into_inner();
    let a: IdentityAssertion = tokens::verify(&h.ring, &done.identity_assertion, chrono::Utc::now().timestamp()).unwrap();
    assert_eq!((a.birth.as_str(), a.name.as_str(), a.sid.as_str(), a.aal), ("1965-04-09", "김*희", "sid-1", 1));
    assert_eq!(a.sub, yeyak_platform::pseudonym::subject_id(&yeyak_platform::Secret::new("hash-key".into()), &rrn));
    assert!(!done.identity_assertion.contains(rrn.expose()));
    assert_eq!(c.complete_verification(req(&h, complete)).await.unwrap_err().code(), Code::NotFound);
    h.shutdown.trigger();
}

#[tokio::test]
async fn wrong_codes_are_limited_and_bad_input_names_the_field() {
    let h = start().await;
    let mut c = IdentityServiceClient::new(h.channel.clone());
    let (_, start) = person();
    let started = c.start_verification(req(&h, start.clone())).await.unwrap().into_inner();
    let real = inbox_code(&h.sms_url).await;
    let wrong_code: String = real.chars().map(|d| char::from_digit((d.to_digit(10).unwrap() + 1) % 10, 10).unwrap()).collect();
    let wrong = CompleteVerificationRequest { challenge_id: started.challenge_id, code: wrong_code };
    for _ in 0..4 {
        assert_eq!(field_violations(&c.complete_verification(req(&h, wrong.clone())).await.unwrap_err()), vec!["code"]);
    }
    assert_eq!(c.complete_verification(req(&h, wrong)).await.unwrap_err().code(), Code::ResourceExhausted);
    let mut bad = start.clone();
    let mut digits = bad.resident_registration_number.clone();
    let last = digits.pop().unwrap().to_digit(10).unwrap();
    digits.push(char::from_digit((last + 1) % 10, 10).unwrap());
    bad.resident_registration_number = digits;
    let status = c.start_verification(req(&h, bad)).await.unwrap_err();
    assert_eq!(field_violations(&status), vec!["resident_registration_number"]);
    assert!(!status.message().contains(&start.resident_registration_number[..6]), "the number is not echoed");
    let bad_phone = StartVerificationRequest { phone_number: "02-123-4567".into(), ..start.clone() };
    assert_eq!(field_violations(&c.start_verification(req(&h, bad_phone)).await.unwrap_err()), vec!["phone_number"]);
    let bad_name = StartVerificationRequest { name: "<script>".into(), ..start };
    assert_eq!(field_violations(&c.start_verification(req(&h, bad_name)).await.unwrap_err()), vec!["name"]);
    h.shutdown.trigger();
}

#[tokio::test]
async fn app_approval_waits_for_the_person_then_completes() {
    let h = start().await;
    let mut c = IdentityServiceClient::new(h.channel.clone());
    let (_, start) = person();
    let started =
        c.start_verification(req(&h, StartVerificationRequest { provider_id: "kakao-cert".into(), ..start })).await.unwrap().into_inner();
    let complete = CompleteVerificationRequest { challenge_id: started.challenge_id, code: String::new() };
    assert_eq!(c.complete_verification(req(&h, complete.clone())).await.unwrap_err().code(), Code::FailedPrecondition);
    let inbox: serde_json::Value = reqwest::get(format!("{}/v1/inbox/01055550101", h.app_url)).await.unwrap().json().await.unwrap();
    let tx = inbox["transaction_id"].as_str().unwrap();
    assert!(reqwest::Client::new()
        .post(format!("{}/v1/verifications/{tx}/approve", h.app_url))
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
    let done = c.complete_verification(req(&h, complete)).await.unwrap().into_inner();
    assert_eq!(tokens::verify::<IdentityAssertion>(&h.ring, &done.identity_assertion, chrono::Utc::now().timestamp()).unwrap().aal, 2);
    h.shutdown.trigger();
}

#[tokio::test]
async fn a_failing_provider_turns_red_and_is_ranked_last_with_alternatives_named() {
    let h = start().await;
    let mut c = IdentityServiceClient::new(h.channel.clone());
    let faults = serde_json::json!({ "error_rate": 1.0 });
    reqwest::Client::new().put(format!("{}/admin/faults", h.sms_url)).json(&faults).send().await.unwrap().error_for_status().unwrap();
    let (_, start) = person();
    let mut last = None;
    for _ in 0..10 {
        last = Some(c.start_verification(req(&h, start.clone())).await.unwrap_err());
    }
    let status = last.unwrap();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(status.message().contains("kakao-cert"), "{}", status.message());
    let providers = c.list_providers(req(&h, ListProvidersRequest {})).await.unwrap().into_inner().providers;
    assert_eq!(providers[0].provider_id, "kakao-cert");
    assert_eq!(providers[1].status, ProviderStatus::Red as i32);
    tokio::time::sleep(Duration::from_millis(10)).await;
    h.shutdown.trigger();
}

#[tokio::test]
async fn calls_without_a_valid_pass_are_refused() {
    let h = start().await;
    let mut c = IdentityServiceClient::new(h.channel.clone());
    assert_eq!(c.list_providers(Request::new(ListProvidersRequest {})).await.unwrap_err().code(), Code::Unauthenticated);
    let mut other_client = req(&h, ListProvidersRequest {});
    other_client.metadata_mut().insert(CLIENT_ID_HEADER, "someone-else-entirely".parse().unwrap());
    assert_eq!(c.list_providers(other_client).await.unwrap_err().code(), Code::PermissionDenied);
    h.shutdown.trigger();
}
