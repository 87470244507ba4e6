//! The cache against a private `redis-server` restarted empty: an answer
//! computed before the restart and stored after it is never served.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

use std::{collections::BTreeSet, time::Duration};

use yeyak_platform::{config::Secret, metrics::Metrics, redis_store::RedisMode, tls::TlsSettings};
use yeyak_testkit::redis_server::RedisServer;

use super::{Cache, Lookup, Scope};
use crate::domain::CacheSettings;

fn cache(server: &RedisServer) -> Cache {
    let settings = CacheSettings {
        url: Secret::new(server.url()),
        mode: RedisMode::Single,
        key_prefix: "t".into(),
        tls: TlsSettings::default(),
        enabled: true,
        timeout: Duration::from_millis(500),
        ttl: Duration::from_secs(30),
        regions_ttl: Duration::from_secs(30),
        invalidation_interval: Duration::from_millis(20),
    };
    Cache::new(settings, &Metrics::new("t")).unwrap()
}

#[tokio::test]
async fn an_answer_from_before_an_empty_restart_is_not_served_after_it() {
    let mut server = RedisServer::start().await.unwrap();
    let cache = cache(&server);
    let scope = Scope::Region { code: "11".into(), vaccine: "pfizer".into() };
    let scopes = BTreeSet::from([scope.clone()]);
    cache.bump(&scopes).await.unwrap();
    cache.bump(&scopes).await.unwrap();
    let Lookup::Miss(old) = cache.get("search", &scope, "p").await else { panic!("a fresh Redis has nothing cached") };

    // A read took `old`, Redis restarted empty, the read stored its answer,
    // and bookings moved the scope on as often as before the restart.
    server.restart_empty().await.unwrap();
    cache.put("search", &scope, "p", &old, b"computed before the restart").await;
    for _ in 0..4 {
        let now = cache.get("search", &scope, "p").await;
        assert!(matches!(&now, Lookup::Miss(v) if *v != old), "{now:?} after the restart, {old} before");
        cache.bump(&scopes).await.unwrap();
    }
}

#[tokio::test]
async fn every_bump_moves_the_version_forward() {
    let server = RedisServer::start().await.unwrap();
    let cache = cache(&server);
    let scope = Scope::Clinic { clinic_id: uuid::Uuid::nil(), vaccine: "pfizer".into() };
    let version = || async { server.command(&["GET", &cache.version_key(&scope)]).await.unwrap().parse::<u64>().unwrap() };
    cache.bump(&BTreeSet::from([scope.clone()])).await.unwrap();
    let first = version().await;
    cache.bump(&BTreeSet::from([scope.clone()])).await.unwrap();
    assert!(version().await > first);
    let Lookup::Miss(read) = cache.get("availability", &scope, "p").await else { panic!("nothing cached") };
    assert_eq!(read, version().await.to_string(), "a read uses the version the bumps left");
}
