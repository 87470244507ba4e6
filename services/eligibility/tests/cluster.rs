//! Eligibility on a Redis Cluster (`YEYAK_REDIS_MODE=cluster`): a check and
//! its cached registry answer, cache writes and lookups batched over many
//! subjects (so many slots), a booking event applied by its script, and the
//! proxy quota.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::Duration;

use common::{born_in, seoul, Harness, Options};
use prost::Message as _;
use uuid::Uuid;
use yeyak_platform::messaging::{publisher::Outgoing, PublishError, Publisher};
use yeyak_population::SyntheticPerson;
use yeyak_proto::{
    eligibility::v1::EligibilityReason as R,
    events::v1::{self as ev, routing},
};
use yeyak_testkit::redis_cluster::RedisCluster;

const REGISTRY: &str = "yeyak_eligibility_registry_lookups_total{service=\"eligibility\",outcome=\"registry\"}";
const CACHE: &str = "yeyak_eligibility_registry_lookups_total{service=\"eligibility\",outcome=\"cache\"}";

fn confirmed(reservation: Uuid, subject: &str) -> Outgoing {
    let id = Uuid::new_v4();
    let e = ev::ReservationConfirmed {
        meta: Some(ev::EventMeta { event_id: id.to_string(), ..Default::default() }),
        reservation_id: reservation.to_string(),
        subject_id: subject.into(),
        dose_number: 1,
        slot_id: Uuid::new_v4().to_string(),
        ..Default::default()
    };
    Outgoing { event_id: id, routing_key: routing::RESERVATION_CONFIRMED.into(), payload: e.encode_to_vec(), traceparent: String::new() }
}

#[tokio::test]
async fn checks_caches_events_and_quotas_work_on_a_redis_cluster() {
    let cluster = RedisCluster::start().await.unwrap();
    let mut options = Options::new(common::rules_file("2021-07-55-59.toml"), seoul(2021, 7, 13, 10, 0, 0));
    options.redis_cluster = Some(cluster.url());
    let h = Harness::start(options).await;
    let bookable = |p: &SyntheticPerson| born_in(p, 1962..=1966) && p.insured && p.doses.is_empty();

    // A check, then the same check from the cache.
    let p = h.find(bookable);
    let subject = Harness::subject_of(&p);
    assert!(h.check(&p, 1).await.eligible);
    h.until_cached(&subject).await;
    assert!(h.check(&p, 1).await.eligible);
    assert_eq!((h.metric(REGISTRY), h.metric(CACHE)), (1.0, 1.0), "asked once, then answered from the cache");

    // Writes and lookups of 200 subjects, batched across slots.
    let people: Vec<_> = h.people.iter().skip(5_000).take(200).collect();
    for (i, p) in people.iter().enumerate() {
        let person = (i % 2 == 0).then(|| eligibility::domain::Person {
            birth_date: p.birth_date,
            insured: p.insured,
            priority_groups: Vec::new(),
            doses: p.doses.clone(),
        });
        assert!(h.store.remember(&Harness::subject_of(p), person.as_ref()), "queued");
    }
    common::eventually(Duration::from_secs(5), "201 cached answers", || async {
        (h.redis_keys("eligibility:*:person").await.len() == 201).then_some(())
    })
    .await;
    let subjects: Vec<String> = people.iter().map(|p| Harness::subject_of(p)).collect();
    let found = futures_util::future::join_all(subjects.iter().map(|s| h.store.lookup(s, 1))).await;
    for (i, (p, found)) in people.iter().zip(found).enumerate() {
        match found.unwrap().0.unwrap() {
            eligibility::store::Cached::Known(found) => assert!(i % 2 == 0 && found.birth_date == p.birth_date, "{i}"),
            eligibility::store::Cached::Unknown => assert_eq!(i % 2, 1, "{i}"),
        }
    }

    // A booking event reaches the booked set (deduplication and effect: one script).
    let publisher = Publisher::new(h.amqp.clone());
    let reservation = Uuid::new_v4();
    let event = confirmed(reservation, &subject);
    common::eventually(Duration::from_secs(10), "the eligibility queue to be bound", || async {
        match publisher.publish_all(std::slice::from_ref(&event)).await {
            Ok(()) => Some(()),
            Err(PublishError::Unroutable(_)) => None,
            Err(e) => panic!("publish: {e}"),
        }
    })
    .await;
    common::eventually(Duration::from_secs(5), "already booked", || async {
        (R::try_from(h.check(&p, 1).await.reason).unwrap() == R::AlreadyBooked).then_some(())
    })
    .await;
    assert_eq!(h.store.booked(&subject, 1).await.unwrap(), Some(reservation.to_string()));

    // An agent acts for two people per event at most.
    let agent = h.find(|p| born_in(p, 1990..=1995));
    let (a, b, c) = (h.find_nth(1, bookable), h.find_nth(2, bookable), h.find_nth(3, bookable));
    assert!(h.check_for("q1", &agent, &a).await.unwrap().eligible);
    assert!(h.check_for("q1", &agent, &b).await.unwrap().eligible);
    assert_eq!(R::try_from(h.check_for("q1", &agent, &c).await.unwrap().reason).unwrap(), R::ProxyNotAllowed);
    assert!(h.check_for("q2", &agent, &c).await.unwrap().eligible, "per event");
    h.stop().await;
}
