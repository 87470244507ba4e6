//! Builds the identity server: provider adapters on the routing board, the
//! Redis store, the `Verification` use cases on them and the pass-verifying
//! gRPC server in front; runs the board's supervisor (half-open probes,
//! health gauges) beside it.
use std::{net::SocketAddr, sync::Arc};

use yeyak_platform::{
    grpc::{GrpcServer, KeySetApi, PassVerifier, Ready},
    metrics::{Funnel, Metrics, Probes},
    redis_store,
    sessions::EndedSessions,
    tokens::{Issuer, KeyWatch},
    Shutdown,
};
use yeyak_proto::identity::v1::identity_service_server::IdentityServiceServer;

use crate::{
    app::Verification,
    clients::{providers, Board},
    config::Config,
    grpc::IdentityApi,
    metrics::IdentityMetrics,
    store::Store,
};

pub struct Application {
    ready: Ready,
    board: Arc<Board>,
    metrics: Metrics,
    /// Re-reads the trusted keys when their file changes.
    keys: KeyWatch,
    probes: Probes,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let server = config.server.clone();
        let metrics = Metrics::new("identity");
        let identity_metrics = IdentityMetrics::register(&metrics);
        let adapters = config
            .providers
            .iter()
            .map(|p| providers::build(p, config.provider_retries, &config.tls))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let board = Arc::new(Board::new(
            adapters,
            config.health.clone(),
            config.breaker.clone(),
            config.provider_timeout,
            identity_metrics.clone(),
        ));
        let conn = redis_store::connect(&config.redis).await?;
        let (funnel_conn, config_prefix) = (conn.clone(), config.redis.key_prefix.clone());
        let probes = Probes::new().redis(conn.clone()).registered(&metrics);
        let store = Store::new(conn, &config.redis.key_prefix);
        let ended = EndedSessions::new(&config.sessions, config.queue_ids.clone()).await?;
        let verifier = PassVerifier::new(config.trusted.clone(), config.queue_ids.clone()).with_ended_sessions(ended.clone());
        let keys = KeyWatch::new(&metrics).with(config.trusted.clone()).with(config.assertions.clone()).following(ended);
        // Identity's keys (its signing key and older ones still trusted), for
        // verifiers of assertions outside Yeyak.
        let key_set = KeySetApi::new(config.assertions.clone(), Issuer::Identity);
        let jwks = key_set.clone();
        metrics.publish_jwks(move || jwks.jwks_json());
        let (request_timeout, max_in_flight) = (config.server.request_timeout, config.max_in_flight_verifications);
        let funnel = Funnel::new(&metrics, Some((funnel_conn, config_prefix)));
        let verification = Verification::new(Arc::new(config), board.clone(), store, identity_metrics.clone(), funnel);
        let api = IdentityApi::new(verification, request_timeout, max_in_flight, identity_metrics);
        let ready = GrpcServer::new(server, metrics.clone())
            .add(verifier.guard(IdentityServiceServer::new(api)))
            .add(key_set.service())
            .bind()
            .await?;
        Ok(Self { ready, board, metrics, keys, probes })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.ready.local_addr()
    }

    /// The providers' live health (tests, operators' tooling).
    pub fn board(&self) -> Arc<Board> {
        self.board.clone()
    }

    /// This instance's metrics registry.
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let supervisor = tokio::spawn(self.board.clone().supervise(shutdown.clone()));
        let keys = tokio::spawn(self.keys.run(shutdown.clone()));
        let probes = tokio::spawn(self.probes.run(shutdown.clone()));
        self.ready.set_serving().await;
        let served = self.ready.run(shutdown).await;
        supervisor.abort();
        keys.abort();
        probes.abort();
        served
    }
}
