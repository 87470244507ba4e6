//! The raw resident registration number never leaves identity: this test
//! captures every log line and span (fields included, at TRACE level, from
//! every crate in the process: identity, the platform, tonic, hyper, reqwest
//! and the mock providers) while it runs verifications that succeed and fail
//! in every way, then asserts that no number — with or without the hyphen,
//! nor its back seven digits — appears in the logs, the spans (what traces
//! export), the responses and error statuses, the metrics, or any Redis key
//! or value under the test's prefix. Names and phone numbers are checked too.
//!
//! One test in its own binary: the capturing subscriber is process-global.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::Duration;

use common::{start, with_pass, Person};
use serde_json::json;
use tonic::Code;
use tracing_subscriber::fmt::format::FmtSpan;
use yeyak_proto::identity::v1::*;
use yeyak_testkit::logs::Capture;

/// Everything a caller saw, errors with their details and metadata.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn ok<T: std::fmt::Debug>(&mut self, r: Result<tonic::Response<T>, tonic::Status>) -> Option<T> {
        self.0.push(format!("{r:?}"));
        match r {
            Ok(r) => Some(r.into_inner()),
            Err(s) => {
                self.0.push(format!("{:?} {}", s.details(), s.message()));
                None
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_raw_number_appears_nowhere_in_logs_spans_responses_metrics_or_redis() {
    let capture = Capture::default();
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_span_events(FmtSpan::FULL)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .try_init()
        .unwrap();

    let h = start(
        "pii",
        &[("PROVIDER_TIMEOUT_MS", "300"), ("APPROVAL_WAIT_MS", "200"), ("APPROVAL_POLL_MS", "50"), ("MAX_ATTEMPTS_PER_SUBJECT", "3")],
    )
    .await;
    let mut c = h.client();
    let mut seen = Seen::default();
    let people: Vec<Person> = (0..8).map(|n| Person::new(800 + n)).collect();
    let pass = h.pass("sid-pii");

    // 0: verified by SMS code, after one wrong code.
    let p = &people[0];
    let s = seen.ok(c.start_verification(with_pass(&pass, p.start("carrier-sms"))).await).unwrap();
    let (_, code) = h.inbox("carrier-sms", &p.phone).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let bad = CompleteVerificationRequest { challenge_id: s.challenge_id.clone(), code: wrong.into() };
    assert!(seen.ok(c.complete_verification(with_pass(&pass, bad)).await).is_none());
    let good = CompleteVerificationRequest { challenge_id: s.challenge_id, code };
    seen.ok(c.complete_verification(with_pass(&pass, good)).await).unwrap();

    // 1: a wrong check digit (that number must not leak either).
    let p = &people[1];
    let digits = p.rrn.expose();
    let wrong_check = format!("{}{}", &digits[..12], (digits[12..].parse::<u32>().unwrap() + 1) % 10);
    let bad = StartVerificationRequest { resident_registration_number: wrong_check.clone(), ..p.start("carrier-sms") };
    assert!(seen.ok(c.start_verification(with_pass(&pass, bad)).await).is_none());

    // 2: app approval, pending first, then approved, by the second person of this pass.
    let p = &people[2];
    let s = seen.ok(c.start_verification(with_pass(&pass, p.start("kakao-cert"))).await).unwrap();
    let complete = CompleteVerificationRequest { challenge_id: s.challenge_id, code: String::new() };
    assert!(seen.ok(c.complete_verification(with_pass(&pass, complete.clone())).await).is_none());
    let (tx, _) = h.inbox("kakao-cert", &p.phone).await;
    h.approve("kakao-cert", &tx).await;
    seen.ok(c.complete_verification(with_pass(&pass, complete)).await).unwrap();

    // 3: a third person on the same pass: the proxy limit.
    let refused = c.start_verification(with_pass(&pass, people[3].start("carrier-sms"))).await;
    assert_eq!(refused.as_ref().map(|_| ()).unwrap_err().code(), Code::PermissionDenied);
    seen.ok(refused);

    // 4: a provider answering 503; 5: a provider hanging past the deadline.
    h.faults("naver-cert", json!({"error_rate": 1.0})).await;
    h.faults("fin-cert", json!({"timeout_rate": 1.0, "hang_ms": 1000})).await;
    for (p, provider) in [(&people[4], "naver-cert"), (&people[5], "fin-cert")] {
        let r = c.start_verification(with_pass(&h.pass("sid-pii-2"), p.start(provider))).await;
        assert_eq!(r.as_ref().map(|_| ()).unwrap_err().code(), Code::Unavailable);
        seen.ok(r);
    }

    // 6: the attempt limit of one person.
    let p = &people[6];
    for n in 0..4 {
        let r = c.start_verification(with_pass(&h.pass(&format!("sid-pii-6-{n}")), p.start("carrier-sms"))).await;
        assert_eq!(r.is_ok(), n < 3);
        seen.ok(r);
    }

    // 7: started, not completed: its sealed challenge id is among the responses scanned below.
    seen.ok(c.start_verification(with_pass(&h.pass("sid-pii-7"), people[7].start("carrier-sms"))).await).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let logs = capture.text();
    let metrics = h.metrics.encode();
    let redis = common::redis_dump(&h.prefix).await;
    let responses = seen.0.join("\n");
    // The capture is real: it holds our events, spans and the failures.
    for expected in ["identity verified", "provider call failed", "provider.start", "provider.confirm", "\"level\":\"TRACE\""] {
        assert!(logs.contains(expected), "{expected} not captured");
    }
    assert!(responses.contains("김*희") && responses.contains("PROVIDER_UNAVAILABLE"));
    let kinds = ["challenge:", "attempts:subject:", "attempts:phone:", "attempts:pass:", "proxy:"];
    for kind in kinds {
        assert!(redis.iter().any(|(k, _)| k.contains(kind)), "no {kind} key in {redis:?}");
    }
    let redis_text: String = redis.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();

    let mut secrets: Vec<(String, &str)> = Vec::new();
    for p in &people {
        for form in p.rrn_forms() {
            secrets.push((form, "resident registration number"));
        }
        secrets.push((p.phone.clone(), "phone number"));
        secrets.push((format!("{}-{}-{}", &p.phone[..3], &p.phone[3..7], &p.phone[7..]), "phone number"));
    }
    secrets.push((wrong_check.clone(), "mistyped number"));
    secrets.push((format!("{}-{}", &wrong_check[..6], &wrong_check[6..]), "mistyped number"));
    secrets.push(("김영희".into(), "full name"));
    for (secret, what) in &secrets {
        for (place, text) in [("responses", &responses), ("metrics", &metrics), ("Redis", &redis_text)] {
            assert!(!text.contains(secret.as_str()), "{what} {secret} found in {place}");
        }
        let leaks: Vec<&str> = logs.lines().filter(|line| line.contains(secret.as_str())).collect();
        assert!(leaks.is_empty(), "{what} {secret} found in logs: {leaks:#?}");
    }
    h.stop().await;
}
