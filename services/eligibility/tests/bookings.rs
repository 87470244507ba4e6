//! "Already booked" is right within a second: reservation events published
//! on real RabbitMQ reach the booked set (and drop the cached registry
//! answer), once each, in any order.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::{Duration, Instant};

use common::{born_in, seoul, Harness, Options};
use prost::Message as _;
use uuid::Uuid;
use yeyak_platform::messaging::{publisher::Outgoing, PublishError, Publisher};
use yeyak_population::SyntheticPerson;
use yeyak_proto::{
    eligibility::v1::EligibilityReason as R,
    events::v1::{self as ev, routing},
};

const REGISTRY: &str = "yeyak_eligibility_registry_lookups_total{service=\"eligibility\",outcome=\"registry\"}";
const CACHE: &str = "yeyak_eligibility_registry_lookups_total{service=\"eligibility\",outcome=\"cache\"}";

fn meta(id: Uuid) -> Option<ev::EventMeta> {
    Some(ev::EventMeta { event_id: id.to_string(), ..Default::default() })
}

fn confirmed(id: Uuid, reservation: Uuid, subject: &str, dose: u32) -> Outgoing {
    let e = ev::ReservationConfirmed {
        meta: meta(id),
        reservation_id: reservation.to_string(),
        subject_id: subject.into(),
        dose_number: dose,
        slot_id: Uuid::new_v4().to_string(),
        ..Default::default()
    };
    Outgoing { event_id: id, routing_key: routing::RESERVATION_CONFIRMED.into(), payload: e.encode_to_vec(), traceparent: String::new() }
}

fn cancelled(id: Uuid, reservation: Uuid, subject: &str, dose: u32) -> Outgoing {
    let e = ev::ReservationCancelled {
        meta: meta(id),
        reservation_id: reservation.to_string(),
        subject_id: subject.into(),
        dose_number: dose,
        ..Default::default()
    };
    Outgoing { event_id: id, routing_key: routing::RESERVATION_CANCELLED.into(), payload: e.encode_to_vec(), traceparent: String::new() }
}

fn rescheduled(id: Uuid, reservation: Uuid, subject: &str) -> Outgoing {
    let e = ev::ReservationRescheduled {
        meta: meta(id),
        reservation_id: reservation.to_string(),
        subject_id: subject.into(),
        ..Default::default()
    };
    Outgoing { event_id: id, routing_key: routing::RESERVATION_RESCHEDULED.into(), payload: e.encode_to_vec(), traceparent: String::new() }
}

/// Publishes once the consumer has bound its queue (before that the broker
/// returns the message as unroutable).
async fn publish(publisher: &Publisher, event: Outgoing) {
    common::eventually(Duration::from_secs(10), "the eligibility queue to be bound", || async {
        match publisher.publish_all(std::slice::from_ref(&event)).await {
            Ok(()) => Some(()),
            Err(PublishError::Unroutable(_)) => None,
            Err(e) => panic!("publish: {e}"),
        }
    })
    .await;
}

/// The time until the person's answer for dose 1 has `reason`.
async fn until(h: &Harness, p: &SyntheticPerson, reason: R) -> Duration {
    let started = Instant::now();
    common::eventually(Duration::from_secs(5), &format!("{reason:?}"), || async {
        let r = h.check(p, 1).await;
        (R::try_from(r.reason).unwrap() == reason).then_some(())
    })
    .await;
    started.elapsed()
}

#[tokio::test]
async fn booking_and_cancellation_events_update_already_booked_within_a_second() {
    let h = Harness::start(Options::new(common::rules_file("2021-07-55-59.toml"), seoul(2021, 7, 13, 10, 0, 0))).await;
    let publisher = Publisher::new(h.amqp.clone());
    let bookable = |p: &SyntheticPerson| born_in(p, 1962..=1966) && p.insured && p.doses.is_empty();
    let (p, other) = (h.find(bookable), h.find_nth(1, bookable));
    let subject = Harness::subject_of(&p);
    assert!(h.check(&p, 1).await.eligible);
    h.until_cached(&subject).await;
    assert!(h.check(&p, 1).await.eligible);
    assert_eq!((h.metric(REGISTRY), h.metric(CACHE)), (1.0, 1.0), "asked once, then answered from the cache");

    let reservation = Uuid::new_v4();
    let booked_event = confirmed(Uuid::new_v4(), reservation, &subject, 1);
    publish(&publisher, booked_event.clone()).await;
    let took = until(&h, &p, R::AlreadyBooked).await;
    assert!(took < Duration::from_secs(1), "already booked after {took:?}");
    // The event dropped the cached registry answer: the registry was asked again, once.
    assert_eq!(h.metric(REGISTRY), 2.0);
    assert_eq!(h.store.booked(&subject, 1).await.unwrap(), Some(reservation.to_string()));
    assert!(h.check(&other, 1).await.eligible, "nobody else is affected");

    // Moving the booking to another slot keeps it booked.
    publish(&publisher, rescheduled(Uuid::new_v4(), reservation, &subject)).await;
    publish(&publisher, cancelled(Uuid::new_v4(), Uuid::new_v4(), &subject, 1)).await; // another reservation's cancellation
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        h.store.booked(&subject, 1).await.unwrap(),
        Some(reservation.to_string()),
        "a cancellation of something else changes nothing"
    );

    publish(&publisher, cancelled(Uuid::new_v4(), reservation, &subject, 1)).await;
    let took = until(&h, &p, R::Unspecified).await;
    assert!(took < Duration::from_secs(1), "bookable again after {took:?}");

    // A redelivered "confirmed" (same event id) has no effect: processed once.
    publish(&publisher, booked_event).await;
    // A late "confirmed" of the cancelled reservation (new id, reordered) cannot resurrect it.
    publish(&publisher, confirmed(Uuid::new_v4(), reservation, &subject, 1)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(h.check(&p, 1).await.eligible);
    assert_eq!(h.store.booked(&subject, 1).await.unwrap(), None);

    // A new booking after the cancellation.
    publish(&publisher, confirmed(Uuid::new_v4(), Uuid::new_v4(), &subject, 1)).await;
    until(&h, &p, R::AlreadyBooked).await;

    // A message nobody can read goes to the dead-letter queue, not in a loop.
    let poison = Outgoing {
        event_id: Uuid::new_v4(),
        routing_key: routing::RESERVATION_CONFIRMED.into(),
        payload: vec![0xff; 3],
        traceparent: String::new(),
    };
    publish(&publisher, poison).await;
    let after_poison = h.find_nth(2, bookable);
    publish(&publisher, confirmed(Uuid::new_v4(), Uuid::new_v4(), &Harness::subject_of(&after_poison), 1)).await;
    until(&h, &after_poison, R::AlreadyBooked).await;
    h.stop().await;
}

/// Registry answers are cached behind the answer, many per pipeline; every
/// one lands, with an expiry, and concurrent lookups read each back as written.
#[tokio::test]
async fn cache_writes_behind_the_answer_all_land() {
    let h = Harness::start(Options::new(common::rules_file("2021-07-55-59.toml"), seoul(2021, 7, 13, 10, 0, 0))).await;
    let people: Vec<_> = h.people.iter().take(300).collect();
    for (i, p) in people.iter().enumerate() {
        let person = (i % 3 != 0).then(|| eligibility::domain::Person {
            birth_date: p.birth_date,
            insured: p.insured,
            priority_groups: p.priority_groups.iter().map(|g| g.to_string()).collect(),
            doses: p.doses.clone(),
        });
        assert!(h.store.remember(&Harness::subject_of(p), person.as_ref()), "queued");
    }
    common::eventually(Duration::from_secs(5), "300 cached answers", || async {
        (h.redis_keys("eligibility:*:person").await.len() == 300).then_some(())
    })
    .await;
    let key = h.redis_keys(&format!("eligibility:{{{}}}:person", Harness::subject_of(people[0]))).await.remove(0);
    let mut conn = redis::Client::open(format!("redis://{}/0", common::REDIS)).unwrap().get_multiplexed_async_connection().await.unwrap();
    let ttl: i64 = redis::cmd("TTL").arg(&key).query_async(&mut conn).await.unwrap();
    assert!(ttl > 0, "written with an expiry, not forever: {ttl}");
    // Read back by 300 concurrent lookups (they share pipelines): each gets its own.
    let subjects: Vec<String> = people.iter().map(|p| Harness::subject_of(p)).collect();
    let found = futures_util::future::join_all(subjects.iter().map(|s| h.store.lookup(s, 1))).await;
    for (i, (p, found)) in people.iter().zip(found).enumerate() {
        let (cached, booked) = found.unwrap();
        assert_eq!(booked, None);
        match cached.unwrap() {
            eligibility::store::Cached::Known(found) => assert!(i % 3 != 0 && found.birth_date == p.birth_date, "{i}"),
            eligibility::store::Cached::Unknown => assert_eq!(i % 3, 0, "{i}"),
        }
    }
    h.stop().await;
}
