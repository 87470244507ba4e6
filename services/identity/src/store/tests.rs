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

use super::{Counter, Finish, Gate, Limit, ProxyCount, Store, Use};

async fn store(server: &RedisServer) -> Store {
    let mut settings = RedisSettings::for_test("t");
    settings.url = Secret::new(server.url());
    Store::new(connect(&settings).await.unwrap(), "t")
}

/// A use of attempt `attempt` (5 guesses).
fn used(attempt: &str, ttl: Duration) -> Use<'_> {
    Use { attempt, max: 5, ttl }
}

/// `subject` counted against session "sid"'s pass (at most 2 people).
fn on_pass(subject: &str, ttl: Duration) -> ProxyCount<'_> {
    ProxyCount { session_id: "sid", subject, limit: 2, ttl }
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
        assert_eq!(store.gate(&limits, "a", "sid", "s1", 2, None).await.unwrap(), Gate::Open);
    }
    assert_eq!(count(&server, &store).await, "1", "taken twice for attempt a: counted once");
    assert_eq!(store.gate(&limits, "b", "sid", "s1", 2, None).await.unwrap(), Gate::Open);
    assert!(matches!(store.gate(&limits, "c", "sid", "s1", 2, None).await.unwrap(), Gate::Exhausted(_)));

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

#[tokio::test]
async fn a_challenge_is_used_once_and_a_burnt_one_is_dead() {
    let server = RedisServer::start().await.unwrap();
    let store = store(&server).await;
    let ttl = Duration::from_secs(60);
    assert!(store.live("a1", 5).await.unwrap());
    // One script known and the other not (one node of a cluster ran it
    // before): a challenge is still used once, by the first caller.
    server.command(&["SCRIPT", "LOAD", super::scripts::CONSUME]).await.unwrap();
    let racers = (0..4).map(|_| store.finish(used("a1", ttl), on_pass("s1", ttl)));
    let finishes = futures_util::future::join_all(racers).await.into_iter().map(Result::unwrap).collect::<Vec<_>>();
    assert_eq!(finishes.iter().filter(|f| **f == Finish::Done).count(), 1, "{finishes:?}");
    assert_eq!(finishes.iter().filter(|f| **f == Finish::Gone).count(), 3, "{finishes:?}");
    assert!(!store.live("a1", 5).await.unwrap(), "used");
    let counted = (
        server.command(&["SCARD", "t:identity:proxy:sid"]).await.unwrap(),
        server.command(&["SISMEMBER", "t:identity:proxy:sid", "s1"]).await.unwrap(),
    );
    assert_eq!(counted, ("1".to_owned(), "1".to_owned()), "the subject counted once against the pass");

    store.burn("a2", 5, ttl).await.unwrap();
    assert!(!store.live("a2", 5).await.unwrap(), "burnt");
    assert_eq!(store.finish(used("a2", ttl), on_pass("s2", ttl)).await.unwrap(), Finish::Gone);
    assert_eq!(server.command(&["SISMEMBER", "t:identity:proxy:sid", "s2"]).await.unwrap(), "0", "a challenge not used counts nobody");
    assert_eq!(store.finish(used("a3", ttl), on_pass("s3", ttl)).await.unwrap(), Finish::Done, "a second person");
    assert_eq!(store.finish(used("a4", ttl), on_pass("s4", ttl)).await.unwrap(), Finish::ProxyLimit, "a third person on a limit of 2");
}

#[tokio::test]
async fn a_start_for_a_person_bound_to_another_place_is_refused_and_counts_nothing() {
    let server = RedisServer::start().await.unwrap();
    let store = store(&server).await;
    let limits = [limit(&store, 2)];
    server.command(&["SET", &store.place_key("q", "s1"), "sid-other"]).await.unwrap();
    assert_eq!(store.gate(&limits, "a", "sid", "s1", 2, Some("q")).await.unwrap(), Gate::OtherPlace);
    assert_eq!(count(&server, &store).await, "0", "what the refused start took is given back");
    // A Redis that forgot the scripts (restarted, or flushed) is sent them whole.
    server.command(&["SCRIPT", "FLUSH"]).await.unwrap();
    assert_eq!(store.gate(&limits, "b", "sid-other", "s1", 2, Some("q")).await.unwrap(), Gate::Open, "its own place");
    assert_eq!(store.gate(&limits, "c", "sid", "s1", 2, None).await.unwrap(), Gate::Open, "places not bound");
    assert_eq!(count(&server, &store).await, "2");
}
