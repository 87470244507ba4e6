//! Builds the eligibility server: loads the rules file (refusing to start on
//! an invalid one) and serves CheckEligibility behind the pass interceptor.
use std::{net::SocketAddr, sync::Arc};

use yeyak_platform::{
    grpc::{GrpcServer, PassVerifier, Ready},
    metrics::Metrics,
    Shutdown,
};
use yeyak_proto::eligibility::v1::eligibility_service_server::EligibilityServiceServer;

use crate::{
    config::Config,
    domain::Rules,
    grpc::{Clock, EligibilityApi},
    registry::RegistryClient,
};

pub struct Application {
    ready: Ready,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Arc::new(chrono::Utc::now)).await
    }

    /// Tests stand the service at any instant with their own clock.
    pub async fn build_with_clock(config: Config, clock: Clock) -> anyhow::Result<Self> {
        let rules = Rules::load(&config.rules_file)?;
        tracing::info!(version = %rules.version, cohorts = rules.cohorts.len(), windows = rules.windows.len(), "rules loaded");
        let api = EligibilityApi {
            rules: Arc::new(rules),
            registry: RegistryClient::new(&config.registry_url, config.registry_timeout)?,
            trusted: config.trusted.clone(),
            clock,
        };
        let verifier = PassVerifier::new(config.trusted.clone(), config.queue_ids.clone());
        let ready = GrpcServer::new(config.server.clone(), Metrics::new("eligibility"))
            .add(EligibilityServiceServer::with_interceptor(api, verifier.interceptor()))
            .bind()
            .await?;
        Ok(Self { ready })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.ready.local_addr()
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        self.ready.set_serving().await;
        self.ready.run(shutdown).await
    }
}
