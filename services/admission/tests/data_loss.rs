//! Redis comes back without its data (restarted empty) mid-event, with two
//! replicas serving: nobody waiting is overtaken, nobody admitted is
//! demoted, no place or session id is handed out twice, an ended session
//! stays ended, a booking frees only its own seat, the operator's settings
//! survive, and the first call after the restart succeeds. A private
//! `redis-server` is restarted; the shared one is never touched.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;
mod loss;

use std::{collections::HashSet, time::Duration};

use common::{eventually, op, publish_booking, Deployment};
use loss::{pass_claims, settings, Person};
use yeyak_proto::admission::v1::*;
use yeyak_testkit::redis_server::RedisServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restarted_empty_mid_event_loses_no_place_no_seat_and_no_setting() {
    let mut redis = RedisServer::start().await.unwrap();
    let url = redis.url();
    let d = Deployment::new(&[("ADMISSION_RATE", "50"), ("REDIS_URL", url.as_str()), ("PLACE_BLOCK", "16")]);
    let replicas = [d.start().await, d.start().await];
    let at = |i: usize| &replicas[i % 2];

    // Eight people admitted, through both replicas.
    let mut admitted = Vec::new();
    for i in 0..8 {
        admitted.push(Person::join(at(i), i).await);
    }
    for (i, p) in admitted.iter().enumerate() {
        eventually(Duration::from_secs(5), "the first eight admitted", || async { p.state(at(i)).await == QueueState::Admitted }).await;
    }
    // Each read from the replica that saw the admission: another one's
    // snapshot may be up to 100 ms older.
    let mut before = Vec::new();
    for (i, p) in admitted.iter().enumerate() {
        before.push(pass_claims(&d, &p.pass(at(i)).await));
    }

    // The operator slows admission to 4/s and pauses; forty people wait.
    let mut operator = replicas[0].operator();
    let req = SetAdmissionSettingsRequest { queue_id: "q1".into(), admission_rate_per_second: 4.0, max_active_sessions: 1000 };
    operator.set_admission_settings(op(req)).await.unwrap();
    operator.pause_admission(op(PauseAdmissionRequest { queue_id: "q1".into() })).await.unwrap();
    let mut waiting = Vec::new();
    for i in 8..48 {
        waiting.push(Person::join(at(i), i).await);
    }
    // One admitted person ends their session before the loss.
    let ended = &admitted[0];
    replicas[1].queue().end_session(EndSessionRequest { ticket: ended.ticket.clone(), client_id: ended.client.clone() }).await.unwrap();
    let earlier_places: HashSet<u64> = admitted.iter().chain(&waiting).map(|p| p.position).collect();
    assert_eq!(earlier_places.len(), 48, "48 distinct places before the loss");

    redis.restart_empty().await.unwrap();

    // The very first join after the restart succeeds, behind everyone.
    let newcomer = Person::join(at(1), 100).await;
    assert!(newcomer.position > *earlier_places.iter().max().unwrap(), "a newcomer got place {} among earlier tickets", newcomer.position);

    // Settings survived: still 4/s, still paused; nobody new gets in.
    let s = settings(&replicas[0]).await;
    assert_eq!((s.admission_rate_per_second, s.max_active_sessions, s.paused), (4.0, 1000, true), "{s:?}");
    assert_eq!((s.admitted, s.active_sessions), (8, 7), "{s:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(newcomer.state(at(0)).await, QueueState::Waiting, "a paused queue admitted a newcomer");
    let first_waiter = waiting[0].status(at(1)).await;
    assert_eq!(first_waiter.state, QueueState::Waiting as i32);
    assert_eq!((first_waiter.position, first_waiter.people_ahead), (waiting[0].position, 0), "{first_waiter:?}");
    assert!(first_waiter.estimate_unknown_reason.contains("paused"), "{first_waiter:?}");

    // Everyone admitted is still in, with the same session; the ended one stays ended.
    assert_eq!(ended.state(at(0)).await, QueueState::SessionEnded);
    for (i, p) in admitted.iter().enumerate().skip(1) {
        let claims = pass_claims(&d, &p.pass(at(i)).await);
        assert_eq!(
            (claims.session_id.as_str(), claims.place),
            (before[i].session_id.as_str(), before[i].place),
            "{} demoted or moved",
            p.client
        );
        assert_eq!(claims.expires_at, before[i].expires_at, "the seat keeps its expiry");
    }

    // A booking frees its own seat, nobody else's.
    let booker = &admitted[1];
    publish_booking(&d, booker.position, "").await;
    eventually(Duration::from_secs(10), "the booking frees its seat", || async { booker.state(at(0)).await == QueueState::SessionEnded })
        .await;
    for (i, p) in admitted.iter().enumerate().skip(2) {
        assert_eq!(p.state(at(i)).await, QueueState::Admitted, "{}'s seat went with another's booking", p.client);
    }

    // Resumed (faster, to keep the test short): the earlier waiters first, in order.
    let req = SetAdmissionSettingsRequest { queue_id: "q1".into(), admission_rate_per_second: 100.0, max_active_sessions: 1000 };
    operator.set_admission_settings(op(req)).await.unwrap();
    operator.resume_admission(op(ResumeAdmissionRequest { queue_id: "q1".into() })).await.unwrap();
    eventually(Duration::from_secs(10), "the newcomer admitted", || async { newcomer.state(at(0)).await == QueueState::Admitted }).await;
    let mut sessions = HashSet::new();
    for (i, p) in waiting.iter().enumerate() {
        assert_eq!(p.state(at(i)).await, QueueState::Admitted, "{} overtaken by a later arrival", p.client);
        assert!(sessions.insert(pass_claims(&d, &p.pass(at(i)).await).session_id));
    }
    sessions.insert(pass_claims(&d, &newcomer.pass(at(0)).await).session_id);
    sessions.extend(before.iter().map(|c| c.session_id.clone()));
    assert_eq!(sessions.len(), 8 + 40 + 1, "a session id was handed out twice");
    for r in replicas {
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_ids_and_places_stay_unique_across_resets_and_estimates_wait_for_a_measured_rate() {
    let mut redis = RedisServer::start().await.unwrap();
    let url = redis.url();
    let d = Deployment::new(&[("ADMISSION_RATE", "4"), ("REDIS_URL", url.as_str()), ("PLACE_BLOCK", "4")]);
    let r = d.start().await;
    let (mut places, mut sessions) = (HashSet::new(), HashSet::new());
    let mut people = Vec::new();
    for round in 0..3 {
        for i in 0..6 {
            let p = Person::join(&r, round * 10 + i).await;
            assert!(places.insert(p.position), "place {} handed out twice", p.position);
            assert!(sessions.insert(loss::ticket_session(&d, &p.ticket)), "a session id handed out twice");
            people.push(p);
        }
        redis.restart_empty().await.unwrap();
    }
    // Just rebuilt (by the ticker, or by this poll): no rate measured yet,
    // and the reason says why.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let last = people.last().unwrap().status(&r).await;
    assert_eq!(last.state, QueueState::Waiting as i32);
    assert!(last.estimated_wait_seconds.is_none() && last.estimate_unknown_reason.contains("restored"), "{last:?}");
    // Measured again at the configured 4/s: an honest estimate.
    eventually(Duration::from_secs(10), "a measured estimate", || async {
        let s = people.last().unwrap().status(&r).await;
        let expected = (s.people_ahead + 1) as f64 / 4.0;
        s.estimated_wait_seconds.is_some_and(|w| (w as f64) >= expected * 0.5 && (w as f64) <= expected * 2.0 + 1.0)
    })
    .await;

    // A drained queue stays closed to newcomers after a loss too.
    r.operator().drain_queue(op(DrainQueueRequest { queue_id: "q1".into() })).await.unwrap();
    redis.restart_empty().await.unwrap();
    assert_eq!(r.join(&common::client(99)).await.unwrap_err().code(), tonic::Code::FailedPrecondition, "drained, then reopened by a loss");
    assert!(settings(&r).await.closed);
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_queue_cannot_be_rebuilt_the_room_stays_closed_and_says_why() {
    use tonic_types::StatusExt as _;
    let mut redis = RedisServer::start().await.unwrap();
    let postgres = yeyak_testkit::Proxy::start("127.0.0.1:5432").await.unwrap();
    let url = redis.url();
    let mut d = Deployment::new(&[("ADMISSION_RATE", "50"), ("REDIS_URL", url.as_str()), ("DATABASE_ACQUIRE_TIMEOUT_MS", "500")]);
    let database_url = d.database_url().replace("127.0.0.1:5432", &postgres.addr().to_string());
    d.extra.push(("DATABASE_URL".into(), database_url));
    let r = d.start().await;
    let admitted = Person::join(&r, 0).await;
    eventually(Duration::from_secs(5), "the first person admitted", || async { admitted.state(&r).await == QueueState::Admitted }).await;
    r.operator().pause_admission(op(PauseAdmissionRequest { queue_id: "q1".into() })).await.unwrap();
    let waiting = Person::join(&r, 1).await;

    // Redis loses everything while PostgreSQL is out of reach.
    postgres.cut();
    redis.restart_empty().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for call in [r.join(&common::client(2)).await.map(drop), r.status(&admitted.ticket, &admitted.client).await.map(drop)] {
        let status = call.unwrap_err();
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        assert!(status.message().contains("being restored"), "{status:?}");
        assert!(status.get_details_retry_info().and_then(|i| i.retry_delay).is_some(), "no retry hint: {status:?}");
    }
    // Nothing was half-built meanwhile: Redis holds no queue state at all.
    assert_eq!(redis.command(&["DBSIZE"]).await.unwrap(), "0");

    postgres.restore();
    eventually(Duration::from_secs(10), "the queue rebuilt once PostgreSQL is back", || async {
        r.status(&admitted.ticket, &admitted.client).await.is_ok()
    })
    .await;
    assert_eq!(admitted.state(&r).await, QueueState::Admitted, "the admitted person was demoted");
    assert_eq!(waiting.state(&r).await, QueueState::Waiting, "the paused queue admitted someone");
    r.stop().await;
}
