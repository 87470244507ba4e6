//! The Redis cache of hot answers: served while valid, invalidated by the
//! bookings the consumer applies, and never a dependency.
#![allow(clippy::unwrap_used)]
mod common;

use std::time::{Duration, Instant};

use inventory::{domain::catalogue, store::cache::Scope};
use prost::Message as _;
use uuid::Uuid;
use yeyak_platform::messaging::{publisher::Outgoing, Publisher};
use yeyak_proto::{
    events::v1::{self as ev, routing},
    inventory::v1 as pb,
};

fn confirmed(slot: Uuid) -> Outgoing {
    let id = Uuid::new_v4();
    let e = ev::ReservationConfirmed {
        meta: Some(ev::EventMeta { event_id: id.to_string(), ..Default::default() }),
        reservation_id: Uuid::new_v4().to_string(),
        slot_id: slot.to_string(),
        ..Default::default()
    };
    Outgoing { event_id: id, routing_key: routing::RESERVATION_CONFIRMED.into(), payload: e.encode_to_vec(), traceparent: String::new() }
}

async fn search(app: &common::TestApp, region: &str, vaccine: &str) -> Vec<pb::ClinicSummary> {
    app.search(region, vaccine, 1, 2).await.expect("search")
}

async fn total(app: &common::TestApp, clinic: &catalogue::DemoClinic, region: &str, vaccine: &str) -> u32 {
    let id = clinic.clinic_id.to_string();
    search(app, region, vaccine).await.iter().find(|c| c.clinic_id == id).map_or(0, |c| c.remaining_total)
}

async fn availability(app: &common::TestApp, clinic: &catalogue::DemoClinic, vaccine: &str) -> Vec<pb::Slot> {
    let req = pb::GetAvailabilityRequest {
        clinic_id: clinic.clinic_id.to_string(),
        vaccine_code: vaccine.into(),
        from_date: app.day(1),
        to_date: app.day(2),
    };
    app.inventory().await.get_availability(app.with_pass(req)).await.expect("availability").into_inner().slots
}

async fn version(app: &common::TestApp, scope: &Scope) -> Option<i64> {
    let client = redis::Client::open(common::REDIS_URL).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("GET").arg(app.cache.version_key(scope)).query_async(&mut conn).await.unwrap()
}

#[tokio::test]
async fn answers_are_cached_until_a_booking_invalidates_them() {
    let app = common::spawn(1, 2).await;
    let clinics = catalogue::clinics(1);
    let clinic = &clinics[0];
    let vaccine = clinic.vaccines[0];
    // A clinic elsewhere (another province) whose cached answers must survive.
    let other = clinics.iter().find(|c| c.province_code != clinic.province_code && c.vaccines.contains(&vaccine)).unwrap();
    let slots: Vec<_> =
        catalogue::slots(clinic, app.today + chrono::Days::new(1), 2).into_iter().filter(|s| s.vaccine_code == vaccine).collect();
    let full: u32 = slots.iter().map(|s| s.capacity as u32).sum();

    assert_eq!(total(&app, clinic, clinic.district_code, vaccine).await, full);
    assert_eq!(total(&app, clinic, clinic.province_code, vaccine).await, full);
    assert!(total(&app, other, other.province_code, vaccine).await > 0);
    let before = availability(&app, clinic, vaccine).await;
    assert!(before.iter().all(|s| s.remaining == s.capacity));
    assert!(!common::redis_keys(&app.redis_prefix, "inv:search:*").await.is_empty(), "search pages are cached");
    assert!(!common::redis_keys(&app.redis_prefix, "inv:availability:*").await.is_empty(), "availability is cached");

    // Change the read model behind the cache's back: cached answers are still served.
    sqlx::query("UPDATE slots SET booked = 2 WHERE slot_id = $1").bind(slots[0].slot_id).execute(app.store.pool()).await.unwrap();
    sqlx::query("UPDATE daily_availability SET booked = 2 WHERE clinic_id = $1 AND vaccine_code = $2 AND local_date = $3")
        .bind(clinic.clinic_id)
        .bind(vaccine)
        .bind(slots[0].local_date)
        .execute(app.store.pool())
        .await
        .unwrap();
    assert_eq!(total(&app, clinic, clinic.district_code, vaccine).await, full, "served from the cache");
    assert_eq!(availability(&app, clinic, vaccine).await, before, "served from the cache");

    // A booking the consumer applies invalidates this clinic's scopes only.
    let unrelated = Scope::Region { code: other.province_code.into(), vaccine: vaccine.into() };
    let scopes = [
        Scope::Clinic { clinic_id: clinic.clinic_id, vaccine: vaccine.into() },
        Scope::Region { code: clinic.district_code.into(), vaccine: vaccine.into() },
        Scope::Region { code: clinic.province_code.into(), vaccine: vaccine.into() },
        unrelated.clone(),
    ];
    let mut versions = Vec::new();
    for scope in &scopes {
        versions.push(version(&app, scope).await);
    }
    assert!(versions.iter().all(Option::is_some), "every scope read has a version: {versions:?}");
    let publisher = Publisher::new(app.amqp.clone());
    app.publish(&publisher, confirmed(slots[1].slot_id)).await;
    common::eventually(Duration::from_secs(10), "the district page to show both changes", || async {
        (total(&app, clinic, clinic.district_code, vaccine).await == full - 3).then_some(())
    })
    .await;
    assert_eq!(total(&app, clinic, clinic.province_code, vaccine).await, full - 3, "the province page too");
    let now = availability(&app, clinic, vaccine).await;
    let remaining = |id: Uuid| now.iter().find(|s| s.slot_id == id.to_string()).unwrap().remaining;
    assert_eq!(remaining(slots[0].slot_id), slots[0].capacity as u32 - 2);
    assert_eq!(remaining(slots[1].slot_id), slots[1].capacity as u32 - 1);
    for (scope, before) in scopes[..3].iter().zip(&versions) {
        assert!(version(&app, scope).await > *before, "{scope:?} bumped");
    }
    assert_eq!(version(&app, &unrelated).await, versions[3], "other provinces keep their cached pages");
    app.stop().await;
}

#[tokio::test]
async fn reads_fall_back_to_postgres_while_redis_is_down() {
    let proxy = yeyak_testkit::Proxy::start("127.0.0.1:6379").await.unwrap();
    let options = common::Options { redis_url: Some(format!("redis://{}/0", proxy.addr())), ..Default::default() };
    let app = common::spawn_with(1, 2, options).await;
    let clinic = &catalogue::clinics(1)[0];
    let vaccine = clinic.vaccines[0];
    let slot = catalogue::slots(clinic, app.today + chrono::Days::new(1), 2).into_iter().find(|s| s.vaccine_code == vaccine).unwrap();
    let full = total(&app, clinic, clinic.district_code, vaccine).await;
    assert!(full > 0);
    let district = Scope::Region { code: clinic.district_code.into(), vaccine: vaccine.into() };
    let before = version(&app, &district).await;

    proxy.cut();
    let publisher = Publisher::new(app.amqp.clone());
    app.publish(&publisher, confirmed(slot.slot_id)).await;
    // Straight from PostgreSQL: the change shows although its invalidation cannot reach Redis.
    common::eventually(Duration::from_secs(10), "the booking to show without the cache", || async {
        (total(&app, clinic, clinic.district_code, vaccine).await == full - 1).then_some(())
    })
    .await;
    let started = Instant::now();
    for _ in 0..20 {
        assert_eq!(total(&app, clinic, clinic.district_code, vaccine).await, full - 1);
        let regions = app.inventory().await.list_regions(app.with_pass(pb::ListRegionsRequest {})).await.expect("regions");
        assert_eq!(regions.into_inner().provinces.len(), 17);
    }
    assert!(started.elapsed() < Duration::from_secs(5), "reads stay fast while Redis is down: {:?}", started.elapsed());

    // Redis is back: the queued invalidation goes out, and the stale page cached before the cut is not served.
    proxy.restore();
    common::eventually(Duration::from_secs(15), "the invalidation to reach Redis", || async {
        version(&app, &district).await.filter(|v| Some(*v) > before)
    })
    .await;
    for _ in 0..5 {
        assert_eq!(total(&app, clinic, clinic.district_code, vaccine).await, full - 1);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn the_cache_can_be_switched_off() {
    let app = common::spawn_with(1, 1, common::Options { cache_disabled: true, ..Default::default() }).await;
    let clinic = &catalogue::clinics(1)[0];
    assert!(total(&app, clinic, clinic.district_code, clinic.vaccines[0]).await > 0);
    assert!(common::redis_keys(&app.redis_prefix, "*").await.is_empty());
    app.stop().await;
}
