//! Phone numbers at rest: this service stores, queues and publishes a
//! booking's number only sealed to notification's key, seals numbers an
//! older build left in plain text, and keeps no hash of them either.
#![allow(clippy::unwrap_used)]
mod common;

use std::time::Duration;

use uuid::Uuid;
use yeyak_proto::{events::v1 as ev, reservation::v1 as pb};

const PLAIN: [&str; 2] = ["01012345678", "010-1234-5678"];

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every column of every row of `table`, as text.
async fn dump(app: &common::TestApp, table: &str) -> String {
    let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::text FROM {table} t")).fetch_all(&app.pool).await.unwrap();
    rows.join("\n")
}

#[tokio::test]
async fn the_number_is_stored_queued_and_published_only_sealed() {
    let mut app = common::start().await;
    let slot = app.inventory.slot(5);
    let person = app.person("subj-sealed");
    let r = app.book(&person, "key-sealed-1", slot).await.unwrap();
    let event: ev::ReservationConfirmed = app.tap.expect(ev::routing::RESERVATION_CONFIRMED).await;
    assert_eq!(app.open_contact(&r.reservation_id, &event.sealed_contact), "01012345678");
    let payloads: Vec<Vec<u8>> = sqlx::query_scalar("SELECT payload FROM outbox").fetch_all(&app.pool).await.unwrap();
    let (sealed, plain): (Option<Vec<u8>>, Option<String>) =
        sqlx::query_as("SELECT sealed_contact, contact_phone FROM reservations WHERE reservation_id = $1")
            .bind(Uuid::parse_str(&r.reservation_id).unwrap())
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((app.open_contact(&r.reservation_id, &sealed.unwrap()), plain), ("01012345678".to_owned(), None));
    // The scan below can fail: a planted plain number is found.
    let planted = format!("{}\n{}", dump(&app, "reservations").await, PLAIN[0]);
    assert!(PLAIN.iter().any(|p| planted.contains(p)));
    let text = format!("{}\n{}", dump(&app, "reservations").await, dump(&app, "outbox").await);
    for p in PLAIN {
        assert!(!text.contains(p), "{p} in the database");
        assert!(!payloads.iter().any(|b| contains(b, p)), "{p} in an outbox payload");
    }
    // A sealed value copied onto another reservation does not open there.
    let other = Uuid::new_v4().to_string();
    let keys = &app.keys.contact;
    assert!(keys.open(Uuid::parse_str(&other).unwrap().as_bytes(), &event.sealed_contact).is_err());
    app.stop().await;
}

#[tokio::test]
async fn numbers_an_older_build_stored_in_plain_text_are_sealed_and_still_reach_notification() {
    let mut app = common::start().await;
    let slot = app.inventory.slot(5);
    let person = app.person("subj-legacy");
    let r = app.book(&person, "key-legacy-1", slot).await.unwrap();
    let _: ev::ReservationConfirmed = app.tap.expect(ev::routing::RESERVATION_CONFIRMED).await;
    let id = Uuid::parse_str(&r.reservation_id).unwrap();
    // As a replica of the previous build would have written it.
    sqlx::query("UPDATE reservations SET contact_phone = '01099998888', sealed_contact = NULL WHERE reservation_id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    // A replica seals it as it starts.
    let _ = app.replica().await;
    common::eventually(Duration::from_secs(10), "the plain number to be sealed", || async {
        (app.count("SELECT count(*) FROM reservations WHERE contact_phone IS NOT NULL").await == 0).then_some(())
    })
    .await;
    let cancel = pb::CancelReservationRequest {
        reservation_id: r.reservation_id.clone(),
        identity_assertion: person.assertion.clone(),
        ..Default::default()
    };
    app.client.clone().cancel_reservation(app.req(&person, cancel)).await.unwrap();
    let event: ev::ReservationCancelled = app.tap.expect(ev::routing::RESERVATION_CANCELLED).await;
    assert_eq!(app.open_contact(&r.reservation_id, &event.sealed_contact), "01099998888");
    assert!(!dump(&app, "reservations").await.contains("01099998888"));
    app.stop().await;
}

/// The migration rewrote stored request hashes without the phone number in
/// SQL; run its statement again: it must give what the service computes.
#[tokio::test]
async fn the_migrations_request_hash_is_the_services() {
    let app = common::start().await;
    let slot = app.inventory.slot(5);
    let person = app.person("subj-hash");
    let r = app.book(&person, "key-hash-1", slot).await.unwrap();
    let agent = app.person("subj-hash-agent");
    let mut booked_by_agent = app.create_request(&agent, "key-hash-2", app.inventory.slot(5), 2);
    booked_by_agent.agent_assertion = agent.assertion.clone();
    booked_by_agent.identity_assertion = app.assertion("subj-hash-2", &agent.session_id, 600);
    app.client.clone().create_reservation(app.req(&agent, booked_by_agent)).await.unwrap();
    let before: Vec<(Uuid, Vec<u8>)> =
        sqlx::query_as("SELECT reservation_id, request_hash FROM reservations ORDER BY reservation_id").fetch_all(&app.pool).await.unwrap();
    assert_eq!(before.len(), 2);
    let migration = include_str!("../migrations/20261215000001_sealed_contact.sql");
    let start = migration.find("UPDATE reservations SET request_hash").unwrap();
    let statement = &migration[start..start + migration[start..].find(';').unwrap()];
    sqlx::query(statement).execute(&app.pool).await.unwrap();
    let after: Vec<(Uuid, Vec<u8>)> =
        sqlx::query_as("SELECT reservation_id, request_hash FROM reservations ORDER BY reservation_id").fetch_all(&app.pool).await.unwrap();
    assert_eq!(after, before);
    // A retry still gets the original answer.
    assert_eq!(app.book(&person, "key-hash-1", slot).await.unwrap(), r);
    app.stop().await;
}
