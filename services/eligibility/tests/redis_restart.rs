//! Eligibility against a private `redis-server` restarted empty (never the
//! shared one): the first check after each restart succeeds with the right
//! answer, through Redis and not around it: a person's check reads the booked
//! set and refills the cache, an agent's check counts the quota.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use common::{born_in, seoul, Harness, Options};
use yeyak_population::SyntheticPerson;
use yeyak_testkit::{eventually, redis_server::RedisServer};

const CACHE_ERRORS: &str = "yeyak_eligibility_registry_lookups_total{service=\"eligibility\",outcome=\"cache_error\"}";
const FROM_CACHE: &str = "yeyak_eligibility_registry_lookups_total{service=\"eligibility\",outcome=\"cache\"}";
const FROM_REGISTRY: &str = "yeyak_eligibility_registry_lookups_total{service=\"eligibility\",outcome=\"registry\"}";

fn bookable(p: &SyntheticPerson) -> bool {
    born_in(p, 1962..=1966) && p.insured && p.doses.is_empty()
}

/// The person's registry answer, cached behind the check, in `redis`.
async fn cached(h: &Harness, redis: &RedisServer, p: &SyntheticPerson) {
    let key = format!("{}:eligibility:{{{}}}:person", h.redis_prefix, Harness::subject_of(p));
    eventually(std::time::Duration::from_secs(5), "the registry answer to be cached", || async {
        (redis.command(&["EXISTS", &key]).await.unwrap() == "1").then_some(())
    })
    .await;
}

#[tokio::test]
async fn the_first_checks_after_redis_restarts_empty_succeed() {
    let mut redis = RedisServer::start().await.unwrap();
    let mut options = Options::new(common::RULES_55_59.into(), seoul(2021, 7, 13, 10, 0, 0));
    options.redis_url = Some(redis.url());
    let h = Harness::start(options).await;
    let (a, b) = (h.find_nth(0, bookable), h.find_nth(1, bookable));
    let agent = h.find(|p| born_in(p, 1990..=1995));
    assert!(h.check(&a, 1).await.eligible);
    cached(&h, &redis, &a).await;
    // Asked again before the restart, from the cache. Replies come in order
    // on the service's one connection, so the write's reply is in too: a
    // write still unanswered when Redis dies is sent again as dropped, to
    // the new Redis, which would then not be empty (seen once on CI).
    assert!(h.check(&a, 1).await.eligible);
    assert_eq!(h.metric(FROM_CACHE), 1.0, "the cached answer was used");

    redis.restart_empty().await.unwrap();
    let first = h.check(&a, 1).await;
    assert!(first.eligible, "{first:?}");
    assert_eq!(first.cohort_id, "age-55-59");
    assert_eq!(h.metric(CACHE_ERRORS), 0.0, "the booked set was read, not skipped");
    assert_eq!(h.metric(FROM_REGISTRY), 2.0, "the cache went with the data: asked again, and cached again");
    cached(&h, &redis, &a).await;

    redis.restart_empty().await.unwrap();
    let for_b = h.check_for("q1", &agent, &b).await.unwrap_or_else(|s| panic!("the first proxy check after the restart: {s:?}"));
    assert!(for_b.eligible, "{for_b:?}");
    let quota = format!("{}:eligibility:proxy:{{q1}}:{}", h.redis_prefix, Harness::subject_of(&agent));
    assert_eq!(redis.command(&["SCARD", &quota]).await.unwrap(), "1", "the agent's quota counts b, in the new Redis");
    h.stop().await;
}
