//! Builds the reservation server: binds the listener, connects PostgreSQL and
//! runs migrations, prepares the client channels, wires the handlers to
//! `Booking` and `SupplyChanges`, and runs the outbox relay, the consumers
//! and the supply-change workers until shutdown.
use std::{net::SocketAddr, sync::Arc, time::Duration};

use sqlx::{migrate::Migrator, PgPool};
use tokio::{sync::Notify, task::JoinSet};
use yeyak_platform::{
    db,
    grpc::{GrpcServer, PassVerifier, Ready},
    messaging::{
        self, outbox,
        tables::{self, Table},
        AmqpSettings, Publisher,
    },
    metrics::{Funnel, Metrics, Probes},
    sessions::EndedSessions,
    tokens::KeyWatch,
    Shutdown,
};
use yeyak_proto::reservation::v1::{
    reservation_service_server::ReservationServiceServer, supply_change_service_server::SupplyChangeServiceServer,
};

use crate::{
    app::{Booking, SupplyChanges},
    clients::{CatalogClient, EligibilityClient, SupplyCatalogClient},
    config::Config,
    consumers::{slot_sizes, supply_changes},
    grpc::{reservation::ReservationApi, supply::SupplyApi},
    store::Store,
};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Bound on the last outbox pass at shutdown (RabbitMQ may be down).
const FINAL_RELAY: Duration = Duration::from_secs(2);

/// Applies the service's migrations and returns (`yeyak-reservation migrate`,
/// the deployment's migration step).
pub async fn migrate(database: &db::DatabaseSettings) -> anyhow::Result<()> {
    let pool = db::connect(database, true).await?;
    tables::migrate(&pool, &MIGRATOR, &[Table::Outbox]).await?;
    pool.close().await;
    Ok(())
}

pub struct Application {
    ready: Ready,
    pool: PgPool,
    publisher: Arc<Publisher>,
    relay: Arc<Notify>,
    amqp: AmqpSettings,
    booking: Arc<Booking>,
    supply: Arc<SupplyChanges>,
    supply_workers: usize,
    keys: KeyWatch,
    probes: Probes,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = db::connect(&config.database, true).await?;
        if config.database.run_migrations {
            tables::migrate(&pool, &MIGRATOR, &[Table::Outbox]).await?;
        }
        let metrics = Metrics::new("reservation");
        let eligibility = EligibilityClient::connect(&config.eligibility_addr, config.outbound_timeout, &config.tls, &metrics)?;
        let catalog = CatalogClient::connect(&config.inventory_addr, config.outbound_timeout, &config.tls, &metrics)?;
        let supply_catalog = SupplyCatalogClient::connect(&config.inventory_addr, config.outbound_timeout, &config.tls, &metrics)?;
        let relay = Arc::new(Notify::new());
        // A booking happens once per committed row: no marks needed.
        let funnel = Funnel::new(&metrics, None);
        let queues = [slot_sizes::QUEUE, supply_changes::QUEUE];
        let probes = Probes::new().postgres(pool.clone(), true).amqp(config.amqp.clone(), &queues).registered(&metrics);
        let supply = Arc::new(SupplyChanges::new(Store::new(pool.clone()), supply_catalog, relay.clone()));
        let booking = Arc::new(
            Booking::new(
                Store::new(pool.clone()),
                eligibility,
                catalog,
                config.trusted.clone(),
                relay.clone(),
                config.full_slot_window,
                config.contact.clone(),
            )
            .with_funnel(funnel),
        );
        let ended = EndedSessions::new(&config.sessions, config.queue_ids.clone()).await?;
        let verifier = PassVerifier::new(config.trusted.clone(), config.queue_ids.clone()).with_ended_sessions(ended.clone());
        if config.operators.names().is_empty() {
            tracing::warn!("no operators configured (YEYAK_OPERATORS): the supply-change operator API refuses every call");
        }
        let keys = KeyWatch::new(&metrics).with(config.trusted.clone()).with(config.operators.clone()).following(ended);
        let ready = GrpcServer::new(config.server.clone(), metrics)
            .add(verifier.guard(ReservationServiceServer::new(ReservationApi::new(booking.clone()))))
            // Operators carry a token, not a pass: outside the pass layer.
            .add(SupplyChangeServiceServer::new(SupplyApi::new(supply.clone(), config.operators.clone())))
            .bind()
            .await?;
        let publisher = Arc::new(Publisher::new(config.amqp.clone()));
        let supply_workers = config.supply_workers;
        Ok(Self { ready, pool, publisher, relay, amqp: config.amqp.clone(), booking, supply, supply_workers, keys, probes })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.ready.local_addr()
    }

    /// The service's database (tests and the end-to-end harness inspect it).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Serves until `shutdown`. The outbox relay and the consumer of slot size
    /// changes run alongside: bookings
    /// commit even while RabbitMQ is down, and their events go out when it
    /// is back. The relay outlives the drain of in-flight RPCs and makes one
    /// last bounded pass, so events of the last bookings are not held back
    /// until the next start (whatever it misses stays in the outbox).
    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let relay_stop = Shutdown::new();
        let mut tasks = JoinSet::new();
        tasks.spawn(outbox::run_relay(self.pool.clone(), self.publisher.clone(), self.relay.clone(), relay_stop.clone()));
        tasks.spawn(self.keys.run(shutdown.clone()));
        tasks.spawn(self.probes.run(shutdown.clone()));
        let booking = self.booking.clone();
        let sweep_stop = shutdown.clone();
        tasks.spawn(async move { booking.seal_plain_contacts_until_stopped(sweep_stop).await });
        let booking = self.booking.clone();
        tasks.spawn(messaging::consume(self.amqp.clone(), slot_sizes::QUEUE, &slot_sizes::ROUTING_KEYS, shutdown.clone(), move |d| {
            let booking = booking.clone();
            async move { slot_sizes::handle(&booking, d).await }
        }));
        let supply = self.supply.clone();
        tasks.spawn(messaging::consume(
            self.amqp.clone(),
            supply_changes::QUEUE,
            &supply_changes::ROUTING_KEYS,
            shutdown.clone(),
            move |d| {
                let supply = supply.clone();
                async move { supply_changes::handle(&supply, d).await }
            },
        ));
        for lane in 0..self.supply_workers {
            tasks.spawn(self.supply.clone().work_until_stopped((lane, self.supply_workers), shutdown.clone()));
        }
        self.ready.set_serving().await;
        let result = self.ready.run(shutdown.clone()).await;
        shutdown.trigger();
        relay_stop.trigger();
        while tasks.join_next().await.is_some() {}
        match tokio::time::timeout(FINAL_RELAY, outbox::relay_batch(&self.pool, &self.publisher, 1_000)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "final outbox pass failed; events stay queued for the next start")
            }
            Err(_) => {
                tracing::warn!("final outbox pass timed out; events stay queued for the next start")
            }
        }
        self.pool.close().await;
        result
    }
}
