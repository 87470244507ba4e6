//! Races: many people for the last places, one person twice, one retry many
//! times. The database, not timing, decides the outcome.
#![allow(clippy::unwrap_used)]
mod common;

use std::sync::Arc;

use tonic::Code;
use yeyak_proto::events::v1 as ev;

#[tokio::test]
async fn fifty_people_race_for_the_last_five_places() {
    let app = common::start().await;
    let slot = app.inventory.slot(8);
    for i in 0..3 {
        app.book(&app.person(&format!("early-{i}")), &format!("key-early-{i}"), slot).await.unwrap();
    }
    assert_eq!(app.ledger(slot).await, Some((8, 3)));
    let app = Arc::new(app);
    let racers: Vec<_> = (0..50)
        .map(|i| {
            let app = app.clone();
            let person = app.person(&format!("racer-{i}"));
            tokio::spawn(async move { app.book(&person, &format!("key-racer-{i}"), slot).await })
        })
        .collect();
    let (mut won, mut full) = (0, 0);
    for racer in racers {
        match racer.await.unwrap() {
            Ok(_) => won += 1,
            Err(e) if e.code() == Code::FailedPrecondition && e.message().contains("slot is full") => full += 1,
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!((won, full), (5, 45));
    assert_eq!(app.ledger(slot).await, Some((8, 8)));
    assert_eq!(app.count("SELECT count(*) FROM reservations WHERE state = 'confirmed'").await, 8);
    assert_eq!(app.count("SELECT count(*) FROM outbox WHERE routing_key = 'reservation.confirmed.v1'").await, 8);
    let mut app = Arc::into_inner(app).unwrap();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..8 {
        let event: ev::ReservationConfirmed = app.tap.expect("reservation.confirmed.v1").await;
        assert!(seen.insert(event.reservation_id), "an event was published twice");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_same_person_twice_at_once_gets_one_reservation() {
    let app = Arc::new(common::start().await);
    let slot = app.inventory.slot(10);
    let person = app.person("subj-twice");
    let attempts: Vec<_> = (0..2)
        .map(|i| {
            let (app, person) = (app.clone(), person.clone());
            tokio::spawn(async move { app.book(&person, &format!("key-twice-{i}"), slot).await })
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
    assert_eq!(app.ledger(slot).await, Some((10, 1)));
    Arc::into_inner(app).unwrap().stop().await;
}

#[tokio::test]
async fn ten_concurrent_retries_of_one_key_book_once() {
    let app = Arc::new(common::start().await);
    let slot = app.inventory.slot(10);
    let person = app.person("subj-retries");
    let retries: Vec<_> = (0..10)
        .map(|_| {
            let (app, person) = (app.clone(), person.clone());
            tokio::spawn(async move { app.book(&person, "key-same-retry", slot).await })
        })
        .collect();
    let mut answers = Vec::new();
    for r in retries {
        answers.push(r.await.unwrap().unwrap());
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(app.count("SELECT count(*) FROM reservations").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, 1);
    assert_eq!(app.ledger(slot).await, Some((10, 1)));
    Arc::into_inner(app).unwrap().stop().await;
}
