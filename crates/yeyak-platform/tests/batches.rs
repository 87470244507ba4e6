//! Batched consumption against the real RabbitMQ: what is ready is handed
//! over at once (up to the limit), in queue order; each delivery is settled
//! on its own result, so poison goes to the dead-letter queue alone and a
//! transient failure comes back.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use lapin::options::QueueDeclareOptions;
use parking_lot::Mutex;
use yeyak_platform::{
    messaging::{consume_batches, delete_namespace, publisher::Outgoing, AmqpSettings, HandlerError, Publisher},
    Shutdown,
};

const QUEUE: &str = "batches.test";
const MAX_BATCH: usize = 16;

/// Messages left in a queue of the test namespace.
async fn depth(amqp: &AmqpSettings, queue: &str) -> u32 {
    let conn = lapin::Connection::connect(amqp.url.expose(), lapin::ConnectionProperties::default()).await.unwrap();
    let channel = conn.create_channel().await.unwrap();
    let options = QueueDeclareOptions { passive: true, ..Default::default() };
    let q = channel.queue_declare(queue.into(), options, Default::default()).await.unwrap();
    conn.close(200, "done".into()).await.unwrap();
    q.message_count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_deliveries_come_in_batches_and_each_is_settled_on_its_own_result() {
    let amqp = AmqpSettings::for_test(&uuid::Uuid::new_v4().simple().to_string()[..12]);
    let shutdown = Shutdown::new();
    // Every batch as handed over: the payloads (0..100) in the order given.
    let batches: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let consumer = {
        let batches = batches.clone();
        tokio::spawn(consume_batches(amqp.clone(), QUEUE, &["test.#"], shutdown.clone(), MAX_BATCH, move |deliveries| {
            let batches = batches.clone();
            async move {
                let payloads: Vec<u8> = deliveries.iter().map(|d| d.payload[0]).collect();
                let first_batch = {
                    let mut seen = batches.lock();
                    seen.push(payloads.clone());
                    seen.len() == 1
                };
                // The first batch is slow: everything published meanwhile queues up.
                if first_batch {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                let retried = batches.lock().iter().flatten().filter(|p| **p == 42).count() > 1;
                payloads
                    .iter()
                    .map(|p| match p {
                        13 => Err(HandlerError::Poison("13 is unreadable".into())),
                        42 if !retried => Err(HandlerError::Transient("42's database is away".into())),
                        _ => Ok(()),
                    })
                    .collect()
            }
        }))
    };
    tokio::time::sleep(Duration::from_millis(500)).await; // the queue is declared and bound
    let events: Vec<Outgoing> = (0..100u8)
        .map(|i| Outgoing {
            event_id: uuid::Uuid::new_v4(),
            routing_key: format!("test.e{i}"),
            payload: vec![i],
            traceparent: String::new(),
        })
        .collect();
    let publisher = Publisher::new(amqp.clone());
    publisher.publish_all(&events[..1]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await; // the first batch is that one message
    publisher.publish_all(&events[1..]).await.unwrap();
    let started = Instant::now();
    let handled = || batches.lock().iter().flatten().count();
    while handled() < 101 {
        assert!(started.elapsed() < Duration::from_secs(20), "only {} deliveries handed over", handled());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.trigger();
    consumer.await.unwrap();

    let seen = batches.lock().clone();
    assert_eq!(seen[0], vec![0], "a lone message is not held back to fill a batch");
    assert!(seen.iter().all(|b| !b.is_empty() && b.len() <= MAX_BATCH), "batch sizes {:?}", seen.iter().map(Vec::len).collect::<Vec<_>>());
    assert!(seen[1].len() == MAX_BATCH, "what queued up behind the slow batch comes in full batches: {:?}", seen[1]);
    let all: Vec<u8> = seen.iter().flatten().copied().collect();
    let mut once: Vec<u8> = all.iter().copied().filter(|p| *p != 42).collect();
    assert!(once.windows(2).all(|w| w[0] < w[1]), "queue order, each once: {once:?}");
    once.sort_unstable();
    assert_eq!(once, (0..100u8).filter(|p| *p != 42).collect::<Vec<_>>());
    assert_eq!(all.iter().filter(|p| **p == 42).count(), 2, "the transient failure came back once and then succeeded");
    let prefixed = format!("{}.{QUEUE}", amqp.queue_prefix);
    assert_eq!(depth(&amqp, &prefixed).await, 0, "everything else was acked");
    assert_eq!(depth(&amqp, &format!("{prefixed}.dlq")).await, 1, "only the poison was dead-lettered");
    delete_namespace(&amqp, &[QUEUE]).await.unwrap();
}

#[tokio::test]
async fn one_by_one_keeps_order_and_sends_back_everything_after_a_transient_failure() {
    use yeyak_platform::messaging::{one_by_one, Delivery};
    let batch = |payloads: &[u8]| -> Vec<Delivery> {
        payloads.iter().map(|p| Delivery { routing_key: "test".into(), event_id: None, payload: vec![*p], traceparent: None }).collect()
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handler = |d: Delivery| {
        let seen = seen.clone();
        async move {
            seen.lock().push(d.payload[0]);
            match d.payload[0] {
                2 => Err(HandlerError::Poison("unreadable".into())),
                4 => Err(HandlerError::Transient("database away".into())),
                _ => Ok(()),
            }
        }
    };
    let results = one_by_one(batch(&[1, 2, 3, 4, 5, 6]), handler).await;
    let kinds: Vec<&str> = results
        .iter()
        .map(|r| match r {
            Ok(()) => "ok",
            Err(HandlerError::Poison(_)) => "poison",
            Err(HandlerError::Transient(_)) => "again",
        })
        .collect();
    assert_eq!(kinds, ["ok", "poison", "ok", "again", "again", "again"]);
    assert_eq!(*seen.lock(), vec![1, 2, 3, 4], "nothing after the transient failure was tried");
}
