//! Crashes, with the reservation service as a real child process
//! (`yeyak-reservation`) killed with SIGKILL, the real inventory service (its
//! catalogue answers GetSlot, its consumer keeps the availability read model
//! and deduplicates events), and RabbitMQ reached through a proxy the test
//! can cut. The test's own consumer (the tap) is bound to the real broker.
#![allow(clippy::unwrap_used)]
mod common;

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    process::Stdio,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use inventory::domain::catalogue::{self, DemoSlot};
use prost::Message as _;
use sqlx::PgPool;
use tonic::{transport::Channel, Code};
use uuid::Uuid;
use yeyak_platform::{
    config::Env,
    db::{self, DatabaseSettings},
    messaging::{self, AmqpSettings},
    Shutdown,
};
use yeyak_proto::{
    events::v1 as ev,
    inventory::v1 as inv,
    reservation::v1::{self as pb, reservation_service_client::ReservationServiceClient},
};

/// Everything but the reservation process: the real inventory, the
/// eligibility fake, the proxy in front of RabbitMQ, the tap, the databases.
struct World {
    tag: String,
    keys: common::Keys,
    proxy: yeyak_testkit::Proxy,
    tap: common::Tap,
    eligibility_addr: SocketAddr,
    inventory_addr: SocketAddr,
    inventory_db: DatabaseSettings,
    inventory_stop: Shutdown,
    inventory_task: tokio::task::JoinHandle<anyhow::Result<()>>,
    inventory_store: inventory::store::CatalogStore,
    /// The operator's use cases (slot resizes) over inventory's store and cache.
    inventory_catalogue: inventory::app::Catalogue,
    reservation_url: String,
    /// The reservation service's database, as the test inspects it.
    pool: PgPool,
    slots: Vec<DemoSlot>,
}

/// A `yeyak-reservation` process.
struct Process {
    child: tokio::process::Child,
    addr: SocketAddr,
}

impl World {
    async fn start() -> Self {
        let tag = Uuid::new_v4().simple().to_string();
        let keys = common::Keys::generate(&tag);
        let amqp = AmqpSettings::for_test(&tag);
        let eligibility_addr = common::Eligibility::default().serve().await;
        let inventory_url = format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{tag}_inv");
        let env = Env::from_pairs([
            ("GRPC_ADDR", "127.0.0.1:0".to_string()),
            ("METRICS_ADDR", "off".to_string()),
            ("DATABASE_URL", inventory_url.clone()),
            ("DATABASE_MAX_CONNECTIONS", "4".to_string()),
            ("AMQP_EXCHANGE", amqp.exchange.clone()),
            ("AMQP_QUEUE_PREFIX", amqp.queue_prefix.clone()),
            ("CACHE_ENABLED", "false".to_string()),
            ("TRUSTED_KEYS", keys.trusted()),
            ("SEED_CLINICS_PER_DISTRICT", "1".to_string()),
            ("SEED_DAYS", "2".to_string()),
        ]);
        let today = inventory::domain::today_seoul(chrono::Utc::now());
        let app = inventory::startup::Application::build(inventory::config::Config::from_env(&env).unwrap()).await.unwrap();
        let (inventory_addr, inventory_store, inventory_cache) = (app.internal_grpc_addr(), app.store(), app.cache());
        let inventory_stop = Shutdown::new();
        let inventory_task = tokio::spawn(app.run_until_stopped(inventory_stop.clone()));
        let clinic = &catalogue::clinics(1)[0];
        let slots = catalogue::slots(clinic, today + chrono::Days::new(1), 2);
        let reservation_url = format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{tag}_res");
        let pool = db::connect(&DatabaseSettings::with_url(reservation_url.clone()), true).await.unwrap();
        let tap = common::Tap::bind(&amqp.exchange).await;
        let proxy = yeyak_testkit::Proxy::start("127.0.0.1:5672").await.unwrap();
        World {
            tag,
            keys,
            proxy,
            tap,
            eligibility_addr,
            inventory_addr,
            inventory_db: DatabaseSettings::with_url(inventory_url),
            inventory_stop,
            inventory_task,
            inventory_catalogue: inventory::app::Catalogue::new(inventory_store.clone(), inventory_cache),
            inventory_store,
            reservation_url,
            pool,
            slots,
        }
    }

    /// Starts `yeyak-reservation` on the test's database, reaching RabbitMQ through the proxy.
    async fn spawn_reservation(&self) -> Process {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let amqp = AmqpSettings::for_test(&self.tag);
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_yeyak-reservation"))
            .env_clear()
            .env("RUST_LOG", "warn")
            .env("YEYAK_ENV", "dev")
            .env("YEYAK_GRPC_ADDR", addr.to_string())
            .env("YEYAK_METRICS_ADDR", "off")
            .env("YEYAK_DATABASE_URL", &self.reservation_url)
            .env("YEYAK_DATABASE_MAX_CONNECTIONS", "8")
            .env("YEYAK_AMQP_URL", format!("amqp://guest:guest@{}/%2f", self.proxy.addr()))
            .env("YEYAK_AMQP_EXCHANGE", &amqp.exchange)
            .env("YEYAK_AMQP_QUEUE_PREFIX", &amqp.queue_prefix)
            .env("YEYAK_TRUSTED_KEYS", self.keys.trusted())
            .env("YEYAK_CONTACT_PUBLIC_KEY", self.keys.contact.sealer().public_entry())
            .env("YEYAK_QUEUE_IDS", "demo")
            .env("YEYAK_ELIGIBILITY_ADDR", self.eligibility_addr.to_string())
            .env("YEYAK_INVENTORY_ADDR", self.inventory_addr.to_string())
            .env("YEYAK_REQUEST_TIMEOUT_MS", "30000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start yeyak-reservation");
        let process = Process { child, addr };
        common::eventually(Duration::from_secs(30), "yeyak-reservation to listen", || async {
            tokio::net::TcpStream::connect(addr).await.ok().map(|_| ())
        })
        .await;
        process
    }

    async fn slot_remaining(&self, slot: Uuid) -> u32 {
        let mut client = yeyak_proto::inventory::v1::slot_catalog_service_client::SlotCatalogServiceClient::connect(format!(
            "http://{}",
            self.inventory_addr
        ))
        .await
        .unwrap();
        let resp = client.get_slot(inv::GetSlotRequest { slot_id: slot.to_string() }).await.unwrap();
        resp.into_inner().slot.unwrap().remaining
    }

    /// Waits until the inventory read model shows `want` places left on `slot`.
    async fn wait_read_model(&self, slot: &DemoSlot, want: u32) {
        common::eventually(Duration::from_secs(15), &format!("inventory to show {want} left on a slot"), || async {
            (self.slot_remaining(slot.slot_id).await == want).then_some(())
        })
        .await;
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }

    async fn ledger(&self, slot: Uuid) -> Option<(i32, i32)> {
        sqlx::query_as("SELECT capacity, booked FROM slot_ledger WHERE slot_id = $1").bind(slot).fetch_optional(&self.pool).await.unwrap()
    }

    async fn stop(self) {
        self.inventory_stop.trigger();
        tokio::time::timeout(Duration::from_secs(15), self.inventory_task).await.unwrap().unwrap().unwrap();
        self.pool.close().await;
        db::drop_database(&DatabaseSettings::with_url(self.reservation_url.clone())).await.unwrap();
        db::drop_database(&self.inventory_db).await.unwrap();
        let amqp = AmqpSettings::for_test(&self.tag);
        let queues = ["inventory.availability", reservation::consumers::slot_sizes::QUEUE, reservation::consumers::supply_changes::QUEUE];
        messaging::delete_namespace(&amqp, &queues).await.unwrap();
        self.tap.close().await;
    }
}

impl Process {
    async fn client(&self) -> ReservationServiceClient<Channel> {
        ReservationServiceClient::connect(format!("http://{}", self.addr)).await.unwrap()
    }

    async fn book(&self, world: &World, subject: &str, slot: Uuid) -> Result<pb::Reservation, tonic::Status> {
        let person = world.keys.person(subject);
        let request = common::req(&person, common::create_request(&person, &format!("key-{subject}"), slot, 1));
        Ok(self.client().await.create_reservation(request).await?.into_inner().reservation.unwrap())
    }

    /// SIGKILL: no drain, no last outbox pass, nothing.
    async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_commit_and_publish_the_event_is_still_delivered_once_per_consumer() {
    let mut world = World::start().await;
    let (slot, sentinel) = (world.slots[0].clone(), world.slots[1].clone());
    let capacity = u32::try_from(slot.capacity).unwrap();

    // RabbitMQ unreachable: the booking commits, its event stays in the outbox.
    world.proxy.cut();
    let first = world.spawn_reservation().await;
    let booked = first.book(&world, "subj-crash-1", slot.slot_id).await.unwrap();
    assert_eq!(world.count("SELECT count(*) FROM outbox WHERE published_at IS NULL").await, 1);
    first.kill().await;

    // After the crash: the reservation, its place and its event are all there, nothing went out.
    assert_eq!(world.ledger(slot.slot_id).await, Some((slot.capacity, 1)));
    assert_eq!(world.count("SELECT count(*) FROM reservations WHERE state = 'confirmed'").await, 1);
    assert_eq!(world.count("SELECT count(*) FROM outbox WHERE published_at IS NULL").await, 1);
    assert!(world.tap.next_within(Duration::from_millis(500)).await.is_none());
    assert_eq!(world.slot_remaining(slot.slot_id).await, capacity);

    // A new process with RabbitMQ back delivers it.
    world.proxy.restore();
    let second = world.spawn_reservation().await;
    let delivered = world.tap.next_within(Duration::from_secs(20)).await.expect("the event arrives after the restart");
    assert_eq!(delivered.routing_key, ev::routing::RESERVATION_CONFIRMED);
    let event = ev::ReservationConfirmed::decode(delivered.payload.as_slice()).unwrap();
    assert_eq!(event.reservation_id, booked.reservation_id);
    world.wait_read_model(&slot, capacity - 1).await;
    common::eventually(Duration::from_secs(10), "the outbox row to be marked", || async {
        (world.count("SELECT count(*) FROM outbox WHERE published_at IS NULL").await == 0).then_some(())
    })
    .await;

    // The relay dies after the broker's confirm but before marking the row:
    // the event is published a second time (at-least-once)...
    sqlx::query("UPDATE outbox SET published_at = NULL").execute(&world.pool).await.unwrap();
    let again = world.tap.next_within(Duration::from_secs(20)).await.expect("republished");
    assert_eq!(again.message_id, delivered.message_id, "the same event id");
    // ...and the consumer applies it once. A later booking's event is applied
    // after the duplicate (one queue, in order): once it shows, the duplicate was handled.
    second.book(&world, "subj-crash-2", sentinel.slot_id).await.unwrap();
    world.wait_read_model(&sentinel, u32::try_from(sentinel.capacity).unwrap() - 1).await;
    assert_eq!(world.slot_remaining(slot.slot_id).await, capacity - 1, "the duplicate was not applied twice");
    let processed: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_events WHERE event_id = $1")
        .bind(Uuid::parse_str(&delivered.message_id).unwrap())
        .fetch_one(world.inventory_store.pool())
        .await
        .unwrap();
    assert_eq!(processed, 1);
    second.kill().await;
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_in_the_middle_of_a_rush_loses_no_capacity_and_leaves_no_reservation_without_it() {
    let mut world = World::start().await;
    let slots: Vec<DemoSlot> = world.slots.iter().take(6).cloned().collect();
    let total_capacity: i32 = slots.iter().map(|s| s.capacity).sum();
    let process = world.spawn_reservation().await;
    let channel = process.client().await;

    // 400 people rush 6 slots (more people than places); the process is
    // killed once 15 bookings have been acknowledged, with others in flight.
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let (killed_tx, killed_rx) = tokio::sync::watch::channel(false);
    let rush: Vec<_> = (0..400)
        .map(|i| {
            let person = world.keys.person(&format!("subj-rush-{i}"));
            let slot = slots[i % slots.len()].slot_id;
            let (mut client, acknowledged) = (channel.clone(), acknowledged.clone());
            tokio::spawn(async move {
                let request = common::req(&person, common::create_request(&person, &format!("key-rush-{i}"), slot, 1));
                let result = client.create_reservation(request).await;
                if result.is_ok() {
                    acknowledged.fetch_add(1, Ordering::SeqCst);
                }
                result.map(|r| r.into_inner().reservation.unwrap().reservation_id)
            })
        })
        .collect();
    let watcher = {
        let acknowledged = acknowledged.clone();
        tokio::spawn(async move {
            common::eventually(Duration::from_secs(30), "15 acknowledged bookings", || async {
                (acknowledged.load(Ordering::SeqCst) >= 15).then_some(())
            })
            .await;
            process.kill().await;
            let _ = killed_tx.send(true);
        })
    };
    let mut acked = HashSet::new();
    let mut failed = HashMap::new();
    for r in rush {
        match r.await.unwrap() {
            Ok(id) => {
                acked.insert(id);
            }
            Err(e) => *failed.entry(e.code()).or_insert(0) += 1,
        }
    }
    watcher.await.unwrap();
    assert!(*killed_rx.borrow(), "the process was killed");
    assert!(acked.len() >= 15, "{} acknowledged", acked.len());
    assert!(
        failed.keys().all(|c| matches!(c, Code::Unavailable | Code::Unknown | Code::Cancelled | Code::FailedPrecondition)),
        "{failed:?}"
    );
    println!("acknowledged {}, failed {failed:?}", acked.len());

    // The database after the crash: every place taken belongs to exactly one
    // reservation, and every reservation has its event queued.
    let unbalanced: i64 = world
        .count(
            "SELECT count(*) FROM slot_ledger l
             LEFT JOIN (SELECT slot_id, count(*) AS n FROM reservations WHERE state = 'confirmed' GROUP BY slot_id) r USING (slot_id)
             WHERE l.booked <> COALESCE(r.n, 0)",
        )
        .await;
    assert_eq!(unbalanced, 0, "ledger counts equal confirmed reservations per slot");
    let over: i64 = world.count("SELECT count(*) FROM slot_ledger WHERE booked > capacity").await;
    assert_eq!(over, 0);
    let reservations: Vec<(Uuid,)> = sqlx::query_as("SELECT reservation_id FROM reservations").fetch_all(&world.pool).await.unwrap();
    let stored: HashSet<String> = reservations.iter().map(|r| r.0.to_string()).collect();
    assert!(acked.is_subset(&stored), "every acknowledged booking survived the crash");
    let payloads: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT payload FROM outbox WHERE routing_key = $1")
        .bind(ev::routing::RESERVATION_CONFIRMED)
        .fetch_all(&world.pool)
        .await
        .unwrap();
    let queued: HashSet<String> =
        payloads.iter().map(|p| ev::ReservationConfirmed::decode(p.0.as_slice()).unwrap().reservation_id).collect();
    assert_eq!(queued, stored, "one queued event per reservation, none without one");
    assert!(i32::try_from(stored.len()).unwrap() <= total_capacity);

    // Restarted: every event reaches the bus and the read model agrees with the ledger.
    let restarted = world.spawn_reservation().await;
    let mut seen = HashSet::new();
    while seen.len() < stored.len() {
        let received = world.tap.next_within(Duration::from_secs(20)).await.expect("every event after the restart");
        seen.insert(ev::ReservationConfirmed::decode(received.payload.as_slice()).unwrap().reservation_id);
    }
    assert_eq!(seen, stored);
    for slot in &slots {
        let booked = world.ledger(slot.slot_id).await.map_or(0, |l| l.1);
        world.wait_read_model(slot, u32::try_from(slot.capacity - booked).unwrap()).await;
    }
    restarted.kill().await;
    world.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_reschedule_and_resize_keep_ledger_and_read_model_exact() {
    let world = World::start().await;
    let process = world.spawn_reservation().await;
    let (a, b) = (world.slots[0].clone(), world.slots[1].clone());
    let (cap_a, cap_b) = (u32::try_from(a.capacity).unwrap(), u32::try_from(b.capacity).unwrap());
    let person = world.keys.person("subj-moves");
    let request = common::req(&person, common::create_request(&person, "key-moves-1", a.slot_id, 1));
    let r = process.client().await.create_reservation(request).await.unwrap().into_inner().reservation.unwrap();
    world.wait_read_model(&a, cap_a - 1).await;

    let reschedule = pb::RescheduleReservationRequest {
        reservation_id: r.reservation_id.clone(),
        new_slot_id: b.slot_id.to_string(),
        identity_assertion: person.assertion.clone(),
        ..Default::default()
    };
    process.client().await.reschedule_reservation(common::req(&person, reschedule)).await.unwrap();
    assert_eq!((world.ledger(a.slot_id).await, world.ledger(b.slot_id).await), (Some((a.capacity, 0)), Some((b.capacity, 1))));
    world.wait_read_model(&b, cap_b - 1).await;
    assert_eq!(world.slot_remaining(a.slot_id).await, cap_a, "the old place is back in the read model");

    let cancel = pb::CancelReservationRequest {
        reservation_id: r.reservation_id.clone(),
        identity_assertion: person.assertion.clone(),
        ..Default::default()
    };
    process.client().await.cancel_reservation(common::req(&person, cancel)).await.unwrap();
    assert_eq!(world.ledger(b.slot_id).await, Some((b.capacity, 0)));
    world.wait_read_model(&b, cap_b).await;
    assert_eq!(world.slot_remaining(a.slot_id).await, cap_a);

    // A size cut in the catalogue reaches the ledger; below what is booked it is flagged, not oversold.
    for i in 0..2 {
        process.book(&world, &format!("subj-resize-{i}"), a.slot_id).await.unwrap();
    }
    world.inventory_catalogue.resize_slot(a.slot_id, 1).await.unwrap();
    common::eventually(Duration::from_secs(15), "the cut to reach the ledger", || async {
        let flagged: Option<i32> = sqlx::query_scalar("SELECT target_capacity FROM slot_ledger WHERE slot_id = $1")
            .bind(a.slot_id)
            .fetch_one(&world.pool)
            .await
            .unwrap();
        (flagged == Some(1)).then_some(())
    })
    .await;
    assert_eq!(world.ledger(a.slot_id).await, Some((2, 2)), "both bookings kept, no new one");
    let err = process.book(&world, "subj-resize-late", a.slot_id).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    world.inventory_catalogue.resize_slot(a.slot_id, 4).await.unwrap();
    common::eventually(Duration::from_secs(15), "the new size to reach the ledger", || async {
        (world.ledger(a.slot_id).await == Some((4, 2))).then_some(())
    })
    .await;
    process.book(&world, "subj-resize-fits", a.slot_id).await.unwrap();
    assert_eq!(world.ledger(a.slot_id).await, Some((4, 3)));
    world.wait_read_model(&a, 1).await;
    process.kill().await;
    world.stop().await;
}
