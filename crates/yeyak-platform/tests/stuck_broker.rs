//! A broker that accepts connections and never answers (a broker frozen by
//! an alarm, or a cut through a proxy that keeps the sockets open) must not
//! hold a shutdown: the consumer is in its set-up, where nothing is in hand,
//! and the outbox relay's pass would otherwise wait out the publisher's
//! timeouts. Both stop as soon as the signal comes.
#![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use tokio::net::TcpListener;
use yeyak_platform::{
    messaging::{consume, AmqpSettings},
    Shutdown,
};

/// Accepts every connection and keeps it open without a byte in reply.
async fn stuck_broker() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (addr, accepted)
}

/// The platform's outbox table, as in `outbox.rs`'s tests.
const OUTBOX: &str = "CREATE TABLE outbox (id bigserial PRIMARY KEY, event_id uuid NOT NULL UNIQUE,
    routing_key text NOT NULL, payload bytea NOT NULL, traceparent text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz)";

fn settings(addr: SocketAddr) -> AmqpSettings {
    let mut amqp = AmqpSettings::for_test(&uuid::Uuid::new_v4().simple().to_string()[..12]);
    amqp.url = yeyak_platform::Secret::new(format!("amqp://guest:guest@{addr}/%2f"));
    amqp
}

async fn until(what: &str, check: impl Fn() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < Duration::from_secs(10), "waited 10 s for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_waiting_on_the_broker_stops_at_once() {
    let (addr, accepted) = stuck_broker().await;
    let shutdown = Shutdown::new();
    let consumer = tokio::spawn(consume(settings(addr), "stuck.test", &["test.#"], shutdown.clone(), |_| async { Ok(()) }));
    until("the consumer to connect", || accepted.load(Ordering::SeqCst) >= 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let running = shutdown.still_running();
    assert!(running.iter().any(|r| r.starts_with("consumer test.") && r.ends_with(".stuck.test")), "{running:?}");
    let stopped = Instant::now();
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(2), consumer).await.expect("the consumer stops while the broker is silent").unwrap();
    println!("consumer stopped {:?} after the signal", stopped.elapsed());
    assert!(stopped.elapsed() < Duration::from_millis(500), "{:?}", stopped.elapsed());
    assert!(shutdown.still_running().is_empty(), "{:?}", shutdown.still_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outbox_pass_waiting_on_the_broker_stops_at_once() {
    use yeyak_platform::{
        db::{self, DatabaseSettings},
        messaging::{outbox, Publisher},
    };
    let (addr, accepted) = stuck_broker().await;
    let database = DatabaseSettings::with_url(format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{}", uuid::Uuid::new_v4().simple()));
    let pool = db::connect(&database, true).await.unwrap();
    sqlx::raw_sql(OUTBOX).execute(&pool).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    outbox::enqueue(&mut tx, uuid::Uuid::new_v4(), "test.e1", b"x", "").await.unwrap();
    tx.commit().await.unwrap();
    let shutdown = Shutdown::new();
    let publisher = Arc::new(Publisher::new(settings(addr)));
    let relay = tokio::spawn(outbox::run_relay(pool.clone(), publisher, Arc::default(), shutdown.clone()));
    until("the relay to reach the broker", || accepted.load(Ordering::SeqCst) >= 1).await;
    let stopped = Instant::now();
    shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(3), relay).await.expect("the relay stops while the broker is silent").unwrap();
    println!("outbox relay stopped {:?} after the signal", stopped.elapsed());
    assert!(stopped.elapsed() < Duration::from_millis(500), "{:?}", stopped.elapsed());
    let unpublished: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetch_one(&pool).await.unwrap();
    assert_eq!(unpublished, 1, "the cut pass rolled back: the row waits for the next pass");
    pool.close().await;
    db::drop_database(&database).await.unwrap();
}
