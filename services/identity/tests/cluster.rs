//! Identity on a Redis Cluster (`YEYAK_REDIS_MODE=cluster`): a verification
//! started and completed, the attempt limits (a person's, a phone's and a
//! pass's counters are on different slots, so each is its own script) and
//! the proxy limit under a race.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use common::{start, with_pass, Person};
use tonic::Code;
use yeyak_proto::identity::v1::*;
use yeyak_testkit::redis_cluster::RedisCluster;

fn wrong(code: &str) -> String {
    code.chars().map(|d| char::from_digit((d.to_digit(10).unwrap() + 1) % 10, 10).unwrap()).collect()
}

#[tokio::test]
async fn verifications_limits_and_the_proxy_limit_hold_on_a_redis_cluster() {
    let cluster = RedisCluster::start().await.unwrap();
    let [mode, url] = cluster.env();
    let extra = [(mode.0.as_str(), mode.1.as_str()), (url.0.as_str(), url.1.as_str()), ("MAX_ATTEMPTS_PER_SUBJECT", "3")];
    let h = start("cluster", &extra).await;
    let mut c = h.client();

    // Start and complete: single use.
    let (me, parent, stranger) = (Person::new(80), Person::new(81), Person::new(82));
    let pass = h.pass("sid-cluster");
    let started = c.start_verification(with_pass(&pass, me.start("carrier-sms"))).await.unwrap().into_inner();
    let (_, code) = h.inbox("carrier-sms", &me.phone).await;
    let complete = CompleteVerificationRequest { challenge_id: started.challenge_id, code };
    let done = c.complete_verification(with_pass(&pass, complete.clone())).await.unwrap().into_inner();
    assert!(!done.identity_assertion.is_empty());
    assert_eq!(c.complete_verification(with_pass(&pass, complete)).await.unwrap_err().code(), Code::NotFound, "single use");

    // Proxy limit (2 people per pass), also when completions race.
    h.verify(&pass, &parent, "kakao-cert").await.unwrap();
    let refused = c.start_verification(with_pass(&pass, stranger.start("carrier-sms"))).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let race = h.pass("sid-cluster-race");
    let mut challenges = Vec::new();
    for p in [Person::new(83), Person::new(84), Person::new(85)] {
        let s = c.start_verification(with_pass(&race, p.start("carrier-sms"))).await.unwrap().into_inner();
        let (_, code) = h.inbox("carrier-sms", &p.phone).await;
        challenges.push(CompleteVerificationRequest { challenge_id: s.challenge_id, code });
    }
    let outcomes = futures_util::future::join_all(challenges.into_iter().map(|r| {
        let (mut c, race) = (h.client(), race.clone());
        async move { c.complete_verification(with_pass(&race, r)).await.map(|_| ()).map_err(|s| s.code()) }
    }))
    .await;
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 2, "{outcomes:?}");

    // Per subject (limit 3): a start, a wrong code, a provider failure given
    // back, a second start; the next wrong code reaches the limit.
    let person = Person::new(86);
    let pass = h.pass("sid-cluster-attempts");
    let first = c.start_verification(with_pass(&pass, person.start("carrier-sms"))).await.unwrap().into_inner();
    let (_, real) = h.inbox("carrier-sms", &person.phone).await;
    let bad = CompleteVerificationRequest { challenge_id: first.challenge_id, code: wrong(&real) };
    let status = c.complete_verification(with_pass(&pass, bad)).await.unwrap_err();
    assert!(status.message().contains("wrong code"), "{status:?}");
    h.faults("fin-cert", serde_json::json!({"error_rate": 1.0})).await;
    let failed = c.start_verification(with_pass(&pass, person.start("fin-cert"))).await.unwrap_err();
    assert_eq!(failed.code(), Code::Unavailable, "{failed:?}");
    let second = c.start_verification(with_pass(&pass, person.start("carrier-sms"))).await.unwrap().into_inner();
    let (_, real) = h.inbox("carrier-sms", &person.phone).await;
    let bad = CompleteVerificationRequest { challenge_id: second.challenge_id, code: wrong(&real) };
    let status = c.complete_verification(with_pass(&pass, bad)).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let refused = c.start_verification(with_pass(&h.pass("sid-cluster-other"), person.start("kakao-cert"))).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "the person, not the pass, is limited");
    assert!(refused.message().contains("this person"), "{}", refused.message());

    assert!(!cluster.keys(&format!("{}:*", h.prefix)).await.is_empty(), "the keys are on the cluster");
    h.stop().await;
}
