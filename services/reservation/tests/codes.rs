//! Booking codes: distinct and valid under a rush, drawn again when taken
//! (with nothing half written), found by code however it is typed, refused
//! with the field named when they do not check out, and carried by every
//! event.
#![allow(clippy::unwrap_used)]
mod common;

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Instant,
};

use common::{Person, Setup, TestApp};
use prost::Message as _;
use tonic::Code;
use uuid::Uuid;
use yeyak_platform::grpc::status::field_violations;
use yeyak_proto::{events::v1 as ev, reservation::v1 as pb};

const ALPHABET: &str = "23456789ABCDEFGHJKMNPQRSTVWXY";

/// The check as the proto describes it, written again here: "XXXX-XXXX"
/// over the alphabet, Σ (8 − i) × value ≡ 0 (mod 29).
fn checks_out(shown: &str) -> bool {
    let Some((a, b)) = shown.split_once('-') else { return false };
    let values: Option<Vec<usize>> = a.chars().chain(b.chars()).map(|c| ALPHABET.find(c)).collect();
    (a.len(), b.len()) == (4, 4) && values.is_some_and(|v| v.iter().enumerate().map(|(i, x)| (8 - i) * x).sum::<usize>() % 29 == 0)
}

fn get(person: &Person, reservation_id: &str, booking_code: &str) -> pb::GetReservationRequest {
    pb::GetReservationRequest {
        reservation_id: reservation_id.into(),
        booking_code: booking_code.into(),
        identity_assertion: person.assertion.clone(),
    }
}

async fn get_err(app: &TestApp, person: &Person, reservation_id: &str, booking_code: &str) -> tonic::Status {
    app.client.clone().get_reservation(app.req(person, get(person, reservation_id, booking_code))).await.unwrap_err()
}

const RUSH: usize = 3_000;

/// 3,000 people book at once. Their reservation ids share a handful of
/// time prefixes (the old SMS number); their codes are all different and
/// all check out, in the answers, the rows and the events.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_thousand_bookings_at_once_get_distinct_valid_codes() {
    let env = vec![
        ("MAX_CONCURRENT_RPCS", "4096".to_owned()),
        ("DATABASE_MAX_CONNECTIONS", "16".to_owned()),
        ("DATABASE_ACQUIRE_TIMEOUT_MS", "120000".to_owned()),
        ("REQUEST_TIMEOUT_MS", "120000".to_owned()),
    ];
    let app = Arc::new(common::start_with(Setup { env, ..Setup::default() }).await);
    let slots: Vec<Uuid> = (0..12).map(|_| app.inventory.slot(250)).collect();
    let people: Vec<Person> = (0..RUSH).map(|i| app.person(&format!("rush-{i}"))).collect();
    let started = Instant::now();
    let tasks: Vec<_> = people
        .into_iter()
        .enumerate()
        .map(|(i, person)| {
            let (app, slot) = (app.clone(), slots[i % slots.len()]);
            tokio::spawn(async move { app.book_on(i, &person, &format!("key-rush-{i}"), slot).await })
        })
        .collect();
    let mut booked = Vec::new();
    for task in tasks {
        booked.push(task.await.unwrap().unwrap());
    }
    let elapsed = started.elapsed();
    let codes: HashSet<&str> = booked.iter().map(|r| r.booking_code.as_str()).collect();
    let time_prefixes: HashSet<&str> = booked.iter().map(|r| &r.reservation_id[..8]).collect();
    println!("{RUSH} bookings in {elapsed:?}: {} distinct codes, {} distinct id prefixes", codes.len(), time_prefixes.len());
    // The old SMS number: 8 hex digits of a UUIDv7 change every 65 s.
    assert!(time_prefixes.len() < 10, "{time_prefixes:?}");
    assert_eq!(codes.len(), RUSH, "every code is different");
    assert!(codes.iter().all(|c| checks_out(c)), "every code checks out");

    let (rows, distinct): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT booking_code) FROM reservations").fetch_one(&app.pool).await.unwrap();
    assert_eq!((rows, distinct), (RUSH as i64, RUSH as i64));
    let answered: HashMap<&str, &str> = booked.iter().map(|r| (r.reservation_id.as_str(), r.booking_code.as_str())).collect();
    let payloads: Vec<Vec<u8>> = sqlx::query_scalar("SELECT payload FROM outbox").fetch_all(&app.pool).await.unwrap();
    assert_eq!(payloads.len(), RUSH);
    for payload in payloads {
        let event = ev::ReservationConfirmed::decode(payload.as_slice()).unwrap();
        assert_eq!(answered.get(event.reservation_id.as_str()), Some(&event.booking_code.as_str()), "the event carries the code");
    }
    Arc::into_inner(app).unwrap().stop().await;
}

/// A test-only trigger hands the insert an existing code while a sequence
/// (which no rollback resets) is below a limit the test sets.
const COLLIDE: &str = "
    CREATE SEQUENCE collide_draws;
    CREATE TABLE collide_until (draw bigint NOT NULL);
    INSERT INTO collide_until VALUES (0);
    CREATE FUNCTION collide() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF nextval('collide_draws') <= (SELECT draw FROM collide_until) THEN
            NEW.booking_code := (SELECT booking_code FROM reservations LIMIT 1);
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER collide BEFORE INSERT ON reservations FOR EACH ROW EXECUTE FUNCTION collide();";

#[tokio::test]
async fn a_taken_code_is_drawn_again_and_leaves_nothing_half_written() {
    let app = common::start().await;
    let slot = app.inventory.slot(10);
    let first = app.book(&app.person("subj-first"), "key-first", slot).await.unwrap();
    sqlx::raw_sql(COLLIDE).execute(&app.pool).await.unwrap();
    let draws = || async { app.count("SELECT last_value FROM collide_draws").await };

    // Three draws are taken, the fourth is free.
    sqlx::query("UPDATE collide_until SET draw = 3").execute(&app.pool).await.unwrap();
    let second = app.book(&app.person("subj-second"), "key-second", slot).await.unwrap();
    assert_eq!(draws().await, 4);
    assert!(checks_out(&second.booking_code) && second.booking_code != first.booking_code, "{second:?}");
    assert_eq!(app.ledger(slot).await, Some((10, 2)), "one place per booking, none for the failed draws");
    assert_eq!((app.count("SELECT count(*) FROM reservations").await, app.count("SELECT count(*) FROM outbox").await), (2, 2));

    // Every draw taken: the booking fails, and nothing of it was written.
    sqlx::query("UPDATE collide_until SET draw = 1000").execute(&app.pool).await.unwrap();
    let third = app.person("subj-third");
    let err = app.book(&third, "key-third", slot).await.unwrap_err();
    assert_eq!(err.code(), Code::Internal, "{err:?}");
    assert_eq!(draws().await, 4 + 8, "eight draws");
    assert_eq!(app.ledger(slot).await, Some((10, 2)));
    assert_eq!((app.count("SELECT count(*) FROM reservations").await, app.count("SELECT count(*) FROM outbox").await), (2, 2));
    // The same attempt again, once codes are free: booked normally.
    sqlx::query("UPDATE collide_until SET draw = 0").execute(&app.pool).await.unwrap();
    assert!(checks_out(&app.book(&third, "key-third", slot).await.unwrap().booking_code));
    assert_eq!(app.ledger(slot).await, Some((10, 3)));
    app.stop().await;
}

#[tokio::test]
async fn a_reservation_is_found_cancelled_and_moved_by_its_code_however_it_is_typed() {
    let mut app = common::start().await;
    let (slot, other) = (app.inventory.slot(10), app.inventory.slot(10));
    let person = app.person("subj-code");
    let booked = app.book(&person, "key-code-1", slot).await.unwrap();
    let code = booked.booking_code.clone();
    assert!(checks_out(&code), "{code}");
    let confirmed: ev::ReservationConfirmed = app.tap.expect(ev::routing::RESERVATION_CONFIRMED).await;
    assert_eq!(confirmed.booking_code, code);

    let typed = [code.clone(), code.replace('-', ""), code.to_lowercase(), format!(" {} {} ", &code[..4], &code[5..].to_lowercase())];
    for input in &typed {
        let found = app.client.clone().get_reservation(app.req(&person, get(&person, "", input))).await.unwrap().into_inner();
        assert_eq!(found.reservation.as_ref(), Some(&booked), "{input:?}");
    }
    let list = pb::ListReservationsRequest { identity_assertion: person.assertion.clone(), ..Default::default() };
    let listed = app.client.clone().list_reservations(app.req(&person, list)).await.unwrap().into_inner();
    assert_eq!(listed.reservations[0].booking_code, code);

    // A code names a booking, it does not open it: a stranger gets NOT_FOUND.
    let stranger = app.person("subj-stranger");
    assert_eq!(get_err(&app, &stranger, "", &code).await.code(), Code::NotFound);

    let reschedule = pb::RescheduleReservationRequest {
        booking_code: code.to_lowercase(),
        new_slot_id: other.to_string(),
        identity_assertion: person.assertion.clone(),
        ..Default::default()
    };
    let moved = app.client.clone().reschedule_reservation(app.req(&person, reschedule)).await.unwrap().into_inner().reservation.unwrap();
    assert_eq!((moved.slot_id, moved.booking_code.as_str()), (other.to_string(), code.as_str()), "the code stays");
    let rescheduled: ev::ReservationRescheduled = app.tap.expect(ev::routing::RESERVATION_RESCHEDULED).await;
    assert_eq!(rescheduled.booking_code, code);

    let cancel = pb::CancelReservationRequest {
        booking_code: code.replace('-', " "),
        identity_assertion: person.assertion.clone(),
        ..Default::default()
    };
    let cancelled = app.client.clone().cancel_reservation(app.req(&person, cancel)).await.unwrap().into_inner().reservation.unwrap();
    assert_eq!((cancelled.state, cancelled.booking_code.as_str()), (pb::ReservationState::Cancelled as i32, code.as_str()));
    let event: ev::ReservationCancelled = app.tap.expect(ev::routing::RESERVATION_CANCELLED).await;
    assert_eq!(event.booking_code, code);
    assert_eq!((app.ledger(slot).await, app.ledger(other).await), (Some((10, 0)), Some((10, 0))));
    app.stop().await;
}

#[tokio::test]
async fn a_code_that_does_not_check_out_is_invalid_argument_on_booking_code() {
    let app = common::start().await;
    let person = app.person("subj-bad-code");
    let booked = app.book(&person, "key-bad-code", app.inventory.slot(10)).await.unwrap();
    let code: Vec<char> = booked.booking_code.chars().collect();
    let shown = |chars: &[char]| chars.iter().collect::<String>();
    let mut wrong_last = code.clone();
    wrong_last[8] = ALPHABET.chars().find(|&c| c != code[8]).unwrap();
    let mut swapped = code.clone();
    let at = (0..8).find(|&i| i != 3 && i != 4 && code[i] != code[i + 1]).unwrap();
    swapped.swap(at, at + 1);
    for bad in [shown(&wrong_last), shown(&swapped), "K7MO-4QPW".into(), "K7MX-4QP".into(), "K7MX-4QPWW".into()] {
        let err = get_err(&app, &person, "", &bad).await;
        assert_eq!(err.code(), Code::InvalidArgument, "{bad}: {err:?}");
        assert_eq!(field_violations(&err), vec!["booking_code".to_string()], "{bad}: {err:?}");
    }
    let err = get_err(&app, &person, &booked.reservation_id, &booked.booking_code).await;
    assert_eq!(field_violations(&err), vec!["booking_code".to_string()], "both given: {err:?}");
    let err = get_err(&app, &person, "", "").await;
    assert_eq!(field_violations(&err), vec!["reservation_id".to_string()], "neither given: {err:?}");
    // A code that checks out but is nobody's.
    let unknown = if booked.booking_code == "K7MX-4QPW" { "22222222" } else { "K7MX-4QPW" };
    assert_eq!(get_err(&app, &person, "", unknown).await.code(), Code::NotFound);
    let cancel =
        pb::CancelReservationRequest { booking_code: "nope".into(), identity_assertion: person.assertion.clone(), ..Default::default() };
    let err = app.client.clone().cancel_reservation(app.req(&person, cancel)).await.unwrap_err();
    assert_eq!(field_violations(&err), vec!["booking_code".to_string()], "{err:?}");
    app.stop().await;
}

/// The migration's SQL draws codes for the rows that existed before codes
/// (and for a previous build's inserts): they check out, and the service
/// reads and finds a row that has one.
#[tokio::test]
async fn the_migrations_codes_are_the_services() {
    let app = common::start().await;
    let drawn: Vec<String> =
        sqlx::query_scalar("SELECT reservation_booking_code() FROM generate_series(1, 5000)").fetch_all(&app.pool).await.unwrap();
    for code in &drawn {
        assert!(checks_out(&format!("{}-{}", &code[..4], &code[4..])), "{code}");
    }
    assert!(drawn.iter().collect::<HashSet<_>>().len() > 4_990);
    let person = app.person("subj-sql-code");
    let booked = app.book(&person, "key-sql-code", app.inventory.slot(10)).await.unwrap();
    let code: String =
        sqlx::query_scalar("UPDATE reservations SET booking_code = DEFAULT RETURNING booking_code").fetch_one(&app.pool).await.unwrap();
    let found = app.client.clone().get_reservation(app.req(&person, get(&person, "", &code))).await.unwrap().into_inner();
    let found = found.reservation.unwrap();
    assert_eq!((found.reservation_id, found.booking_code), (booked.reservation_id, format!("{}-{}", &code[..4], &code[4..])));
    app.stop().await;
}
