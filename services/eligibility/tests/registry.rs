//! The registry client against the real mock registry: concurrent lookups
//! are coalesced into batch calls and every caller still gets its own
//! answer; a registry that fails fails every lookup of the batch.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::time::{Duration, Instant};

use common::{seoul, Harness, Options};
use eligibility::registry::{BatchSettings, RegistryClient};

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
    let settings = BatchSettings { max_batch: 64, max_in_flight: 1, queue: 1_000 };
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
