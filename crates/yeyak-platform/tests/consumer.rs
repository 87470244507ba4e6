//! The consumer loop against the real RabbitMQ: deliveries handled up to the
//! configured concurrency at once, each acked after its handler, none lost.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use yeyak_platform::{
    messaging::{consume_concurrently, delete_namespace, publisher::Outgoing, AmqpSettings, Publisher},
    Shutdown,
};

const QUEUE: &str = "consumer.test";

/// Publishes 32 events, each handled in 200 ms, through a consumer with the
/// given concurrency; returns how long the consumer took and the most
/// handlers seen at once.
async fn drain(concurrency: usize) -> (Duration, usize) {
    let amqp = AmqpSettings::for_test(&uuid::Uuid::new_v4().simple().to_string()[..12]);
    let (shutdown, busy, peak, done) =
        (Shutdown::new(), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let consumer = {
        let (busy, peak, done) = (busy.clone(), peak.clone(), done.clone());
        tokio::spawn(consume_concurrently(amqp.clone(), QUEUE, &["test.#"], shutdown.clone(), concurrency, move |_| {
            let (busy, peak, done) = (busy.clone(), peak.clone(), done.clone());
            async move {
                peak.fetch_max(busy.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(200)).await;
                busy.fetch_sub(1, Ordering::SeqCst);
                done.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        }))
    };
    tokio::time::sleep(Duration::from_millis(500)).await; // the queue is declared and bound
    let events: Vec<Outgoing> = (0..32)
        .map(|i| Outgoing {
            event_id: uuid::Uuid::new_v4(),
            routing_key: format!("test.e{i}"),
            payload: vec![1],
            traceparent: String::new(),
        })
        .collect();
    let started = Instant::now();
    Publisher::new(amqp.clone()).publish_all(&events).await.unwrap();
    while done.load(Ordering::SeqCst) < 32 {
        assert!(started.elapsed() < Duration::from_secs(20), "only {} of 32 handled", done.load(Ordering::SeqCst));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    shutdown.trigger();
    consumer.await.unwrap();
    delete_namespace(&amqp, &[QUEUE]).await.unwrap();
    (took, peak.load(Ordering::SeqCst))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_handled_up_to_the_concurrency_at_once() {
    let (took, peak) = drain(8).await;
    assert_eq!(peak, 8, "at most, and up to, 8 at once");
    assert!(took < Duration::from_millis(2_500), "32 × 200 ms with 8 at once took {took:?}");
    let (took, peak) = drain(1).await;
    assert_eq!(peak, 1, "one at a time, in order");
    assert!(took >= Duration::from_millis(6_400), "32 × 200 ms one at a time took only {took:?}");
}
