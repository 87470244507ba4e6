//! A queue consumed in order across replicas (`QueueSpec::in_order`,
//! `x-single-active-consumer`): with two replicas subscribed, one gets every
//! message; when it stops, the other takes over where it left off. Without
//! it the broker would deal the messages out to both (the second half of
//! this test shows the contrast).
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::{sync::Arc, time::Duration};

use common::{consumed_by_one, declared_by, eventually, namespace, publish};
use parking_lot::Mutex;
use yeyak_platform::{
    messaging::{consume_batches, delete_namespace, one_by_one, AmqpSettings, QueueSpec},
    Shutdown,
};

type Log = Arc<Mutex<Vec<(char, u8)>>>;

fn replica(amqp: &AmqpSettings, spec: QueueSpec<'static>, name: char, log: &Log) -> (Shutdown, tokio::task::JoinHandle<()>) {
    let (shutdown, log) = (Shutdown::new(), log.clone());
    let task = tokio::spawn(consume_batches(amqp.clone(), spec, &["test.#"], shutdown.clone(), 4, move |deliveries| {
        let log = log.clone();
        async move {
            one_by_one(deliveries, |d| {
                log.lock().push((name, d.payload[0]));
                async { Ok(()) }
            })
            .await
        }
    }));
    (shutdown, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_replica_at_a_time_consumes_an_in_order_queue() {
    let amqp = namespace();
    let log: Log = Arc::default();
    let (stop_a, a) = replica(&amqp, QueueSpec::in_order("ordered"), 'a', &log);
    consumed_by_one(&amqp, "ordered").await;
    let (stop_b, b) = replica(&amqp, QueueSpec::in_order("ordered"), 'b', &log);
    tokio::time::sleep(Duration::from_millis(300)).await; // b subscribed too
    publish(&amqp, 0..20).await;
    eventually(Duration::from_secs(10), "20 handled", || async { log.lock().len() == 20 }).await;
    let first: Vec<(char, u8)> = log.lock().clone();
    assert!(first.iter().all(|(who, _)| *who == 'a'), "only the active replica consumes: {first:?}");
    stop_a.trigger();
    a.await.unwrap();
    publish(&amqp, 20..30).await;
    eventually(Duration::from_secs(10), "30 handled", || async { log.lock().len() == 30 }).await;
    let all: Vec<(char, u8)> = log.lock().clone();
    assert!(all[20..].iter().all(|(who, _)| *who == 'b'), "the other replica took over: {all:?}");
    assert_eq!(all.iter().map(|(_, p)| *p).collect::<Vec<_>>(), (0..30).collect::<Vec<u8>>());
    stop_b.trigger();
    b.await.unwrap();
    delete_namespace(&amqp, &["ordered"]).await.unwrap();

    // The contrast: a shared queue deals messages out to both replicas.
    let amqp = namespace();
    let log: Log = Arc::default();
    let (stop_a, a) = replica(&amqp, "shared".into(), 'a', &log);
    declared_by(&amqp, "shared").await;
    let (stop_b, b) = replica(&amqp, "shared".into(), 'b', &log);
    tokio::time::sleep(Duration::from_millis(300)).await;
    for chunk in 0..10u8 {
        publish(&amqp, chunk * 10..chunk * 10 + 10).await;
    }
    eventually(Duration::from_secs(10), "100 handled", || async { log.lock().len() == 100 }).await;
    let who: std::collections::BTreeSet<char> = log.lock().iter().map(|(w, _)| *w).collect();
    assert_eq!(who.len(), 2, "both replicas consumed the shared queue");
    for (stop, task) in [(stop_a, a), (stop_b, b)] {
        stop.trigger();
        task.await.unwrap();
    }
    delete_namespace(&amqp, &["shared"]).await.unwrap();
}
