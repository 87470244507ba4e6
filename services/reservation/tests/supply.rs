//! Supply changes (docs/supply-changes.md) with the real inventory and the
//! reservation service as a real process: 10,000 bookings of a closed
//! clinic day moved or cancelled with the process SIGKILLed halfway and
//! restarted; a dry run that changes nothing and predicts the job exactly;
//! a vaccine change run twice (and its event delivered twice) that moves
//! every booking once.
#![allow(clippy::unwrap_used)]
mod common;
mod supply_world;

use std::{
    collections::{HashMap, HashSet},
    time::{Duration, Instant},
};

use chrono::{Duration as Span, Utc};
use prost::Message as _;
use uuid::Uuid;
use yeyak_proto::{events::v1 as ev, inventory::v1 as inv};

use supply_world::{jeju_clinic, jeju_clinic_offering, operator, World};

/// What the outbox holds for supply changes: per reservation, the events
/// (routing key, change id).
async fn change_events(world: &World) -> HashMap<Uuid, Vec<(String, String)>> {
    let rows: Vec<(String, Vec<u8>)> = sqlx::query_as("SELECT routing_key, payload FROM outbox WHERE routing_key = ANY($1)")
        .bind([ev::routing::RESERVATION_RESCHEDULED, ev::routing::RESERVATION_CANCELLED])
        .fetch_all(&world.pool)
        .await
        .unwrap();
    let mut events: HashMap<Uuid, Vec<(String, String)>> = HashMap::new();
    for (key, payload) in rows {
        let (id, change, reason) = if key == ev::routing::RESERVATION_RESCHEDULED {
            let e = ev::ReservationRescheduled::decode(payload.as_slice()).unwrap();
            (e.reservation_id, e.supply_change_id, e.reason)
        } else {
            let e = ev::ReservationCancelled::decode(payload.as_slice()).unwrap();
            (e.reservation_id, e.supply_change_id, e.reason)
        };
        assert_eq!(reason, ev::ChangeReason::SupplyChange as i32, "every change here is a supply change's");
        events.entry(Uuid::parse_str(&id).unwrap()).or_default().push((key, change));
    }
    events
}

/// The booking core's guarantees and the job's own, at any moment: every
/// item is pending (its reservation untouched) or done (moved or cancelled,
/// with exactly one event); ledger counts equal confirmed reservations; no
/// slot above its size; one active reservation per person and dose.
async fn check_invariants(world: &World, change_id: &str) {
    let unbalanced = world
        .count(
            "SELECT count(*) FROM slot_ledger l
             LEFT JOIN (SELECT slot_id, count(*) AS n FROM reservations WHERE state = 'confirmed' GROUP BY slot_id) r USING (slot_id)
             WHERE l.booked <> COALESCE(r.n, 0)",
        )
        .await;
    assert_eq!(unbalanced, 0, "ledger counts equal confirmed reservations per slot");
    let orphans = world
        .count("SELECT count(*) FROM reservations r WHERE state = 'confirmed' AND NOT EXISTS (SELECT 1 FROM slot_ledger l WHERE l.slot_id = r.slot_id)")
        .await;
    assert_eq!(orphans, 0, "no confirmed reservation without its place");
    assert_eq!(world.count("SELECT count(*) FROM slot_ledger WHERE booked > capacity").await, 0, "no slot over capacity");
    let doubles =
        world.count("SELECT count(*) FROM (SELECT 1 FROM reservations WHERE state = 'confirmed' GROUP BY subject_id, dose_number HAVING count(*) > 1) d").await;
    assert_eq!(doubles, 0, "one active reservation per person per dose");
    let wrong = world
        .count(
            "SELECT count(*) FROM supply_change_items i JOIN reservations r USING (reservation_id) WHERE NOT CASE i.state
                 WHEN 'pending' THEN r.state = 'confirmed' AND r.slot_id = i.from_slot_id
                 WHEN 'moved' THEN r.state = 'confirmed' AND r.slot_id = i.to_slot_id
                 WHEN 'cancelled' THEN r.state = 'cancelled'
                 ELSE false END",
        )
        .await;
    assert_eq!(wrong, 0, "each item is pending with its reservation untouched, or done with it moved or cancelled");
    let items: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT reservation_id, state FROM supply_change_items").fetch_all(&world.pool).await.unwrap();
    let events = change_events(world).await;
    for (id, state) in &items {
        let got = events.get(id).cloned().unwrap_or_default();
        match state.as_str() {
            "pending" => assert!(got.is_empty(), "a pending item has no event: {got:?}"),
            "moved" => assert_eq!(got, [(ev::routing::RESERVATION_RESCHEDULED.to_owned(), change_id.to_owned())], "one event per move"),
            _ => assert_eq!(got, [(ev::routing::RESERVATION_CANCELLED.to_owned(), change_id.to_owned())], "one event per cancellation"),
        }
    }
    assert_eq!(events.len(), items.iter().filter(|i| i.1 != "pending").count(), "no event without its item");
}

/// Once every event is applied, inventory's read model agrees with the
/// ledger on every slot, and its day summaries add up.
async fn read_model_agrees(world: &World) {
    let ledger: HashMap<Uuid, i32> = sqlx::query_as::<_, (Uuid, i32)>("SELECT slot_id, booked FROM slot_ledger")
        .fetch_all(&world.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    common::eventually(Duration::from_secs(60), "inventory's read model to agree with the ledger", || async {
        let shown: Vec<(Uuid, i32)> = sqlx::query_as("SELECT slot_id, booked FROM slots WHERE booked <> 0 OR slot_id = ANY($1)")
            .bind(ledger.keys().copied().collect::<Vec<_>>())
            .fetch_all(&world.inventory)
            .await
            .unwrap();
        shown.iter().all(|(slot, booked)| ledger.get(slot).copied().unwrap_or(0) == *booked).then_some(())
    })
    .await;
    let off: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM daily_availability d
         JOIN (SELECT clinic_id, vaccine_code, local_date, sum(capacity) AS cap, sum(least(greatest(booked, 0), capacity)) AS taken
               FROM slots GROUP BY 1, 2, 3) s USING (clinic_id, vaccine_code, local_date)
         WHERE d.capacity <> s.cap OR d.booked <> s.taken",
    )
    .fetch_one(&world.inventory)
    .await
    .unwrap();
    assert_eq!(off, 0, "day summaries add up their open slots");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_bookings_of_a_closed_day_survive_a_kill_halfway() {
    let mut world = World::start(3).await;
    let clinic = jeju_clinic("50110", 0);
    let vaccine = clinic.vaccines[0];
    let day = world.first_day;
    let closed = world.slots(&clinic, vaccine, day, 1);
    assert_eq!(closed.len(), 8);
    // The clinic's next two days take 4,800 of them; its neighbours a few hundred.
    world.set_capacity(&clinic, &world.slots(&clinic, vaccine, day + chrono::Days::new(1), 2), 300).await;
    let ids = world.seed_bookings(&clinic, &closed, 1_250, false).await;
    assert_eq!(ids.len(), 10_000);
    let process = world.spawn_reservation(2).await;

    let started = Instant::now();
    let change = world.close_day(&clinic, day, false).await;
    assert_eq!((change.closed.len(), change.booked), (8 * clinic.vaccines.len(), 10_000), "the whole day closes");
    let mut halfway = 0;
    while halfway < 5_000 {
        assert!(started.elapsed() < Duration::from_secs(120), "half the job within two minutes ({halfway} handled)");
        tokio::time::sleep(Duration::from_millis(20)).await;
        halfway = world.handled().await;
    }
    process.kill().await;
    let at_kill = world.handled().await;
    println!("killed after {at_kill} of 10,000 in {:?}", started.elapsed());
    assert!(at_kill < 10_000, "killed halfway, not after the end");
    check_invariants(&world, &change.change_id).await;

    let restarted = world.spawn_reservation(2).await;
    world.wait_done(&change.change_id, Duration::from_secs(180)).await;
    println!("job done {:?} after the change", started.elapsed());
    check_invariants(&world, &change.change_id).await;
    let states: HashMap<String, i64> = sqlx::query_as("SELECT state, count(*) FROM supply_change_items GROUP BY state")
        .fetch_all(&world.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let (moved, cancelled) = (states.get("moved").copied().unwrap_or(0), states.get("cancelled").copied().unwrap_or(0));
    println!("moved {moved}, cancelled {cancelled}");
    assert_eq!(moved + cancelled, 10_000, "every booking moved or cancelled: {states:?}");
    assert!(moved >= 4_800 && cancelled > 0, "the clinic's next days filled, the rest cancelled: {states:?}");
    let closed_ids: Vec<Uuid> = closed.iter().map(|s| s.slot_id).collect();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM slot_ledger WHERE slot_id = ANY($1) AND (booked, capacity) <> (0, 0)")
        .bind(&closed_ids)
        .fetch_one(&world.pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "the closed slots hold nothing and take nothing");

    // Every move is equivalent: an allowed vaccine, within a week, in the province, not too soon.
    let allowed: HashSet<&str> = [vaccine]
        .into_iter()
        .chain(match vaccine {
            "pfizer" => Some("moderna"),
            "moderna" => Some("pfizer"),
            _ => None,
        })
        .collect();
    /// A move: vaccine, start, clinic, the closed slot's start, dose.
    type Move = (String, chrono::DateTime<Utc>, String, chrono::DateTime<Utc>, i32);
    let moves: Vec<Move> = sqlx::query_as(
        "SELECT r.vaccine_code, r.starts_at, r.clinic_id, l.starts_at, r.dose_number FROM supply_change_items i
         JOIN reservations r USING (reservation_id) JOIN slot_ledger l ON l.slot_id = i.from_slot_id
         WHERE i.state = 'moved'",
    )
    .fetch_all(&world.pool)
    .await
    .unwrap();
    let jeju: HashSet<String> =
        inventory::domain::catalogue::clinics(2).iter().filter(|c| c.province_code == "50").map(|c| c.clinic_id.to_string()).collect();
    for (v, starts_at, clinic_id, from, dose) in &moves {
        assert!(allowed.contains(v.as_str()) && jeju.contains(clinic_id), "{v} at {clinic_id}");
        assert!((*starts_at - *from).abs() <= Span::days(7) && *starts_at > Utc::now(), "{from} -> {starts_at}");
        assert!(*dose == 1 || starts_at >= from, "a second dose moved earlier: {from} -> {starts_at}");
    }
    assert!(moves.iter().any(|m| m.4 == 2), "second doses moved too");
    // Nobody was cancelled while an equivalent slot still had a place.
    let candidates: Vec<(Uuid, i32)> = sqlx::query_as(
        "SELECT s.slot_id, s.capacity FROM slots s JOIN clinics c USING (clinic_id)
         WHERE c.province_code = '50' AND s.vaccine_code = ANY($1) AND s.closed_by IS NULL AND s.capacity > 0
           AND s.starts_at > now() + interval '2 hours' AND s.starts_at <= $2",
    )
    .bind(allowed.iter().map(|v| v.to_string()).collect::<Vec<_>>())
    .bind(closed[0].starts_at + Span::days(7))
    .fetch_all(&world.inventory)
    .await
    .unwrap();
    let ledger: HashMap<Uuid, (i32, i32)> = sqlx::query_as::<_, (Uuid, i32, i32)>("SELECT slot_id, capacity, booked FROM slot_ledger")
        .fetch_all(&world.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|(s, c, b)| (s, (c, b)))
        .collect();
    for (slot, capacity) in candidates {
        let (cap, booked) = ledger.get(&slot).copied().unwrap_or((capacity, 0));
        assert_eq!(booked, cap, "slot {slot} still had a place while bookings were cancelled");
    }
    // Every event reaches the bus, and inventory's read model follows.
    let mut seen = HashSet::new();
    while seen.len() < 10_000 {
        let Some(event) = world.tap.next_within(Duration::from_secs(30)).await else { break };
        seen.insert(event.message_id);
    }
    assert_eq!(seen.len(), 10_000, "one published event per booking");
    read_model_agrees(&world).await;
    println!("all events applied {:?} after the change", started.elapsed());
    restarted.kill().await;
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_changes_nothing_and_predicts_the_job() {
    let world = World::start(3).await;
    let clinic = jeju_clinic("50130", 0);
    let vaccine = clinic.vaccines[0];
    // The middle day: bookings may move earlier and later.
    let day = world.first_day + chrono::Days::new(1);
    let closed = world.slots(&clinic, vaccine, day, 1);
    world.seed_bookings(&clinic, &closed, 120, false).await;
    // One worker: the job takes the bookings in the order the plan does.
    let process = world.spawn_reservation(1).await;
    let ledger = "SELECT coalesce(sum(capacity * 100000 + booked), 0)::int8 FROM slot_ledger";
    let before = world.count(ledger).await;

    let dry = world.close_day(&clinic, day, true).await;
    assert!(dry.dry_run && dry.change_id.is_empty(), "{dry:?}");
    assert_eq!((dry.closed.len(), dry.booked, dry.already_closed), (8 * clinic.vaccines.len(), 960, 0));
    let plan = process.plan_close(&clinic, day).await;
    println!("plan: {} moved to {} slots, {} cancelled", plan.moved, plan.targets.len(), plan.cancelled);
    assert_eq!((plan.affected, plan.moved + plan.cancelled), (960, 960));
    assert_eq!(plan.targets.iter().map(|t| t.count).sum::<u32>(), plan.moved);
    assert!(plan.moved > 0 && plan.cancelled > 0, "the neighbours take some, not all: {plan:?}");

    // Nothing changed anywhere.
    assert_eq!(world.inventory_count("SELECT count(*) FROM slots WHERE closed_by IS NOT NULL").await, 0);
    assert_eq!(world.inventory_count("SELECT count(*) FROM outbox").await, 0, "no event");
    assert_eq!(world.inventory_count("SELECT count(*) FROM operator_audit").await, 0, "a dry run is no action");
    assert_eq!(world.count("SELECT count(*) FROM supply_changes").await, 0);
    assert_eq!(world.count("SELECT count(*) FROM outbox").await, 0);
    assert_eq!(world.count(ledger).await, before);

    // The change does what the plan said, slot by slot.
    let change = world.close_day(&clinic, day, false).await;
    world.wait_done(&change.change_id, Duration::from_secs(60)).await;
    let request = yeyak_proto::reservation::v1::GetSupplyChangeRequest { change_id: change.change_id.clone() };
    let status = process.supply().await.get_supply_change(operator(request)).await.unwrap().into_inner();
    assert_eq!((status.total, status.moved, status.cancelled, status.pending), (960, plan.moved, plan.cancelled, 0));
    assert_eq!(status.requested_by, "kim.ops");
    let targets = |t: &[yeyak_proto::reservation::v1::SupplyTarget]| t.iter().map(|t| (t.slot_id.clone(), t.count)).collect::<HashSet<_>>();
    assert_eq!(targets(&status.targets), targets(&plan.targets), "the dry run named the job's targets");
    check_invariants(&world, &change.change_id).await;
    let audit: Vec<(String, String)> =
        sqlx::query_as("SELECT operator, action FROM operator_audit").fetch_all(&world.inventory).await.unwrap();
    assert_eq!(audit, [("kim.ops".to_owned(), "inventory.close_slots".to_owned())], "the change is audited once");
    process.kill().await;
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vaccine_change_run_twice_and_delivered_twice_moves_each_booking_once() {
    let world = World::start(2).await;
    let clinic = jeju_clinic_offering("pfizer").or_else(|| jeju_clinic_offering("moderna")).expect("a Jeju clinic with an mRNA vaccine");
    let (from, to) = if clinic.vaccines.contains(&"pfizer") { ("pfizer", "moderna") } else { ("moderna", "pfizer") };
    let day = world.first_day;
    let closed = world.slots(&clinic, from, day, 1);
    world.seed_bookings(&clinic, &closed, 10, false).await;
    let process = world.spawn_reservation(2).await;
    let change_vaccine = |dry_run: bool| {
        let scope = inv::SlotScope {
            clinic_id: clinic.clinic_id.to_string(),
            date: day.to_string(),
            vaccine_code: from.into(),
            ..Default::default()
        };
        operator(inv::ChangeVaccineRequest { scope: Some(scope), new_vaccine_code: to.into(), max_move_days: 3, dry_run })
    };
    let first = world.operator_client().await.change_vaccine(change_vaccine(false)).await.unwrap().into_inner().change.unwrap();
    assert_eq!((first.closed.len(), first.booked, first.max_move_days), (8, 80, 3));
    assert!(first.closed.iter().all(|c| !c.replacement_slot_id.is_empty()), "each slot has its replacement");
    let again = world.operator_client().await.change_vaccine(change_vaccine(false)).await.unwrap().into_inner().change.unwrap();
    assert!(again.change_id.is_empty() && again.closed.is_empty(), "nothing left to change: {again:?}");
    assert_eq!((again.already_closed, again.earlier_change_ids.clone()), (8, vec![first.change_id.clone()]));
    world.wait_done(&first.change_id, Duration::from_secs(60)).await;

    // The event arrives a second time (a redelivery): nothing starts again.
    let (id, payload): (Uuid, Vec<u8>) = sqlx::query_as("SELECT event_id, payload FROM outbox WHERE routing_key = $1")
        .bind(ev::routing::SUPPLY_CHANGED)
        .fetch_one(&world.inventory)
        .await
        .unwrap();
    let outgoing = yeyak_platform::messaging::publisher::Outgoing {
        event_id: id,
        routing_key: ev::routing::SUPPLY_CHANGED.into(),
        payload,
        traceparent: String::new(),
    };
    common::publish(&world.amqp, outgoing).await;
    // The queue is consumed in order: once a later change is done, the redelivery was handled.
    let later = world.close_day(&clinic, day + chrono::Days::new(1), false).await;
    world.wait_done(&later.change_id, Duration::from_secs(60)).await;
    let items: Vec<(Uuid, i64)> =
        sqlx::query_as("SELECT change_id, count(*) FROM supply_change_items GROUP BY change_id").fetch_all(&world.pool).await.unwrap();
    let first_id = Uuid::parse_str(&first.change_id).unwrap();
    assert_eq!(items.iter().find(|i| i.0 == first_id).map(|i| i.1), Some(80), "80 items, not 160: {items:?}");
    let events = change_events(&world).await;
    let moved: Vec<&Vec<(String, String)>> = events.values().filter(|e| e.iter().any(|(_, c)| *c == first.change_id)).collect();
    assert_eq!(moved.len(), 80, "one event per booking of the first change");
    // The replacement slots are open in the catalogue; the old ones are closed.
    let replacements: Vec<Uuid> = first.closed.iter().map(|c| Uuid::parse_str(&c.replacement_slot_id).unwrap()).collect();
    let open: i64 = sqlx::query_scalar("SELECT count(*) FROM slots WHERE slot_id = ANY($1) AND closed_by IS NULL AND vaccine_code = $2")
        .bind(&replacements)
        .bind(to)
        .fetch_one(&world.inventory)
        .await
        .unwrap();
    assert_eq!(open, 8);
    let substituted = world.count(&format!("SELECT count(*) FROM reservations WHERE vaccine_code = '{to}' AND state = 'confirmed'")).await;
    println!("{substituted} of 80 moved to {to}");
    process.kill().await;
    world.stop().await;
}
