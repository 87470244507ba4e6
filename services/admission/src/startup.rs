//! Builds the admission server: binds the listener, connects Redis and
//! PostgreSQL (and migrates it), wires the handlers to the `WaitingRoom`,
//! and runs it — with one admission ticker per queue, one automatic rate
//! controller per queue when targets are configured, and the booking
//! consumer — until shutdown.
use std::{net::SocketAddr, sync::Arc, time::Duration};

use sqlx::migrate::Migrator;
use tokio::task::JoinSet;
use yeyak_platform::{
    db,
    grpc::{GrpcServer, KeySetApi, Ready},
    messaging::tables,
    metrics::{Metrics, Probes},
    operators::audit,
    redis_store,
    tokens::{remembered::DEFAULT_REMEMBERED, AssertionVerifier, Issuer, KeyWatch},
    Shutdown,
};
use yeyak_proto::admission::v1::{
    admission_operator_service_server::AdmissionOperatorServiceServer, admission_service_server::AdmissionServiceServer,
};

use crate::{
    app::{seed, DeviceKeys, IdentityFirst, Policy, RateControl, WaitingRoom},
    config::Config,
    consumers,
    grpc::{OperatorApi, QueueApi},
    store::{durable::DurableStore, QueueStore},
};

mod tasks;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Admission's schema with the operators' audit table.
fn migrator() -> Migrator {
    audit::with_table(tables::migrator(&MIGRATOR, &[]))
}

/// How often each replica forgets expired admitted batches and ended seats.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// How often the queue gauges are set from the snapshot.
const OBSERVE_EVERY: Duration = Duration::from_secs(1);

/// How often each replica forgets the join-limit keys that earned their
/// burst back: between sweeps the limiters hold at most this much more.
const SWEEP_LIMITS_EVERY: Duration = Duration::from_secs(10);

/// Applies the service's migrations and returns (`yeyak-admission migrate`,
/// the deployment's migration step).
pub async fn migrate(database: &db::DatabaseSettings) -> anyhow::Result<()> {
    let pool = db::connect(database, true).await?;
    migrator().run(&pool).await?;
    pool.close().await;
    Ok(())
}

pub struct Application {
    ready: Ready,
    room: Arc<WaitingRoom>,
    config: Config,
    /// Re-reads the ticket keys when their file changes.
    keys: KeyWatch,
    probes: Probes,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        if config.operators.names().is_empty() {
            tracing::warn!("no operators configured (YEYAK_OPERATORS): the operator API refuses every call");
        }
        let pool = db::connect(&config.database, true).await?;
        if config.database.run_migrations {
            migrator().run(&pool).await?;
        }
        let conn = redis_store::connect(&config.redis).await?;
        let metrics = Metrics::new("admission");
        let probes = Probes::new()
            .postgres(pool.clone(), false)
            .redis(conn.clone())
            .amqp(config.amqp.clone(), &[consumers::sessions::QUEUE])
            .registered(&metrics);
        let store = QueueStore::new(conn, &config.redis.key_prefix);
        let control = if config.control.targets.is_empty() { None } else { Some(RateControl::new(config.control.clone())?) };
        let room = Arc::new(WaitingRoom::new(store, DurableStore::new(pool), policy(&config), &metrics).with_control(control));
        // The events: the configured ones on a first start, then as data.
        room.seed_events().await?;
        room.sync_events().await?;
        let keys =
            KeyWatch::new(&metrics).with(config.ticket_keys.clone()).with(config.operators.clone()).with(config.published_keys.clone());
        // The pass keys, for verifiers outside Yeyak (docs/admission.md).
        let key_set = KeySetApi::new(config.published_keys.clone(), Issuer::Admission);
        let jwks = key_set.clone();
        metrics.publish_jwks(move || jwks.jwks_json());
        let ready = GrpcServer::new(config.server.clone(), metrics)
            .add(AdmissionServiceServer::new(QueueApi::new(room.clone())))
            .add(AdmissionOperatorServiceServer::new(OperatorApi::new(room.clone(), config.operators.clone())))
            .add(key_set.service())
            .bind()
            .await?;
        Ok(Self { ready, room, config, keys, probes })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.ready.local_addr()
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let mut tasks = JoinSet::new();
        tasks.spawn(tasks::events(self.room.clone(), self.config.tick, shutdown.clone()));
        tasks.spawn(consumers::sessions::run(self.room.clone(), self.config.amqp.clone(), shutdown.clone()));
        tasks.spawn(self.keys.run(shutdown.clone()));
        tasks.spawn(self.probes.run(shutdown.clone()));
        tasks.spawn(tasks::sweeper(self.room.clone(), shutdown.clone()));
        self.ready.set_serving().await;
        let result = self.ready.run(shutdown.clone()).await;
        shutdown.trigger();
        while tasks.join_next().await.is_some() {}
        result
    }
}

fn policy(config: &Config) -> Policy {
    let seeds = config.queue_ids.iter().map(|q| {
        let bits = config.proof_bits.get(q).copied().unwrap_or(0);
        seed(q, &config.defaults(q), bits, config.identity_first.get(q).cloned())
    });
    Policy {
        seeds: seeds.collect(),
        session_ttl: config.pass_ttl,
        burst: config.burst,
        signing_key: config.signing_key.clone(),
        ticket_keys: config.ticket_keys.clone(),
        ticket_ttl: config.ticket_ttl,
        ended_retention: config.ended_retention,
        place_block: config.place_block,
        join: config.join.clone(),
        device_keys: DeviceKeys::new(config.device_keys_required),
        identity_first: IdentityFirst { assertions: AssertionVerifier::new(config.published_keys.clone(), DEFAULT_REMEMBERED) },
    }
}
