//! A bounded stop with a stuck downstream, on the real `yeyak-reservation`
//! process: eligibility, the slot catalogue and RabbitMQ all sit behind a
//! listener that accepts connections and never answers, with no deadline on
//! the outbound calls or on the RPC. A booking hangs on them, the process
//! gets SIGTERM, and it must be gone within the drain grace plus the
//! platform's margin (`yeyak_platform::shutdown::AFTER_GRACE`), having said
//! which call it gave up on. The time is printed.
#![allow(clippy::unwrap_used)]
mod common;

use std::{
    net::SocketAddr,
    process::Stdio,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    sync::mpsc,
};
use uuid::Uuid;
use yeyak_platform::{
    db::{self, DatabaseSettings},
    shutdown::AFTER_GRACE,
};
use yeyak_proto::reservation::v1::reservation_service_client::ReservationServiceClient;

const GRACE: Duration = Duration::from_millis(1_500);

/// Accepts every connection and keeps it open without a byte in reply.
struct StuckListener {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl StuckListener {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (addr, accepted) = (listener.local_addr().unwrap(), Arc::new(AtomicUsize::new(0)));
        let count = accepted.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                held.push(socket);
            }
        });
        Self { addr, accepted }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_booking_stuck_on_a_silent_downstream_exits_within_the_grace() {
    let tag = Uuid::new_v4().simple().to_string();
    let keys = common::Keys::generate(&tag);
    let (services, broker) = (StuckListener::start().await, StuckListener::start().await);
    let database = DatabaseSettings::with_url(format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{tag}"));
    let addr: SocketAddr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_yeyak-reservation"))
        .env_clear()
        .env("YEYAK_LOG", "info,h2=warn,tower=warn,lapin=warn")
        .env("YEYAK_ENV", "dev")
        .env("YEYAK_GRPC_ADDR", addr.to_string())
        .env("YEYAK_METRICS_ADDR", "off")
        .env("YEYAK_DATABASE_URL", database.url.expose())
        .env("YEYAK_AMQP_URL", format!("amqp://guest:guest@{}/%2f", broker.addr))
        .env("YEYAK_AMQP_EXCHANGE", format!("test.{tag}.events"))
        .env("YEYAK_AMQP_QUEUE_PREFIX", format!("test.{tag}"))
        .env("YEYAK_TRUSTED_KEYS", keys.trusted())
        .env("YEYAK_CONTACT_PUBLIC_KEY", keys.contact.sealer().public_entry())
        .env("YEYAK_QUEUE_IDS", "demo")
        .env("YEYAK_ELIGIBILITY_ADDR", services.addr.to_string())
        .env("YEYAK_INVENTORY_ADDR", services.addr.to_string())
        // Nothing but the shutdown ends the call.
        .env("YEYAK_OUTBOUND_TIMEOUT_MS", "600000")
        .env("YEYAK_REQUEST_TIMEOUT_MS", "600000")
        .env("YEYAK_SHUTDOWN_GRACE_MS", GRACE.as_millis().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start yeyak-reservation");
    let (tx, mut lines) = mpsc::unbounded_channel();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stdout.next_line().await {
            let _ = tx.send(line);
        }
    });
    let mut log = Vec::new();
    while !log.iter().any(|l: &String| l.contains("reservation listening")) {
        let line = tokio::time::timeout(Duration::from_secs(60), lines.recv()).await.expect("the service starts");
        log.push(line.expect("the service starts"));
    }

    // A booking that waits on the silent eligibility and catalogue.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    let mut client = ReservationServiceClient::new(channel);
    let person = keys.person("9001011234567");
    let request = common::req(&person, common::create_request(&person, "stuck-booking-1", Uuid::new_v4(), 1));
    let booking = tokio::spawn(async move { client.create_reservation(request).await });
    let reached = Instant::now();
    while services.accepted.load(Ordering::SeqCst) == 0 {
        assert!(!booking.is_finished(), "the booking ended early: {:?}", booking.await);
        assert!(reached.elapsed() < Duration::from_secs(10), "the booking never reached the stuck dependencies");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!booking.is_finished(), "the booking is in flight");

    assert!(std::process::Command::new("kill").args(["-TERM", &child.id().unwrap().to_string()]).status().unwrap().success());
    let sent = Instant::now();
    let bound = GRACE + AFTER_GRACE;
    let status = tokio::time::timeout(bound + Duration::from_secs(10), child.wait()).await;
    let took = sent.elapsed();
    let status = status.unwrap_or_else(|_| panic!("still running {took:?} after SIGTERM (bound {bound:?})")).unwrap();
    while let Ok(Some(line)) = tokio::time::timeout(Duration::from_millis(500), lines.recv()).await {
        log.push(line);
    }
    println!(
        "yeyak-reservation: SIGTERM to exit {:.3} s (grace {:.3} s, bound {:.3} s), {status}",
        took.as_secs_f64(),
        GRACE.as_secs_f64(),
        bound.as_secs_f64()
    );
    let _ = db::drop_database(&database).await;
    for l in log.iter().filter(|l| l.contains("WARN")) {
        println!("{l}");
    }

    assert!(took <= bound + Duration::from_millis(500), "{took:?} is past the bound {bound:?}\n{}", log.join("\n"));
    assert!(took >= GRACE - Duration::from_millis(100), "the drain waited for the booking: {took:?}");
    let over = log.iter().find(|l| l.contains("grace period over")).unwrap_or_else(|| panic!("{}", log.join("\n")));
    assert!(over.contains("CreateReservation"), "the call given up on is named: {over}");
    assert!(broker.accepted.load(Ordering::SeqCst) >= 1, "the consumer was waiting on the silent broker");
    let forced = log.iter().find(|l| l.contains("shutdown overran its deadline"));
    assert!(status.success() && forced.is_none(), "the stop finished by itself: {status}, {forced:?}");
    let answer = tokio::time::timeout(Duration::from_secs(5), booking).await.expect("the caller is answered").unwrap();
    assert!(answer.is_err(), "the cut-off booking failed rather than succeeding: {answer:?}");
}
