//! Builds the inventory server: binds the listener, connects PostgreSQL, runs
//! migrations, seeds the demo catalogue when asked, and runs alongside the
//! gRPC server until shutdown: the reservation-event consumer (read model),
//! the cache invalidator and the outbox relay (slot size changes).
use std::{net::SocketAddr, sync::Arc, time::Duration};

use tokio::{sync::Notify, task::JoinSet};
use yeyak_platform::{
    db,
    grpc::{GrpcServer, PassVerifier, Ready},
    messaging::{self, outbox, Publisher},
    metrics::Metrics,
    Shutdown,
};
use yeyak_proto::inventory::v1::{inventory_service_server::InventoryServiceServer, slot_catalog_service_server::SlotCatalogServiceServer};

use crate::{
    config::Config,
    domain, events,
    grpc::{catalog::CatalogApi, inventory::InventoryApi, State},
    store::{
        cache::{Cache, Invalidator},
        seed::seed_demo,
        CatalogStore,
    },
};

/// Bound on the last outbox pass at shutdown (RabbitMQ may be down).
const FINAL_RELAY: Duration = Duration::from_secs(2);

pub struct Application {
    ready: Ready,
    state: Arc<State>,
    publisher: Arc<Publisher>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = db::connect(&config.database, true).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        if config.seed_clinics_per_district > 0 {
            let today = domain::today_seoul(chrono::Utc::now());
            let report = seed_demo(&pool, config.seed_clinics_per_district, config.seed_days, today).await?;
            if report.seeded {
                tracing::info!(clinics = report.clinics, slots = report.slots, elapsed_ms = report.elapsed_ms, "seeded the demo catalogue");
            }
        }
        let metrics = Metrics::new("inventory");
        let cache = Cache::new(config.cache.clone(), &metrics)?;
        let state = State::new(config.clone(), CatalogStore::new(pool), Invalidator::new(cache));
        let verifier = PassVerifier::new(config.trusted.clone(), config.queue_ids.clone());
        let ready = GrpcServer::new(config.server.clone(), metrics)
            .add(verifier.guard(InventoryServiceServer::new(InventoryApi::new(state.clone()))))
            .add(SlotCatalogServiceServer::new(CatalogApi::new(state.clone())))
            .bind()
            .await?;
        let publisher = Arc::new(Publisher::new(config.amqp.clone()));
        Ok(Self { ready, state, publisher })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.ready.local_addr()
    }

    /// The catalogue store (tests and operations use it).
    pub fn store(&self) -> CatalogStore {
        self.state.store.clone()
    }

    /// The read cache.
    pub fn cache(&self) -> Cache {
        self.state.invalidator.cache().clone()
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let mut tasks = JoinSet::new();
        let (store, invalidator) = (self.state.store.clone(), self.state.invalidator.clone());
        let amqp = self.state.config.amqp.clone();
        tasks.spawn(messaging::consume_batches(
            amqp,
            events::QUEUE,
            &events::ROUTING_KEYS,
            shutdown.clone(),
            events::MAX_BATCH,
            move |d| {
                let (store, invalidator) = (store.clone(), invalidator.clone());
                async move { events::handle(&store, &invalidator, d).await }
            },
        ));
        // The relay and the invalidator outlive the drain of in-flight work.
        let background = Shutdown::new();
        tasks.spawn(self.state.invalidator.clone().run(background.clone()));
        let pool = self.state.store.pool().clone();
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
