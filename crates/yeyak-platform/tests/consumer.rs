//! The single-delivery consumer against the real RabbitMQ: one delivery at a
//! time, in queue order, each acked after its handler, none lost.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use yeyak_platform::{
    messaging::{consume, delete_namespace, publisher::Outgoing, AmqpSettings, Publisher},
    Shutdown,
};

const QUEUE: &str = "consumer.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_handled_one_at_a_time_in_queue_order() {
    let amqp = AmqpSettings::for_test(&uuid::Uuid::new_v4().simple().to_string()[..12]);
    let (shutdown, busy, peak) = (Shutdown::new(), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let seen: Arc<Mutex<Vec<u8>>> = Arc::default();
    let consumer = {
        let (busy, peak, seen) = (busy.clone(), peak.clone(), seen.clone());
        tokio::spawn(consume(amqp.clone(), QUEUE, &["test.#"], shutdown.clone(), move |d| {
            let (busy, peak, seen) = (busy.clone(), peak.clone(), seen.clone());
            async move {
                peak.fetch_max(busy.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                // Later events finish faster: only one-at-a-time keeps them in order.
                tokio::time::sleep(Duration::from_millis(60 - 2 * u64::from(d.payload[0]))).await;
                busy.fetch_sub(1, Ordering::SeqCst);
                seen.lock().push(d.payload[0]);
                Ok(())
            }
        }))
    };
    tokio::time::sleep(Duration::from_millis(500)).await; // the queue is declared and bound
    let events: Vec<Outgoing> = (0..24u8)
        .map(|i| Outgoing {
            event_id: uuid::Uuid::new_v4(),
            routing_key: format!("test.e{i}"),
            payload: vec![i],
            traceparent: String::new(),
        })
        .collect();
    Publisher::new(amqp.clone()).publish_all(&events).await.unwrap();
    let started = Instant::now();
    while seen.lock().len() < 24 {
        assert!(started.elapsed() < Duration::from_secs(20), "only {} of 24 handled", seen.lock().len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.trigger();
    consumer.await.unwrap();
    delete_namespace(&amqp, &[QUEUE]).await.unwrap();
    assert_eq!(*seen.lock(), (0..24u8).collect::<Vec<_>>(), "every event once, in queue order");
    assert_eq!(peak.load(Ordering::SeqCst), 1, "one at a time");
}
