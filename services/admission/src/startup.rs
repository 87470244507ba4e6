//! Builds the admission server: binds the listener, connects Redis and
//! PostgreSQL (and migrates it), wires the handlers to the `WaitingRoom`,
//! and runs it — with one admission ticker per queue, one automatic rate
//! controller per queue when targets are configured, and the booking
//! consumer — until shutdown.
use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

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
    app::{ControlState, DeviceKeys, IdentityFirst, Policy, RateControl, WaitingRoom},
    config::Config,
    consumers,
    grpc::{OperatorApi, QueueApi},
    store::{durable::DurableStore, QueueStore},
};

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
        for queue in self.config.queue_ids.clone() {
            tasks.spawn(ticker(self.room.clone(), queue.clone(), self.config.tick, shutdown.clone()));
            if let Some(every) = self.room.control_interval() {
                tasks.spawn(controller(self.room.clone(), queue, every, shutdown.clone()));
            }
        }
        tasks.spawn(consumers::sessions::run(self.room.clone(), self.config.amqp.clone(), shutdown.clone()));
        tasks.spawn(self.keys.run(shutdown.clone()));
        tasks.spawn(self.probes.run(shutdown.clone()));
        tasks.spawn(sweeper(self.room.clone(), shutdown.clone()));
        self.ready.set_serving().await;
        let result = self.ready.run(shutdown.clone()).await;
        shutdown.trigger();
        while tasks.join_next().await.is_some() {}
        result
    }
}

fn policy(config: &Config) -> Policy {
    Policy {
        queues: config.queue_ids.iter().map(|queue| (queue.clone(), config.defaults(queue))).collect(),
        signing_key: config.signing_key.clone(),
        ticket_keys: config.ticket_keys.clone(),
        ticket_ttl: config.ticket_ttl,
        ended_retention: config.ended_retention,
        place_block: config.place_block,
        join: config.join.clone(),
        proof_bits: config.proof_bits.clone(),
        device_keys: DeviceKeys::new(config.device_keys_required),
        identity_first: IdentityFirst {
            events: config.identity_first.clone(),
            assertions: AssertionVerifier::new(config.published_keys.clone(), DEFAULT_REMEMBERED),
        },
    }
}

/// Advances one queue's admission frontier every `tick` until shutdown.
/// Errors (Redis or PostgreSQL down) admit nobody: the waiting room fails
/// closed. Once a minute it also forgets what expired in PostgreSQL.
async fn ticker(room: Arc<WaitingRoom>, queue: String, tick: Duration, shutdown: Shutdown) {
    // A tick runs to its end (a reserved batch is logged before it is
    // shown); if one overruns the grace, the shutdown deadline names it.
    let _running = shutdown.track(format!("admission ticker {queue}"));
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut pruned, mut observed) = (Instant::now(), Instant::now() - OBSERVE_EVERY);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                if let Err(e) = room.admit(&queue).await {
                    tracing::debug!(%queue, error = %e, "admission tick failed; nobody admitted");
                }
                if observed.elapsed() >= OBSERVE_EVERY {
                    observed = Instant::now();
                    if let Err(e) = room.observe(&queue).await {
                        tracing::debug!(%queue, error = %e, "reading the queue for its gauges failed");
                    }
                }
                if pruned.elapsed() >= PRUNE_EVERY {
                    pruned = Instant::now();
                    if let Err(e) = room.prune(&queue).await {
                        tracing::debug!(%queue, error = %e, "pruning expired admissions failed");
                    }
                }
            }
            _ = shutdown.wait() => return,
        }
    }
}

/// Decides one queue's automatic admission rate every `every`, while this
/// replica holds the queue's control lease (docs/admission.md). A failed
/// interval changes nothing: the rate last written holds for ten intervals,
/// then the operators' rate applies again.
async fn controller(room: Arc<WaitingRoom>, queue: String, every: Duration, shutdown: Shutdown) {
    let _running = shutdown.track(format!("admission rate controller {queue}"));
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut state = ControlState::default();
    loop {
        tokio::select! {
            _ = interval.tick() => {
                if let Err(e) = room.control(&queue, &mut state).await {
                    tracing::warn!(%queue, error = %e, "automatic admission rate: interval failed; the rate holds");
                }
            }
            _ = shutdown.wait() => {
                room.release_control(&queue).await;
                return;
            }
        }
    }
}

/// Keeps the join limiters' memory bounded by the recent joins.
async fn sweeper(room: Arc<WaitingRoom>, shutdown: Shutdown) {
    let mut interval = tokio::time::interval(SWEEP_LIMITS_EVERY);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                let remembered = room.sweep_join_limits();
                tracing::debug!(remembered, "join limits swept");
            }
            _ = shutdown.wait() => return,
        }
    }
}
