//! One notification deployment per test (its own database and RabbitMQ
//! namespace) in front of a mock-sms gateway, reservation events published
//! as reservation's outbox relay would, and `yeyak-ctl` run against it.
use std::time::Duration;

use prost::Message as _;
use serde_json::{json, Value};
use uuid::Uuid;
use yeyak_platform::{
    config::Env,
    contact::ContactKeys,
    messaging::{publisher::Outgoing, AmqpSettings, PublishError, Publisher},
    Shutdown,
};
use yeyak_proto::events::v1::{self as ev, routing};

use super::{run_ctl, Ran, OPERATOR, SUPPORT};

pub(crate) struct Notification {
    grpc: String,
    sms: String,
    config: notification::config::Config,
    publisher: Publisher,
    shutdown: Shutdown,
    stopped: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    sms_shutdown: Shutdown,
    http: reqwest::Client,
}

impl Notification {
    /// Opens numbers sealed to `keys`; `SMS_MAX_ATTEMPTS` 1, so a message
    /// the gateway refuses fails at once.
    pub(crate) async fn start(keys: &ContactKeys) -> Self {
        let sms = mock_sms::Application::build(mock_sms::Config::new("127.0.0.1:0")).await.unwrap();
        let sms_url = format!("http://{}", sms.address());
        let sms_shutdown = Shutdown::new();
        tokio::spawn(sms.run_until_stopped(sms_shutdown.clone()));
        let tag = Uuid::new_v4().simple().to_string();
        let pairs = [
            ("GRPC_ADDR", "127.0.0.1:0".to_owned()),
            ("METRICS_ADDR", "off".to_owned()),
            ("DATABASE_URL", format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{tag}")),
            ("AMQP_EXCHANGE", format!("test.{tag}.events")),
            ("AMQP_QUEUE_PREFIX", format!("test.{tag}")),
            ("SMS_GATEWAYS", format!("kt={sms_url}")),
            ("SMS_MAX_ATTEMPTS", "1".to_owned()),
            ("SMS_BREAKER_FAILURES", "50".to_owned()),
            ("CONTACT_KEYS", keys.secret_spec()),
            ("OPERATORS", format!("kim.ops:operator+support:{OPERATOR},lee.support:support:{SUPPORT}")),
        ];
        let env = Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let config = notification::config::Config::from_env(&env).unwrap();
        let publisher = Publisher::new(config.amqp.clone());
        let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
        let mut this =
            Self { grpc: String::new(), sms: sms_url, config, publisher, shutdown: Shutdown::new(), stopped: None, sms_shutdown, http };
        this.serve().await;
        this
    }

    async fn serve(&mut self) {
        let app = notification::startup::Application::build(self.config.clone()).await.unwrap();
        self.grpc = format!("http://{}", app.grpc_addr());
        self.shutdown = Shutdown::new();
        self.stopped = Some(tokio::spawn(app.run_until_stopped(self.shutdown.clone())));
    }

    /// A deploy with `keys` as its contact keys.
    pub(crate) async fn restart_with(&mut self, keys: ContactKeys) {
        self.shutdown.trigger();
        if let Some(stopped) = self.stopped.take() {
            tokio::time::timeout(Duration::from_secs(20), stopped).await.unwrap().unwrap().unwrap();
        }
        self.config.contact_keys = keys;
        self.serve().await;
    }

    /// `yeyak-ctl` against this notification, as `token`'s holder.
    pub(crate) fn ctl(&self, token: &str, args: &[&str]) -> Ran {
        let mut all = vec!["--notification", &self.grpc];
        all.extend_from_slice(args);
        run_ctl(token, &all)
    }

    /// Publishes a confirmation of `reservation_id` to `phone`, sealed to `keys`.
    pub(crate) async fn confirm(&self, event_id: Uuid, reservation_id: Uuid, phone: &str, keys: &ContactKeys) {
        let payload = ev::ReservationConfirmed {
            meta: Some(ev::EventMeta { event_id: event_id.to_string(), ..Default::default() }),
            reservation_id: reservation_id.to_string(),
            clinic_name: "Clinic".into(),
            // 2021-07-26T11:00:00Z, 20:00 in Seoul.
            starts_at: Some(yeyak_proto::time::from_unix_millis(1_627_297_200_000)),
            sealed_contact: keys.sealer().seal(reservation_id.as_bytes(), phone),
            ..Default::default()
        };
        let event = Outgoing {
            event_id,
            routing_key: routing::RESERVATION_CONFIRMED.into(),
            payload: payload.encode_to_vec(),
            traceparent: String::new(),
        };
        for _ in 0..300 {
            match self.publisher.publish_all(std::slice::from_ref(&event)).await {
                Ok(()) => return,
                // The queue is bound once the consumer has started.
                Err(PublishError::Unroutable(_)) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(e) => panic!("publish: {e}"),
            }
        }
        panic!("the consumer's queue was never bound");
    }

    /// The references the gateway has sent.
    pub(crate) async fn sms_sent(&self) -> Vec<String> {
        let body: Value = self.http.get(format!("{}/v1/messages", self.sms)).send().await.unwrap().json().await.unwrap();
        // A reference sent again after a voided lookup or a replay is `<message id>.<generation>`.
        let key = |m: &Value| m["idempotency_key"].as_str().unwrap().split('.').next().unwrap_or_default().to_owned();
        body["messages"].as_array().unwrap().iter().map(key).collect()
    }

    /// The gateway refuses every send with a 503 but answers its lookups
    /// (so a refused message is known not to be there and fails), or works.
    pub(crate) async fn sms_down(&self, down: bool) {
        let rate = if down { 1.0 } else { 0.0 };
        let put = self.http.put(format!("{}/admin/faults", self.sms)).json(&json!({ "error_rate": rate })).send().await.unwrap();
        assert_eq!(put.status().as_u16(), 200);
    }
}

impl Drop for Notification {
    /// Stops the service and the gateway, then deletes the database and the
    /// RabbitMQ namespace on a thread of its own (the runtime is ending).
    fn drop(&mut self) {
        self.shutdown.trigger();
        self.sms_shutdown.trigger();
        let (amqp, database): (AmqpSettings, _) = (self.config.amqp.clone(), self.config.database.clone());
        let cleanup = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                let _ = rt.block_on(yeyak_platform::messaging::delete_namespace(&amqp, &[notification::consumers::reservations::QUEUE]));
                let _ = rt.block_on(yeyak_platform::db::drop_database(&database));
            }
        });
        let _ = cleanup.join();
    }
}
