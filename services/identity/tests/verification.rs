//! Identity against four real mock providers (HTTP on port 0) and the real
//! Redis: the SMS-code, app-approval and certificate flows, input rules,
//! attempt limits, the proxy limit, challenge expiry and single use, load
//! shedding, and failing closed without Redis.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::{Duration, Instant};

use common::{start, with_pass, Person, HASH_KEY};
use tonic::Code;
use tonic_types::StatusExt as _;
use yeyak_platform::{
    grpc::{status::field_violations, CLIENT_ID_HEADER},
    pseudonym::subject_id,
    tokens::{self, IdentityAssertion},
    Secret,
};
use yeyak_proto::identity::v1::*;

fn retry_after(status: &tonic::Status) -> Duration {
    let header: u64 = status.metadata().get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    let info = status.get_details_retry_info().unwrap().retry_delay.unwrap();
    assert!(header >= 1 && header.abs_diff(info.as_secs()) <= 1, "{header} vs {info:?}");
    info
}

#[tokio::test]
async fn sms_code_flow_issues_a_pseudonymous_assertion_bound_to_the_pass_and_is_single_use() {
    let h = start("sms", &[]).await;
    let offered = h.offered().await;
    let ids: Vec<_> = offered.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["carrier-sms", "kakao-cert", "naver-cert", "fin-cert"], "all GREEN: the configured order");
    assert!(offered.iter().all(|(_, s)| *s == ProviderStatus::Green as i32));

    let mut c = h.client();
    let person = Person::new(1);
    let pass = h.pass("sid-1");
    let started = c.start_verification(with_pass(&pass, person.start("carrier-sms"))).await.unwrap().into_inner();
    assert_eq!(started.instructions, "enter the 6-digit code sent by SMS");
    let left = started.expires_at.unwrap().seconds - chrono::Utc::now().timestamp();
    assert!((178..=180).contains(&left), "{left}");
    let (_, code) = h.inbox("carrier-sms", &person.phone).await;
    let complete = CompleteVerificationRequest { challenge_id: started.challenge_id.clone(), code };
    let done = c.complete_verification(with_pass(&pass, complete.clone())).await.unwrap().into_inner();
    let a: IdentityAssertion = tokens::verify(&h.ring, &done.identity_assertion, chrono::Utc::now().timestamp()).unwrap();
    assert_eq!((a.name.as_str(), a.session_id.as_str(), a.assurance_level, a.provider.as_str()), ("김*희", "sid-1", 1, "carrier-sms"));
    assert_eq!(a.queue_id, "q1", "the assertion's audience is the event of the pass it was obtained under");
    assert_eq!(a.birth_date, person.rrn.birth_date().format("%Y-%m-%d").to_string());
    assert_eq!(a.subject, subject_id(&Secret::new(HASH_KEY.into()), &person.rrn));
    assert_eq!((done.subject_id.as_str(), done.masked_name.as_str()), (a.subject.as_str(), "김*희"));
    assert_eq!(a.expires_at - a.issued_at, 1_800);
    let again = c.complete_verification(with_pass(&pass, complete)).await.unwrap_err();
    assert_eq!(again.code(), Code::NotFound, "single use");
    h.stop().await;
}

#[tokio::test]
async fn app_approvals_and_certificate_signatures_are_polled_until_given() {
    let h = start("app", &[("APPROVAL_WAIT_MS", "3000"), ("APPROVAL_POLL_MS", "50")]).await;
    let mut c = h.client();
    let pass = h.pass("sid-app");
    for (n, provider, instructions) in [
        (2, "kakao-cert", "approve the request in the certificate app on your phone, then continue"),
        (3, "fin-cert", "sign with your financial certificate PIN in the certificate window, then continue"),
    ] {
        let person = Person::new(n);
        let started = c.start_verification(with_pass(&pass, person.start(provider))).await.unwrap().into_inner();
        assert_eq!(started.instructions, instructions);
        let (tx, code) = h.inbox(provider, &person.phone).await;
        assert_eq!(code, "", "a push carries no code");
        // The person approves 300 ms after we start waiting.
        let (http, url) = (h.http.clone(), h.url(provider).to_owned());
        let approval = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            common::approve(&http, &url, &tx).await;
        });
        let began = Instant::now();
        let complete = CompleteVerificationRequest { challenge_id: started.challenge_id, code };
        let done = c.complete_verification(with_pass(&pass, complete)).await.unwrap().into_inner();
        let waited = began.elapsed();
        assert!(waited >= Duration::from_millis(300) && waited < Duration::from_millis(1500), "{waited:?}");
        approval.await.unwrap();
        let a: IdentityAssertion = tokens::verify(&h.ring, &done.identity_assertion, chrono::Utc::now().timestamp()).unwrap();
        assert_eq!((a.assurance_level, a.provider.as_str()), (2, provider));
    }
    h.stop().await;

    // Not approved within the wait: "pending", and the challenge stays usable.
    let h = start("pending", &[("APPROVAL_WAIT_MS", "200"), ("APPROVAL_POLL_MS", "50")]).await;
    let mut c = h.client();
    let pass = h.pass("sid-pending");
    let person = Person::new(4);
    let started = c.start_verification(with_pass(&pass, person.start("naver-cert"))).await.unwrap().into_inner();
    let complete = CompleteVerificationRequest { challenge_id: started.challenge_id, code: String::new() };
    let began = Instant::now();
    let pending = c.complete_verification(with_pass(&pass, complete.clone())).await.unwrap_err();
    assert_eq!(pending.code(), Code::FailedPrecondition);
    assert!(began.elapsed() >= Duration::from_millis(150), "it waited: {:?}", began.elapsed());
    let (tx, _) = h.inbox("naver-cert", &person.phone).await;
    h.approve("naver-cert", &tx).await;
    c.complete_verification(with_pass(&pass, complete)).await.unwrap();
    h.stop().await;
}

#[tokio::test]
async fn malformed_input_names_the_field_and_check_digits_are_enforced() {
    let h = start("input", &[]).await;
    let mut c = h.client();
    let pass = h.pass("sid-input");
    let person = Person::new(5);
    let good = person.start("carrier-sms");
    let digits = person.rrn.expose().to_owned();
    let with_check = |d: u32| format!("{}{d}", &digits[..12]);
    let real_check = digits[12..].parse::<u32>().unwrap();
    let mut cases: Vec<(StartVerificationRequest, &str)> = (0..10)
        .filter(|d| *d != real_check)
        .map(|d| (StartVerificationRequest { resident_registration_number: with_check(d), ..good.clone() }, "resident_registration_number"))
        .collect();
    for rrn in ["", "12345", "9001011234568X", "901301-1234568", "900230-1234568", "900101--1234568"] {
        cases.push((StartVerificationRequest { resident_registration_number: rrn.into(), ..good.clone() }, "resident_registration_number"));
    }
    for phone in ["", "02-123-4567", "010-123-456", "010-1234-56789", "02-1234-5678", "010-abcd-5678"] {
        cases.push((StartVerificationRequest { phone_number: phone.into(), ..good.clone() }, "phone_number"));
    }
    for name in ["", " ", "<script>", "김영희1", &"가".repeat(41)] {
        cases.push((StartVerificationRequest { name: name.into(), ..good.clone() }, "name"));
    }
    cases.push((StartVerificationRequest { provider_id: String::new(), ..good.clone() }, "provider_id"));
    cases.push((StartVerificationRequest { provider_id: "fax-machine".into(), ..good.clone() }, "provider_id"));
    for (request, field) in cases {
        let label = format!("{field} = {:?}", (&request.name, &request.phone_number, &request.provider_id));
        let status = c.start_verification(with_pass(&pass, request)).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{label}");
        assert_eq!(field_violations(&status), vec![field], "{label}");
        assert!(!status.message().contains(&digits[..6]) && !status.message().contains(&digits[6..]), "the number is not echoed");
    }
    // With the hyphen and without, a valid number is accepted.
    let hyphenated = format!("{}-{}", &digits[..6], &digits[6..]);
    let ok = StartVerificationRequest { resident_registration_number: hyphenated, phone_number: "010-5555-0105".into(), ..good };
    let started = c.start_verification(with_pass(&pass, ok)).await.unwrap().into_inner();
    for (challenge_id, code, field) in
        [("nope", "1", "challenge_id"), (started.challenge_id.as_str(), "12 34", "code"), (&started.challenge_id, &"1".repeat(17), "code")]
    {
        let complete = CompleteVerificationRequest { challenge_id: challenge_id.into(), code: code.into() };
        assert_eq!(field_violations(&c.complete_verification(with_pass(&pass, complete)).await.unwrap_err()), vec![field]);
    }
    h.stop().await;
}

#[tokio::test]
async fn wrong_codes_burn_the_challenge_and_count_per_subject_phone_and_pass() {
    let h = start(
        "attempts",
        &[
            ("MAX_ATTEMPTS_PER_SUBJECT", "4"),
            ("MAX_ATTEMPTS_PER_PHONE", "5"),
            ("MAX_ATTEMPTS_PER_PASS", "7"),
            ("ATTEMPT_WINDOW_SECONDS", "120"),
        ],
    )
    .await;
    let mut c = h.client();

    // Per challenge: four wrong codes answer how many are left, the fifth burns it.
    let person = Person::new(10);
    let pass = h.pass("sid-codes");
    let started = c.start_verification(with_pass(&pass, person.start("carrier-sms"))).await.unwrap().into_inner();
    let (_, real) = h.inbox("carrier-sms", &person.phone).await;
    let wrong_code: String = real.chars().map(|d| char::from_digit((d.to_digit(10).unwrap() + 1) % 10, 10).unwrap()).collect();
    let wrong = CompleteVerificationRequest { challenge_id: started.challenge_id.clone(), code: wrong_code };
    let status = c.complete_verification(with_pass(&pass, wrong.clone())).await.unwrap_err();
    assert_eq!((field_violations(&status), status.message()), (vec!["code".to_owned()], "code: wrong code, 4 attempts left"));
    let h2 = start("attempts-2", &[("MAX_ATTEMPTS_PER_SUBJECT", "100"), ("MAX_ATTEMPTS_PER_PHONE", "100")]).await;
    {
        let mut c2 = h2.client();
        let p = Person::new(11);
        let pass2 = h2.pass("sid-codes-2");
        let started = c2.start_verification(with_pass(&pass2, p.start("carrier-sms"))).await.unwrap().into_inner();
        let (_, real) = h2.inbox("carrier-sms", &p.phone).await;
        let bad: String = real.chars().map(|d| char::from_digit((d.to_digit(10).unwrap() + 1) % 10, 10).unwrap()).collect();
        let wrong = CompleteVerificationRequest { challenge_id: started.challenge_id.clone(), code: bad };
        for left in (1..=4).rev() {
            let status = c2.complete_verification(with_pass(&pass2, wrong.clone())).await.unwrap_err();
            assert_eq!(status.message(), format!("code: wrong code, {left} attempts left"));
        }
        let burnt = c2.complete_verification(with_pass(&pass2, wrong)).await.unwrap_err();
        assert_eq!(burnt.code(), Code::ResourceExhausted, "{burnt:?}");
        assert!(retry_after(&burnt) <= Duration::from_secs(180));
        let right = CompleteVerificationRequest { challenge_id: started.challenge_id, code: real };
        assert_eq!(c2.complete_verification(with_pass(&pass2, right)).await.unwrap_err().code(), Code::NotFound, "burnt");
    }
    h2.stop().await;

    // Per subject (limit 4): one start and one wrong code so far; a restart
    // makes three, the next wrong code four, and then the person must wait.
    let restarted = c.start_verification(with_pass(&pass, person.start("carrier-sms"))).await.unwrap().into_inner();
    let (_, real) = h.inbox("carrier-sms", &person.phone).await;
    let wrong_code: String = real.chars().map(|d| char::from_digit((d.to_digit(10).unwrap() + 1) % 10, 10).unwrap()).collect();
    let wrong = CompleteVerificationRequest { challenge_id: restarted.challenge_id, code: wrong_code };
    let status = c.complete_verification(with_pass(&pass, wrong)).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("this person"), "{}", status.message());
    let wait = retry_after(&status);
    assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120), "{wait:?}");
    let other_pass = h.pass("sid-subject-elsewhere");
    let refused = c.start_verification(with_pass(&other_pass, person.start("kakao-cert"))).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "the person, not the pass, is limited");
    assert!(refused.message().contains("this person"));

    // Per phone (limit 5): five different people on one phone, each with their own pass.
    let phone = "010-7777-0001";
    for n in 0..5 {
        let p = Person { phone: phone.into(), ..Person::new(20 + n) };
        c.start_verification(with_pass(&h.pass(&format!("sid-phone-{n}")), p.start("carrier-sms"))).await.unwrap();
    }
    let p = Person { phone: phone.into(), ..Person::new(30) };
    let refused = c.start_verification(with_pass(&h.pass("sid-phone-x"), p.start("carrier-sms"))).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(refused.message().contains("phone"), "{}", refused.message());
    retry_after(&refused);

    // Per pass (limit 7); a provider failure gives the attempt back.
    let pass = h.pass("sid-pass");
    h.faults("fin-cert", serde_json::json!({"error_rate": 1.0})).await;
    for n in 0..3 {
        let status = c.start_verification(with_pass(&pass, Person::new(40 + n).start("fin-cert"))).await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable);
    }
    for n in 0..7 {
        c.start_verification(with_pass(&pass, Person::new(50 + n).start("kakao-cert"))).await.unwrap();
    }
    let refused = c.start_verification(with_pass(&pass, Person::new(60).start("kakao-cert"))).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(refused.message().contains("session"), "{}", refused.message());
    h.stop().await;
}

#[tokio::test]
async fn one_pass_verifies_oneself_and_one_other_person_at_most() {
    let h = start("proxy", &[]).await;
    let mut c = h.client();
    let pass = h.pass("sid-proxy");
    let (me, parent, stranger) = (Person::new(70), Person::new(71), Person::new(72));
    h.verify(&pass, &me, "carrier-sms").await.unwrap();
    h.verify(&pass, &parent, "kakao-cert").await.unwrap();
    h.verify(&pass, &me, "naver-cert").await.expect("the same person again is no new subject");
    let refused = c.start_verification(with_pass(&pass, stranger.start("carrier-sms"))).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("2 different people"), "{}", refused.message());

    // Started in parallel, refused at completion: the limit holds under races.
    let pass = h.pass("sid-proxy-race");
    let people = [Person::new(73), Person::new(74), Person::new(75)];
    let mut challenges = Vec::new();
    for p in &people {
        let s = c.start_verification(with_pass(&pass, p.start("carrier-sms"))).await.unwrap().into_inner();
        let (_, code) = h.inbox("carrier-sms", &p.phone).await;
        challenges.push(CompleteVerificationRequest { challenge_id: s.challenge_id, code });
    }
    let outcomes = futures_util::future::join_all(challenges.into_iter().map(|r| {
        let mut c = h.client();
        let pass = pass.clone();
        async move { c.complete_verification(with_pass(&pass, r)).await.map(|_| ()).map_err(|s| s.code()) }
    }))
    .await;
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 2, "{outcomes:?}");
    assert!(outcomes.contains(&Err(Code::PermissionDenied)), "{outcomes:?}");
    h.stop().await;
}

#[tokio::test]
async fn challenges_expire_are_single_use_and_belong_to_their_session() {
    let h = start("challenges", &[("CHALLENGE_TTL_SECONDS", "1")]).await;
    let mut c = h.client();
    let pass = h.pass("sid-challenge");

    let late = Person::new(80);
    let started = c.start_verification(with_pass(&pass, late.start("carrier-sms"))).await.unwrap().into_inner();
    let (_, code) = h.inbox("carrier-sms", &late.phone).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let expired = CompleteVerificationRequest { challenge_id: started.challenge_id, code };
    assert_eq!(c.complete_verification(with_pass(&pass, expired)).await.unwrap_err().code(), Code::NotFound, "expired");

    let person = Person::new(81);
    let started = c.start_verification(with_pass(&pass, person.start("carrier-sms"))).await.unwrap().into_inner();
    let (_, code) = h.inbox("carrier-sms", &person.phone).await;
    let complete = CompleteVerificationRequest { challenge_id: started.challenge_id, code };
    let foreign = c.complete_verification(with_pass(&h.pass("sid-someone-else"), complete.clone())).await.unwrap_err();
    assert_eq!(foreign.code(), Code::PermissionDenied, "another session cannot complete it");
    let racers = (0..4).map(|_| {
        let mut c = h.client();
        let (pass, complete) = (pass.clone(), complete.clone());
        async move { c.complete_verification(with_pass(&pass, complete)).await.map(|_| ()).map_err(|s| s.code()) }
    });
    let outcomes = futures_util::future::join_all(racers).await;
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "exactly one completion: {outcomes:?}");
    assert!(outcomes.iter().all(|o| matches!(o, Ok(()) | Err(Code::NotFound))), "{outcomes:?}");
    h.stop().await;
}

#[tokio::test]
async fn a_saturated_replica_sheds_at_once_with_a_retry_hint() {
    let h = start("shed", &[("MAX_IN_FLIGHT_VERIFICATIONS", "2")]).await;
    h.faults("carrier-sms", serde_json::json!({"latency_ms": 800})).await;
    let calls = (0..6).map(|n| {
        let mut c = h.client();
        let pass = h.pass(&format!("sid-shed-{n}"));
        async move {
            let began = Instant::now();
            let outcome = c.start_verification(with_pass(&pass, Person::new(90 + n).start("carrier-sms"))).await;
            (outcome.map(|_| ()), began.elapsed())
        }
    });
    let outcomes = futures_util::future::join_all(calls).await;
    let ok = outcomes.iter().filter(|(o, _)| o.is_ok()).count();
    let shed: Vec<_> = outcomes.iter().filter_map(|(o, t)| o.as_ref().err().map(|s| (s, *t))).collect();
    assert_eq!(ok, 2, "{outcomes:?}");
    assert_eq!(shed.len(), 4);
    for (status, took) in shed {
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert!(took < Duration::from_millis(400), "shed at once, not queued: {took:?}");
        assert_eq!(retry_after(status), Duration::from_secs(1));
    }
    h.stop().await;
}

#[tokio::test]
async fn without_redis_it_fails_closed() {
    let redis = yeyak_testkit::Proxy::start("127.0.0.1:6379").await.unwrap();
    let url = format!("redis://{}/0", redis.addr());
    let h = start("redis-down", &[("REDIS_URL", &url)]).await;
    let mut c = h.client();
    let pass = h.pass("sid-redis");
    h.verify(&pass, &Person::new(95), "carrier-sms").await.unwrap();
    redis.cut();
    let began = Instant::now();
    let status = c.start_verification(with_pass(&pass, Person::new(96).start("carrier-sms"))).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "no limits, no challenge: no verification");
    assert!(began.elapsed() < Duration::from_secs(2), "{:?}", began.elapsed());
    redis.restore();
    h.stop().await;
}

#[tokio::test]
async fn calls_without_a_valid_pass_are_refused() {
    let h = start("nopass", &[]).await;
    let mut c = h.client();
    let no_pass = tonic::Request::new(ListProvidersRequest {});
    assert_eq!(c.list_providers(no_pass).await.unwrap_err().code(), Code::Unauthenticated);
    let mut other_client = with_pass(&h.pass("sid"), ListProvidersRequest {});
    other_client.metadata_mut().insert(CLIENT_ID_HEADER, "someone-else-entirely".parse().unwrap());
    assert_eq!(c.list_providers(other_client).await.unwrap_err().code(), Code::PermissionDenied);
    let forged = with_pass("v1.a1.e30.AAAA", Person::new(97).start("carrier-sms"));
    assert_eq!(c.start_verification(forged).await.unwrap_err().code(), Code::Unauthenticated);
    h.stop().await;
}
