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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_with_the_same_key_keep_their_order_and_others_run_beside_them() {
    use std::sync::Mutex;
    use yeyak_platform::messaging::consume_ordered_by;
    let amqp = AmqpSettings::for_test(&uuid::Uuid::new_v4().simple().to_string()[..12]);
    let shutdown = Shutdown::new();
    let (busy, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let seen: Arc<Mutex<Vec<(u8, u8)>>> = Arc::default();
    // Payload [lane, sequence]; the lane is the key; 4 lanes of 6 events.
    let lane = |d: &yeyak_platform::messaging::Delivery| d.payload.first().map(|l| vec![*l]);
    let consumer = {
        let (busy, peak, seen) = (busy.clone(), peak.clone(), seen.clone());
        tokio::spawn(consume_ordered_by(amqp.clone(), QUEUE, &["test.#"], shutdown.clone(), 8, lane, move |d| {
            let (busy, peak, seen) = (busy.clone(), peak.clone(), seen.clone());
            async move {
                peak.fetch_max(busy.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                // Later events of a lane finish faster: only the lanes keep them in order.
                tokio::time::sleep(Duration::from_millis(120 - 20 * u64::from(d.payload[1]))).await;
                busy.fetch_sub(1, Ordering::SeqCst);
                seen.lock().unwrap().push((d.payload[0], d.payload[1]));
                Ok(())
            }
        }))
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events: Vec<Outgoing> = (0..6u8)
        .flat_map(|seq| (0..4u8).map(move |lane| (lane, seq)))
        .map(|(lane, seq)| Outgoing {
            event_id: uuid::Uuid::new_v4(),
            routing_key: format!("test.l{lane}"),
            payload: vec![lane, seq],
            traceparent: String::new(),
        })
        .collect();
    Publisher::new(amqp.clone()).publish_all(&events).await.unwrap();
    let started = Instant::now();
    while seen.lock().unwrap().len() < 24 {
        assert!(started.elapsed() < Duration::from_secs(20), "only {} of 24 handled", seen.lock().unwrap().len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.trigger();
    consumer.await.unwrap();
    delete_namespace(&amqp, &[QUEUE]).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    for lane in 0..4u8 {
        let order: Vec<u8> = seen.iter().filter(|(l, _)| *l == lane).map(|(_, s)| *s).collect();
        assert_eq!(order, vec![0, 1, 2, 3, 4, 5], "lane {lane} kept its order");
    }
    assert_eq!(peak.load(Ordering::SeqCst), 4, "the four lanes ran side by side, one event each at a time");
}
