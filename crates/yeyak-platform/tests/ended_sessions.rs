//! A pass dies with its seat: once admission records a session's end, the
//! pass check refuses its pass (remembered or not) within two seconds, and
//! a replica that cannot read the ended sessions refuses every pass.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

use std::time::{Duration, Instant};

use tonic::{metadata::MetadataMap, Code};
use yeyak_platform::{
    grpc::{PassVerifier, CLIENT_ID_HEADER, PASS_HEADER},
    redis_store::{self, RedisSettings},
    sessions::{record_end, EndedSessions, SessionState, SessionsSettings},
    tokens::{self, client_binding, AdmissionPass, Issuer, KeyRing, SigningKey},
    Shutdown,
};
use yeyak_testkit::redis_server::RedisServer;

fn settings(url: &str, prefix: &str) -> SessionsSettings {
    let mut redis = RedisSettings::for_test(prefix);
    redis.url = yeyak_platform::Secret::new(url.to_owned());
    SessionsSettings {
        enabled: true,
        redis,
        interval: Duration::from_millis(250),
        max_staleness: Duration::from_millis(1_500),
        retention: Duration::from_secs(1_800),
    }
}

fn pass_metadata(key: &SigningKey, session: &str) -> MetadataMap {
    let now = chrono::Utc::now().timestamp();
    let pass = AdmissionPass {
        queue_id: "q1".into(),
        place: 1,
        client_binding: client_binding(session),
        session_id: session.into(),
        cnf: None,
        issued_at: now,
        expires_at: now + 1_200,
    };
    let mut m = MetadataMap::new();
    m.insert(PASS_HEADER, tokens::sign(key, &pass).parse().unwrap());
    m.insert(CLIENT_ID_HEADER, session.parse().unwrap());
    m
}

async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

#[tokio::test]
async fn an_ended_sessions_pass_is_refused_everywhere_within_two_seconds() {
    let prefix = format!("test-ended-{}", uuid::Uuid::new_v4().simple());
    let s = settings("redis://127.0.0.1:6379/0", &prefix);
    let shutdown = Shutdown::new();
    let key = SigningKey::generate(Issuer::Admission, "a1");
    // Three replicas of services behind the waiting room, each following the streams.
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let ended = EndedSessions::follow(&s, vec!["q1".into()], &shutdown).await.unwrap();
        replicas.push(PassVerifier::new(KeyRing::parse(&key.trusted_entry()).unwrap(), ["q1".to_string()]).with_ended_sessions(ended));
    }
    let (ending, staying) = (pass_metadata(&key, "session-ending"), pass_metadata(&key, "session-staying"));
    let now = || chrono::Utc::now().timestamp();
    wait_for("the first read", Duration::from_secs(3), || replicas.iter().all(|r| r.verify_metadata(&staying, now()).is_ok())).await;
    for r in &replicas {
        r.verify_metadata(&ending, now()).unwrap();
    }

    let conn = redis_store::connect(&s.redis).await.unwrap();
    let started = Instant::now();
    record_end(&conn, &prefix, "q1", "session-ending", chrono::Utc::now().timestamp_millis(), 1_800_000).await.unwrap();
    wait_for("refused on every replica", Duration::from_secs(2), || {
        replicas.iter().all(|r| r.verify_metadata(&ending, now()).is_err_and(|e| e.code() == Code::Unauthenticated))
    })
    .await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(replicas.iter().all(|r| r.verify_metadata(&staying, now()).is_ok()), "other sessions go on");
    let err = replicas[0].verify_metadata(&ending, now()).unwrap_err();
    assert!(err.message().contains("ended"), "{}", err.message());
    shutdown.trigger();
    let _: () = redis::cmd("DEL").arg(format!("{prefix}:ended:{{q1}}")).query_async(&mut conn.clone()).await.unwrap();
}

#[tokio::test]
async fn a_replica_that_cannot_read_the_ended_sessions_refuses_every_pass_until_it_can() {
    let mut redis = RedisServer::start().await.unwrap();
    let s = settings(&redis.url(), "yeyak");
    let shutdown = Shutdown::new();
    let feed = EndedSessions::follow(&s, vec!["q1".into()], &shutdown).await.unwrap();
    let key = SigningKey::generate(Issuer::Admission, "a1");
    let verifier = PassVerifier::new(KeyRing::parse(&key.trusted_entry()).unwrap(), ["q1".to_string()]).with_ended_sessions(feed.clone());
    let held = pass_metadata(&key, "session-1");
    let now = || chrono::Utc::now().timestamp();
    wait_for("the first read", Duration::from_secs(3), || verifier.verify_metadata(&held, now()).is_ok()).await;

    redis.kill().await;
    let took = wait_for("refused while blind", Duration::from_secs(3), || {
        verifier.verify_metadata(&held, now()).is_err_and(|e| e.code() == Code::Unavailable)
    })
    .await;
    assert!(took >= Duration::from_millis(1_000), "not before the staleness allowance: {took:?}");
    let err = verifier.verify_metadata(&held, now()).unwrap_err();
    let retry = tonic_types::StatusExt::get_details_retry_info(&err).and_then(|r| r.retry_delay);
    assert_eq!(retry, Some(Duration::from_secs(1)));
    assert_eq!(feed.state("session-1", chrono::Utc::now().timestamp_millis()), SessionState::Unknown);

    redis.restart_empty().await.unwrap();
    wait_for("accepted again once it can read", Duration::from_secs(10), || verifier.verify_metadata(&held, now()).is_ok()).await;
    shutdown.trigger();
}
