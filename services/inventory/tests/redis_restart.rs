//! Inventory against a private `redis-server` restarted empty (never the
//! shared one): the first search after the restart succeeds with the same
//! answer, rebuilt from PostgreSQL through the cache (cached again in the new
//! Redis rather than bypassed by the breaker), under a version never used
//! before the restart.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test
mod common;

use inventory::domain::catalogue;
use yeyak_proto::inventory::v1 as pb;
use yeyak_testkit::redis_server::RedisServer;

async fn search(app: &common::TestApp, region: &str, vaccine: &str) -> Result<Vec<pb::ClinicSummary>, tonic::Status> {
    app.search(region, vaccine, 1, 2).await
}

/// The search pages cached in `redis`, with their versions.
async fn pages(redis: &RedisServer, prefix: &str) -> Vec<String> {
    let mut conn = redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    redis::cmd("KEYS").arg(format!("{prefix}:inv:search:*")).query_async(&mut conn).await.unwrap()
}

#[tokio::test]
async fn the_first_search_after_redis_restarts_empty_is_rebuilt_and_cached_again() {
    let mut redis = RedisServer::start().await.unwrap();
    let app = common::spawn_with(1, 2, common::Options { redis_url: Some(redis.url()), ..Default::default() }).await;
    let clinic = &catalogue::clinics(1)[0];
    let vaccine = clinic.vaccines[0];
    let before = search(&app, clinic.district_code, vaccine).await.unwrap();
    assert!(before.iter().any(|c| c.clinic_id == clinic.clinic_id.to_string()), "{before:?}");
    let cached_before = pages(&redis, &app.redis_prefix).await;
    assert_eq!(cached_before.len(), 1, "{cached_before:?}");

    redis.restart_empty().await.unwrap();
    let first = search(&app, clinic.district_code, vaccine).await;
    assert_eq!(first.unwrap_or_else(|s| panic!("the first search after the restart: {s:?}")), before);
    let cached_after = pages(&redis, &app.redis_prefix).await;
    assert_eq!(cached_after.len(), 1, "the first search used the new Redis, not only PostgreSQL: {cached_after:?}");
    assert_ne!(cached_after, cached_before, "stored under a version the Redis before the restart never had");
    assert_eq!(search(&app, clinic.district_code, vaccine).await.unwrap(), before, "and served from it");
    app.stop().await;
}
