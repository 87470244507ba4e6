//! Builds the eligibility server: loads the rules file (refusing to start on
//! an invalid one), connects Redis, and serves CheckEligibility behind the
//! pass interceptor; alongside it, the rules watcher (file changes, SIGHUP)
//! and the consumer of reservation events that keeps the booked set.
use std::{net::SocketAddr, sync::Arc};

use tokio::task::JoinSet;
use yeyak_platform::{
    grpc::{GrpcServer, PassVerifier, Ready},
    messaging,
    metrics::Metrics,
    redis_store,
    tokens::AssertionVerifier,
    Shutdown,
};
use yeyak_proto::eligibility::v1::eligibility_service_server::EligibilityServiceServer;

use crate::{
    config::Config,
    events,
    grpc::{ApiMetrics, Clock, EligibilityApi},
    registry::RegistryClient,
    reload::{self, Hangups, RulesHandle},
    store::{Store, Ttls},
};

pub struct Application {
    ready: Ready,
    config: Config,
    rules: Arc<RulesHandle>,
    store: Store,
    metrics: Metrics,
    hangups: Hangups,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(chrono::Utc::now)).await
    }

    /// Tests stand the service at any instant with their own clock.
    pub async fn build_with_clock(config: Config, clock: Clock) -> anyhow::Result<Self> {
        let metrics = Metrics::new("eligibility");
        let hangups = Hangups::register();
        let rules = RulesHandle::load(&config.rules_file, &metrics)?;
        {
            let r = rules.current();
            tracing::info!(file = %config.rules_file.display(), version = %r.version, cohorts = r.cohorts.len(), windows = r.windows.len(), "rules loaded");
        }
        let conn = redis_store::connect(&config.redis).await?;
        let ttls = Ttls { cache: config.cache_ttl, booked: config.booked_ttl, proxy: config.proxy_ttl };
        let store = Store::new(conn, &config.redis.key_prefix, ttls);
        let api = EligibilityApi {
            rules: rules.clone(),
            registry: RegistryClient::new(&config.registry_url, config.registry_timeout)?.batching(config.registry_batch),
            store: store.clone(),
            trusted: config.trusted.clone(),
            clock,
            proxy_max_subjects: config.proxy_max_subjects,
            metrics: ApiMetrics::register(&metrics),
            assertions: Arc::new(AssertionVerifier::new(config.trusted.clone(), config.verified_tokens)),
        };
        let verifier = PassVerifier::new(config.trusted.clone(), config.queue_ids.clone());
        let ready =
            GrpcServer::new(config.server.clone(), metrics.clone()).add(verifier.guard(EligibilityServiceServer::new(api))).bind().await?;
        Ok(Self { ready, config, rules, store, metrics, hangups })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.ready.local_addr()
    }

    /// The rules in force and the outcome of the last reload.
    pub fn rules(&self) -> Arc<RulesHandle> {
        self.rules.clone()
    }

    /// The Redis store (tests look at the booked set through it).
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// This instance's metrics, as `/metrics` serves them.
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let mut tasks = JoinSet::new();
        tasks.spawn(reload::watch(self.rules.clone(), self.config.rules_reload_interval, self.hangups, shutdown.clone()));
        let store = self.store.clone();
        // In queue order, one event at a time (a booking and its cancellation
        // must apply in that order); batches only save acknowledgements.
        let amqp = self.config.amqp.clone();
        tasks.spawn(messaging::consume_batches(
            amqp,
            events::QUEUE,
            &events::ROUTING_KEYS,
            shutdown.clone(),
            events::MAX_BATCH,
            move |ds| {
                let store = store.clone();
                async move { messaging::one_by_one(ds, |d| events::handle(&store, d)).await }
            },
        ));
        self.ready.set_serving().await;
        let result = self.ready.run(shutdown.clone()).await;
        shutdown.trigger();
        while tasks.join_next().await.is_some() {}
        result
    }
}
