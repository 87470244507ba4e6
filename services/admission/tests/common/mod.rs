//! One admission deployment per test: a private Redis key prefix, keys made
//! for the test, optionally a proxy in front of Redis, and clients.
#![allow(dead_code, clippy::unwrap_used)] // shared by several test files

use std::time::Duration;

use admission::{config::Config, startup::Application};
use tonic::{transport::Channel, Request};
use yeyak_platform::{
    config::Env,
    grpc::client,
    tokens::{HmacKey, HmacKeys, Issuer, SigningKey},
    Shutdown,
};
use yeyak_proto::admission::v1::{
    admission_operator_service_client::AdmissionOperatorServiceClient, admission_service_client::AdmissionServiceClient, *,
};

pub(crate) const TOKEN: &str = "operator-secret-for-tests";

pub(crate) struct Deployment {
    pub(crate) prefix: String,
    pub(crate) key: SigningKey,
    pub(crate) ticket_keys: HmacKeys,
    pub(crate) extra: Vec<(String, String)>,
}

pub(crate) struct Replica {
    pub(crate) channel: Channel,
    pub(crate) shutdown: Shutdown,
    pub(crate) task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Deployment {
    pub(crate) fn new(extra: &[(&str, &str)]) -> Self {
        Self {
            prefix: format!("test:{}", uuid::Uuid::new_v4().simple()),
            key: SigningKey::generate(Issuer::Admission, "k1"),
            ticket_keys: HmacKeys::new(HmacKey::new("t1", &rand_secret()), []),
            extra: extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    pub(crate) fn env(&self) -> Vec<(String, String)> {
        let mut pairs = vec![
            ("GRPC_ADDR".to_string(), "127.0.0.1:0".to_string()),
            ("METRICS_ADDR".into(), "off".into()),
            ("SIGNING_KEY".into(), self.key.secret_spec()),
            ("TICKET_KEYS".into(), self.ticket_keys.active().secret_spec()),
            ("OPERATOR_TOKEN".into(), TOKEN.into()),
            ("QUEUE_IDS".into(), "q1".into()),
            ("REDIS_KEY_PREFIX".into(), self.prefix.clone()),
            // The admission catalogue and ended sessions this test follows are its own:
            // the default prefix is shared with `make run` on the same Redis.
            ("SESSIONS_REDIS_KEY_PREFIX".into(), self.prefix.clone()),
            ("DATABASE_URL".into(), self.database_url()),
            ("ADMISSION_TICK_MS".into(), "20".into()),
            ("AMQP_EXCHANGE".into(), self.amqp().exchange),
            ("AMQP_QUEUE_PREFIX".into(), self.amqp().queue_prefix),
        ];
        pairs.extend(self.extra.iter().cloned());
        pairs
    }

    /// The deployment's own PostgreSQL database (created by the first replica).
    pub(crate) fn database_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{}", self.prefix.trim_start_matches("test:"))
    }

    /// The deployment's private RabbitMQ namespace.
    pub(crate) fn amqp(&self) -> yeyak_platform::messaging::AmqpSettings {
        yeyak_platform::messaging::AmqpSettings::for_test(&self.prefix.replace(':', "-"))
    }

    /// A replica in this process.
    pub(crate) async fn start(&self) -> Replica {
        self.start_with(&[]).await
    }

    pub(crate) async fn start_with(&self, overrides: &[(&str, String)]) -> Replica {
        let mut pairs = self.env();
        pairs.extend(overrides.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let app = Application::build(Config::from_env(&Env::from_pairs(pairs)).unwrap()).await.unwrap();
        let channel = client::channel(&app.grpc_addr().to_string(), &client::ClientSettings::default()).unwrap();
        let shutdown = Shutdown::new();
        let task = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        Replica { channel, shutdown, task }
    }
}

impl Replica {
    pub(crate) fn queue(&self) -> AdmissionServiceClient<Channel> {
        AdmissionServiceClient::new(self.channel.clone())
    }

    /// The replica's gRPC channel (other services served on it).
    pub(crate) fn channel(&self) -> Channel {
        self.channel.clone()
    }

    pub(crate) fn operator(&self) -> AdmissionOperatorServiceClient<Channel> {
        AdmissionOperatorServiceClient::new(self.channel.clone())
    }

    pub(crate) async fn join(&self, client: &str) -> Result<JoinQueueResponse, tonic::Status> {
        let req =
            JoinQueueRequest { queue_id: "q1".into(), client_id: client.into(), existing_ticket: String::new(), ..Default::default() };
        self.queue().join_queue(req).await.map(|r| r.into_inner())
    }

    /// Like [`Replica::join`], owning its arguments (for concurrent joins).
    pub(crate) fn join_owned(&self, client: String) -> impl std::future::Future<Output = Result<JoinQueueResponse, tonic::Status>> {
        let mut queue = self.queue();
        async move {
            let req = JoinQueueRequest { queue_id: "q1".into(), client_id: client, existing_ticket: String::new(), ..Default::default() };
            queue.join_queue(req).await.map(|r| r.into_inner())
        }
    }

    pub(crate) async fn status(&self, ticket: &str, client: &str) -> Result<QueueStatus, tonic::Status> {
        let req = GetQueueStatusRequest { ticket: ticket.into(), client_id: client.into() };
        self.queue().get_queue_status(req).await.map(|r| r.into_inner().status.unwrap())
    }

    pub(crate) async fn stop(self) {
        self.shutdown.trigger();
        self.task.await.unwrap().unwrap();
    }
}

impl Drop for Deployment {
    /// Deletes the deployment's Redis keys, database and RabbitMQ namespace
    /// (best effort). Runs on its own thread and runtime, and is waited for, so the
    /// test process cannot exit before the clean-up is done.
    fn drop(&mut self) {
        let pattern = format!("{}:*", self.prefix);
        let amqp = self.amqp();
        let database = yeyak_platform::db::DatabaseSettings::with_url(self.database_url());
        let cleanup = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                let _ = rt.block_on(yeyak_platform::messaging::delete_namespace(&amqp, &[admission::consumers::sessions::QUEUE]));
                let _ = rt.block_on(yeyak_platform::db::drop_database(&database));
            }
            let Ok(client) = redis::Client::open("redis://127.0.0.1:6379/0") else { return };
            let Ok(mut conn) = client.get_connection() else { return };
            let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query(&mut conn).unwrap_or_default();
            if !keys.is_empty() {
                let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut conn);
            }
        });
        let _ = cleanup.join();
    }
}

pub(crate) fn op<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {TOKEN}").parse().unwrap());
    r
}

fn rand_secret() -> [u8; 32] {
    let a = uuid::Uuid::new_v4().into_bytes();
    let b = uuid::Uuid::new_v4().into_bytes();
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(&a);
    out[16..].copy_from_slice(&b);
    out
}

pub(crate) fn client(i: usize) -> String {
    format!("client-{i:016}")
}

/// Polls until `check` holds or panics after `timeout`.
pub(crate) async fn eventually<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Reservation's event for a booking made with the pass of `position`
/// (whose session id is `session_id`; empty as from an older build).
pub(crate) async fn publish_booking(d: &Deployment, position: u64, session_id: &str) {
    use prost::Message as _;
    use yeyak_platform::messaging::publisher::{Outgoing, Publisher};
    use yeyak_proto::events::v1::{routing, ReservationConfirmed};
    let event = ReservationConfirmed {
        admission_queue_id: "q1".into(),
        admission_position: position,
        admission_session_id: session_id.into(),
        ..Default::default()
    };
    let publisher = Publisher::new(d.amqp());
    let out = Outgoing {
        event_id: uuid::Uuid::new_v4(),
        routing_key: routing::RESERVATION_CONFIRMED.into(),
        payload: event.encode_to_vec(),
        traceparent: String::new(),
    };
    // The consumer's queue appears once a replica runs; publish until routed.
    eventually(Duration::from_secs(10), "the booking event is routed", || async {
        publisher.publish_all(std::slice::from_ref(&out)).await.is_ok()
    })
    .await;
}
