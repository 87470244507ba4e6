//! CheckEligibility against the real mock registry (its own PostgreSQL
//! database, seeded), with the clock pinned to chosen Seoul instants.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

use std::sync::Arc;

use chrono::TimeZone as _;
use eligibility::{config::Config, startup::Application};
use tonic::{transport::Channel, Code, Request};
use yeyak_platform::{
    config::Env,
    db::{drop_database, DatabaseSettings},
    grpc::{client, status::field_violations, CLIENT_ID_HEADER, PASS_HEADER},
    pseudonym::subject_id,
    tokens::{self, client_binding, AdmissionPass, IdentityAssertion, Issuer, SigningKey},
    Secret, Shutdown,
};
use yeyak_proto::eligibility::v1::{eligibility_service_client::EligibilityServiceClient, *};

const CLIENT: &str = "client-eligibility-01";
const SEED: u64 = 11;
const HASH_KEY: &str = "eligibility-test-key";

struct Harness {
    channel: Channel,
    identity: SigningKey,
    pass: String,
    shutdown: Shutdown,
    db: DatabaseSettings,
    registry_url: String,
}

fn seoul(y: i32, m: u32, d: u32, h: u32) -> chrono::DateTime<chrono::Utc> {
    chrono_tz::Asia::Seoul.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap().with_timezone(&chrono::Utc)
}

async fn start(now: chrono::DateTime<chrono::Utc>, registry_up: bool) -> Harness {
    let shutdown = Shutdown::new();
    let db = DatabaseSettings::with_url(format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{}", uuid::Uuid::new_v4().simple()));
    let mut registry_config = mock_registry::Config::ephemeral(db.clone());
    registry_config.subject_hash_key = Some(Secret::new(HASH_KEY.into()));
    registry_config.seed_count = Some(300);
    registry_config.seed = SEED;
    let registry = mock_registry::Application::build(registry_config).await.unwrap();
    let registry_url = if registry_up { format!("http://{}", registry.address()) } else { "http://127.0.0.1:9".into() };
    tokio::spawn(registry.run_until_stopped(shutdown.clone()));
    let admission = SigningKey::generate(Issuer::Admission, "a1");
    let identity = SigningKey::generate(Issuer::Identity, "i1");
    let env = Env::from_pairs([
        ("GRPC_ADDR".to_string(), "127.0.0.1:0".to_string()),
        ("METRICS_ADDR".into(), "off".into()),
        ("TRUSTED_KEYS".into(), format!("{},{}", admission.trusted_entry(), identity.trusted_entry())),
        ("QUEUE_IDS".into(), "q1".into()),
        ("REGISTRY_URL".into(), registry_url.clone()),
        ("RULES_FILE".into(), concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rules-2021.toml").into()),
    ]);
    let app = Application::build_with_clock(Config::from_env(&env).unwrap(), Arc::new(move || now)).await.unwrap();
    let channel = client::channel(&app.grpc_addr().to_string(), &client::ClientSettings::default()).unwrap();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let t = chrono::Utc::now().timestamp();
    let pass = tokens::sign(
        &admission,
        &AdmissionPass { q: "q1".into(), pos: 1, cb: client_binding(CLIENT), sid: "sid-1".into(), iat: t, exp: t + 600 },
    );
    Harness { channel, identity, pass, shutdown, db, registry_url }
}

impl Harness {
    fn assertion_for(&self, p: &mock_registry::SyntheticPerson, sid: &str) -> String {
        let t = chrono::Utc::now().timestamp();
        let claims = IdentityAssertion {
            sub: subject_id(&Secret::new(HASH_KEY.into()), &p.rrn),
            birth: p.birth_date.format("%Y-%m-%d").to_string(),
            name: "김*수".into(),
            prov: "carrier-sms".into(),
            aal: 1,
            sid: sid.into(),
            iat: t,
            exp: t + 600,
        };
        tokens::sign(&self.identity, &claims)
    }

    async fn check(&self, assertion: String, dose: u32) -> Result<CheckEligibilityResponse, tonic::Status> {
        let mut r =
            Request::new(CheckEligibilityRequest { identity_assertion: assertion, agent_assertion: String::new(), dose_number: dose });
        r.metadata_mut().insert(PASS_HEADER, self.pass.parse().unwrap());
        r.metadata_mut().insert(CLIENT_ID_HEADER, CLIENT.parse().unwrap());
        EligibilityServiceClient::new(self.channel.clone()).check_eligibility(r).await.map(|r| r.into_inner())
    }

    async fn stop(self) {
        self.shutdown.trigger();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        drop_database(&self.db).await.unwrap();
    }
}

/// The first registered person matching `pred`.
fn find(pred: impl Fn(&mock_registry::SyntheticPerson) -> bool) -> mock_registry::SyntheticPerson {
    (0..300).map(|i| mock_registry::person(SEED, i)).find(|p| pred(p)).expect("such a person in the sample")
}

fn in_55_59(p: &mock_registry::SyntheticPerson) -> bool {
    (1962..=1966).contains(&chrono::Datelike::year(&p.birth_date))
}

#[tokio::test]
async fn decisions_follow_the_registry_and_the_seoul_clock() {
    let h = start(seoul(2021, 7, 13, 10), true).await;
    let eligible = find(|p| in_55_59(p) && p.insured && p.doses.is_empty());
    let ok = h.check(h.assertion_for(&eligible, "sid-1"), 1).await.unwrap();
    assert!(ok.eligible, "{}", ok.detail);
    assert_eq!((ok.cohort_id.as_str(), ok.window.unwrap().window_id.as_str()), ("age-55-59", "round-55-59"));

    let young = find(|p| chrono::Datelike::year(&p.birth_date) > 1975 && p.insured);
    assert_eq!(h.check(h.assertion_for(&young, "sid-1"), 1).await.unwrap().reason, EligibilityReason::NotInCohort as i32);

    // Not in the registry: a valid number nobody was given.
    let stranger = mock_registry::SyntheticPerson {
        rrn: yeyak_platform::pseudonym::Rrn::synthesize(eligible.birth_date, true, 99_999),
        ..eligible.clone()
    };
    assert_eq!(h.check(h.assertion_for(&stranger, "sid-1"), 1).await.unwrap().reason, EligibilityReason::UnknownPerson as i32);

    let foreign = h.check(h.assertion_for(&eligible, "another-session"), 1).await.unwrap_err();
    assert_eq!(foreign.code(), Code::PermissionDenied);
    assert_eq!(field_violations(&h.check(h.assertion_for(&eligible, "sid-1"), 0).await.unwrap_err()), vec!["dose_number"]);
    let _ = &h.registry_url;
    h.stop().await;
}

#[tokio::test]
async fn before_the_opening_the_answer_says_when_it_opens() {
    let h = start(seoul(2021, 7, 12, 19), true).await;
    let eligible = find(|p| in_55_59(p) && p.insured && p.doses.is_empty());
    let early = h.check(h.assertion_for(&eligible, "sid-1"), 1).await.unwrap();
    assert_eq!(early.reason, EligibilityReason::WindowNotOpen as i32);
    assert_eq!(early.window.unwrap().opens_at.unwrap().seconds, seoul(2021, 7, 12, 20).timestamp());
    h.stop().await;
}

#[tokio::test]
async fn registry_down_is_unavailable_not_a_hang() {
    let h = start(seoul(2021, 7, 13, 10), false).await;
    let eligible = find(|p| in_55_59(p) && p.insured && p.doses.is_empty());
    let started = std::time::Instant::now();
    assert_eq!(h.check(h.assertion_for(&eligible, "sid-1"), 1).await.unwrap_err().code(), Code::Unavailable);
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    h.stop().await;
}
