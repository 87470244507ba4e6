//! Routing by health against real mock providers whose faults change at run
//! time: errors, timeouts, slowness and exhausted capacity turn a provider
//! YELLOW or RED and move traffic to the others; a RED provider recovers
//! through half-open probes; bulkheads keep a slow provider from using up the
//! capacity meant for the others.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::{Duration, Instant};

use common::{alternatives, start, with_pass, Harness, Person};
use serde_json::json;
use tonic::Code;
use tonic_types::StatusExt as _;
use yeyak_proto::identity::v1::*;

/// Short windows and openings so that a test sees a whole cycle in a second or two.
const FAST: &[(&str, &str)] = &[
    ("PROVIDER_TIMEOUT_MS", "300"),
    ("HEALTH_WINDOW_SECONDS", "5"),
    ("HEALTH_YELLOW_P99_MS", "150"),
    ("HEALTH_RED_P50_MS", "250"),
    ("BREAKER_OPEN_MS", "300"),
    ("BREAKER_MAX_OPEN_MS", "600"),
    ("BREAKER_PROBE_INTERVAL_MS", "50"),
    ("BREAKER_PROBES_TO_CLOSE", "2"),
    ("PROVIDER_RETRIES", "0"),
];

fn settings(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    FAST.iter().chain(extra).copied().collect()
}

/// What a front end does: list, take the first offered provider, and on a
/// retryable refusal start again with the first alternative it names.
/// Returns the provider that verified the person.
async fn front_end(h: &Harness, n: u32) -> String {
    let mut c = h.client();
    let pass = h.pass(&format!("sid-fe-{n}"));
    let person = Person::new(n);
    let list = c.list_providers(with_pass(&pass, ListProvidersRequest {})).await.unwrap().into_inner().providers;
    let mut provider = list[0].provider_id.clone();
    for _ in 0..3 {
        match h.verify(&pass, &person, &provider).await {
            Ok(_) => return provider,
            Err(status) if status.code() == Code::Unavailable => provider = alternatives(&status)[0].clone(),
            Err(status) => panic!("{status:?}"),
        }
    }
    panic!("person {n} was not verified in three tries")
}

/// `count` concurrent starts on `provider`; the errors they met.
async fn fail_starts(h: &Harness, provider: &str, n: u32, count: u32) -> Vec<tonic::Status> {
    let calls = (0..count).map(|i| {
        let mut c = h.client();
        let pass = h.pass(&format!("sid-fail-{n}-{i}"));
        async move { c.start_verification(with_pass(&pass, Person::new(n + i).start(provider))).await.err() }
    });
    futures_util::future::join_all(calls).await.into_iter().flatten().collect()
}

fn status_of(offered: &[(String, i32)], id: &str) -> Option<i32> {
    offered.iter().find(|(p, _)| p == id).map(|(_, s)| *s)
}

#[tokio::test]
async fn errors_turn_a_provider_red_and_users_are_routed_to_the_others() {
    let h = start("route-errors", &settings(&[])).await;
    h.faults("carrier-sms", json!({"error_rate": 1.0})).await;
    let mut used = Vec::new();
    for n in 0..12 {
        used.push(front_end(&h, 100 + n).await);
    }
    let offered = h.offered().await;
    assert_eq!(status_of(&offered, "carrier-sms"), None, "taken off the list: {offered:?}");
    assert_eq!(offered[0].0, "kakao-cert");
    assert!(used.iter().all(|p| p != "carrier-sms"), "{used:?}");
    assert!(used[5..].iter().all(|p| p == "kakao-cert"), "everyone after the trip goes to the next healthiest: {used:?}");

    // A stale front end still asking for it is refused at once, with the alternatives named.
    let began = Instant::now();
    let status = h.client().start_verification(with_pass(&h.pass("sid-stale"), Person::new(150).start("carrier-sms"))).await.unwrap_err();
    assert!(began.elapsed() < Duration::from_millis(250), "no provider call: {:?}", began.elapsed());
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(alternatives(&status), ["kakao-cert", "naver-cert", "fin-cert"]);
    assert!(status.message().contains("kakao-cert, naver-cert, fin-cert"), "{}", status.message());
    assert_eq!(status.get_details_error_info().unwrap().metadata["cause"], "circuit_open");
    assert!(status.get_details_retry_info().unwrap().retry_delay.is_some());
    let text = h.metrics.encode();
    assert!(text.contains(r#"yeyak_identity_provider_status{service="identity",provider="carrier-sms"} 2"#), "{text}");
    h.stop().await;
}

#[tokio::test]
async fn timeouts_turn_a_provider_red_within_its_deadline() {
    let h = start("route-timeouts", &settings(&[])).await;
    h.faults("naver-cert", json!({"timeout_rate": 1.0, "hang_ms": 3000})).await;
    let began = Instant::now();
    let failures = fail_starts(&h, "naver-cert", 200, 6).await;
    assert!(
        began.elapsed() < Duration::from_millis(1500),
        "each call ends at its 300 ms deadline, not the 3 s hang: {:?}",
        began.elapsed()
    );
    assert_eq!(failures.len(), 6);
    assert!(failures.iter().all(|s| s.code() == Code::Unavailable), "{failures:?}");
    let offered = h.offered().await;
    assert_eq!(status_of(&offered, "naver-cert"), None, "{offered:?}");
    assert_eq!(offered.len(), 3);
    h.stop().await;
}

#[tokio::test]
async fn slowness_turns_a_provider_yellow_then_red_and_moves_it_down() {
    // Wide margins between the thresholds so a loaded machine does not blur them.
    let h = start("route-slow", &settings(&[("PROVIDER_TIMEOUT_MS", "1500"), ("HEALTH_RED_P50_MS", "600")])).await;
    // p99 above 150 ms, p50 well below 600 ms: YELLOW, listed after the GREEN ones.
    h.faults("carrier-sms", json!({"latency_p50_ms": 200, "latency_p99_ms": 250})).await;
    let calls = (0..10).map(|i| {
        let mut c = h.client();
        let pass = h.pass(&format!("sid-slow-{i}"));
        async move { c.start_verification(with_pass(&pass, Person::new(300 + i).start("carrier-sms"))).await.map(|_| ()) }
    });
    assert!(futures_util::future::join_all(calls).await.iter().all(Result::is_ok), "slow, but answering");
    let offered = h.offered().await;
    let ids: Vec<_> = offered.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["kakao-cert", "naver-cert", "fin-cert", "carrier-sms"], "healthiest first");
    assert_eq!(offered[3].1, ProviderStatus::Yellow as i32);
    assert_eq!(front_end(&h, 320).await, "kakao-cert", "the front end picks the first offered");

    // A typical answer slower than 600 ms (but within the deadline): RED, taken off the list.
    h.faults("carrier-sms", json!({"latency_p50_ms": 700, "latency_p99_ms": 750})).await;
    let calls = (0..25).map(|i| {
        let mut c = h.client();
        let pass = h.pass(&format!("sid-slower-{i}"));
        async move { c.start_verification(with_pass(&pass, Person::new(330 + i).start("carrier-sms"))).await.map(|_| ()) }
    });
    futures_util::future::join_all(calls).await;
    assert_eq!(status_of(&h.offered().await, "carrier-sms"), None);
    h.stop().await;
}

#[tokio::test]
async fn exhausted_capacity_turns_a_provider_red_and_recovery_goes_half_open_then_green() {
    let h = start("route-capacity", &settings(&[])).await;
    h.faults("fin-cert", json!({"capacity": 1, "latency_ms": 100})).await;
    let failures = fail_starts(&h, "fin-cert", 400, 12).await;
    assert!(failures.iter().filter(|s| s.code() == Code::Unavailable).count() >= 5, "{failures:?}");
    assert_eq!(status_of(&h.offered().await, "fin-cert"), None);

    // The provider is fixed: probes (not users) find out, then it is offered again.
    h.faults("fin-cert", json!({"capacity": 0, "latency_ms": 0})).await;
    let slot = h.board.find("fin-cert").unwrap();
    let mut seen = vec![h.board.snapshot(slot).breaker.name()];
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && seen.last() != Some(&"closed") {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let name = h.board.snapshot(slot).breaker.name();
        if seen.last() != Some(&name) {
            seen.push(name);
        }
    }
    assert_eq!(seen, ["open", "half_open", "closed"], "{seen:?}");
    let offered = h.offered().await;
    assert_eq!(status_of(&offered, "fin-cert"), Some(ProviderStatus::Green as i32), "{offered:?}");
    assert_eq!(offered.len(), 4);
    h.verify(&h.pass("sid-cap-ok"), &Person::new(450), "fin-cert").await.unwrap();
    let text = h.metrics.encode();
    for to in ["open", "half_open", "closed"] {
        let line = format!(r#"yeyak_identity_provider_breaker_transitions_total{{service="identity",provider="fin-cert",outcome="{to}"}}"#);
        assert!(text.contains(&line), "{line} in {text}");
    }
    h.stop().await;
}

#[tokio::test]
async fn a_provider_that_queues_beyond_its_capacity_turns_yellow() {
    let h = start("route-queue", &settings(&[("PROVIDER_TIMEOUT_MS", "2000")])).await;
    h.faults("kakao-cert", json!({"capacity": 2, "over_capacity": "slow", "latency_ms": 60})).await;
    let calls = (0..10).map(|i| {
        let mut c = h.client();
        let pass = h.pass(&format!("sid-queue-{i}"));
        async move { c.start_verification(with_pass(&pass, Person::new(500 + i).start("kakao-cert"))).await.map(|_| ()) }
    });
    let outcomes = futures_util::future::join_all(calls).await;
    assert!(outcomes.iter().all(Result::is_ok), "queued, not refused: {outcomes:?}");
    let snapshot = h.board.snapshot(h.board.find("kakao-cert").unwrap());
    assert!(snapshot.stats.p99 >= Duration::from_millis(150), "{snapshot:?}");
    assert_ne!(status_of(&h.offered().await, "kakao-cert"), Some(ProviderStatus::Green as i32));
    h.stop().await;
}

#[tokio::test]
async fn a_slow_provider_cannot_use_up_the_capacity_of_the_others() {
    let h = start("route-bulkhead", &settings(&[("PROVIDER_LIMITS", "carrier-sms=2"), ("PROVIDER_TIMEOUT_MS", "3000")])).await;
    h.faults("carrier-sms", json!({"latency_ms": 1500})).await;
    let slow = (0..6).map(|i| {
        let mut c = h.client();
        let pass = h.pass(&format!("sid-bulk-{i}"));
        async move {
            let began = Instant::now();
            let r = c.start_verification(with_pass(&pass, Person::new(600 + i).start("carrier-sms"))).await;
            (r.map(|_| ()), began.elapsed())
        }
    });
    let fast = (0..4).map(|i| {
        let mut c = h.client();
        let pass = h.pass(&format!("sid-other-{i}"));
        async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let began = Instant::now();
            let r = c.start_verification(with_pass(&pass, Person::new(650 + i).start("naver-cert"))).await;
            (r.map(|_| ()), began.elapsed())
        }
    });
    let (slow, fast) = tokio::join!(futures_util::future::join_all(slow), futures_util::future::join_all(fast));
    assert!(fast.iter().all(|(r, t)| r.is_ok() && *t < Duration::from_millis(700)), "others unaffected: {fast:?}");
    assert_eq!(slow.iter().filter(|(r, _)| r.is_ok()).count(), 2, "{slow:?}");
    for (r, took) in slow.iter().filter(|(r, _)| r.is_err()) {
        let status = r.as_ref().unwrap_err();
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(status.get_details_error_info().unwrap().metadata["cause"], "saturated");
        assert!(alternatives(status).contains(&"naver-cert".to_owned()));
        assert!(*took < Duration::from_millis(700), "refused at once, not after the 1.5 s answer: {took:?}");
    }
    h.stop().await;
}

#[tokio::test]
async fn verifications_in_flight_on_a_red_provider_fail_retryably_naming_the_alternatives() {
    let h = start("route-inflight", &settings(&[])).await;
    let mut c = h.client();
    let pass = h.pass("sid-inflight");
    let person = Person::new(700);
    let started = c.start_verification(with_pass(&pass, person.start("carrier-sms"))).await.unwrap().into_inner();
    let (_, code) = h.inbox("carrier-sms", &person.phone).await;

    h.faults("carrier-sms", json!({"error_rate": 1.0})).await;
    fail_starts(&h, "carrier-sms", 710, 6).await;
    let complete = CompleteVerificationRequest { challenge_id: started.challenge_id, code };
    let status = c.complete_verification(with_pass(&pass, complete.clone())).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    assert_eq!(alternatives(&status), ["kakao-cert", "naver-cert", "fin-cert"]);
    assert!(status.metadata().get("retry-after").is_some());

    // Once it recovers, the same challenge can still be completed.
    h.faults("carrier-sms", json!({"error_rate": 0.0})).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let done = loop {
        match c.complete_verification(with_pass(&pass, complete.clone())).await {
            Ok(done) => break done.into_inner(),
            Err(s) if s.code() == Code::Unavailable && Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(s) => panic!("{s:?}"),
        }
    };
    assert!(!done.identity_assertion.is_empty());
    h.stop().await;
}
