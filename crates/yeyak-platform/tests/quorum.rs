//! Quorum queues against the real RabbitMQ (3.10 here): the queues are
//! quorum with the delivery limit; poison and a consumer that keeps dying
//! dead-letter, a long transient failure does not; and the order the
//! consumers (notification's above all) rely on: nothing overtakes a message
//! being retried, and what a dead consumer held comes back first, in order.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use common::{channel, dead_letter_reason, depth, eventually, namespace, publish};
use lapin::{
    options::QueueDeclareOptions,
    types::{AMQPValue, FieldTable},
};
use parking_lot::Mutex;
use yeyak_platform::{
    messaging::{
        consume, delete_namespace,
        queues::{dlq_arguments, queue_arguments, DELIVERY_LIMIT, DLQ_DELIVERY_LIMIT},
        AmqpSettings, HandlerError,
    },
    Shutdown,
};

const QUEUE: &str = "quorum.test";
const WITHIN: Duration = Duration::from_secs(30);

fn names(amqp: &AmqpSettings) -> (String, String) {
    let queue = format!("{}.{QUEUE}", amqp.queue_prefix);
    (queue.clone(), format!("{queue}.dlq"))
}

/// A consumer whose handler records each payload and answers with `answer`.
fn spawn_consumer<A>(amqp: &AmqpSettings, shutdown: &Shutdown, answer: A) -> tokio::task::JoinHandle<()>
where
    A: Fn(u8) -> futures_util::future::BoxFuture<'static, Result<(), HandlerError>> + Send + Sync + 'static,
{
    tokio::spawn(consume(amqp.clone(), QUEUE, &["test.#"], shutdown.clone(), move |d| answer(d.payload[0])))
}

async fn declared(amqp: &AmqpSettings) {
    let (queue, _) = names(amqp);
    eventually(WITHIN, "the queue is declared", || async { depth(amqp, &queue).await.is_some() }).await;
}

/// Redeclares `queue` with `args`: Ok, or the broker's refusal.
async fn redeclare(amqp: &AmqpSettings, queue: &str, args: FieldTable) -> Result<(), String> {
    let (conn, channel) = channel(amqp).await;
    let result = channel.queue_declare(queue.into(), QueueDeclareOptions::durable(), args).await.map(drop).map_err(|e| e.to_string());
    let _ = conn.close(200, "done".into()).await;
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_and_dead_letter_queue_are_quorum_with_a_delivery_limit() {
    let amqp = namespace();
    let shutdown = Shutdown::new();
    let consumer = spawn_consumer(&amqp, &shutdown, |_| Box::pin(async { Ok(()) }));
    declared(&amqp).await;
    let (queue, dlq) = names(&amqp);
    // RabbitMQ accepts a redeclaration only with equal arguments, and names
    // the first one that differs: this reads the queue's type and limit.
    for (name, args, limit) in [(&queue, queue_arguments(&dlq, false), DELIVERY_LIMIT), (&dlq, dlq_arguments(), DLQ_DELIVERY_LIMIT)] {
        assert_eq!(redeclare(&amqp, name, args.clone()).await, Ok(()), "{name}: the same arguments");
        let mut classic = args.clone();
        classic.insert("x-queue-type".into(), AMQPValue::LongString("classic".into()));
        let refused = redeclare(&amqp, name, classic).await.unwrap_err();
        assert!(refused.contains("inequivalent arg 'x-queue-type'") && refused.contains("'quorum'"), "{name}: {refused}");
        let mut other_limit = args;
        other_limit.insert("x-delivery-limit".into(), AMQPValue::LongLongInt(limit + 1));
        let refused = redeclare(&amqp, name, other_limit).await.unwrap_err();
        assert!(refused.contains("inequivalent arg 'x-delivery-limit'") && refused.contains(&format!("current is '{limit}'")), "{refused}");
    }
    shutdown.trigger();
    consumer.await.unwrap();
    delete_namespace(&amqp, &[QUEUE]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_is_dead_lettered_at_once() {
    let amqp = namespace();
    let shutdown = Shutdown::new();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let consumer = spawn_consumer(&amqp, &shutdown, move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Err(HandlerError::Poison("unreadable".into())) })
    });
    declared(&amqp).await;
    publish(&amqp, [1]).await;
    let (queue, dlq) = names(&amqp);
    eventually(WITHIN, "the poison is dead-lettered", || async { depth(&amqp, &dlq).await == Some(1) }).await;
    assert_eq!(depth(&amqp, &queue).await, Some(0));
    assert_eq!(seen.load(Ordering::SeqCst), 1, "handled once, never retried");
    assert_eq!(dead_letter_reason(&amqp, &dlq).await.as_deref(), Some("rejected"));
    shutdown.trigger();
    consumer.await.unwrap();
    delete_namespace(&amqp, &[QUEUE]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_failure_outlasting_the_limit_is_retried_in_place_and_never_dead_lettered() {
    // Requeueing every 200 ms, as the consumer used to, would have returned
    // the message 25 times in these 5 s and dead-lettered it after 21.
    let failing_for = Duration::from_millis(200) * u32::try_from(DELIVERY_LIMIT + 5).unwrap();
    let amqp = namespace();
    let shutdown = Shutdown::new();
    let (attempts, done) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let since: Arc<Mutex<Option<Instant>>> = Arc::default();
    let consumer = {
        let (attempts, done) = (attempts.clone(), done.clone());
        spawn_consumer(&amqp, &shutdown, move |_| {
            attempts.fetch_add(1, Ordering::SeqCst);
            let first = *since.lock().get_or_insert_with(Instant::now);
            if first.elapsed() < failing_for {
                return Box::pin(async { Err(HandlerError::Transient("database away".into())) });
            }
            done.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(()) })
        })
    };
    declared(&amqp).await;
    publish(&amqp, [7]).await;
    eventually(WITHIN, "handled once the failure cleared", || async { done.load(Ordering::SeqCst) == 1 }).await;
    let (queue, dlq) = names(&amqp);
    eventually(WITHIN, "acked", || async { depth(&amqp, &queue).await == Some(0) }).await;
    assert_eq!(depth(&amqp, &dlq).await, Some(0), "not dead-lettered");
    let tries = attempts.load(Ordering::SeqCst);
    assert!((3..=15).contains(&tries), "{tries} attempts: backoff between retries, not a spin");
    shutdown.trigger();
    consumer.await.unwrap();
    delete_namespace(&amqp, &[QUEUE]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_kills_its_consumer_is_dead_lettered_after_the_limit() {
    let amqp = namespace();
    let (queue, dlq) = names(&amqp);
    let mut deliveries = 0;
    while depth(&amqp, &dlq).await != Some(1) {
        assert!(deliveries <= DELIVERY_LIMIT + 1, "still not dead-lettered after {deliveries} deliveries");
        // A consumer that dies (its connection dropped, as when the process
        // is killed) while the message is in its handler.
        let (got, shutdown) = (Arc::new(AtomicUsize::new(0)), Shutdown::new());
        let seen = got.clone();
        let consumer = spawn_consumer(&amqp, &shutdown, move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
            Box::pin(std::future::pending())
        });
        if deliveries == 0 {
            declared(&amqp).await;
            publish(&amqp, [9]).await;
        }
        let arrived = async {
            while got.load(Ordering::SeqCst) == 0 && depth(&amqp, &dlq).await != Some(1) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(WITHIN, arrived).await.unwrap();
        consumer.abort();
        let _ = consumer.await;
        deliveries += i64::try_from(got.load(Ordering::SeqCst)).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await; // the broker notices the closed connection
    }
    assert_eq!(deliveries, DELIVERY_LIMIT + 1, "delivered once plus once per allowed return");
    assert_eq!(depth(&amqp, &queue).await, Some(0));
    assert_eq!(dead_letter_reason(&amqp, &dlq).await.as_deref(), Some("delivery_limit"));
    delete_namespace(&amqp, &[QUEUE]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_overtakes_a_message_whose_handler_is_retried() {
    let amqp = namespace();
    let shutdown = Shutdown::new();
    let handled: Arc<Mutex<Vec<u8>>> = Arc::default();
    let failures = Arc::new(AtomicUsize::new(0));
    let consumer = {
        let (handled, failures) = (handled.clone(), failures.clone());
        spawn_consumer(&amqp, &shutdown, move |p| {
            if p == 5 && failures.fetch_add(1, Ordering::SeqCst) < 3 {
                return Box::pin(async { Err(HandlerError::Transient("database away".into())) });
            }
            handled.lock().push(p);
            Box::pin(async { Ok(()) })
        })
    };
    declared(&amqp).await;
    // All 30 are prefetched while 5 is being retried.
    publish(&amqp, 0..30).await;
    eventually(WITHIN, "all handled", || async { handled.lock().len() == 30 }).await;
    assert_eq!(*handled.lock(), (0..30).collect::<Vec<u8>>(), "queue order, 5 in its place");
    shutdown.trigger();
    consumer.await.unwrap();
    delete_namespace(&amqp, &[QUEUE]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_dead_consumer_held_comes_back_first_in_order() {
    let amqp = namespace();
    let handled: Arc<Mutex<Vec<u8>>> = Arc::default();
    // The first consumer handles 0..5 and dies in 5's handler, holding 6..
    // in its prefetch.
    let (shutdown, stuck) = (Shutdown::new(), Arc::new(AtomicUsize::new(0)));
    let first = {
        let (handled, stuck) = (handled.clone(), stuck.clone());
        spawn_consumer(&amqp, &shutdown, move |p| {
            if p == 5 {
                stuck.fetch_add(1, Ordering::SeqCst);
                return Box::pin(std::future::pending());
            }
            handled.lock().push(p);
            Box::pin(async { Ok(()) })
        })
    };
    declared(&amqp).await;
    publish(&amqp, 0..20).await;
    eventually(WITHIN, "the first consumer is stuck on 5", || async { stuck.load(Ordering::SeqCst) == 1 }).await;
    first.abort();
    let _ = first.await;
    // More events arrive after the crash: they queue behind the returned ones.
    publish(&amqp, 20..30).await;
    let second = {
        let handled = handled.clone();
        spawn_consumer(&amqp, &shutdown, move |p| {
            handled.lock().push(p);
            Box::pin(async { Ok(()) })
        })
    };
    eventually(WITHIN, "all handled", || async { handled.lock().len() == 30 }).await;
    assert_eq!(*handled.lock(), (0..30).collect::<Vec<u8>>(), "the returned 5..20 first, in order, then 20..30");
    shutdown.trigger();
    second.await.unwrap();
    delete_namespace(&amqp, &[QUEUE]).await.unwrap();
}
