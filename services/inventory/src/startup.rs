//! Builds the inventory server: binds the public and internal listeners, connects PostgreSQL, runs
//! migrations, seeds the demo catalogue when asked, and runs alongside the
//! gRPC server until shutdown: the reservation-event consumer (read model),
//! the cache invalidator and the outbox relay (slot size and supply changes).
//! The operators' API shares the public listener, outside the pass check:
//! its calls carry an operator's token instead.
use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{sync::Notify, task::JoinSet};
use yeyak_platform::{
    db,
    grpc::{GrpcServer, PassVerifier, Ready},
    messaging::{outbox, AmqpSettings, Publisher},
    metrics::{Funnel, Metrics, Probes},
    sessions::EndedSessions,
    tokens::KeyWatch,
    Shutdown,
};
use yeyak_proto::inventory::v1::{
    inventory_operator_service_server::InventoryOperatorServiceServer, inventory_service_server::InventoryServiceServer,
    slot_catalog_service_server::SlotCatalogServiceServer, supply_catalog_service_server::SupplyCatalogServiceServer,
};

use crate::{
    app::{Catalogue, Search},
    config::Config,
    consumers, domain,
    grpc::{catalog::CatalogApi, inventory::InventoryApi, operator::OperatorApi, supply::SupplyApi},
    store::{self, cache::Cache, seed::seed_demo, CatalogStore},
};

/// Bound on the last outbox pass at shutdown (RabbitMQ may be down).
const FINAL_RELAY: Duration = Duration::from_secs(2);

pub struct Application {
    ready: Ready,
    internal_addr: SocketAddr,
    amqp: AmqpSettings,
    store: CatalogStore,
    cache: Cache,
    catalogue: Catalogue,
    publisher: Arc<Publisher>,
    /// Re-reads the trusted keys when their file changes.
    keys: KeyWatch,
    probes: Probes,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = db::connect(&config.database, true).await?;
        if config.database.run_migrations {
            store::migrate(&pool).await?;
        }
        if config.seed_clinics_per_district > 0 {
            let today = domain::today_seoul(chrono::Utc::now());
            let report = seed_demo(&pool, config.seed_clinics_per_district, config.seed_days, today).await?;
            if report.seeded {
                tracing::info!(clinics = report.clinics, slots = report.slots, elapsed_ms = report.elapsed_ms, "seeded the demo catalogue");
            }
        }
        let metrics = Metrics::new("inventory");
        let cache = Cache::new(config.cache.clone(), &metrics)?;
        let store = CatalogStore::new(pool);
        let catalogue = Catalogue::new(store.clone(), cache.clone());
        let search = Search::new(store.clone(), cache.clone());
        let ended = EndedSessions::new(&config.sessions, config.queue_ids.clone()).await?;
        let verifier = PassVerifier::new(config.trusted.clone(), config.queue_ids.clone()).with_ended_sessions(ended.clone());
        if config.operators.names().is_empty() {
            tracing::warn!("no operators configured (YEYAK_OPERATORS): the operator API refuses every call");
        }
        let keys = KeyWatch::new(&metrics).with(config.trusted.clone()).with(config.operators.clone()).following(ended);
        let funnel = Funnel::new(&metrics, cache.funnel_marks());
        let mut probes = Probes::new().postgres(store.pool().clone(), true).amqp(config.amqp.clone(), &[consumers::availability::QUEUE]);
        if let Some((conn, _)) = cache.funnel_marks() {
            probes = probes.redis(conn);
        }
        let probes = probes.registered(&metrics);
        let ready = GrpcServer::new(config.server.clone(), metrics)
            .add(verifier.guard(InventoryServiceServer::new(InventoryApi::new(search, funnel))))
            .add(InventoryOperatorServiceServer::new(OperatorApi::new(catalogue.clone(), config.operators.clone())))
            // Only reservation calls these: their own listener, never the public one.
            .add_internal(SlotCatalogServiceServer::new(CatalogApi::new(catalogue.clone())))
            .add_internal(SupplyCatalogServiceServer::new(SupplyApi::new(catalogue.clone())))
            .bind()
            .await?;
        let internal_addr = ready.internal_addr().ok_or_else(|| anyhow::anyhow!("the internal listener was not bound"))?;
        let publisher = Arc::new(Publisher::new(config.amqp.clone()));
        Ok(Self { ready, internal_addr, amqp: config.amqp, store, cache, catalogue, publisher, keys, probes })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.ready.local_addr()
    }

    /// The internal listener (`SlotCatalogService`), which reservation calls.
    pub fn internal_grpc_addr(&self) -> SocketAddr {
        self.internal_addr
    }

    /// The catalogue store (tests and operations use it).
    pub fn store(&self) -> CatalogStore {
        self.store.clone()
    }

    /// The read cache.
    pub fn cache(&self) -> Cache {
        self.cache.clone()
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let mut tasks = JoinSet::new();
        tasks.spawn(consumers::availability::run(self.amqp.clone(), self.catalogue.clone(), shutdown.clone()));
        tasks.spawn(self.keys.run(shutdown.clone()));
        tasks.spawn(self.probes.run(shutdown.clone()));
        // The relay and the invalidator outlive the drain of in-flight work.
        let background = Shutdown::new();
        tasks.spawn(self.catalogue.invalidator().clone().run(background.clone()));
        let pool = self.store.pool().clone();
        tasks.spawn(outbox::run_relay(pool.clone(), self.publisher.clone(), Arc::new(Notify::new()), background.clone()));
        self.ready.set_serving().await;
        let result = self.ready.run(shutdown.clone()).await;
        shutdown.trigger();
        background.trigger();
        while tasks.join_next().await.is_some() {}
        match tokio::time::timeout(FINAL_RELAY, outbox::relay_batch(&pool, &self.publisher, 1_000)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "final outbox pass failed; events stay queued for the next start"),
            Err(_) => tracing::warn!("final outbox pass timed out; events stay queued for the next start"),
        }
        pool.close().await;
        result
    }
}
