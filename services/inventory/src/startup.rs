//! Builds the inventory server: binds the listener, connects PostgreSQL, runs
//! migrations, seeds the demo catalogue when asked, and runs the event
//! consumer alongside the gRPC server until shutdown.
use std::{net::SocketAddr, sync::Arc};

use tokio::task::JoinSet;
use yeyak_platform::{
    db,
    grpc::{GrpcServer, PassVerifier, Ready},
    messaging,
    metrics::Metrics,
    Shutdown,
};
use yeyak_proto::inventory::v1::{inventory_service_server::InventoryServiceServer, slot_catalog_service_server::SlotCatalogServiceServer};

use crate::{
    config::Config,
    domain, events,
    grpc::{catalog::CatalogApi, inventory::InventoryApi, State},
    store::{seed::seed_demo, CatalogStore},
};

pub struct Application {
    ready: Ready,
    state: Arc<State>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = db::connect(&config.database, true).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        if config.seed_clinics_per_district > 0 {
            let today = domain::today_seoul(chrono::Utc::now());
            let report = seed_demo(&pool, config.seed_clinics_per_district, config.seed_days, today).await?;
            if report.seeded {
                tracing::info!(clinics = report.clinics, slots = report.slots, "seeded the demo catalogue");
            }
        }
        let state = State::new(config.clone(), CatalogStore::new(pool));
        let verifier = PassVerifier::new(config.trusted.clone(), config.queue_ids.clone());
        let ready = GrpcServer::new(config.server.clone(), Metrics::new("inventory"))
            .add(InventoryServiceServer::with_interceptor(InventoryApi::new(state.clone()), verifier.interceptor()))
            .add(SlotCatalogServiceServer::new(CatalogApi::new(state.clone())))
            .bind()
            .await?;
        Ok(Self { ready, state })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.ready.local_addr()
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let mut tasks = JoinSet::new();
        let store = self.state.store.clone();
        tasks.spawn(messaging::consume(self.state.config.amqp.clone(), events::QUEUE, &events::ROUTING_KEYS, shutdown.clone(), move |d| {
            let store = store.clone();
            async move { events::handle(&store, d).await }
        }));
        self.ready.set_serving().await;
        let result = self.ready.run(shutdown.clone()).await;
        shutdown.trigger();
        while tasks.join_next().await.is_some() {}
        self.state.store.pool().close().await;
        result
    }
}
