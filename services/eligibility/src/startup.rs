//! Builds the eligibility server: loads the rules file (refusing to start on
//! an invalid one), connects Redis, wires the CheckEligibility handler to
//! `EligibilityCheck` behind the pass interceptor; alongside it, the rules
//! watcher (file changes, SIGHUP) and the consumer of reservation events
//! that keeps the booked set.
use std::{net::SocketAddr, sync::Arc};

use tokio::task::JoinSet;
use yeyak_platform::{
    grpc::{GrpcServer, PassVerifier, Ready},
    metrics::{Funnel, Metrics, Probes},
    redis_store,
    sessions::EndedSessions,
    tokens::{AssertionVerifier, KeyWatch},
    Shutdown,
};
use yeyak_proto::eligibility::v1::eligibility_service_server::EligibilityServiceServer;

use crate::{
    app::{Clock, EligibilityCheck},
    clients::registry::RegistryClient,
    config::Config,
    consumers,
    grpc::EligibilityApi,
    metrics::CheckMetrics,
    store::{
        rules_file::{self, Hangups},
        RuleSets, RulesHandle, Store, Ttls,
    },
};

pub struct Application {
    ready: Ready,
    config: Config,
    check: Arc<EligibilityCheck>,
    metrics: Metrics,
    hangups: Hangups,
    /// Re-reads the trusted keys when their file changes.
    keys: KeyWatch,
    probes: Probes,
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
        let rule_sets = Arc::new(RuleSets::load(config.rule_sets_dir.as_deref())?);
        let ended = EndedSessions::new(&config.sessions, config.queue_ids.clone()).await?;
        let conn = redis_store::connect(&config.redis).await?;
        let funnel_conn = conn.clone();
        let probes = Probes::new().redis(conn.clone()).amqp(config.amqp.clone(), &[consumers::bookings::QUEUE]).registered(&metrics);
        let ttls = Ttls { cache: config.cache_ttl, booked: config.booked_ttl, proxy: config.proxy_ttl };
        let check = Arc::new(EligibilityCheck {
            rules,
            rule_sets,
            events: ended.clone(),
            registry: RegistryClient::with_tls(&config.registry_url, config.registry_timeout, &config.tls)?.batching(config.registry_batch),
            store: Store::new(conn, &config.redis.key_prefix, ttls),
            trusted: config.trusted.clone(),
            assertions: AssertionVerifier::new(config.trusted.clone(), config.verified_tokens),
            clock,
            proxy_max_subjects: config.proxy_max_subjects,
            metrics: CheckMetrics::register(&metrics),
        });
        // Reservation forwards the person's pass and device proof when it checks a booking here.
        let verifier = PassVerifier::new(config.trusted.clone(), config.queue_ids.clone())
            .with_ended_sessions(ended.clone())
            .accepting_forwarded_from([format!(
                "/{}/CreateReservation",
                yeyak_proto::reservation::v1::reservation_service_server::SERVICE_NAME
            )]);
        let keys = KeyWatch::new(&metrics).with(config.trusted.clone()).following(ended);
        let funnel = Funnel::new(&metrics, Some((funnel_conn, config.redis.key_prefix.clone())));
        let api = EligibilityServiceServer::new(EligibilityApi::new(check.clone(), funnel));
        let ready = GrpcServer::new(config.server.clone(), metrics.clone()).add(verifier.guard(api)).bind().await?;
        Ok(Self { ready, config, check, metrics, hangups, keys, probes })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.ready.local_addr()
    }

    /// The rules in force and the outcome of the last reload.
    pub fn rules(&self) -> Arc<RulesHandle> {
        self.check.rules.clone()
    }

    /// The Redis store (tests look at the booked set through it).
    pub fn store(&self) -> Store {
        self.check.store.clone()
    }

    /// This instance's metrics, as `/metrics` serves them.
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let mut tasks = JoinSet::new();
        tasks.spawn(rules_file::watch(
            self.rules(),
            self.check.rule_sets.clone(),
            self.config.rules_reload_interval,
            self.hangups,
            shutdown.clone(),
        ));
        tasks.spawn(consumers::bookings::run(self.check.clone(), self.config.amqp.clone(), shutdown.clone()));
        tasks.spawn(self.keys.run(shutdown.clone()));
        tasks.spawn(self.probes.run(shutdown.clone()));
        self.ready.set_serving().await;
        let result = self.ready.run(shutdown.clone()).await;
        shutdown.trigger();
        while tasks.join_next().await.is_some() {}
        result
    }
}
