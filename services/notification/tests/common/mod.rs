//! Test harness: a notification service on a fresh database, a private AMQP
//! exchange and queue, and a stub SMS gateway.
#![allow(dead_code, clippy::unwrap_used)]
pub(crate) mod creds;
pub(crate) mod events;
pub(crate) mod mock_gateway;
pub(crate) mod ops;
pub(crate) mod stub_gateway;

use std::{future::Future, time::Duration};

use notification::{config::Config, consumers::reservations::QUEUE, startup::Application};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use uuid::Uuid;
use yeyak_platform::{
    config::Env,
    db::{self, DatabaseSettings},
    messaging::{publisher::Outgoing, AmqpSettings, PublishError, Publisher},
    Shutdown,
};
use yeyak_proto::notification::v1::{
    self as pb, notification_operator_service_client::NotificationOperatorServiceClient,
    notification_service_client::NotificationServiceClient,
};

pub(crate) use stub_gateway::StubGateway;

pub(crate) struct TestApp {
    pub client: NotificationServiceClient<Channel>,
    /// The operator API on the same port.
    pub operator: NotificationOperatorServiceClient<Channel>,
    pub gateway: StubGateway,
    pub publisher: Publisher,
    /// Direct database access, to play a crashed replica.
    pub pool: PgPool,
    amqp: AmqpSettings,
    database: DatabaseSettings,
    config: Config,
    shutdown: Shutdown,
    handle: JoinHandle<anyhow::Result<()>>,
    replicas: Vec<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    pub(crate) async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    pub(crate) async fn spawn_with(extra: &[(&str, &str)]) -> Self {
        let tag = Uuid::new_v4().simple().to_string();
        let (gateway, gateway_addr) = StubGateway::start().await;
        let mut pairs: Vec<(String, String)> = vec![
            ("GRPC_ADDR".into(), "127.0.0.1:0".into()),
            ("METRICS_ADDR".into(), "off".into()),
            ("DATABASE_URL".into(), format!("postgres://postgres@127.0.0.1:5432/yeyak_test_{tag}")),
            ("AMQP_EXCHANGE".into(), format!("test.{tag}.events")),
            ("AMQP_QUEUE_PREFIX".into(), format!("test.{tag}")),
            ("SMS_GATEWAY_URL".into(), format!("http://{gateway_addr}")),
            ("CONTACT_KEYS".into(), events::KEYS.secret_spec()),
            ("TRUSTED_KEYS".into(), creds::trusted_keys()),
            ("QUEUE_IDS".into(), "demo".into()),
            ("OPERATORS".into(), creds::operators()),
        ];
        pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let config = Config::from_env(&Env::from_pairs(pairs)).expect("config");
        let (amqp, database) = (config.amqp.clone(), config.database.clone());
        let app = Application::build(config.clone()).await.expect("build");
        let addr = app.grpc_addr();
        let shutdown = Shutdown::new();
        let handle = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        let client = NotificationServiceClient::connect(format!("http://{addr}")).await.expect("connect");
        let operator = NotificationOperatorServiceClient::connect(format!("http://{addr}")).await.expect("connect");
        let pool = db::connect(&database, false).await.expect("test pool");
        Self {
            client,
            operator,
            gateway,
            publisher: Publisher::new(amqp.clone()),
            pool,
            amqp,
            database,
            config,
            shutdown,
            handle,
            replicas: Vec::new(),
        }
    }

    /// Starts another replica on the same database, queue and gateway; it
    /// stops with this one.
    pub(crate) async fn replica(&mut self) {
        let app = Application::build(self.config.clone()).await.expect("build replica");
        self.replicas.push(tokio::spawn(app.run_until_stopped(self.shutdown.clone())));
    }

    /// Stops the service and starts it again on the same database, queue
    /// and gateway with `change` made to its configuration (a deploy).
    pub(crate) async fn restart_with(&mut self, change: impl FnOnce(&mut Config)) {
        self.shutdown.trigger();
        let stopped = std::mem::replace(&mut self.handle, tokio::spawn(async { Ok(()) }));
        tokio::time::timeout(Duration::from_secs(20), stopped).await.expect("drains in time").unwrap().unwrap();
        change(&mut self.config);
        let app = Application::build(self.config.clone()).await.expect("build");
        let addr = format!("http://{}", app.grpc_addr());
        self.shutdown = Shutdown::new();
        self.handle = tokio::spawn(app.run_until_stopped(self.shutdown.clone()));
        self.client = NotificationServiceClient::connect(addr.clone()).await.expect("connect");
        self.operator = NotificationOperatorServiceClient::connect(addr).await.expect("connect");
    }

    /// Publishes an event as a producer's outbox relay would. Retries while
    /// the broker reports it unroutable: the service's queue is bound only
    /// once its consumer has started.
    pub(crate) async fn publish(&self, event_id: Uuid, routing_key: &str, payload: Vec<u8>) {
        self.publish_traced(event_id, routing_key, payload, "").await;
    }

    /// [`Self::publish`], the message carrying the W3C context `traceparent`.
    pub(crate) async fn publish_traced(&self, event_id: Uuid, routing_key: &str, payload: Vec<u8>, traceparent: &str) {
        let event = Outgoing { event_id, routing_key: routing_key.into(), payload, traceparent: traceparent.into() };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            match self.publisher.publish_all(std::slice::from_ref(&event)).await {
                Ok(()) => return,
                Err(PublishError::Unroutable(_)) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                Err(e) => panic!("publish failed: {e}"),
            }
        }
    }

    /// GetDeliveryStatus as support staff (the `support` role) ask it.
    pub(crate) async fn as_support(&self, req: pb::GetDeliveryStatusRequest) -> Result<Vec<pb::Delivery>, tonic::Status> {
        self.ask(creds::as_staff(creds::SUPPORT_TOKEN, req)).await
    }

    /// GetDeliveryStatus with whatever credentials `request` carries.
    pub(crate) async fn ask(&self, request: tonic::Request<pb::GetDeliveryStatusRequest>) -> Result<Vec<pb::Delivery>, tonic::Status> {
        Ok(self.client.clone().get_delivery_status(request).await?.into_inner().deliveries)
    }

    pub(crate) async fn by_reservation(&self, reservation_id: Uuid) -> Vec<pb::Delivery> {
        let req = pb::GetDeliveryStatusRequest { reservation_id: reservation_id.to_string(), ..Default::default() };
        self.as_support(req).await.expect("GetDeliveryStatus")
    }

    /// The deliveries of a reservation found by its booking code, typed as given.
    pub(crate) async fn by_booking_code(&self, code: &str) -> Result<Vec<pb::Delivery>, tonic::Status> {
        self.as_support(pb::GetDeliveryStatusRequest { booking_code: code.into(), ..Default::default() }).await
    }

    /// Polls until the reservation has `n` deliveries, all in `state`.
    pub(crate) async fn wait_for(&self, reservation_id: Uuid, n: usize, state: pb::DeliveryState) -> Vec<pb::Delivery> {
        eventually(&format!("{n} deliveries {state:?} for {reservation_id}"), || async {
            let d = self.by_reservation(reservation_id).await;
            (d.len() == n && d.iter().all(|x| x.state == state as i32)).then_some(d)
        })
        .await
    }

    /// Messages dead-lettered so far (consumed from the DLQ).
    pub(crate) async fn dead_letters(&self) -> usize {
        let conn = lapin::Connection::connect(self.amqp.url.expose(), Default::default()).await.unwrap();
        let ch = conn.create_channel().await.unwrap();
        let dlq = format!("{}.{QUEUE}.dlq", self.amqp.queue_prefix);
        let mut n = 0;
        while ch.basic_get(dlq.as_str().into(), lapin::options::BasicGetOptions { no_ack: true }).await.unwrap().is_some() {
            n += 1;
        }
        n
    }

    pub(crate) async fn stop(self) {
        self.shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(20), self.handle).await.expect("drains in time").unwrap().unwrap();
        for replica in self.replicas {
            tokio::time::timeout(Duration::from_secs(20), replica).await.expect("drains in time").unwrap().unwrap();
        }
        self.pool.close().await;
        db::drop_database(&self.database).await.unwrap();
        yeyak_platform::messaging::delete_namespace(&self.amqp, &[QUEUE]).await.unwrap();
    }
}

/// Polls `check` for up to 20 s.
pub(crate) async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    yeyak_testkit::eventually(Duration::from_secs(20), what, check).await
}
