//! The registry client against the real mock registry: concurrent lookups
//! are coalesced into batch calls and every caller still gets its own
//! answer; a registry that fails fails every lookup of the batch.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::{Duration, Instant};

use common::{seoul, Harness, Options};
use eligibility::{clients::registry::RegistryClient, domain::BatchSettings};

const RULES: &str = r#"
version = "registry-test"
[dose_interval]
min_days = 21
[[cohort]]
id = "all"
birth_year_from = 1900
birth_year_to = 2020
[[window]]
id = "round"
cohort = "all"
opens_at = "2021-07-12T20:00:00"
closes_at = "2021-12-31T18:00:00"
"#;

async fn set_latency(url: &str, latency_ms: u64, error_rate: f64) {
    let faults = serde_json::json!({ "latency_ms": latency_ms, "error_rate": error_rate });
    reqwest::Client::new().put(format!("{url}/admin/faults")).json(&faults).send().await.unwrap().error_for_status().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_lookups_share_batch_calls_and_each_gets_its_own_answer() {
    let h = Harness::start(Options::new(RULES.into(), seoul(2021, 7, 13, 10, 0, 0))).await;
    let url = format!("http://{}", h.registry.addr());
    let single = RegistryClient::new(&url, Duration::from_secs(5)).unwrap();
    // One call at a time, 100 ms each: 120 lookups one by one would take 12 s.
    let settings = BatchSettings { max_batch: 64, max_in_flight: 1, parallel_from: 64, max_wait: Duration::from_secs(5), queue: 1_000 };
    let batched = RegistryClient::new(&url, Duration::from_secs(5)).unwrap().batching(settings);
    let mut ids: Vec<String> = h.people.iter().take(100).map(Harness::subject_of).collect();
    ids.extend((0..20).map(|i| format!("{i:040x}"))); // unknown to the registry
    let mut expected = Vec::new();
    for id in &ids {
        expected.push(single.lookup(id).await.unwrap());
    }
    assert_eq!(expected.iter().filter(|p| p.is_some()).count(), 100);

    set_latency(&url, 100, 0.0).await;
    let started = Instant::now();
    let answers = futures_util::future::join_all(ids.iter().map(|id| batched.lookup(id))).await;
    let took = started.elapsed();
    let answers: Vec<_> = answers.into_iter().map(Result::unwrap).collect();
    assert_eq!(answers, expected, "every caller gets the answer a single lookup gives");
    assert!(took < Duration::from_secs(2), "120 lookups took {took:?}: not coalesced");

    // A failing registry fails the lookups of its batch, reported as errors.
    set_latency(&url, 0, 1.0).await;
    let failed = futures_util::future::join_all(ids.iter().take(10).map(|id| batched.lookup(id))).await;
    assert!(failed.iter().all(Result::is_err), "{failed:?}");
    set_latency(&url, 0, 0.0).await;
    assert_eq!(batched.lookup(&ids[0]).await.unwrap(), expected[0], "and recovers");
    h.stop().await;
}

/// While a call is in flight, a few lookups wait for it and leave together;
/// enough of them leave at once, beside it, in parallel calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn small_batches_wait_for_the_call_in_flight_and_large_ones_go_beside_it() {
    use std::sync::atomic::Ordering::Relaxed;
    let h = Harness::start(Options::new(RULES.into(), seoul(2021, 7, 13, 10, 0, 0))).await;
    let url = format!("http://{}", h.registry.addr());
    let settings = BatchSettings { max_batch: 10, max_in_flight: 4, parallel_from: 10, max_wait: Duration::from_secs(5), queue: 1_000 };
    let client = RegistryClient::new(&url, Duration::from_secs(5)).unwrap().batching(settings);
    let ids: Vec<String> = h.people.iter().take(26).map(Harness::subject_of).collect();
    set_latency(&url, 500, 0.0).await;

    // One lookup alone goes out at once; five more, arriving one by one while
    // it is in flight, are too few for a call of their own: they wait for it
    // and share the next call.
    let started = Instant::now();
    let lone = tokio::spawn({
        let (client, id) = (client.clone(), ids[0].clone());
        async move { client.lookup(&id).await }
    });
    let mut later = Vec::new();
    for id in &ids[1..6] {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let (client, id) = (client.clone(), id.clone());
        later.push(tokio::spawn(async move { client.lookup(&id).await }));
    }
    assert!(lone.await.unwrap().unwrap().is_some());
    for l in later {
        assert!(l.await.unwrap().unwrap().is_some());
    }
    let took = started.elapsed();
    assert_eq!(client.batch_stats().calls.load(Relaxed), 2, "the five shared one call");
    assert!(took >= Duration::from_millis(960), "the five waited for the first call: {took:?}");

    // Twenty lookups while one is in flight: two full batches go beside it.
    let lone = tokio::spawn({
        let (client, id) = (client.clone(), ids[0].clone());
        async move { client.lookup(&id).await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = Instant::now();
    let answers = futures_util::future::join_all(ids[6..26].iter().map(|id| client.lookup(id))).await;
    let took = started.elapsed();
    assert!(answers.into_iter().all(|a| a.unwrap().is_some()));
    assert!(lone.await.unwrap().unwrap().is_some());
    assert_eq!(client.batch_stats().calls.load(Relaxed), 5, "one call, then two parallel calls of ten");
    assert_eq!(client.batch_stats().lookups.load(Relaxed), 27);
    assert!(took < Duration::from_millis(750), "the full batches did not wait for the call in flight: {took:?}");

    // A lone lookup behind a slow call waits for it `max_wait` at most.
    let settings = BatchSettings { max_wait: Duration::from_millis(50), ..settings };
    let client = RegistryClient::new(&url, Duration::from_secs(5)).unwrap().batching(settings);
    let slow = tokio::spawn({
        let (client, id) = (client.clone(), ids[0].clone());
        async move { client.lookup(&id).await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = Instant::now();
    assert!(client.lookup(&ids[1]).await.unwrap().is_some());
    let took = started.elapsed();
    assert!(slow.await.unwrap().unwrap().is_some());
    assert_eq!(client.batch_stats().calls.load(Relaxed), 2);
    assert!(took < Duration::from_millis(800), "waited for the slow call ({took:?}) rather than 50 ms beside it");
    h.stop().await;
}
