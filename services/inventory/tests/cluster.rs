//! The cache of hot answers on a Redis Cluster (`YEYAK_REDIS_MODE=cluster`):
//! entries cached under their scope's version (one script reading a version
//! key and an entry: one slot per scope), invalidated by a booking (version
//! bumps batched across slots), and never a dependency: inventory starts and
//! serves while the cluster cannot be reached, and uses it once it can.
#![allow(clippy::unwrap_used)]
mod common;

use std::time::Duration;

use inventory::{domain::catalogue, store::cache::Scope};
use prost::Message as _;
use uuid::Uuid;
use yeyak_platform::messaging::{publisher::Outgoing, Publisher};
use yeyak_proto::events::v1::{self as ev, routing};
use yeyak_testkit::{redis_cluster::RedisCluster, Proxy};

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

async fn total(app: &common::TestApp, clinic: &catalogue::DemoClinic, region: &str, vaccine: &str) -> u32 {
    let clinics = app.search(region, vaccine, 1, 2).await.expect("search");
    clinics.iter().find(|c| c.clinic_id == clinic.clinic_id.to_string()).map_or(0, |c| c.remaining_total)
}

async fn version(cluster: &RedisCluster, app: &common::TestApp, scope: &Scope) -> Option<i64> {
    let client = redis::cluster::ClusterClient::new(cluster.url().split(',').collect::<Vec<_>>()).unwrap();
    let mut conn = client.get_async_connection().await.unwrap();
    redis::cmd("GET").arg(app.cache.version_key(scope)).query_async(&mut conn).await.unwrap()
}

fn on_cluster(seeds: String) -> common::Options {
    common::Options { redis_url: Some(seeds), redis_cluster: true, ..Default::default() }
}

#[tokio::test]
async fn answers_are_cached_and_invalidated_on_a_redis_cluster() {
    let cluster = RedisCluster::start().await.unwrap();
    let app = common::spawn_with(1, 2, on_cluster(cluster.url())).await;
    let clinics = catalogue::clinics(1);
    let clinic = &clinics[0];
    let vaccine = clinic.vaccines[0];
    let slots: Vec<_> =
        catalogue::slots(clinic, app.today + chrono::Days::new(1), 2).into_iter().filter(|s| s.vaccine_code == vaccine).collect();
    let full: u32 = slots.iter().map(|s| s.capacity as u32).sum();
    assert_eq!(total(&app, clinic, clinic.district_code, vaccine).await, full);
    assert_eq!(total(&app, clinic, clinic.province_code, vaccine).await, full);
    let cached = cluster.keys(&format!("{}:inv:search:*", app.redis_prefix)).await;
    assert_eq!(cached.len(), 2, "one page per region, on the cluster: {cached:?}");

    // Changed behind the cache's back: still served from the cache.
    sqlx::query("UPDATE daily_availability SET booked = 2 WHERE clinic_id = $1 AND vaccine_code = $2 AND local_date = $3")
        .bind(clinic.clinic_id)
        .bind(vaccine)
        .bind(slots[0].local_date)
        .execute(app.store.pool())
        .await
        .unwrap();
    assert_eq!(total(&app, clinic, clinic.district_code, vaccine).await, full, "served from the cache");

    // A booking bumps the clinic's scopes (their version keys on several slots).
    let scopes = [
        Scope::Clinic { clinic_id: clinic.clinic_id, vaccine: vaccine.into() },
        Scope::Region { code: clinic.district_code.into(), vaccine: vaccine.into() },
        Scope::Region { code: clinic.province_code.into(), vaccine: vaccine.into() },
    ];
    let mut before = Vec::new();
    for scope in &scopes {
        before.push(version(&cluster, &app, scope).await);
    }
    app.publish(&Publisher::new(app.amqp.clone()), confirmed(slots[1].slot_id)).await;
    common::eventually(Duration::from_secs(10), "the district page to show both changes", || async {
        (total(&app, clinic, clinic.district_code, vaccine).await == full - 3).then_some(())
    })
    .await;
    assert_eq!(total(&app, clinic, clinic.province_code, vaccine).await, full - 3, "the province page too");
    for (scope, before) in scopes.iter().zip(before) {
        assert!(version(&cluster, &app, scope).await > before, "{scope:?} bumped");
    }
    app.stop().await;
}

#[tokio::test]
async fn inventory_starts_without_the_cluster_and_uses_it_once_reachable() {
    let cluster = RedisCluster::start().await.unwrap();
    let seed = Proxy::start(&format!("127.0.0.1:{}", cluster.ports()[0])).await.unwrap();
    seed.cut();
    let app = common::spawn_with(1, 1, on_cluster(format!("redis://{}", seed.addr()))).await;
    let clinic = &catalogue::clinics(1)[0];
    let vaccine = clinic.vaccines[0];
    let full = total(&app, clinic, clinic.district_code, vaccine).await;
    assert!(full > 0, "served from PostgreSQL");

    seed.restore();
    common::eventually(Duration::from_secs(15), "a page cached on the cluster", || async {
        assert_eq!(total(&app, clinic, clinic.district_code, vaccine).await, full);
        (!cluster.keys(&format!("{}:inv:search:*", app.redis_prefix)).await.is_empty()).then_some(())
    })
    .await;
    app.stop().await;
}
