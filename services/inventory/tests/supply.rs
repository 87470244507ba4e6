//! Supply changes in the catalogue (InventoryOperatorService) and the
//! internal reads the reservation service moves bookings with
//! (SupplyCatalogService): closed slots leave search, their event and audit
//! row commit with them, a change run twice changes once, replacements of a
//! vaccine change are bookable, and only operators get in.
#![allow(clippy::unwrap_used)]
mod common;

use inventory::domain::catalogue::{self, DemoClinic};
use prost::Message as _;
use tonic::Code;
use uuid::Uuid;
use yeyak_platform::grpc::status::field_violations;
use yeyak_proto::{
    events::v1::{self as ev, routing},
    inventory::v1 as pb,
    time::to_proto,
};

use common::{as_operator, TestApp, OPERATOR_TOKEN, SUPPORT_TOKEN};

fn jeju(district: &str) -> DemoClinic {
    catalogue::clinics(2).into_iter().find(|c| c.district_code == district).unwrap()
}

fn day_scope(clinic: &DemoClinic, day: &str) -> pb::SlotScope {
    pb::SlotScope { clinic_id: clinic.clinic_id.to_string(), date: day.into(), ..Default::default() }
}

async fn close(app: &TestApp, scope: pb::SlotScope, dry_run: bool) -> Result<pb::SupplyChange, tonic::Status> {
    let request = as_operator(OPERATOR_TOKEN, pb::CloseSlotsRequest { scope: Some(scope), max_move_days: 0, dry_run });
    Ok(app.operators().await.close_slots(request).await?.into_inner().change.unwrap())
}

async fn availability(app: &TestApp, clinic: &DemoClinic, vaccine: &str, day: &str) -> Vec<pb::Slot> {
    let req = pb::GetAvailabilityRequest {
        clinic_id: clinic.clinic_id.to_string(),
        vaccine_code: vaccine.into(),
        from_date: day.into(),
        to_date: day.into(),
    };
    app.inventory().await.get_availability(app.with_pass(req)).await.unwrap().into_inner().slots
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(app.store.pool()).await.unwrap()
}

#[tokio::test]
async fn a_closed_day_leaves_search_once_with_its_event_and_audit() {
    let app = common::spawn(2, 3).await;
    let clinic = jeju("50110");
    let vaccine = clinic.vaccines[0];
    let day = app.day(1);
    assert_eq!(availability(&app, &clinic, vaccine, &day).await.len(), 8);
    let listed = |clinics: Vec<pb::ClinicSummary>| clinics.iter().any(|c| c.clinic_id == clinic.clinic_id.to_string());
    assert!(listed(app.search("50110", vaccine, 1, 1).await.unwrap()));

    let dry = close(&app, day_scope(&clinic, &day), true).await.unwrap();
    assert!(dry.dry_run && dry.change_id.is_empty());
    assert_eq!((dry.closed.len(), dry.max_move_days), (8 * clinic.vaccines.len(), 7));
    assert_eq!(count(&app, "SELECT count(*) FROM slots WHERE closed_by IS NOT NULL").await, 0, "a dry run changes nothing");
    assert_eq!(count(&app, "SELECT count(*) FROM outbox").await + count(&app, "SELECT count(*) FROM operator_audit").await, 0);

    let change = close(&app, day_scope(&clinic, &day), false).await.unwrap();
    let change_id = Uuid::parse_str(&change.change_id).unwrap();
    assert_eq!(change.closed.len(), 8 * clinic.vaccines.len());
    assert!(availability(&app, &clinic, vaccine, &day).await.is_empty(), "closed slots are not offered");
    assert_eq!(availability(&app, &clinic, vaccine, &app.day(2)).await.len(), 8, "the next day is untouched");
    assert!(!listed(app.search("50110", vaccine, 1, 1).await.unwrap()), "the day has no places left to find");
    let (key, payload): (String, Vec<u8>) =
        sqlx::query_as("SELECT routing_key, payload FROM outbox").fetch_one(app.store.pool()).await.unwrap();
    let event = ev::SupplyChanged::decode(payload.as_slice()).unwrap();
    assert_eq!(
        (key.as_str(), event.change_id.as_str(), event.operator.as_str()),
        (routing::SUPPLY_CHANGED, change.change_id.as_str(), "kim.ops")
    );
    assert_eq!(
        (event.closed_slots.len(), event.max_move_days, event.kind),
        (8 * clinic.vaccines.len(), 7, ev::SupplyChangeKind::Close as i32)
    );
    let audit: (String, String, String) =
        sqlx::query_as("SELECT operator, action, resource FROM operator_audit").fetch_one(app.store.pool()).await.unwrap();
    assert_eq!(audit, ("kim.ops".into(), "inventory.close_slots".into(), format!("clinic {}", clinic.clinic_id)));

    // Closing again changes nothing and names the change that did.
    let again = close(&app, day_scope(&clinic, &day), false).await.unwrap();
    assert!(again.change_id.is_empty() && again.closed.is_empty());
    assert_eq!((again.already_closed as usize, again.earlier_change_ids), (8 * clinic.vaccines.len(), vec![change_id.to_string()]));
    assert_eq!(count(&app, "SELECT count(*) FROM outbox").await, 1, "no second event");

    // A closed slot keeps no size and takes no booking.
    let slot = &change.closed[0].slot.as_ref().unwrap().slot_id;
    let got = app.catalog().await.get_slot(pb::GetSlotRequest { slot_id: slot.clone() }).await.unwrap().into_inner();
    assert_eq!(got.slot.unwrap().capacity, 0);
    let resize = pb::ResizeSlotRequest { slot_id: slot.clone(), capacity: 9, dry_run: false };
    let err = app.operators().await.resize_slot(as_operator(OPERATOR_TOKEN, resize)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");

    // A slot that has started is left alone: its bookings are in the past.
    let started = catalogue::slots(&clinic, app.today + chrono::Days::new(2), 1)[0].slot_id;
    sqlx::query("UPDATE slots SET starts_at = now() - interval '1 hour', ends_at = now() WHERE slot_id = $1")
        .bind(started)
        .execute(app.store.pool())
        .await
        .unwrap();
    let seoul = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap()).format("%Y-%m-%dT%H:%M").to_string()
    };
    let now = chrono::Utc::now();
    let range = pb::SlotScope {
        clinic_id: clinic.clinic_id.to_string(),
        from_local_time: seoul(now - chrono::Duration::hours(3)),
        to_local_time: seoul(now + chrono::Duration::hours(1)),
        ..Default::default()
    };
    let past = close(&app, range, false).await.unwrap();
    assert_eq!((past.already_started, past.closed.len(), past.change_id.as_str()), (1, 0, ""), "{past:?}");
    let still_open: Option<Uuid> =
        sqlx::query_scalar("SELECT closed_by FROM slots WHERE slot_id = $1").bind(started).fetch_one(app.store.pool()).await.unwrap();
    assert_eq!(still_open, None);
    app.stop().await;
}

#[tokio::test]
async fn only_operators_get_in_and_bad_input_names_its_field() {
    let app = common::spawn(1, 1).await;
    let clinic = &catalogue::clinics(1)[0];
    let scope = day_scope(clinic, &app.day(1));
    let request = |token: &str, scope: Option<pb::SlotScope>, days: u32| {
        as_operator(token, pb::CloseSlotsRequest { scope, max_move_days: days, dry_run: true })
    };
    let mut ops = app.operators().await;
    assert_eq!(ops.close_slots(request("", Some(scope.clone()), 0)).await.unwrap_err().code(), Code::Unauthenticated);
    assert_eq!(
        ops.close_slots(request("not-a-token-at-all-0000000", Some(scope.clone()), 0)).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    assert_eq!(ops.close_slots(request(SUPPORT_TOKEN, Some(scope.clone()), 0)).await.unwrap_err().code(), Code::PermissionDenied);
    let unknown = pb::SlotScope { clinic_id: Uuid::new_v4().to_string(), ..scope.clone() };
    assert_eq!(ops.close_slots(request(OPERATOR_TOKEN, Some(unknown), 0)).await.unwrap_err().code(), Code::NotFound);

    let bad = |s: pb::SlotScope| Some(s);
    let cases = [
        (None, 0, "scope"),
        (bad(pb::SlotScope { clinic_id: "clinic-1".into(), ..scope.clone() }), 0, "scope.clinic_id"),
        (bad(pb::SlotScope { date: "5 Dec".into(), ..scope.clone() }), 0, "scope.date"),
        (bad(pb::SlotScope { from_local_time: "2026-12-05T10:00".into(), ..scope.clone() }), 0, "scope.date"),
        (bad(pb::SlotScope { date: String::new(), from_local_time: "2026-12-05T10:00".into(), ..scope.clone() }), 0, "scope.to_local_time"),
        (bad(pb::SlotScope { date: String::new(), ..scope.clone() }), 0, "scope.from_local_time"),
        (bad(pb::SlotScope { vaccine_code: "Pfizer!".into(), ..scope.clone() }), 0, "scope.vaccine_code"),
        (bad(scope.clone()), 29, "max_move_days"),
    ];
    for (scope, days, field) in cases {
        let err = ops.close_slots(request(OPERATOR_TOKEN, scope, days)).await.unwrap_err();
        assert_eq!((err.code(), field_violations(&err)), (Code::InvalidArgument, vec![field.to_owned()]), "{err:?}");
    }
    for (vaccine, why) in [("", "is required"), ("sputnik", "no clinic offers")] {
        let change =
            pb::ChangeVaccineRequest { scope: Some(scope.clone()), new_vaccine_code: vaccine.into(), max_move_days: 0, dry_run: true };
        let err = ops.change_vaccine(as_operator(OPERATOR_TOKEN, change)).await.unwrap_err();
        assert_eq!((err.code(), field_violations(&err)), (Code::InvalidArgument, vec!["new_vaccine_code".to_owned()]), "{err:?}");
        assert!(err.message().contains(why), "{err:?}");
    }
    let resize = pb::ResizeSlotRequest { slot_id: "s-1".into(), capacity: 3, dry_run: true };
    assert_eq!(field_violations(&ops.resize_slot(as_operator(OPERATOR_TOKEN, resize)).await.unwrap_err()), ["slot_id"]);
    app.stop().await;
}

#[tokio::test]
async fn a_vaccine_change_opens_bookable_replacements_and_resizes_are_audited() {
    let app = common::spawn(2, 2).await;
    let clinic = jeju("50130");
    let (old, new) = (clinic.vaccines[0], if clinic.vaccines[0] == "pfizer" { "moderna" } else { "pfizer" });
    let day = app.day(1);
    let scope = pb::SlotScope { vaccine_code: old.into(), ..day_scope(&clinic, &day) };
    let change = pb::ChangeVaccineRequest { scope: Some(scope), new_vaccine_code: new.into(), max_move_days: 3, dry_run: false };
    let changed = app.operators().await.change_vaccine(as_operator(OPERATOR_TOKEN, change)).await.unwrap().into_inner().change.unwrap();
    assert_eq!((changed.closed.len(), changed.max_move_days), (8, 3));
    let offered = availability(&app, &clinic, new, &day).await;
    for closed in &changed.closed {
        let old_slot = closed.slot.as_ref().unwrap();
        let replacement = offered.iter().find(|s| s.slot_id == closed.replacement_slot_id).expect("the replacement is offered");
        assert_eq!((replacement.starts_at, replacement.capacity), (old_slot.starts_at, old_slot.capacity), "same time and size");
    }
    assert!(availability(&app, &clinic, old, &day).await.is_empty());
    let event: Vec<u8> = sqlx::query_scalar("SELECT payload FROM outbox").fetch_one(app.store.pool()).await.unwrap();
    let event = ev::SupplyChanged::decode(event.as_slice()).unwrap();
    assert_eq!((event.kind, event.new_vaccine_code.as_str()), (ev::SupplyChangeKind::ChangeVaccine as i32, new));

    // Resizing an open slot: the dry run changes nothing, the change is audited with both sizes.
    let slot = &offered[0];
    let resize = |dry_run| as_operator(OPERATOR_TOKEN, pb::ResizeSlotRequest { slot_id: slot.slot_id.clone(), capacity: 2, dry_run });
    let dry = app.operators().await.resize_slot(resize(true)).await.unwrap().into_inner();
    assert_eq!((dry.previous_capacity, dry.capacity, dry.changed), (slot.capacity, 2, false));
    let done = app.operators().await.resize_slot(resize(false)).await.unwrap().into_inner();
    assert!(done.changed && !done.dry_run);
    let audit: (String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT action, old_value, new_value FROM operator_audit WHERE action = 'inventory.resize_slot'")
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert_eq!(audit, ("inventory.resize_slot".into(), Some(slot.capacity.to_string()), Some("2".into())));
    assert_eq!(count(&app, "SELECT count(*) FROM outbox WHERE routing_key = 'inventory.slot_resized.v1'").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn candidates_are_open_slots_of_the_province_nearest_first() {
    let app = common::spawn(2, 3).await;
    let clinic = jeju("50110");
    close(&app, day_scope(&clinic, &app.day(2)), false).await.unwrap();
    let from = inventory::domain::today_seoul(chrono::Utc::now()) + chrono::Days::new(1);
    let window = |days: u64| {
        let start = from.and_hms_opt(0, 0, 0).unwrap().and_utc() - chrono::Duration::hours(9);
        (Some(to_proto(start)), Some(to_proto(start + chrono::Duration::days(days as i64))))
    };
    let (starts_from, starts_before) = window(3);
    let request = pb::ListCandidateSlotsRequest {
        clinic_id: clinic.clinic_id.to_string(),
        vaccine_codes: catalogue::VACCINES.iter().map(|v| v.to_string()).collect(),
        starts_from,
        starts_before,
        max_slots: 0,
    };
    let found = app.supply().await.list_candidate_slots(request.clone()).await.unwrap().into_inner();
    assert_eq!((found.district_code.as_str(), found.province_code.as_str(), found.truncated), ("50110", "50", false));
    let jeju: Vec<String> = catalogue::clinics(2).iter().filter(|c| c.province_code == "50").map(|c| c.clinic_id.to_string()).collect();
    let expected: usize = catalogue::clinics(2).iter().filter(|c| c.province_code == "50").map(|c| c.vaccines.len() * 24).sum();
    assert_eq!(found.slots.len(), expected - 8 * clinic.vaccines.len(), "every open slot of the province, none closed");
    assert!(found.slots.iter().all(|c| jeju.contains(&c.slot.as_ref().unwrap().clinic_id)));
    let near = found.slots.iter().take_while(|c| c.district_code == "50110").count();
    assert!(near > 0 && found.slots[near..].iter().all(|c| c.district_code != "50110"), "the district first");
    let few = app
        .supply()
        .await
        .list_candidate_slots(pb::ListCandidateSlotsRequest { max_slots: 5, ..request.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((few.slots.len(), few.truncated), (5, true));
    for (bad, field) in [
        (pb::ListCandidateSlotsRequest { vaccine_codes: vec![], ..request.clone() }, "vaccine_codes"),
        (pb::ListCandidateSlotsRequest { starts_before: request.starts_from, ..request.clone() }, "starts_before"),
        (pb::ListCandidateSlotsRequest { max_slots: 10_001, ..request.clone() }, "max_slots"),
        (pb::ListCandidateSlotsRequest { clinic_id: "c".into(), ..request.clone() }, "clinic_id"),
    ] {
        assert_eq!(field_violations(&app.supply().await.list_candidate_slots(bad).await.unwrap_err()), [field]);
    }
    let scope =
        pb::ListClinicSlotsRequest { clinic_id: clinic.clinic_id.to_string(), starts_from, starts_before, vaccine_code: String::new() };
    let own = app.supply().await.list_clinic_slots(scope).await.unwrap().into_inner();
    assert_eq!(own.slots.len(), 16 * clinic.vaccines.len(), "its open slots: the closed day left out");
    app.stop().await;
}
