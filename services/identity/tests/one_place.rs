//! One person, one place in line (issue #18, §4): a person who verified
//! under one admission session (pass `sid`) of an event is refused under
//! another session of the same event, whichever identity replica is asked,
//! before any code is sent; two sessions completing at once for one person
//! get one success; another event is not affected; the binding lasts as
//! configured. Two identity replicas sharing the real Redis, the mock IdPs.
#![allow(clippy::unwrap_used)]
mod common;

use std::time::Duration;

use common::{identity_env, start_idps, unique, with_pass, Person, CLIENT};
use identity::{config::Config, startup::Application};
use tonic::{transport::Channel, Code, Status};
use tonic_types::StatusExt as _;
use yeyak_platform::{
    config::Env,
    grpc::client,
    tokens::{self, client_binding, AdmissionPass, Issuer, SigningKey},
    Shutdown,
};
use yeyak_proto::identity::v1::{identity_service_client::IdentityServiceClient, *};

fn pass(admission: &SigningKey, queue: &str, sid: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = AdmissionPass {
        queue_id: queue.into(),
        place: 1,
        client_binding: client_binding(CLIENT),
        session_id: sid.into(),
        cnf: None,
        issued_at: now,
        expires_at: now + 600,
    };
    tokens::sign(admission, &claims)
}

async fn replica(env: &[(String, String)], shutdown: &Shutdown) -> IdentityServiceClient<Channel> {
    let app = Application::build(Config::from_env(&Env::from_pairs(env.to_vec())).unwrap()).await.unwrap();
    let channel = client::channel(&app.grpc_addr().to_string(), &client::ClientSettings::default()).unwrap();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    IdentityServiceClient::new(channel)
}

/// Starts on `start`, reads the SMS code, completes on `end`.
async fn verify(
    start: &IdentityServiceClient<Channel>,
    end: &IdentityServiceClient<Channel>,
    url: &str,
    pass: &str,
    who: &Person,
) -> Result<CompleteVerificationResponse, Status> {
    let (mut start, mut end) = (start.clone(), end.clone());
    let started = start.start_verification(with_pass(pass, who.start("carrier-sms"))).await?.into_inner();
    let (_, code) = common::inbox(&reqwest::Client::new(), url, &who.phone).await;
    let complete = CompleteVerificationRequest { challenge_id: started.challenge_id, code };
    Ok(end.complete_verification(with_pass(pass, complete)).await?.into_inner())
}

fn assert_other_place(result: Result<impl std::fmt::Debug, Status>, what: &str) {
    let status = result.expect_err(what);
    assert_eq!(status.code(), Code::FailedPrecondition, "{what}: {status:?}");
    assert_eq!(status.get_details_error_info().unwrap().reason, "SUBJECT_BOUND_TO_ANOTHER_PLACE", "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_verifies_in_one_place_per_event_across_replicas() {
    let shutdown = Shutdown::new();
    let idps = start_idps(&shutdown).await;
    let admission = SigningKey::generate(Issuer::Admission, "a1");
    let identity_key = SigningKey::generate(Issuer::Identity, "i1");
    let prefix = unique("one-place");
    let extra = [("QUEUE_IDS", "q1,q2"), ("PLACE_BINDING_TTL_SECONDS", "3600")];
    let env = identity_env(&idps, &admission, &identity_key, &prefix, &extra);
    let (mut r1, mut r2) = (replica(&env, &shutdown).await, replica(&env, &shutdown).await);
    let url = idps.iter().find(|i| i.id == "carrier-sms").unwrap().url.clone();
    let (me, other) = (Person::new(700), Person::new(701));

    // Verified in place A (replica 1); again in place A (replica 2): fine.
    let first = verify(&r1, &r1, &url, &pass(&admission, "q1", "sid-a"), &me).await.unwrap();
    verify(&r2, &r2, &url, &pass(&admission, "q1", "sid-a"), &me).await.expect("the same place again");
    // Place B of the same event, on the other replica: refused at the start.
    let refused = r2.start_verification(with_pass(&pass(&admission, "q1", "sid-b"), me.start("carrier-sms"))).await;
    assert_other_place(refused, "a second place of the same event");
    // Another event is another lottery: its own place.
    verify(&r2, &r1, &url, &pass(&admission, "q2", "sid-b"), &me).await.expect("another event");

    // Two places started before either completed: exactly one wins.
    let (c, d) = (pass(&admission, "q1", "sid-c"), pass(&admission, "q1", "sid-d"));
    let start_c = r1.start_verification(with_pass(&c, other.start("carrier-sms"))).await.unwrap().into_inner();
    let (_, code_c) = common::inbox(&reqwest::Client::new(), &url, &other.phone).await;
    let start_d = r2.start_verification(with_pass(&d, other.start("carrier-sms"))).await.unwrap().into_inner();
    let (_, code_d) = common::inbox(&reqwest::Client::new(), &url, &other.phone).await;
    let (mut a, mut b) = (r1.clone(), r2.clone());
    let (done_c, done_d) = tokio::join!(
        a.complete_verification(with_pass(&c, CompleteVerificationRequest { challenge_id: start_c.challenge_id, code: code_c })),
        b.complete_verification(with_pass(&d, CompleteVerificationRequest { challenge_id: start_d.challenge_id, code: code_d })),
    );
    assert!(done_c.is_ok() != done_d.is_ok(), "one of two places wins: {done_c:?} / {done_d:?}");
    assert_other_place(if done_c.is_ok() { done_d } else { done_c }, "the loser of the race");

    // The binding is in the shared Redis for the configured time.
    let key = format!("{prefix}:identity:place:q1:{}", first.subject_id);
    let mut conn = redis::Client::open("redis://127.0.0.1:6379/0").unwrap().get_multiplexed_async_connection().await.unwrap();
    let (sid, ttl): (String, i64) = redis::pipe().get(&key).pttl(&key).query_async(&mut conn).await.unwrap();
    assert_eq!(sid, "sid-a");
    assert!(ttl > 3_500_000 && ttl <= 3_600_000, "bound for the event: {ttl} ms");
    shutdown.trigger();
    tokio::time::sleep(Duration::from_millis(100)).await;
    common::cleanup(&prefix).await;
}
