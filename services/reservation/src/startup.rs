//! Builds the reservation server: binds the listener, connects PostgreSQL and
//! runs migrations, prepares the upstream channels and the outbox relay, and
//! runs until shutdown.
use std::{net::SocketAddr, sync::Arc, time::Duration};

use sqlx::PgPool;
use tokio::{sync::Notify, task::JoinSet};
use yeyak_platform::{
    db,
    grpc::{GrpcServer, PassVerifier, Ready},
    messaging::{self, outbox, AmqpSettings, Publisher},
    metrics::Metrics,
    Shutdown,
};
use yeyak_proto::reservation::v1::reservation_service_server::ReservationServiceServer;

use crate::{
    booking::{Booking, FullSlots},
    catalog_events,
    config::Config,
    grpc::reservation::ReservationApi,
    store::Store,
    upstream::Upstream,
};

/// Bound on the last outbox pass at shutdown (RabbitMQ may be down).
const FINAL_RELAY: Duration = Duration::from_secs(2);

pub struct Application {
    ready: Ready,
    pool: PgPool,
    publisher: Arc<Publisher>,
    relay: Arc<Notify>,
    amqp: AmqpSettings,
    upstream: Upstream,
    full: Arc<FullSlots>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let pool = db::connect(&config.database, true).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let upstream = Upstream::connect(&config.eligibility_addr, &config.inventory_addr, config.outbound_timeout)?;
        let relay = Arc::new(Notify::new());
        let full = Arc::new(FullSlots::new(config.full_slot_window));
        let booking =
            Arc::new(Booking::new(Store::new(pool.clone()), upstream.clone(), config.trusted.clone(), relay.clone(), full.clone()));
        let verifier = PassVerifier::new(config.trusted.clone(), config.queue_ids.clone());
        let ready = GrpcServer::new(config.server.clone(), Metrics::new("reservation"))
            .add(verifier.guard(ReservationServiceServer::new(ReservationApi::new(booking))))
            .bind()
            .await?;
        let publisher = Arc::new(Publisher::new(config.amqp.clone()));
        Ok(Self { ready, pool, publisher, relay, amqp: config.amqp.clone(), upstream, full })
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
        let (store, upstream, full) = (Store::new(self.pool.clone()), self.upstream.clone(), self.full.clone());
        tasks.spawn(messaging::consume(
            self.amqp.clone(),
            catalog_events::QUEUE,
            &catalog_events::ROUTING_KEYS,
            shutdown.clone(),
            move |d| {
                let (store, upstream, full) = (store.clone(), upstream.clone(), full.clone());
                async move { catalog_events::handle(&store, &upstream, &full, d).await.map(|_| ()) }
            },
        ));
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
