//! Test harness: a real reservation server on a fresh database and a private
//! RabbitMQ exchange, with in-test fakes of eligibility and the slot
//! catalogue (they stand in for our own services only in this crate's tests).
#![allow(dead_code, clippy::unwrap_used)]
pub(crate) mod fakes;
pub(crate) mod tap;

use std::{net::SocketAddr, time::Duration};

use sqlx::PgPool;
use tonic::{transport::Channel, Request};
use uuid::Uuid;
use yeyak_platform::{
    config::Env,
    contact::ContactKeys,
    db::{self, DatabaseSettings},
    grpc::{CLIENT_ID_HEADER, PASS_HEADER},
    messaging::{self, publisher::Outgoing, AmqpSettings, PublishError, Publisher},
    tokens::{client_binding, sign, AdmissionPass, ConsentToken, IdentityAssertion, Issuer, SigningKey},
    Shutdown,
};
use yeyak_proto::reservation::v1::{self as pb, reservation_service_client::ReservationServiceClient};

pub(crate) use fakes::{Eligibility, Inventory};
pub(crate) use tap::Tap;

/// A caller: one client installation admitted from the waiting room, with the
/// identity assertion of the person it verified.
#[derive(Clone, Debug)]
pub(crate) struct Person {
    pub subject: String,
    pub client_id: String,
    pub session_id: String,
    pub pass: String,
    pub assertion: String,
}

/// The admission and identity signing keys of a test: the service trusts
/// them. `contact` stands for notification's keys: the service seals phone
/// numbers to its public half, and only the test can open them.
pub(crate) struct Keys {
    pub admission: SigningKey,
    pub identity: SigningKey,
    pub contact: ContactKeys,
}

impl Keys {
    pub(crate) fn generate(tag: &str) -> Self {
        Self {
            admission: SigningKey::generate(Issuer::Admission, &format!("adm-{}", &tag[..8])),
            identity: SigningKey::generate(Issuer::Identity, &format!("idn-{}", &tag[..8])),
            contact: ContactKeys::generate(&format!("ntf-{}", &tag[..8])),
        }
    }

    /// `YEYAK_TRUSTED_KEYS` for the service.
    pub(crate) fn trusted(&self) -> String {
        format!("{},{}", self.admission.trusted_entry(), self.identity.trusted_entry())
    }

    /// A new client admitted from the waiting room, verified as `subject`.
    pub(crate) fn person(&self, subject: &str) -> Person {
        let client_id = format!("client-{}", Uuid::new_v4().simple());
        let session_id = Uuid::new_v4().simple().to_string()[..24].to_owned();
        let now = chrono::Utc::now().timestamp();
        let pass = AdmissionPass {
            queue_id: "demo".into(),
            place: 1,
            client_binding: client_binding(&client_id),
            session_id: session_id.clone(),
            cnf: None,
            issued_at: now,
            expires_at: now + 600,
        };
        let pass = sign(&self.admission, &pass);
        let assertion = self.assertion(subject, &session_id, 600);
        Person { subject: subject.to_owned(), client_id, session_id, pass, assertion }
    }

    /// An identity assertion for `subject` obtained under session `session_id`.
    pub(crate) fn assertion(&self, subject: &str, session_id: &str, ttl: i64) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = IdentityAssertion {
            subject: subject.into(),
            birth_date: "1967-03-01".into(),
            name: "홍*동".into(),
            provider: "mock".into(),
            assurance_level: 1,
            session_id: session_id.into(),
            queue_id: String::new(),
            issued_at: now - 10,
            expires_at: now + ttl,
        };
        sign(&self.identity, &claims)
    }

    /// `subject`'s consent that `agent` books for them in event `queue_id`.
    pub(crate) fn consent(&self, subject: &str, agent: &str, queue_id: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = ConsentToken {
            subject: subject.into(),
            birth_date: "1960-05-05".into(),
            name: "홍*동".into(),
            agent_subject: agent.into(),
            queue_id: queue_id.into(),
            issued_at: now - 10,
            expires_at: now + 600,
        };
        sign(&self.identity, &claims)
    }
}

/// A request carrying `person`'s pass, as a client behind the waiting room sends it.
pub(crate) fn req<T>(person: &Person, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(PASS_HEADER, person.pass.parse().unwrap());
    request.metadata_mut().insert(CLIENT_ID_HEADER, person.client_id.parse().unwrap());
    request
}

/// Booking `dose` of `slot` for `person` under idempotency key `key`.
pub(crate) fn create_request(person: &Person, key: &str, slot: Uuid, dose: u32) -> pb::CreateReservationRequest {
    pb::CreateReservationRequest {
        idempotency_key: key.into(),
        slot_id: slot.to_string(),
        identity_assertion: person.assertion.clone(),
        agent_assertion: String::new(),
        dose_number: dose,
        contact_phone: "010-1234-5678".into(),
        consent_token: String::new(),
    }
}

pub(crate) struct TestApp {
    pub client: ReservationServiceClient<Channel>,
    /// Several connections, for tests that send hundreds of calls at once.
    pub clients: Vec<ReservationServiceClient<Channel>>,
    pub pool: PgPool,
    pub tag: String,
    pub eligibility: Eligibility,
    pub inventory: Inventory,
    pub tap: Tap,
    pub keys: Keys,
    config: reservation::config::Config,
    /// Replicas started by [`TestApp::replica`], stopped with this one.
    replicas: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    database: DatabaseSettings,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// Which dependencies are down (their address has nothing listening), and
/// where RabbitMQ is (a proxy in outage tests).
#[derive(Clone, Debug, Default)]
pub(crate) struct Setup {
    pub eligibility_down: bool,
    pub inventory_down: bool,
    pub broker_down: bool,
    pub amqp_url: Option<String>,
    /// Settings (`YEYAK_` left out) that override the harness's own.
    pub env: Vec<(&'static str, String)>,
}

pub(crate) const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

pub(crate) async fn start() -> TestApp {
    start_with(Setup::default()).await
}

pub(crate) async fn start_with(setup: Setup) -> TestApp {
    let tag = Uuid::new_v4().simple().to_string();
    let keys = Keys::generate(&tag);
    let eligibility = Eligibility::default();
    let inventory = Inventory::default();
    let eligibility_addr = if setup.eligibility_down { dead_address().await } else { eligibility.serve().await };
    let amqp_url = match (setup.broker_down, setup.amqp_url) {
        (true, _) => format!("amqp://guest:guest@{}/%2f", dead_address().await),
        (false, Some(url)) => url,
        (false, None) => AMQP_URL.to_owned(),
    };
    let inventory_addr = if setup.inventory_down { dead_address().await } else { inventory.serve().await };
    let database_url = format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{tag}");
    let exchange = format!("test.{tag}.events");
    let defaults = [
        ("GRPC_ADDR", "127.0.0.1:0".to_owned()),
        ("METRICS_ADDR", "off".to_owned()),
        ("DATABASE_URL", database_url.clone()),
        ("DATABASE_ACQUIRE_TIMEOUT_MS", "10000".to_owned()),
        ("AMQP_URL", amqp_url),
        ("AMQP_EXCHANGE", exchange.clone()),
        ("AMQP_QUEUE_PREFIX", format!("test.{tag}")),
        ("TRUSTED_KEYS", keys.trusted()),
        ("CONTACT_PUBLIC_KEY", keys.contact.sealer().public_entry()),
        ("QUEUE_IDS", "demo".to_owned()),
        ("ELIGIBILITY_ADDR", eligibility_addr.to_string()),
        ("INVENTORY_ADDR", inventory_addr.to_string()),
        ("OUTBOUND_TIMEOUT_MS", "1500".to_owned()),
        // Hundreds of concurrent bookings on a loaded 2-core machine must not hit the server deadline.
        ("REQUEST_TIMEOUT_MS", "30000".to_owned()),
        ("DATABASE_MAX_CONNECTIONS", "8".to_owned()),
        // A slot found full stays refused for a minute unless this replica
        // sees a place come back: a test that books a freed place at once
        // passes only if the path that freed it forgets the slot.
        ("FULL_SLOT_WINDOW_MS", "60000".to_owned()),
    ];
    let env = Env::from_pairs(defaults.into_iter().chain(setup.env));
    let config = reservation::config::Config::from_env(&env).unwrap();
    let tap = Tap::bind(&exchange).await;
    let app = reservation::startup::Application::build(config.clone()).await.unwrap();
    let addr = app.grpc_addr();
    let pool = app.pool().clone();
    let shutdown = Shutdown::new();
    let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let client = ReservationServiceClient::connect(format!("http://{addr}")).await.unwrap();
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(ReservationServiceClient::connect(format!("http://{addr}")).await.unwrap());
    }
    TestApp {
        client,
        clients,
        pool,
        tag,
        eligibility,
        inventory,
        tap,
        keys,
        config,
        replicas: Vec::new(),
        database: DatabaseSettings::with_url(database_url),
        shutdown,
        task,
    }
}

/// A port that refuses connections.
async fn dead_address() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

impl TestApp {
    /// A new client admitted from the waiting room, verified as `subject`.
    pub(crate) fn person(&self, subject: &str) -> Person {
        self.keys.person(subject)
    }

    /// An identity assertion for `subject` obtained under session `session_id`.
    pub(crate) fn assertion(&self, subject: &str, session_id: &str, ttl: i64) -> String {
        self.keys.assertion(subject, session_id, ttl)
    }

    /// Opens a sealed contact of an event or a row, as notification does.
    pub(crate) fn open_contact(&self, reservation_id: &str, sealed: &[u8]) -> String {
        let id = Uuid::parse_str(reservation_id).unwrap();
        self.keys.contact.open(id.as_bytes(), sealed).unwrap().to_string()
    }

    /// A request carrying `person`'s pass, as a client behind the waiting room sends it.
    pub(crate) fn req<T>(&self, person: &Person, message: T) -> Request<T> {
        req(person, message)
    }

    pub(crate) fn create_request(&self, person: &Person, key: &str, slot: Uuid, dose: u32) -> pb::CreateReservationRequest {
        create_request(person, key, slot, dose)
    }

    pub(crate) async fn book(&self, person: &Person, key: &str, slot: Uuid) -> Result<pb::Reservation, tonic::Status> {
        let request = self.req(person, self.create_request(person, key, slot, 1));
        Ok(self.client.clone().create_reservation(request).await?.into_inner().reservation.unwrap())
    }

    /// (capacity, booked) of a slot's ledger row, if it has one.
    pub(crate) async fn ledger(&self, slot: Uuid) -> Option<(i32, i32)> {
        sqlx::query_as("SELECT capacity, booked FROM slot_ledger WHERE slot_id = $1").bind(slot).fetch_optional(&self.pool).await.unwrap()
    }

    pub(crate) async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }

    /// Books on connection `i` of [`TestApp::clients`].
    pub(crate) async fn book_on(&self, i: usize, person: &Person, key: &str, slot: Uuid) -> Result<pb::Reservation, tonic::Status> {
        let request = self.req(person, self.create_request(person, key, slot, 1));
        let mut client = self.clients[i % self.clients.len()].clone();
        Ok(client.create_reservation(request).await?.into_inner().reservation.unwrap())
    }

    /// A second replica on the same database and dependencies, with nothing
    /// in memory, and a client to it. It stops with [`TestApp::stop`].
    pub(crate) async fn replica(&mut self) -> ReservationServiceClient<Channel> {
        let app = reservation::startup::Application::build(self.config.clone()).await.unwrap();
        let addr = app.grpc_addr();
        self.replicas.push(tokio::spawn(app.run_until_stopped(self.shutdown.clone())));
        ReservationServiceClient::connect(format!("http://{addr}")).await.unwrap()
    }

    /// The AMQP namespace of this test (its exchange and queue prefix).
    pub(crate) fn amqp(&self) -> AmqpSettings {
        AmqpSettings::for_test(&self.tag)
    }

    /// Publishes to the test exchange, retrying while the consuming queue is
    /// not bound yet (the broker reports the message as unroutable).
    pub(crate) async fn publish(&self, event: Outgoing) {
        publish(&self.amqp(), event).await;
    }

    pub(crate) async fn stop(self) {
        self.shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(15), self.task).await.unwrap().unwrap().unwrap();
        for replica in self.replicas {
            tokio::time::timeout(Duration::from_secs(15), replica).await.unwrap().unwrap().unwrap();
        }
        delete_queues(&self.tag).await;
        self.tap.close().await;
        db::drop_database(&self.database).await.unwrap();
    }
}

/// Publishes to a test exchange, retrying while the consuming queue is not
/// bound yet (the broker reports the message as unroutable).
pub(crate) async fn publish(amqp: &AmqpSettings, event: Outgoing) {
    let publisher = Publisher::new(amqp.clone());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        match publisher.publish_all(std::slice::from_ref(&event)).await {
            Ok(()) => return,
            Err(PublishError::Unroutable(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("publish failed: {e}"),
        }
    }
}

/// Deletes the durable queues the service declares in a test namespace (and the exchange).
pub(crate) async fn delete_queues(tag: &str) {
    let queues = [reservation::consumers::slot_sizes::QUEUE, reservation::consumers::supply_changes::QUEUE];
    messaging::delete_namespace(&AmqpSettings::for_test(tag), &queues).await.unwrap();
}

#[allow(unused_imports)] // not every test binary waits for something
pub(crate) use yeyak_testkit::eventually;
