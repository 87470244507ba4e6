//! A pass dies with its seat: EndSession and a booking make admission
//! record the session's end, and a service following the ended sessions
//! (as every service behind the waiting room does) refuses the pass within
//! two seconds, while the seat cap holds. Operators are named, hold roles,
//! and every change they make leaves an audit row.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::{Duration, Instant};

use common::{client, eventually, publish_booking, Deployment};
use tonic::{metadata::MetadataMap, Code, Request};
use yeyak_platform::{
    grpc::{PassVerifier, CLIENT_ID_HEADER, PASS_HEADER},
    redis_store::RedisSettings,
    sessions::{EndedSessions, SessionsSettings},
    tokens::{self, AdmissionPass, KeyRing},
    Shutdown,
};
use yeyak_proto::admission::v1::*;

/// Another service's pass check, following this deployment's ended sessions.
async fn service_behind_the_room(d: &Deployment, shutdown: &Shutdown) -> PassVerifier {
    let settings = SessionsSettings {
        enabled: true,
        redis: RedisSettings::for_test(&d.prefix),
        interval: Duration::from_millis(250),
        max_staleness: Duration::from_millis(1_500),
        retention: Duration::from_secs(1_800),
    };
    let ended = EndedSessions::follow(&settings, vec!["q1".into()], shutdown).await.unwrap();
    PassVerifier::new(KeyRing::parse(&d.key.trusted_entry()).unwrap(), ["q1".to_string()]).with_ended_sessions(ended)
}

fn metadata(pass: &str, client: &str) -> MetadataMap {
    let mut m = MetadataMap::new();
    m.insert(PASS_HEADER, pass.parse().unwrap());
    m.insert(CLIENT_ID_HEADER, client.parse().unwrap());
    m
}

/// Measures how long after `end` the pass is refused (at most 2 s).
async fn refused_within_two_seconds(service: &PassVerifier, m: &MetadataMap, started: Instant) -> Duration {
    loop {
        match service.verify_metadata(m, chrono::Utc::now().timestamp()) {
            Err(e) if e.code() == Code::Unauthenticated => return started.elapsed(),
            other => assert!(started.elapsed() < Duration::from_secs(2), "still {other:?} after 2 s"),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn ending_a_session_or_booking_with_it_kills_its_pass_everywhere_within_two_seconds() {
    let d = Deployment::new(&[("ADMISSION_RATE", "200"), ("MAX_ACTIVE_SESSIONS", "2")]);
    let r = d.start().await;
    let shutdown = Shutdown::new();
    let service = service_behind_the_room(&d, &shutdown).await;
    let mut tickets = Vec::new();
    for i in 0..4 {
        // One after the other: the first two get the two seats.
        tickets.push(r.join(&client(i)).await.unwrap().ticket);
    }
    let mut passes = Vec::new();
    for (i, ticket) in tickets.iter().enumerate().take(2) {
        eventually(Duration::from_secs(3), "admitted", || async { !r.status(ticket, &client(i)).await.unwrap().admission_pass.is_empty() })
            .await;
        passes.push(r.status(ticket, &client(i)).await.unwrap().admission_pass);
    }
    for (i, p) in passes.iter().enumerate() {
        service.verify_metadata(&metadata(p, &client(i)), chrono::Utc::now().timestamp()).unwrap();
    }

    // EndSession.
    let started = Instant::now();
    r.queue().end_session(EndSessionRequest { ticket: tickets[0].clone(), client_id: client(0) }).await.unwrap();
    let took = refused_within_two_seconds(&service, &metadata(&passes[0], &client(0)), started).await;
    println!("pass refused {took:?} after EndSession");

    // A booking made with the second pass (reservation's event carries its session id).
    let claims: AdmissionPass =
        tokens::verify(&KeyRing::parse(&d.key.trusted_entry()).unwrap(), &passes[1], chrono::Utc::now().timestamp()).unwrap();
    publish_booking(&d, claims.place, &claims.session_id).await;
    let took = refused_within_two_seconds(&service, &metadata(&passes[1], &client(1)), Instant::now()).await;
    println!("pass refused {took:?} after the booking event was routed");

    // The seat cap bounds the passes that work: never more than 2 at once.
    eventually(Duration::from_secs(3), "the freed seats go to the next two", || async {
        let mut admitted = 0;
        for (i, ticket) in tickets.iter().enumerate().skip(2) {
            admitted += usize::from(!r.status(ticket, &client(i)).await.unwrap().admission_pass.is_empty());
        }
        admitted == 2
    })
    .await;
    let mut working = 0;
    for i in 0..4 {
        let pass = if i < 2 { passes[i].clone() } else { r.status(&tickets[i], &client(i)).await.unwrap().admission_pass };
        working += usize::from(service.verify_metadata(&metadata(&pass, &client(i)), chrono::Utc::now().timestamp()).is_ok());
    }
    assert_eq!(working, 2, "passes that verify anywhere never exceed max_active_sessions");
    shutdown.trigger();
    r.stop().await;
}

fn as_operator<T>(msg: T, token: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

#[tokio::test]
async fn named_operators_need_the_operator_role_and_every_change_is_audited() {
    let (support, ops) = ("kim-support-token-0123456789", "lee-operator-token-0123456789");
    let operators = format!("kim.support:support:{support},lee.ops:operator+support:{ops}");
    let d = Deployment::new(&[("OPERATORS", operators.as_str())]);
    let r = d.start().await;
    let get = |token: &'static str| as_operator(GetAdmissionSettingsRequest { queue_id: "q1".into() }, token);
    assert!(r.operator().get_admission_settings(get(support)).await.is_ok(), "support may look");
    let set = |token: &str| {
        as_operator(SetAdmissionSettingsRequest { queue_id: "q1".into(), admission_rate_per_second: 7.0, max_active_sessions: 5 }, token)
    };
    let denied = r.operator().set_admission_settings(set(support)).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert!(denied.message().contains("operator"), "{}", denied.message());
    assert_eq!(r.operator().set_admission_settings(set("not-a-known-token-at-all-00")).await.unwrap_err().code(), Code::Unauthenticated);
    let saved = r.operator().set_admission_settings(set(ops)).await.unwrap().into_inner().settings.unwrap();
    assert_eq!((saved.admission_rate_per_second, saved.max_active_sessions), (7.0, 5));
    r.operator().pause_admission(as_operator(PauseAdmissionRequest { queue_id: "q1".into() }, ops)).await.unwrap();

    let pool = sqlx::PgPool::connect(&d.database_url()).await.unwrap();
    type Row = (String, String, String, Option<String>, Option<String>);
    let rows: Vec<Row> = sqlx::query_as("SELECT operator, action, resource, old_value, new_value FROM operator_audit ORDER BY at")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "one row per change, none for refusals or reads: {rows:?}");
    assert_eq!((rows[0].0.as_str(), rows[0].1.as_str(), rows[0].2.as_str()), ("lee.ops", "admission.set_settings", "queue q1"));
    assert!(rows[0].3.as_deref().unwrap().contains("rate=default"), "{:?}", rows[0].3);
    assert!(rows[0].4.as_deref().unwrap().contains("rate=7 max_active=5 paused=false"), "{:?}", rows[0].4);
    assert_eq!(rows[1].1, "admission.pause");
    assert!(rows[1].4.as_deref().unwrap().contains("paused=true"), "{:?}", rows[1].4);
    pool.close().await;
    r.stop().await;
}
