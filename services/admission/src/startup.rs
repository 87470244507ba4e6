//! Builds the admission server: binds the listener, connects Redis, starts
//! the admission ticker, and runs until shutdown.
use std::{net::SocketAddr, sync::Arc};

use tokio::task::JoinSet;
use yeyak_platform::{
    grpc::{GrpcServer, Ready},
    metrics::Metrics,
    redis_store, Shutdown,
};
use yeyak_proto::admission::v1::{
    admission_operator_service_server::AdmissionOperatorServiceServer, admission_service_server::AdmissionServiceServer,
};

use crate::{
    config::Config,
    grpc::{operator::OperatorApi, queue::QueueApi, State},
    store::QueueStore,
};

pub struct Application {
    ready: Ready,
    state: Arc<State>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        if config.operator_token.is_none() {
            tracing::warn!("YEYAK_OPERATOR_TOKEN unset: the operator API refuses every call");
        }
        let conn = redis_store::connect(&config.redis).await?;
        let store = QueueStore::new(conn, &config.redis.key_prefix);
        let state = State::new(config.clone(), store);
        let ready = GrpcServer::new(config.server.clone(), Metrics::new("admission"))
            .add(AdmissionServiceServer::new(QueueApi::new(state.clone())))
            .add(AdmissionOperatorServiceServer::new(OperatorApi::new(state.clone())))
            .bind()
            .await?;
        Ok(Self { ready, state })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.ready.local_addr()
    }

    pub async fn run_until_stopped(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let mut tasks = JoinSet::new();
        for queue in self.state.config.queue_ids.clone() {
            tasks.spawn(ticker(self.state.clone(), queue, shutdown.clone()));
        }
        tasks.spawn(crate::sessions::run(self.state.clone(), shutdown.clone()));
        self.ready.set_serving().await;
        let result = self.ready.run(shutdown.clone()).await;
        shutdown.trigger();
        while tasks.join_next().await.is_some() {}
        result
    }
}

/// Advances one queue's admission frontier until shutdown. Errors (Redis
/// down) admit nobody: the waiting room fails closed.
async fn ticker(state: Arc<State>, queue: String, shutdown: Shutdown) {
    let mut interval = tokio::time::interval(state.config.tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                if let Err(e) = state.store.advance(&queue, &state.config.defaults(&queue)).await {
                    tracing::debug!(%queue, error = %e, "admission tick failed; nobody admitted");
                }
            }
            _ = shutdown.wait() => return,
        }
    }
}
