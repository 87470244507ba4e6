//! The counters against a private `redis-server`: a count made twice for one
//! attempt (what a replay after a dropped connection does) counts once, and a
//! give-back returns only what that attempt took, once.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

use std::time::Duration;

use yeyak_platform::{
    redis_store::{connect, RedisSettings},
    Secret,
};
use yeyak_testkit::redis_server::RedisServer;

use super::{Counter, Gate, Limit, Store};

async fn store(server: &RedisServer) -> Store {
    let mut settings = RedisSettings::for_test("t");
    settings.url = Secret::new(server.url());
    Store::new(connect(&settings).await.unwrap(), "t")
}

fn limit(store: &Store, max: u32) -> Limit {
    Limit { counter: Counter::Subject, key: store.counter_key(Counter::Subject, "s1"), max, window: Duration::from_secs(60) }
}

async fn count(server: &RedisServer, store: &Store) -> String {
    server.command(&["GET", &store.counter_key(Counter::Subject, "s1")]).await.unwrap()
}

#[tokio::test]
async fn an_attempt_counts_once_and_is_given_back_once() {
    let server = RedisServer::start().await.unwrap();
    let store = store(&server).await;
    let limits = [limit(&store, 2)];
    for _ in 0..2 {
        assert_eq!(store.gate(&limits, "a", "sid", "s1", 2).await.unwrap(), Gate::Open);
    }
    assert_eq!(count(&server, &store).await, "1", "taken twice for attempt a: counted once");
    assert_eq!(store.gate(&limits, "b", "sid", "s1", 2).await.unwrap(), Gate::Open);
    assert!(matches!(store.gate(&limits, "c", "sid", "s1", 2).await.unwrap(), Gate::Exhausted(_)));

    store.refund(&limits, "c").await.unwrap();
    assert_eq!(count(&server, &store).await, "2", "c was refused: it gives back nothing");
    store.refund(&limits, "a").await.unwrap();
    store.refund(&limits, "a").await.unwrap();
    assert_eq!(count(&server, &store).await, "1", "a gave back its one attempt, once");
}

#[tokio::test]
async fn wrong_codes_count_on_every_counter() {
    let server = RedisServer::start().await.unwrap();
    let store = store(&server).await;
    let limits = [limit(&store, 2)];
    let (over, used) = store.fail(&limits).await.unwrap();
    assert_eq!((over, used), (None, 1));
    let (over, used) = store.fail(&limits).await.unwrap();
    assert_eq!((over.map(|x| x.counter), used), (Some(Counter::Subject), 2), "each wrong code is its own attempt");
}
