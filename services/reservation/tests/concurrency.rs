//! Races: many people for the last places, one person twice, one retry many
//! times. The database, not timing, decides the outcome.
#![allow(clippy::unwrap_used)]
mod common;

use std::{collections::HashSet, sync::Arc, time::Instant};

use tonic::Code;
use yeyak_proto::events::v1 as ev;

/// The size: 500 concurrent CreateReservation calls for the last 10
/// places of one slot, through 4 connections on a multi-threaded runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_people_race_for_the_last_ten_places() {
    let app = common::start().await;
    let slot = app.inventory.slot(12);
    for i in 0..2 {
        app.book(&app.person(&format!("early-{i}")), &format!("key-early-{i}"), slot).await.unwrap();
    }
    assert_eq!(app.ledger(slot).await, Some((12, 2)), "10 places left");
    let app = Arc::new(app);
    let people: Vec<_> = (0..500).map(|i| app.person(&format!("racer-{i}"))).collect();
    let started = Instant::now();
    let racers: Vec<_> = people
        .into_iter()
        .enumerate()
        .map(|(i, person)| {
            let app = app.clone();
            tokio::spawn(async move { app.book_on(i, &person, &format!("key-racer-{i}"), slot).await })
        })
        .collect();
    let (mut won, mut full) = (Vec::new(), 0);
    for racer in racers {
        match racer.await.unwrap() {
            Ok(r) => won.push(r),
            Err(e) if e.code() == Code::FailedPrecondition && e.message().contains("slot is full") => full += 1,
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    let elapsed = started.elapsed();
    println!("500 concurrent bookings for 10 places took {elapsed:?}");
    assert_eq!((won.len(), full), (10, 490));
    assert_eq!(won.iter().map(|r| &r.reservation_id).collect::<HashSet<_>>().len(), 10);
    assert_eq!(app.ledger(slot).await, Some((12, 12)), "capacity ends at 0");
    assert_eq!(app.count("SELECT count(*) FROM reservations WHERE state = 'confirmed'").await, 12);
    assert_eq!(app.count("SELECT count(*) FROM reservations").await, 12, "the losers left no row behind");
    assert_eq!(app.count(&format!("SELECT count(*) FROM outbox WHERE routing_key = '{}'", ev::routing::RESERVATION_CONFIRMED)).await, 12);
    let mut app = Arc::into_inner(app).unwrap();
    let mut seen = HashSet::new();
    for _ in 0..12 {
        let event: ev::ReservationConfirmed = app.tap.expect(ev::routing::RESERVATION_CONFIRMED).await;
        assert!(seen.insert(event.reservation_id), "an event was published twice");
    }
    assert!(won.iter().all(|r| seen.contains(&r.reservation_id)), "every winner's event went out");
    app.stop().await;
}

#[tokio::test]
async fn the_same_person_twice_at_once_gets_one_reservation() {
    let app = Arc::new(common::start().await);
    let (slot, other) = (app.inventory.slot(10), app.inventory.slot(10));
    let person = app.person("subj-twice");
    // Two devices at once, two keys, even two different slots: one dose, one reservation.
    let attempts: Vec<_> = [slot, other]
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let (app, person) = (app.clone(), person.clone());
            tokio::spawn(async move { app.book_on(i, &person, &format!("key-twice-{i}"), s).await })
        })
        .collect();
    let mut results = Vec::new();
    for a in attempts {
        results.push(a.await.unwrap());
    }
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    let loser = results.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert_eq!(loser.code(), Code::AlreadyExists, "{loser:?}");
    assert_eq!(app.count("SELECT count(*) FROM reservations").await, 1);
    let booked = app.ledger(slot).await.map_or(0, |l| l.1) + app.ledger(other).await.map_or(0, |l| l.1);
    assert_eq!(booked, 1, "one place taken in all");
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, 1);
    Arc::into_inner(app).unwrap().stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_retries_of_one_key_book_once_and_answer_the_same() {
    let app = Arc::new(common::start().await);
    let slot = app.inventory.slot(10);
    let person = app.person("subj-retries");
    let retries: Vec<_> = (0..20)
        .map(|i| {
            let (app, person) = (app.clone(), person.clone());
            tokio::spawn(async move { app.book_on(i, &person, "key-same-retry", slot).await })
        })
        .collect();
    let mut answers = Vec::new();
    for r in retries {
        answers.push(r.await.unwrap().unwrap());
    }
    assert_eq!(answers.len(), 20);
    assert!(answers.iter().all(|a| *a == answers[0]), "20 identical answers: {answers:?}");
    assert_eq!(app.count("SELECT count(*) FROM reservations").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, 1);
    assert_eq!(app.ledger(slot).await, Some((10, 1)));
    // The same key later, after the dust settled: the same answer again.
    assert_eq!(app.book(&person, "key-same-retry", slot).await.unwrap(), answers[0]);
    Arc::into_inner(app).unwrap().stop().await;
}
