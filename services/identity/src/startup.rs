//! Builds the identity server: providers, the Redis challenge store and the
//! pass-verifying gRPC server.
use std::{net::SocketAddr, sync::Arc};

use yeyak_platform::{
    grpc::{GrpcServer, PassVerifier, Ready},
    metrics::Metrics,
    redis_store, Shutdown,
};
use yeyak_proto::identity::v1::identity_service_server::IdentityServiceServer;

use crate::{
    config::Config,
    grpc::{IdentityApi, Registered},
    providers::{Health, HttpProvider},
    store::ChallengeStore,
};

pub struct Application {
    ready: Ready,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let mut providers = Vec::new();
        for p in &config.providers {
            providers
                .push(Registered { provider: Box::new(HttpProvider::new(p.clone(), config.provider_timeout)?), health: Health::default() });
        }
        let conn = redis_store::connect(&config.redis).await?;
        let store = ChallengeStore::new(conn, &config.redis.key_prefix);
        let verifier = PassVerifier::new(config.trusted.clone(), config.queue_ids.clone());
        let api = IdentityApi::new(config.clone(), Arc::new(providers), store);
        let ready = GrpcServer::new(config.server.clone(), Metrics::new("identity"))
            .add(IdentityServiceServer::with_interceptor(api, verifier.interceptor()))
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
