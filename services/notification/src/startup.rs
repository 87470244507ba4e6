//! Builds the notification server: binds the listener, connects PostgreSQL
//! and runs migrations, then runs the event consumer and the SMS send loops
//! next to the gRPC server until shutdown.
use std::{net::SocketAddr, sync::Arc, time::Duration};

use sqlx::migrate::Migrator;
use tokio::task::JoinSet;
use yeyak_platform::{
    db,
    grpc::{GrpcServer, PassVerifier, Ready},
    health::HealthRules,
    messaging::{
        dead_letters::DeadLetters,
        tables::{self, Table},
    },
    metrics::{Metrics, Probes},
    operators::audit,
    sessions::EndedSessions,
    tokens::{remembered::DEFAULT_REMEMBERED, AssertionVerifier, KeyWatch},
    Shutdown,
};
use yeyak_proto::notification::v1::{
    notification_operator_service_server::NotificationOperatorServiceServer, notification_service_server::NotificationServiceServer,
};

use crate::{
    app::{self, Deliveries, SendPolicy},
    clients::{GatewayLimits, Gateways, SmsGateway},
    config::Config,
    consumers,
    grpc::{Credentials, NotificationApi, OperatorApi},
    metrics::{GatewayMetrics, SenderMetrics},
    store::DeliveryStore,
};

/// Deadline of each RabbitMQ call an operator's dead-letter request makes.
const DEAD_LETTER_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The service's own schema; the inbox and the operator audit tables come
/// from the platform.
static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

fn migrator() -> Migrator {
    audit::with_table(tables::migrator(&MIGRATOR, &[Table::Inbox]))
}

/// Applies the service's migrations and returns (`yeyak-notification migrate`,
/// the deployment's migration step).
pub async fn migrate(database: &db::DatabaseSettings) -> anyhow::Result<()> {
    let pool = db::connect(database, true).await?;
    migrator().run(&pool).await?;
    pool.close().await;
    Ok(())
}

pub struct Application {
    ready: Ready,
    config: Config,
    deliveries: Arc<Deliveries>,
    /// The gateways' health board, whose supervisor probes opened breakers.
    gateways: Arc<Gateways>,
    /// The trusted keys and the operators, re-read from their files.
    keys: KeyWatch,
    probes: Probes,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = db::connect(&config.database, true).await?;
        if config.database.run_migrations {
            migrator().run(&pool).await?;
        }
        let metrics = Metrics::new("notification");
        // The bulkhead holds every call this replica's send loops can make at once.
        let max_in_flight = config.sms_concurrency * app::LOOPS;
        let limits = GatewayLimits { timeout: config.sms_timeout, connect_timeout: config.sms_connect_timeout, max_in_flight };
        let gateways = config.sms_gateways.iter().map(|g| SmsGateway::new(g, limits, &config.tls)).collect::<Result<Vec<_>, _>>()?;
        let gateways = Arc::new(Gateways::new(
            gateways,
            HealthRules::default(),
            config.sms_breaker.clone(),
            config.sms_timeout,
            GatewayMetrics::register(&metrics),
        ));
        let probes =
            Probes::new().postgres(pool.clone(), false).amqp(config.amqp.clone(), &[consumers::reservations::QUEUE]).registered(&metrics);
        let policy = SendPolicy {
            max_attempts: config.sms_max_attempts,
            concurrency: config.sms_concurrency,
            // A round may send to each gateway and ask each once.
            call_timeout: (config.sms_timeout + config.sms_connect_timeout) * (2 * config.sms_gateways.len() as u32 + 1),
            contact_retention: config.contact_retention,
            contact_sweep: config.contact_sweep,
        };
        let dead_letters = DeadLetters::new(config.amqp.clone(), consumers::reservations::QUEUE, DEAD_LETTER_CALL_TIMEOUT);
        let deliveries = Arc::new(Deliveries::new(
            DeliveryStore::new(pool),
            gateways.clone(),
            policy,
            SenderMetrics::register(&metrics),
            config.contact_keys.clone(),
            AssertionVerifier::new(config.trusted.clone(), DEFAULT_REMEMBERED),
            dead_letters,
        ));
        if config.operators.names().is_empty() {
            tracing::warn!(
                "no operators configured (YEYAK_OPERATORS): support staff cannot read delivery status, the operator API refuses every call"
            );
        }
        let ended = EndedSessions::new(&config.sessions, config.queue_ids.clone()).await?;
        let keys = KeyWatch::new(&metrics).with(config.trusted.clone()).with(config.operators.clone()).following(ended.clone());
        // Not behind the pass layer: a call carries a pass or an operator token.
        let credentials = Credentials {
            passes: PassVerifier::new(config.trusted.clone(), config.queue_ids.clone()).with_ended_sessions(ended),
            operators: config.operators.clone(),
        };
        let ready = GrpcServer::new(config.server.clone(), metrics)
            .add(NotificationServiceServer::new(NotificationApi::new(deliveries.clone(), credentials)))
            .add(NotificationOperatorServiceServer::new(OperatorApi::new(deliveries.clone(), config.operators.clone())))
            .bind()
            .await?;
        Ok(Self { ready, config, deliveries, gateways, keys, probes })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.ready.local_addr()
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let mut tasks = JoinSet::new();
        tasks.spawn(self.keys.run(shutdown.clone()));
        tasks.spawn(self.probes.run(shutdown.clone()));
        tasks.spawn(self.gateways.clone().supervise(shutdown.clone()));
        tasks.spawn(consumers::reservations::run(self.config.amqp.clone(), self.deliveries.clone(), shutdown.clone()));
        tasks.spawn(self.deliveries.clone().seal_plain_contacts_until_stopped(shutdown.clone()));
        tasks.spawn(self.deliveries.clone().watch_unknown_until_stopped(shutdown.clone()));
        for _ in 0..app::LOOPS {
            tasks.spawn(self.deliveries.clone().send_until_stopped(self.config.sweep_interval, shutdown.clone()));
        }
        self.ready.set_serving().await;
        let result = self.ready.run(shutdown.clone()).await;
        shutdown.trigger();
        while tasks.join_next().await.is_some() {}
        result
    }
}
