//! A developer's broker may hold the classic queues an older Yeyak declared
//! under the same names. The broker refuses to redeclare them as quorum
//! queues (`406 PRECONDITION_FAILED - inequivalent arg`); the consumer says
//! what to do, keeps the old queue and its messages untouched, keeps
//! retrying, and consumes as soon as the queue is deleted.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

mod common;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use common::{channel, depth, eventually, namespace, publish};
use lapin::{
    options::{QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
    BasicProperties,
};
use yeyak_platform::{
    messaging::{consume, delete_namespace, queues, QueueError},
    Shutdown,
};

const QUEUE: &str = "mismatch.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classic_queue_of_the_same_name_is_reported_with_the_fix_and_left_alone() {
    let amqp = namespace();
    let queue = format!("{}.{QUEUE}", amqp.queue_prefix);
    let dlq = format!("{queue}.dlq");
    // What the previous version declared: classic queues, the main one with
    // a dead-letter route, holding one undelivered event.
    let (conn, old) = channel(&amqp).await;
    old.exchange_declare(
        amqp.exchange.as_str().into(),
        lapin::ExchangeKind::Topic,
        lapin::options::ExchangeDeclareOptions { durable: true, ..Default::default() },
        FieldTable::default(),
    )
    .await
    .unwrap();
    old.queue_declare(dlq.as_str().into(), QueueDeclareOptions::durable(), FieldTable::default()).await.unwrap();
    let mut args = FieldTable::default();
    args.insert("x-dead-letter-exchange".into(), AMQPValue::LongString("".into()));
    args.insert("x-dead-letter-routing-key".into(), AMQPValue::LongString(dlq.as_str().into()));
    old.queue_declare(queue.as_str().into(), QueueDeclareOptions::durable(), args).await.unwrap();
    old.queue_bind(
        queue.as_str().into(),
        amqp.exchange.as_str().into(),
        "test.#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    old.basic_publish("".into(), queue.as_str().into(), Default::default(), &[1], BasicProperties::default().with_delivery_mode(2))
        .await
        .unwrap();
    eventually(Duration::from_secs(10), "the old event is queued", || async { depth(&amqp, &queue).await == Some(1) }).await;

    let (handled, shutdown) = (Arc::new(AtomicUsize::new(0)), Shutdown::new());
    let consumer = {
        let handled = handled.clone();
        tokio::spawn(consume(amqp.clone(), QUEUE, &["test.#"], shutdown.clone(), move |_| {
            handled.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        }))
    };
    // What the consumer meets (and logs at every retry).
    let (probe_conn, probe) = channel(&amqp).await;
    let error = queues::declare(&probe, &amqp, &queue, false, &["test.#"]).await.unwrap_err();
    let _ = probe_conn.close(200, "done".into()).await;
    assert!(matches!(error, QueueError::Mismatch { .. }), "{error:?}");
    let message = error.to_string();
    for says in [
        "inequivalent arg",
        &format!("rabbitmqctl delete_queue {queue}`"),
        &format!("rabbitmqctl delete_queue {dlq}`"),
        "docs/deployment.md",
    ] {
        assert!(message.contains(says), "the error should say {says:?}: {message}");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!consumer.is_finished(), "the consumer keeps retrying");
    assert_eq!(handled.load(Ordering::SeqCst), 0, "the classic queue is not consumed");
    assert_eq!(depth(&amqp, &queue).await, Some(1), "nor emptied or deleted");

    // The operator drains it (here: takes the event) and deletes both.
    let got = old.basic_get(queue.as_str().into(), Default::default()).await.unwrap().unwrap();
    got.delivery.ack(Default::default()).await.unwrap();
    old.queue_delete(queue.as_str().into(), Default::default()).await.unwrap();
    old.queue_delete(dlq.as_str().into(), Default::default()).await.unwrap();
    conn.close(200, "done".into()).await.unwrap();
    // The consumer declares the quorum queues on its next attempt, no restart.
    eventually(Duration::from_secs(30), "the queue is declared again", || async { depth(&amqp, &queue).await.is_some() }).await;
    let (check_conn, check) = channel(&amqp).await;
    let same = check.queue_declare(queue.as_str().into(), QueueDeclareOptions::durable(), queues::queue_arguments(&dlq, false)).await;
    assert!(same.is_ok(), "declared as this version's quorum queue: {same:?}");
    let _ = check_conn.close(200, "done".into()).await;
    publish(&amqp, [2]).await;
    eventually(Duration::from_secs(30), "the new event is consumed", || async { handled.load(Ordering::SeqCst) == 1 }).await;
    shutdown.trigger();
    consumer.await.unwrap();
    delete_namespace(&amqp, &[QUEUE]).await.unwrap();
}
