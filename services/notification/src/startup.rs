//! Builds the notification server: binds the listener, connects PostgreSQL
//! and runs migrations, then runs the event consumer and the SMS sender next
//! to the gRPC server until shutdown.
use std::{net::SocketAddr, sync::Arc};

use tokio::{sync::Notify, task::JoinSet};
use yeyak_platform::{
    db,
    grpc::{GrpcServer, Ready},
    metrics::Metrics,
    Shutdown,
};
use yeyak_proto::notification::v1::notification_service_server::NotificationServiceServer;

use crate::{
    config::Config,
    consumer,
    gateway::SmsGateway,
    grpc::NotificationApi,
    sender::{self, Sender, SenderMetrics},
    store::DeliveryStore,
};

pub struct Application {
    ready: Ready,
    config: Config,
    store: DeliveryStore,
    sender: Arc<Sender>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = db::connect(&config.database, true).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let store = DeliveryStore::new(pool);
        let gateway = SmsGateway::new(&config.sms_gateway_url, config.sms_timeout, config.sms_connect_timeout)?;
        let metrics = Metrics::new("notification");
        let sender = Arc::new(Sender {
            store: store.clone(),
            gateway,
            max_attempts: config.sms_max_attempts,
            concurrency: config.sms_concurrency,
            lease: Sender::lease_for(config.sms_timeout + config.sms_connect_timeout, config.sms_concurrency),
            metrics: SenderMetrics::register(&metrics),
        });
        // Support-staff API: deliberately not behind the admission-pass interceptor.
        let ready = GrpcServer::new(config.server.clone(), metrics)
            .add(NotificationServiceServer::new(NotificationApi::new(store.clone())))
            .bind()
            .await?;
        Ok(Self { ready, config, store, sender })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.ready.local_addr()
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let wake = Arc::new(Notify::new());
        let mut tasks = JoinSet::new();
        tasks.spawn(consumer::run(self.config.amqp.clone(), self.store.clone(), wake.clone(), shutdown.clone()));
        for _ in 0..sender::LOOPS {
            tasks.spawn(sender::run(self.sender.clone(), wake.clone(), self.config.sweep_interval, shutdown.clone()));
        }
        self.ready.set_serving().await;
        let result = self.ready.run(shutdown.clone()).await;
        shutdown.trigger();
        while tasks.join_next().await.is_some() {}
        result
    }
}
